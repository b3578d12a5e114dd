"""Confirming one's own e-mail address through the API: a link e-mailed to it (through a
real SMTP server on loopback) comes back as a token. Registering or changing the address
sends the link at once; bad input is a 4xx with a message."""

import re

import pytest
from django.core.cache import cache

from backend.accounts.models import User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LINK_URL = "/api/v1/auth/email/link"
CONFIRM_URL = "/api/v1/auth/email/confirm"
PASSWORD = "blåbärsskog vid älven"


@pytest.fixture(autouse=True)
def _site(settings):
    cache.clear()
    settings.SITE_URL = "https://samby.example"


def token_in(smtp_server) -> str:
    _to, message = smtp_server.messages[-1]
    return re.search(r"https://samby\.example/email/(\S+)", message.get_content()).group(1)


def test_registering_with_an_address_emails_the_link_that_confirms_it(api, smtp_server):
    response = api.post(
        "/api/v1/auth/register",
        {"full_name": "Anna Eriksson", "email": "anna@example.se", "password": PASSWORD},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["email_confirmed_at"] is None
    assert [to for to, _message in smtp_server.messages] == [["anna@example.se"]]

    confirmed = api.post(CONFIRM_URL, {"token": token_in(smtp_server)}, format="json")
    assert confirmed.status_code == 204
    assert confirmed.content == b""  # whoever has the link learns nothing of the person
    assert User.objects.get(email="anna@example.se").email_confirmed_at is not None


def test_changing_my_address_unconfirms_it_and_emails_a_link(api_as, smtp_server):
    person = UserFactory(email="lena@example.se")
    client = api_as(person)
    assert client.get("/api/v1/auth/me").json()["email_confirmed_at"] is not None

    response = client.patch("/api/v1/auth/me", {"email": "lena.e@example.se"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["email_confirmed_at"] is None
    assert [to for to, _message in smtp_server.messages] == [["lena.e@example.se"]]
    # Another change of something else sends nothing more.
    client.patch("/api/v1/auth/me", {"full_name": "Lena E"}, format="json")
    assert len(smtp_server.messages) == 1

    assert client.post(CONFIRM_URL, {"token": token_in(smtp_server)}).status_code == 204
    person.refresh_from_db()  # the object the test client signs in as
    assert client.get("/api/v1/auth/me").json()["email_confirmed_at"] is not None


def test_asking_for_a_new_link(api_as, smtp_server):
    person = UserFactory(email="lena@example.se", email_confirmed_at=None)
    client = api_as(person)
    assert client.post(LINK_URL).status_code == 204
    assert len(smtp_server.messages) == 1
    client.post(CONFIRM_URL, {"token": token_in(smtp_server)})
    person.refresh_from_db()  # the object the test client signs in as
    again = client.post(LINK_URL)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "email_already_confirmed"


def test_without_an_address_i_am_told_to_add_one(api_as, smtp_server):
    response = api_as(UserFactory()).post(LINK_URL)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "email_missing"
    assert smtp_server.messages == []


def test_a_mail_server_that_is_down_says_try_again(api_as, smtp_server):
    smtp_server.stop()
    response = api_as(UserFactory(email="lena@example.se", email_confirmed_at=None)).post(LINK_URL)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "email_link_not_sent"
    assert "Försök igen" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, "invalid"),
        ({"token": ""}, "invalid"),
        ({"token": "x" * 501}, "invalid"),
        ({"token": "nonsense"}, "email_link_invalid"),
        ({"token": "eyJ1c2VyIjoxfQ:1abc:forged"}, "email_link_invalid"),
        ({"token": ["a", "b"]}, "invalid"),
    ],
)
def test_a_bad_token_is_a_400_that_confirms_nothing(api, smtp_server, body, code):
    person = UserFactory(email="lena@example.se", email_confirmed_at=None)
    response = api.post(CONFIRM_URL, body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]
    assert User.objects.get(pk=person.pk).email_confirmed_at is None

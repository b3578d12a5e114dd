"""Signing in with a link e-mailed to one's confirmed address (through a real SMTP server
on loopback), for someone who forgot their password and has no phone for a code; then
choosing a new password without the old one. The link works once, for an hour, and only
for a confirmed address; the answer never tells who has an account."""

import re

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from backend.accounts.email_sign_in import sign_in_link_path
from backend.accounts.models import User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ASK = "/sign-in/email"
NEW = "tallskog vid sjön 77"
SENT = "Titta i din e-post"  # the page after asking, whoever the address belongs to


@pytest.fixture
def ulla(settings):
    cache.clear()
    settings.SITE_URL = "https://samby.example"
    return UserFactory(full_name="Ulla Nyman", phone="", email="ulla@example.se")


def link_in(smtp_server) -> str:
    _to, message = smtp_server.messages[-1]
    return re.search(r"https://samby\.example(/sign-in/email/\S+)", message.get_content()).group(1)


def test_a_forgotten_password_is_replaced_after_signing_in_with_the_emailed_link(ulla, smtp_server):
    client = Client()
    asked = client.post(ASK, {"email": " ULLA@example.se "})
    assert asked.status_code == 200
    assert SENT in asked.content.decode()
    [(to, message)] = smtp_server.messages
    assert to == ["ulla@example.se"]
    assert message["Subject"] == "Samby: din inloggningslänk"
    link = link_in(smtp_server)

    # Opening the link (as a mail scanner would) signs nobody in and spends nothing.
    opened = client.get(link)
    assert opened.status_code == 200
    assert "ulla@example.se" in opened.content.decode()
    assert client.get("/profile/").status_code == 302

    signed_in = client.post(link)
    assert (signed_in.status_code, signed_in.url) == (302, "/profile/password")
    page = client.get("/profile/password").content.decode()
    assert 'name="current_password"' not in page  # forgotten, so not asked for
    assert client.post("/profile/password", {"new_password": NEW}).status_code == 302
    assert User.objects.get(pk=ulla.pk).check_password(NEW)

    # Once only: the link is spent.
    again = Client().post(link)
    assert again.status_code == 400
    assert "Be om en ny" in again.content.decode()


def test_an_unknown_or_unconfirmed_address_gets_the_same_answer_and_no_mail(ulla, smtp_server):
    UserFactory(phone="", email="nils@example.se", email_confirmed_at=None)
    for address in ("nils@example.se", "nobody@example.se"):
        response = Client().post(ASK, {"email": address})
        assert response.status_code == 200
        assert SENT in response.content.decode()
    assert smtp_server.messages == []


def test_a_link_stops_working_after_an_hour_or_a_password_change(ulla, smtp_server, settings):
    Client().post(ASK, {"email": "ulla@example.se"})
    link = link_in(smtp_server)
    ulla.set_password(NEW)
    ulla.save()
    assert Client().post(link).status_code == 400

    Client().post(ASK, {"email": "ulla@example.se"})
    link = link_in(smtp_server)
    settings.SIGN_IN_LINK_TTL = -1  # every link is older than its time now
    assert Client().post(link).status_code == 400
    settings.SIGN_IN_LINK_TTL = 3600
    assert Client().post(link).status_code == 302


@pytest.mark.parametrize(
    ("uid", "token"),
    [
        ("MQ", "nonsense"),
        ("!!", "abc-def"),
        ("OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk", "abc-def"),  # an id beyond the column
        ("w7Q", "abc"),
        ("x" * 300, "y" * 300),
    ],
)
def test_a_link_that_is_not_whole_is_a_400_that_signs_nobody_in(ulla, uid, token):
    client = Client()
    url = reverse("webapp:sign-in-email-link", args=[uid, token])
    for method in (client.get, client.post):
        response = method(url)
        assert response.status_code == 400
        assert "Be om en ny" in response.content.decode()
    assert client.get("/profile/").status_code == 302


@pytest.mark.parametrize("body", [{}, {"email": ""}, {"email": "inte en adress"}])
def test_bad_input_is_a_400_that_says_what_to_write(ulla, smtp_server, body):
    response = Client().post(ASK, body)
    assert response.status_code == 400
    assert 'aria-invalid="true"' in response.content.decode()
    assert smtp_server.messages == []


def test_asking_is_limited_per_address(ulla, smtp_server, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "email_link": "2/hour",
        },
    }
    answers = [Client().post(ASK, {"email": "ulla@example.se"}).status_code for _ in range(3)]
    assert answers == [200, 200, 400]
    assert len(smtp_server.messages) == 2


def test_the_link_in_the_email_is_the_pages_url(ulla):
    path = sign_in_link_path(ulla)
    uid, token = path.rsplit("/", 2)[-2:]
    assert path == reverse("webapp:sign-in-email-link", args=[uid, token])


def test_the_sign_in_page_offers_it():
    assert f'href="{ASK}"' in Client().get("/sign-in").content.decode()

"""Two people registering through the API with one e-mail address (one of them mistyped
it): both may; the first to send back the token of the link e-mailed to them (through a
real SMTP server on loopback) owns the address, and from then on the other's token, a
new link and a third registration with it are refused with a reason. Each signs in with
the address and their own password."""

import re

import pytest
from django.core.cache import cache

from backend.accounts.models import User

pytestmark = pytest.mark.django_db

REGISTER = "/api/v1/auth/register"
LOGIN = "/api/v1/auth/login"
LINK_URL = "/api/v1/auth/email/link"
CONFIRM_URL = "/api/v1/auth/email/confirm"
ADDRESS = "bo.nilsson@example.se"
ANNA_PASSWORD = "blåbärsskog vid älven"
BO_PASSWORD = "lingonris på myren 7"
TAKEN = (
    "Someone else has shown that this e-mail address is theirs. Use another address in "
    "your profile."
)


@pytest.fixture(autouse=True)
def _site(settings):
    cache.clear()
    settings.SITE_URL = "https://samby.example"


def token_in(message) -> str:
    return re.search(r"https://samby\.example/email/(\S+)", message.get_content()).group(1)


def register(api, name: str, email: str, password: str) -> User:
    response = api.post(
        REGISTER,
        {"full_name": name, "email": email, "password": password, "preferred_language": "en"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["email_confirmed_at"] is None
    return User.objects.get(pk=response.json()["id"])


@pytest.fixture
def joined(api, smtp_server):
    anna = register(api, "Anna Eriksson", ADDRESS, ANNA_PASSWORD)
    bo = register(api, "Bo Nilsson", "Bo.Nilsson@example.se", BO_PASSWORD)
    assert [to for to, _message in smtp_server.messages] == [[ADDRESS], ["Bo.Nilsson@example.se"]]
    return anna, bo


def test_the_first_to_confirm_owns_the_address_and_the_others_are_told_why(
    api, api_as, joined, smtp_server
):
    anna, bo = joined
    annas_token = token_in(smtp_server.messages[0][1])
    bos_token = token_in(smtp_server.messages[1][1])

    assert api.post(CONFIRM_URL, {"token": bos_token}, format="json").status_code == 204
    assert User.objects.get(pk=bo.pk).email_confirmed_at is not None

    before = User.objects.filter(pk=anna.pk).values().get()
    response = api.post(
        CONFIRM_URL, {"token": annas_token}, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "email_taken",
        "message": TAKEN,
        "fields": {"email": ["Already in use."]},
    }
    response = api_as(anna).post(LINK_URL)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "email_taken"
    assert len(smtp_server.messages) == 2  # no new link
    assert User.objects.filter(pk=anna.pk).values().get() == before
    # She may still change everything else in her profile.
    changed = api_as(anna).patch("/api/v1/auth/me", {"full_name": "Anna E"}, format="json")
    assert changed.status_code == 200, changed.content


def test_once_confirmed_a_third_person_cannot_register_with_it(api, joined, smtp_server):
    api.post(CONFIRM_URL, {"token": token_in(smtp_server.messages[1][1])}, format="json")
    users = User.objects.count()
    response = api.post(
        REGISTER,
        {"full_name": "Cecilia Berg", "email": "BO.NILSSON@example.se", "password": ANNA_PASSWORD},
        format="json",
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "email_taken"
    assert set(response.json()["error"]["fields"]) == {"email"}
    assert User.objects.count() == users
    assert len(smtp_server.messages) == 2


@pytest.mark.parametrize("confirmed_first", [False, True], ids=["none-confirmed", "bo-confirmed"])
def test_each_signs_in_with_the_address_and_their_own_password(
    api, joined, smtp_server, confirmed_first
):
    anna, bo = joined
    if confirmed_first:
        api.post(CONFIRM_URL, {"token": token_in(smtp_server.messages[1][1])}, format="json")
    for password, person in [(ANNA_PASSWORD, anna), (BO_PASSWORD, bo)]:
        response = api.post(LOGIN, {"identifier": ADDRESS.upper(), "password": password})
        assert response.status_code == 200, response.content
        me = api.get("/api/v1/auth/me", HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
        assert me.json()["id"] == person.pk
    response = api.post(LOGIN, {"identifier": ADDRESS, "password": "fel lösenord 123"})
    assert response.status_code == 400

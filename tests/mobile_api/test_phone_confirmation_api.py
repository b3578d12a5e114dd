"""Confirming one's own phone number through the API: a code texted to it comes back.
Bad input is a 4xx with a message; wrong guesses are bounded; a new number starts
unconfirmed."""

import re

import pytest
from django.core.cache import cache

from backend.accounts.models import LoginCode, User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

CODE_URL = "/api/v1/auth/phone/code"
CONFIRM_URL = "/api/v1/auth/phone/confirm"


@pytest.fixture
def lena():
    cache.clear()
    return UserFactory(full_name="Lena Eriksson", phone="+46701740699", phone_confirmed_at=None)


def texted_code(provider) -> str:
    return re.search(r"\b(\d{6})\b", provider.accepted[-1].form["message"]).group(1)


def test_a_code_texted_to_my_number_confirms_it(lena, api_as, sms_provider):
    client = api_as(lena)
    assert client.get("/api/v1/auth/me").json()["phone_confirmed_at"] is None

    assert client.post(CODE_URL).status_code == 204
    sms = sms_provider.accepted[-1].form
    assert sms["to"] == "+46701740699"
    response = client.post(CONFIRM_URL, {"code": texted_code(sms_provider)}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["phone_confirmed_at"] is not None
    assert User.objects.get(pk=lena.pk).phone_confirmed_at is not None
    # Confirmed is confirmed: no second SMS.
    again = client.post(CODE_URL)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "phone_already_confirmed"
    assert len(sms_provider.accepted) == 1


def test_a_wrong_code_is_a_400_that_says_what_to_do_and_the_fifth_burns_it(
    lena, api_as, sms_provider
):
    client = api_as(lena)
    client.post(CODE_URL)
    code = texted_code(sms_provider)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(LoginCode.MAX_ATTEMPTS):
        response = client.post(CONFIRM_URL, {"code": wrong}, format="json")
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "login_code_wrong"
        assert "ny kod" in response.json()["error"]["message"]  # what to do, in Swedish
    burnt = client.post(CONFIRM_URL, {"code": code}, format="json")
    assert burnt.status_code == 400
    assert User.objects.get(pk=lena.pk).phone_confirmed_at is None


@pytest.mark.parametrize(
    "body", [{}, {"code": ""}, {"code": "abc"}, {"code": "1" * 13}, {"code": None}, []]
)
def test_bad_input_is_a_400_and_confirms_nothing(lena, api_as, sms_provider, body):
    client = api_as(lena)
    client.post(CODE_URL)
    response = client.post(CONFIRM_URL, body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["message"]
    assert User.objects.get(pk=lena.pk).phone_confirmed_at is None


def test_someone_without_a_number_is_told_to_add_one(api_as, sms_provider):
    person = UserFactory(phone="", email="lena@example.se")
    response = api_as(person).post(CODE_URL)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "phone_missing"
    assert sms_provider.requests == []


def test_codes_to_my_number_are_limited(lena, api_as, sms_provider, settings):
    settings.LOGIN_CODES_PER_PHONE_HOUR = 2
    client = api_as(lena)
    assert [client.post(CODE_URL).status_code for _ in range(3)] == [204, 204, 409]
    assert len(sms_provider.accepted) == 2


def test_a_provider_failure_says_try_again_and_keeps_no_code(lena, api_as, sms_provider):
    sms_provider.answer_next(503, times=1)
    response = api_as(lena).post(CODE_URL)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "login_code_not_sent"
    assert not LoginCode.objects.filter(user=lena).exists()


def test_changing_my_number_makes_it_unconfirmed_and_texts_it_a_code(api_as, sms_provider):
    cache.clear()
    person = UserFactory(phone="+46701740698")
    client = api_as(person)
    assert client.get("/api/v1/auth/me").json()["phone_confirmed_at"] is not None
    same = client.patch("/api/v1/auth/me", {"phone": "070-174 06 98"}, format="json")
    assert same.json()["phone_confirmed_at"] is not None
    assert sms_provider.requests == []  # the same number, spelt otherwise, is no change

    response = client.patch("/api/v1/auth/me", {"phone": "070-174 06 97"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["phone_confirmed_at"] is None
    assert [sms.form["to"] for sms in sms_provider.accepted] == ["+46701740697"]
    confirmed = client.post(CONFIRM_URL, {"code": texted_code(sms_provider)}, format="json")
    assert confirmed.json()["phone_confirmed_at"] is not None


def test_anonymous_cannot_ask_for_or_use_a_code(client, sms_provider):
    assert client.post(CODE_URL).status_code in (401, 403)
    assert client.post(CONFIRM_URL, {"code": "123456"}).status_code in (401, 403)
    assert sms_provider.requests == []


def test_a_number_someone_else_confirmed_gets_no_code_and_a_409(lena, api_as, sms_provider):
    UserFactory(full_name="Lena's neighbour", phone="+46701740699")  # confirmed it first
    response = api_as(lena).post(CODE_URL)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "phone_taken"
    assert response.json()["error"]["fields"] == {"phone": ["Används redan."]}
    assert sms_provider.requests == []


# --- Registering texts the code at once ----------------------------------------------------

REGISTER_URL = "/api/v1/auth/register"
PASSWORD = "blåbärsskog vid älven"


def test_registering_with_a_number_texts_the_code_that_confirms_it(api, sms_provider):
    cache.clear()
    response = api.post(
        REGISTER_URL,
        {"full_name": "Anna Eriksson", "phone": "070-174 06 20", "password": PASSWORD},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["phone_confirmed_at"] is None
    assert [sms.form["to"] for sms in sms_provider.accepted] == ["+46701740620"]

    login = api.post(
        "/api/v1/auth/login", {"identifier": "0701740620", "password": PASSWORD}, format="json"
    )
    api.credentials(HTTP_AUTHORIZATION=f"Token {login.json()['token']}")
    confirmed = api.post(CONFIRM_URL, {"code": texted_code(sms_provider)}, format="json")
    assert confirmed.status_code == 200, confirmed.content
    assert confirmed.json()["phone_confirmed_at"] is not None


def test_registering_with_an_e_mail_only_texts_nothing(api, sms_provider):
    cache.clear()
    response = api.post(
        REGISTER_URL,
        {"full_name": "Anna Eriksson", "email": "anna@example.se", "password": PASSWORD},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert sms_provider.requests == []


def test_an_sms_failure_at_registration_keeps_the_account_and_a_new_code_can_be_sent(
    api, sms_provider
):
    cache.clear()
    sms_provider.answer_next(503, times=1)
    response = api.post(
        REGISTER_URL,
        {"full_name": "Anna Eriksson", "phone": "0701740620", "password": PASSWORD},
        format="json",
    )
    assert response.status_code == 201, response.content
    anna = User.objects.get(phone="+46701740620")
    assert not LoginCode.objects.filter(user=anna).exists()

    api.force_authenticate(anna)
    assert api.post(CODE_URL).status_code == 204
    assert [sms.form["to"] for sms in sms_provider.accepted] == ["+46701740620"]

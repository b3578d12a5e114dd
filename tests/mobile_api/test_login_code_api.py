"""Signing in to the apps with a code texted to one's number (through the fake SMS
provider, so the real sending code runs), and choosing a new password without the
present one for 15 minutes after. The answer to "text me a code" tells nobody whether
the number has an account; guesses count on the web sign-in's counters; bad input is a
400 with a message, never a 500, and signs nobody in."""

import re
import time
from datetime import timedelta

import pytest
import rest_framework.throttling  # noqa: F401 - binds DRF's rates before a test changes them
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from backend.accounts import code_sign_in
from backend.accounts.code_sign_in import CODE_SIGN_IN_GRACE_S
from backend.accounts.models import LoginCode, User
from backend.rate_limits import parse_rate, rate
from tests.factories import PASSWORD, ManagedProfileFactory, UserFactory

pytestmark = pytest.mark.django_db

CODE_URL = "/api/v1/auth/login/code"
VERIFY_URL = "/api/v1/auth/login/code/verify"
PASSWORD_URL = "/api/v1/auth/password"
PHONE = "070-174 06 30"
NEW = "tallskog vid sjön 77"


@pytest.fixture
def anna(db):
    return UserFactory(full_name="Anna Eriksson", phone="+46701740630", preferred_language="en")


def english(address: str = "127.0.0.1", token: str = "") -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en", REMOTE_ADDR=address)
    if token:
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def texted_code(provider) -> str:
    return re.search(r"\b(\d{6})\b", provider.accepted[-1].form["message"]).group(1)


def other_than(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def signed_in_by_code(user: User, provider) -> str:
    """The token `user` gets by signing in with a code texted to their number."""
    assert english().post(CODE_URL, {"phone": user.phone}, format="json").status_code == 204
    response = english().post(
        VERIFY_URL, {"phone": user.phone, "code": texted_code(provider)}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()["token"]


def nothing_signed_in(user: User) -> None:
    assert not Token.objects.filter(user=user).exists()
    assert User.objects.get(pk=user.pk).last_login is None


# --- Signing in ----------------------------------------------------------------------------


def test_the_code_texted_to_my_number_signs_me_in_with_a_working_token(anna, sms_provider):
    response = english().post(CODE_URL, {"phone": PHONE}, format="json")

    assert response.status_code == 204
    assert response.content == b""
    [sms] = sms_provider.accepted
    assert sms.form["to"] == "+46701740630"
    assert "Your Samby code" in sms.form["message"]
    signed_in = english().post(
        VERIFY_URL, {"phone": "+46 70 174 06 30", "code": texted_code(sms_provider)}, format="json"
    )

    assert signed_in.status_code == 200, signed_in.content
    body = signed_in.json()
    token = body["token"]
    assert Token.objects.get(user=anna).key == token
    assert body["user"]["id"] == anna.pk
    assert body["user"]["phone"] == "+46701740630"
    me = english(token=token).get("/api/v1/auth/me")
    assert (me.status_code, me.json()["id"]) == (200, anna.pk)
    assert LoginCode.objects.get(user=anna).used_at is not None
    assert User.objects.get(pk=anna.pk).last_login is not None
    # A used code does not sign in twice.
    again = english().post(
        VERIFY_URL, {"phone": PHONE, "code": texted_code(sms_provider)}, format="json"
    )
    assert again.status_code == 400


def test_a_wrong_code_is_a_400_that_says_what_to_do_and_signs_nobody_in(anna, sms_provider):
    english().post(CODE_URL, {"phone": PHONE}, format="json")
    code = texted_code(sms_provider)

    response = english().post(VERIFY_URL, {"phone": PHONE, "code": other_than(code)}, format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "login_code_wrong"
    assert error["message"] == (
        "That code is not right. Check the SMS and try again, or ask for a new code."
    )
    assert error["fields"] == {"code": ["Wrong code."]}
    nothing_signed_in(anna)
    # The one thing kept is the counted guess; the code is still open for the right one.
    stored = LoginCode.objects.get(user=anna)
    assert (stored.attempts, stored.used_at) == (1, None)
    assert english().post(
        VERIFY_URL, {"phone": PHONE, "code": code}, format="json"
    ).status_code == (200)


def test_the_fifth_wrong_guess_spends_the_code(anna, sms_provider):
    english().post(CODE_URL, {"phone": PHONE}, format="json")
    code = texted_code(sms_provider)
    for _ in range(LoginCode.MAX_ATTEMPTS):
        wrong = english().post(
            VERIFY_URL, {"phone": PHONE, "code": other_than(code)}, format="json"
        )
        assert wrong.json()["error"]["code"] == "login_code_wrong"

    spent = english().post(VERIFY_URL, {"phone": PHONE, "code": code}, format="json")

    assert spent.status_code == 400
    assert spent.json()["error"]["code"] == "login_code_wrong"  # no open code is left
    assert LoginCode.objects.get(user=anna).used_at is not None
    nothing_signed_in(anna)


def test_an_expired_code_is_a_400_that_says_to_ask_for_a_new_one(anna, sms_provider):
    english().post(CODE_URL, {"phone": PHONE}, format="json")
    # As if texted eleven minutes ago: it worked for ten.
    LoginCode.objects.filter(user=anna).update(
        created_at=timezone.now() - timedelta(minutes=11),
        expires_at=timezone.now() - timedelta(minutes=1),
    )

    response = english().post(
        VERIFY_URL, {"phone": PHONE, "code": texted_code(sms_provider)}, format="json"
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "login_code_expired"
    assert error["message"] == "This code no longer works. Ask for a new one."
    assert error["fields"] == {"code": ["Ask for a new code."]}
    nothing_signed_in(anna)
    assert LoginCode.objects.get(user=anna).used_at is not None


def test_a_new_code_replaces_the_one_before(anna, sms_provider):
    english().post(CODE_URL, {"phone": PHONE}, format="json")
    first = texted_code(sms_provider)
    english().post(CODE_URL, {"phone": PHONE}, format="json")
    second = texted_code(sms_provider)
    if first != second:
        old = english().post(VERIFY_URL, {"phone": PHONE, "code": first}, format="json")
        assert old.status_code == 400
    assert english().post(
        VERIFY_URL, {"phone": PHONE, "code": second}, format="json"
    ).status_code == (200)


@pytest.mark.parametrize(
    "who",
    ["nobody", "typed-it-without-confirming", "inactive", "managed-profile"],
    ids=[
        "a-number-without-an-account",
        "a-login-that-has-not-confirmed-it",
        "a-closed-account",
        "a-person-without-the-app",
    ],
)
def test_a_number_that_cannot_sign_in_gets_the_same_204_and_no_sms(anna, sms_provider, who):
    number = "+46701740631"
    if who == "typed-it-without-confirming":
        UserFactory(phone=number, phone_confirmed_at=None)
    elif who == "inactive":
        UserFactory(phone=number, is_active=False)
    elif who == "managed-profile":
        ManagedProfileFactory(phone=number)

    response = english().post(CODE_URL, {"phone": "070-174 06 31"}, format="json")
    known = english().post(CODE_URL, {"phone": PHONE}, format="json")

    assert (response.status_code, response.content) == (known.status_code, known.content)
    assert response.status_code == 204
    assert [sms.form["to"] for sms in sms_provider.requests] == ["+46701740630"]
    assert not LoginCode.objects.exclude(user=anna).exists()
    # Any code for that number is wrong, in the words a real number's wrong code gets.
    guess = english().post(VERIFY_URL, {"phone": number, "code": "123456"}, format="json")
    assert guess.status_code == 400
    assert guess.json()["error"]["code"] == "login_code_wrong"
    assert not Token.objects.exists()


# --- Limits --------------------------------------------------------------------------------


def test_guesses_at_one_persons_code_are_limited_from_any_address(anna, sms_provider, rates):
    """The person's count (THROTTLE_LOGIN_IDENTIFIER), whatever the spelling of the
    number and wherever the guesses come from; then even the right code is refused."""
    rates(identifier="3/hour")
    english().post(CODE_URL, {"phone": PHONE}, format="json")
    code = texted_code(sms_provider)
    spellings = ["070-174 06 30", "+46701740630", "0046 70 174 06 30"]
    for n, spelling in enumerate(spellings):
        wrong = english(f"198.51.100.{n}").post(
            VERIFY_URL, {"phone": spelling, "code": other_than(code)}, format="json"
        )
        assert wrong.status_code == 400

    refused = english("198.51.100.99").post(
        VERIFY_URL, {"phone": PHONE, "code": code}, format="json"
    )

    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "throttled"
    assert int(refused.headers["Retry-After"]) > 0
    nothing_signed_in(anna)
    assert LoginCode.objects.get(user=anna).used_at is None  # refused before it was tried


def test_guesses_from_one_address_are_limited_across_numbers(anna, sms_provider, rates):
    rates(login="3/min")
    english().post(CODE_URL, {"phone": PHONE}, format="json")
    code = texted_code(sms_provider)
    for n in range(2):
        other = english().post(
            VERIFY_URL, {"phone": f"070-174 06 4{n}", "code": "123456"}, format="json"
        )
        assert other.status_code == 400

    # The code request counted nothing here; two guesses did: one more is let through.
    assert english().post(VERIFY_URL, {"phone": PHONE, "code": "x"}, format="json").status_code == (
        400
    )
    refused = english().post(VERIFY_URL, {"phone": PHONE, "code": code}, format="json")
    assert refused.status_code == 429
    nothing_signed_in(anna)


def test_guesses_through_the_api_and_the_web_page_share_the_persons_count(
    anna, sms_provider, rates
):
    rates(identifier="2/hour")
    english().post(CODE_URL, {"phone": PHONE}, format="json")
    code = texted_code(sms_provider)
    guess = english().post(VERIFY_URL, {"phone": PHONE, "code": other_than(code)}, format="json")
    assert guess.status_code == 400
    page = Client(HTTP_ACCEPT_LANGUAGE="en")
    page.cookies["django_language"] = "en"
    session = page.session
    session["sign_in_phone"] = PHONE
    session.save()
    assert page.post("/sign-in/code/verify", {"code": other_than(code)}).status_code == 400

    refused_page = page.post("/sign-in/code/verify", {"code": code})
    refused_api = english().post(VERIFY_URL, {"phone": PHONE, "code": code}, format="json")

    assert "Too many sign-in attempts" in refused_page.content.decode()
    assert refused_api.status_code == 429
    nothing_signed_in(anna)


def test_codes_texted_to_one_number_are_limited_per_hour(
    anna, sms_provider, settings, rate_limits_clock
):
    settings.LOGIN_CODES_PER_PHONE_HOUR = 2
    # The rate limits' clock at a quarter past an hour.
    rate_limits_clock.now = 1_800_000_000 + 15 * 60
    statuses = [
        english(f"203.0.113.{n}").post(CODE_URL, {"phone": PHONE}, format="json").status_code
        for n in range(3)
    ]
    assert statuses == [204, 204, 409]
    refused = english().post(CODE_URL, {"phone": PHONE}, format="json").json()["error"]
    assert refused["code"] == "login_code_rate_limited"
    # The hour's two codes count until half of them has faded, half an hour into the next.
    assert refused["message"] == (
        "Too many codes asked for. Try again in 75 minutes, or sign in with your password."
    )
    swedish = APIClient(HTTP_ACCEPT_LANGUAGE="sv").post(CODE_URL, {"phone": PHONE}, format="json")
    assert swedish.json()["error"]["message"] == (
        "Du har bett om för många koder. Försök igen om 75 minuter, eller logga in med ditt "
        "lösenord."
    )
    assert len(sms_provider.accepted) == 2


def test_asking_for_codes_from_one_address_is_limited_like_signing_in(anna, sms_provider):
    """The `login` scope's rate per client address; numbers without an account count
    as well, so nobody can probe many numbers quickly."""
    limit, _window = parse_rate(rate("login"))
    client = english("203.0.113.50")
    statuses = [
        client.post(CODE_URL, {"phone": f"+4670175{n:04d}"}, format="json").status_code
        for n in range(limit + 1)
    ]
    assert statuses == [204] * limit + [429]
    assert english("203.0.113.51").post(CODE_URL, {"phone": PHONE}, format="json").status_code == (
        204
    )
    assert sms_provider.requests[-1].form["to"] == "+46701740630"


def test_a_provider_failure_says_try_again_and_keeps_no_code(anna, sms_provider):
    sms_provider.answer_next(503, times=1)
    response = english().post(CODE_URL, {"phone": PHONE}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "login_code_not_sent"
    assert not LoginCode.objects.filter(user=anna).exists()


# --- Bad input -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, "invalid"),
        ({"phone": ""}, "invalid"),
        ({"phone": None}, "invalid"),
        ({"phone": ["070-174 06 30"]}, "invalid"),
        ({"phone": {"number": "070-174 06 30"}}, "invalid"),
        ({"phone": True}, "invalid"),
        ({"phone": "0" * 33}, "invalid"),
        ({"phone": 12345}, "phone_invalid"),
        ({"phone": "inte ett nummer"}, "phone_invalid"),
        ({"phone": "anna@example.se"}, "phone_invalid"),
        ([], "invalid"),
        ("070-174 06 30", "invalid"),
    ],
    ids=lambda value: repr(value)[:40],
)
def test_bad_input_asking_for_a_code_is_a_400_and_texts_nothing(anna, sms_provider, body, code):
    response = english().post(CODE_URL, body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]
    assert sms_provider.requests == []
    assert not LoginCode.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"phone": PHONE},
        {"code": "CODE"},
        {"phone": "", "code": "CODE"},
        {"phone": None, "code": "CODE"},
        {"phone": PHONE, "code": None},
        {"phone": PHONE, "code": ""},
        {"phone": PHONE, "code": "abcdef"},
        {"phone": PHONE, "code": "1" * 13},
        {"phone": PHONE, "code": ["CODE"]},
        {"phone": PHONE, "code": {"code": "CODE"}},
        {"phone": [PHONE], "code": "CODE"},
        {"phone": "inte ett nummer", "code": "CODE"},
        {"phone": "anna@example.se", "code": "CODE"},
        [],
        "CODE",
    ],
    ids=lambda value: repr(value)[:40],
)
def test_bad_input_signing_in_is_a_400_and_signs_nobody_in(anna, sms_provider, body):
    english().post(CODE_URL, {"phone": PHONE}, format="json")
    code = texted_code(sms_provider)

    def filled(value):
        if isinstance(value, dict):
            return {key: filled(inner) for key, inner in value.items()}
        if isinstance(value, list):
            return [filled(inner) for inner in value]
        return code if value == "CODE" else value

    response = english().post(VERIFY_URL, filled(body), format="json")

    assert response.status_code == 400, response.content
    assert response.json()["error"]["message"]
    nothing_signed_in(anna)
    assert LoginCode.objects.get(user=anna).used_at is None


@pytest.mark.parametrize("url", [CODE_URL, VERIFY_URL])
def test_a_body_that_is_not_json_is_a_400(anna, sms_provider, url):
    response = english().post(url, "{phone:", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"
    assert sms_provider.requests == []


# --- A new password after signing in with a code -------------------------------------------


def test_a_new_password_needs_no_present_one_right_after_signing_in_by_code(anna, sms_provider):
    token = signed_in_by_code(anna, sms_provider)

    response = english(token=token).post(PASSWORD_URL, {"new_password": NEW}, format="json")

    assert response.status_code == 200, response.content
    new_token = response.json()["token"]
    assert new_token != token
    anna.refresh_from_db()
    assert anna.check_password(NEW)
    assert english(token=token).get("/api/v1/auth/me").status_code in (401, 403)
    assert english(token=new_token).get("/api/v1/auth/me").status_code == 200
    # The new token came from choosing a password, not from a code: the grace is over.
    again = english(token=new_token).post(
        PASSWORD_URL, {"new_password": "granskog vid ån 88"}, format="json"
    )
    assert again.status_code == 400
    assert again.json()["error"]["code"] == "password_needed"
    assert User.objects.get(pk=anna.pk).check_password(NEW)


def test_a_present_password_given_after_a_code_sign_in_is_still_checked(anna, sms_provider):
    token = signed_in_by_code(anna, sms_provider)
    response = english(token=token).post(
        PASSWORD_URL, {"current_password": "gissning", "new_password": NEW}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "password_wrong"
    assert User.objects.get(pk=anna.pk).check_password(PASSWORD)


def password_needed(response, anna: User, token: str) -> None:
    """Refused with a word that the present password is needed; nothing changed."""
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "password_needed"
    assert error["message"] == (
        "Give your present password to choose a new one. Forgot it? Sign in with a code "
        "by SMS, then choose a new password within 15 minutes."
    )
    assert error["fields"] == {"current_password": ["Give your present password."]}
    assert User.objects.get(pk=anna.pk).check_password(PASSWORD)
    assert Token.objects.filter(key=token).exists()


def test_a_token_from_signing_in_with_the_password_needs_the_present_one(anna):
    login = english().post(
        "/api/v1/auth/login", {"identifier": PHONE, "password": PASSWORD}, format="json"
    )
    token = login.json()["token"]

    response = english(token=token).post(PASSWORD_URL, {"new_password": NEW}, format="json")

    password_needed(response, anna, token)


class _Clock:
    """The time `minutes` from now, for the grace's own clock only."""

    def __init__(self, minutes: float) -> None:
        self.shift = minutes * 60

    def time(self) -> float:
        return time.time() + self.shift


@pytest.mark.parametrize(
    ("minutes", "allowed"),
    [(CODE_SIGN_IN_GRACE_S / 60 - 1, True), (CODE_SIGN_IN_GRACE_S / 60 + 0.1, False)],
    ids=["14-minutes-after", "15-minutes-after"],
)
def test_the_grace_after_a_code_sign_in_lasts_15_minutes(
    anna, sms_provider, monkeypatch, minutes, allowed
):
    token = signed_in_by_code(anna, sms_provider)
    monkeypatch.setattr(code_sign_in, "time", _Clock(minutes))

    response = english(token=token).post(PASSWORD_URL, {"new_password": NEW}, format="json")

    if allowed:
        assert response.status_code == 200, response.content
        assert User.objects.get(pk=anna.pk).check_password(NEW)
    else:
        password_needed(response, anna, token)


def test_a_session_never_skips_the_present_password(anna, sms_provider):
    """Only a token remembers a code sign-in here; the web pages keep their own."""
    signed_in_by_code(anna, sms_provider)
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(anna)
    response = client.post(PASSWORD_URL, {"new_password": NEW}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "password_needed"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"current_password": None, "new_password": NEW},
        {"new_password": None},
        {"new_password": ["a"]},
        {"new_password": {"a": 1}},
        {"new_password": "x" * 201},
        {"new_password": "1234"},
        {"new_password": "Anna Eriksson"},
        [],
        NEW,
    ],
    ids=lambda value: repr(value)[:40],
)
def test_bad_input_after_a_code_sign_in_is_a_400_and_changes_nothing(anna, sms_provider, body):
    token = signed_in_by_code(anna, sms_provider)
    response = english(token=token).post(PASSWORD_URL, body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["error"]["message"]
    assert User.objects.get(pk=anna.pk).check_password(PASSWORD)
    assert Token.objects.filter(key=token).exists()

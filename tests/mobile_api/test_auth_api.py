"""Logging in and out, registering and changing one's own profile through the API."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from backend.accounts.models import User
from tests import factories
from tests.factories import STOCKHOLM, ManagedProfileFactory, UserFactory

pytestmark = pytest.mark.django_db

LOGIN = "/api/v1/auth/login"
LOGOUT = "/api/v1/auth/logout"
REGISTER = "/api/v1/auth/register"
ME = "/api/v1/auth/me"

# From the series PTS keeps for fiction: they reach no one.
KARIN_PHONE = "+46701740605"
ANNA_PHONE = "+46701740620"
GOOD_PASSWORD = "blåbärsskog vid älven"


def error_of(response, status: int) -> dict:
    """The body's error after checking the status and the API's one error shape."""
    assert response.status_code == status, response.content
    body = response.json()
    assert list(body) == ["error"]
    error = body["error"]
    assert set(error) == {"code", "message", "fields"}
    assert isinstance(error["message"], str)
    assert error["message"]
    return error


@pytest.fixture
def karin():
    return UserFactory(full_name="Karin Lindqvist", phone=KARIN_PHONE, email="karin@example.se")


def me_fields(user: User) -> dict:
    return {
        "id": user.pk,
        "full_name": user.full_name,
        "phone": user.phone,
        "email": user.email,
        "preferred_language": "sv",
        "contact_by_sms": True,
        "contact_by_email": False,
        "contact_by_push": True,
        "home_address": "",
        "home_location": None,
        "birth_year": None,
        "is_managed": False,
        "phone_confirmed_at": _local(user.phone_confirmed_at),
        "email_confirmed_at": _local(user.email_confirmed_at),
    }


def _local(moment) -> str | None:
    return moment.astimezone(STOCKHOLM).isoformat() if moment else None


# --- Logging in --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "identifier",
    [
        "070-174 06 05",
        "0701740605",
        "070 174 06 05",
        "+46701740605",
        "+46 70 174 06 05",
        "  070-174 06 05  ",
        "karin@example.se",
        "Karin@Example.SE",
    ],
    ids=[
        "national-with-dash-and-spaces",
        "national-digits-only",
        "national-with-spaces",
        "e164",
        "e164-with-spaces",
        "surrounded-by-blanks",
        "email",
        "email-in-other-case",
    ],
)
def test_login_with_phone_or_email_in_any_spelling(api, karin, identifier):
    response = api.post(LOGIN, {"identifier": identifier, "password": factories.PASSWORD})

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "user"}
    assert body["token"] == Token.objects.get(user=karin).key
    assert body["user"] == me_fields(karin)


def test_login_starts_a_session_for_the_same_client(api, karin):
    api.post(LOGIN, {"identifier": "070-174 06 05", "password": factories.PASSWORD})

    assert "sessionid" in api.cookies
    response = api.get(ME)
    assert response.status_code == 200
    assert response.json() == me_fields(karin)


def test_login_token_authenticates_another_client(api, karin):
    token = api.post(LOGIN, {"identifier": KARIN_PHONE, "password": factories.PASSWORD}).json()[
        "token"
    ]
    other = APIClient()
    other.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    response = other.get(ME)

    assert response.status_code == 200
    assert response.json()["id"] == karin.pk


def test_logging_in_twice_gives_the_same_token(api, karin):
    credentials = {"identifier": KARIN_PHONE, "password": factories.PASSWORD}
    first = api.post(LOGIN, credentials).json()["token"]
    second = APIClient().post(LOGIN, credentials).json()["token"]
    assert first == second
    assert Token.objects.filter(user=karin).count() == 1


@pytest.fixture
def refused_logins(karin):
    """Every way a login is refused; each must read the same, so nobody learns who exists."""
    managed = ManagedProfileFactory(full_name="Sven Jansson", phone="+46701740625")
    inactive = UserFactory(phone="+46701740630", is_active=False)
    return {
        "wrong-password": {"identifier": KARIN_PHONE, "password": "fel lösenord"},
        "wrong-password-by-email": {"identifier": "karin@example.se", "password": "fel"},
        "unknown-phone": {"identifier": "070-174 06 99", "password": factories.PASSWORD},
        "unknown-email": {"identifier": "ingen@example.se", "password": factories.PASSWORD},
        "not-a-phone-number": {"identifier": "hej", "password": factories.PASSWORD},
        "managed-profile": {"identifier": managed.phone, "password": "!managed"},
        "deactivated-person": {"identifier": inactive.phone, "password": factories.PASSWORD},
    }


@pytest.mark.parametrize(
    "case",
    [
        "wrong-password",
        "wrong-password-by-email",
        "unknown-phone",
        "unknown-email",
        "not-a-phone-number",
        "managed-profile",
        "deactivated-person",
    ],
)
def test_refused_login_does_not_tell_who_exists(api, karin, refused_logins, case):
    reference = error_of(api.post(LOGIN, refused_logins["wrong-password"]), 400)

    response = APIClient().post(LOGIN, refused_logins[case])

    error = error_of(response, 400)
    assert error == reference
    assert error["code"] == "login_failed"
    assert error["fields"] == {}
    assert not Token.objects.exists()
    assert "sessionid" not in response.cookies


@pytest.mark.parametrize(
    ("body", "content_type", "fields"),
    [
        ({}, "json", {"identifier", "password"}),
        ({"identifier": KARIN_PHONE}, "json", {"password"}),
        ({"password": factories.PASSWORD}, "json", {"identifier"}),
        ({"identifier": "", "password": factories.PASSWORD}, "json", {"identifier"}),
        ({"identifier": KARIN_PHONE, "password": ""}, "json", {"password"}),
        ({"identifier": 5, "password": []}, "json", {"password"}),
        ({"identifier": True, "password": {"a": 1}}, "json", {"identifier", "password"}),
        ({"identifier": None, "password": None}, "json", {"identifier", "password"}),
        ({"identifier": "x" * 255, "password": factories.PASSWORD}, "json", {"identifier"}),
        ([KARIN_PHONE, factories.PASSWORD], "json", {"non_field_errors"}),
        ("", "application/json", {"identifier", "password"}),
        ("identifier=0701740605", "application/x-www-form-urlencoded", {"password"}),
    ],
    ids=[
        "empty-object",
        "password-missing",
        "identifier-missing",
        "identifier-blank",
        "password-blank",
        "number-and-list",
        "boolean-and-object",
        "nulls",
        "identifier-too-long",
        "list-instead-of-object",
        "empty-body",
        "form-without-password",
    ],
)
def test_login_with_unusable_input_names_the_fields(api, karin, body, content_type, fields):
    if content_type == "json":
        response = api.post(LOGIN, body, format="json")
    else:
        response = api.post(LOGIN, body, content_type=content_type)

    error = error_of(response, 400)
    assert error["code"] == "invalid"
    assert set(error["fields"]) == fields
    for messages in error["fields"].values():
        assert messages
        assert all(isinstance(message, str) and message for message in messages)
    assert not Token.objects.exists()


def test_login_with_a_body_that_is_not_json(api, karin):
    response = api.post(LOGIN, "identifier=070;password", content_type="application/json")

    error = error_of(response, 400)
    assert error["code"] == "parse_error"
    assert error["fields"] == {}
    assert not Token.objects.exists()


def test_login_with_an_unsupported_media_type(api, karin):
    response = api.post(LOGIN, f"{KARIN_PHONE} {factories.PASSWORD}", content_type="text/plain")

    error = error_of(response, 415)
    assert error["code"] == "unsupported_media_type"
    assert not Token.objects.exists()


def test_login_only_accepts_post(api, karin):
    error = error_of(api.get(LOGIN), 405)
    assert error["code"] == "method_not_allowed"


def test_the_eleventh_login_within_a_minute_is_throttled(api, karin):
    wrong = {"identifier": KARIN_PHONE, "password": "gissning"}
    for _attempt in range(10):
        assert error_of(api.post(LOGIN, wrong), 400)["code"] == "login_failed"

    response = api.post(LOGIN, {"identifier": KARIN_PHONE, "password": factories.PASSWORD})

    error = error_of(response, 429)
    assert error["code"] == "throttled"
    assert error["fields"] == {}
    assert int(response.headers["Retry-After"]) > 0
    assert not Token.objects.exists()


def test_a_forged_forwarded_for_header_does_not_escape_the_throttle(api, karin):
    wrong = {"identifier": KARIN_PHONE, "password": "gissning"}
    for attempt in range(10):
        api.post(LOGIN, wrong, HTTP_X_FORWARDED_FOR=f"10.0.0.{attempt}")

    response = api.post(LOGIN, wrong, HTTP_X_FORWARDED_FOR="10.0.0.99")

    assert error_of(response, 429)["code"] == "throttled"


def test_guessing_one_persons_password_from_many_addresses_is_throttled(api, karin, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "login": "1000/min",
            "login_identifier": "5/hour",
        },
    }
    from rest_framework.throttling import SimpleRateThrottle

    # DRF reads the rates once at import; give the throttles the test's rates.
    original = SimpleRateThrottle.THROTTLE_RATES
    SimpleRateThrottle.THROTTLE_RATES = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    try:
        for attempt in range(5):
            response = api.post(
                LOGIN,
                {"identifier": "070-174 06 05", "password": "gissning"},
                REMOTE_ADDR=f"192.0.2.{attempt}",
            )
            assert error_of(response, 400)["code"] == "login_failed"
        response = api.post(
            LOGIN, {"identifier": KARIN_PHONE, "password": "gissning"}, REMOTE_ADDR="192.0.2.50"
        )
        assert error_of(response, 429)["code"] == "throttled"
        other = api.post(
            LOGIN, {"identifier": "+46701740699", "password": "x"}, REMOTE_ADDR="192.0.2.51"
        )
        assert error_of(other, 400)["code"] == "login_failed"
    finally:
        SimpleRateThrottle.THROTTLE_RATES = original


# --- Logging out -------------------------------------------------------------------------


def test_logout_ends_the_session_and_revokes_the_token(api, karin):
    token = api.post(LOGIN, {"identifier": KARIN_PHONE, "password": factories.PASSWORD}).json()[
        "token"
    ]

    response = api.post(LOGOUT)

    assert response.status_code == 204
    assert response.content == b""
    assert not Token.objects.filter(user=karin).exists()
    assert error_of(api.get(ME), 403)["code"] == "not_authenticated"
    with_token = APIClient()
    with_token.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert error_of(with_token.get(ME), 403)["code"] == "authentication_failed"


def test_logout_with_the_token(api, karin):
    token = api.post(LOGIN, {"identifier": KARIN_PHONE, "password": factories.PASSWORD}).json()[
        "token"
    ]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")

    assert client.post(LOGOUT).status_code == 204

    assert not Token.objects.exists()
    assert error_of(client.get(ME), 403)["code"] == "authentication_failed"


def test_logout_needs_a_login(api):
    error = error_of(api.post(LOGOUT), 403)
    assert error["code"] == "not_authenticated"


# --- Registering -------------------------------------------------------------------------


def test_register_stores_the_phone_in_e164_and_the_password_works(api):
    response = api.post(
        REGISTER,
        {"full_name": "  Anna   Eriksson ", "phone": "070-174 06 20", "password": GOOD_PASSWORD},
    )

    assert response.status_code == 201
    anna = User.objects.get()
    assert response.json() == me_fields(anna)
    assert anna.full_name == "Anna Eriksson"
    assert anna.phone == ANNA_PHONE
    assert anna.email == ""
    assert not anna.is_managed
    assert anna.check_password(GOOD_PASSWORD)
    login = APIClient().post(LOGIN, {"identifier": "0701740620", "password": GOOD_PASSWORD})
    assert login.status_code == 200
    assert login.json()["user"]["id"] == anna.pk


def test_register_with_email_only_and_english(api):
    response = api.post(
        REGISTER,
        {
            "full_name": "Anna Eriksson",
            "email": "anna@example.se",
            "password": GOOD_PASSWORD,
            "preferred_language": "en",
        },
    )

    assert response.status_code == 201
    anna = User.objects.get()
    assert response.json() == me_fields(anna) | {"preferred_language": "en"}
    assert (anna.phone, anna.email, anna.preferred_language) == ("", "anna@example.se", "en")
    login = APIClient().post(LOGIN, {"identifier": "ANNA@example.se", "password": GOOD_PASSWORD})
    assert login.status_code == 200


def test_register_with_the_phone_of_a_managed_profile(api):
    """A managed profile may share a landline with someone who logs in."""
    ManagedProfileFactory(full_name="Sven Jansson", phone=ANNA_PHONE)

    response = api.post(
        REGISTER, {"full_name": "Anna Eriksson", "phone": ANNA_PHONE, "password": GOOD_PASSWORD}
    )

    assert response.status_code == 201
    assert User.objects.filter(phone=ANNA_PHONE).count() == 2


@pytest.mark.parametrize(
    ("body", "status", "code", "fields"),
    [
        (
            {"full_name": "Anna Eriksson", "phone": "12345", "password": GOOD_PASSWORD},
            400,
            "phone_invalid",
            {"phone"},
        ),
        (
            {"full_name": "Anna Eriksson", "phone": "070-174 06 05", "password": GOOD_PASSWORD},
            409,
            "phone_taken",
            {"phone"},
        ),
        (
            {
                "full_name": "Anna Eriksson",
                "email": "KARIN@example.se",
                "password": GOOD_PASSWORD,
            },
            409,
            "email_taken",
            {"email"},
        ),
        (
            {
                "full_name": "Anna Eriksson",
                "email": "anna(at)example.se",
                "password": GOOD_PASSWORD,
            },
            400,
            "email_invalid",
            {"email"},
        ),
        (
            {"full_name": "Anna Eriksson", "phone": ANNA_PHONE, "password": "1234"},
            400,
            "password_weak",
            {"password"},
        ),
        (
            {"full_name": "Anna Eriksson", "phone": ANNA_PHONE, "password": "password"},
            400,
            "password_weak",
            {"password"},
        ),
        (
            {"phone": ANNA_PHONE, "password": GOOD_PASSWORD},
            400,
            "invalid",
            {"full_name"},
        ),
        (
            {"full_name": "   ", "phone": ANNA_PHONE, "password": GOOD_PASSWORD},
            400,
            "invalid",
            {"full_name"},
        ),
        (
            {"full_name": "Anna Eriksson", "password": GOOD_PASSWORD},
            400,
            "contact_missing",
            {"phone"},
        ),
        (
            {"full_name": "Anna Eriksson", "phone": " ", "email": "", "password": GOOD_PASSWORD},
            400,
            "contact_missing",
            {"phone"},
        ),
        (
            {"full_name": "Anna Eriksson", "phone": ANNA_PHONE},
            400,
            "invalid",
            {"password"},
        ),
        (
            {
                "full_name": "Anna Eriksson",
                "phone": ANNA_PHONE,
                "password": GOOD_PASSWORD,
                "preferred_language": "fi",
            },
            400,
            "invalid",
            {"preferred_language"},
        ),
    ],
    ids=[
        "phone-invalid",
        "phone-taken",
        "email-taken-in-other-case",
        "email-invalid",
        "password-too-short-and-numeric",
        "password-too-common",
        "name-missing",
        "name-blank",
        "neither-phone-nor-email",
        "phone-and-email-blank",
        "password-missing",
        "unknown-language",
    ],
)
def test_register_refused(api, karin, body, status, code, fields):
    users_before = User.objects.count()

    error = error_of(api.post(REGISTER, body), status)

    assert error["code"] == code
    assert set(error["fields"]) == fields
    assert User.objects.count() == users_before


def test_register_is_throttled_with_login(api):
    for number in range(10):
        body = {"full_name": "Anna", "phone": f"070-174 06 {40 + number}", "password": "1"}
        assert error_of(api.post(REGISTER, body), 400)["code"] == "password_weak"

    body = {"full_name": "Anna Eriksson", "phone": ANNA_PHONE, "password": GOOD_PASSWORD}
    error = error_of(api.post(REGISTER, body), 429)

    assert error["code"] == "throttled"
    assert not User.objects.exists()


# --- My profile --------------------------------------------------------------------------


def test_change_language_and_home(api_as, karin):
    response = api_as(karin).patch(
        ME,
        {
            "preferred_language": "en",
            "home_location": {"type": "Point", "coordinates": [14.22458, 60.50893]},
            "home_address": "Järnvägsgatan 4, Vansbro",
        },
        format="json",
    )

    assert response.status_code == 200
    assert response.json() == me_fields(karin) | {
        "preferred_language": "en",
        "home_address": "Järnvägsgatan 4, Vansbro",
        "home_location": {"type": "Point", "coordinates": [14.22458, 60.50893]},
    }
    karin.refresh_from_db()
    assert karin.preferred_language == "en"
    assert karin.home_address == "Järnvägsgatan 4, Vansbro"
    assert karin.home_location.srid == 4326
    assert karin.home_location.coords == pytest.approx((14.22458, 60.50893))


def test_change_phone_stores_e164(api_as, karin):
    response = api_as(karin).patch(ME, {"phone": "070-174 06 20"}, format="json")

    assert response.status_code == 200
    assert response.json()["phone"] == ANNA_PHONE
    karin.refresh_from_db()
    assert karin.phone == ANNA_PHONE


def test_clear_home(api_as, karin):
    karin.home_location = factories.VANSBRO
    karin.save()

    response = api_as(karin).patch(ME, {"home_location": None}, format="json")

    assert response.status_code == 200
    assert response.json()["home_location"] is None
    karin.refresh_from_db()
    assert karin.home_location is None


@pytest.mark.parametrize(
    ("changes", "status", "code", "fields"),
    [
        ({"phone": "12345", "preferred_language": "en"}, 400, "phone_invalid", {"phone"}),
        ({"phone": "070-174 06 20", "full_name": "Karin L"}, 409, "phone_taken", {"phone"}),
        ({"phone": "", "email": ""}, 400, "contact_missing", {"phone"}),
        ({"email": "nej", "preferred_language": "en"}, 400, "email_invalid", {"email"}),
        ({"preferred_language": "de"}, 400, "invalid", {"preferred_language"}),
        (
            {"home_location": {"type": "Point", "coordinates": "Vansbro"}},
            400,
            "invalid",
            {"home_location"},
        ),
        ({"birth_year": 1850}, 400, "invalid", {"birth_year"}),
        ({"full_name": ""}, 400, "invalid", {"full_name"}),
    ],
    ids=[
        "phone-invalid",
        "phone-taken",
        "no-contact-left",
        "email-invalid",
        "unknown-language",
        "location-not-geojson",
        "birth-year-out-of-range",
        "name-blank",
    ],
)
def test_profile_change_refused_changes_nothing(api_as, karin, changes, status, code, fields):
    UserFactory(full_name="Anna Eriksson", phone=ANNA_PHONE)
    before = User.objects.values().get(pk=karin.pk)

    error = error_of(api_as(karin).patch(ME, changes, format="json"), status)

    assert error["code"] == code
    assert set(error["fields"]) == fields
    assert User.objects.values().get(pk=karin.pk) == before


@pytest.mark.parametrize("method", ["get", "patch"])
def test_profile_needs_a_login(api, karin, method):
    before = User.objects.values().get(pk=karin.pk)

    if method == "get":
        response = api.get(ME)
    else:
        response = api.patch(ME, {"preferred_language": "en"}, format="json")

    assert error_of(response, 403)["code"] == "not_authenticated"
    assert User.objects.values().get(pk=karin.pk) == before


def test_profile_with_an_unknown_token(api, karin):
    api.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef0123456789abcdef01234567")

    error = error_of(api.patch(ME, {"preferred_language": "en"}, format="json"), 403)

    assert error["code"] == "authentication_failed"
    karin.refresh_from_db()
    assert karin.preferred_language == "sv"


def test_profile_change_by_session_needs_the_csrf_token(karin):
    client = APIClient(enforce_csrf_checks=True)
    login = client.post(LOGIN, {"identifier": KARIN_PHONE, "password": factories.PASSWORD})
    assert login.status_code == 200

    response = client.patch(ME, {"preferred_language": "en"}, format="json")

    assert error_of(response, 403)["code"] == "permission_denied"
    karin.refresh_from_db()
    assert karin.preferred_language == "sv"


@pytest.mark.parametrize(
    ("location", "message"),
    [
        ({"type": "Point", "coordinates": [14.2, 91]}, "latitude between -90 and 90"),
        ({"type": "Point", "coordinates": [200, 60.5]}, "Longitude must be between"),
        ({"type": "Point", "coordinates": [14.2]}, "[longitude, latitude]"),
        ({"type": "Point", "coordinates": ["14", "60"]}, "[longitude, latitude]"),
        ({"type": "Polygon", "coordinates": [14.2, 60.5]}, "[longitude, latitude]"),
    ],
    ids=["latitude-out-of-range", "longitude-out-of-range", "one-coordinate", "strings", "polygon"],
)
def test_home_location_bad_coordinates_get_a_readable_message(api_as, location, message):
    person = factories.UserFactory(home_location=None)
    response = api_as(person).patch(
        ME, {"home_location": location}, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )
    error = error_of(response, 400)
    assert message in error["fields"]["home_location"][0]
    person.refresh_from_db()
    assert person.home_location is None


# --- The token on each request (mobile_api/authentication.py) ---------------------------


def _with_token(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_a_valid_token_identifies_its_person(karin):
    token = Token.objects.create(user=karin)
    response = _with_token(token.key).get(ME)
    assert response.status_code == 200, response.content
    assert response.json() == me_fields(karin)


def test_an_unknown_token_is_refused_with_a_readable_message(karin):
    Token.objects.create(user=karin)
    # 403, not 401: the session is the first way in, and it names no challenge.
    error = error_of(_with_token("0" * 40).get(ME), 403)
    assert error["message"] == 'Ogiltig "token".'  # DRF's own words


def test_the_token_of_a_deactivated_person_no_longer_works(karin):
    token = Token.objects.create(user=karin)
    karin.is_active = False
    karin.save(update_fields=["is_active"])
    error = error_of(_with_token(token.key).get(ME), 403)
    assert error["message"] == "Användaren borttagen eller inaktiv."


def test_a_token_checks_its_person_in_one_query(karin, django_assert_num_queries):
    token = Token.objects.create(user=karin)
    client = _with_token(token.key)
    with django_assert_num_queries(1):
        assert client.get(ME).status_code == 200

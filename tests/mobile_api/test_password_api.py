"""Choosing a new password through the API: the present one is needed, other devices
are signed out (the old token stops working), and bad input changes nothing."""

import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from backend.accounts.models import User
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/auth/password"
NEW = "tallskog vid sjön 77"


def token_client(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_a_new_password_replaces_the_old_and_only_this_client_stays_signed_in():
    lena = UserFactory(full_name="Lena Eriksson")
    old_token = Token.objects.create(user=lena).key
    here = token_client(old_token)

    response = here.post(URL, {"current_password": PASSWORD, "new_password": NEW}, format="json")

    assert response.status_code == 200, response.content
    new_token = response.json()["token"]
    assert new_token != old_token
    lena.refresh_from_db()
    assert lena.check_password(NEW)
    assert token_client(old_token).get("/api/v1/auth/me").status_code in (401, 403)
    assert token_client(new_token).get("/api/v1/auth/me").status_code == 200
    login = APIClient().post(
        "/api/v1/auth/login", {"identifier": lena.phone, "password": NEW}, format="json"
    )
    assert login.status_code == 200


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"current_password": "fel", "new_password": NEW}, "password_wrong", "current_password"),
        ({"current_password": PASSWORD, "new_password": "1234"}, "password_weak", "new_password"),
        (
            {"current_password": PASSWORD, "new_password": "Lena Eriksson"},
            "password_weak",
            "new_password",
        ),
        # Not signed in with a code lately (tests/mobile_api/test_login_code_api.py).
        ({"new_password": NEW}, "password_needed", "current_password"),
        ({"current_password": PASSWORD}, "invalid", "new_password"),
        ({"current_password": PASSWORD, "new_password": ["a"]}, "invalid", "new_password"),
        ({"current_password": PASSWORD, "new_password": "x" * 201}, "invalid", "new_password"),
    ],
)
def test_bad_input_is_a_400_that_names_the_field_and_changes_nothing(api_as, body, code, field):
    lena = UserFactory(full_name="Lena Eriksson")
    token = Token.objects.create(user=lena).key
    before = User.objects.get(pk=lena.pk).password

    response = api_as(lena).post(URL, body, format="json")

    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == code
    assert field in error["fields"]
    assert error["message"]
    assert User.objects.get(pk=lena.pk).password == before
    assert Token.objects.filter(key=token).exists()


def test_signed_out_callers_are_refused(api):
    assert api.post(URL, {"current_password": "x", "new_password": NEW}).status_code in (401, 403)


def test_guessing_the_present_password_is_limited_like_signing_in(api_as, settings):
    """A stolen token must not make guessing the password (to keep the account) faster
    than the sign-in page: every try counts against the person's sign-in attempts."""
    cache.clear()
    lena = UserFactory(full_name="Lena Eriksson")
    client = api_as(lena)
    wrong = {"current_password": "gissning", "new_password": NEW}
    limit = 3
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "login": "100/min",  # the person's count, not the address's, refuses here
            "login_identifier": f"{limit}/hour",
        },
    }
    for _attempt in range(limit):
        assert client.post(URL, wrong, format="json").status_code == 400

    refused = client.post(URL, {"current_password": PASSWORD, "new_password": NEW}, format="json")

    assert refused.status_code == 429
    assert not User.objects.get(pk=lena.pk).check_password(NEW)

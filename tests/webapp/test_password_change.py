"""Choosing a new password on the web pages: with the present one, or, right after
signing in with a code texted to one's confirmed number, without it (for someone who
forgot it). Other devices are signed out; bad input changes nothing."""

import time

import pytest
from django.core.cache import cache
from django.test import Client
from rest_framework.authtoken.models import Token

from backend.accounts.models import User
from tests.factories import PASSWORD, UserFactory, code_texted
from webapp.views.sessions import CODE_SIGN_IN_GRACE_S, CODE_SIGN_IN_KEY

pytestmark = pytest.mark.django_db

URL = "/profile/password"
NEW = "tallskog vid sjön 77"


@pytest.fixture
def lena():
    cache.clear()
    return UserFactory(full_name="Lena Eriksson", phone="+46701740699")


def signed_in_with_password(user) -> Client:
    client = Client()
    response = client.post("/sign-in", {"identifier": user.phone, "password": PASSWORD})
    assert response.status_code == 302, response.content
    return client


def signed_in_with_code(user) -> Client:
    client = Client()
    session = client.session
    session["sign_in_phone"] = user.phone
    session.save()
    code_texted(user, "123456")
    response = client.post("/sign-in/code/verify", {"code": "123456"})
    assert response.status_code == 302, response.content
    return client


def test_with_the_present_password_a_new_one_replaces_it(lena):
    client = signed_in_with_password(lena)
    page = client.get(URL)
    assert page.status_code == 200
    assert 'name="current_password"' in page.content.decode()

    response = client.post(URL, {"current_password": PASSWORD, "new_password": NEW})

    assert response.status_code == 302
    assert response.url == "/profile/"
    lena.refresh_from_db()
    assert lena.check_password(NEW)
    assert not lena.check_password(PASSWORD)
    profile = client.get("/profile/")  # this device stays signed in, and is told
    assert profile.status_code == 200
    assert "Ditt nya lösenord gäller från och med nu" in profile.content.decode()


def test_other_devices_are_signed_out(lena):
    elsewhere = signed_in_with_password(lena)
    Token.objects.create(user=lena)
    here = signed_in_with_password(lena)

    here.post(URL, {"current_password": PASSWORD, "new_password": NEW})

    assert elsewhere.get("/profile/").status_code == 302  # to the sign-in page
    assert not Token.objects.filter(user=lena).exists()
    assert here.get("/profile/").status_code == 200


def test_right_after_signing_in_with_a_code_the_old_password_is_not_asked(lena):
    client = signed_in_with_code(lena)
    page = client.get(URL)
    assert 'name="current_password"' not in page.content.decode()

    response = client.post(URL, {"new_password": NEW})

    assert response.status_code == 302, response.content
    lena.refresh_from_db()
    assert lena.check_password(NEW)
    # Once: the next change asks for the password again.
    assert 'name="current_password"' in client.get(URL).content.decode()


def test_a_quarter_of_an_hour_after_the_code_the_old_password_is_asked_again(lena):
    client = signed_in_with_code(lena)
    session = client.session
    session[CODE_SIGN_IN_KEY] = time.time() - CODE_SIGN_IN_GRACE_S - 1
    session.save()

    response = client.post(URL, {"new_password": NEW})

    assert response.status_code == 400
    assert not User.objects.get(pk=lena.pk).check_password(NEW)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"current_password": "fel lösenord", "new_password": NEW}, "current_password"),
        ({"current_password": PASSWORD, "new_password": "1234"}, "new_password"),
        ({"current_password": PASSWORD, "new_password": "12345678901"}, "new_password"),
        ({"current_password": PASSWORD, "new_password": "Lena Eriksson"}, "new_password"),
        ({"current_password": PASSWORD, "new_password": ""}, "new_password"),
        ({"new_password": NEW}, "current_password"),
        ({}, "new_password"),
    ],
)
def test_bad_input_is_a_400_that_says_what_to_do_and_changes_nothing(lena, body, field):
    client = signed_in_with_password(lena)
    before = User.objects.get(pk=lena.pk).password

    response = client.post(URL, body)

    assert response.status_code == 400
    html = response.content.decode()
    assert f'id="id_{field}"' in html and 'aria-invalid="true"' in html
    assert User.objects.get(pk=lena.pk).password == before


def test_signed_out_people_are_sent_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response.url.startswith("/sign-in")


def test_the_profile_links_to_it(lena):
    client = signed_in_with_password(lena)
    assert f'href="{URL}"' in client.get("/profile/").content.decode()


def test_guessing_the_present_password_is_limited_like_signing_in(lena, settings):
    client = signed_in_with_password(lena)
    cache.clear()  # the sign-in above counted too
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
        response = client.post(URL, {"current_password": "gissning", "new_password": NEW})
        assert "Det är inte ditt nuvarande lösenord" in response.content.decode()

    refused = client.post(URL, {"current_password": PASSWORD, "new_password": NEW})

    assert refused.status_code == 400
    assert "För många inloggningsförsök" in refused.content.decode()
    assert not User.objects.get(pk=lena.pk).check_password(NEW)

"""Signing in on the web pages: password, or a one-time code by SMS (through the fake
SMS provider, so the real sending code runs)."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from backend.accounts.models import LoginCode
from tests.factories import PASSWORD, ManagedProfileFactory, UserFactory

pytestmark = pytest.mark.django_db

PHONE = "070-174 06 20"


@pytest.fixture
def anna(db):
    return UserFactory(full_name="Anna Eriksson", phone="+46701740620", preferred_language="en")


def english() -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.cookies["django_language"] = "en"
    return client


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_sign_in_with_password(anna):
    client = english()
    response = client.post("/sign-in", {"identifier": PHONE, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert signed_in(client)
    assert response.cookies["django_language"].value == "en"


def test_sign_in_goes_back_where_i_was_going_but_never_elsewhere(anna):
    client = english()
    response = client.post("/sign-in?next=/rides/new", {"identifier": PHONE, "password": PASSWORD})
    assert response["Location"] == "/rides/new"
    client = english()
    response = client.post(
        "/sign-in?next=https://evil.example/", {"identifier": PHONE, "password": PASSWORD}
    )
    assert response["Location"] == "/"


def test_a_form_sent_after_the_session_ended_leads_back_to_its_page_after_signing_in(anna):
    # Django's way back was the address the form was sent to, which only a button can
    # use: the person landed on a page saying nothing was done.
    client = english()
    response = client.post(
        "/rides/5/cancel", {"reason": "sick"}, HTTP_REFERER="http://testserver/rides/5/?tab=2"
    )
    assert response.status_code == 302
    assert response["Location"] == "/sign-in?next=%2Frides%2F5%2F%3Ftab%3D2"
    page = client.get(response["Location"]).content.decode()
    assert (
        "You had been signed out, so the form was not sent. Sign in, and you will be back "
        "on its page to send it again."
    ) in page
    response = client.post(
        response["Location"], {"identifier": PHONE, "password": PASSWORD}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response["Location"] == "/rides/5/?tab=2"
    assert signed_in(client)


@pytest.mark.parametrize(
    "referer",
    [None, "https://evil.example/rides/5/", "http://testserver/sign-in?next=/rides/5/cancel"],
)
def test_a_form_from_no_known_page_leads_to_the_start_page_after_signing_in(referer):
    headers = {"HTTP_REFERER": referer} if referer else {}
    response = english().post("/rides/5/cancel", {"reason": "sick"}, **headers)
    assert response["Location"] == "/sign-in?next=%2F"


def test_a_page_opened_after_the_session_ended_is_still_the_way_back():
    response = english().get("/rides/new", HTTP_REFERER="http://testserver/")
    assert response["Location"] == "/sign-in?next=/rides/new"


@pytest.mark.parametrize(
    "values",
    [
        {"identifier": PHONE, "password": "wrong"},
        {"identifier": "070-000 00 00", "password": PASSWORD},
        {"identifier": "", "password": ""},
    ],
    ids=["wrong password", "unknown number", "empty"],
)
def test_a_failed_sign_in_says_so_and_signs_nobody_in(anna, values):
    client = english()
    response = client.post("/sign-in", values)
    assert response.status_code == 400
    assert not signed_in(client)
    assert response.context["form"].errors


def sent_code(provider) -> str:
    return re.search(r"\b(\d{6})\b", provider.accepted[-1].form["message"]).group(1)


def test_sign_in_with_a_code_by_sms(anna, sms_provider):
    client = english()
    response = client.post("/sign-in/code", {"phone": PHONE})
    assert response.status_code == 302
    assert response["Location"] == "/sign-in/code/verify"
    message = sms_provider.accepted[-1].form
    assert message["to"] == "+46701740620"
    assert "It works for 10 minutes" in message["message"]
    code = sent_code(sms_provider)
    stored = LoginCode.objects.get(user=anna)
    assert code not in stored.code_hash and len(stored.code_hash) == 64
    response = client.post("/sign-in/code/verify", {"code": code})
    assert response.status_code == 302
    assert signed_in(client)
    assert LoginCode.objects.get(user=anna).used_at is not None
    # A used code does not work twice.
    other = english()
    other.post("/sign-in/code", {"phone": "+46 70 999 99 99"})  # sets up nothing for anna
    session = other.session
    session["sign_in_phone"] = PHONE
    session.save()
    assert other.post("/sign-in/code/verify", {"code": code}).status_code == 400
    assert not signed_in(other)


def test_an_unknown_number_gets_the_same_answer_and_no_sms(anna, sms_provider):
    response = english().post("/sign-in/code", {"phone": "070-999 99 99"})
    assert (response.status_code, response["Location"]) == (302, "/sign-in/code/verify")
    assert sms_provider.requests == []
    assert not LoginCode.objects.exists()


def test_a_managed_profile_cannot_sign_in_by_code(sms_provider):
    ManagedProfileFactory(phone="+46701740620")
    english().post("/sign-in/code", {"phone": PHONE})
    assert sms_provider.requests == []


def test_a_malformed_number_is_an_error(anna, sms_provider):
    response = english().post("/sign-in/code", {"phone": "12"})
    assert response.status_code == 400
    assert "not a phone number we can send SMS to" in response.content.decode()
    assert sms_provider.requests == []


def test_wrong_codes_count_and_the_fifth_burns_the_code(anna, sms_provider):
    client = english()
    client.post("/sign-in/code", {"phone": PHONE})
    code = sent_code(sms_provider)
    wrong = "000000" if code != "000000" else "111111"
    for attempt in range(1, LoginCode.MAX_ATTEMPTS + 1):
        response = client.post("/sign-in/code/verify", {"code": wrong})
        assert response.status_code == 400
        assert "That code is not right" in response.content.decode()
        assert LoginCode.objects.get(user=anna).attempts == attempt
    assert LoginCode.objects.get(user=anna).used_at is not None
    response = client.post("/sign-in/code/verify", {"code": code})
    assert response.status_code == 400
    assert not signed_in(client)


def test_an_expired_code_does_not_work(anna, sms_provider):
    client = english()
    client.post("/sign-in/code", {"phone": PHONE})
    code = sent_code(sms_provider)
    LoginCode.objects.filter(user=anna).update(
        created_at=timezone.now() - timedelta(minutes=20),
        expires_at=timezone.now() - timedelta(minutes=10),
    )
    response = client.post("/sign-in/code/verify", {"code": code})
    assert response.status_code == 400
    assert "no longer works" in response.content.decode()
    assert not signed_in(client)


def test_a_new_code_replaces_the_old_one(anna, sms_provider):
    client = english()
    client.post("/sign-in/code", {"phone": PHONE})
    first = sent_code(sms_provider)
    client.post("/sign-in/code", {"phone": PHONE})
    second = sent_code(sms_provider)
    assert LoginCode.objects.filter(user=anna, used_at__isnull=True).count() == 1
    if first != second:
        assert client.post("/sign-in/code/verify", {"code": first}).status_code == 400
    assert client.post("/sign-in/code/verify", {"code": second}).status_code == 302


def test_codes_per_number_are_limited(anna, sms_provider, settings):
    settings.LOGIN_CODES_PER_PHONE_HOUR = 2
    client = english()
    for _ in range(2):
        assert client.post("/sign-in/code", {"phone": PHONE}).status_code == 302
    response = client.post("/sign-in/code", {"phone": PHONE})
    assert response.status_code == 400
    assert "Too many codes" in response.content.decode()
    assert len(sms_provider.accepted) == 2


def test_codes_per_client_address_are_limited(anna, sms_provider, settings):
    settings.LOGIN_CODES_PER_IP_HOUR = 3
    client = english()
    for n in range(3):
        client.post("/sign-in/code", {"phone": f"070-999 99 9{n}"})
    assert client.post("/sign-in/code", {"phone": PHONE}).status_code == 400
    assert sms_provider.requests == []


def test_a_provider_failure_says_try_again_and_keeps_no_code(anna, sms_provider):
    sms_provider.answer_next(503, times=1)
    response = english().post("/sign-in/code", {"phone": PHONE})
    assert response.status_code == 400
    assert "could not send the SMS" in response.content.decode()
    assert not LoginCode.objects.exists()


def test_the_verify_page_needs_a_number_first():
    response = english().get("/sign-in/code/verify")
    assert response["Location"] == "/sign-in/code"


def test_sign_out_is_a_post(anna):
    client = english()
    client.force_login(anna)
    assert client.get("/sign-out").status_code == 405
    assert signed_in(client)
    assert client.post("/sign-out").status_code == 302
    assert not signed_in(client)


def test_the_language_switch_remembers_the_choice_for_the_person(anna):
    client = english()
    client.force_login(anna)
    response = client.post("/language", {"language": "sv", "next": "/profile/"})
    assert (response.status_code, response["Location"]) == (302, "/profile/")
    assert response.cookies["django_language"].value == "sv"
    anna.refresh_from_db()
    assert anna.preferred_language == "sv"
    assert 'lang="sv"' in client.get("/profile/").content.decode()


def test_the_language_switch_refuses_unknown_languages_and_foreign_targets(anna):
    client = english()
    response = client.post("/language", {"language": "xx", "next": "/profile/"})
    assert response["Location"] == "/"
    response = client.post("/language", {"language": "sv", "next": "https://evil.example/"})
    assert response["Location"] == "/"

"""Joining Samby on the web pages, and confirming one's phone number with a code texted
to it (through the fake SMS provider, so the real sending code runs). Requests to help
sent to the number reach the person only once it is confirmed."""

import re

import pytest
from django.test import Client
from django.utils import timezone

from backend.accounts.models import LoginCode, ProxyInvitation, ProxyLink, User
from backend.community.services import proxy_link_request
from tests.factories import UserFactory
from tests.webapp.test_auth_pages import english, signed_in
from tests.webapp.test_sign_in_limits import english as from_address

pytestmark = pytest.mark.django_db

LENA_PHONE = "+46701740677"
NEW_PASSWORD = "mossa-i-skogen-17"


def joining(**changes) -> dict:
    return {
        "full_name": "Lena Lund",
        "phone": "070-174 06 77",
        "email": "",
        "password": NEW_PASSWORD,
        "preferred_language": "en",
        **changes,
    }


def texted_code(provider, to: str = LENA_PHONE) -> str:
    [*_, sms] = [request.form for request in provider.accepted if request.form["to"] == to]
    assert "Your Samby code" in sms["message"]
    return re.search(r"\b(\d{6})\b", sms["message"]).group(1)


def other_than(code: str) -> str:
    return "000000" if code != "000000" else "111111"


@pytest.fixture
def greta(db):
    return UserFactory(full_name="Greta Lund", phone="+46701740650", preferred_language="en")


@pytest.fixture
def unconfirmed(db):
    """Lena joined with her number but has not entered the code yet."""
    return UserFactory(
        full_name="Lena Lund", phone=LENA_PHONE, preferred_language="en", phone_confirmed_at=None
    )


def signed_in_as(user: User) -> Client:
    client = english()
    client.force_login(user)
    return client


def test_joining_with_a_number_and_confirming_it_brings_the_request_to_help(greta, sms_provider):
    proxy_link_request(
        actor=greta, resident=greta, proxy_phone="070-174 06 77", relationship="dotter"
    )
    assert ProxyInvitation.objects.filter(phone=LENA_PHONE).exists()
    client = english()

    response = client.post("/join", joining())
    assert (response.status_code, response["Location"]) == (302, "/profile/phone")
    lena = User.objects.get(phone=LENA_PHONE)
    assert (lena.full_name, lena.email, lena.preferred_language) == ("Lena Lund", "", "en")
    assert lena.check_password(NEW_PASSWORD)
    assert lena.phone_confirmed_at is None
    assert signed_in(client) and client.session["_auth_user_id"] == str(lena.pk)
    assert response.cookies["django_language"].value == "en"
    code = texted_code(sms_provider)

    page = client.get("/profile/phone")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Welcome to Samby! Your account is ready." in text
    assert LENA_PHONE in text
    assert 'autocomplete="one-time-code"' in text

    # Before the number is confirmed, Greta's request does not reach Lena.
    profile = client.get("/profile/").content.decode()
    assert "Your phone number is not confirmed yet" in profile
    assert "Requests for help" not in profile and "Greta Lund" not in profile
    assert not ProxyLink.objects.filter(proxy=lena).exists()

    response = client.post("/profile/phone", {"code": code})
    assert (response.status_code, response["Location"]) == (302, "/profile/")
    lena.refresh_from_db()
    assert lena.phone_confirmed_at is not None
    link = ProxyLink.objects.get(proxy=lena)
    assert (link.resident, link.accepted_at) == (greta, None)
    assert not ProxyInvitation.objects.filter(phone=LENA_PHONE).exists()
    profile = client.get("/profile/").content.decode()
    assert "Your phone number is confirmed." in profile
    assert "Your phone number is not confirmed yet" not in profile
    assert "Requests for help" in profile
    assert "Greta Lund asks you to help them in Samby." in profile


def test_a_number_someone_typed_by_mistake_does_not_keep_its_owner_from_joining(
    unconfirmed, sms_provider
):
    """Someone registered Lena's number without confirming it: she joins with it all the
    same, confirms it, and it is hers; the other login is told to check its number."""
    client = english()
    response = client.post("/join", joining(full_name="Lena Lund"))
    assert (response.status_code, response["Location"]) == (302, "/profile/phone")
    lena = User.objects.exclude(pk=unconfirmed.pk).get(phone=LENA_PHONE)
    response = client.post("/profile/phone", {"code": texted_code(sms_provider)})
    assert (response.status_code, response["Location"]) == (302, "/profile/")
    lena.refresh_from_db()
    assert lena.phone_confirmed_at is not None

    other = signed_in_as(unconfirmed)
    response = other.post("/profile/phone/code", follow=True)
    assert "Someone else has shown that this phone number is theirs." in (response.content.decode())
    assert len(sms_provider.accepted) == 1  # nothing more to Lena's phone


def test_joining_with_an_e_mail_only_goes_home_with_a_welcome(sms_provider):
    client = english()
    response = client.post("/join", joining(phone="", email="lena@example.se"))
    assert (response.status_code, response["Location"]) == (302, "/")
    lena = User.objects.get(email="lena@example.se")
    assert (lena.phone, lena.phone_confirmed_at) == ("", None)
    assert signed_in(client)
    assert sms_provider.requests == []
    assert "Welcome to Samby! Your account is ready." in client.get("/").content.decode()
    # No number, nothing to confirm: the profile shows no notice, /profile/phone says why.
    assert "Confirm my number" not in client.get("/profile/").content.decode()
    response = client.get("/profile/phone")
    assert (response.status_code, response["Location"]) == (302, "/profile/")
    assert "no phone number in your account" in client.get("/profile/").content.decode()


def test_the_join_page_has_the_fields_a_phone_fills_in():
    page = english().get("/join")
    assert page.status_code == 200
    text = page.content.decode()
    for name, autocomplete in [
        ("full_name", "name"),
        ("phone", "tel"),
        ("email", "email"),
        ("password", "new-password"),
    ]:
        field = re.search(rf'<input[^>]*name="{name}"[^>]*>', text).group(0)
        assert f'autocomplete="{autocomplete}"' in field, name
        assert re.search(rf'<label for="id_{name}"', text), name
    assert 'inputmode="tel"' in re.search(r'<input[^>]*name="phone"[^>]*>', text).group(0)
    # The language chosen is the page's own.
    assert re.search(r'<option value="en" selected>', text)
    swedish = Client().get("/join").content.decode()
    assert re.search(r'<option value="sv" selected>', swedish)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"full_name": ""}, "This field is required."),
        ({"phone": "12"}, "This is not a phone number we can send SMS to."),
        ({"phone": "070-174 06 50"}, "Someone already uses this phone number."),
        ({"password": "12345678"}, "Choose another password:"),
        ({"password": "lena"}, "This password is too short."),
        ({"phone": "", "email": ""}, "Give a phone number or an e-mail address to log in with."),
        ({"email": "not-an-address"}, "This is not an e-mail address."),
    ],
    ids=[
        "missing name",
        "malformed phone",
        "number already used",
        "only digits",
        "too short",
        "neither phone nor e-mail",
        "malformed e-mail",
    ],
)
def test_bad_input_is_shown_and_creates_nobody(greta, sms_provider, changes, message):
    before = User.objects.count()
    client = english()
    response = client.post("/join", joining(**changes))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert response.context["form"].errors
    assert User.objects.count() == before
    assert not signed_in(client)
    assert sms_provider.requests == []


def test_a_signed_in_visitor_is_sent_home(greta):
    client = signed_in_as(greta)
    for response in (client.get("/join"), client.post("/join", joining())):
        assert (response.status_code, response["Location"]) == (302, "/")
    assert not User.objects.filter(phone=LENA_PHONE).exists()


def test_joining_counts_as_a_sign_in_attempt(settings, sms_provider):
    throttles = settings.REST_FRAMEWORK
    settings.REST_FRAMEWORK = {
        **throttles,
        "DEFAULT_THROTTLE_RATES": {
            **throttles["DEFAULT_THROTTLE_RATES"],
            "login": "100/min",
            "login_identifier": "2/hour",
        },
    }
    for n in range(2):
        from_address(f"203.0.113.{n}").post("/join", joining(password="1"))
    response = from_address("203.0.113.9").post("/join", joining())
    assert response.status_code == 400
    assert "Too many sign-in attempts" in response.content.decode()
    assert not User.objects.filter(phone=LENA_PHONE).exists()


def test_a_wrong_code_is_refused_and_the_fifth_burns_the_code(unconfirmed, sms_provider):
    client = signed_in_as(unconfirmed)
    client.post("/profile/phone/code")
    code = texted_code(sms_provider)
    for attempt in range(1, LoginCode.MAX_ATTEMPTS + 1):
        response = client.post("/profile/phone", {"code": other_than(code)})
        assert response.status_code == 400
        assert "That code is not right" in response.content.decode()
        assert LoginCode.objects.get(user=unconfirmed).attempts == attempt
    assert LoginCode.objects.get(user=unconfirmed).used_at is not None
    assert client.post("/profile/phone", {"code": code}).status_code == 400
    unconfirmed.refresh_from_db()
    assert unconfirmed.phone_confirmed_at is None


def test_an_expired_code_says_ask_for_a_new_one(unconfirmed, sms_provider):
    client = signed_in_as(unconfirmed)
    client.post("/profile/phone/code")
    code = texted_code(sms_provider)
    LoginCode.objects.filter(user=unconfirmed).update(expires_at=timezone.now())
    response = client.post("/profile/phone", {"code": code})
    assert response.status_code == 400
    assert "This code no longer works" in response.content.decode()


def test_a_new_code_replaces_the_first(unconfirmed, sms_provider):
    client = signed_in_as(unconfirmed)
    response = client.post("/profile/phone/code")
    assert (response.status_code, response["Location"]) == (302, "/profile/phone")
    first = texted_code(sms_provider)
    response = client.post("/profile/phone/code")
    assert "A new code is on its way" in client.get(response["Location"]).content.decode()
    second = texted_code(sms_provider)
    assert len(sms_provider.accepted) == 2
    assert LoginCode.objects.filter(user=unconfirmed, used_at__isnull=True).count() == 1
    if first != second:
        assert client.post("/profile/phone", {"code": first}).status_code == 400
    assert client.post("/profile/phone", {"code": second}).status_code == 302
    unconfirmed.refresh_from_db()
    assert unconfirmed.phone_confirmed_at is not None


def test_send_a_new_code_is_a_post(unconfirmed, sms_provider):
    assert signed_in_as(unconfirmed).get("/profile/phone/code").status_code == 405
    assert sms_provider.requests == []


def test_an_sms_failure_on_joining_keeps_the_account_and_says_try_again(sms_provider):
    sms_provider.answer_next(503, times=1)
    client = english()
    response = client.post("/join", joining())
    assert (response.status_code, response["Location"]) == (302, "/profile/phone")
    assert User.objects.filter(phone=LENA_PHONE, phone_confirmed_at=None).exists()
    assert signed_in(client)
    page = client.get("/profile/phone").content.decode()
    assert "We could not send the SMS just now. Try again in a minute." in page
    assert not LoginCode.objects.exists()
    # The button sends one that arrives.
    client.post("/profile/phone/code")
    assert client.post("/profile/phone", {"code": texted_code(sms_provider)}).status_code == 302


def test_an_sms_failure_on_a_new_code_says_try_again(unconfirmed, sms_provider):
    sms_provider.answer_next(503, times=1)
    client = signed_in_as(unconfirmed)
    response = client.post("/profile/phone/code")
    assert (response.status_code, response["Location"]) == (302, "/profile/phone")
    assert "We could not send the SMS just now" in client.get("/profile/phone").content.decode()


def test_the_profile_asks_to_confirm_an_unconfirmed_number_only(unconfirmed, greta):
    page = signed_in_as(unconfirmed).get("/profile/").content.decode()
    assert "Your phone number is not confirmed yet" in page
    assert "we send no SMS to it but the code" in page
    assert 'href="/profile/phone"' in page
    page = signed_in_as(greta).get("/profile/").content.decode()
    assert "not confirmed" not in page
    assert 'href="/profile/phone"' not in page


def test_a_confirmed_number_has_nothing_to_confirm(greta, sms_provider):
    client = signed_in_as(greta)
    for response in (
        client.get("/profile/phone"),
        client.post("/profile/phone", {"code": "123456"}),
        client.post("/profile/phone/code"),
    ):
        assert (response.status_code, response["Location"]) == (302, "/profile/")
    assert "Your phone number is confirmed already." in client.get("/profile/").content.decode()
    assert sms_provider.requests == []


def test_the_confirm_page_needs_a_signed_in_person():
    for response in (english().get("/profile/phone"), english().post("/profile/phone/code")):
        assert response.status_code == 302
        assert response["Location"].startswith("/sign-in")


def test_the_sign_in_page_links_to_joining():
    page = english().get("/sign-in").content.decode()
    assert re.search(r'<a [^>]*href="/join"[^>]*>New to Samby\? Create an account</a>', page)


# --- Changing the number on the profile page ----------------------------------------------

PROFILE = {
    "preferred_language": "en",
    "contact_by_sms": "on",
    "email": "",
    "quiet_start": "22:00",
    "quiet_end": "07:00",
}


def test_a_new_number_on_the_profile_is_confirmed_with_a_code(greta, sms_provider):
    client = signed_in_as(greta)
    # The same number in another spelling is no change.
    response = client.post("/profile/", {**PROFILE, "phone": "070-174 06 50"})
    assert (response.status_code, response["Location"]) == (302, "/profile/")
    greta.refresh_from_db()
    assert greta.phone_confirmed_at is not None
    assert sms_provider.requests == []

    response = client.post("/profile/", {**PROFILE, "phone": "070-174 06 77"})
    assert (response.status_code, response["Location"]) == (302, "/profile/phone")
    greta.refresh_from_db()
    assert (greta.phone, greta.phone_confirmed_at) == (LENA_PHONE, None)
    response = client.post("/profile/phone", {"code": texted_code(sms_provider)})
    assert (response.status_code, response["Location"]) == (302, "/profile/")
    greta.refresh_from_db()
    assert greta.phone_confirmed_at is not None


@pytest.mark.parametrize(
    ("phone", "message"),
    [
        ("12345", "This is not a phone number we can send SMS to."),
        ("", "Keep a phone number or an e-mail address to log in with."),
        ("070-174 06 77", "Someone already uses this phone number."),
    ],
    ids=["malformed", "removed-without-e-mail", "confirmed-by-another"],
)
def test_a_number_the_profile_cannot_take_is_explained_and_nothing_changes(
    greta, sms_provider, phone, message
):
    UserFactory(phone=LENA_PHONE)
    response = signed_in_as(greta).post("/profile/", {**PROFILE, "phone": phone})
    assert response.status_code == 400
    assert message in response.content.decode()
    greta.refresh_from_db()
    assert (greta.phone, greta.phone_confirmed_at is not None) == ("+46701740650", True)
    assert sms_provider.requests == []

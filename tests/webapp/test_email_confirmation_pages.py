"""Confirming one's e-mail address on the web pages: the link e-mailed to it (through a
real SMTP server on loopback, so the real sending code runs), its page, and the profile's
notice with its button for a new link. Opening the link shows the page only (mail
scanners open links); its button confirms."""

import re
import time
from urllib.parse import urlsplit

import pytest
from django.core import signing
from django.urls import reverse

from backend.accounts.email_confirmation import SALT as EMAIL_LINK_SALT
from backend.accounts.email_confirmation import email_link_token, email_link_url
from backend.accounts.models import User
from backend.accounts.services import user_register
from tests.factories import UserFactory
from tests.fakes.smtp_server import free_port
from tests.webapp.test_auth_pages import english, signed_in
from tests.webapp.test_join_pages import PROFILE, joining, signed_in_as, texted_code

pytestmark = pytest.mark.django_db

SITE = "https://samby.example"
GRETA_EMAIL = "greta.lund@example.se"
NOTICE = "Your e-mail address is not confirmed yet"
SENT = "We e-mailed a link to {}. Open it to confirm that the address is yours."


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE


@pytest.fixture
def greta(db):
    """Greta joined with her number long ago and has no e-mail address in Samby."""
    return UserFactory(full_name="Greta Lund", phone="+46701740650", preferred_language="en")


@pytest.fixture
def lena(db):
    """Lena joined with her e-mail address and has not opened the link yet."""
    return user_register(
        full_name="Lena Lund",
        phone="",
        email="Lena.Lund@example.se",
        password="mossa-i-skogen-17",
        preferred_language="en",
    )


def link_path(smtp_server, to: str) -> str:
    """The path of the link in the last e-mail to `to`."""
    [*_, message] = [message for rcpt, message in smtp_server.messages if rcpt == [to]]
    assert message["Subject"] == "Samby: confirm your e-mail address"
    url = re.search(rf"{re.escape(SITE)}/email/\S+", message.get_content()).group(0)
    return urlsplit(url).path


def shown(page: str) -> list[str]:
    """The page's messages (what the last request said it did, or why not)."""
    return re.findall(r'<li class="message [a-z ]+">(.*?)</li>', page, re.S)


def confirmed(user: User) -> bool:
    return User.objects.get(pk=user.pk).email_confirmed_at is not None


def test_a_new_address_on_the_profile_is_confirmed_with_the_emailed_link(greta, smtp_server):
    client = signed_in_as(greta)
    response = client.post("/profile/", {**PROFILE, "email": GRETA_EMAIL})
    assert (response.status_code, response["Location"]) == (302, "/profile/")
    greta.refresh_from_db()
    assert (greta.email, greta.email_confirmed_at) == (GRETA_EMAIL, None)
    [(to, _message)] = smtp_server.messages
    assert to == [GRETA_EMAIL]
    profile = client.get("/profile/").content.decode()
    assert shown(profile) == ["Your choices are saved.", SENT.format(GRETA_EMAIL)]
    assert NOTICE in profile
    assert (
        f"We e-mailed a link to {GRETA_EMAIL}. Open it to confirm that the address is yours."
        " Until then we e-mail you nothing." in profile
    )
    assert 'action="/profile/email/link"' in profile

    # Opening the link (as a mail scanner does) shows the address and the button only.
    path = link_path(smtp_server, GRETA_EMAIL)
    for _ in range(2):
        page = client.get(path)
        assert page.status_code == 200
        text = page.content.decode()
        assert f"Is {GRETA_EMAIL} your e-mail address?" in text
        form = re.search(r'<form method="post">(.*?)</form>', text, re.S).group(1)
        assert 'name="csrfmiddlewaretoken"' in form
        assert re.search(r'<button type="submit" class="block">Confirm</button>', form)
        assert "no-store" in page["Cache-Control"]
    assert not confirmed(greta)

    response = client.post(path)
    assert (response.status_code, response["Location"]) == (302, path)
    assert confirmed(greta)
    page = client.get(path).content.decode()
    assert "Your e-mail address is confirmed" in page
    assert f"Samby may now e-mail you at {GRETA_EMAIL}." in page
    assert re.search(r'<a class="button" href="/">Back to the start page</a>', page)
    assert 'method="post">' not in page.split("<main")[1].split("<footer")[0]
    profile = client.get("/profile/").content.decode()
    assert NOTICE not in profile
    assert 'action="/profile/email/link"' not in profile
    # Pressing it again changes nothing.
    first = User.objects.get(pk=greta.pk).email_confirmed_at
    assert client.post(path).status_code == 302
    assert User.objects.get(pk=greta.pk).email_confirmed_at == first
    assert len(smtp_server.messages) == 1


def test_the_link_works_without_signing_in_and_signs_nobody_in(lena, smtp_server):
    signed_in_as(lena).post("/profile/email/link")
    path = link_path(smtp_server, "Lena.Lund@example.se")
    client = english()
    page = client.get(path)
    assert page.status_code == 200
    assert "Is Lena.Lund@example.se your e-mail address?" in page.content.decode()
    assert not confirmed(lena)
    response = client.post(path)
    assert (response.status_code, response["Location"]) == (302, path)
    assert confirmed(lena)
    assert not signed_in(client)
    page = client.get(path).content.decode()
    assert "Your e-mail address is confirmed" in page
    assert re.search(r'<a class="button" href="/sign-in">Sign in</a>', page)


def test_the_link_confirms_its_own_address_whoever_is_signed_in(lena, greta):
    path = reverse("webapp:email-confirm", args=[email_link_token(lena)])
    client = signed_in_as(greta)
    assert client.post(path).status_code == 302
    assert confirmed(lena)
    greta.refresh_from_db()
    assert (greta.email, greta.email_confirmed_at) == ("", None)
    assert client.session["_auth_user_id"] == str(greta.pk)


def _tampered(user: User) -> str:
    return email_link_token(user)[:-2] + "xx"


def _expired(user: User) -> str:
    signer = signing.TimestampSigner(salt=EMAIL_LINK_SALT)
    signer.timestamp = lambda: signing.b62_encode(int(time.time() - 30 * 86400))
    return signer.sign_object({"user": user.pk, "email": user.email.lower()})


def _stale(user: User) -> str:
    token = email_link_token(user)
    User.objects.filter(pk=user.pk).update(email="lena.new@example.se")
    return token


def _other_salt(user: User) -> str:
    return signing.dumps({"user": user.pk, "email": user.email.lower()}, salt="other")


NOT_WHOLE = "This link is not whole. Open it again from the e-mail, or ask for a new one."


@pytest.mark.parametrize(
    ("token", "message"),
    [
        (_tampered, NOT_WHOLE),
        (_other_salt, NOT_WHOLE),
        (_expired, "This link is too old. Ask for a new one on your profile page."),
        (_stale, "This link is for an address no longer in the account. Ask for a new one."),
        (lambda user: "x" * 5000, NOT_WHOLE),
        (lambda user: "åäö:ü:€", NOT_WHOLE),
        (lambda user: "a:b:c", NOT_WHOLE),
        (lambda user: ":", NOT_WHOLE),
        (lambda user: "\x00", NOT_WHOLE),
        (lambda user: "..", NOT_WHOLE),
    ],
    ids=[
        "tampered",
        "signed for something else",
        "expired",
        "address changed since",
        "very long",
        "unicode",
        "colons",
        "a colon only",
        "a nul byte",
        "dots",
    ],
)
@pytest.mark.parametrize("method", ["get", "post"])
def test_a_bad_link_says_why_and_changes_nothing(lena, smtp_server, token, message, method):
    path = reverse("webapp:email-confirm", args=[token(lena)])
    before = User.objects.filter(pk=lena.pk).values().get()
    response = getattr(english(), method)(path)
    assert response.status_code == 400
    text = response.content.decode()
    assert message in text
    assert "This link does not work" in text
    assert re.search(r'<a class="button" href="/profile/">Go to my profile</a>', text)
    assert "Confirm</button>" not in text
    assert User.objects.filter(pk=lena.pk).values().get() == before
    assert smtp_server.messages == []


@pytest.mark.parametrize("path", ["/email/a/b", "/email/", "/email//x"])
def test_a_link_with_slashes_finds_no_page(lena, path):
    for response in (english().get(path), english().post(path)):
        assert response.status_code == 404
    assert not confirmed(lena)


def test_the_link_page_is_a_get_or_a_post(lena):
    path = reverse("webapp:email-confirm", args=[email_link_token(lena)])
    assert english().put(path).status_code == 405
    assert not confirmed(lena)


def test_email_link_url_is_the_confirm_page(settings):
    token = email_link_token(UserFactory(email="per@example.se", email_confirmed_at=None))
    for site in (SITE, SITE + "/"):
        settings.SITE_URL = site
        assert email_link_url(token) == SITE + reverse("webapp:email-confirm", args=[token])


# --- The profile's button for a new link ------------------------------------------------


def test_send_a_new_link_emails_one_that_works(lena, smtp_server):
    client = signed_in_as(lena)
    response = client.post("/profile/email/link")
    assert (response.status_code, response["Location"]) == (302, "/profile/")
    assert shown(client.get("/profile/").content.decode()) == [SENT.format("Lena.Lund@example.se")]
    first = link_path(smtp_server, "Lena.Lund@example.se")
    client.post("/profile/email/link")
    second = link_path(smtp_server, "Lena.Lund@example.se")
    assert len(smtp_server.messages) == 2
    # Either link works; the first one opened confirms the address.
    assert client.post(first).status_code == 302
    assert confirmed(lena)
    assert client.get(second).status_code == 200


def test_too_many_links_are_refused_with_a_reason(lena, smtp_server, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "email_link": "2/hour",
        },
    }
    client = signed_in_as(lena)
    for _ in range(2):
        client.post("/profile/email/link")
    response = client.post("/profile/email/link")
    assert (response.status_code, response["Location"]) == (302, "/profile/")
    page = client.get("/profile/").content.decode()
    assert shown(page) == [
        SENT.format("Lena.Lund@example.se"),
        SENT.format("Lena.Lund@example.se"),
        "Too many links asked for. Look for the last one in your e-mail, or wait an hour.",
    ]
    assert NOTICE in page
    assert len(smtp_server.messages) == 2
    assert not confirmed(lena)


def test_a_confirmed_address_needs_no_new_link(smtp_server):
    ulla = UserFactory(email="ulla@example.se", preferred_language="en")
    assert ulla.email_confirmed_at is not None
    client = signed_in_as(ulla)
    assert NOTICE not in client.get("/profile/").content.decode()
    response = client.post("/profile/email/link")
    assert (response.status_code, response["Location"]) == (302, "/profile/")
    page = client.get("/profile/").content.decode()
    assert shown(page) == ["Your e-mail address is confirmed already."]
    assert '<li class="message info">' in page  # a note, not an error: nothing went wrong
    assert NOTICE not in page
    assert smtp_server.messages == []


def test_someone_without_an_address_is_told_to_add_one(greta, smtp_server):
    client = signed_in_as(greta)
    assert NOTICE not in client.get("/profile/").content.decode()
    client.post("/profile/email/link")
    assert shown(client.get("/profile/").content.decode()) == ["Add your e-mail address first."]
    assert smtp_server.messages == []


def test_send_a_new_link_is_a_post_for_a_signed_in_person(lena, smtp_server):
    assert signed_in_as(lena).get("/profile/email/link").status_code == 405
    response = english().post("/profile/email/link")
    assert response.status_code == 302
    assert response["Location"].startswith("/sign-in")
    assert smtp_server.messages == []


def test_a_mail_server_that_is_down_on_a_new_link_says_try_again(lena, smtp_server):
    smtp_server.stop()
    client = signed_in_as(lena)
    client.post("/profile/email/link")
    page = client.get("/profile/").content.decode()
    assert shown(page) == ["We could not send the e-mail just now. Try again in a minute."]
    assert NOTICE in page


# --- Saving the profile -------------------------------------------------------------------


def test_a_mail_server_that_is_down_keeps_the_new_address_and_says_try_again(
    greta, smtp_server, settings
):
    settings.EMAIL_PORT = free_port()  # nothing listens there
    client = signed_in_as(greta)
    response = client.post("/profile/", {**PROFILE, "email": GRETA_EMAIL})
    assert (response.status_code, response["Location"]) == (302, "/profile/")
    greta.refresh_from_db()
    assert (greta.email, greta.email_confirmed_at) == (GRETA_EMAIL, None)
    page = client.get("/profile/").content.decode()
    assert shown(page) == [
        "Your choices are saved.",
        "We could not send the e-mail just now. Try again in a minute.",
    ]
    assert NOTICE in page and "Send a new link" in page
    # The button sends one that arrives.
    settings.EMAIL_PORT = smtp_server.port
    client.post("/profile/email/link")
    assert client.post(link_path(smtp_server, GRETA_EMAIL)).status_code == 302
    assert confirmed(greta)


def test_a_new_number_and_address_get_a_code_and_a_link_and_the_number_comes_first(
    greta, smtp_server, sms_provider
):
    client = signed_in_as(greta)
    response = client.post("/profile/", {**PROFILE, "phone": "070-174 06 77", "email": GRETA_EMAIL})
    assert (response.status_code, response["Location"]) == (302, "/profile/phone")
    assert texted_code(sms_provider)
    assert link_path(smtp_server, GRETA_EMAIL)
    assert shown(client.get("/profile/phone").content.decode()) == [
        "Your choices are saved.",
        SENT.format(GRETA_EMAIL),
    ]


def test_the_same_address_spelt_otherwise_stays_confirmed_and_gets_no_link(smtp_server):
    ulla = UserFactory(email="ulla@example.se", preferred_language="en")
    client = signed_in_as(ulla)
    response = client.post("/profile/", {**PROFILE, "email": "Ulla@Example.se"})
    assert (response.status_code, response["Location"]) == (302, "/profile/")
    ulla.refresh_from_db()
    assert (ulla.email, ulla.email_confirmed_at is not None) == ("Ulla@Example.se", True)
    assert smtp_server.messages == []
    assert NOTICE not in client.get("/profile/").content.decode()


def test_saving_the_profile_without_changing_the_address_sends_nothing(lena, smtp_server):
    client = signed_in_as(lena)
    response = client.post("/profile/", {**PROFILE, "email": "Lena.Lund@example.se"})
    assert (response.status_code, response["Location"]) == (302, "/profile/")
    assert smtp_server.messages == []


def test_removing_the_address_sends_nothing(smtp_server):
    ulla = UserFactory(phone="+46701740651", email="ulla@example.se", preferred_language="en")
    client = signed_in_as(ulla)
    response = client.post("/profile/", {**PROFILE, "email": ""})
    assert (response.status_code, response["Location"]) == (302, "/profile/")
    ulla.refresh_from_db()
    assert ulla.email == ""
    assert smtp_server.messages == []


# --- Joining ------------------------------------------------------------------------------


def test_joining_with_an_address_emails_the_link(smtp_server, sms_provider):
    client = english()
    response = client.post("/join", joining(phone="", email="lena@example.se"))
    assert (response.status_code, response["Location"]) == (302, "/")
    lena = User.objects.get(email="lena@example.se")
    assert lena.email_confirmed_at is None
    home = client.get("/").content.decode()
    assert shown(home) == [
        "Welcome to Samby! Your account is ready.",
        SENT.format("lena@example.se"),
    ]
    assert sms_provider.requests == []
    path = link_path(smtp_server, "lena@example.se")
    assert NOTICE in client.get("/profile/").content.decode()
    assert client.post(path).status_code == 302
    assert confirmed(lena)
    assert NOTICE not in client.get("/profile/").content.decode()


def test_joining_with_a_number_and_an_address_texts_the_code_and_emails_the_link(
    smtp_server, sms_provider
):
    client = english()
    response = client.post("/join", joining(email="lena@example.se"))
    assert (response.status_code, response["Location"]) == (302, "/profile/phone")
    page = client.get("/profile/phone").content.decode()
    assert shown(page) == [
        "Welcome to Samby! Your account is ready.",
        SENT.format("lena@example.se"),
    ]
    assert texted_code(sms_provider)
    assert link_path(smtp_server, "lena@example.se")


def test_a_mail_server_that_is_down_on_joining_keeps_the_account(smtp_server):
    smtp_server.stop()
    client = english()
    response = client.post("/join", joining(phone="", email="lena@example.se"))
    assert (response.status_code, response["Location"]) == (302, "/")
    assert User.objects.filter(email="lena@example.se", email_confirmed_at=None).exists()
    assert signed_in(client)
    assert shown(client.get("/").content.decode()) == [
        "Welcome to Samby! Your account is ready.",
        "We could not send the e-mail just now. Try again in a minute.",
    ]
    assert "Send a new link" in client.get("/profile/").content.decode()

"""Two people joining on the web pages with one e-mail address (one of them mistyped it):
both may, the first to open the link e-mailed to them (through a real SMTP server on
loopback) owns it, and from then on the other's link, a new link and a third person
joining with it are refused with a reason. Each signs in with their own password; a
sign-in link goes to the owner only."""

import re
from urllib.parse import urlsplit

import pytest
from django.core.cache import cache

from backend.accounts.models import User
from tests.factories import UserFactory
from tests.webapp.test_auth_pages import english, signed_in
from tests.webapp.test_join_pages import joining

pytestmark = pytest.mark.django_db

SITE = "https://samby.example"
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
    settings.SITE_URL = SITE


def join(name: str, email: str, password: str):
    """Join as `name` with an e-mail address only; the signed-in client."""
    client = english()
    response = client.post(
        "/join", joining(full_name=name, phone="", email=email, password=password)
    )
    assert (response.status_code, response["Location"]) == (302, "/"), response.content
    assert messages_on(client.get("/").content.decode()) == [
        "Welcome to Samby! Your account is ready.",
        f"We e-mailed a link to {email}. Open it to confirm that the address is yours.",
    ]
    return client


def confirm_path(smtp_server, index: int) -> str:
    _to, message = smtp_server.messages[index]
    url = re.search(rf"{re.escape(SITE)}/email/\S+", message.get_content()).group(0)
    return urlsplit(url).path


def messages_on(page: str) -> list[str]:
    return re.findall(r'<li class="message [a-z ]+">(.*?)</li>', page, re.S)


@pytest.fixture
def joined(smtp_server):
    """Anna (who mistyped Bo's address) and then Bo joined with it; each got a link."""
    anna_client = join("Anna Eriksson", ADDRESS, ANNA_PASSWORD)
    bo_client = join("Bo Nilsson", ADDRESS.upper(), BO_PASSWORD)
    anna = User.objects.get(full_name="Anna Eriksson")
    bo = User.objects.get(full_name="Bo Nilsson")
    assert [to for to, _message in smtp_server.messages] == [[ADDRESS], [ADDRESS.upper()]]
    return anna, anna_client, bo, bo_client


def test_two_people_join_with_one_address_and_the_first_to_confirm_owns_it(joined, smtp_server):
    anna, anna_client, bo, _bo_client = joined
    assert (anna.email_confirmed_at, bo.email_confirmed_at) == (None, None)
    annas_link, bos_link = confirm_path(smtp_server, 0), confirm_path(smtp_server, 1)

    opened = english()
    assert opened.post(bos_link).status_code == 302
    assert User.objects.get(pk=bo.pk).email_confirmed_at is not None

    # Anna's link says why it no longer works, on opening and on pressing; nothing changes.
    before = User.objects.filter(pk=anna.pk).values().get()
    for method in ("get", "post"):
        response = getattr(english(), method)(annas_link)
        assert response.status_code == 400
        text = response.content.decode()
        assert TAKEN in text
        assert "This link does not work" in text
        assert "Confirm</button>" not in text
    assert User.objects.filter(pk=anna.pk).values().get() == before

    # A new link is refused, and nothing is e-mailed.
    response = anna_client.post("/profile/email/link")
    assert (response.status_code, response["Location"]) == (302, "/profile/")
    assert messages_on(anna_client.get("/profile/").content.decode()) == [TAKEN]
    assert len(smtp_server.messages) == 2
    assert User.objects.filter(pk=anna.pk).values().get() == before


def test_once_confirmed_nobody_else_joins_with_the_address(joined, smtp_server):
    _anna, _anna_client, _bo, _bo_client = joined
    english().post(confirm_path(smtp_server, 1))
    users = User.objects.count()

    client = english()
    response = client.post(
        "/join",
        joining(full_name="Cecilia Berg", phone="", email="Bo.Nilsson@Example.se"),
    )
    assert response.status_code == 400
    text = response.content.decode()
    assert "Someone already uses this e-mail address. Log in instead." in text
    assert response.context["form"].errors["email"] == ["Already in use."]
    assert User.objects.count() == users
    assert not signed_in(client)
    assert len(smtp_server.messages) == 2


def test_each_signs_in_with_the_address_and_their_own_password(joined, smtp_server):
    anna, _anna_client, bo, _bo_client = joined
    english().post(confirm_path(smtp_server, 1))
    for password, person in [(ANNA_PASSWORD, anna), (BO_PASSWORD, bo)]:
        client = english()
        response = client.post("/sign-in", {"identifier": ADDRESS, "password": password})
        assert (response.status_code, response["Location"]) == (302, "/")
        assert client.session["_auth_user_id"] == str(person.pk)


def test_a_sign_in_link_goes_to_the_owner_only(joined, smtp_server):
    _anna, _anna_client, bo, _bo_client = joined
    asked = english().post("/sign-in/email", {"email": ADDRESS})
    assert asked.status_code == 200
    assert len(smtp_server.messages) == 2  # nobody has confirmed it yet: no link

    english().post(confirm_path(smtp_server, 1))
    english().post("/sign-in/email", {"email": ADDRESS})
    to, message = smtp_server.messages[-1]
    assert to == [ADDRESS.upper()]
    link = re.search(rf"{re.escape(SITE)}(/sign-in/email/\S+)", message.get_content()).group(1)
    client = english()
    assert client.post(link).status_code == 302
    assert client.session["_auth_user_id"] == str(bo.pk)


def test_the_profile_of_the_one_who_lost_the_address_says_to_change_it(joined, smtp_server):
    _anna, anna_client, _bo, bo_client = joined
    page = anna_client.get("/profile/").content.decode()
    assert "data-email-unconfirmed" in page and "data-email-taken" not in page

    english().post(confirm_path(smtp_server, 1))  # Bo's link

    page = anna_client.get("/profile/").content.decode()
    assert "data-email-taken" in page
    assert f"Someone else has shown that {ADDRESS} is theirs." in page
    assert "Send a new link" not in page
    assert "data-email-taken" not in bo_client.get("/profile/").content.decode()


def test_the_profile_of_one_whose_number_another_confirmed_says_to_change_it():
    UserFactory(phone="+46701234567")  # confirmed it
    typed = UserFactory(phone="+46701234567", phone_confirmed_at=None)
    client = english()
    client.force_login(typed)
    page = client.get("/profile/").content.decode()
    assert "data-phone-taken" in page and "data-phone-unconfirmed" not in page
    assert "Someone else has shown that +46701234567 is theirs." in page

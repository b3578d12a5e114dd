"""An e-mail address typed by several logins (mistyped, or someone else's): it keeps
nobody out until one of them opens the link e-mailed to it; from then on it is that
login's, as a confirmed phone number is. Mail goes through a real SMTP server on
loopback."""

import re
import threading

import pytest
from django.contrib.auth import authenticate
from django.core.cache import cache
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlsafe_base64_decode

from backend.accounts.email_confirmation import (
    email_confirm,
    email_confirmation_send,
    email_link_read,
    email_link_token,
)
from backend.accounts.email_sign_in import sign_in_link_send
from backend.accounts.models import User
from backend.accounts.selectors import (
    UNCONFIRMED_LOGINS_TRIED,
    email_confirmed_by_another,
    logins_for_password,
    user_find_login,
)
from backend.accounts.services import user_register, user_update_profile
from backend.errors import ApplicationError, ErrorKind
from tests.admin_forms import FormFields
from tests.factories import ManagedProfileFactory, UserFactory

pytestmark = pytest.mark.django_db

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
    settings.LANGUAGE_CODE = "en"


def register(name: str, email: str, password: str) -> User:
    return user_register(
        full_name=name, phone="", email=email, password=password, preferred_language="en"
    )


@pytest.fixture
def anna():
    """Anna typed Bo's address by mistake, and joined first."""
    return register("Anna Eriksson", "bo.nilsson@example.se", ANNA_PASSWORD)


@pytest.fixture
def bo(anna):
    """Bo, whose address it is, joins after her with it."""
    return register("Bo Nilsson", "Bo.Nilsson@example.se", BO_PASSWORD)


def refused(call) -> ApplicationError:
    with pytest.raises(ApplicationError) as raised:
        call()
    return raised.value


def confirmed(user: User) -> bool:
    return User.objects.get(pk=user.pk).email_confirmed_at is not None


def test_an_unconfirmed_address_keeps_nobody_out(anna, bo):
    assert User.objects.filter(email__iexact="bo.nilsson@example.se").count() == 2
    assert not confirmed(anna) and not confirmed(bo)
    assert user_find_login(identifier="bo.nilsson@example.se") is None
    assert not email_confirmed_by_another(email="bo.nilsson@example.se")
    # A third may still type it, on joining or in their profile.
    register("Cecilia Berg", "BO.NILSSON@example.se", "kantareller i mossan 3")
    cecilia = UserFactory(full_name="Cecilia", email="cecilia@example.se")
    user_update_profile(user=cecilia, changes={"email": "bo.nilsson@EXAMPLE.se"})
    assert User.objects.filter(email__iexact="bo.nilsson@example.se").count() == 4


def test_whoever_confirms_first_owns_the_address(anna, bo, smtp_server):
    email_confirmation_send(user=anna)
    email_confirmation_send(user=bo)
    annas_token, bos_token = email_link_token(anna), email_link_token(bo)
    assert [to for to, _message in smtp_server.messages] == [
        ["bo.nilsson@example.se"],
        ["Bo.Nilsson@example.se"],
    ]

    assert email_confirm(token=bos_token).pk == bo.pk
    assert confirmed(bo)
    assert user_find_login(identifier=" BO.nilsson@example.se ") == bo
    assert email_confirmed_by_another(email="bo.nilsson@example.se", exclude_id=anna.pk)
    assert not email_confirmed_by_another(email="bo.nilsson@example.se", exclude_id=bo.pk)

    # Anna's link, sent before, no longer confirms it: her page says so before she presses.
    before = User.objects.filter(pk=anna.pk).values().get()
    for call in (lambda: email_link_read(annas_token), lambda: email_confirm(token=annas_token)):
        error = refused(call)
        assert (error.code, error.kind, str(error.message)) == (
            "email_taken",
            ErrorKind.CONFLICT,
            TAKEN,
        )
        assert error.fields == {"email": ["Already in use."]}
    # She keeps the address, unconfirmed, and is sent no new link.
    assert User.objects.filter(pk=anna.pk).values().get() == before
    assert refused(lambda: email_confirmation_send(user=anna)).code == "email_taken"
    assert len(smtp_server.messages) == 2
    # Bo's own link still says his address is confirmed.
    assert email_confirm(token=bos_token).pk == bo.pk


def test_a_confirmed_address_keeps_others_out(anna, bo):
    email_confirm(token=email_link_token(bo))

    error = refused(lambda: register("Cecilia Berg", "BO.NILSSON@example.se", ANNA_PASSWORD))
    assert (error.code, error.kind) == ("email_taken", ErrorKind.CONFLICT)
    assert str(error.message) == "Someone already uses this e-mail address. Log in instead."
    assert not User.objects.filter(full_name="Cecilia Berg").exists()

    cecilia = UserFactory(email="cecilia@example.se")
    error = refused(
        lambda: user_update_profile(user=cecilia, changes={"email": "bo.nilsson@example.se"})
    )
    assert error.code == "email_taken"
    assert User.objects.get(pk=cecilia.pk).email == "cecilia@example.se"


def test_the_holder_left_unconfirmed_may_change_everything_else(anna, bo):
    """Anna's profile still has Bo's address until she corrects it; that must not stop
    her changing her name or language (nor a number someone else confirmed since)."""
    email_confirm(token=email_link_token(bo))
    user_update_profile(user=anna, changes={"full_name": "Anna E", "preferred_language": "sv"})
    # Spelt otherwise, it is the same address: still hers, still unconfirmed.
    user_update_profile(user=anna, changes={"email": "BO.NILSSON@example.se"})
    anna.refresh_from_db()
    assert (anna.full_name, anna.email, anna.email_confirmed_at) == (
        "Anna E",
        "BO.NILSSON@example.se",
        None,
    )
    # Her own address, once she corrects it, is hers to confirm.
    user_update_profile(user=anna, changes={"email": "anna@example.se"})
    email_confirm(token=email_link_token(anna))
    assert confirmed(anna)


def test_the_holder_of_a_number_someone_else_confirmed_may_change_everything_else():
    anna = user_register(full_name="Anna Eriksson", phone="070-174 06 99", password=ANNA_PASSWORD)
    UserFactory(phone="+46701740699")  # Bo, who confirmed it
    user_update_profile(user=anna, changes={"full_name": "Anna E", "phone": "0701740699"})
    anna.refresh_from_db()
    assert (anna.full_name, anna.phone, anna.phone_confirmed_at) == ("Anna E", "+46701740699", None)


def test_each_holder_of_an_address_signs_in_with_their_own_password(anna, bo):
    assert authenticate(username="bo.nilsson@example.se", password=ANNA_PASSWORD) == anna
    assert authenticate(username="bo.nilsson@example.se", password=BO_PASSWORD) == bo
    email_confirm(token=email_link_token(bo))
    # The confirmed login is tried first, then the others, oldest first.
    assert logins_for_password(identifier="BO.NILSSON@example.se") == [bo, anna]
    assert authenticate(username=" Bo.Nilsson@example.se ", password=BO_PASSWORD) == bo
    assert authenticate(username="bo.nilsson@example.se", password=ANNA_PASSWORD) == anna
    assert authenticate(username="bo.nilsson@example.se", password="fel lösenord 123") is None


def test_password_sign_in_tries_a_bounded_number_of_unconfirmed_holders_of_an_address():
    owner = UserFactory(phone="", email="per@example.se", password="ägarens lösenord 1")
    holders = [
        UserFactory(
            phone="",
            email="Per@Example.se",
            email_confirmed_at=None,
            password=f"lösenord nummer {n}",
            date_joined=timezone.now() - timezone.timedelta(days=10 - n),
        )
        for n in range(UNCONFIRMED_LOGINS_TRIED + 1)
    ]
    ManagedProfileFactory(email="per@example.se")  # has no login: never tried
    assert logins_for_password(identifier="per@example.se") == [owner, *holders[:-1]]
    assert authenticate(username="per@example.se", password="ägarens lösenord 1") == owner
    for n, holder in enumerate(holders[:-1]):
        assert authenticate(username="per@example.se", password=f"lösenord nummer {n}") == holder
    # The newest beyond the bound signs in with its number or a corrected address instead.
    last = UNCONFIRMED_LOGINS_TRIED
    assert authenticate(username="per@example.se", password=f"lösenord nummer {last}") is None


def test_a_sign_in_link_goes_only_to_the_login_that_confirmed_the_address(anna, bo, smtp_server):
    sign_in_link_send(email="bo.nilsson@example.se")
    assert smtp_server.messages == []  # nobody has shown it is theirs yet

    email_confirm(token=email_link_token(bo))
    sign_in_link_send(email="BO.NILSSON@example.se")
    [(to, message)] = smtp_server.messages
    assert to == ["Bo.Nilsson@example.se"]
    assert "Hello Bo," in message.get_content()
    uid = re.search(r"https://samby\.example/sign-in/email/([^/\s]+)/", message.get_content())
    assert int(urlsafe_base64_decode(uid.group(1))) == bo.pk  # a link into Bo's account
    # An inactive owner gets no link either.
    User.objects.filter(pk=bo.pk).update(is_active=False)
    sign_in_link_send(email="bo.nilsson@example.se")
    assert len(smtp_server.messages) == 1


@pytest.mark.django_db(transaction=True)
def test_two_people_confirming_one_address_at_once_leave_one_owner():
    people = [
        register(f"Person {n}", f"{'DELAD' if n else 'delad'}@example.se", ANNA_PASSWORD)
        for n in range(2)
    ]
    tokens = [email_link_token(person) for person in people]
    barrier, outcomes = threading.Barrier(2), []

    def confirm(token: str) -> None:
        try:
            barrier.wait()
            email_confirm(token=token)
            outcomes.append("confirmed")
        except ApplicationError as error:
            outcomes.append(error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=confirm, args=(token,)) for token in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert sorted(outcomes) == ["confirmed", "email_taken"]
    assert User.objects.filter(email_confirmed_at__isnull=False).count() == 1
    assert User.objects.filter(email__iexact="delad@example.se").count() == 2


# --- Staff in the admin ---------------------------------------------------------------------


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def _admin_form(client, url: str, **changes) -> dict:
    fields = FormFields()
    fields.feed(client.get(url).content.decode())
    return {**fields.data, **{name: [value] for name, value in changes.items()}}


def test_staff_may_type_an_address_someone_typed_without_confirming(staff_client, anna):
    lena = UserFactory(full_name="Lena Eriksson")
    url = reverse("admin:accounts_user_change", args=[lena.pk])
    response = staff_client.post(url, _admin_form(staff_client, url, email=anna.email))
    assert response.status_code == 302
    assert confirmed(lena)  # staff vouched for it; Anna keeps hers, unconfirmed
    assert not confirmed(anna)


def test_staff_typing_an_address_someone_else_confirmed_are_told_so(staff_client, bo):
    email_confirm(token=email_link_token(bo))
    lena = UserFactory(full_name="Lena Eriksson")
    url = reverse("admin:accounts_user_change", args=[lena.pk])
    before = User.objects.filter(pk=lena.pk).values().get()
    staff_client.raise_request_exception = False
    response = staff_client.post(url, _admin_form(staff_client, url, email="BO.nilsson@example.se"))
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()
    assert User.objects.filter(pk=lena.pk).values().get() == before

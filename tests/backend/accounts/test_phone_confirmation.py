"""Confirming a phone number: what counts as confirmed, and the numbers in use before
confirmation existed."""

import importlib
import threading

import pytest
from django.apps import apps
from django.contrib.auth import authenticate
from django.db import connection
from django.utils import timezone

from backend.accounts.login_codes import (
    login_code_send,
    login_code_verify,
    phone_confirm,
    phone_confirmation_send,
)
from backend.accounts.models import LoginCode, User
from backend.accounts.selectors import UNCONFIRMED_LOGINS_TRIED, user_find_login
from backend.accounts.services import user_phone_confirmed, user_register
from backend.errors import ApplicationError, ErrorKind
from tests.factories import PASSWORD, ManagedProfileFactory, UserFactory, code_texted

pytestmark = pytest.mark.django_db


MIGRATION = importlib.import_module("backend.accounts.migrations.0007_user_phone_confirmed_at")


def test_numbers_in_use_before_confirmation_existed_count_as_confirmed_when_they_joined():
    joined = timezone.now() - timezone.timedelta(days=400)
    anna = UserFactory(phone="+46701740620", phone_confirmed_at=None, date_joined=joined)
    by_email = UserFactory(phone="", email="bo@example.se")
    greta = ManagedProfileFactory(phone="+46251123456")

    MIGRATION.numbers_in_use_count_as_confirmed(apps, None)

    assert User.objects.get(pk=anna.pk).phone_confirmed_at == joined
    assert User.objects.get(pk=by_email.pk).phone_confirmed_at is None
    assert User.objects.get(pk=greta.pk).phone_confirmed_at is None


def test_a_new_registration_is_unconfirmed_and_confirming_twice_keeps_the_first_time():
    lena = user_register(full_name="Lena Eriksson", phone="0701740699", password=PASSWORD)
    assert lena.phone_confirmed_at is None
    first = timezone.now() - timezone.timedelta(minutes=5)
    user_phone_confirmed(user=lena, now=first)
    user_phone_confirmed(user=lena)
    assert User.objects.get(pk=lena.pk).phone_confirmed_at == first


def test_a_managed_profile_or_a_login_without_a_number_is_never_confirmed():
    greta = ManagedProfileFactory(phone="+46251123456")
    bo = UserFactory(phone="", email="bo@example.se")
    user_phone_confirmed(user=greta)
    user_phone_confirmed(user=bo)
    assert User.objects.get(pk=greta.pk).phone_confirmed_at is None
    assert User.objects.get(pk=bo.pk).phone_confirmed_at is None


def test_no_sign_in_code_goes_to_a_number_not_confirmed_as_the_logins_own(sms_provider):
    """Anna mistyped Bo's number: Bo must not be able to sign in to her account."""
    anna = user_register(full_name="Anna Eriksson", phone="0701740699", password=PASSWORD)
    login_code_send(phone="070-174 06 99")
    assert sms_provider.requests == []
    assert not LoginCode.objects.filter(user=anna).exists()
    # Even a code made for her some other way does not sign anyone in with the number.
    code_texted(anna)
    with pytest.raises(ApplicationError) as error:
        login_code_verify(phone="070-174 06 99", code="123456")
    assert error.value.code == "login_code_wrong"

    # Once she confirms the number (signed in with her password), codes work.
    phone_confirm(user=anna, code="123456")
    login_code_send(phone="070-174 06 99")
    assert [r.form["to"] for r in sms_provider.accepted] == ["+46701740699"]


# --- A number typed by someone who is not its owner ---------------------------------------


def test_a_mistyped_number_does_not_keep_its_owner_out():
    """Anna typed Bo's number by mistake. Bo can still join with it; whoever confirms it
    owns it; Anna is told to check her number, and no SMS goes to Bo for her."""
    anna = user_register(full_name="Anna Eriksson", phone="070-174 06 99", password=PASSWORD)
    bo = user_register(full_name="Bo Nilsson", phone="0701740699", password="bo sitt lösenord 7")
    assert User.objects.filter(phone="+46701740699").count() == 2

    code_texted(bo)
    phone_confirm(user=bo, code="123456")
    assert User.objects.get(pk=bo.pk).phone_confirmed_at is not None

    code_texted(anna)
    with pytest.raises(ApplicationError) as refused:
        phone_confirm(user=anna, code="123456")
    assert (refused.value.code, refused.value.kind) == ("phone_taken", ErrorKind.CONFLICT)
    assert User.objects.get(pk=anna.pk).phone_confirmed_at is None
    # Now the number is Bo's: a third person cannot register with it.
    with pytest.raises(ApplicationError) as refused:
        user_register(full_name="Cecilia", phone="0701740699", password=PASSWORD)
    assert refused.value.code == "phone_taken"


def test_no_confirmation_code_goes_to_a_number_someone_else_confirmed(sms_provider):
    anna = user_register(full_name="Anna Eriksson", phone="070-174 06 99", password=PASSWORD)
    UserFactory(phone="+46701740699")  # Bo, who confirmed it later
    with pytest.raises(ApplicationError) as refused:
        phone_confirmation_send(user=anna)
    assert refused.value.code == "phone_taken"
    assert sms_provider.requests == []


def test_each_holder_of_a_number_signs_in_with_their_own_password():
    anna = user_register(full_name="Anna Eriksson", phone="070-174 06 99", password=PASSWORD)
    bo = UserFactory(phone="+46701740699", password="bo sitt lösenord 7")
    assert authenticate(username="070-174 06 99", password="bo sitt lösenord 7") == bo
    assert authenticate(username="+46701740699", password=PASSWORD) == anna
    assert authenticate(username="+46701740699", password="fel lösenord 123") is None
    # Sign-in codes and requests to help go to the one who confirmed it only.
    assert user_find_login(identifier="070-174 06 99") == bo


@pytest.mark.django_db(transaction=True)
def test_two_people_confirming_one_number_at_once_leave_one_owner():
    people = [
        user_register(full_name=f"Person {n}", phone="0701740699", password=PASSWORD)
        for n in range(2)
    ]
    for person in people:
        code_texted(person)
    barrier, outcomes = threading.Barrier(2), []

    def confirm(person: User) -> None:
        try:
            barrier.wait()
            phone_confirm(user=person, code="123456")
            outcomes.append("confirmed")
        except ApplicationError as error:
            outcomes.append(error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=confirm, args=(p,)) for p in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert sorted(outcomes) == ["confirmed", "phone_taken"]
    assert User.objects.filter(phone_confirmed_at__isnull=False).count() == 1


def test_password_sign_in_tries_a_bounded_number_of_unconfirmed_holders():
    holders = [
        UserFactory(
            phone="+46701740699",
            phone_confirmed_at=None,
            password=f"lösenord nummer {n}",
            date_joined=timezone.now() - timezone.timedelta(days=10 - n),
        )
        for n in range(UNCONFIRMED_LOGINS_TRIED + 1)
    ]
    for n, holder in enumerate(holders[:-1]):
        assert authenticate(username="0701740699", password=f"lösenord nummer {n}") == holder
    # The newest beyond the bound signs in with its e-mail instead.
    last = UNCONFIRMED_LOGINS_TRIED
    assert authenticate(username="0701740699", password=f"lösenord nummer {last}") is None

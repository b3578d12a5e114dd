"""Confirming a phone number: what counts as confirmed, and the numbers in use before
confirmation existed."""

import importlib

import pytest
from django.apps import apps
from django.utils import timezone

from backend.accounts.login_codes import _hash, login_code_send, login_code_verify, phone_confirm
from backend.accounts.models import LoginCode, User
from backend.accounts.services import user_phone_confirmed, user_register
from backend.errors import ApplicationError
from tests.factories import PASSWORD, ManagedProfileFactory, UserFactory

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
    now = timezone.now()
    LoginCode.objects.create(
        user=anna,
        code_hash=_hash(anna.pk, "123456"),
        created_at=now,
        expires_at=now + timezone.timedelta(minutes=10),
    )
    with pytest.raises(ApplicationError) as error:
        login_code_verify(phone="070-174 06 99", code="123456")
    assert error.value.code == "login_code_wrong"

    # Once she confirms the number (signed in with her password), codes work.
    phone_confirm(user=anna, code="123456")
    login_code_send(phone="070-174 06 99")
    assert [r.form["to"] for r in sms_provider.accepted] == ["+46701740699"]

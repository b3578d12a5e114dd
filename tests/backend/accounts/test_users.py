import pytest
from django.contrib.auth import authenticate
from django.db import IntegrityError, transaction
from django.test import Client

from backend.accounts.auth import PhoneOrEmailBackend
from backend.accounts.models import User
from tests.factories import PASSWORD, ManagedProfileFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_user_model_is_ours_and_logs_in_by_phone(django_user_model):
    assert django_user_model is User
    assert User.USERNAME_FIELD == "phone"


def test_create_superuser_makes_staff_who_can_log_in():
    admin = User.objects.create_superuser(
        "+46701740699", "a long admin password", full_name="Admin"
    )
    assert admin.is_staff and admin.is_superuser
    assert authenticate(username="+46701740699", password="a long admin password") == admin


@pytest.mark.parametrize(
    "identifier",
    ["+46701740650", "070-174 06 50", "0701740650", "+46 70 174 06 50", "ANNA@Example.se"],
    ids=[
        "e164",
        "national-with-dashes",
        "national-digits",
        "international-spaced",
        "email-any-case",
    ],
)
def test_login_accepts_phone_in_any_spelling_and_email(identifier):
    anna = UserFactory(phone="+46701740650", email="anna@example.se")
    assert authenticate(username=identifier, password=PASSWORD) == anna


@pytest.mark.parametrize(
    ("identifier", "password"),
    [
        ("+46701740650", "wrong"),
        ("+46701740651", PASSWORD),
        ("not a phone", PASSWORD),
        ("", PASSWORD),
    ],
    ids=["wrong-password", "unknown-number", "garbage", "empty"],
)
def test_login_refuses(identifier, password):
    UserFactory(phone="+46701740650")
    assert authenticate(username=identifier, password=password) is None


def test_inactive_person_cannot_log_in():
    UserFactory(phone="+46701740650", is_active=False)
    assert authenticate(username="+46701740650", password=PASSWORD) is None


def test_managed_profile_cannot_log_in_even_with_a_phone():
    ManagedProfileFactory(phone="+46701740650")
    assert authenticate(username="+46701740650", password="") is None
    assert authenticate(username="+46701740650", password="!managed") is None


def test_database_refuses_a_second_login_confirming_the_same_phone():
    UserFactory(phone="+46701740650")
    with pytest.raises(IntegrityError, match="user_phone_confirmed_once"), transaction.atomic():
        UserFactory(phone="+46701740650")
    # Typing it without confirming is allowed: it may be mistyped, or someone else's.
    UserFactory(phone="+46701740650", phone_confirmed_at=None)
    UserFactory(phone="+46701740650", phone_confirmed_at=None)
    assert User.objects.filter(phone="+46701740650").count() == 3


def test_database_refuses_a_second_login_confirming_the_same_email_in_other_case():
    UserFactory(email="anna@example.se")
    with pytest.raises(IntegrityError, match="user_email_confirmed_once"), transaction.atomic():
        UserFactory(email="Anna@Example.SE")
    # Typing it without confirming is allowed: it may be mistyped, or someone else's.
    UserFactory(email="Anna@Example.SE", email_confirmed_at=None)
    UserFactory(email="anna@example.se", email_confirmed_at=None)
    # So is a managed profile's, which confirms nothing.
    ManagedProfileFactory(email="anna@example.se")
    assert User.objects.filter(email__iexact="anna@example.se").count() == 4


def test_managed_profiles_may_share_a_landline_with_each_other_and_a_login():
    UserFactory(phone="+46281123456")
    ManagedProfileFactory(phone="+46281123456")
    ManagedProfileFactory(phone="+46281123456")
    assert User.objects.filter(phone="+46281123456").count() == 3


def test_database_refuses_a_managed_profile_with_a_password():
    person = ManagedProfileFactory()
    person.set_password("a password")
    with (
        pytest.raises(IntegrityError, match="managed_profile_has_no_password"),
        transaction.atomic(),
    ):
        person.save()


def test_database_refuses_a_phone_not_in_e164():
    with pytest.raises(IntegrityError, match="user_phone_is_e164"), transaction.atomic():
        UserFactory(phone="070-1234567")


def test_database_refuses_a_login_without_phone_or_email():
    with pytest.raises(IntegrityError, match="login_has_phone_or_email"), transaction.atomic():
        UserFactory(phone="", email="")


def test_a_signed_in_session_loads_its_active_person_and_no_one_else():
    """The backend's get_user (a written-out statement): the whole person for an active
    id, nothing for a deactivated one or an id that is gone; a session of a person
    deactivated since is signed out."""
    backend = PhoneOrEmailBackend()
    person = UserFactory(full_name="Anna Eriksson", preferred_language="en")
    loaded = backend.get_user(person.pk)
    assert loaded == person
    assert (loaded.full_name, loaded.phone, loaded.preferred_language) == (
        "Anna Eriksson",
        person.phone,
        "en",
    )
    assert backend.get_user(person.pk + 10_000) is None

    client = Client()
    client.force_login(person)
    assert client.get("/").status_code == 200
    User.objects.filter(pk=person.pk).update(is_active=False)
    assert backend.get_user(person.pk) is None
    response = client.get("/")
    assert response.status_code == 302 and "/sign-in" in response["Location"]

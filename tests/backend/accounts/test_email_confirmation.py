"""Confirming an e-mail address with a link e-mailed to it, through a real SMTP server on
loopback; until then no notification is e-mailed to the address."""

import re
import time

import pytest
from django.core import signing
from django.core.cache import cache
from django.db import IntegrityError
from django.urls import reverse
from django.utils import timezone

from backend.accounts.email_confirmation import SALT as EMAIL_LINK_SALT
from backend.accounts.email_confirmation import (
    email_confirm,
    email_confirmation_send,
    email_link_token,
)
from backend.accounts.models import User
from backend.accounts.services import user_register, user_update_profile
from backend.errors import ApplicationError
from backend.notifications.models import Delivery, DeliveryStatus
from backend.notifications.services import notify
from backend.privacy.erase import person_anonymise
from backend.privacy.export import person_export
from tests.admin_forms import admin_post
from tests.factories import ManagedProfileFactory, UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "blåbärsskog vid älven"


@pytest.fixture
def anna(settings):
    cache.clear()
    settings.SITE_URL = "https://samby.example"
    return user_register(
        full_name="Anna Eriksson", phone="", email="Anna@Example.se", password=PASSWORD
    )


def link_in(message) -> str:
    return re.search(r"https://samby\.example/email/(\S+)", message.get_content()).group(1)


def error_code(call) -> str:
    with pytest.raises(ApplicationError) as raised:
        call()
    return raised.value.code


def test_a_new_address_is_unconfirmed_until_the_emailed_link_is_opened(anna, smtp_server):
    assert anna.email_unconfirmed

    email_confirmation_send(user=anna)

    [(to, message)] = smtp_server.messages
    assert to == ["Anna@Example.se"]
    assert "Anna@Example.se" in message.get_content()
    assert message["Subject"] == "Samby: bekräfta din e-postadress"  # in her language
    confirmed = email_confirm(token=link_in(message))
    assert confirmed.pk == anna.pk
    assert User.objects.get(pk=anna.pk).email_confirmed_at is not None
    # Opening it again changes nothing; asking for another is refused with a reason.
    first = User.objects.get(pk=anna.pk).email_confirmed_at
    email_confirm(token=link_in(message))
    assert User.objects.get(pk=anna.pk).email_confirmed_at == first
    assert error_code(lambda: email_confirmation_send(user=confirmed)) == "email_already_confirmed"


def test_no_notification_is_emailed_to_an_unconfirmed_address(
    anna, smtp_server, django_capture_on_commit_callbacks
):
    User.objects.filter(pk=anna.pk).update(contact_by_email=True)
    anna.refresh_from_db()
    text = {"association": "Äppelbo byalag", "text": "Handlarskjutsen går 10:30."}
    with django_capture_on_commit_callbacks(execute=True):
        notification = notify(anna, "association.message", text)
    delivery = Delivery.objects.get(notification=notification, channel="email")
    assert (delivery.status, delivery.detail) == (
        DeliveryStatus.SKIPPED,
        "e-mail address not confirmed",
    )
    assert delivery.address == ""

    User.objects.filter(pk=anna.pk).update(email_confirmed_at=timezone.now())
    anna.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        notification = notify(anna, "association.message", text)
    delivery = Delivery.objects.get(notification=notification, channel="email")
    assert delivery.status != DeliveryStatus.SKIPPED
    assert delivery.address == "Anna@Example.se"


def test_a_managed_profiles_address_needs_no_link(smtp_server):
    """A coordinator typed it for someone without a login: nobody could open a link."""
    resident = ManagedProfileFactory(email="sven@example.se", contact_by_email=True)
    assert not resident.email_unconfirmed


def test_a_changed_address_is_unconfirmed_again_and_the_old_link_does_nothing(anna, smtp_server):
    email_confirmation_send(user=anna)
    old_link = link_in(smtp_server.messages[-1][1])
    email_confirm(token=old_link)

    same = user_update_profile(
        user=User.objects.get(pk=anna.pk), changes={"email": "anna@EXAMPLE.se"}
    )
    assert same.email_confirmed_at is not None  # the same address, spelt otherwise
    changed = user_update_profile(user=same, changes={"email": "anna.e@example.se"})
    assert changed.email_confirmed_at is None
    assert error_code(lambda: email_confirm(token=old_link)) == "email_link_stale"
    assert User.objects.get(pk=anna.pk).email_confirmed_at is None


def test_a_tampered_or_expired_link_is_refused_with_a_reason(anna, settings):
    token = email_link_token(anna)
    assert error_code(lambda: email_confirm(token=token[:-2] + "xx")) == "email_link_invalid"
    assert error_code(lambda: email_confirm(token="")) == "email_link_invalid"
    # A token signed for something else (another salt) is no link.
    other = signing.dumps({"user": anna.pk, "email": "anna@example.se"}, salt="other")
    assert error_code(lambda: email_confirm(token=other)) == "email_link_invalid"
    # Signed eight days ago: older than the seven days a link works.
    signer = signing.TimestampSigner(salt=EMAIL_LINK_SALT)
    signer.timestamp = lambda: signing.b62_encode(int(time.time() - 8 * 86400))
    old = signer.sign_object({"user": anna.pk, "email": "anna@example.se"})
    settings.EMAIL_LINK_DAYS = 7
    assert error_code(lambda: email_confirm(token=old)) == "email_link_expired"
    assert User.objects.get(pk=anna.pk).email_confirmed_at is None


def test_links_are_limited_per_person_and_per_address(anna, smtp_server, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "email_link": "2/hour",
        },
    }
    email_confirmation_send(user=anna)
    email_confirmation_send(user=anna)
    assert error_code(lambda: email_confirmation_send(user=anna)) == "email_link_rate_limited"
    # Anna moves to another address; whoever types her old one gets no more links to it.
    user_update_profile(user=anna, changes={"email": "anna.e@example.se"})
    other = UserFactory(phone="+46701740611", email="ANNA@example.se", email_confirmed_at=None)
    assert error_code(lambda: email_confirmation_send(user=other)) == "email_link_rate_limited"
    assert len(smtp_server.messages) == 2


def test_a_mail_server_that_is_down_says_try_again(anna, smtp_server):
    smtp_server.stop()
    assert error_code(lambda: email_confirmation_send(user=anna)) == "email_link_not_sent"


def test_someone_without_an_address_is_told_to_add_one():
    person = UserFactory()
    assert error_code(lambda: email_confirmation_send(user=person)) == "email_missing"


def test_erasure_and_export_carry_the_confirmation(anna):
    User.objects.filter(pk=anna.pk).update(email_confirmed_at=timezone.now())
    anna.refresh_from_db()
    assert person_export(user=anna)["person"]["email_confirmed_at"] is not None
    erased = person_anonymise(user=anna)
    assert erased.email_confirmed_at is None


def test_the_database_refuses_a_confirmed_address_that_is_not_a_logins():
    person = ManagedProfileFactory(email="sven@example.se")
    with pytest.raises(IntegrityError):
        User.objects.filter(pk=person.pk).update(email_confirmed_at=timezone.now())


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_staff_typing_an_address_in_the_admin_vouch_for_it(staff_client):
    lena = UserFactory(full_name="Lena Eriksson")
    url = reverse("admin:accounts_user_change", args=[lena.pk])

    admin_post(staff_client, url, email="lena@example.se")
    assert User.objects.get(pk=lena.pk).email_confirmed_at is not None
    # Editing something else confirms nothing anew; clearing the address clears it.
    User.objects.filter(pk=lena.pk).update(email_confirmed_at=None)
    admin_post(staff_client, url, full_name="Lena E")
    assert User.objects.get(pk=lena.pk).email_confirmed_at is None
    User.objects.filter(pk=lena.pk).update(email_confirmed_at=timezone.now())
    admin_post(staff_client, url, email="")
    assert User.objects.get(pk=lena.pk).email_confirmed_at is None

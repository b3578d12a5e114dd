import pytest
from django.db import transaction
from django.utils import timezone

from backend.notifications.kinds import KINDS
from backend.notifications.models import (
    Channel,
    Delivery,
    DeliveryStatus,
    Notification,
    NotificationPreference,
)
from backend.notifications.selectors import chosen_channels, notification_message
from backend.notifications.services import notifications_mark_read, notify, notify_many
from tests.factories import ManagedProfileFactory, UserFactory

pytestmark = pytest.mark.django_db

MESSAGE = {"association": "Äppelbo byalag", "text": "Handlarskjutsen går 10:30 i dag."}


def channels_of(notification: Notification) -> dict[str, str]:
    return dict(notification.deliveries.values_list("channel", "status"))


def test_notify_stores_in_the_inbox_and_plans_each_chosen_channel(
    django_capture_on_commit_callbacks,
):
    anna = UserFactory(
        contact_by_sms=True, contact_by_push=True, contact_by_email=True, email="a@b.se"
    )
    with django_capture_on_commit_callbacks(execute=False):
        notification = notify(anna, "association.message", MESSAGE)
    assert (notification.recipient, notification.kind, notification.read_at) == (
        anna,
        "association.message",
        None,
    )
    assert notification.payload == MESSAGE
    assert channels_of(notification) == {
        "live": DeliveryStatus.PENDING,
        "push": DeliveryStatus.SKIPPED,  # no browser subscribed yet
        "sms": DeliveryStatus.PENDING,
        "email": DeliveryStatus.PENDING,
    }
    assert notification.deliveries.get(channel="sms").address == anna.phone


def test_texts_follow_the_recipients_language():
    swede = UserFactory(preferred_language="sv")
    english = UserFactory(preferred_language="en")
    payload = {"association": "Äppelbo byalag"}
    sv = notification_message(notify(swede, "membership.approved", payload), language="sv")
    en = notification_message(notify(english, "membership.approved", payload), language="en")
    assert sv["title"] == "Välkommen till Äppelbo byalag"
    assert en["title"] == "Welcome to Äppelbo byalag"


def test_every_kind_has_a_swedish_text():
    placeholders = type("P", (dict,), {"__missing__": lambda self, key: "x"})()
    from django.utils import translation

    for kind in KINDS.values():
        with translation.override("sv"):
            swedish = (str(kind.title) % placeholders, str(kind.body) % placeholders)
        with translation.override("en"):
            english = (str(kind.title) % placeholders, str(kind.body) % placeholders)
        assert swedish != english or kind.code == "association.message", kind.code


def test_a_payload_missing_a_field_fails_at_the_call_and_stores_nothing():
    with pytest.raises(KeyError):
        notify(UserFactory(), "membership.suspended", {"association": "X"})
    assert not Notification.objects.exists()


def test_an_unknown_kind_fails_at_the_call():
    with pytest.raises(ValueError, match="unknown notification kind"):
        notify(UserFactory(), "ride.teleported", {})


def test_a_rolled_back_transaction_notifies_nobody(django_capture_on_commit_callbacks):
    anna = UserFactory()
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        notify(anna, "association.message", MESSAGE)
        raise RuntimeError("the booking failed")
    assert callbacks == []
    assert not Notification.objects.exists()


def test_preference_for_a_kind_overrides_general_choices_but_live_stays():
    anna = UserFactory(contact_by_sms=True, contact_by_push=True)
    NotificationPreference.objects.create(user=anna, kind="association.message", channels=["email"])
    assert chosen_channels(anna, KINDS["association.message"]) == {Channel.LIVE, Channel.EMAIL}


def test_kind_limits_the_channels_whatever_the_person_wants():
    anna = UserFactory(contact_by_sms=True)
    assert Channel.SMS not in chosen_channels(anna, KINDS["membership.approved"])


def test_managed_profile_gets_sms_at_the_proxys_phone_and_no_live():
    daughter = UserFactory(phone="+46701740620")
    greta = ManagedProfileFactory(phone="")
    greta.proxy_links.create(
        proxy=daughter, receives_sms_for_resident=True, accepted_at=timezone.now()
    )
    notification = notify(greta, "association.message", MESSAGE)
    sms = notification.deliveries.get(channel="sms")
    assert (sms.status, sms.address) == (DeliveryStatus.PENDING, "+46701740620")
    assert not notification.deliveries.filter(channel="live").exists()


def test_managed_profile_with_no_phone_and_no_proxy_phone_is_skipped_with_a_reason():
    greta = ManagedProfileFactory(phone="")
    sms = notify(greta, "association.message", MESSAGE).deliveries.get(channel="sms")
    assert (sms.status, sms.detail) == (DeliveryStatus.SKIPPED, "no phone number")


def test_a_login_whose_number_is_not_confirmed_gets_no_sms_until_it_is():
    """A mistyped number belongs to a stranger: nothing about rides goes to it."""
    anna = UserFactory(phone="+46701740699", phone_confirmed_at=None)
    sms = notify(anna, "association.message", MESSAGE).deliveries.get(channel="sms")
    assert (sms.status, sms.address, sms.detail) == (
        DeliveryStatus.SKIPPED,
        "",
        "phone number not confirmed",
    )
    [many] = notify_many([anna], "association.message", MESSAGE)
    assert many.deliveries.get(channel="sms").detail == "phone number not confirmed"

    anna.phone_confirmed_at = timezone.now()
    anna.save()
    sms = notify(anna, "association.message", MESSAGE).deliveries.get(channel="sms")
    assert (sms.status, sms.address) == (DeliveryStatus.PENDING, "+46701740699")


def test_a_managed_profiles_own_number_needs_no_confirming():
    """The coordinator typed it in, having spoken to the person."""
    greta = ManagedProfileFactory(phone="+46251123456")
    sms = notify(greta, "association.message", MESSAGE).deliveries.get(channel="sms")
    assert (sms.status, sms.address) == (DeliveryStatus.PENDING, "+46251123456")


def test_a_proxy_whose_number_is_not_confirmed_does_not_take_the_residents_sms():
    daughter = UserFactory(phone="+46701740620", phone_confirmed_at=None)
    greta = ManagedProfileFactory(phone="")
    greta.proxy_links.create(
        proxy=daughter, receives_sms_for_resident=True, accepted_at=timezone.now()
    )
    sms = notify(greta, "association.message", MESSAGE).deliveries.get(channel="sms")
    assert (sms.status, sms.detail) == (DeliveryStatus.SKIPPED, "no phone number")
    [many] = notify_many([greta], "association.message", MESSAGE)
    assert many.deliveries.get(channel="sms").status == DeliveryStatus.SKIPPED


def test_live_delivery_is_published_after_commit_and_recorded():
    anna = UserFactory(contact_by_sms=False, contact_by_push=False)
    notification = notify(anna, "association.message", MESSAGE)
    live = Delivery.objects.get(notification=notification, channel="live")
    # The test transaction has not committed: nothing published yet.
    assert live.status == DeliveryStatus.PENDING


def test_mark_read_by_ids_and_up_to():
    anna, bo = UserFactory(), UserFactory()
    first, second, _third = (notify(anna, "association.message", MESSAGE) for _ in range(3))
    others = notify(bo, "association.message", MESSAGE)
    assert notifications_mark_read(user=anna, ids=[first.pk, others.pk]) == 1
    assert notifications_mark_read(user=anna, up_to_id=second.pk) == 1
    assert notifications_mark_read(user=anna) == 1
    assert Notification.objects.filter(recipient=anna, read_at__isnull=True).count() == 0
    others.refresh_from_db()
    assert others.read_at is None

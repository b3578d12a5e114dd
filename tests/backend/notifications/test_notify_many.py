"""notify_many: the same notifications and deliveries as one notify() per person, in a
few queries whatever the number of people."""

import pytest
from channels.layers import channel_layers
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backend.accounts.models import ProxyLink
from backend.notifications.models import (
    Delivery,
    DeliveryAttempt,
    Notification,
    NotificationPreference,
    PushSubscription,
)
from backend.notifications.services import notify, notify_many
from tests.factories import ManagedProfileFactory, UserFactory

pytestmark = pytest.mark.django_db

MESSAGE = {"association": "Äppelbo byalag", "text": "Handlarskjutsen går 10:30 i dag."}


def _people() -> list:
    """One of each way a person can be reached (or not)."""
    everything = UserFactory(
        contact_by_sms=True, contact_by_push=True, contact_by_email=True, email="a@b.se"
    )
    PushSubscription.objects.create(
        user=everything, endpoint="https://push.example/1", p256dh="k", auth="a"
    )
    live_only = UserFactory(contact_by_sms=False, contact_by_push=False, contact_by_email=False)
    chose_email = UserFactory(email="e@b.se", preferred_language="en")
    NotificationPreference.objects.create(
        user=chose_email, kind="association.message", channels=["email"]
    )
    no_push_device = UserFactory(contact_by_push=True)
    daughter = UserFactory()
    greta = ManagedProfileFactory()  # no phone: her daughter takes her SMS
    ProxyLink.objects.create(
        resident=greta,
        proxy=daughter,
        receives_sms_for_resident=True,
        accepted_at=timezone.now(),
    )
    karl = ManagedProfileFactory()  # his proxy has not said yes: no SMS goes anywhere
    ProxyLink.objects.create(resident=karl, proxy=UserFactory(), receives_sms_for_resident=True)
    return [everything, live_only, chose_email, no_push_device, greta, karl]


def _what_each_got(notifications: list[Notification]) -> list[tuple]:
    return [
        (
            n.recipient_id,
            n.kind,
            n.payload,
            n.urgent,
            sorted(
                Delivery.objects.filter(notification=n).values_list(
                    "channel", "status", "address", "detail"
                )
            ),
        )
        for n in notifications
    ]


def test_notify_many_plans_what_one_notify_each_would(django_capture_on_commit_callbacks):
    people = _people()
    with django_capture_on_commit_callbacks(execute=False):
        one_by_one = [notify(p, "association.message", MESSAGE, urgent=True) for p in people]
        together = notify_many(people, "association.message", MESSAGE, urgent=True)
    assert _what_each_got(together) == _what_each_got(one_by_one)
    # The cases above do differ from each other: the comparison is not between blanks.
    assert len({tuple(row[4]) for row in _what_each_got(together)}) == len(people)


def test_notify_many_delivers_after_the_commit(django_capture_on_commit_callbacks):
    people = _people()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        notify_many(people, "association.message", MESSAGE)
    assert len(callbacks) == 1
    live = Delivery.objects.filter(channel="live")
    assert live.count() == len(people) - 2  # the two managed profiles have no app
    assert set(live.values_list("status", flat=True)) == {"sent"}


def test_notify_many_costs_the_same_queries_for_3_or_30_people(django_assert_num_queries):
    few = [UserFactory(contact_by_push=True) for _ in range(3)]
    many = [UserFactory(contact_by_push=True) for _ in range(30)]
    with django_assert_num_queries(6) as few_queries:
        notify_many(few, "association.message", MESSAGE)
    with django_assert_num_queries(len(few_queries.captured_queries)):
        notify_many(many, "association.message", MESSAGE)


def _live_only(count: int) -> list:
    return [
        UserFactory(contact_by_sms=False, contact_by_push=False, contact_by_email=False)
        for _ in range(count)
    ]


def _live_outcomes() -> set[tuple]:
    return set(Delivery.objects.filter(channel="live").values_list("status", "attempts", "detail"))


def test_the_live_deliveries_are_published_and_recorded_in_the_same_queries_for_3_or_30(
    django_capture_on_commit_callbacks,
):
    counts = []
    for people in (_live_only(3), _live_only(30)):
        with (
            CaptureQueriesContext(connection) as queries,
            django_capture_on_commit_callbacks(execute=True),
        ):
            notify_many(people, "association.message", MESSAGE)
        counts.append(len(queries.captured_queries))

    assert counts[0] == counts[1]
    assert _live_outcomes() == {("sent", 1, "")}
    assert set(DeliveryAttempt.objects.values_list("succeeded", "detail")) == {(True, "")}
    assert DeliveryAttempt.objects.count() == 33


def test_live_deliveries_the_channel_layer_did_not_take_are_recorded_as_failed(
    settings, django_capture_on_commit_callbacks
):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [{"address": "redis://127.0.0.1:1/0"}]},
        }
    }
    channel_layers.backends.clear()
    with django_capture_on_commit_callbacks(execute=True):
        notify_many(_live_only(3), "association.message", MESSAGE)
        notify(_live_only(1)[0], "association.message", MESSAGE)

    # The inbox has them; the app gets them when it reconnects.
    assert _live_outcomes() == {("failed", 1, "channel layer unreachable; replayed on reconnect")}
    assert DeliveryAttempt.objects.filter(succeeded=False).count() == 4
    assert Notification.objects.count() == 4


def test_notify_many_with_nobody_does_nothing():
    assert notify_many([], "association.message", MESSAGE) == []
    assert not Notification.objects.exists()


def test_a_payload_missing_a_field_is_refused_before_anything_is_written():
    with pytest.raises(KeyError):
        notify_many([UserFactory()], "association.message", {"association": "Äppelbo"})
    assert not Notification.objects.exists()

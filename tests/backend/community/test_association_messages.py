"""A coordinator's message to every member: the request stores it and counts its
recipients; a Celery task queued on commit notifies them, once however often it runs;
the recipients are the members active when it was sent (not those who join later); a
rolled-back request queues nothing; the sweep sends what was never queued."""

import asyncio
import threading
import time
from datetime import timedelta

import celery.contrib.testing.tasks  # noqa: F401 - registers the ping start_worker waits for
import pytest
from asgiref.sync import async_to_sync
from celery.contrib.testing.worker import start_worker
from channels_redis.core import RedisChannelLayer
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from backend.celery import app
from backend.community.models import AssociationMessage, Membership, MembershipState
from backend.community.services import (
    _association_messages_lock,
    association_message_deliver,
    association_message_send,
    association_messages_deliver_waiting,
    membership_approve,
    membership_suspend,
)
from backend.community.tasks import deliver_association_message
from backend.errors import ApplicationError
from backend.notifications.live import user_group
from backend.notifications.models import Notification
from backend.privacy.export import person_export
from backend.privacy.retention import notifications_delete_old
from dispatch.privacy import person_erase
from tests.factories import AssociationFactory, MembershipFactory, UserFactory, coordinator_of

TEXT = "Handlarskjutsen är inställd i dag på grund av snön."


def _member(association, **membership) -> object:
    # Live and inbox only: no SMS or push for the worker to send.
    user = UserFactory(contact_by_sms=False, contact_by_push=False)
    return MembershipFactory(association=association, user=user, **membership).user


@pytest.fixture
def association():
    return AssociationFactory(name="Äppelbo byalag")


@pytest.fixture
def coordinator(association):
    return coordinator_of(association)


@pytest.fixture
def members(association):
    return [_member(association) for _ in range(3)]


def _recipients(message) -> list[int]:
    return sorted(
        Notification.objects.filter(
            kind="association.message", payload__text=message.text
        ).values_list("recipient_id", flat=True)
    )


@pytest.mark.django_db
def test_sending_stores_the_message_and_delivers_it_after_the_commit(
    association, coordinator, members, settings, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.CELERY_TASK_EAGER_PROPAGATES = True
    _member(association, state=MembershipState.PENDING)
    _member(AssociationFactory())  # another association's member
    with django_capture_on_commit_callbacks() as queued:
        message = association_message_send(
            actor=coordinator, association=association, text=f"  {TEXT}\n", urgent=True
        )
    stored = AssociationMessage.objects.get()
    assert (stored.pk, stored.association, stored.sender, stored.text, stored.urgent) == (
        message.pk,
        association,
        coordinator,
        TEXT,
        True,
    )
    assert (stored.recipients, stored.delivered_at, stored.delivered_to) == (3, None, None)
    # The request wrote no notification: the task does, once the message is committed.
    assert not Notification.objects.exists()
    assert len(queued) == 1

    queued[0]()

    stored.refresh_from_db()
    assert stored.delivered_at is not None and stored.delivered_to == 3
    assert _recipients(stored) == sorted(m.pk for m in members)
    notification = Notification.objects.filter(recipient=members[0]).get()
    assert notification.payload == {
        "association": "Äppelbo byalag",
        "text": TEXT,
        "message": stored.pk,  # what the console's reach counts by
    }
    assert notification.urgent


@pytest.mark.django_db
def test_the_task_run_twice_notifies_once(association, coordinator, members):
    message = association_message_send(actor=coordinator, association=association, text=TEXT)
    assert deliver_association_message(message.pk) == 3
    delivered = AssociationMessage.objects.get(pk=message.pk).delivered_at
    assert deliver_association_message(message.pk) is None  # a redelivery of the message
    assert association_message_deliver(message_id=message.pk) is None
    assert _recipients(message) == sorted(m.pk for m in members)
    assert AssociationMessage.objects.get(pk=message.pk).delivered_at == delivered


@pytest.mark.django_db
def test_a_message_that_no_longer_exists_is_left_alone():
    assert deliver_association_message(10**9) is None


@pytest.mark.django_db(transaction=True)
def test_two_workers_delivering_the_same_message_at_once_notify_once(
    association, coordinator, members
):
    message = association_message_send(actor=coordinator, association=association, text=TEXT)
    barrier = threading.Barrier(2)
    outcomes: list[int | None] = []

    def worker() -> None:
        try:
            barrier.wait(timeout=10)
            outcomes.append(association_message_deliver(message_id=message.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes, key=str) == [3, None]
    assert _recipients(message) == sorted(m.pk for m in members)


def _send(association, coordinator, text: str, *, ago: timedelta = timedelta(0)):
    # The members joined long before the messages (which are backdated).
    Membership.objects.update(created_at=timezone.now() - timedelta(days=1))
    message = AssociationMessage.objects.create(
        association=association,
        sender=coordinator,
        text=text,
        sent_at=timezone.now() - ago,
        recipients=0,
    )
    return message


def _inbox_texts(person) -> list[str]:
    return list(
        Notification.objects.filter(recipient=person, kind="association.message")
        .order_by("pk")
        .values_list("payload__text", flat=True)
    )


@pytest.mark.django_db
def test_earlier_messages_still_waiting_go_first(association, coordinator, members):
    given_up = _send(association, coordinator, "I går kväll", ago=timedelta(hours=13))
    first = _send(association, coordinator, "Först", ago=timedelta(minutes=3))
    second = _send(association, coordinator, "Sedan", ago=timedelta(minutes=1))

    # The second's task runs first (the first's was not queued, or is still waiting).
    assert association_message_deliver(message_id=second.pk) == 3

    for member in members:
        assert _inbox_texts(member) == ["Först", "Sedan"]
    assert AssociationMessage.objects.get(pk=first.pk).delivered_to == 3
    assert association_message_deliver(message_id=first.pk) is None  # its own task, later
    # One the sweep gave up on stays so: it would mislead now.
    assert AssociationMessage.objects.get(pk=given_up.pk).delivered_at is None


@pytest.mark.django_db(transaction=True)
def test_two_messages_delivered_at_once_reach_every_member_in_the_order_sent(
    association, coordinator
):
    """Two workers each take one of two messages sent moments apart; every member's
    inbox and live channel get them in the order they were sent. The second worker
    starts the moment the first message is committed, while its live messages are still
    going out: without the lock, the second's overtook the first's for some members."""
    people = [_member(association) for _ in range(40)]
    layer, channels = _listen(people)
    first = _send(association, coordinator, "Först", ago=timedelta(seconds=2))
    second = _send(association, coordinator, "Sedan")
    errors: list[BaseException] = []
    worker = threading.Thread(target=_deliver, args=(first.pk, errors))
    worker.start()
    committed = AssociationMessage.objects.filter(pk=first.pk, delivered_at__isnull=False)
    deadline = time.monotonic() + 30
    while not committed.exists() and time.monotonic() < deadline:
        time.sleep(0.001)
    _deliver(second.pk, errors)
    worker.join(timeout=60)
    assert not errors

    live = _live_texts(layer, channels)
    for person in people:
        assert _inbox_texts(person) == ["Först", "Sedan"]
        assert live[person.pk] == ["Först", "Sedan"], person.pk


@pytest.mark.django_db(transaction=True)
def test_a_delivery_waits_while_another_of_the_association_is_going_out(
    association, coordinator, members
):
    """The first worker's live messages go out after its commit; a second message of
    the same association waits for them (the lock), one of another association does not."""
    message = _send(association, coordinator, "Sedan")
    elsewhere = AssociationFactory()
    other = _send(elsewhere, coordinator_of(elsewhere), "Annat byalag")
    going_out, done = threading.Event(), threading.Event()

    def first_worker() -> None:
        try:
            with _association_messages_lock(association.pk):
                going_out.set()
                done.wait(timeout=30)
        finally:
            connection.close()

    worker = threading.Thread(target=first_worker)
    worker.start()
    assert going_out.wait(timeout=10)
    errors: list[BaseException] = []
    second = threading.Thread(target=_deliver, args=(message.pk, errors))
    second.start()
    assert association_message_deliver(message_id=other.pk) == 0  # not held up
    second.join(timeout=1)
    assert second.is_alive()  # waiting for the first worker
    assert AssociationMessage.objects.get(pk=message.pk).delivered_at is None
    done.set()
    second.join(timeout=30)
    worker.join(timeout=30)
    assert not errors
    assert AssociationMessage.objects.get(pk=message.pk).delivered_to == 3


def _deliver(message_id: int, errors: list) -> None:
    try:
        association_message_deliver(message_id=message_id)
    except BaseException as error:
        errors.append(error)
    finally:
        if threading.current_thread() is not threading.main_thread():
            connection.close()


def _listen(users) -> tuple[RedisChannelLayer, dict[int, str]]:
    """A channel in each person's live group, as their open app would have: on a layer
    of their own, since a layer's channels are read from one event loop only."""
    layer = RedisChannelLayer(**settings.CHANNEL_LAYERS["default"]["CONFIG"])
    channels = {}
    for user in users:
        channel = async_to_sync(layer.new_channel)()
        async_to_sync(layer.group_add)(user_group(user.pk), channel)
        channels[user.pk] = channel
    return layer, channels


def _live_texts(layer: RedisChannelLayer, channels: dict[int, str]) -> dict[int, list[str]]:
    """The texts each channel received, in order: two expected, then a brief wait for
    any more."""

    async def drain(channel: str) -> list[str]:
        texts = []
        while True:
            try:
                wait = 5 if len(texts) < 2 else 0.05
                message = await asyncio.wait_for(layer.receive(channel), timeout=wait)
            except TimeoutError:
                return texts
            texts.append(message["event"]["payload"]["text"])

    async def drain_all() -> dict[int, list[str]]:
        return {pk: await drain(channel) for pk, channel in channels.items()}

    return async_to_sync(drain_all)()


@pytest.mark.django_db
def test_the_recipients_are_the_members_active_when_it_was_sent(association, coordinator, members):
    waiting = MembershipFactory(association=association, state=MembershipState.PENDING)
    leaving = members[2].memberships.get()
    message = association_message_send(actor=coordinator, association=association, text=TEXT)
    assert message.recipients == 3

    # Before the task runs: one joins, one waiting is approved, one is suspended.
    joined = _member(association)
    membership_approve(actor=coordinator, membership=waiting)
    membership_suspend(actor=coordinator, membership=leaving, reason="Flyttat")
    assert deliver_association_message(message.pk) == 2

    assert _recipients(message) == sorted([members[0].pk, members[1].pk])
    assert not joined.notifications.exists()
    assert not waiting.user.notifications.filter(kind="association.message").exists()
    stored = AssociationMessage.objects.get(pk=message.pk)
    assert (stored.recipients, stored.delivered_to) == (3, 2)


@pytest.mark.django_db
def test_the_sender_and_erased_people_get_nothing(association, coordinator, members):
    also_coordinator = coordinator_of(association)
    members[0].is_active = False
    members[0].save()
    message = association_message_send(actor=coordinator, association=association, text=TEXT)
    assert message.recipients == 3  # two members and the other coordinator
    association_message_deliver(message_id=message.pk)
    assert _recipients(message) == sorted([members[1].pk, members[2].pk, also_coordinator.pk])


@pytest.mark.django_db
def test_a_rolled_back_request_stores_and_queues_nothing(
    association, coordinator, members, monkeypatch, django_capture_on_commit_callbacks
):
    queued: list[int] = []
    monkeypatch.setattr(deliver_association_message, "delay", queued.append)
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        association_message_send(actor=coordinator, association=association, text=TEXT)
        raise RuntimeError("the request failed after the message")
    assert queued == []
    assert not AssociationMessage.objects.exists()

    # The same request committed queues the delivery, once, after the commit.
    with django_capture_on_commit_callbacks(execute=True):
        message = association_message_send(actor=coordinator, association=association, text=TEXT)
        assert queued == []
    assert queued == [message.pk]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("who", "text", "code"),
    [("member", TEXT, "not_coordinator"), ("coordinator", " \n ", "message_empty")],
    ids=["member-cannot", "blank"],
)
def test_a_refused_message_stores_and_queues_nothing(
    association, coordinator, members, who, text, code, django_capture_on_commit_callbacks
):
    actor = coordinator if who == "coordinator" else members[0]
    with (
        django_capture_on_commit_callbacks() as queued,
        pytest.raises(ApplicationError) as refused,
    ):
        association_message_send(actor=actor, association=association, text=text)
    assert refused.value.code == code
    assert queued == []
    assert not AssociationMessage.objects.exists()


@pytest.mark.django_db
def test_the_sweep_sends_messages_left_waiting_once_and_not_stale_ones(
    association, coordinator, members, settings
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.CELERY_TASK_EAGER_PROPAGATES = True
    now = timezone.now()
    # The members joined long before the messages (which are backdated below).
    Membership.objects.update(created_at=now - timedelta(days=1))
    sent = {}
    # "queued" is the older: a message's task delivers those sent before it with it.
    for name, ago in [("lost", 5), ("queued", 6), ("stale", 13 * 60)]:
        message = association_message_send(
            actor=coordinator, association=association, text=f"{TEXT} ({name})"
        )
        AssociationMessage.objects.filter(pk=message.pk).update(
            sent_at=now - timedelta(minutes=ago)
        )
        sent[name] = message
    association_message_deliver(message_id=sent["queued"].pk)  # its task ran meanwhile
    AssociationMessage.objects.filter(pk=sent["queued"].pk).update(
        sent_at=now - timedelta(minutes=5)
    )

    assert association_messages_deliver_waiting(now=now) == 1
    assert association_messages_deliver_waiting(now=now) == 0
    assert deliver_association_message(sent["lost"].pk) is None  # its own late task
    assert len(_recipients(sent["lost"])) == 3
    assert len(_recipients(sent["queued"])) == 3
    assert _recipients(sent["stale"]) == []
    assert AssociationMessage.objects.get(pk=sent["stale"].pk).delivered_at is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    "change",
    [
        {"delivered_at": timezone.now()},
        {"delivered_to": 3},
        {"text": ""},
    ],
    ids=["delivered-without-count", "count-without-delivery", "empty-text"],
)
def test_the_database_refuses_an_inconsistent_message(association, coordinator, change):
    row = {"association": association, "sender": coordinator, "text": TEXT, "recipients": 3}
    with pytest.raises(IntegrityError), transaction.atomic():
        AssociationMessage.objects.create(**{**row, **change})


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_delivers_the_message_once_through_redis(association, coordinator, members):
    with start_worker(app, pool="solo", perform_ping_check=True, shutdown_timeout=10):
        # Committed: the task goes to the broker on commit and the worker runs it.
        message = association_message_send(actor=coordinator, association=association, text=TEXT)
        deadline = timezone.now() + timedelta(seconds=60)
        while timezone.now() < deadline:
            if AssociationMessage.objects.filter(pk=message.pk, delivered_at__isnull=False):
                break
            threading.Event().wait(0.2)
        # The same message delivered again, as after a worker died before acknowledging.
        assert deliver_association_message.delay(message.pk).get(timeout=60) is None
    connection.close()
    stored = AssociationMessage.objects.get(pk=message.pk)
    assert (stored.recipients, stored.delivered_to) == (3, 3)
    assert _recipients(stored) == sorted(m.pk for m in members)


# --- Personal data: the sender's export, erasure and retention -------------------------------


@pytest.mark.django_db
def test_the_sender_finds_their_messages_in_their_export_and_members_do_not(
    association, coordinator, members
):
    message = association_message_send(
        actor=coordinator, association=association, text=TEXT, urgent=True
    )
    association_message_deliver(message_id=message.pk)
    assert person_export(user=coordinator)["messages_to_all_members_sent"] == [
        {
            "association": "Äppelbo byalag",
            "text": TEXT,
            "urgent": True,
            "sent_at": message.sent_at.isoformat(),
            "sent_to": 3,
        }
    ]
    member = person_export(user=members[0])
    assert member["messages_to_all_members_sent"] == []
    assert [n["payload"]["text"] for n in member["notifications"]] == [TEXT]


@pytest.mark.django_db
def test_erasing_the_sender_keeps_the_message_without_saying_who_wrote_it(
    association, coordinator, members
):
    message = association_message_send(actor=coordinator, association=association, text=TEXT)
    person_erase(user=coordinator, actor=coordinator)
    stored = AssociationMessage.objects.get(pk=message.pk)
    assert (stored.sender, stored.text) == (None, TEXT)
    # Erased before the task ran: it is still delivered, and a member's copy stays theirs.
    assert association_message_deliver(message_id=message.pk) == 3
    assert _recipients(stored) == sorted(m.pk for m in members)


@pytest.mark.django_db
def test_messages_go_after_the_notification_retention_period(association, coordinator, settings):
    settings.NOTIFICATION_RETENTION_DAYS = 365
    old, recent = (
        association_message_send(actor=coordinator, association=association, text=text)
        for text in ("Gammalt", "Nytt")
    )
    now = timezone.now()
    AssociationMessage.objects.filter(pk=old.pk).update(sent_at=now - timedelta(days=366))
    AssociationMessage.objects.filter(pk=recent.pk).update(sent_at=now - timedelta(days=364))
    assert notifications_delete_old(now=now) == 1
    assert list(AssociationMessage.objects.values_list("text", flat=True)) == ["Nytt"]
    assert notifications_delete_old(now=now) == 0

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from backend.notifications.models import Notification, Reminder
from backend.notifications.reminders import reminder_cancel, reminder_schedule, reminders_send_due
from backend.notifications.tasks import send_due_reminders
from tests.factories import UserFactory
from tests.locks import Beside, referred_to_meanwhile

MESSAGE = {"association": "Äppelbo byalag", "text": "Handlarskjuts i morgon 10:00"}


def schedule(user, key="shop-run:7:day-before:1", minutes=-1):
    return reminder_schedule(
        key=key,
        recipient=user,
        kind="association.message",
        payload=MESSAGE,
        due_at=timezone.now() + timedelta(minutes=minutes),
    )


@pytest.mark.django_db
def test_a_due_reminder_is_sent_once_however_often_the_job_runs():
    anna = UserFactory()
    reminder = schedule(anna)
    assert reminders_send_due() == 1
    assert reminders_send_due() == 0
    assert send_due_reminders.apply().get() == 0  # the beat task itself, run in-process
    reminder.refresh_from_db()
    assert reminder.sent_at is not None
    assert Notification.objects.filter(recipient=anna).count() == 1
    assert reminder.notification.payload == MESSAGE


@pytest.mark.django_db
def test_a_reminder_not_yet_due_waits():
    schedule(UserFactory(), minutes=30)
    assert reminders_send_due() == 0
    assert reminders_send_due(now=timezone.now() + timedelta(minutes=31)) == 1


@pytest.mark.django_db
def test_scheduling_the_same_key_moves_the_reminder_instead_of_adding_one():
    anna = UserFactory()
    schedule(anna, minutes=60)
    schedule(anna, minutes=120)
    assert Reminder.objects.count() == 1
    assert Reminder.objects.get().due_at > timezone.now() + timedelta(minutes=119)


@pytest.mark.django_db
def test_a_sent_reminder_is_not_rescheduled():
    anna = UserFactory()
    schedule(anna)
    reminders_send_due()
    schedule(anna, minutes=60)
    assert reminders_send_due(now=timezone.now() + timedelta(hours=2)) == 0
    assert Notification.objects.count() == 1


@pytest.mark.django_db
def test_a_cancelled_reminder_is_never_sent():
    schedule(UserFactory())
    assert reminder_cancel(key="shop-run:7:day-before:1") is True
    assert reminders_send_due() == 0
    assert reminder_cancel(key="shop-run:7:day-before:1") is False


@pytest.mark.django_db
def test_an_unknown_kind_is_refused_when_scheduling():
    with pytest.raises(ValueError):
        reminder_schedule(
            key="x", recipient=UserFactory(), kind="nope", payload={}, due_at=timezone.now()
        )
    assert not Reminder.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_workers_running_at_once_send_each_reminder_once():
    people = [UserFactory() for _ in range(30)]
    for index, person in enumerate(people):
        schedule(person, key=f"ride:{index}:day-before")
    counts = []
    start = threading.Barrier(2)

    def worker():
        try:
            start.wait()
            counts.append(reminders_send_due())
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(counts) == 30
    assert Notification.objects.count() == 30
    assert sorted(Notification.objects.values_list("recipient_id", flat=True)) == sorted(
        p.pk for p in people
    )


@pytest.mark.django_db(transaction=True)
def test_a_due_reminder_is_sent_even_while_something_refers_to_its_recipient():
    # The sweep claims reminders with SKIP LOCKED. It locked the recipients' account
    # rows with them, so a reminder whose recipient was referred to at that moment (a
    # notification or an audit row about her being written) was skipped until the next
    # minute's sweep.
    anna = UserFactory()
    schedule(anna)
    with referred_to_meanwhile([anna]):
        sweep = Beside(reminders_send_due)
        sweep.done_within(5)
    assert sweep.result() == 1
    assert Notification.objects.filter(recipient=anna).count() == 1

"""What a reconnecting client gets (`notifications_since`): everything after the id it
names, and the recent ones at or below it (ids are given at insert, not at commit), at
most REPLAY_LIMIT. The two transactions racing are in tests/dispatch/test_live_notifications.py."""

from datetime import timedelta

import pytest
from django.db.models import F

from backend.notifications import selectors
from backend.notifications.models import Notification
from backend.notifications.selectors import notifications_since
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def make(person, count: int, *, minutes_ago: int = 0) -> list[int]:
    ids = [
        Notification.objects.create(recipient=person, kind="association.message").pk
        for _ in range(count)
    ]
    Notification.objects.filter(pk__in=ids).update(
        created_at=F("created_at") - timedelta(minutes=minutes_ago)
    )
    return ids


def replayed(person, since_id: int) -> list[int]:
    return [n.pk for n in notifications_since(user=person, since_id=since_id)]


def test_the_replay_brings_what_came_after_and_the_overlap_below_oldest_first(
    settings, django_assert_num_queries
):
    settings.NOTIFY_REPLAY_OVERLAP = 600
    anna, bo = UserFactory(), UserFactory()
    old = make(anna, 2, minutes_ago=30)
    recent = make(anna, 2, minutes_ago=5)
    make(bo, 2)  # somebody else's, in between
    seen = make(anna, 1)
    after = make(anna, 2)
    with django_assert_num_queries(1):
        assert replayed(anna, seen[0]) == [*recent, *seen, *after]
    # The overlap is counted back from the newest notification at or below the id asked
    # for: from the older one, 30 minutes back.
    assert replayed(anna, old[-1]) == [*old, *recent, *seen, *after]
    assert replayed(anna, 0) == [*old, *recent, *seen, *after]
    assert replayed(bo, seen[0] + 100) == replayed(bo, 0)


def test_an_id_above_every_notification_brings_only_the_overlap(settings):
    settings.NOTIFY_REPLAY_OVERLAP = 600
    anna = UserFactory()
    make(anna, 1, minutes_ago=11)
    recent = make(anna, 2)
    assert replayed(anna, recent[-1] + 1000) == recent


def test_no_overlap_when_it_is_set_to_zero_but_the_id_asked_for_itself(settings):
    settings.NOTIFY_REPLAY_OVERLAP = 0
    anna = UserFactory()
    make(anna, 1, minutes_ago=1)  # just before the one asked for: not again
    seen = make(anna, 1)
    after = make(anna, 1)
    assert replayed(anna, seen[0]) == [*seen, *after]


def test_at_most_replay_limit_the_newest(monkeypatch):
    monkeypatch.setattr(selectors, "REPLAY_LIMIT", 3)
    anna = UserFactory()
    ids = make(anna, 5)
    assert replayed(anna, ids[0]) == ids[-3:]
    assert replayed(anna, ids[-1]) == ids[-3:]

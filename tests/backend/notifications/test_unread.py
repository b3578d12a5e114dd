"""The start page's unread notifications (`unread_of`): the newest unread ones of the
person, newest first, read as `inbox` would give them."""

import pytest
from django.utils import timezone

from backend.notifications.models import Notification
from backend.notifications.selectors import inbox, unread_of
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_newest_unread_ones_of_the_person_newest_first():
    anna, bo = UserFactory(), UserFactory()
    ids = [
        Notification.objects.create(
            recipient=anna, kind="association.message", payload={"text": f"Hej {n}"}
        ).pk
        for n in range(7)
    ]
    Notification.objects.filter(pk=ids[-1]).update(read_at=timezone.now())
    Notification.objects.create(recipient=bo, kind="association.message")

    found = unread_of(user=anna, limit=5)

    assert [n.pk for n in found] == [ids[5], ids[4], ids[3], ids[2], ids[1]]
    expected = list(inbox(user=anna).filter(read_at__isnull=True)[:5])
    assert [(n.pk, n.kind, n.payload, n.created_at, n.read_at) for n in found] == [
        (n.pk, n.kind, n.payload, n.created_at, n.read_at) for n in expected
    ]
    assert unread_of(user=bo, limit=5)[0].recipient_id == bo.pk

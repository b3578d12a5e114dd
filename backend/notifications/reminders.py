"""Reminders: notifications due at a set time, sent exactly once."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from backend.accounts.models import User
from backend.notifications.kinds import get_kind
from backend.notifications.models import Reminder
from backend.notifications.names import payload_names, payload_with_names
from backend.notifications.services import erased_names_replaced, notify

BATCH = 200


def reminder_schedule(
    *, key: str, recipient: User, kind: str, payload: dict, due_at: datetime
) -> Reminder:
    """Create the reminder, or move it if it exists and has not been sent (a ride moved
    to another day moves its reminder). One already sent stays as it was. Names in the
    payload are recorded as notify() records them, so erasure finds them here too."""
    named = payload_names(get_kind(kind), payload)
    with transaction.atomic():
        payload, named = erased_names_replaced(payload, named)
        values = {
            "recipient": recipient,
            "kind": kind,
            "payload": payload,
            "named": named,
            "due_at": due_at,
            "cancelled_at": None,
        }
        reminder, created = Reminder.objects.select_for_update().get_or_create(
            key=key, defaults=values
        )
        if not created and reminder.sent_at is None:
            for name, value in values.items():
                setattr(reminder, name, value)
            reminder.save()
    return reminder


def reminder_cancel(*, key: str) -> bool:
    return bool(
        Reminder.objects.filter(key=key, sent_at__isnull=True, cancelled_at__isnull=True).update(
            cancelled_at=timezone.now()
        )
    )


def reminders_send_due(*, now: datetime | None = None) -> int:
    """Send every due reminder once. Each is claimed with SELECT ... FOR UPDATE SKIP
    LOCKED and marked sent in the same transaction as its notification is stored, so a
    second worker skips it and a rerun after a crash finds it either sent or not."""
    now = now or timezone.now()
    sent = 0
    while True:
        with transaction.atomic():
            due = list(
                Reminder.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("recipient")
                .filter(sent_at__isnull=True, cancelled_at__isnull=True, due_at__lte=now)
                .order_by("due_at")[:BATCH]
            )
            for reminder in due:
                reminder.notification = notify(
                    reminder.recipient,
                    reminder.kind,
                    payload_with_names(reminder.payload, reminder.named),
                )
                reminder.sent_at = now
                reminder.save(update_fields=["notification", "sent_at"])
        sent += len(due)
        if len(due) < BATCH:
            return sent

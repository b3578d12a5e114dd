"""Recording who saw or changed a person's data. Called by the HTTP layer, which is the
one place that knows what was shown to whom."""

import json
from collections.abc import Iterable

from django.db import connection
from django.utils import timezone

from backend.accounts.models import User
from backend.audit.models import AuditEntry


def _not_recorded(actor: User | None, action: str) -> int | None:
    """The one subject whose entries `actor` doing `action` leaves out, or None.
    Looking at your own data is not an access to someone else's: it would only bury the
    entries that matter. Changes to your own data are kept (a changed phone number is
    worth knowing about when an account is taken over)."""
    if actor is None or not action.endswith(".view"):
        return None
    return actor.pk


def audit_record(
    *, actor: User | None, action: str, subject: User | None, detail: dict | None = None
) -> AuditEntry | None:
    """Record that `actor` did `action` ("ride.view", "profile.change", ...) to `subject`'s
    data; `detail` says which object and what (ids and field names, never the values).
    Returns None for a person viewing their own data, which is not recorded."""
    subject_id = subject.pk if subject is not None else None
    if subject_id is not None and subject_id == _not_recorded(actor, action):
        return None
    return AuditEntry.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        subject_id=subject_id,
        detail=detail or {},
    )


def audit_record_many(
    *, actor: User, action: str, subject_ids: Iterable[int], detail: dict | None = None
) -> int:
    """The same for a list shown at once (a roster page): one row per person, all at the
    same instant, in one INSERT ... SELECT over the ids. No model instance per row: for a
    roster of 200 members building and saving them was a fifth of the page's time."""
    left_out = _not_recorded(actor, action)  # once, not per id: a roster has hundreds
    ids = [
        subject_id
        for subject_id in dict.fromkeys(subject_ids)
        if subject_id is not None and subject_id != left_out
    ]
    if not ids:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audit_auditentry (at, actor_id, subject_id, action, detail) "
            "SELECT %s, %s, subject_id, %s, %s::jsonb FROM unnest(%s::bigint[]) AS subject_id",
            [timezone.now(), actor.pk, action, json.dumps(detail or {}), ids],
        )
    return len(ids)

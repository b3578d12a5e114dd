"""notify() and everything that decides how a notification reaches a person."""

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Count, F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.accounts.models import User
from backend.errors import ApplicationError
from backend.notifications import channels
from backend.notifications.errors import PermanentDeliveryError, TransientDeliveryError
from backend.notifications.kinds import Kind, get_kind, render
from backend.notifications.live import publish_to_user
from backend.notifications.models import (
    Channel,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    Notification,
    NotificationPreference,
    PushSubscription,
    QuietHours,
    Reminder,
    SmsReplyCode,
    SmsSent,
)
from backend.notifications.names import payload_names
from backend.notifications.selectors import (
    channels_wanted,
    chosen_channels,
    kind_title,
    notification_message,
    preferences_of,
    quiet_until,
    sms_number_for,
    sms_numbers_for,
    sms_sent_today,
)
from backend.task_queue import queue_or_leave_to_sweep


@dataclass(frozen=True)
class ReplyRequest:
    """Ask the SMS recipient to answer JA/NEJ; the answer goes to reply action `action`
    (registered in replies.py) with `object_id`."""

    action: str
    object_id: int
    valid_for: timedelta = timedelta(hours=24)


def notify(
    recipient: User,
    kind: str,
    payload: dict,
    *,
    urgent: bool = False,
    reply: ReplyRequest | None = None,
) -> Notification:
    """Store a notification in `recipient`'s inbox and deliver it on the channels they
    chose, after the surrounding transaction commits (a rolled-back transaction notifies
    nobody). Never raises because a channel is down: the inbox keeps it."""
    spec = get_kind(kind)
    named = payload_names(spec, payload)
    payload = _checked_payload(spec, payload, {recipient.preferred_language})
    with transaction.atomic():
        payload, named = erased_names_replaced(payload, named)
        notification = Notification.objects.create(
            recipient=recipient, kind=kind, payload=payload, named=named, urgent=urgent
        )
        deliveries = Delivery.objects.bulk_create(
            _plan_deliveries(
                notification,
                chosen_channels(recipient, spec),
                push_count=recipient.push_subscriptions.count,
                sms_number=lambda: sms_number_for(recipient),
            )
        )
        if reply is not None and any(
            d.channel == Channel.SMS and d.status == DeliveryStatus.PENDING for d in deliveries
        ):
            sms = next(d for d in deliveries if d.channel == Channel.SMS)
            _reply_code_create(notification, phone=sms.address, reply=reply)
    transaction.on_commit(lambda: _dispatch([(notification, deliveries)]))
    return notification


def notify_many(
    recipients: list[User], kind: str, payload: dict, *, urgent: bool = False
) -> list[Notification]:
    """notify() each of `recipients` with the same payload, in a few queries whatever
    their number (a coordinator's message to every member): the same notifications and
    deliveries as one notify() each."""
    if not recipients:
        return []
    spec = get_kind(kind)
    named = payload_names(spec, payload)
    payload = _checked_payload(spec, payload, {r.preferred_language for r in recipients})
    preferences = preferences_of(recipients, spec)
    push_counts = dict(
        PushSubscription.objects.filter(user__in=recipients)
        .values_list("user")
        .annotate(n=Count("pk"))
        .values_list("user", "n")
    )
    sms_numbers = sms_numbers_for(recipients)
    with transaction.atomic():
        payload, named = erased_names_replaced(payload, named)
        notifications = Notification.objects.bulk_create(
            Notification(recipient=r, kind=kind, payload=payload, named=named, urgent=urgent)
            for r in recipients
        )
        planned = [
            _plan_deliveries(
                notification,
                channels_wanted(recipient, spec, preferences.get(recipient.pk)),
                push_count=lambda pk=recipient.pk: push_counts.get(pk, 0),
                sms_number=lambda pk=recipient.pk: sms_numbers[pk],
            )
            for notification, recipient in zip(notifications, recipients, strict=True)
        ]
        Delivery.objects.bulk_create(d for plan in planned for d in plan)
    transaction.on_commit(lambda: _dispatch(list(zip(notifications, planned, strict=True))))
    return notifications


def _checked_payload(spec: Kind, payload: dict, languages: set[str]) -> dict:
    # Only JSON values travel: the same payload goes to the database, Redis and phones.
    payload = json.loads(json.dumps(payload, cls=DjangoJSONEncoder))
    for language in sorted(languages):
        render(spec, payload, language)  # fails here on a missing field
    return payload


def erased_names_replaced(
    payload: dict, named: dict[str, list[str]]
) -> tuple[dict, dict[str, list[str]]]:
    """`payload` and `named`, with the name fields of people already erased showing what
    erasure made of their name (`named` still says whose they are). Holds a FOR KEY
    SHARE lock on each named person's account row until the transaction ends, as a
    foreign key to them would: a person being erased meanwhile (`person_erase` holds
    their row FOR UPDATE) is erased either before, and read here as erased, or after
    this message is stored, and their erasure finds it. So a name read before the
    erasure began (by a request under way) cannot slip past it."""
    if not named:
        return payload, named
    with connection.cursor() as cursor:
        # Not filtered on erased_at: a row the statement's snapshot shows unerased must be
        # waited for too, and is then read as the erasure left it.
        cursor.execute(
            "SELECT id, full_name, erased_at IS NOT NULL FROM accounts_user"
            " WHERE id = ANY(%s) ORDER BY id FOR KEY SHARE",
            [sorted(int(pk) for pk in named)],
        )
        erased = {str(pk): name for pk, name, is_erased in cursor.fetchall() if is_erased}
    if not erased:
        return payload, named
    payload = dict(payload)
    for pk, name in erased.items():
        for field in named[pk]:
            payload[field] = name
    return payload, named


def _plan_deliveries(
    notification: Notification,
    channels: set[Channel],
    *,
    push_count: Callable[[], int],
    sms_number: Callable[[], str],
) -> list[Delivery]:
    """`push_count` and `sms_number` are asked only when the channel is chosen."""
    plan = []
    for channel in sorted(channels):
        address, skip = "", ""
        if channel == Channel.PUSH:
            count = push_count()
            address, skip = str(count), "" if count else "no push subscription"
        elif channel == Channel.SMS and notification.recipient.phone_unconfirmed:
            skip = "phone number not confirmed"
        elif channel == Channel.SMS:
            address = sms_number()
            skip = "" if address else "no phone number"
        elif channel == Channel.EMAIL and notification.recipient.email_unconfirmed:
            skip = "e-mail address not confirmed"
        elif channel == Channel.EMAIL:
            address = notification.recipient.email
            skip = "" if address else "no e-mail address"
        plan.append(
            Delivery(
                notification=notification,
                channel=channel,
                address=address,
                status=DeliveryStatus.SKIPPED if skip else DeliveryStatus.PENDING,
                detail=skip,
            )
        )
    return plan


def _reply_code_create(notification: Notification, *, phone: str, reply: ReplyRequest) -> None:
    taken = set(
        SmsReplyCode.objects.filter(phone=phone, answered_at__isnull=True).values_list(
            "code", flat=True
        )
    )
    code = next(
        c for c in iter(lambda: f"{secrets.randbelow(9000) + 1000}", None) if c not in taken
    )
    SmsReplyCode.objects.create(
        phone=phone,
        code=code,
        recipient=notification.recipient,
        notification=notification,
        action=reply.action,
        object_id=reply.object_id,
        expires_at=timezone.now() + reply.valid_for,
    )


def _dispatch(planned: list[tuple[Notification, list[Delivery]]]) -> None:
    """Publish the live deliveries of `planned` (notifications with their deliveries)
    and record them, all in a few statements however many (a message to every member);
    queue a task for each of the others."""
    from backend.notifications.tasks import deliver

    live: list[tuple[Delivery, bool]] = []
    for notification, deliveries in planned:
        for delivery in deliveries:
            if delivery.status != DeliveryStatus.PENDING:
                continue
            if delivery.channel == Channel.LIVE:
                live.append((delivery, _publish_live(notification)))
            else:
                # The delivery stays pending; sweep: requeue_stale_deliveries.
                queue_or_leave_to_sweep(deliver, delivery.pk, what=f"delivery {delivery.pk}")
    _record_live_attempts(live)


def _publish_live(notification: Notification) -> bool:
    message = notification_message(notification, language=notification.recipient.preferred_language)
    return publish_to_user(notification.recipient_id, message)


_LIVE_NOT_PUBLISHED = "channel layer unreachable; replayed on reconnect"


def _record_live_attempts(outcomes: list[tuple[Delivery, bool]]) -> None:
    """`_record_attempt` for many live deliveries at once: (delivery, published)."""
    if not outcomes:
        return
    now = timezone.now()
    with transaction.atomic():
        updated = 0
        for published, status, detail in (
            (True, DeliveryStatus.SENT, ""),
            (False, DeliveryStatus.FAILED, _LIVE_NOT_PUBLISHED),
        ):
            ids = [delivery.pk for delivery, ok in outcomes if ok is published]
            if ids:
                updated += Delivery.objects.filter(pk__in=ids).update(
                    status=status,
                    attempts=F("attempts") + 1,
                    detail=detail,
                    provider_ref="",
                    updated_at=now,
                )
        if updated < len(outcomes):
            # Some went with their notification before the commit: erasure deletes the
            # inbox of the person it erases, whom the calling off of their bookings told.
            there = set(
                Delivery.objects.filter(pk__in=[d.pk for d, _ok in outcomes]).values_list(
                    "pk", flat=True
                )
            )
            outcomes = [(delivery, ok) for delivery, ok in outcomes if delivery.pk in there]
        DeliveryAttempt.objects.bulk_create(
            DeliveryAttempt(
                delivery=delivery,
                at=now,
                succeeded=published,
                detail="" if published else _LIVE_NOT_PUBLISHED,
            )
            for delivery, published in outcomes
        )


def _record_attempt(
    delivery: Delivery, *, succeeded: bool, status: str, detail: str = "", provider_ref: str = ""
) -> None:
    Delivery.objects.filter(pk=delivery.pk).update(
        status=status,
        attempts=delivery.attempts + 1,
        detail=detail[:300],
        provider_ref=provider_ref[:100],
        updated_at=timezone.now(),
    )
    DeliveryAttempt.objects.create(delivery=delivery, succeeded=succeeded, detail=detail[:300])


# What erasure replaces: each name field of the person, in every message and reminder
# naming them (the partial GIN indexes notification_named and reminder_named find them).
# `named` stays: the fields still name that person, whose name is now the placeholder.
_FORGET_NAMES = """
UPDATE {table}
   SET payload = payload || coalesce(
         (SELECT jsonb_object_agg(field, %(text)s::text)
            FROM jsonb_array_elements_text(named -> %(person)s) AS field),
         '{{}}'::jsonb)
 WHERE named ? %(person)s AND named <> '{{}}'::jsonb
"""


def notifications_forget_person(*, person_id: int, text: str) -> int:
    """Every message and reminder that shows the name of person `person_id` shows
    `text` instead (erasure's placeholder), in anyone's inbox; returns how many changed.
    One statement per table. Messages stored before names were recorded (no `named`)
    are not found: they go after NOTIFICATION_RETENTION_DAYS (docs/privacy.md)."""
    changed = 0
    with connection.cursor() as cursor:
        for table in (Notification._meta.db_table, Reminder._meta.db_table):
            cursor.execute(
                _FORGET_NAMES.format(table=table), {"person": str(person_id), "text": text}
            )
            changed += cursor.rowcount
    return changed


# --- Sending on the slow channels (called by the Celery task) ---------------------------


@dataclass(frozen=True)
class AttemptOutcome:
    status: str
    retry_at: datetime | None = None


def sms_number_lock(phone: str) -> None:
    """Hold a transaction-scoped lock on sending SMS to `phone` until the transaction
    ends. Taken by each sender that checks SMS_DAILY_CAP (`delivery_attempt`, and the
    invitation SMS of backend/accounts/proxy_invitations.py) from before it counts until
    it has recorded the SMS, so two SMS at once cannot both take the last one of the
    day. Keyed by the number, not the person: a proxy's phone also gets the SMS of the
    people they take SMS for, and a number without an account gets invitations."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"sms-number:{phone}"])


def sms_sent_record(*, phone: str, at: datetime) -> None:
    """Count an SMS sent to `phone` outside a notification (an invitation to help)
    towards the number's SMS_DAILY_CAP. Called by its sender under `sms_number_lock`, in
    the transaction that records the SMS as sent."""
    SmsSent.objects.create(phone=phone, sent_at=at)


def delivery_attempt(*, delivery_id: int, final: bool = False) -> AttemptOutcome:
    """Try to send one pending delivery. Locks the delivery row for the whole attempt, so
    two workers running the same task send once; and, for SMS, the number
    (`sms_number_lock`), so the daily cap holds under concurrency. Raises
    TransientDeliveryError when a later try may succeed (unless `final`, when the
    delivery is marked failed instead)."""
    with transaction.atomic():
        delivery = (
            # The delivery row only: the recipient's account row stays free for everything
            # else that refers to them while the provider is called.
            Delivery.objects.select_for_update(of=("self",))
            .select_related("notification__recipient")
            .filter(pk=delivery_id)
            .first()
        )
        if delivery is None or delivery.status != DeliveryStatus.PENDING:
            return AttemptOutcome(status=delivery.status if delivery else "gone")
        notification = delivery.notification
        recipient = notification.recipient
        now = timezone.now()
        if delivery.channel == Channel.SMS:
            if not notification.urgent:
                until = quiet_until(recipient, now)
                if until is not None:
                    # The sweeper (requeue_stale_deliveries) sends it when they end.
                    Delivery.objects.filter(pk=delivery.pk).update(not_before=until)
                    return AttemptOutcome(status=DeliveryStatus.PENDING, retry_at=until)
            sms_number_lock(delivery.address)
            if sms_sent_today(phone=delivery.address, now=now) >= settings.SMS_DAILY_CAP:
                _record_attempt(
                    delivery,
                    succeeded=False,
                    status=DeliveryStatus.SKIPPED,
                    detail="daily SMS limit reached; kept in the inbox",
                )
                return AttemptOutcome(status=DeliveryStatus.SKIPPED)
        try:
            provider_ref = channels.send(delivery, notification)
        except TransientDeliveryError as error:
            if final:
                _record_attempt(
                    delivery,
                    succeeded=False,
                    status=DeliveryStatus.FAILED,
                    detail=f"gave up: {error}",
                )
                return AttemptOutcome(status=DeliveryStatus.FAILED)
            _record_attempt(
                delivery, succeeded=False, status=DeliveryStatus.PENDING, detail=str(error)
            )
            retry_error = error
        except PermanentDeliveryError as error:
            _record_attempt(
                delivery, succeeded=False, status=DeliveryStatus.FAILED, detail=str(error)
            )
            return AttemptOutcome(status=DeliveryStatus.FAILED)
        else:
            _record_attempt(
                delivery, succeeded=True, status=DeliveryStatus.SENT, provider_ref=provider_ref
            )
            return AttemptOutcome(status=DeliveryStatus.SENT)
    # Raised once the transaction has committed: raised inside it, it would roll back the
    # attempt just recorded (and the push subscriptions found gone).
    raise retry_error


# --- The person's own actions -------------------------------------------------------------


def notifications_mark_read(
    *, user: User, up_to_id: int | None = None, ids: list[int] | None = None
) -> int:
    """Mark some (by id) or all up to an id as read; returns how many changed."""
    unread = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(id__in=ids)
    if up_to_id is not None:
        unread = unread.filter(id__lte=up_to_id)
    return unread.update(read_at=timezone.now())


def deliveries_requeue_stale(*, older_than: timedelta = timedelta(minutes=10)) -> int:
    """Queue again the deliveries left pending: queued while the broker was down, lost
    with a worker, or held back by quiet hours that have now ended. The task is
    idempotent, so a duplicate costs nothing."""
    from backend.notifications.tasks import deliver

    now = timezone.now()
    stale = Delivery.objects.filter(
        Q(not_before__isnull=True, updated_at__lt=now - older_than) | Q(not_before__lte=now),
        status=DeliveryStatus.PENDING,
        channel__in=[Channel.PUSH, Channel.SMS, Channel.EMAIL],
    )
    ids = list(stale.values_list("pk", flat=True)[:1000])
    for delivery_id in ids:
        deliver.delay(delivery_id)
    return len(ids)


def preferences_set(
    *,
    user: User,
    channels_by_kind: dict[str, list[str]] | None = None,
    quiet_hours: tuple[time, time] | None = None,
) -> None:
    """Replace the person's channel choices for the given kinds and their quiet hours."""
    from backend.notifications.kinds import KINDS

    with transaction.atomic():
        for kind, chosen in (channels_by_kind or {}).items():
            if kind not in KINDS:
                raise ApplicationError(
                    "unknown_kind",
                    _("There is no notification called %(kind)s.") % {"kind": kind},
                    fields={"kinds": [_("Unknown kind.")]},
                )
            unknown = set(chosen) - set(Channel.values)
            if unknown:
                raise ApplicationError(
                    "unknown_channel",
                    _("Choose channels among live, push, sms and email."),
                    fields={"kinds": [_("Unknown channel.")]},
                )
            refused = set(chosen) - set(KINDS[kind].channels)
            if refused:
                raise ApplicationError(
                    "channel_not_allowed",
                    _("“%(kind)s” is not sent by %(channel)s.")
                    % {
                        "kind": kind_title(KINDS[kind]),
                        "channel": Channel(min(refused)).label,
                    },
                    fields={"kinds": [_("Not sent by this channel.")]},
                )
            NotificationPreference.objects.update_or_create(
                user=user, kind=kind, defaults={"channels": sorted(set(chosen))}
            )
        if quiet_hours is not None:
            start, end = quiet_hours
            if start == end:
                raise ApplicationError(
                    "quiet_hours_empty",
                    _("Quiet hours need a start and an end that differ, like 21:00 to 08:00."),
                    fields={"quiet_hours": [_("Start and end are the same.")]},
                )
            QuietHours.objects.update_or_create(user=user, defaults={"start": start, "end": end})

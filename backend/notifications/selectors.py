from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import (
    DateTimeField,
    ExpressionWrapper,
    QuerySet,
    Subquery,
    Value,
)

from backend.accounts.models import ProxyLink, User
from backend.db import fetch_instances
from backend.notifications.kinds import KINDS, Kind, get_kind, render
from backend.notifications.models import (
    Channel,
    Delivery,
    DeliveryStatus,
    Notification,
    NotificationPreference,
    QuietHours,
    SmsSent,
)

STOCKHOLM = ZoneInfo("Europe/Stockholm")

REPLAY_LIMIT = 500


def inbox(*, user: User) -> QuerySet[Notification]:
    return Notification.objects.filter(recipient=user).order_by("-id")


def unread_of(*, user: User, limit: int) -> list[Notification]:
    """The newest `limit` notifications `user` has not read, newest first: `inbox`'s
    unread ones, written as SQL since it runs on every start page."""
    return fetch_instances(
        Notification,
        """
        SELECT * FROM notifications_notification
         WHERE recipient_id = %s AND read_at IS NULL ORDER BY id DESC LIMIT %s
        """,
        [user.pk, limit],
    )


def unread_count(*, user: User) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def notifications_since(*, user: User, since_id: int) -> list[Notification]:
    """What a client reconnecting after `since_id` (the highest id it has) may have
    missed, oldest first: every notification after it, and those at or below it made
    within NOTIFY_REPLAY_OVERLAP before it. Ids are given at insert, not at commit: a
    notification of a long transaction can commit after a newer one reached the client,
    while the client is offline; its id is then below `since_id`. The client drops the
    ids it already has. At most REPLAY_LIMIT, the newest; the client pages the inbox for
    anything older.

    Two parts, each one range of its own index (`notification_inbox` after the id,
    `notification_recent` for the overlap): with one OR-ed filter PostgreSQL walked the
    ids down to the first, as it cannot tell where the overlap ends. The page shell
    (webapp/views/common.py) repeats the overlap in SQL: the ids a page already shows."""
    mine = Notification.objects.filter(recipient=user)
    after = mine.filter(id__gt=since_id).order_by("-id")[:REPLAY_LIMIT]
    below = mine.filter(id__lte=since_id)
    newest_at = Subquery(below.order_by("-id").values("created_at")[:1])  # NULL: no overlap
    overlap_start = ExpressionWrapper(
        newest_at - Value(timedelta(seconds=settings.NOTIFY_REPLAY_OVERLAP)),
        output_field=DateTimeField(),
    )
    overlap = below.filter(created_at__gte=overlap_start).order_by("-created_at")[:REPLAY_LIMIT]
    newest = after.union(overlap, all=True).order_by("-id")
    return list(reversed(newest[:REPLAY_LIMIT]))


def notification_message(notification: Notification, *, language: str) -> dict:
    """The JSON a client receives, live or on replay."""
    title, body = render(get_kind(notification.kind), notification.payload, language)
    return {
        "type": "notification",
        "id": notification.id,
        "kind": notification.kind,
        "title": title,
        "body": body,
        "payload": notification.payload,
        "urgent": notification.urgent,
        "created_at": notification.created_at.isoformat(),
        "read": notification.read_at is not None,
    }


def preferences_for(*, user: User) -> dict:
    """Every kind with the channels it may use and those this person gets it on."""
    overrides = set(NotificationPreference.objects.filter(user=user).values_list("kind", flat=True))
    start, end = quiet_hours_for(user)
    return {
        "kinds": [
            {
                "kind": kind.code,
                "title": kind_title(kind),
                "allowed_channels": sorted(kind.channels),
                "channels": sorted(chosen_channels(user, kind)),
                "customised": kind.code in overrides,
            }
            for kind in KINDS.values()
        ],
        "quiet_hours": {"start": start, "end": end},
    }


def kind_title(kind: Kind) -> str:
    """A kind's title without a payload, in the active language: "Welcome to …"."""
    return str(kind.title) % _Placeholders()


class _Placeholders(dict):
    """Shows a kind's title without a payload: "Welcome to …"."""

    def __missing__(self, key: str) -> str:
        return "…"


def chosen_channels(recipient: User, spec: Kind) -> set[Channel]:
    """The channels this person wants for this kind, within what the kind allows."""
    preference = NotificationPreference.objects.filter(user=recipient, kind=spec.code).first()
    return channels_wanted(recipient, spec, preference)


def preferences_of(recipients: list[User], spec: Kind) -> dict[int, NotificationPreference]:
    """chosen_channels' preferences for many people at once: one query."""
    return {
        preference.user_id: preference
        for preference in NotificationPreference.objects.filter(user__in=recipients, kind=spec.code)
    }


def channels_wanted(
    recipient: User, spec: Kind, preference: NotificationPreference | None
) -> set[Channel]:
    """chosen_channels with the person's preference for the kind (None: none set)."""
    if preference is not None:
        wanted = {Channel(c) for c in preference.channels}
    else:
        wanted = {Channel.LIVE}
        if recipient.contact_by_push:
            wanted.add(Channel.PUSH)
        if recipient.contact_by_sms:
            wanted.add(Channel.SMS)
        if recipient.contact_by_email:
            wanted.add(Channel.EMAIL)
    if recipient.is_managed:
        # No login, so no app to show it live or to push to.
        wanted -= {Channel.LIVE, Channel.PUSH}
    else:
        # The app always shows it live: a preference cannot make the inbox go silent.
        wanted.add(Channel.LIVE)
    return wanted & set(spec.channels)


def sms_number_for(recipient: User) -> str:
    """Their own phone, or (for someone without one) the proxy who takes their SMS, once
    that proxy has accepted and confirmed their number."""
    if recipient.phone:
        return recipient.phone
    link = (
        recipient.proxy_links.accepted()
        .filter(receives_sms_for_resident=True, proxy__phone_confirmed_at__isnull=False)
        .select_related("proxy")
        .first()
    )
    return link.proxy.phone if link else ""


def sms_numbers_for(recipients: list[User]) -> dict[int, str]:
    """sms_number_for of many people at once: at most one query."""
    numbers = {person.pk: person.phone for person in recipients}
    without = [pk for pk, phone in numbers.items() if not phone]
    if without:
        links = (
            ProxyLink.objects.accepted()
            .filter(
                resident_id__in=without,
                receives_sms_for_resident=True,
                proxy__phone_confirmed_at__isnull=False,
            )
            .order_by("-pk")  # the first link of each resident is the one left in the dict
            .values_list("resident_id", "proxy__phone")
        )
        numbers.update(dict(links))
    return numbers


def sms_sent_today(*, phone: str, now: datetime) -> int:
    """How many SMS went to `phone` (E.164) since local midnight: notifications' SMS and
    invitations to help (backend/accounts/proxy_invitations.py; counted by their
    `SmsSent`, which outlives a claimed or expired invitation). What SMS_DAILY_CAP
    counts, for both senders. Sign-in codes are not counted: they are asked for by
    the phone's owner, under their own limits (backend/accounts/login_codes.py)."""
    midnight = datetime.combine(now.astimezone(STOCKHOLM).date(), time(), tzinfo=STOCKHOLM)
    deliveries = Delivery.objects.filter(
        channel=Channel.SMS, status=DeliveryStatus.SENT, address=phone, updated_at__gte=midnight
    ).count()
    others = SmsSent.objects.filter(phone=phone, sent_at__gte=midnight).count()
    return deliveries + others


def quiet_hours_for(user: User) -> tuple[time, time]:
    quiet = QuietHours.objects.filter(user=user).first()
    if quiet is not None:
        return quiet.start, quiet.end
    return settings.NOTIFY_QUIET_HOURS


def quiet_until(user: User, now: datetime) -> datetime | None:
    """When quiet hours end, if `now` falls within them (local time; spans midnight)."""
    return quiet_hours_end(quiet_hours_for(user), now)


def quiet_hours_end(hours: tuple[time, time], now: datetime) -> datetime | None:
    """When the quiet hours `hours` (start, end) end, if `now` falls within them."""
    start, end = hours
    local = now.astimezone(STOCKHOLM)
    clock = local.time()
    inside = start <= clock < end if start < end else clock >= start or clock < end
    if not inside:
        return None
    day = local.date() if clock < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=STOCKHOLM)

"""Requests to help sent to a phone number nobody signs in with yet (`ProxyInvitation`).

Whoever asks gets the same answer whether or not the number has an account, so the
request is stored under the number and the number gets one SMS saying who asks and how
to join. A login whose number is not confirmed counts as no account here: anyone can
type anyone's number. When a login confirms the number as theirs (a code texted to it
comes back, or staff type it in the admin), each invitation becomes a pending
`ProxyLink` they can accept or decline, as if they had had an account all along.

Storing an invitation and claiming the number's invitations take the same lock
(`phone_number_lock`), so an invitation stored while its number is confirmed is never
missed: one of the two sees the other.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from backend.accounts.models import (
    InvitationSmsOutcome,
    Language,
    ProxyInvitation,
    ProxyLink,
    User,
)
from backend.notifications.errors import PermanentDeliveryError, TransientDeliveryError
from backend.notifications.names import PersonName
from backend.notifications.selectors import quiet_hours_end, sms_sent_today
from backend.notifications.services import notify, sms_number_lock, sms_sent_record
from backend.notifications.sms import send_sms

logger = logging.getLogger(__name__)

# A number gets at most one invitation SMS in this time, however many ask it: a phone
# that belongs to nobody in Samby must not become a target for messages. Only an SMS
# that was sent counts: one skipped or failed does not start the time again. The SMS
# also counts towards the number's SMS_DAILY_CAP, and respects it (it waits).
SMS_INTERVAL = timedelta(hours=24)
# An SMS not sent by then (provider down all day) is given up: the request still waits.
SMS_GIVE_UP_AFTER = timedelta(hours=24)


def phone_number_lock(phone: str) -> None:
    """Hold a transaction-scoped lock on `phone` (E.164) until the transaction ends.
    Taken by whoever stores an invitation to the number and whoever gives a login the
    number, in that order of checks, so neither misses the other's row. (The SMS
    sender takes `sms_number_lock` instead, shared with notifications' SMS.)"""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"proxy-invitation:{phone}"])


def invitations_expire_before(now: datetime | None = None) -> datetime:
    """Invitations stored before this have expired (PROXY_INVITATION_DAYS)."""
    return (now or timezone.now()) - timedelta(days=settings.PROXY_INVITATION_DAYS)


@transaction.atomic
def proxy_invitations_claim(*, user: User) -> list[ProxyLink]:
    """Turn the unexpired invitations to `user`'s confirmed phone number into pending
    links to them, each with the usual `proxy.invited` notification; the invitations go
    (an SMS sent for one still counts towards the number's daily cap: `SmsSent`).
    Called when the number is confirmed (`user_phone_confirmed`: a code texted to it
    came back) and when staff save a confirmed number in the admin. Signing in with a
    password does not: by then nothing is left to claim, as every way a number gets
    confirmed claims at once. Safe to call again: there is nothing left to claim. Locks
    the number (`phone_number_lock`)."""
    if user.is_managed or not user.phone or not user.is_active or not user.phone_confirmed_at:
        return []
    phone_number_lock(user.phone)
    invitations = list(
        ProxyInvitation.objects.filter(phone=user.phone)
        .select_related("resident")
        .order_by("created_at", "pk")
    )
    if not invitations:
        return []
    cutoff = invitations_expire_before()
    links = []
    for invitation in invitations:
        resident = invitation.resident
        if invitation.created_at < cutoff or resident.pk == user.pk or not resident.is_active:
            continue
        link, created = ProxyLink.objects.get_or_create(
            resident=resident,
            proxy=user,
            defaults={
                "relationship": invitation.relationship,
                "created_by": invitation.created_by,
                "invited_as": invitation.invited_as,
            },
        )
        if created:
            notify(
                user,
                "proxy.invited",
                {
                    "resident": PersonName.of(resident),
                    "resident_id": resident.pk,
                    "proxy_id": user.pk,
                },
            )
            links.append(link)
    ProxyInvitation.objects.filter(pk__in=[i.pk for i in invitations]).delete()
    return links


def invitation_sms_language(invitation: ProxyInvitation) -> str:
    """The language of an invitation's SMS: that of whoever asks, else the resident's,
    else Swedish. Nothing is known of the person with the number, and the asker is the
    one most likely to share a language with them (a daughter asked by her parent)."""
    for person in (invitation.created_by, invitation.resident):
        if person is not None and person.preferred_language in Language.values:
            return person.preferred_language
    return Language.SWEDISH


def invitation_sms_text(invitation: ProxyInvitation) -> str:
    """Who asks, for whom, and how to answer, in `invitation_sms_language`. No more of
    the resident than their name."""
    resident = invitation.resident.full_name
    asker = invitation.created_by
    # The web app's "create an account" page (webapp:join; a test holds the two together).
    values = {"resident": resident, "url": f"{settings.SITE_URL.rstrip('/')}/join"}
    with translation.override(invitation_sms_language(invitation)):
        if asker is None or asker.pk == invitation.resident_id:
            text = _(
                "Samby: %(resident)s asks you to help them book and follow rides. "
                "To answer, join Samby with this phone number: %(url)s"
            )
            return str(text) % values
        text = _(
            "Samby: %(asker)s asks you to help %(resident)s book and follow rides. "
            "To answer, join Samby with this phone number: %(url)s"
        )
        return str(text) % {**values, "asker": asker.full_name}


def proxy_invitation_sms_send(*, invitation_id: int, final: bool = False) -> str:
    """Send an invitation's SMS, once. Returns what became of it: "sent", "skipped" (the
    number was sent one within SMS_INTERVAL), "failed", "waiting" (quiet hours, or the
    number had SMS_DAILY_CAP SMS today: the sweep tries again later), or "gone"
    (claimed, expired, or done already); the first three are stored as its
    `sms_outcome`. Locks the invitation row for the attempt, so two workers send once,
    and the number (`sms_number_lock`), so two invitations to it at once send one SMS
    between them and the daily cap holds against notifications' SMS to it too. Raises
    TransientDeliveryError when a later try may succeed, unless `final`."""
    now = timezone.now()
    with transaction.atomic():
        invitation = (
            ProxyInvitation.objects.select_for_update(of=("self",))
            .select_related("resident", "created_by")
            .filter(pk=invitation_id, sms_done_at__isnull=True)
            .first()
        )
        if invitation is None:
            return "gone"
        if quiet_hours_end(settings.NOTIFY_QUIET_HOURS, now) is not None:
            return "waiting"
        sms_number_lock(invitation.phone)
        recent = ProxyInvitation.objects.filter(
            phone=invitation.phone,
            sms_outcome=InvitationSmsOutcome.SENT,
            sms_done_at__gte=now - SMS_INTERVAL,
        ).exclude(pk=invitation.pk)
        if recent.exists():
            outcome = InvitationSmsOutcome.SKIPPED.value
        elif sms_sent_today(phone=invitation.phone, now=now) >= settings.SMS_DAILY_CAP:
            # Waits rather than skipped like a notification's SMS past the cap: that one
            # is still in the person's inbox, but this SMS is all the number's owner
            # would ever see of the request. The sweep sends it on a later day, while
            # SMS_GIVE_UP_AFTER allows.
            logger.info("invitation %s: SMS waits, the number's day is full", invitation.pk)
            return "waiting"
        else:
            outcome = _send(invitation, final=final)
        if outcome != "retry":
            ProxyInvitation.objects.filter(pk=invitation.pk).update(
                sms_done_at=now, sms_outcome=outcome
            )
            if outcome == InvitationSmsOutcome.SENT:
                # Counted apart from the invitation, which a claim removes the same day.
                sms_sent_record(phone=invitation.phone, at=now)
            return outcome
    # Raised after the transaction: the invitation stays unsent for the next try.
    raise TransientDeliveryError(f"invitation {invitation_id}: SMS not sent yet")


def _send(invitation: ProxyInvitation, *, final: bool) -> str:
    try:
        send_sms(to=invitation.phone, text=invitation_sms_text(invitation))
    except TransientDeliveryError as error:
        if not final:
            logger.info("invitation %s: SMS to try again: %s", invitation.pk, error)
            return "retry"
        logger.warning("invitation %s: SMS given up: %s", invitation.pk, error)
        return "failed"
    except PermanentDeliveryError as error:
        logger.warning("invitation %s: SMS refused: %s", invitation.pk, error)
        return "failed"
    return "sent"


def proxy_invitations_sms_sweep(*, now: datetime | None = None) -> int:
    """Queue the SMS of invitations still unsent a few minutes after they were stored
    (held back by quiet hours, the broker was down, the provider failed), for a day at
    most (SMS_GIVE_UP_AFTER); the task sends each once. Returns how many were queued."""
    from backend.accounts.tasks import send_proxy_invitation_sms

    now = now or timezone.now()
    if quiet_hours_end(settings.NOTIFY_QUIET_HOURS, now) is not None:
        return 0
    waiting = ProxyInvitation.objects.filter(
        sms_done_at__isnull=True,
        created_at__lt=now - timedelta(minutes=5),
        created_at__gte=now - SMS_GIVE_UP_AFTER,
    ).values_list("pk", flat=True)
    count = 0
    for invitation_id in waiting:
        send_proxy_invitation_sms.delay(invitation_id)
        count += 1
    return count

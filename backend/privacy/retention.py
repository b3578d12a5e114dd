"""How long Samby keeps what (docs/privacy.md, "Retention"). Each job removes what is
older than its period (a setting, from the environment) and keeps what the statistics
need: places become coarse points that stay in the same map cell and village (see
backend/privacy/points.py), rows that are counted stay. Each job is safe to run twice:
what is already forgotten is not found again.

The periods and what each job removes are listed in docs/privacy.md ("Retention").
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from backend.accounts.models import LoginCode, ProxyInvitation
from backend.accounts.proxy_invitations import invitations_expire_before
from backend.audit.models import AuditEntry
from backend.carpool.models import Booking as SeatBooking
from backend.carpool.models import Trip
from backend.community.models import AssociationMessage
from backend.notifications.models import (
    SMS_SENT_KEPT,
    InboundSms,
    Notification,
    Reminder,
    SmsReplyCode,
    SmsSent,
)
from backend.privacy.erase import (
    rides_forget_places,
    run_signups_forget_places,
    seat_bookings_forget_places,
    trip_forget_places,
)
from backend.privacy.points import is_coarse
from backend.rides.models import DriverProfile, RideRequest
from backend.sharing.models import Booking as ThingBooking
from backend.sharing.models import WaitlistEntry
from backend.shuttle.models import RunSignup


def _delete(rows) -> int:
    """Deletes `rows`; the count is of those rows, not of what went with them."""
    return rows.delete()[1].get(rows.model._meta.label, 0)


def _days_ago(days: int, now: datetime | None) -> datetime:
    return (now or timezone.now()) - timedelta(days=days)


@transaction.atomic
def rides_forget_old_places(*, now: datetime | None = None) -> int:
    """Closed rides, RIDES_RETENTION_DAYS after they closed."""
    cutoff = _days_ago(settings.RIDES_RETENTION_DAYS, now)
    return rides_forget_places(RideRequest.objects.filter(closed_at__lt=cutoff))


@transaction.atomic
def seat_bookings_forget_old_places(*, now: datetime | None = None) -> int:
    """Seat bookings whose pickup time is CARPOOL_RETENTION_DAYS past, whatever became
    of them (a booking still "requested" then was never answered)."""
    cutoff = _days_ago(settings.CARPOOL_RETENTION_DAYS, now)
    return seat_bookings_forget_places(SeatBooking.objects.filter(pickup_at__lt=cutoff))


@transaction.atomic
def trips_forget_old_places(*, now: datetime | None = None) -> int:
    """A trip whose last departure is CARPOOL_RETENTION_DAYS past and that repeats no
    more: its addresses and note go, its ends become coarse and its route (which starts
    at the driver's door) a straight line between them. Distance and seats stay."""
    cutoff = _days_ago(settings.CARPOOL_RETENTION_DAYS, now)
    # No departure after the cutoff: a trip that still repeats has later ones.
    done = Trip.objects.annotate(last=Max("occurrences__departure_at")).filter(
        Q(last__lt=cutoff) | Q(last__isnull=True, first_departure__lt=cutoff)
    )
    count = 0
    for trip in done.iterator(chunk_size=500):
        if (
            not (trip.origin_address or trip.destination_address or trip.note)
            and is_coarse(trip.origin)
            and is_coarse(trip.destination)
        ):
            continue
        trip_forget_places(trip)
        count += 1
    return count


@transaction.atomic
def run_signups_forget_old_places(*, now: datetime | None = None) -> int:
    """Shop run sign-ups, SHUTTLE_RETENTION_DAYS after the run."""
    cutoff = _days_ago(settings.SHUTTLE_RETENTION_DAYS, now)
    return run_signups_forget_places(RunSignup.objects.filter(occurrence__arrive_at__lt=cutoff))


@transaction.atomic
def sharing_forget_old_texts(*, now: datetime | None = None) -> int:
    """Bookings of shared things store no addresses (a thing's place is the thing's, and
    made coarse when its owner is erased); what a person wrote on a booking goes
    SHARING_RETENTION_DAYS after its end, and waiting-list entries whose period ended."""
    cutoff = _days_ago(settings.SHARING_RETENTION_DAYS, now)
    written = ~Q(note="") | ~Q(reason="") | ~Q(condition_out="") | ~Q(condition_in="")
    count = (
        ThingBooking.objects.filter(ends_at__lt=cutoff)
        .filter(written)
        .update(note="", reason="", condition_out="", condition_in="")
    )
    count += _delete(WaitlistEntry.objects.filter(ends_at__lt=cutoff))
    return count


def driver_positions_drop_stale(*, now: datetime | None = None) -> int:
    """A driver's live position is for the board and for matching while it is fresh
    (dispatch uses it for 15 minutes); after DRIVER_POSITION_RETENTION_MINUTES it goes.
    One conditional UPDATE: a position sent meanwhile is newer and stays."""
    cutoff = (now or timezone.now()) - timedelta(minutes=settings.DRIVER_POSITION_RETENTION_MINUTES)
    return DriverProfile.objects.filter(position_at__lt=cutoff).update(
        position=None, position_at=None
    )


@transaction.atomic
def notifications_delete_old(*, now: datetime | None = None) -> int:
    """Inbox messages (their deliveries, with the address each went to, and the
    attempts go with them), reminders done with, and coordinators' messages to every
    member (the same texts as those inbox messages), NOTIFICATION_RETENTION_DAYS old."""
    cutoff = _days_ago(settings.NOTIFICATION_RETENTION_DAYS, now)
    count = _delete(
        Reminder.objects.filter(
            Q(sent_at__lt=cutoff) | Q(cancelled_at__lt=cutoff) | Q(due_at__lt=cutoff)
        )
    )
    count += _delete(AssociationMessage.objects.filter(sent_at__lt=cutoff))
    return count + _delete(Notification.objects.filter(created_at__lt=cutoff))


@transaction.atomic
def sms_delete_old(*, now: datetime | None = None) -> int:
    """SMS that reached us (sender, text), reply codes and sign-in codes, SMS_RETENTION_DAYS
    old. Codes are useless long before; they are kept only that long to answer a
    question about a message. The record that an invitation SMS went to a number
    (`SmsSent`) goes after SMS_SENT_KEPT."""
    cutoff = _days_ago(settings.SMS_RETENTION_DAYS, now)
    count = _delete(InboundSms.objects.filter(received_at__lt=cutoff))
    count += _delete(SmsReplyCode.objects.filter(expires_at__lt=cutoff))
    # Counted SMS to a number only matter the day they were sent (SMS_DAILY_CAP).
    count += _delete(SmsSent.objects.filter(sent_at__lt=(now or timezone.now()) - SMS_SENT_KEPT))
    return count + _delete(LoginCode.objects.filter(expires_at__lt=cutoff))


def proxy_invitations_delete_old(*, now: datetime | None = None) -> int:
    """Requests to help sent to numbers without an account, unanswered for
    PROXY_INVITATION_DAYS: the number and the resident's request go."""
    return _delete(ProxyInvitation.objects.filter(created_at__lt=invitations_expire_before(now)))


def audit_entries_delete_old(*, now: datetime | None = None) -> int:
    """The audit log, AUDIT_RETENTION_DAYS back."""
    return _delete(AuditEntry.objects.filter(at__lt=_days_ago(settings.AUDIT_RETENTION_DAYS, now)))


JOBS = {
    "carpool_bookings": seat_bookings_forget_old_places,
    "carpool_trips": trips_forget_old_places,
    "shop_run_signups": run_signups_forget_old_places,
    "sharing": sharing_forget_old_texts,
    "notifications": notifications_delete_old,
    "sms": sms_delete_old,
    "audit": audit_entries_delete_old,
    "proxy_invitations": proxy_invitations_delete_old,
}


def personal_data_forget_old(*, now: datetime | None = None) -> dict[str, int]:
    """The daily jobs (rides have their own task, drivers' positions a frequent one),
    each in its own transaction, so one that fails leaves the others done."""
    return {name: job(now=now) for name, job in JOBS.items()}

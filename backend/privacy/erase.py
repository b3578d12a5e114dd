"""Erasing a person: what is left of them after their account is erased.

Erasure anonymises rather than deletes. The rows that the municipality statistics are
made of (rides, seat bookings, shop run sign-ups, bookings of shared things, the person's
row itself) stay, without names, contact details, addresses, free text or exact points,
so the counts of requests, kilometres and distinct people served do not change, not even
after the nightly rebuild: the birth year (the elderly counts), whether the person was a
managed profile, and the statistics' village and map cell of every point are kept (see
backend/privacy/points.py). Everything else about the person is deleted.

Cancelling what has not happened yet comes first and is the caller's
(`dispatch.privacy.person_erase`), since it starts dispatch work (new offers, replanned
shop runs); `person_anonymise` then removes the person.
"""

from enum import StrEnum
from importlib import import_module

from django.conf import settings
from django.contrib.gis.geos import LineString, Point
from django.contrib.sessions.models import Session
from django.db import connection
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework.authtoken.models import Token

from backend.accounts.models import LoginCode, ProxyInvitation, ProxyLink, User
from backend.carpool.models import Booking as SeatBooking
from backend.carpool.models import Rating, Report, SavedSearch, Trip, TripOccurrence
from backend.community.models import (
    AssociationMessage,
    Membership,
    MembershipState,
    MunicipalityAnalyst,
)
from backend.errors import ApplicationError, ErrorKind
from backend.geo import approximate
from backend.notifications.models import (
    InboundSms,
    Notification,
    NotificationPreference,
    PushSubscription,
    QuietHours,
    Reminder,
    SmsReplyCode,
    SmsSent,
)
from backend.notifications.services import notifications_forget_person
from backend.privacy.points import is_coarse, point_for_statistics
from backend.rides.models import (
    AvailabilityException,
    AvailabilitySlot,
    AvailabilityWindow,
    DriverProfile,
    MileageClaim,
    RideEvent,
    RideRequest,
)
from backend.sharing.models import Booking as ThingBooking
from backend.sharing.models import (
    CalendarFeed,
    Clearance,
    Resource,
    ResourcePhoto,
    WaitlistEntry,
)
from backend.shuttle.models import RunSignup, StandingSignup
from backend.stats.refresh import stats_person_changed

ERASED_NAME = "—"


class PrivacyErrorCode(StrEnum):
    DRIVER_ON_THE_ROAD = "erase_driver_on_the_road"
    ALREADY_ERASED = "already_erased"
    NOT_CONFIRMED = "erase_not_confirmed"


def already_erased() -> ApplicationError:
    return ApplicationError(
        PrivacyErrorCode.ALREADY_ERASED,
        _("This account is already erased."),
        kind=ErrorKind.CONFLICT,
    )


def _coarse(point: Point | None, association_id: int) -> Point | None:
    return point_for_statistics(point, association_id=association_id) if point else None


def _forgotten(row, points: tuple[str, ...], texts: tuple[str, ...]) -> bool:
    return all(is_coarse(getattr(row, name)) for name in points) and not any(
        getattr(row, name) for name in texts
    )


def _forget(rows, association_of, points: tuple[str, ...], texts: tuple[str, ...]) -> int:
    """Coarse points, empty texts, for each row of `rows` not already so. Safe to run
    twice: a coarse point stays where it is and is not written again."""
    count = 0
    for row in rows.iterator(chunk_size=1000):
        if _forgotten(row, points, texts):
            continue
        association_id = association_of(row)
        for name in points:
            setattr(row, name, _coarse(getattr(row, name), association_id))
        for name in texts:
            setattr(row, name, "")
        row.save(update_fields=[*points, *texts])
        count += 1
    return count


RIDE_PLACES = (("pickup", "destination"), ("pickup_address", "destination_address", "note"))
SEAT_PLACES = (("pickup", "dropoff"), ("pickup_address", "dropoff_address", "message"))
SIGNUP_PLACES = (("pickup",), ("pickup_address", "note"))


def rides_forget_places(rides) -> int:
    """Rides without addresses, notes or exact points (the rides stay for statistics), and
    without the texts of their mileage claims."""
    mileage_claims_forget_texts(rides)
    return _forget(rides, lambda ride: ride.association_id, *RIDE_PLACES)


def mileage_claims_forget_texts(rides) -> int:
    """The driver's explanation and the coordinator's reason on the mileage claims of
    `rides`: free text like a ride's note, which may tell where someone went. The claims
    and their kilometres stay (they are what was paid)."""
    return (
        MileageClaim.objects.filter(ride__in=rides)
        .exclude(explanation="", decline_reason="")
        .update(explanation="", decline_reason="")
    )


def seat_bookings_forget_places(bookings) -> int:
    return _forget(
        bookings.select_related("occurrence__trip"),
        lambda booking: booking.occurrence.trip.association_id,
        *SEAT_PLACES,
    )


_KEEP_SHOP_DISTANCE = """
UPDATE shuttle_runsignup s SET pickup_to_shop_m = ST_Distance(s.pickup, sch.destination)
FROM shuttle_runoccurrence o JOIN shuttle_runschedule sch ON sch.id = o.schedule_id
WHERE o.id = s.occurrence_id AND s.id = ANY(%s) AND s.pickup_to_shop_m IS NULL
"""


def run_signups_forget_places(signups) -> int:
    # The statistics measure a sign-up's passenger km from its pickup: kept first.
    with connection.cursor() as cursor:
        cursor.execute(_KEEP_SHOP_DISTANCE, [list(signups.values_list("pk", flat=True))])
    return _forget(
        signups.select_related("occurrence"),
        lambda signup: signup.occurrence.association_id,
        *SIGNUP_PLACES,
    )


def _trips_anonymise(user: User) -> None:
    for trip in Trip.objects.filter(driver=user):
        trip_forget_places(trip)


def trip_forget_places(trip: Trip) -> None:
    """The trip keeps its distance, seats and association; the ends become coarse, the
    addresses, note and places on the way go, and the route becomes a straight line
    between the coarse ends (a route starts at the driver's door)."""
    origin = _coarse(trip.origin, trip.association_id)
    destination = _coarse(trip.destination, trip.association_id)
    line = LineString(origin, destination, srid=4326)
    Trip.objects.filter(pk=trip.pk).update(
        origin=origin,
        destination=destination,
        origin_address="",
        destination_address="",
        note="",
        via=None,
        route=line,
    )
    TripOccurrence.objects.filter(trip=trip).update(route=line)


def _sharing_anonymise(user: User) -> None:
    for resource in Resource.objects.filter(owner=user):
        Resource.objects.filter(pk=resource.pk).update(
            title=resource.category,
            pickup_instructions="",
            key_location="",
            active=False,
            location=_coarse(resource.location, resource.association_id),
        )
    for photo in ResourcePhoto.objects.filter(resource__owner=user):
        photo.image.delete(save=False)
        photo.delete()
    ThingBooking.objects.filter(booker=user).update(
        note="", reason="", condition_out="", condition_in=""
    )
    Clearance.objects.filter(user=user).delete()
    WaitlistEntry.objects.filter(user=user).delete()
    CalendarFeed.objects.filter(user=user).delete()


def _driver_anonymise(user: User) -> None:
    for profile in DriverProfile.objects.filter(membership__user=user):
        mileage_claims_forget_texts(RideRequest.objects.filter(driver=profile))
        AvailabilitySlot.objects.filter(driver=profile).delete()
        AvailabilityException.objects.filter(driver=profile).delete()
        AvailabilityWindow.objects.filter(driver=profile).delete()
        profile.home_base = approximate(profile.home_base, grid_m=5000)
        profile.vehicle_description = ""
        profile.active = profile.on_duty = False
        profile.position = profile.position_at = None
        profile.save()


def person_anonymise(*, user: User) -> User:
    """Remove `user` for good: the caller has cancelled what they had booked or offered
    and holds their row locked (`SELECT … FOR UPDATE`). Signs them out everywhere."""
    if user.erased_at is not None:
        raise already_erased()

    rides_forget_places(RideRequest.objects.filter(rider=user))
    RideEvent.objects.filter(actor=user).exclude(reason="").update(reason="")
    _driver_anonymise(user)
    # Memberships stay (a driver's rides point at theirs), without reasons or a role to act.
    Membership.objects.filter(user=user).update(
        state=MembershipState.SUSPENDED, state_reason="", state_changed_at=timezone.now()
    )

    seat_bookings_forget_places(SeatBooking.objects.filter(passenger=user))
    SeatBooking.objects.filter(passenger=user).exclude(reason="").update(reason="")
    _trips_anonymise(user)
    SavedSearch.objects.filter(owner=user).delete()
    Rating.objects.filter(rater=user).update(comment="")
    # What others reported about the person goes with them; what they reported about
    # someone else stays with the association, which may need it for that person.
    Report.objects.filter(about=user).delete()

    run_signups_forget_places(RunSignup.objects.filter(passenger=user))
    for standing in StandingSignup.objects.filter(passenger=user).select_related("schedule"):
        standing.pickup = point_for_statistics(
            standing.pickup, association_id=standing.schedule.association_id
        )
        standing.pickup_address = standing.note = ""
        standing.save(update_fields=["pickup", "pickup_address", "note"])

    _sharing_anonymise(user)

    if user.phone:
        InboundSms.objects.filter(sender=user.phone).delete()
        SmsSent.objects.filter(phone=user.phone).delete()
    SmsReplyCode.objects.filter(recipient=user).delete()
    Reminder.objects.filter(recipient=user).delete()
    Notification.objects.filter(recipient=user).delete()
    # Messages and reminders of others that show their name show the placeholder instead
    # (the driver's "… asks for a seat", the coordinators' "… asks to join").
    notifications_forget_person(person_id=user.pk, text=ERASED_NAME)
    # Their messages to every member stay with the association (the members have them in
    # their inboxes), without saying who wrote them.
    AssociationMessage.objects.filter(sender=user).update(sender=None)
    NotificationPreference.objects.filter(user=user).delete()
    QuietHours.objects.filter(user=user).delete()
    PushSubscription.objects.filter(user=user).delete()
    ProxyLink.objects.filter(Q(proxy=user) | Q(resident=user)).delete()
    # Requests to help them sent to numbers without an account go; those they made for a
    # managed profile stay with that person, without saying who asked.
    ProxyInvitation.objects.filter(resident=user).delete()
    ProxyInvitation.objects.filter(created_by=user).update(created_by=None)
    MunicipalityAnalyst.objects.filter(user=user).delete()
    LoginCode.objects.filter(user=user).delete()
    Token.objects.filter(user=user).delete()
    _end_sessions(user)

    user.full_name = ERASED_NAME
    user.phone = user.email = user.home_address = ""
    user.phone_confirmed_at = user.email_confirmed_at = user.home_location = None
    user.contact_by_sms = user.contact_by_email = user.contact_by_push = False
    # is_managed and birth_year stay: the statistics count managed and elderly people
    # served, and a rebuild reads both from this row. Alone they identify nobody.
    user.is_active = user.is_staff = user.is_superuser = False
    user.erased_at = timezone.now()
    user.set_unusable_password()
    user.save()
    user.groups.clear()
    user.user_permissions.clear()
    # The figures must not move; the next refresh recomputes every day the person is in,
    # so the roll-ups agree with a rebuild whatever changed on their rows above.
    stats_person_changed(person_id=user.pk)
    return user


def _end_sessions(user: User) -> None:
    """Signs the person out on every device. Sessions are rows in the database; their
    user id is inside the encoded data. Deleted through the session engine's store, so
    a cached copy would go too if SESSION_ENGINE ever keeps one."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if str(session.get_decoded().get("_auth_user_id")) == str(user.pk):
            store(session.session_key).delete()

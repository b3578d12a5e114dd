"""Erasing a person (for themself, by a proxy, or by staff answering a request).

Everything that has not happened yet is called off first, through the same services a
person would use, so everyone affected hears of it: their rides are cancelled (the
driver is told, pending offers withdrawn), rides they were to drive go back to dispatch
(the passenger is told, new offers go out), their carpool seats are cancelled (the
driver is told) and their published trips too (the passengers are told), their bookings
of shared things and the bookings of things they lend are cancelled (the other side is
told), their shop run sign-ups are withdrawn and their cars taken off runs (the runs are
planned again). Then `backend.privacy.erase.person_anonymise` removes the person. All of
it is one transaction: a refusal half-way leaves nothing changed.
"""

from dataclasses import asdict, dataclass

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.accounts.models import User
from backend.audit.services import audit_record
from backend.carpool import services as carpool
from backend.carpool.models import ACTIVE_BOOKING, OPEN_OCCURRENCE, Trip
from backend.carpool.models import Booking as SeatBooking
from backend.errors import ApplicationError, ErrorKind
from backend.privacy.erase import PrivacyErrorCode, already_erased, person_anonymise
from backend.rides.models import OPEN_STATES, RideRequest, RideState
from backend.rides.services import DRIVER_STEPS
from backend.sharing import services as sharing
from backend.sharing.models import UPCOMING
from backend.sharing.models import Booking as ThingBooking
from backend.shuttle.models import ACTIVE_SIGNUP, RunSignup, RunVehicle, StandingSignup
from dispatch import services as rides
from dispatch import shop_runs


@dataclass(frozen=True)
class ErasurePreview:
    """What erasing the person would call off (shown before they confirm)."""

    rides: int
    rides_to_drive: int
    carpool_seats: int
    carpool_departures: int
    bookings: int
    bookings_of_my_things: int
    shop_runs: int
    shop_runs_to_drive: int

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _rides(user: User) -> QuerySet[RideRequest]:
    return RideRequest.objects.filter(
        rider=user, state__in=[*OPEN_STATES, RideState.ACCEPTED, RideState.EN_ROUTE]
    )


def _rides_to_drive(user: User) -> QuerySet[RideRequest]:
    return RideRequest.objects.filter(
        driver__membership__user=user, state__in=DRIVER_STEPS["withdraw"]
    )


def _seats(user: User) -> QuerySet[SeatBooking]:
    return SeatBooking.objects.filter(
        passenger=user, state__in=ACTIVE_BOOKING, occurrence__status__in=OPEN_OCCURRENCE
    )


def _trips(user: User) -> QuerySet[Trip]:
    return Trip.objects.filter(driver=user, cancelled_at__isnull=True)


def _bookings(user: User) -> QuerySet[ThingBooking]:
    return ThingBooking.objects.filter(booker=user, status__in=UPCOMING)


def _bookings_of_my_things(user: User) -> QuerySet[ThingBooking]:
    return ThingBooking.objects.filter(resource__owner=user, status__in=UPCOMING).exclude(
        booker=user
    )


def _signups(user: User) -> QuerySet[RunSignup]:
    return RunSignup.objects.filter(
        passenger=user, state__in=ACTIVE_SIGNUP, occurrence__arrive_at__gt=timezone.now()
    )


def _cars(user: User) -> QuerySet[RunVehicle]:
    return RunVehicle.objects.filter(
        driver__membership__user=user, occurrence__arrive_at__gt=timezone.now()
    )


def erasure_preview(*, user: User) -> ErasurePreview:
    return ErasurePreview(
        rides=_rides(user).count(),
        rides_to_drive=_rides_to_drive(user).count(),
        carpool_seats=_seats(user).count(),
        carpool_departures=sum(
            trip.occurrences.filter(status__in=OPEN_OCCURRENCE).count() for trip in _trips(user)
        ),
        bookings=_bookings(user).count(),
        bookings_of_my_things=_bookings_of_my_things(user).count(),
        shop_runs=_signups(user).count(),
        shop_runs_to_drive=_cars(user).count(),
    )


def _on_board(user: User) -> bool:
    return RideRequest.objects.filter(
        Q(rider=user) | Q(driver__membership__user=user), state=RideState.PICKED_UP
    ).exists()


def person_erase(*, user: User, actor: User) -> User:
    """Erase `user`, asked for by `actor` (the person, their proxy, or staff: the caller
    has checked that with `backend.privacy.access`). Locks the person's row first, so
    two requests erase once. Recorded in the audit log as `person.erase`."""
    with transaction.atomic():
        user = User.objects.select_for_update().get(pk=user.pk)
        if user.erased_at is not None:
            raise already_erased()
        if _on_board(user):
            raise ApplicationError(
                PrivacyErrorCode.DRIVER_ON_THE_ROAD,
                _(
                    "A ride with this person on board is under way. Erase the account "
                    "when it is over."
                ),
                kind=ErrorKind.CONFLICT,
            )
        preview = erasure_preview(user=user)
        # Recorded first: the entry keeps pointing at the (now nameless) account.
        audit_record(
            actor=actor,
            action="person.erase",
            subject=user,
            detail={"by": _who(actor, user), **preview.as_dict()},
        )
        reason = str(_("The account was closed."))
        # Cancelled in the person's own name: it is their booking being called off.
        for ride in _rides(user):
            rides.ride_cancel(ride=ride, actor=user, reason=reason)
        for ride in _rides_to_drive(user):
            rides.ride_driver_withdraw(ride=ride, actor=user, reason=reason)
        for seat in _seats(user).select_related("occurrence__trip"):
            carpool.booking_cancel(booking=seat, actor=user, reason=reason)
        for trip in _trips(user):
            carpool.trip_cancel(trip=trip, actor=user, reason=reason)
        for booking in _bookings(user).select_related("resource"):
            sharing.booking_cancel(actor=user, booking=booking, reason=reason)
        for booking in _bookings_of_my_things(user).select_related("resource"):
            sharing.booking_cancel(actor=user, booking=booking, reason=reason)
        for signup in _signups(user).select_related("occurrence"):
            shop_runs.signup_withdraw(actor=user, signup=signup)
        StandingSignup.objects.filter(passenger=user, active=True).update(
            active=False, ended_at=timezone.now()
        )
        for car in _cars(user).select_related("occurrence", "driver__membership"):
            shop_runs.vehicle_remove(actor=user, vehicle=car)
        return person_anonymise(user=user)


def _who(actor: User, user: User) -> str:
    if actor.pk == user.pk:
        return "self"
    if actor.is_staff:
        return "staff"
    return "proxy"

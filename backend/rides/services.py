"""Volunteer rides: requesting, and one function per change of state.

Every transition is a conditional UPDATE on the ride's current state (so two people
acting at once cannot both succeed), records a RideEvent and tells whoever should know,
all in one transaction: a refused or failed transition writes and tells nothing.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.gis.geos import Point
from django.contrib.gis.measure import D
from django.db import IntegrityError, connection, transaction
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.db.models import Q
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from backend.accounts.models import User
from backend.community.models import Association
from backend.community.selectors import (
    association_coordinators,
    user_can_act_for,
    user_can_act_for_in,
    user_is_coordinator,
)
from backend.errors import ApplicationError, ErrorKind
from backend.geo import WGS84, approximate_coords, geodesic_m, road_leg
from backend.notifications.names import PersonName
from backend.notifications.reminders import reminder_cancel, reminder_schedule
from backend.notifications.services import notify, notify_many
from backend.rides.errors import RideAlreadyRequested, RideErrorCode
from backend.rides.models import (
    CLOSED_STATES,
    DRIVEN_ABSOLUTE_MAX_M,
    OPEN_STATES,
    RELEASABLE,
    DriverProfile,
    MileageClaim,
    Need,
    RideEvent,
    RideRequest,
    RideState,
    TimeKind,
)
from backend.rides.selectors import rider_membership, village_nearest

# What the driver holding a ride can do next, by the state it is in: one list per step,
# used by the step's function below and by the driver's ride list (which buttons to show).
# The names are the last part of the step's API path (/api/v1/rides/<id>/<step>).
DRIVER_STEPS: dict[str, tuple[str, ...]] = {
    "start": (RideState.ACCEPTED,),
    "picked-up": (RideState.ACCEPTED, RideState.EN_ROUTE),
    "complete": (RideState.PICKED_UP,),
    "no-show": (RideState.ACCEPTED, RideState.EN_ROUTE),
    "withdraw": (RideState.ACCEPTED, RideState.EN_ROUTE),
}

ASAP_WINDOW = timedelta(minutes=60)
ARRIVE_BY_FLEX = timedelta(minutes=30)
MAX_WINDOW = timedelta(days=14)
# How far ahead a ride may be booked: a year covers every real plan, and a time beyond it
# is a typo (or a date the arithmetic below cannot add a trip's duration to).
MAX_AHEAD = timedelta(days=366)
# Two requests whose places are this close are for the same place (a point picked on the
# map again, an address looked up again).
SAME_PLACE = D(m=10)


@dataclass(frozen=True)
class RideTime:
    """When: ASAP; a pickup time; an arrival time; or a window of acceptable pickups."""

    kind: str
    at: datetime | None = None  # pickup time (pickup_at) or arrival time (arrive_by)
    window_start: datetime | None = None
    window_end: datetime | None = None


def _invalid(code: RideErrorCode, message, field: str) -> ApplicationError:
    return ApplicationError(code, message, fields={field: [message]})


def _check_not_too_far(when: RideTime, return_at: datetime | None, now: datetime) -> None:
    for field, moment in (
        ("at", when.at),
        ("window_start", when.window_start),
        ("window_end", when.window_end),
        ("return_at", return_at),
    ):
        if moment is not None and moment > now + MAX_AHEAD:
            raise _invalid(
                RideErrorCode.TIME_TOO_FAR,
                _("Rides can be booked at most a year ahead. Choose an earlier time."),
                field,
            )


def _pickup_window(when: RideTime, duration: timedelta, now: datetime) -> tuple:
    boarding = timedelta(minutes=settings.RIDES_BOARDING_MINUTES)
    if when.kind == TimeKind.ASAP:
        return now, now + ASAP_WINDOW, None
    if when.window_start is not None or when.window_end is not None:
        if when.window_start is None or when.window_end is None:
            raise _invalid(
                RideErrorCode.TIME_MISSING,
                _("Give both the start and the end of the window."),
                "window_end",
            )
        if when.window_end < when.window_start:
            raise _invalid(
                RideErrorCode.WINDOW_REVERSED,
                _("The window ends before it starts. Swap the two times."),
                "window_end",
            )
        if when.window_end - when.window_start > MAX_WINDOW:
            raise _invalid(
                RideErrorCode.WINDOW_TOO_LONG,
                _("A window can be at most two weeks long."),
                "window_end",
            )
        if when.window_start < now:
            raise _invalid(
                RideErrorCode.TIME_PAST,
                _("The window has to start in the future."),
                "window_start",
            )
        return when.window_start, when.window_end, None
    if when.at is None:
        raise _invalid(RideErrorCode.TIME_MISSING, _("Say when you want to travel."), "at")
    if when.kind == TimeKind.PICKUP_AT:
        if when.at <= now:
            raise _invalid(
                RideErrorCode.TIME_PAST,
                _("The pickup time has passed. Choose a later time."),
                "at",
            )
        return when.at, when.at, None
    latest = when.at - duration - boarding
    if latest <= now:
        raise _invalid(
            RideErrorCode.TIME_PAST,
            _("There is not enough time to get there by then. Choose a later arrival time."),
            "at",
        )
    return max(latest - ARRIVE_BY_FLEX, now), latest, when.at


def _same_time(kind: str, earliest: datetime, latest: datetime, arrive_by, now: datetime) -> Q:
    """Rides asked for the same time as this one: the same pickup window, the same
    arrival time (its window moves with the trip estimate), or for "as soon as possible"
    any such ride whose hour has not passed."""
    if kind == TimeKind.ASAP:
        return Q(time_kind=TimeKind.ASAP, latest_pickup__gt=now)
    if arrive_by is not None:
        return Q(time_kind=kind, arrive_by=arrive_by)
    return Q(time_kind=kind, earliest_pickup=earliest, latest_pickup=latest)


def _refuse_duplicate(*, rider: User, pickup: Point, destination: Point, same_time: Q) -> None:
    """Refuse a second request for a ride the rider already has, not yet done or
    cancelled (a double tap on the button, the same trip booked by two people).

    Locks: a transaction-level advisory lock on the rider's rides, so that of two such
    requests at once the second waits for the first to commit and then sees its ride.
    Not the rider's account row: every insert that refers to them would wait on it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"ride-request:{rider.pk}"])
    existing = (
        RideRequest.objects.filter(
            same_time,
            rider=rider,
            pickup__dwithin=(pickup, SAME_PLACE),
            destination__dwithin=(destination, SAME_PLACE),
        )
        .exclude(state__in=CLOSED_STATES)
        .order_by("pk")
        .first()
    )
    if existing is not None:
        raise RideAlreadyRequested(
            RideErrorCode.ALREADY_REQUESTED,
            _("%(name)s already has this ride booked (ride %(ride)s), so it was not booked again.")
            % {"name": rider.full_name, "ride": existing.pk},
            kind=ErrorKind.CONFLICT,
            ride_id=existing.pk,
        )


@transaction.atomic
def ride_request_create(
    *,
    requested_by: User,
    rider: User,
    association: Association,
    pickup: Point,
    pickup_address: str,
    destination: Point,
    destination_address: str,
    when: RideTime,
    passengers: int = 1,
    needs: list[str] | None = None,
    note: str = "",
    return_at: datetime | None = None,
) -> RideRequest:
    """Save a ride request (and its return trip) after checking everything a person can
    get wrong. Nothing is written when anything is refused. Dispatch starts after commit
    (the caller in `dispatch` schedules it).

    The same ride asked for again while the first is not done or cancelled raises
    `RideAlreadyRequested`, naming the first. Locks: see `_refuse_duplicate`."""
    needs = sorted(set(needs or []))
    if not user_can_act_for_in(actor=requested_by, resident=rider, association_id=association.pk):
        # A coordinator books for members with the association they coordinate only.
        elsewhere = user_can_act_for(actor=requested_by, resident=rider)
        raise ApplicationError(
            RideErrorCode.NOT_ALLOWED,
            _(
                "You can book rides for %(name)s only with an association you coordinate: "
                "choose it, or ask %(association)s to book this ride."
            )
            % {"name": rider.full_name, "association": association.name}
            if elsewhere
            else _("You cannot book rides for this person."),
            kind=ErrorKind.FORBIDDEN,
        )
    if rider_membership(rider=rider, association=association) is None:
        raise ApplicationError(
            RideErrorCode.NOT_RIDER,
            _(
                "%(name)s is not approved for volunteer rides by %(association)s yet. Call the "
                "association to be approved."
            )
            % {"name": rider.full_name, "association": association.name},
            kind=ErrorKind.FORBIDDEN,
        )
    boundary = association.municipality.boundary
    for field, point in (("pickup", pickup), ("destination", destination)):
        if not boundary.contains(point):
            raise _invalid(
                RideErrorCode.OUTSIDE_AREA,
                _("This place is outside %(municipality)s, where %(association)s drives.")
                % {"municipality": association.municipality.name, "association": association.name},
                field,
            )
    if pickup.distance(destination) < 1e-5:
        raise _invalid(
            RideErrorCode.SAME_PLACE,
            _("Pickup and destination are the same place."),
            "destination",
        )
    if not 1 <= passengers <= 8:
        raise _invalid(
            RideErrorCode.PASSENGERS, _("A ride takes from 1 to 8 passengers."), "passengers"
        )
    unknown = set(needs) - set(Need.values)
    if unknown:
        message = _("Unknown need: %(unknown)s. Choose from: %(valid)s.") % {
            "unknown": ", ".join(sorted(unknown)),
            "valid": ", ".join(Need.values),
        }
        raise _invalid(RideErrorCode.NEEDS_UNKNOWN, message, "needs")
    now = timezone.now()
    _check_not_too_far(when, return_at, now)
    leg = road_leg(pickup, destination)
    duration = timedelta(seconds=leg.duration_s)
    earliest, latest, arrive_by = _pickup_window(when, duration, now)
    if return_at is not None and return_at < latest + duration:
        raise _invalid(
            RideErrorCode.RETURN_BEFORE_ARRIVAL,
            _("The return trip must start after you have arrived."),
            "return_at",
        )
    _refuse_duplicate(
        rider=rider,
        pickup=pickup,
        destination=destination,
        same_time=_same_time(when.kind, earliest, latest, arrive_by, now),
    )
    common = {
        "rider": rider,
        "requested_by": requested_by,
        "association": association,
        "passengers": passengers,
        "needs": needs,
        "note": note.strip(),
        "distance_m": leg.distance_m,
        "duration_s": leg.duration_s,
    }
    ride = RideRequest.objects.create(
        **common,
        village=village_nearest(association=association, point=pickup),
        pickup=pickup,
        pickup_address=pickup_address.strip(),
        destination=destination,
        destination_address=destination_address.strip(),
        time_kind=when.kind,
        earliest_pickup=earliest,
        latest_pickup=latest,
        arrive_by=arrive_by,
    )
    _record(ride, "", RideState.REQUESTED, requested_by)
    if return_at is not None:
        back = RideRequest.objects.create(
            **common,
            village=village_nearest(association=association, point=destination),
            pickup=destination,
            pickup_address=destination_address.strip(),
            destination=pickup,
            destination_address=pickup_address.strip(),
            time_kind=TimeKind.PICKUP_AT,
            earliest_pickup=return_at,
            latest_pickup=return_at,
            return_of=ride,
        )
        _record(back, "", RideState.REQUESTED, requested_by)
    _tell_rider(ride, "ride.requested", {"when": local_time(earliest)})
    return ride


# --- Transitions ------------------------------------------------------------------------


def _record(
    ride: RideRequest, from_state: str, to_state: str, actor: User | None, reason: str = ""
) -> None:
    RideEvent.objects.create(
        ride=ride, from_state=from_state, to_state=to_state, actor=actor, reason=reason
    )


def _move(
    ride: RideRequest,
    *,
    from_states: Sequence[str],
    to_state: str,
    actor: User | None,
    reason: str = "",
    **changes,
) -> RideRequest:
    """The one place a ride changes state: a conditional UPDATE. Raises a conflict when
    the ride is no longer in one of `from_states` (someone else was faster)."""
    previous = RideRequest.objects.filter(pk=ride.pk).values_list("state", flat=True).first()
    updated = RideRequest.objects.filter(pk=ride.pk, state__in=list(from_states)).update(
        state=to_state, **changes
    )
    if not updated:
        ride.refresh_from_db()
        raise ApplicationError(
            RideErrorCode.WRONG_STATE,
            _("This ride's status is “%(state)s”, so it cannot be changed that way.")
            % {"state": ride.get_state_display()},
            kind=ErrorKind.CONFLICT,
        )
    _record(ride, previous or "", to_state, actor, reason)
    ride.refresh_from_db()
    return ride


def busy_range(ride: RideRequest, pickup_at: datetime) -> DateTimeTZRange:
    boarding = timedelta(minutes=settings.RIDES_BOARDING_MINUTES)
    return DateTimeTZRange(pickup_at, pickup_at + timedelta(seconds=ride.duration_s) + boarding)


def ride_dispatch_started(*, ride: RideRequest, wave: int) -> RideRequest:
    return _move(
        ride,
        from_states=[RideState.REQUESTED, RideState.OFFERING, RideState.UNASSIGNED],
        to_state=RideState.OFFERING,
        actor=None,
        reason=f"wave {wave}",
        wave=wave,
    )


def ride_mark_unassigned(*, ride: RideRequest) -> RideRequest:
    """Dispatch gave up; the coordinators take over."""
    return _move(
        ride,
        from_states=[RideState.REQUESTED, RideState.OFFERING],
        to_state=RideState.UNASSIGNED,
        actor=None,
    )


@transaction.atomic
def ride_assign(
    *, ride: RideRequest, driver: DriverProfile, pickup_at: datetime, actor: User
) -> RideRequest:
    """Give the ride to `driver`: the first call wins. One conditional UPDATE (state still
    open, no driver yet); the database's exclusion constraint refuses a driver who holds
    another ride at that time."""
    if not (ride.earliest_pickup <= pickup_at <= ride.latest_pickup):
        pickup_at = ride.earliest_pickup
    try:
        with transaction.atomic():
            updated = RideRequest.objects.filter(
                pk=ride.pk, state__in=OPEN_STATES, driver__isnull=True
            ).update(
                state=RideState.ACCEPTED,
                driver=driver,
                planned_pickup=pickup_at,
                busy=busy_range(ride, pickup_at),
                accepted_at=timezone.now(),
            )
    except IntegrityError as error:
        raise ApplicationError(
            RideErrorCode.DRIVER_BUSY,
            _("You already have a ride at that time."),
            kind=ErrorKind.CONFLICT,
        ) from error
    if not updated:
        ride.refresh_from_db()
        if ride.driver_id is None:
            raise ApplicationError(
                RideErrorCode.WRONG_STATE,
                _("This ride is %(state)s and no longer needs a driver.")
                % {"state": ride.get_state_display()},
                kind=ErrorKind.CONFLICT,
            )
        raise ApplicationError(
            RideErrorCode.ALREADY_ACCEPTED,
            _("Another driver has already taken this ride. Thank you for answering!"),
            kind=ErrorKind.CONFLICT,
        )
    previous = ride.state
    ride.refresh_from_db()
    _record(ride, previous, RideState.ACCEPTED, actor)
    driver_user = driver.membership.user
    _tell_rider(
        ride,
        "ride.accepted",
        {
            "driver": PersonName.of(driver_user),
            "car": driver.vehicle_description,
            "when": local_time(pickup_at),
        },
    )
    day_before = pickup_at - timedelta(days=1)
    if day_before > timezone.now():
        for person, role in ((ride.rider, "rider"), (driver_user, "driver")):
            reminder_schedule(
                key=f"ride:{ride.pk}:day-before:{role}",
                recipient=person,
                kind="ride.reminder",
                payload={
                    "when": local_time(pickup_at),
                    "place": ride.pickup_address,
                    "ride": ride.pk,
                },
                due_at=day_before,
            )
    return ride


def _require_driver(ride: RideRequest, actor: User) -> None:
    if ride.driver is None or ride.driver.membership.user_id != actor.pk:
        raise ApplicationError(
            RideErrorCode.NOT_DRIVER,
            _("Only the driver of this ride can do this."),
            kind=ErrorKind.FORBIDDEN,
        )


# A claim beyond the way from the driver's home to the pickup and back plus the trip
# there and back, with this margin for detours, needs a coordinator's approval (a long
# detour, a closed road); beyond DRIVEN_ABSOLUTE_MAX_M (models) it is a typo.
DRIVEN_MARGIN = 1.25


def ride_begins(ride: RideRequest) -> datetime:
    """The pickup time the rider was told (assignment puts it inside the pickup window)."""
    return ride.planned_pickup or ride.earliest_pickup


def _refuse_before(ride: RideRequest, *, step: str, minutes: int, message) -> None:
    """Refuse `step` taken more than `minutes` before the ride begins; `message` names
    the ride's day and time (`when`) and the first moment the step is allowed (`from`).
    A step the ride's state refuses anyway is left to `_move`, which says so."""
    if ride.state not in DRIVER_STEPS[step]:
        return
    begins = ride_begins(ride)
    allowed_from = begins - timedelta(minutes=minutes)
    if timezone.now() >= allowed_from:
        return
    begins_local = timezone.localtime(begins)
    from_local = timezone.localtime(allowed_from)
    allowed = (
        formats.time_format(from_local, "H:i")
        if from_local.date() == begins_local.date()
        else _time_on_day(from_local)
    )
    raise ApplicationError(
        RideErrorCode.TOO_EARLY,
        message % {"when": _time_on_day(begins_local), "from": allowed},
        kind=ErrorKind.CONFLICT,
    )


def _time_on_day(moment: datetime) -> str:
    """ "10:00 on Tuesday 8 December" (local time)."""
    return _("%(time)s on %(day)s") % {
        "time": formats.time_format(moment, "H:i"),
        "day": formats.date_format(moment, "l j F"),
    }


def driven_m_max(ride: RideRequest) -> int:
    """The most metres a driver can claim for `ride`, in whole kilometres: from home to
    the pickup and back (at least the service radius; further when the ride was given
    to a driver from further away) plus the trip there and back, with DRIVEN_MARGIN.
    Without a trip estimate, only the absolute cap."""
    if not ride.distance_m or ride.driver is None:
        return DRIVEN_ABSOLUTE_MAX_M
    driver = ride.driver
    approach = max(
        driver.service_radius_m, geodesic_m(driver.home_base, ride.pickup) * settings.ROAD_FACTOR
    )
    most = DRIVEN_MARGIN * (2 * approach + 2 * ride.distance_m)
    return min(DRIVEN_ABSOLUTE_MAX_M, int(most) // 1000 * 1000)


@transaction.atomic
def ride_start(*, ride: RideRequest, actor: User) -> RideRequest:
    """The driver sets off to the pickup: at the earliest RIDES_START_EARLY_MINUTES
    before the planned pickup."""
    _require_driver(ride, actor)
    _refuse_before(
        ride,
        step="start",
        minutes=settings.RIDES_START_EARLY_MINUTES,
        message=_("This ride starts at %(when)s; you can say you are on your way from %(from)s."),
    )
    ride = _move(ride, from_states=DRIVER_STEPS["start"], to_state=RideState.EN_ROUTE, actor=actor)
    _tell_rider(ride, "ride.en_route", {"driver": PersonName.of(actor)})
    return ride


@transaction.atomic
def ride_pick_up(*, ride: RideRequest, actor: User) -> RideRequest:
    """The passenger is in the car: at the earliest RIDES_PICKUP_EARLY_MINUTES before the
    planned pickup."""
    _require_driver(ride, actor)
    _refuse_before(
        ride,
        step="picked-up",
        minutes=settings.RIDES_PICKUP_EARLY_MINUTES,
        message=_(
            "This ride starts at %(when)s; you can mark the passenger as picked up from %(from)s."
        ),
    )
    return _move(
        ride,
        from_states=DRIVER_STEPS["picked-up"],
        to_state=RideState.PICKED_UP,
        actor=actor,
    )


EXPLANATION_MAX_LENGTH = 500


@transaction.atomic
def ride_complete(
    *, ride: RideRequest, actor: User, driven_m: int | None = None, explanation: str = ""
) -> RideRequest:
    """Done (not before the pickup could have happened). The kilometres for reimbursement
    are what the driver reports, else the estimate for the trip. Up to `driven_m_max`
    they count at once; beyond it the driver says why (a detour, a closed road): the
    ride then counts `driven_m_max` and a `MileageClaim` for the rest waits for a
    coordinator of the association, who are told. Without an explanation such a claim is
    refused and nothing is written."""
    _require_driver(ride, actor)
    if driven_m is not None and not 0 < driven_m <= DRIVEN_ABSOLUTE_MAX_M:
        raise _invalid(
            RideErrorCode.DRIVEN_INVALID,
            _("Give the distance driven in metres, more than 0 and at most 1000 km."),
            "driven_m",
        )
    most = driven_m_max(ride)
    explanation = explanation.strip()
    claimed_m = driven_m if driven_m is not None and driven_m > most else None
    if claimed_m is not None and not explanation:
        raise _invalid(
            RideErrorCode.DRIVEN_TOO_FAR,
            _(
                "You can claim at most %(most)s km for this ride without a coordinator's "
                "approval (from your home to the pickup, the trip, and back). If you really "
                "drove further, say why (a detour, a closed road) and a coordinator will "
                "look at it."
            )
            % {"most": most // 1000},
            "explanation",
        )
    if claimed_m is not None and len(explanation) > EXPLANATION_MAX_LENGTH:
        raise _invalid(
            RideErrorCode.TEXT_TOO_LONG,
            _("Say why in at most %(count)s characters.") % {"count": EXPLANATION_MAX_LENGTH},
            "explanation",
        )
    _refuse_before(
        ride,
        step="complete",
        minutes=settings.RIDES_PICKUP_EARLY_MINUTES,
        message=_("This ride starts at %(when)s; you can mark it completed from %(from)s."),
    )
    ride = _move(
        ride,
        from_states=DRIVER_STEPS["complete"],
        to_state=RideState.COMPLETED,
        actor=actor,
        closed_at=timezone.now(),
        driven_m=most if claimed_m is not None else driven_m or ride.distance_m,
    )
    if claimed_m is not None:
        _claim_mileage(ride, actor=actor, claimed_m=claimed_m, allowed_m=most, why=explanation)
    return ride


def _claim_mileage(
    ride: RideRequest, *, actor: User, claimed_m: int, allowed_m: int, why: str
) -> MileageClaim:
    """The claim beyond what the ride takes, and the association's active coordinators
    told that it waits (not the driver, when they coordinate too: another decides)."""
    claim = MileageClaim.objects.create(
        ride=ride, claimed_m=claimed_m, allowed_m=allowed_m, explanation=why
    )
    coordinators = list(
        association_coordinators(association_id=ride.association_id)
        .filter(is_active=True)
        .exclude(pk=actor.pk)
        .order_by("pk")
    )
    notify_many(
        coordinators,
        "mileage.claim_waiting",
        {
            "driver": PersonName.of(actor),
            "when": local_time(ride_begins(ride)),
            "km": claimed_m / 1000,
            "most": allowed_m // 1000,
            "association_id": ride.association_id,
            "claim": claim.pk,
        },
    )
    return claim


@transaction.atomic
def ride_no_show(*, ride: RideRequest, actor: User, reason: str = "") -> RideRequest:
    """The driver came, the passenger did not: not before the pickup time the passenger
    was told (a ride days ahead cannot be closed this way). The passenger, and whoever
    booked for them, is told, so a mistake is found while it can still be put right."""
    _require_driver(ride, actor)
    _refuse_before(
        ride,
        step="no-show",
        minutes=0,
        message=_(
            "This ride's pickup is at %(when)s; you can say the passenger did not come "
            "from %(from)s."
        ),
    )
    ride = _move(
        ride,
        from_states=DRIVER_STEPS["no-show"],
        to_state=RideState.NO_SHOW,
        actor=actor,
        reason=reason,
        closed_at=timezone.now(),
        busy=None,
    )
    _cancel_reminders(ride)
    _tell_rider(
        ride,
        "ride.no_show",
        {"driver": PersonName.of(actor), "when": local_time(ride_begins(ride))},
    )
    return ride


# States in which the passenger's side can still cancel a ride.
CANCELLABLE_STATES = [*OPEN_STATES, RideState.ACCEPTED, RideState.EN_ROUTE]


def return_trip_cancellable(*, ride: RideRequest) -> RideRequest | None:
    """The return trip of `ride` when it can still be cancelled with it; None when the
    ride has none (or is itself the return trip) or it is done or cancelled."""
    return (
        RideRequest.objects.select_related("driver__membership__user")
        .filter(return_of=ride, state__in=CANCELLABLE_STATES)
        .first()
    )


@transaction.atomic
def ride_cancel(*, ride: RideRequest, actor: User, reason: str) -> RideRequest:
    """Cancel for the passenger's side (the rider, their proxy or a coordinator of the
    ride's association): the ride is closed and a driver who held it is told; when a
    coordinator cancels for the rider (who phoned in, say), the rider and whoever booked
    for them are told too. Offers still waiting are the caller's
    (dispatch.services.ride_cancel); a ride and its return trip together:
    `ride_cancel_with_return`."""
    [ride] = _rides_cancel([ride], actor=actor, reason=reason)
    return ride


@transaction.atomic
def ride_cancel_with_return(
    *, ride: RideRequest, return_trip: RideRequest, actor: User, reason: str
) -> tuple[RideRequest, RideRequest]:
    """`ride_cancel` of a ride and its return trip (`return_trip_cancellable`): both or
    neither, and everyone told once. The rider's side gets one message naming both
    times; a driver who holds both, one naming both; a driver who holds one of them, one
    about theirs."""
    if return_trip.return_of_id != ride.pk:
        raise ValueError(f"ride {return_trip.pk} is not the return trip of ride {ride.pk}")
    ride, return_trip = _rides_cancel([ride, return_trip], actor=actor, reason=reason)
    return ride, return_trip


def _rides_cancel(rides: list[RideRequest], *, actor: User, reason: str) -> list[RideRequest]:
    """Cancel `rides` (one ride, or a ride and its return trip: the same rider and
    association), then tell each person once about all of theirs."""
    as_coordinator = False
    for ride in rides:
        # A coordinator of the ride's association cancelling for a member (not for
        # themself); anyone else acts for the rider in that association or not at all.
        as_coordinator = actor.pk != ride.rider_id and user_is_coordinator(
            user=actor, association=ride.association
        )
        if not (
            as_coordinator
            or user_can_act_for_in(
                actor=actor, resident=ride.rider, association_id=ride.association_id
            )
        ):
            raise ApplicationError(
                RideErrorCode.NOT_ALLOWED,
                _("You cannot cancel this ride."),
                kind=ErrorKind.FORBIDDEN,
            )
    drivers = [ride.driver for ride in rides]
    cancelled = []
    for ride in rides:
        ride = _move(
            ride,
            from_states=CANCELLABLE_STATES,
            to_state=RideState.CANCELLED,
            actor=actor,
            reason=reason.strip(),
            closed_at=timezone.now(),
            busy=None,
        )
        _cancel_reminders(ride)
        cancelled.append(ride)
    held: dict[int, tuple[User, list[RideRequest]]] = {}
    for ride, driver in zip(cancelled, drivers, strict=True):
        if driver is not None:
            user = driver.membership.user
            held.setdefault(user.pk, (user, []))[1].append(ride)
    for user, theirs in held.values():
        notify(
            user,
            "ride.cancelled",
            {
                **_cancelled_times(theirs),
                "reason": reason,
                # Which driver mode to open, for someone who drives for several.
                "association": theirs[0].association_id,
            },
            urgent=True,
        )
    if as_coordinator:
        ride = cancelled[0]
        payload = {
            **_cancelled_times(cancelled),
            "association": ride.association.name,
            "reason": reason.strip(),
            "ride": ride.pk,
        }
        told = {ride.rider_id: ride.rider, ride.requested_by_id: ride.requested_by}
        for person_id, person in told.items():
            if person_id != actor.pk:
                notify(person, "ride.cancelled_by_association", payload)
    return cancelled


def _cancelled_times(rides: list[RideRequest]) -> dict:
    """`when` of the first ride and, for a ride and its return trip, `return_when` of the
    second: the message then names both (backend/notifications/kinds.py)."""
    times = [local_time(ride_begins(ride)) for ride in rides]
    return {"when": times[0], **({"return_when": times[1]} if len(times) > 1 else {})}


@transaction.atomic
def ride_driver_withdraw(*, ride: RideRequest, actor: User, reason: str) -> RideRequest:
    """The driver cannot do it after all: the ride goes back to dispatch (the caller
    starts a new round of offers)."""
    _require_driver(ride, actor)
    if not reason.strip():
        raise _invalid(
            RideErrorCode.REASON_MISSING,
            _("Say why you cannot drive; the passenger and coordinator will see it."),
            "reason",
        )
    ride = _move(
        ride,
        from_states=DRIVER_STEPS["withdraw"],
        to_state=RideState.REQUESTED,
        actor=actor,
        reason=reason.strip(),
        driver=None,
        busy=None,
        planned_pickup=None,
        accepted_at=None,
    )
    _cancel_reminders(ride)
    _tell_rider(ride, "ride.driver_withdrew", {"when": local_time(ride.earliest_pickup)})
    return ride


@transaction.atomic
def ride_release_by_coordinator(
    *, ride: RideRequest, actor: User, reason: str, to_dispatch: bool = False
) -> RideRequest:
    """A coordinator takes an accepted ride back from its driver: when it is accepted, or
    when the driver is on the way (a breakdown, an accident); not once the rider is on
    board.

    To give it to another driver at once (dispatch.offers.ride_reassign_by_coordinator),
    the driver is told why here, and the rider hears of the new driver only. Back to
    dispatch with the driver's other rides (`to_dispatch`;
    dispatch.services.driver_rides_release_all), the caller tells the driver once for
    them all, and the rider is told here that their driver cannot come, as when a driver
    gives a ride back."""
    if not user_is_coordinator(user=actor, association=ride.association):
        raise ApplicationError(
            RideErrorCode.NOT_ALLOWED,
            _("Only a coordinator of the association can give the ride to another driver."),
            kind=ErrorKind.FORBIDDEN,
        )
    if not reason.strip():
        raise _invalid(
            RideErrorCode.REASON_MISSING,
            _("Say why the ride goes to another driver; the driver will see it."),
            "reason",
        )
    previous_driver = ride.driver
    ride = _move(
        ride,
        from_states=RELEASABLE,
        to_state=RideState.REQUESTED,
        actor=actor,
        reason=reason.strip(),
        driver=None,
        busy=None,
        planned_pickup=None,
        accepted_at=None,
    )
    _cancel_reminders(ride)
    if to_dispatch:
        _tell_rider(ride, "ride.driver_withdrew", {"when": local_time(ride.earliest_pickup)})
    elif previous_driver is not None:
        notify(
            previous_driver.membership.user,
            "ride.released",
            {
                "when": local_time(ride.earliest_pickup),
                "reason": reason.strip(),
                "association": ride.association_id,
            },
            urgent=True,
        )
    return ride


@transaction.atomic
def ride_mark_unfulfilled(
    *, ride: RideRequest, actor: User | None = None, reason: str = ""
) -> RideRequest:
    """No driver will be found: a coordinator closes the ride (or the system, with no
    actor) and the rider is told the association will call. Offers still waiting are the
    caller's to withdraw (dispatch.services.ride_mark_unfulfilled)."""
    if actor is not None and not user_is_coordinator(user=actor, association=ride.association):
        raise ApplicationError(
            RideErrorCode.NOT_ALLOWED,
            _("Only a coordinator of the association can close a ride without a driver."),
            kind=ErrorKind.FORBIDDEN,
        )
    ride = _move(
        ride,
        from_states=OPEN_STATES,
        to_state=RideState.UNFULFILLED,
        actor=actor,
        reason=reason.strip(),
        closed_at=timezone.now(),
    )
    _tell_rider(ride, "ride.unfulfilled", {"when": local_time(ride.earliest_pickup)})
    return ride


def _cancel_reminders(ride: RideRequest) -> None:
    for role in ("rider", "driver"):
        reminder_cancel(key=f"ride:{ride.pk}:day-before:{role}")


def _tell_rider(ride: RideRequest, kind: str, payload: dict) -> None:
    """The rider, and the person who booked for them when that is someone else. The
    payload names the ride, so the message can open its page."""
    payload = {**payload, "ride": ride.pk}
    notify(ride.rider, kind, payload)
    if ride.requested_by_id != ride.rider_id:
        notify(ride.requested_by, kind, payload)


def local_time(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def pickup_area(ride: RideRequest) -> Point:
    """What a driver sees before accepting: the pickup snapped to a ~500 m grid."""
    return Point(*pickup_area_coords(ride.pickup.x, ride.pickup.y), srid=WGS84)


def pickup_area_coords(x: float, y: float) -> tuple[float, float]:
    """`pickup_area` of a pickup at (x, y), for rides read as rows."""
    return approximate_coords(x, y, grid_m=settings.RIDES_APPROXIMATE_GRID_M)

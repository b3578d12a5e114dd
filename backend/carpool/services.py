"""Carpooling writes: publishing trips, materialising departures, booking seats, ride
alerts, ratings and reports.

Seats are taken by one conditional UPDATE on the departure (`_take_seats`): it succeeds
only while the departure is published and has the seats free, so two passengers asking
for the last seat at once cannot both get it; the CheckConstraint
`occurrence_no_overbooking` refuses an overbooked row whatever the code does. Everything
a function writes, and the notifications it sends, happen in one transaction: a refused
request writes and tells nothing.
"""

import datetime as dt

from django.conf import settings
from django.contrib.gis.geos import MultiPoint, Point
from django.db import IntegrityError, transaction
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.db.models import Case, F, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.accounts.models import User
from backend.carpool import recurrence
from backend.carpool.corridor import Query
from backend.carpool.errors import CarpoolErrorCode as Code
from backend.carpool.models import (
    ACTIVE_BOOKING,
    DEPARTURE_MOVE_MAX,
    MAX_SEATS,
    OPEN_OCCURRENCE,
    Booking,
    BookingState,
    CancelledBy,
    Luggage,
    OccurrenceStatus,
    Rating,
    Report,
    SavedSearch,
    SavedSearchAlert,
    Trip,
    TripOccurrence,
)
from backend.carpool.pricing import price_cap, price_for_part, price_suggested
from backend.carpool.routes import trip_route
from backend.carpool.selectors import (
    booking_passenger_side,
    carpool_memberships,
    occurrence_placement,
    village_near,
)
from backend.community.models import Association
from backend.community.selectors import (
    association_coordinators,
    coordinated_association_ids,
    user_can_act_for,
    user_can_act_for_in,
)
from backend.errors import ApplicationError, ErrorKind
from backend.notifications.names import PersonName
from backend.notifications.services import notify

MAX_VIA = 5
SAME_PLACE_DEGREES = 1e-5  # about a metre


def _invalid(code: Code, message, field: str) -> ApplicationError:
    return ApplicationError(code, message, fields={field: [message]})


def local_time(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def place_label(point: Point) -> str:
    """A place as strangers may see it: the village, else about where."""
    village = village_near(point=point)
    return village.name if village else f"{point.y:.2f}, {point.x:.2f}"


def _check_seats(seats: int, field: str = "seats") -> None:
    if not 1 <= seats <= MAX_SEATS:
        raise _invalid(Code.SEATS, _("Choose from 1 to 8 seats."), field)


def _check_price(price_ore: int, cap: int) -> None:
    if price_ore < 0:
        raise _invalid(Code.PRICE_NEGATIVE, _("A seat cannot cost less than 0 kr."), "price_ore")
    if price_ore > cap:
        raise _invalid(
            Code.PRICE_TOO_HIGH,
            _("A seat may cost at most %(max)s kr on this trip: the cost of driving it, shared.")
            % {"max": cap // 100},
            "price_ore",
        )


def _check_places(a: Point, b: Point, field: str) -> None:
    if a.distance(b) < SAME_PLACE_DEGREES:
        raise _invalid(
            Code.SAME_PLACE, _("Start and end are the same place. Choose two places."), field
        )


def _driver_association(driver: User, association: Association | None) -> Association:
    memberships = list(carpool_memberships(user=driver))
    if association is not None:
        if not any(m.association_id == association.pk for m in memberships):
            raise ApplicationError(
                Code.NOT_MEMBER,
                _("You are not an active member of %(association)s.")
                % {"association": association.name},
                kind=ErrorKind.FORBIDDEN,
            )
        return association
    if not memberships:
        raise ApplicationError(
            Code.NOT_MEMBER,
            _("Carpooling is for members of an association. Join your village's association."),
            kind=ErrorKind.FORBIDDEN,
        )
    if len(memberships) > 1:
        raise _invalid(
            Code.NOT_MEMBER,
            _("Choose which of your associations the trip belongs to."),
            "association",
        )
    return memberships[0].association


# --- Trips --------------------------------------------------------------------------------


@transaction.atomic
def trip_publish(
    *,
    driver: User,
    origin: Point,
    origin_address: str,
    destination: Point,
    destination_address: str,
    first_departure: dt.datetime,
    seats: int,
    association: Association | None = None,
    via: list[Point] | None = None,
    rrule: str = "",
    price_ore: int | None = None,
    instant_booking: bool = False,
    pets_allowed: bool = False,
    luggage: str = Luggage.SMALL,
    smoking_allowed: bool = False,
    note: str = "",
) -> Trip:
    """Publish a trip and its departures for the horizon. The caller in `dispatch` runs
    the ride alerts after commit."""
    association = _driver_association(driver, association)
    via = via or []
    _check_places(origin, destination, "destination")
    if len(via) > MAX_VIA:
        raise _invalid(Code.VIA_INVALID, _("Give at most five places on the way."), "via")
    _check_seats(seats)
    now = timezone.now()
    if first_departure <= now:
        raise _invalid(
            Code.TIME_PAST, _("The departure time has passed. Choose a later time."), "departure"
        )
    horizon = dt.timedelta(days=settings.CARPOOL_HORIZON_DAYS)
    if first_departure > now + horizon:
        # Departures are published for the horizon ahead; one further out would only be
        # refused later with a message about the repetition (or overflow in the year 9999).
        raise _invalid(
            Code.TIME_TOO_FAR,
            _("Publish a trip at most %(days)s days before it leaves.")
            % {"days": settings.CARPOOL_HORIZON_DAYS},
            "departure",
        )
    rrule = rrule.strip()
    if rrule:
        try:
            recurrence.parse_rule(rrule, first_departure=first_departure)
        except recurrence.InvalidRule as error:
            raise _invalid(
                Code.RRULE_INVALID,
                _("The repetition is not valid (%(problem)s). Example: FREQ=WEEKLY;BYDAY=MO,FR.")
                % {"problem": error},
                "rrule",
            ) from error
    route = trip_route([origin, *via, destination])
    cap = price_cap(distance_m=route.distance_m, seats=seats)
    if price_ore is None:
        price_ore = price_suggested(distance_m=route.distance_m, seats=seats)
    else:
        _check_price(price_ore, cap)
    trip = Trip.objects.create(
        driver=driver,
        association=association,
        origin=origin,
        origin_address=origin_address.strip(),
        origin_village=village_near(point=origin),
        destination=destination,
        destination_address=destination_address.strip(),
        destination_village=village_near(point=destination),
        via=MultiPoint(via, srid=4326) if via else None,
        route=route.line,
        distance_m=route.distance_m,
        duration_s=route.duration_s,
        first_departure=first_departure,
        rrule=rrule,
        seats=seats,
        price_ore=price_ore,
        max_price_ore=cap,
        instant_booking=instant_booking,
        pets_allowed=pets_allowed,
        luggage=luggage,
        smoking_allowed=smoking_allowed,
        note=note.strip(),
    )
    if not _materialise(trip, until=now + dt.timedelta(days=settings.CARPOOL_HORIZON_DAYS)):
        raise _invalid(
            Code.RRULE_INVALID,
            _("The repetition gives no departure in the next %(days)s days.")
            % {"days": settings.CARPOOL_HORIZON_DAYS},
            "rrule",
        )
    return trip


def _materialise(trip: Trip, *, until: dt.datetime) -> int:
    """Create the trip's departures up to `until` that do not exist yet (safe to repeat:
    `occurrence_once` drops duplicates)."""
    start = max(timezone.now(), trip.first_departure)
    departures = recurrence.departures_between(
        rule_text=trip.rrule, first_departure=trip.first_departure, start=start, end=until
    )
    duration = dt.timedelta(seconds=trip.duration_s)
    before = TripOccurrence.objects.filter(trip=trip).count()
    TripOccurrence.objects.bulk_create(
        [
            TripOccurrence(
                trip=trip,
                departure_at=departure,
                span=DateTimeTZRange(departure, departure + duration, "[)"),
                route=trip.route,
                seats_total=trip.seats,
            )
            for departure in departures
        ],
        ignore_conflicts=True,
    )
    if trip.rrule:
        Trip.objects.filter(pk=trip.pk).update(materialised_until=until)
    # bulk_create returns the conflicting rows too: count what is new.
    return TripOccurrence.objects.filter(trip=trip).count() - before


def trips_materialise(*, now: dt.datetime | None = None) -> dict[int, int]:
    """Beat: extend recurring trips' departures to CARPOOL_HORIZON_DAYS ahead. Returns
    {trip id: departures created} for the trips that got new ones, so their new
    departures can be matched against ride alerts."""
    now = now or timezone.now()
    until = now + dt.timedelta(days=settings.CARPOOL_HORIZON_DAYS)
    created: dict[int, int] = {}
    trips = Trip.objects.filter(cancelled_at__isnull=True).exclude(rrule="")
    for trip in trips.filter(materialised_until__lt=until).iterator():
        with transaction.atomic():
            if new := _materialise(trip, until=until):
                created[trip.pk] = new
    return created


def _may_manage(actor: User, trip: Trip) -> CancelledBy | None:
    if trip.driver_id == actor.pk:
        return CancelledBy.DRIVER
    if coordinated_association_ids(user=actor).filter(association_id=trip.association_id):
        return CancelledBy.DRIVER  # a coordinator acts for the driver's side
    return None


def _require_driver(actor: User, trip: Trip) -> None:
    if trip.driver_id != actor.pk:
        raise ApplicationError(
            Code.NOT_DRIVER,
            _("Only the driver of this trip can do this."),
            kind=ErrorKind.FORBIDDEN,
        )


@transaction.atomic
def occurrence_cancel(*, occurrence: TripOccurrence, actor: User, reason: str) -> TripOccurrence:
    """The driver (or a coordinator) cancels one departure: its bookings are cancelled and
    every passenger is told."""
    if _may_manage(actor, occurrence.trip) is None:
        raise ApplicationError(
            Code.NOT_DRIVER, _("Only the driver can cancel this trip."), kind=ErrorKind.FORBIDDEN
        )
    updated = TripOccurrence.objects.filter(pk=occurrence.pk, status__in=OPEN_OCCURRENCE).update(
        status=OccurrenceStatus.CANCELLED, cancel_reason=reason.strip()
    )
    if not updated:
        raise ApplicationError(
            Code.NOT_BOOKABLE,
            _("This departure has already left or been cancelled."),
            kind=ErrorKind.CONFLICT,
        )
    bookings = list(
        Booking.objects.select_for_update(of=("self",))
        .filter(occurrence=occurrence, state__in=ACTIVE_BOOKING)
        .select_related("passenger", "booked_by")
    )
    Booking.objects.filter(pk__in=[b.pk for b in bookings]).update(
        state=BookingState.CANCELLED,
        cancelled_by=CancelledBy.DRIVER,
        reason=reason.strip(),
        closed_at=timezone.now(),
    )
    for booking in bookings:
        _tell_passenger(
            booking,
            "carpool.trip_cancelled",
            {"when": local_time(booking.pickup_at), "reason": reason.strip()},
            urgent=True,
        )
    occurrence.refresh_from_db()
    return occurrence


def _same_minute(a: dt.datetime, b: dt.datetime) -> bool:
    return a.replace(second=0, microsecond=0) == b.replace(second=0, microsecond=0)


def _time_taken(when: dt.datetime) -> ApplicationError:
    message = _(
        "This trip already has a departure at %(when)s. Choose another time, or cancel one"
        " of the two departures."
    ) % {"when": local_time(when)}
    return ApplicationError(
        Code.TIME_TAKEN, message, kind=ErrorKind.CONFLICT, fields={"departure_at": [message]}
    )


@transaction.atomic
def occurrence_move(
    *, occurrence: TripOccurrence, actor: User, departure_at: dt.datetime
) -> TripOccurrence:
    """The driver (or a coordinator, who may cancel it too) moves one departure still to
    come to another time, at most DEPARTURE_MOVE_MAX either way; the route stays. Its span
    and the pickup and drop-off times of its requested and confirmed bookings shift by the
    same amount, the database rewrites its route legs (trigger carpool_occurrence_legs),
    and each passenger (and whoever booked for them) is told the new pickup time; the
    driver is told when a coordinator moved it. A time in the same minute changes and
    tells nothing. Ride alerts are matched again by dispatch.carpool.occurrence_move.

    Locks the departure row, then its live bookings: `booking_request` and
    `booking_cancel` lock the departure row first too, so a booking made meanwhile either
    waits and is placed at the new time, or commits first and is moved here."""
    if _may_manage(actor, occurrence.trip) is None:
        raise ApplicationError(
            Code.NOT_DRIVER,
            _("Only the driver can change the time of this trip."),
            kind=ErrorKind.FORBIDDEN,
        )
    locked = TripOccurrence.objects.select_for_update().get(pk=occurrence.pk)
    now = timezone.now()
    if locked.status not in OPEN_OCCURRENCE or locked.departure_at <= now:
        raise ApplicationError(
            Code.NOT_BOOKABLE,
            _("This departure has already left or been cancelled."),
            kind=ErrorKind.CONFLICT,
        )
    if _same_minute(departure_at, locked.departure_at):
        return locked
    if departure_at <= now:
        raise _invalid(
            Code.TIME_PAST, _("The new time has passed. Choose a later time."), "departure_at"
        )
    delta = departure_at - locked.departure_at
    if abs(delta) > DEPARTURE_MOVE_MAX:
        hours = int(DEPARTURE_MOVE_MAX.total_seconds() // 3600)
        raise _invalid(
            Code.MOVE_TOO_FAR,
            _(
                "A departure can be moved at most %(hours)s hours. To leave at another time,"
                " cancel this departure and offer a new trip."
            )
            % {"hours": hours},
            "departure_at",
        )
    if (
        TripOccurrence.objects.filter(trip_id=locked.trip_id, departure_at=departure_at)
        .exclude(pk=locked.pk)
        .exists()
    ):
        raise _time_taken(departure_at)
    try:
        # A departure of the trip created at that time meanwhile (the nightly
        # materialising) is refused by `occurrence_once`: the same answer.
        with transaction.atomic():
            TripOccurrence.objects.filter(pk=locked.pk).update(
                departure_at=departure_at,
                span=DateTimeTZRange(locked.span.lower + delta, locked.span.upper + delta, "[)"),
                scheduled_at=locked.scheduled_at or locked.departure_at,
            )
    except IntegrityError as error:
        raise _time_taken(departure_at) from error
    bookings = list(
        Booking.objects.select_for_update(of=("self",))
        .filter(occurrence_id=locked.pk, state__in=ACTIVE_BOOKING)
        .select_related("passenger", "booked_by")
        .order_by("pk")
    )
    Booking.objects.filter(pk__in=[b.pk for b in bookings]).update(
        pickup_at=F("pickup_at") + delta, dropoff_at=F("dropoff_at") + delta
    )
    for booking in bookings:
        _tell_passenger(
            booking,
            "carpool.departure_moved",
            {
                "before": local_time(booking.pickup_at),
                "when": local_time(booking.pickup_at + delta),
            },
            urgent=True,
        )
    trip = occurrence.trip
    if actor.pk != trip.driver_id:
        # A coordinator moved it: the driver must not learn the new time from a passenger.
        notify(
            trip.driver,
            "carpool.departure_moved_by_coordinator",
            {
                "before": local_time(locked.departure_at),
                "when": local_time(departure_at),
                "trip": trip.pk,
                "occurrence": locked.pk,
            },
            urgent=True,
        )
    locked.refresh_from_db()
    return locked


# What a driver may change on a published trip; where it goes is a new trip, and one
# departure at a time may move (`occurrence_move`).
TRIP_CHANGEABLE = (
    "seats",
    "price_ore",
    "instant_booking",
    "pets_allowed",
    "luggage",
    "smoking_allowed",
    "note",
)


@transaction.atomic
def trip_update(*, trip: Trip, actor: User, **changes) -> Trip:
    """The driver changes seats, price, instant booking, what is allowed on board, or the
    note. Seats and price apply to the departures still open: bookings already made keep
    their price, and no departure gets fewer seats than are booked on it. The price stays
    within the cost share, which depends on the seats."""
    _require_driver(actor, trip)
    unknown = set(changes) - set(TRIP_CHANGEABLE)
    if unknown:
        raise ValueError(f"not changeable: {sorted(unknown)}")
    trip = Trip.objects.select_for_update().get(pk=trip.pk)
    if trip.cancelled_at is not None:
        raise ApplicationError(
            Code.NOT_BOOKABLE, _("This trip is cancelled."), kind=ErrorKind.CONFLICT
        )
    seats = changes.get("seats", trip.seats)
    _check_seats(seats)
    cap = price_cap(distance_m=trip.distance_m, seats=seats)
    price = changes.get("price_ore", trip.price_ore)
    _check_price(price, cap)
    if "luggage" in changes and changes["luggage"] not in Luggage.values:
        raise _invalid(Code.LUGGAGE, _("Choose no luggage, a small bag or a suitcase."), "luggage")
    open_departures = TripOccurrence.objects.select_for_update().filter(
        trip=trip, status__in=OPEN_OCCURRENCE
    )
    fuller = open_departures.filter(seats_taken__gt=seats).order_by("departure_at").first()
    if fuller is not None:
        raise _invalid(
            Code.SEATS_BELOW_TAKEN,
            _("%(taken)s seats are booked on %(when)s. Offer at least that many.")
            % {"taken": fuller.seats_taken, "when": local_time(fuller.departure_at)},
            "seats",
        )
    open_departures.update(
        seats_total=seats,
        status=Case(
            When(seats_taken=seats, then=Value(OccurrenceStatus.FULL)),
            default=Value(OccurrenceStatus.PUBLISHED),
        ),
    )
    for field, value in changes.items():
        setattr(trip, field, value.strip() if field == "note" else value)
    trip.max_price_ore = cap
    trip.save(update_fields=[*changes, "max_price_ore"])
    return trip


@transaction.atomic
def trip_cancel(*, trip: Trip, actor: User, reason: str) -> Trip:
    """Cancel every departure still to come, and the repetition."""
    if _may_manage(actor, trip) is None:
        raise ApplicationError(
            Code.NOT_DRIVER, _("Only the driver can cancel this trip."), kind=ErrorKind.FORBIDDEN
        )
    if trip.cancelled_at is not None:
        raise ApplicationError(
            Code.NOT_BOOKABLE, _("This trip is already cancelled."), kind=ErrorKind.CONFLICT
        )
    Trip.objects.filter(pk=trip.pk).update(cancelled_at=timezone.now())
    for occurrence in trip.occurrences.filter(status__in=OPEN_OCCURRENCE):
        occurrence.trip = trip
        occurrence_cancel(occurrence=occurrence, actor=actor, reason=reason)
    trip.refresh_from_db()
    return trip


@transaction.atomic
def occurrences_advance(*, now: dt.datetime | None = None) -> tuple[int, int]:
    """Beat: departures whose time has come are departed; an hour after arrival they are
    completed. Requests the driver never answered are declined, and the passenger told."""
    now = now or timezone.now()
    departed = TripOccurrence.objects.filter(
        status__in=OPEN_OCCURRENCE, departure_at__lte=now
    ).update(status=OccurrenceStatus.DEPARTED)
    unanswered = Booking.objects.select_for_update().filter(
        state=BookingState.REQUESTED, occurrence__status=OccurrenceStatus.DEPARTED
    )
    for booking in unanswered.select_related("passenger", "booked_by"):
        Booking.objects.filter(pk=booking.pk, state=BookingState.REQUESTED).update(
            state=BookingState.DECLINED, answered_at=now, closed_at=now
        )
        _tell_passenger(
            booking, "carpool.booking_declined", {"when": local_time(booking.pickup_at)}
        )
    completed = TripOccurrence.objects.filter(
        status=OccurrenceStatus.DEPARTED, span__endswith__lte=now - dt.timedelta(hours=1)
    ).update(status=OccurrenceStatus.COMPLETED)
    return departed, completed


# --- Bookings -------------------------------------------------------------------------------


def _take_seats(occurrence_id: int, seats: int) -> bool:
    """One conditional UPDATE: take `seats` while the departure is published and has them
    free; the last seat taken makes it full. Locks the departure row until commit, so a
    second request for the same seats waits, re-reads and finds them gone."""
    return bool(
        TripOccurrence.objects.filter(
            pk=occurrence_id,
            status=OccurrenceStatus.PUBLISHED,
            seats_taken__lte=F("seats_total") - seats,
        ).update(
            seats_taken=F("seats_taken") + seats,
            status=Case(
                When(seats_taken=F("seats_total") - seats, then=Value(OccurrenceStatus.FULL)),
                default=F("status"),
            ),
        )
    )


def _release_seats(occurrence_id: int, seats: int) -> None:
    TripOccurrence.objects.filter(pk=occurrence_id, status__in=OPEN_OCCURRENCE).update(
        seats_taken=F("seats_taken") - seats,
        status=Value(OccurrenceStatus.PUBLISHED),
    )


def _no_seats() -> ApplicationError:
    return ApplicationError(
        Code.NO_SEATS,
        _("There are not enough free seats on this trip any more. Search for another trip."),
        kind=ErrorKind.CONFLICT,
    )


@transaction.atomic
def booking_request(
    *,
    actor: User,
    passenger: User,
    occurrence: TripOccurrence,
    pickup: Point,
    pickup_address: str,
    dropoff: Point,
    dropoff_address: str,
    seats: int = 1,
    max_walk_m: int | None = None,
    message: str = "",
) -> Booking:
    """Ask for seats on a departure, from `pickup` to `dropoff`. With instant booking the
    seats are taken at once (or 409 when they are gone); otherwise the driver answers.
    A coordinator books for a member only on trips of their association's drivers."""
    association_id = occurrence.trip.association_id
    if not user_can_act_for_in(actor=actor, resident=passenger, association_id=association_id):
        elsewhere = user_can_act_for(actor=actor, resident=passenger)
        raise ApplicationError(
            Code.NOT_ALLOWED,
            _(
                "You can book seats for %(name)s only on trips of drivers of an association "
                "you coordinate. %(name)s, or a relative who helps them, can book this one."
            )
            % {"name": passenger.full_name}
            if elsewhere
            else _("You cannot book for this person."),
            kind=ErrorKind.FORBIDDEN,
        )
    if not carpool_memberships(user=passenger).exists():
        raise ApplicationError(
            Code.NOT_MEMBER,
            _("Carpooling is for members of an association. Join your village's association."),
            kind=ErrorKind.FORBIDDEN,
        )
    trip = occurrence.trip
    if trip.driver_id == passenger.pk:
        raise _invalid(Code.OWN_TRIP, _("This is your own trip."), "occurrence")
    _check_seats(seats)
    _check_places(pickup, dropoff, "dropoff")
    # Read the departure locked: a driver moving it (`occurrence_move`) waits until this
    # booking is stored and then moves it too, or this waits and places it at the new time.
    occurrence = TripOccurrence.objects.select_for_update(no_key=True).get(pk=occurrence.pk)
    occurrence.trip = trip
    if occurrence.status == OccurrenceStatus.FULL:
        # The same answer whether the last seat went a moment or a day ago.
        raise _no_seats()
    if occurrence.status != OccurrenceStatus.PUBLISHED or occurrence.departure_at <= timezone.now():
        raise ApplicationError(
            Code.NOT_BOOKABLE,
            _("This trip is full, has left or was cancelled. Search for another trip."),
            kind=ErrorKind.CONFLICT,
        )
    if occurrence.seats_free < seats:
        raise _no_seats()
    walk = settings.CARPOOL_WALK_M if max_walk_m is None else max_walk_m
    place = occurrence_placement(
        occurrence_id=occurrence.pk, query=Query(pickup=pickup, dropoff=dropoff, walk_m=walk)
    )
    _check_placement(place, trip)
    booking = Booking(
        occurrence=occurrence,
        passenger=passenger,
        booked_by=actor,
        seats=seats,
        pickup=pickup,
        pickup_address=pickup_address.strip(),
        dropoff=dropoff,
        dropoff_address=dropoff_address.strip(),
        pickup_fraction=place.pickup_fraction,
        dropoff_fraction=place.dropoff_fraction,
        pickup_at=place.pickup_at,
        dropoff_at=place.dropoff_at,
        walk_m=place.walk_m,
        detour_m=place.detour_m,
        price_ore=price_for_part(
            price_ore=trip.price_ore, shared_fraction=place.shared_fraction, seats=seats
        ),
        message=message.strip(),
    )
    try:
        with transaction.atomic():
            booking.save()
    except IntegrityError as error:
        raise ApplicationError(
            Code.ALREADY_BOOKED,
            _("%(name)s already has a booking on this trip.") % {"name": passenger.full_name},
            kind=ErrorKind.CONFLICT,
        ) from error
    payload = {
        "passenger": PersonName.of(passenger),
        "seats": seats,
        "when": local_time(place.pickup_at),
        "place": place_label(pickup),
        "trip": trip.pk,
    }
    if trip.instant_booking:
        if not _take_seats(occurrence.pk, seats):
            raise _no_seats()
        Booking.objects.filter(pk=booking.pk).update(
            state=BookingState.CONFIRMED, answered_at=timezone.now()
        )
        booking.refresh_from_db()
        notify(trip.driver, "carpool.booked", payload)
        _tell_passenger(booking, "carpool.booking_confirmed", _confirmed_payload(booking, trip))
    else:
        notify(trip.driver, "carpool.booking_requested", payload)
    return booking


def _check_placement(place, trip: Trip) -> None:
    corridor = settings.CARPOOL_CORRIDOR_M
    if place is None or max(place.pickup_off_m, place.dropoff_off_m) > corridor:
        raise _invalid(
            Code.NOT_ON_ROUTE,
            _("This trip does not pass within %(km)s km of your pickup and drop-off.")
            % {"km": corridor // 1000},
            "pickup",
        )
    if place.pickup_fraction >= place.dropoff_fraction:
        raise _invalid(
            Code.WRONG_DIRECTION,
            _("This trip goes the other way: it passes your drop-off before your pickup."),
            "dropoff",
        )
    if place.detour_m * 100 > settings.CARPOOL_MAX_DETOUR_PCT * trip.distance_m:
        raise _invalid(
            Code.DETOUR_TOO_LONG,
            _(
                "Picking you up would make the driver's trip too long. Walk further, or choose a"
                " pickup closer to the route."
            ),
            "pickup",
        )
    if place.shared_fraction * 100 < settings.CARPOOL_MIN_SHARED_PCT:
        raise _invalid(
            Code.TOO_SHORT,
            _("You would ride along only a short part of this trip. Look for a shorter trip."),
            "dropoff",
        )


def _confirmed_payload(booking: Booking, trip: Trip) -> dict:
    return {
        "driver": PersonName.of(trip.driver),
        "when": local_time(booking.pickup_at),
        "place": booking.pickup_address or place_label(booking.pickup),
    }


def _tell_passenger(booking: Booking, kind: str, payload: dict, *, urgent: bool = False) -> None:
    notify(booking.passenger, kind, payload, urgent=urgent)
    if booking.booked_by_id != booking.passenger_id:
        notify(booking.booked_by, kind, payload, urgent=urgent)


def _booking_move(booking: Booking, *, from_states: list[str], **changes) -> None:
    updated = Booking.objects.filter(pk=booking.pk, state__in=from_states).update(**changes)
    if not updated:
        booking.refresh_from_db()
        raise _wrong_state(booking)


def _wrong_state(booking: Booking) -> ApplicationError:
    return ApplicationError(
        Code.WRONG_STATE,
        _("This booking is %(state)s and cannot be changed that way.")
        % {"state": booking.get_state_display()},
        kind=ErrorKind.CONFLICT,
    )


@transaction.atomic
def booking_accept(*, booking: Booking, actor: User) -> Booking:
    """The driver says yes: the seats are taken (409 when they are gone) and the booking is
    confirmed, in one transaction."""
    trip = booking.occurrence.trip
    _require_driver(actor, trip)
    if booking.state != BookingState.REQUESTED:
        raise _wrong_state(booking)
    if not _take_seats(booking.occurrence_id, booking.seats):
        raise _no_seats()
    _booking_move(
        booking,
        from_states=[BookingState.REQUESTED],
        state=BookingState.CONFIRMED,
        answered_at=timezone.now(),
    )
    booking.refresh_from_db()
    _tell_passenger(booking, "carpool.booking_confirmed", _confirmed_payload(booking, trip))
    return booking


@transaction.atomic
def booking_decline(*, booking: Booking, actor: User, reason: str = "") -> Booking:
    _require_driver(actor, booking.occurrence.trip)
    now = timezone.now()
    _booking_move(
        booking,
        from_states=[BookingState.REQUESTED],
        state=BookingState.DECLINED,
        reason=reason.strip(),
        answered_at=now,
        closed_at=now,
    )
    booking.refresh_from_db()
    _tell_passenger(booking, "carpool.booking_declined", {"when": local_time(booking.pickup_at)})
    return booking


@transaction.atomic
def booking_cancel(*, booking: Booking, actor: User, reason: str = "") -> Booking:
    """Either side cancels before departure. Locks the booking row; a confirmed booking
    gives its seats back to the departure. The other side is told."""
    trip = booking.occurrence.trip
    if booking_passenger_side(user=actor, booking=booking):
        side = CancelledBy.PASSENGER
    elif trip.driver_id == actor.pk:
        side = CancelledBy.DRIVER
    else:
        raise ApplicationError(
            Code.NOT_ALLOWED, _("You cannot cancel this booking."), kind=ErrorKind.FORBIDDEN
        )
    # The departure row first, then the booking: the order of every write on both
    # (occurrence_cancel, occurrence_move, booking_accept), so none waits for another in turn.
    list(
        TripOccurrence.objects.select_for_update(no_key=True)
        .filter(pk=booking.occurrence_id)
        .values_list("pk", flat=True)
    )
    locked = Booking.objects.select_for_update().get(pk=booking.pk)
    if locked.occurrence.status not in OPEN_OCCURRENCE:
        raise ApplicationError(
            Code.WRONG_STATE,
            _("This trip has already left or was cancelled."),
            kind=ErrorKind.CONFLICT,
        )
    was = locked.state
    _booking_move(
        locked,
        from_states=ACTIVE_BOOKING,
        state=BookingState.CANCELLED,
        cancelled_by=side,
        reason=reason.strip(),
        closed_at=timezone.now(),
    )
    if was == BookingState.CONFIRMED:
        _release_seats(locked.occurrence_id, locked.seats)
    booking.refresh_from_db()
    payload = {"when": local_time(booking.pickup_at), "reason": reason.strip()}
    if side == CancelledBy.PASSENGER:
        # The driver's copy names the trip: it opens their trips, the passenger's their bookings.
        notify(trip.driver, "carpool.booking_cancelled", {**payload, "trip": trip.pk})
    else:
        _tell_passenger(booking, "carpool.booking_cancelled", payload, urgent=True)
    return booking


# --- Ride alerts ----------------------------------------------------------------------------


@transaction.atomic
def saved_search_create(
    *,
    owner: User,
    pickup: Point,
    dropoff: Point,
    earliest: dt.time,
    latest: dt.time,
    weekdays: list[int],
    pickup_address: str = "",
    dropoff_address: str = "",
    until: dt.date | None = None,
    seats: int = 1,
    max_walk_m: int | None = None,
) -> SavedSearch:
    if not carpool_memberships(user=owner).exists():
        raise ApplicationError(
            Code.NOT_MEMBER,
            _("Carpooling is for members of an association. Join your village's association."),
            kind=ErrorKind.FORBIDDEN,
        )
    _check_places(pickup, dropoff, "dropoff")
    _check_seats(seats)
    if earliest >= latest:
        raise _invalid(
            Code.WINDOW_REVERSED,
            _("The time window ends before it starts. Swap the two times."),
            "latest",
        )
    days = sorted(set(weekdays))
    if not days or not all(0 <= day <= 6 for day in days):
        raise _invalid(
            Code.WEEKDAYS, _("Choose at least one weekday (0 = Monday … 6 = Sunday)."), "weekdays"
        )
    if until is not None and until < timezone.localdate():
        raise _invalid(Code.TIME_PAST, _("The end date has passed."), "until")
    return SavedSearch.objects.create(
        owner=owner,
        pickup=pickup,
        pickup_address=pickup_address.strip(),
        dropoff=dropoff,
        dropoff_address=dropoff_address.strip(),
        earliest=earliest,
        latest=latest,
        weekdays=days,
        until=until,
        seats=seats,
        max_walk_m=settings.CARPOOL_WALK_M if max_walk_m is None else max_walk_m,
    )


def saved_search_delete(*, search: SavedSearch, actor: User) -> None:
    if search.owner_id != actor.pk:
        raise ApplicationError(
            Code.NOT_ALLOWED, _("This is not your ride alert."), kind=ErrorKind.FORBIDDEN
        )
    search.delete()


@transaction.atomic
def saved_search_alert_send(*, search: SavedSearch, occurrence: TripOccurrence) -> bool:
    """Tell the owner about a trip that matches their alert, once per trip: the unique
    `alert_once_per_trip` makes a second call (or a concurrent one) do nothing. The mark
    and the notification commit together, so a worker dying between them leaves neither
    and the task's next delivery sends the alert (once)."""
    trip = occurrence.trip
    with transaction.atomic():
        try:
            with transaction.atomic():
                SavedSearchAlert.objects.create(
                    search=search, trip_id=occurrence.trip_id, occurrence=occurrence
                )
        except IntegrityError:
            return False
        notify(
            search.owner,
            "carpool.alert",
            {
                "when": local_time(occurrence.departure_at),
                "origin": place_label(trip.origin),
                "destination": place_label(trip.destination),
                "trip": trip.pk,
                "occurrence": occurrence.pk,
            },
        )
    return True


# --- After the trip -------------------------------------------------------------------------


def _side_of(booking: Booking, actor: User) -> tuple[CancelledBy, User]:
    """Which side `actor` is on, and the person on the other side."""
    trip = booking.occurrence.trip
    if actor.pk in (booking.passenger_id, booking.booked_by_id) and actor.pk != trip.driver_id:
        return CancelledBy.PASSENGER, trip.driver
    if actor.pk == trip.driver_id:
        return CancelledBy.DRIVER, booking.passenger
    raise ApplicationError(
        Code.NOT_ALLOWED,
        _("Only the driver and the passenger of this booking can do this."),
        kind=ErrorKind.FORBIDDEN,
    )


@transaction.atomic
def rating_create(*, booking: Booking, actor: User, stars: int, comment: str = "") -> Rating:
    _side, other = _side_of(booking, actor)
    if not booking.taken_place:
        raise ApplicationError(
            Code.NOT_AFTER_TRIP,
            _("You can rate each other once the trip has taken place."),
            kind=ErrorKind.CONFLICT,
        )
    if not 1 <= stars <= 5:
        raise _invalid(Code.STARS, _("Give from 1 to 5 stars."), "stars")
    try:
        with transaction.atomic():
            return Rating.objects.create(
                booking=booking, rater=actor, ratee=other, stars=stars, comment=comment.strip()
            )
    except IntegrityError as error:
        raise ApplicationError(
            Code.ALREADY_RATED, _("You have already rated this trip."), kind=ErrorKind.CONFLICT
        ) from error


@transaction.atomic
def report_create(*, booking: Booking, actor: User, text: str) -> Report:
    """Report misconduct: the coordinators of the driver's association are told."""
    _side, other = _side_of(booking, actor)
    if not text.strip():
        raise _invalid(Code.TEXT_MISSING, _("Say what happened."), "text")
    trip = booking.occurrence.trip
    report = Report.objects.create(
        booking=booking, reporter=actor, about=other, association=trip.association, text=text
    )
    for coordinator in association_coordinators(association_id=trip.association_id):
        notify(
            coordinator,
            "carpool.report",
            {
                "reporter": PersonName.of(actor),
                "about": PersonName.of(other),
                "when": local_time(booking.pickup_at),
                "report": report.pk,
            },
        )
    return report

"""Reads of carpooling, and who may see what."""

from django.contrib.gis.db.models.functions import Distance
from django.contrib.gis.geos import Point
from django.contrib.gis.measure import D
from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone

from backend.accounts.models import User, short_name
from backend.carpool.corridor import PLACEMENT_COLUMNS, PLACEMENT_FROM, Placement, Query
from backend.carpool.corridor import placement_from_row as _row
from backend.carpool.models import (
    ACTIVE_BOOKING,
    OPEN_OCCURRENCE,
    Booking,
    BookingState,
    Rating,
    Report,
    SavedSearch,
    Trip,
    TripOccurrence,
)
from backend.community.models import Association, Membership, MembershipState, Village
from backend.community.selectors import (
    PeopleActable,
    coordinated_association_ids,
    people_actable_everywhere_by,
    people_actable_q,
    user_can_act_for_in,
    user_is_coordinator,
)
from backend.db import fetch_dicts

VILLAGE_RADIUS_M = 10_000


def carpool_memberships(*, user: User) -> QuerySet[Membership]:
    """Carpooling is for active members of an association (any role)."""
    if not user.is_authenticated:
        return Membership.objects.none()
    return Membership.objects.filter(user=user, state=MembershipState.ACTIVE).select_related(
        "association"
    )


def user_may_carpool(*, user: User) -> bool:
    """`carpool_memberships` is not empty. Asked before every carpool search, so written
    as SQL (backend/db.py)."""
    if not user.is_authenticated:
        return False
    return bool(
        fetch_dicts(
            "SELECT 1 FROM community_membership WHERE user_id = %s AND state = %s LIMIT 1",
            [user.pk, MembershipState.ACTIVE],
        )
    )


def village_near(*, point: Point) -> Village | None:
    """The village a place belongs to, as others see it before booking: the nearest one
    within 10 km."""
    return (
        Village.objects.filter(location__dwithin=(point, D(m=VILLAGE_RADIUS_M)))
        .annotate(distance=Distance("location", point))
        .order_by("distance")
        .first()
    )


def occurrence_placement(*, occurrence_id: int, query: Query) -> Placement | None:
    """Where this passenger's pickup and drop-off fall along the departure's route."""
    sql = f"SELECT {PLACEMENT_COLUMNS} {PLACEMENT_FROM} WHERE o.id = %(occurrence)s"
    with connection.cursor() as cursor:
        cursor.execute(sql, {**query.params(), "occurrence": occurrence_id})
        row = cursor.fetchone()
    return _row(row) if row else None


def trips_of_driver(*, driver: User) -> QuerySet[Trip]:
    return Trip.objects.filter(driver=driver).order_by("-first_departure", "-pk")


def trips_visible_to(*, user: User) -> QuerySet[Trip]:
    """Trips anyone who carpools may look at (in the shape their role allows); the
    driver's own and, for coordinators, their association's."""
    if not user_may_carpool(user=user):
        return Trip.objects.filter(
            Q(driver=user) | Q(association_id__in=coordinated_association_ids(user=user))
        )
    return Trip.objects.all()


def occurrences_of_driver(*, driver: User) -> QuerySet[TripOccurrence]:
    return TripOccurrence.objects.filter(trip__driver=driver)


def bookings_visible_to(*, user: User) -> QuerySet[Booking]:
    """As passenger or their proxy, as whoever booked it, as the driver, or as a
    coordinator of the driver's association (who acts for the passenger there, when a
    member: `booking_passenger_side`)."""
    if not user.is_authenticated:
        return Booking.objects.none()
    return Booking.objects.filter(
        Q(passenger__in=people_actable_everywhere_by(actor=user))
        | Q(booked_by=user)
        | Q(occurrence__trip__driver=user)
        | Q(occurrence__trip__association_id__in=coordinated_association_ids(user=user))
    )


def booking_passenger_side(*, user: User, booking: Booking) -> bool:
    """`user` is on the passenger's side of the booking: they booked the seat, or act for
    the passenger on a trip of the driver's association (`user_can_act_for_in`: the
    passenger, their proxy, a coordinator of that association for its member)."""
    return booking.booked_by_id == user.pk or user_can_act_for_in(
        actor=user,
        resident=booking.passenger,
        association_id=booking.occurrence.trip.association_id,
    )


def bookings_of_passenger(*, actor: User) -> QuerySet[Booking]:
    """My bookings and those of the people I book for, soonest departure first: of the
    members of an association I coordinate, those on trips of its drivers
    (`people_actable_q`)."""
    return Booking.objects.filter(
        people_actable_q(
            actor=actor, person="passenger", association="occurrence__trip__association"
        )
        | Q(booked_by=actor)
    ).order_by("-occurrence__departure_at", "-pk")


def seat_cards(*, actor: User, people: PeopleActable, limit: int) -> list[dict]:
    """The coming seats (requested or confirmed) of `bookings_of_passenger`, with the people
    `actor` books for already looked up (`people_actable_scope`): only what a card shows,
    soonest departure first. SQL, as it runs on every start page (backend/db.py)."""
    rows = fetch_dicts(
        """
        SELECT b.pickup_at, b.pickup_address, b.dropoff_address, b.state,
               u.full_name AS passenger_name
          FROM carpool_booking AS b
          JOIN carpool_tripoccurrence AS o ON o.id = b.occurrence_id
          JOIN carpool_trip AS t ON t.id = o.trip_id
          JOIN accounts_user AS u ON u.id = b.passenger_id
         WHERE ((b.passenger_id = ANY(%(people)s)
                 AND (b.passenger_id = ANY(%(everywhere)s)
                      OR t.association_id = ANY(%(associations)s)))
                OR b.booked_by_id = %(actor)s)
           AND b.state = ANY(%(active)s) AND o.departure_at > %(now)s
         ORDER BY o.departure_at, b.id
         LIMIT %(limit)s
        """,
        {
            **people.sql(),
            "actor": actor.pk,
            "now": timezone.now(),
            "active": [str(state) for state in ACTIVE_BOOKING],
            "limit": limit,
        },
    )
    for row in rows:
        row["state_label"] = BookingState(row["state"]).label
    return rows


def departure_cards(*, driver: User, limit: int) -> list[dict]:
    """`driver`'s coming departures that are still open (published or full): only what a
    card shows, soonest first. SQL, as it runs on every start page (backend/db.py)."""
    return fetch_dicts(
        """
        SELECT o.departure_at, o.seats_total, o.seats_total - o.seats_taken AS seats_free,
               t.origin_address, t.destination_address
          FROM carpool_tripoccurrence AS o
          JOIN carpool_trip AS t ON t.id = o.trip_id
         WHERE t.driver_id = %(driver)s AND o.status = ANY(%(open)s) AND o.departure_at > %(now)s
         ORDER BY o.departure_at, o.id
         LIMIT %(limit)s
        """,
        {
            "driver": driver.pk,
            "now": timezone.now(),
            "open": [str(status) for status in OPEN_OCCURRENCE],
            "limit": limit,
        },
    )


def bookings_of_either_side(*, user: User) -> QuerySet[Booking]:
    """Bookings where the user is the passenger, booked the seat, or drives: the two sides
    that rate each other and may report a problem after the trip."""
    if not user.is_authenticated:
        return Booking.objects.none()
    return Booking.objects.filter(
        Q(passenger=user) | Q(booked_by=user) | Q(occurrence__trip__driver=user)
    )


def rating_given(*, rater: User, booking: Booking) -> Rating | None:
    return Rating.objects.filter(rater=rater, booking=booking).first()


def saved_searches_of(*, owner: User) -> QuerySet[SavedSearch]:
    return SavedSearch.objects.filter(owner=owner).order_by("-created_at")


# A person's average stars as shown, to one decimal, halves rounded up (of the ratings
# `g`): rating_summary and the search results' cards show the same figure.
_AVERAGE_STARS = "round(avg(g.stars), 1)::float8"


def rating_summary(*, users: list[int]) -> dict[int, tuple[float | None, int]]:
    """Average stars and number of ratings per person, in one query (written as SQL: it
    runs with every list of bookings and trips)."""
    if not users:
        return {}
    rows = fetch_dicts(
        f"""
        SELECT g.ratee_id, {_AVERAGE_STARS} AS average, count(*) AS count
          FROM carpool_rating AS g WHERE g.ratee_id = ANY(%s) GROUP BY g.ratee_id
        """,  # noqa: S608 - composed of our own constants; values are parameters
        [list(users)],
    )
    found = {row["ratee_id"]: (row["average"], row["count"]) for row in rows}
    return {user: found.get(user, (None, 0)) for user in users}


# What a search result shows of each departure it found: the trip's terms, the driver's
# first name and rating, and the places as coordinates for the caller to blur into areas.
# Written as SQL: it runs with every carpool search, and the ORM's load of the same rows
# (four tables, the rating apart) cost more CPU to build and plan than running it.
_SEARCH_RESULT_CARDS = f"""
    SELECT o.id AS departure, t.id AS trip, o.departure_at,
           o.seats_total - o.seats_taken AS seats_free,
           t.price_ore, t.driver_id, u.full_name AS driver_name,
           ST_X(t.origin::geometry) AS origin_x, ST_Y(t.origin::geometry) AS origin_y,
           ov.name AS origin_village,
           ST_X(t.destination::geometry) AS destination_x,
           ST_Y(t.destination::geometry) AS destination_y,
           dv.name AS destination_village,
           t.instant_booking, t.pets_allowed, t.luggage, t.smoking_allowed, t.note,
           r.average AS rating, r.count AS ratings
      FROM carpool_tripoccurrence AS o
      JOIN carpool_trip AS t ON t.id = o.trip_id
      JOIN accounts_user AS u ON u.id = t.driver_id
      LEFT JOIN community_village AS ov ON ov.id = t.origin_village_id
      LEFT JOIN community_village AS dv ON dv.id = t.destination_village_id
      CROSS JOIN LATERAL (
        SELECT {_AVERAGE_STARS} AS average, count(*) AS count
          FROM carpool_rating AS g WHERE g.ratee_id = t.driver_id) AS r
     WHERE o.id = ANY(%(departures)s)
"""  # noqa: S608 - composed of our own constants; values are parameters


def search_result_cards(*, departures: list[int]) -> dict[int, dict]:
    """What a search result shows of each of these departures, by departure id (see
    `_SEARCH_RESULT_CARDS`); `driver_first_name` as `User.get_short_name` gives it."""
    if not departures:
        return {}
    rows = fetch_dicts(_SEARCH_RESULT_CARDS, {"departures": list(departures)})
    return {
        row["departure"]: row | {"driver_first_name": short_name(row["driver_name"])}
        for row in rows
    }


def reports_for_coordinator(*, user: User, association: Association) -> QuerySet[Report]:
    if not user_is_coordinator(user=user, association=association):
        return Report.objects.none()
    return Report.objects.filter(association=association).order_by("-created_at")

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.gis.db.models.functions import Distance
from django.contrib.gis.geos import Point
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import TruncMonth

from backend.accounts.models import User
from backend.community.models import Association, Membership, MembershipState, Role, Village
from backend.community.selectors import (
    PeopleActable,
    coordinated_association_ids,
    people_actable_everywhere_by,
    people_actable_scope,
    user_can_act_for_in,
    user_is_coordinator,
)
from backend.db import fetch_dicts
from backend.rides.models import (
    CLOSED_STATES,
    DRIVER_HOLDS,
    OPEN_STATES,
    ClaimState,
    DriverProfile,
    MileageClaim,
    Offer,
    OfferState,
    RideRequest,
    RideState,
    ride_urgency,
)

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def village_nearest(*, association: Association, point: Point) -> Village | None:
    """The association's village closest to `point`: where the ride 'belongs'."""
    return (
        association.villages.annotate(distance=Distance("location", point))
        .order_by("distance")
        .first()
    )


def rider_membership(*, rider: User, association: Association) -> Membership | None:
    """The rider's active membership, if the association approved them as a rider."""
    return Membership.objects.filter(
        user=rider,
        association=association,
        state=MembershipState.ACTIVE,
        rider_approval__isnull=False,
    ).first()


def driver_profiles_of(*, user: User) -> QuerySet[DriverProfile]:
    return DriverProfile.objects.filter(
        membership__user=user,
        membership__state=MembershipState.ACTIVE,
        membership__roles__contains=[Role.DRIVER],
    ).select_related("membership__association")


def driver_memberships_of(*, user: User) -> QuerySet[Membership]:
    """`user`'s active memberships with the driver role, with a driver profile or not:
    where they drive, or may set up driving (`driver_profiles_of` is those set up)."""
    return Membership.objects.filter(
        user=user, state=MembershipState.ACTIVE, roles__contains=[Role.DRIVER]
    ).select_related("association")


def driver_memberships_to_set_up(*, user: User) -> QuerySet[Membership]:
    """Of `driver_memberships_of`, those without a driver profile yet (made a driver,
    car and home base not given)."""
    return driver_memberships_of(user=user).filter(driver_profile__isnull=True)


def driver_associations_of(*, user: User) -> list[dict]:
    """Where `user` drives or may set up driving (`driver_memberships_of`), by name: the
    association's id and name, and whether their driver profile there is set up. Driver
    mode's start page offers the others, and the first setup of those not set up yet,
    in one query."""
    rows = (
        driver_memberships_of(user=user)
        .order_by("association__name", "association_id")
        .values_list("association_id", "association__name", "driver_profile__id")
    )
    return [
        {"id": association_id, "name": name, "set_up": profile_id is not None}
        for association_id, name, profile_id in rows
    ]


def driver_rides_held(*, membership: Membership) -> QuerySet[RideRequest]:
    """The rides the member holds as a driver of the membership's association (accepted,
    on the way, on board), soonest first: what the roster offers to give back to
    dispatch at once (`dispatch.services.driver_rides_release_all` takes those not on
    board)."""
    return (
        RideRequest.objects.filter(
            driver__membership=membership,
            association_id=membership.association_id,
            state__in=DRIVER_HOLDS,
        )
        .select_related("rider")
        .order_by(F("planned_pickup").asc(nulls_last=True), "earliest_pickup", "pk")
    )


def driver_profile_ids_of(*, user: User) -> list[int]:
    """Ids of all of `user`'s driver profiles, whatever the membership's state: the rides
    they hold and the offers made to them. SQL: it runs on every start page."""
    rows = fetch_dicts(
        """
        SELECT d.id FROM rides_driverprofile AS d
          JOIN community_membership AS m ON m.id = d.membership_id
         WHERE m.user_id = %s ORDER BY d.id
        """,
        [user.pk],
    )
    return [row["id"] for row in rows]


# What a ride card shows (when, from, to, state, whose), in SQL: these run on every start
# page and ride list (backend/db.py says why). Rows as from `rides_of_rider`.
_RIDE_CARD = """
    SELECT r.id AS pk, r.earliest_pickup, r.pickup_address, r.destination_address, r.state,
           v.name AS village_name, u.full_name AS rider_name
      FROM rides_riderequest AS r
      JOIN accounts_user AS u ON u.id = r.rider_id
      LEFT JOIN community_village AS v ON v.id = r.village_id
"""


def _ride_cards(sql: str, params: dict) -> list[dict]:
    rows = fetch_dicts(_RIDE_CARD + sql, params)
    for row in rows:
        row["state_label"] = RideState(row["state"]).label
    return rows


# Which rides are of the people someone acts for (`PeopleActable`): theirs and their
# proxied people's everywhere, the other members' in the associations they coordinate.
# The rider index finds them; the rest is a filter. `r`: the rides' alias.
def _of_people(r: str) -> str:
    return (
        f"{r}.rider_id = ANY(%(people)s) AND ({r}.rider_id = ANY(%(everywhere)s)"
        f" OR {r}.association_id = ANY(%(associations)s))"
    )


def ride_cards_of_riders(*, people: PeopleActable, closed: bool, limit: int) -> list[dict]:
    """Ride cards of the people `people` (from `people_actable_scope`) as in
    `rides_of_rider`: the open and held rides soonest first, or (`closed`) the closed
    ones latest first."""
    which = (
        "r.state = ANY(%(closed)s) ORDER BY r.earliest_pickup DESC"
        if closed
        else ("r.state <> ALL(%(closed)s) ORDER BY r.earliest_pickup")
    )
    return _ride_cards(
        f"WHERE {_of_people('r')} AND {which} LIMIT %(limit)s",
        people.sql() | {"closed": [str(state) for state in CLOSED_STATES], "limit": limit},
    )


def ride_cards_of_drivers(*, driver_ids: list[int], limit: int) -> list[dict]:
    """Ride cards of the rides held by these driver profiles (`driver_profile_ids_of`),
    soonest planned pickup first."""
    return _ride_cards(
        "WHERE r.driver_id = ANY(%(drivers)s) AND r.state = ANY(%(holds)s)"
        " ORDER BY r.planned_pickup LIMIT %(limit)s",
        {"drivers": driver_ids, "holds": [str(state) for state in DRIVER_HOLDS], "limit": limit},
    )


def rider_associations(*, rider: User) -> QuerySet[Association]:
    """The associations that have approved `rider` for volunteer rides (active
    membership with a rider approval): the ones a ride can be booked with."""
    return Association.objects.filter(
        memberships__user=rider,
        memberships__state=MembershipState.ACTIVE,
        memberships__rider_approval__isnull=False,
    ).select_related("municipality")


def associations_bookable_by(*, actor: User) -> QuerySet[Association]:
    """The associations `actor` may book a ride with for someone (the ride form's
    choice): those that approved themself or someone they are proxy for, and those
    they coordinate that approved a member (for whom they book only with that
    association: `ride_request_create`)."""
    return Association.objects.filter(
        Q(memberships__user__in=people_actable_everywhere_by(actor=actor))
        | Q(pk__in=coordinated_association_ids(user=actor)),
        memberships__state=MembershipState.ACTIVE,
        memberships__rider_approval__isnull=False,
    ).distinct()


def rides_visible_to(*, user: User) -> QuerySet[RideRequest]:
    """Rides a person may see (how much of each: `ride_view_for`):

    - the rider's side: the rider and their proxies;
    - the coordinators of the ride's association (not those of another association the
      rider is also a member of);
    - the driver the ride is (or was) assigned to;
    - a driver with a pending offer, only while the ride is still open: a declined,
      withdrawn or expired offer, or a ride someone else has taken, shows them nothing.

    Everyone else, analysts and anonymous people included, sees nothing."""
    if not user.is_authenticated:
        return RideRequest.objects.none()
    offered = Offer.objects.filter(
        ride=OuterRef("pk"), driver__membership__user=user, state=OfferState.PENDING
    )
    return RideRequest.objects.filter(
        Q(rider__in=people_actable_everywhere_by(actor=user))
        | Q(driver__membership__user=user)
        | Q(association_id__in=coordinated_association_ids(user=user))
        | (Q(state__in=OPEN_STATES) & Exists(offered))
    )


class RideView(StrEnum):
    """The shapes a ride is shown in; see mobile_api.rides_serializers."""

    FULL = "full"  # the rider's side and coordinators: everything
    DRIVER = "driver"  # the assigned driver while they hold it: exact places, whom to call
    DRIVER_PAST = "driver_past"  # that driver once it closed: the approximate area only
    OFFER = "offer"  # a driver with a pending offer: what the offer says


def offer_pending_for(*, ride: RideRequest, user: User) -> Offer | None:
    """`user`'s offer of the ride that waits for their answer, if any."""
    return (
        Offer.objects.select_related("ride__village")
        .filter(ride=ride, driver__membership__user=user, state=OfferState.PENDING)
        .first()
    )


def ride_view_for(*, viewer: User, ride: RideRequest) -> RideView | None:
    """How `viewer` sees the ride, or None when they may not see it at all. The exact
    pickup address is in the FULL and DRIVER shapes only."""
    if not viewer.is_authenticated:
        return None
    if user_can_act_for_in(
        actor=viewer, resident=ride.rider, association_id=ride.association_id
    ) or user_is_coordinator(user=viewer, association=ride.association):
        return RideView.FULL
    if ride.driver is not None and ride.driver.membership.user_id == viewer.pk:
        return RideView.DRIVER if ride.state in DRIVER_HOLDS else RideView.DRIVER_PAST
    if ride.state in OPEN_STATES and offer_pending_for(ride=ride, user=viewer) is not None:
        return RideView.OFFER
    return None


def rides_of_rider(*, actor: User) -> QuerySet[RideRequest]:
    """Rides of the people `actor` books for (themself included), newest first: those of
    themself and the people they are proxy for, and of the other members of the
    associations they coordinate the rides booked with those associations
    (`PeopleActable`). `ride_rows_of_riders` is the same in SQL
    (tests/mobile_api/test_ride_rows_output.py compares them): change both."""
    # The people first, then their rides through the rider index. As one statement,
    # PostgreSQL cannot estimate the OR-ed subquery of people_actable_by and joins every
    # ride in the database before it keeps a person's few (70 ms at 3,600 rides, and
    # growing with them).
    people = people_actable_scope(actor=actor)
    return (
        RideRequest.objects.filter(people.q(person="rider_id", association="association_id"))
        .select_related("rider", "driver__membership__user")
        .order_by("-earliest_pickup")
    )


def rides_for_coordinators(*, association: Association) -> QuerySet[RideRequest]:
    """The association's rides as its coordinators list them: the ones no driver was
    found for first, then the ones still looking, then the rest, each by pickup time.
    The order is that of the index `ride_association_urgency`, so a page is read from
    it rather than by sorting all the association's rides. Its SQL twin, for the list
    without filters: `ride_rows_for_coordinators`."""
    return (
        RideRequest.objects.filter(association=association)
        .annotate(urgency=ride_urgency())
        .order_by("urgency", "earliest_pickup", "pk")
    )


# What RideOutput shows of a ride, in SQL: the apps poll their list of rides (backend/db.py
# says why). Points as their coordinates (cheaper than reading and parsing the geography).
_RIDE_ROWS = """
    SELECT r.id, r.state, r.rider_id, u.full_name AS rider_full_name, u.phone AS rider_phone,
           u.is_managed AS rider_is_managed, r.requested_by_id, r.association_id,
           r.village_id, v.name AS village_name,
           ST_X(r.pickup::geometry) AS pickup_x, ST_Y(r.pickup::geometry) AS pickup_y,
           r.pickup_address,
           ST_X(r.destination::geometry) AS destination_x,
           ST_Y(r.destination::geometry) AS destination_y,
           r.destination_address, r.time_kind, r.earliest_pickup, r.latest_pickup, r.arrive_by,
           r.planned_pickup, r.passengers, r.needs, r.note, r.distance_m, r.return_of_id,
           back.id AS return_ride_id, r.driver_id,
           d.vehicle_description AS driver_car, du.full_name AS driver_full_name,
           du.phone AS driver_phone, r.created_at, r.accepted_at, r.closed_at, r.driven_m
      FROM rides_riderequest AS r
      JOIN accounts_user AS u ON u.id = r.rider_id
      LEFT JOIN community_village AS v ON v.id = r.village_id
      LEFT JOIN rides_driverprofile AS d ON d.id = r.driver_id
      LEFT JOIN community_membership AS m ON m.id = d.membership_id
      LEFT JOIN accounts_user AS du ON du.id = m.user_id
      LEFT JOIN rides_riderequest AS back ON back.return_of_id = r.id
"""


def ride_rows_of_riders(*, people: PeopleActable, offset: int, limit: int) -> list[dict]:
    """`rides_of_rider` as rows (`people` from `people_actable_scope`), in its order:
    the rides from `offset`, at most `limit`."""
    # The page is cut first, through the rider index, and only its rides joined: as one
    # prepared statement (backend/db.py), the plan made without the values joined the
    # riders' rides in pickup order and took 2.9 ms instead of 0.6.
    # Composed of our own constants; values are parameters.
    mine = f"SELECT * FROM rides_riderequest AS mine WHERE {_of_people('mine')}"  # noqa: S608
    page = f"FROM ({mine} ORDER BY earliest_pickup DESC LIMIT %(limit)s OFFSET %(offset)s) AS r"
    return fetch_dicts(
        _RIDE_ROWS.replace("FROM rides_riderequest AS r", page)
        + " ORDER BY r.earliest_pickup DESC",
        people.sql() | {"limit": limit, "offset": offset},
    )


def ride_row(*, ride_id: int) -> dict:
    """One ride as `ride_rows_of_riders` reads it."""
    [row] = fetch_dicts(_RIDE_ROWS + " WHERE r.id = %(ride)s", {"ride": ride_id})
    return row


def ride_count_of_riders(*, people: PeopleActable) -> int:
    """How many rides `ride_rows_of_riders` has in all."""
    [row] = fetch_dicts(
        f"SELECT count(*) AS n FROM rides_riderequest AS r WHERE {_of_people('r')}",  # noqa: S608
        people.sql(),
    )
    return row["n"]


# rides_for_coordinators' order in SQL, written as the index `ride_association_urgency`
# writes it (ride_urgency()): PostgreSQL reads a page from the index only when the two
# are the same expression (tests/mobile_api/test_rides_api.py checks the plan).
_URGENCY = (
    f"CASE WHEN r.state = '{RideState.UNASSIGNED.value}' THEN 0"
    f" WHEN r.state IN ({', '.join(repr(state.value) for state in OPEN_STATES)}) THEN 1"
    " ELSE 2 END"
)


def ride_rows_for_coordinators(*, association_id: int, offset: int, limit: int) -> list[dict]:
    """`rides_for_coordinators` as rows, in its order: the rides from `offset`, at most
    `limit`."""
    return fetch_dicts(
        _RIDE_ROWS + " WHERE r.association_id = %(association)s"
        f" ORDER BY {_URGENCY}, r.earliest_pickup, r.id LIMIT %(limit)s OFFSET %(offset)s",
        {"association": association_id, "limit": limit, "offset": offset},
    )


def ride_count_for_coordinators(*, association_id: int) -> int:
    """How many rides `ride_rows_for_coordinators` has in all."""
    [row] = fetch_dicts(
        "SELECT count(*) AS n FROM rides_riderequest WHERE association_id = %(association)s",
        {"association": association_id},
    )
    return row["n"]


def rides_of_driver(*, user: User) -> QuerySet[RideRequest]:
    """Rides assigned to `user` as a driver, in every association they drive for: the
    ones they hold (accepted, on the way, on board) first, soonest pickup first, then
    the closed ones (completed, no-show, cancelled), latest first. A ride the driver gave
    back is no longer theirs and is not here. `driver_ride_rows` is the same in SQL
    (tests/mobile_api/test_ride_rows_output.py compares them): change both."""
    return (
        RideRequest.objects.filter(driver__membership__user=user)
        .annotate(
            closed=Case(
                When(state__in=DRIVER_HOLDS, then=Value(False)),
                default=Value(True),
                output_field=BooleanField(),
            ),
            held_pickup=Case(When(state__in=DRIVER_HOLDS, then=F("planned_pickup"))),
        )
        .order_by(
            "closed",
            F("held_pickup").asc(nulls_last=True),
            F("planned_pickup").desc(nulls_last=True),
            "-pk",
        )
    )


# `rides_of_driver` in SQL, with what a driver's row of the API shows (backend/db.py says
# why): whose ride it is (`driver__membership__user`) and the order are the same.
_DRIVER_RIDE_ROWS = """
    SELECT r.id, r.state, r.association_id, r.village_id, v.name AS village_name,
           u.full_name AS rider_full_name, r.planned_pickup,
           ST_X(r.pickup::geometry) AS pickup_x, ST_Y(r.pickup::geometry) AS pickup_y,
           r.pickup_address,
           ST_X(r.destination::geometry) AS destination_x,
           ST_Y(r.destination::geometry) AS destination_y,
           r.destination_address, r.passengers, r.needs, r.distance_m, r.driven_m, r.closed_at
      FROM rides_riderequest AS r
      JOIN rides_driverprofile AS d ON d.id = r.driver_id
      JOIN community_membership AS m ON m.id = d.membership_id
      JOIN accounts_user AS u ON u.id = r.rider_id
      LEFT JOIN community_village AS v ON v.id = r.village_id
     WHERE m.user_id = %(user)s
     ORDER BY r.state <> ALL(%(holds)s),
              CASE WHEN r.state = ANY(%(holds)s) THEN r.planned_pickup END ASC NULLS LAST,
              r.planned_pickup DESC NULLS LAST,
              r.id DESC
     LIMIT %(limit)s OFFSET %(offset)s
"""


def driver_ride_rows(*, user: User, offset: int, limit: int) -> list[dict]:
    """`rides_of_driver` as rows, in its order: the rides from `offset`, at most `limit`."""
    return fetch_dicts(
        _DRIVER_RIDE_ROWS,
        {
            "user": user.pk,
            "holds": [str(state) for state in DRIVER_HOLDS],
            "limit": limit,
            "offset": offset,
        },
    )


def driver_ride_count(*, user: User) -> int:
    """How many rides `driver_ride_rows` has in all."""
    [row] = fetch_dicts(
        """
        SELECT count(*) AS n
          FROM rides_riderequest AS r
          JOIN rides_driverprofile AS d ON d.id = r.driver_id
          JOIN community_membership AS m ON m.id = d.membership_id
         WHERE m.user_id = %(user)s
        """,
        {"user": user.pk},
    )
    return row["n"]


# The offers waiting for a driver's answer, with what `dispatch.offers.offer_payload`
# shows: the apps poll them (backend/db.py says why). Only while the ride is open: the
# same rule as the offers of `rides_visible_to`.
_PENDING_OFFER_ROWS = """
    SELECT o.id, o.state, o.pickup_at, r.id AS ride_id, v.name AS village_name,
           ST_X(r.pickup::geometry) AS pickup_x, ST_Y(r.pickup::geometry) AS pickup_y,
           r.distance_m, r.needs, r.passengers
      FROM rides_offer AS o
      JOIN rides_driverprofile AS d ON d.id = o.driver_id
      JOIN community_membership AS m ON m.id = d.membership_id
      JOIN rides_riderequest AS r ON r.id = o.ride_id
      LEFT JOIN community_village AS v ON v.id = r.village_id
     WHERE m.user_id = %(user)s AND o.state = %(pending)s AND r.state = ANY(%(open)s)
"""


def pending_offer_rows(*, user: User, offset: int, limit: int) -> list[dict]:
    """Offers made to `user` that wait for their answer, on rides still open: soonest
    pickup first, from `offset`, at most `limit`."""
    return fetch_dicts(
        _PENDING_OFFER_ROWS + " ORDER BY o.pickup_at, o.id LIMIT %(limit)s OFFSET %(offset)s",
        {**_pending_offer_params(user), "limit": limit, "offset": offset},
    )


def pending_offer_count(*, user: User) -> int:
    """How many offers `pending_offer_rows` has in all."""
    [row] = fetch_dicts(
        f"SELECT count(*) AS n FROM ({_PENDING_OFFER_ROWS}) AS pending",  # noqa: S608 - constant
        _pending_offer_params(user),
    )
    return row["n"]


def _pending_offer_params(user: User) -> dict:
    return {
        "user": user.pk,
        "pending": OfferState.PENDING.value,
        "open": [str(state) for state in OPEN_STATES],
    }


@dataclass(frozen=True)
class MileageRow:
    driver_id: int
    driver_name: str
    rides: int
    metres: int
    amount_ore: int

    @property
    def km(self) -> float:
        # Tenths of a km, half up, like the amount (a float round() goes half to even).
        return km_in_tenths(self.metres)


def km_in_tenths(metres: int) -> float:
    """Kilometres to one decimal, half up, as the mileage pages show them."""
    return ((metres + 50) // 100) / 10


def mileage_amount_ore(*, metres: int, rate_ore_per_km: int) -> int:
    """The reimbursement for `metres` at the per-km rate, to the öre, half an öre rounded
    up. Integer arithmetic only: a float (or Python's round(), which rounds half to
    even) would pay 250.5 öre as 250."""
    return (metres * rate_ore_per_km + 500) // 1000


def mileage_report(*, association: Association, year: int, month: int) -> list[MileageRow]:
    """Per driver: completed rides and kilometres in the month (local time), and the
    reimbursement at MILEAGE_RATE_ORE_PER_KM (`mileage_amount_ore` of the month's
    metres; a ride with a claim beyond what it can take counts what it can take until the
    claim is approved, then the claim). One aggregate query."""
    start, end = month_bounds(year=year, month=month)
    rows = (
        RideRequest.objects.filter(
            association=association,
            state=RideState.COMPLETED,
            closed_at__gte=start,
            closed_at__lt=end,
        )
        .values("driver_id", "driver__membership__user__full_name")
        .annotate(rides=Count("pk"), metres=Sum("driven_m"))
        .order_by("driver__membership__user__full_name")
    )
    rate = settings.MILEAGE_RATE_ORE_PER_KM
    return [
        MileageRow(
            driver_id=row["driver_id"],
            driver_name=row["driver__membership__user__full_name"],
            rides=row["rides"],
            metres=row["metres"] or 0,
            amount_ore=mileage_amount_ore(metres=row["metres"] or 0, rate_ore_per_km=rate),
        )
        for row in rows
    ]


def month_bounds(*, year: int, month: int) -> tuple[datetime, datetime]:
    """The month as [start, end) in local time: the months of the mileage report."""
    start = datetime(year, month, 1, tzinfo=STOCKHOLM)
    return start, datetime(year + month // 12, month % 12 + 1, 1, tzinfo=STOCKHOLM)


def mileage_claims_of(*, association: Association) -> QuerySet[MileageClaim]:
    """Claims of kilometres beyond what a ride can take, on the association's rides, with
    the ride, its village and its driver: where a coordinator looks one up by id."""
    return MileageClaim.objects.filter(ride__association=association).select_related(
        "ride__association", "ride__village", "ride__driver__membership__user"
    )


def mileage_claims_waiting(*, association: Association) -> QuerySet[MileageClaim]:
    """The association's claims waiting for a coordinator, oldest first: the top of the
    mileage page, whatever month it shows."""
    return (
        mileage_claims_of(association=association)
        .filter(state=ClaimState.PENDING)
        .order_by("created_at", "pk")
    )


def mileage_claims_decided(
    *, association: Association, state: ClaimState, year: int, month: int
) -> QuerySet[MileageClaim]:
    """The association's claims decided `state` on rides of the month (local time, the
    month the ride was completed: the month of the mileage report it counts in), oldest
    first."""
    start, end = month_bounds(year=year, month=month)
    return (
        mileage_claims_of(association=association)
        .filter(state=state, ride__closed_at__gte=start, ride__closed_at__lt=end)
        .order_by("created_at", "pk")
    )


def mileage_claims_decidable_by(*, user: User) -> QuerySet[MileageClaim]:
    """Claims on rides of the associations `user` coordinates, with what a claim's row
    shows: where the API looks a claim up by id, so nobody else finds it (404)."""
    return MileageClaim.objects.filter(
        ride__association_id__in=coordinated_association_ids(user=user)
    ).select_related("ride__association", "ride__village", "ride__driver__membership__user")


def driver_logbook(*, driver: DriverProfile) -> QuerySet[RideRequest]:
    """The driver's completed rides, newest first: the basis of their mileage claim."""
    return RideRequest.objects.filter(driver=driver, state=RideState.COMPLETED).order_by(
        "-closed_at"
    )


@dataclass(frozen=True)
class MonthKm:
    month: date
    rides: int
    metres: int
    amount_ore: int

    @property
    def km(self) -> float:
        return round(self.metres / 1000, 1)


def driver_km_by_month(*, driver: DriverProfile, months: int = 12) -> list[MonthKm]:
    """The driver's completed rides and kilometres per month (local time), newest month
    first, with the reimbursement at MILEAGE_RATE_ORE_PER_KM. One aggregate query."""
    rows = (
        driver_logbook(driver=driver)
        .annotate(month=TruncMonth("closed_at", tzinfo=STOCKHOLM))
        .values("month")
        .annotate(rides=Count("pk"), metres=Sum("driven_m"))
        .order_by("-month")[:months]
    )
    rate = settings.MILEAGE_RATE_ORE_PER_KM
    return [
        MonthKm(
            month=row["month"].date(),
            rides=row["rides"],
            metres=row["metres"] or 0,
            amount_ore=round((row["metres"] or 0) / 1000 * rate),
        )
        for row in rows
    ]


def rides_ahead_of_member(
    *, rider: User, association: Association, limit: int = 20
) -> QuerySet[RideRequest]:
    """A member's rides with the association that are still to happen (looking for a
    driver or with one), soonest first: what a coordinator goes through with a caller."""
    return RideRequest.objects.filter(
        rider=rider, association=association, state__in=[*OPEN_STATES, *DRIVER_HOLDS]
    ).order_by("earliest_pickup", "pk")[:limit]

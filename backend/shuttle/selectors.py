"""Who sees which shop runs, and the run sheet.

- A member (active) of the association, and whoever books for one (a proxy), sees its
  runs: times, the shop, seats left. Not who else comes.
- A resident, or whoever books for them (proxy; a coordinator for the association's own
  runs), sees their own sign-ups.
- A coordinator sees everything of the association's runs, the run sheet included.
- A driver sees the run sheet of their own car (names, addresses, phone numbers,
  needs), and of a run offered to them only the villages and how many come.
- Anyone else (another association, an analyst): nothing; a run is a 404.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import (
    Case,
    Count,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    When,
)

from backend.accounts.models import ProxyLink, User
from backend.community.models import Membership, MembershipState
from backend.community.selectors import (
    PeopleActable,
    coordinated_association_ids,
    people_actable_everywhere_by,
    people_actable_q,
    user_coordinates,
)
from backend.db import fetch_dicts
from backend.shuttle.models import (
    ACTIVE_SIGNUP,
    HOLDS_SEAT,
    RunOccurrence,
    RunOffer,
    RunOfferState,
    RunSchedule,
    RunSignup,
    RunVehicle,
    SignupState,
    StandingSignup,
)


def _member_association_ids(user: User):
    return user.memberships.filter(state=MembershipState.ACTIVE).values_list(
        "association_id", flat=True
    )


def _associations_of_people_actable_everywhere_by(user: User):
    """Associations where `user`, or someone they are proxy for, is an active member: a
    proxy sees the runs of her mother's association. A coordinator is a member of theirs;
    the other associations of its members are not theirs to see."""
    return Membership.objects.filter(
        user__in=people_actable_everywhere_by(actor=user), state=MembershipState.ACTIVE
    ).values_list("association_id", flat=True)


def schedules_visible_to(*, user: User) -> QuerySet[RunSchedule]:
    return RunSchedule.objects.filter(association_id__in=_member_association_ids(user))


def schedules_for_coordinator(*, user: User, association_id: int) -> QuerySet[RunSchedule]:
    """The association's recurring runs, for one of its coordinators (none for others)."""
    return RunSchedule.objects.filter(
        association_id=association_id,
        association_id__in=coordinated_association_ids(user=user),
    )


def occurrences_visible_to(*, user: User) -> QuerySet[RunOccurrence]:
    """Runs of the associations `user` or someone they are proxy for is an active member
    of (drivers and coordinators are members too)."""
    return RunOccurrence.objects.filter(
        association_id__in=_associations_of_people_actable_everywhere_by(user)
    )


def user_coordinates_run(*, user: User, occurrence: RunOccurrence) -> bool:
    return user_coordinates(user=user, association_id=occurrence.association_id)


def signups_of(*, actor: User) -> QuerySet[RunSignup]:
    """Sign-ups of the people `actor` books for (themself included), soonest run first: of
    the members of an association they coordinate, those on its runs
    (`people_actable_q`)."""
    return (
        RunSignup.objects.filter(
            people_actable_q(actor=actor, person="passenger", association="occurrence__association")
        )
        .select_related("passenger", "occurrence__schedule")
        .order_by("occurrence__arrive_at", "pk")
    )


def signup_cards(*, people: PeopleActable, since: datetime, limit: int) -> list[dict]:
    """The active sign-ups of `people` (from `people_actable_scope`, as `signups_of`) for
    runs that arrive after `since`, soonest first (a cancelled run's too, with its state
    and reason, so the card says so): only what a card shows, the waitlist
    place counted as in `with_waitlist_position`. SQL, as it runs on every start page
    (backend/db.py)."""
    rows = fetch_dicts(
        """
        SELECT s.state, s.estimated_pickup, o.arrive_at, sch.destination_name,
               o.state AS run_state, o.state_reason AS run_reason,
               u.full_name AS passenger_name,
               CASE WHEN s.state = %(waitlisted)s THEN (
                   SELECT count(*) FROM shuttle_runsignup AS w
                    WHERE w.occurrence_id = s.occurrence_id AND w.state = %(waitlisted)s
                      AND w.created_at <= s.created_at
               ) END AS waitlist_position
          FROM shuttle_runsignup AS s
          JOIN shuttle_runoccurrence AS o ON o.id = s.occurrence_id
          JOIN shuttle_runschedule AS sch ON sch.id = o.schedule_id
          JOIN accounts_user AS u ON u.id = s.passenger_id
         WHERE s.passenger_id = ANY(%(people)s)
           AND (s.passenger_id = ANY(%(everywhere)s) OR o.association_id = ANY(%(associations)s))
           AND s.state = ANY(%(active)s) AND o.arrive_at > %(since)s
         ORDER BY o.arrive_at, s.id
         LIMIT %(limit)s
        """,
        {
            **people.sql(),
            "active": [str(state) for state in ACTIVE_SIGNUP],
            "waitlisted": str(SignupState.WAITLISTED),
            "since": since,
            "limit": limit,
        },
    )
    for row in rows:
        row["state_label"] = SignupState(row["state"]).label
    return rows


def signups_visible_to(*, user: User) -> QuerySet[RunSignup]:
    """Sign-ups `user` may look up by id: their own and those of whom they are proxy for,
    and all of the associations they coordinate."""
    return RunSignup.objects.filter(
        Q(passenger__in=people_actable_everywhere_by(actor=user))
        | Q(occurrence__association_id__in=coordinated_association_ids(user=user))
    ).select_related("passenger", "occurrence__association", "vehicle__driver__membership")


def standing_visible_to(*, user: User) -> QuerySet[StandingSignup]:
    return StandingSignup.objects.filter(
        Q(passenger__in=people_actable_everywhere_by(actor=user))
        | Q(schedule__association_id__in=coordinated_association_ids(user=user))
    ).select_related("passenger", "schedule")


def standing_signups_of(*, actor: User) -> QuerySet[StandingSignup]:
    """Weekly sign-ups of the people `actor` books for, as the shop-runs page lists them:
    their own and those of whom they are proxy for, and, in an association they
    coordinate, its members' (`people_actable_q`)."""
    return standing_visible_to(user=actor).filter(
        people_actable_q(actor=actor, person="passenger", association="schedule__association")
    )


def vehicles_of_driver(*, user: User) -> QuerySet[RunVehicle]:
    return RunVehicle.objects.filter(driver__membership__user=user)


def run_offers_for(*, user: User) -> QuerySet[RunOffer]:
    return (
        RunOffer.objects.filter(driver__membership__user=user, state=RunOfferState.PENDING)
        .select_related("occurrence__schedule")
        .order_by("occurrence__arrive_at", "pk")
    )


def waitlist_position(*, signup: RunSignup) -> int | None:
    if signup.state != SignupState.WAITLISTED:
        return None
    return RunSignup.objects.filter(
        occurrence_id=signup.occurrence_id,
        state=SignupState.WAITLISTED,
        created_at__lte=signup.created_at,
    ).count()


# --- The run sheet ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SheetStop:
    signup_id: int
    order: int | None
    estimated_pickup: datetime | None
    name: str
    address: str
    phone: str
    needs: tuple[str, ...]
    note: str
    seats: int
    outcome: str


@dataclass(frozen=True)
class SheetCar:
    number: int | None
    vehicle_id: int | None
    driver_name: str
    driver_phone: str
    car: str
    seats: int | None
    km: float | None
    stops: tuple[SheetStop, ...]


@dataclass(frozen=True)
class RunSheet:
    occurrence: RunOccurrence
    cars: tuple[SheetCar, ...]
    unplanned: tuple[SheetStop, ...]  # seated but not in a plan (no plan yet, or infeasible)


def run_sheet_view(*, viewer: User, occurrence: RunOccurrence) -> str | None:
    """'all' for a coordinator, 'driver' for a driver of the run, else None."""
    if user_coordinates_run(user=viewer, occurrence=occurrence):
        return "all"
    if RunVehicle.objects.filter(occurrence=occurrence, driver__membership__user=viewer).exists():
        return "driver"
    return None


def run_sheet(*, viewer: User, occurrence: RunOccurrence) -> RunSheet | None:
    """The ordered stops per car with what the driver needs: names, addresses, phone
    numbers (the proxy's, for a resident without a phone), needs, estimated times. A
    driver gets only their own car. A fixed number of queries whatever the size."""
    view = run_sheet_view(viewer=viewer, occurrence=occurrence)
    if view is None:
        return None
    vehicles = list(
        RunVehicle.objects.filter(occurrence=occurrence).select_related("driver__membership__user")
    )
    signups = list(
        RunSignup.objects.filter(occurrence=occurrence, state__in=HOLDS_SEAT)
        .select_related("passenger")
        .prefetch_related(
            Prefetch(
                "passenger__proxy_links",
                queryset=ProxyLink.objects.accepted().select_related("proxy"),
            )
        )
        .order_by("car_number", "stop_order", "pk")
    )

    def stop(signup: RunSignup) -> SheetStop:
        return SheetStop(
            signup_id=signup.pk,
            order=signup.stop_order,
            estimated_pickup=signup.estimated_pickup,
            name=signup.passenger.full_name,
            address=signup.pickup_address,
            phone=_phone(signup.passenger),
            needs=tuple(signup.needs),
            note=signup.note,
            seats=signup.seats,
            outcome=signup.outcome,
        )

    cars = []
    numbers = sorted({s.car_number for s in signups if s.car_number is not None})
    vehicle_by_id = {v.pk: v for v in vehicles}
    for number in numbers:
        rows = [s for s in signups if s.car_number == number]
        vehicle = vehicle_by_id.get(rows[0].vehicle_id) if rows[0].vehicle_id else None
        if view == "driver" and (vehicle is None or vehicle.driver.membership.user_id != viewer.pk):
            continue
        cars.append(_car(number, vehicle, rows, stop))
    planned_vehicles = {car.vehicle_id for car in cars}
    for vehicle in vehicles:
        mine = vehicle.driver.membership.user_id == viewer.pk
        if vehicle.pk not in planned_vehicles and (view == "all" or mine):
            cars.append(_car(None, vehicle, [], stop))
    unplanned = tuple(stop(s) for s in signups if s.car_number is None) if view == "all" else ()
    return RunSheet(occurrence=occurrence, cars=tuple(cars), unplanned=unplanned)


def _car(number, vehicle: RunVehicle | None, rows, stop) -> SheetCar:
    user = vehicle.driver.membership.user if vehicle else None
    return SheetCar(
        number=number,
        vehicle_id=vehicle.pk if vehicle else None,
        driver_name=user.full_name if user else "",
        driver_phone=user.phone if user else "",
        car=vehicle.driver.vehicle_description if vehicle else "",
        seats=vehicle.seats if vehicle else None,
        km=float(vehicle.plan_km) if vehicle and vehicle.plan_km is not None else None,
        stops=tuple(stop(s) for s in rows),
    )


def _phone(passenger: User) -> str:
    """Their phone, else the phone of an accepted proxy (prefetched: no query per stop)."""
    if passenger.phone:
        return passenger.phone
    links = sorted(passenger.proxy_links.all(), key=lambda link: not link.receives_sms_for_resident)
    return next((link.proxy.phone for link in links if link.proxy.phone), "")


def with_waitlist_position(signups: QuerySet[RunSignup]) -> QuerySet[RunSignup]:
    """Annotate `waitlist_position` (1 = next in line; None when not waitlisted) in the
    same query."""
    ahead = (
        RunSignup.objects.filter(
            occurrence=OuterRef("occurrence"),
            state=SignupState.WAITLISTED,
            created_at__lte=OuterRef("created_at"),
        )
        .order_by()
        .values("occurrence")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return signups.annotate(
        waitlist_position=Case(
            When(state=SignupState.WAITLISTED, then=Subquery(ahead)),
            default=None,
            output_field=IntegerField(),
        )
    )


def occurrences_for_coordinator(*, user: User, association_id: int) -> QuerySet[RunOccurrence]:
    """The association's runs with what the coordinator's list shows, counted in SQL."""
    return (
        RunOccurrence.objects.filter(
            association_id=association_id,
            association_id__in=coordinated_association_ids(user=user),
        )
        .select_related("schedule")
        .prefetch_related(
            Prefetch(
                "vehicles",
                queryset=RunVehicle.objects.select_related("driver__membership__user"),
            )
        )
        .annotate(waitlisted=Count("signups", filter=Q(signups__state=SignupState.WAITLISTED)))
    )


def signups_ahead_of_member(
    *, passenger: User, association_id: int, now: datetime, limit: int = 20
) -> QuerySet[RunSignup]:
    """A member's seats and waitlist places on the association's runs still to come,
    soonest first (the console's page of a caller)."""
    return (
        RunSignup.objects.filter(
            passenger=passenger,
            occurrence__association_id=association_id,
            occurrence__arrive_at__gt=now,
            state__in=ACTIVE_SIGNUP,
        )
        .select_related("occurrence__schedule")
        .order_by("occurrence__arrive_at", "pk")[:limit]
    )

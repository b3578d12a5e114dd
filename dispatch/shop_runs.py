"""Shop runs in dispatch: planning the pickup order, and finding drivers.

Planning (`occurrence_plan`): read the seated sign-ups and the cars, ask backend.geo for
the distance matrix (the router, or geodesic x road factor), solve with
`dispatch.pickup_order`, save. The lease/save pair in backend.shuttle.services keeps a
second planner off the run while one solves and drops a plan computed from data that
changed meanwhile; the planner then solves again with the new data.

Cars: the cars of drivers on the run, and for seats no driver covers yet, cars "to come"
(the schedule's seats per car, starting at their first pickup), so passengers have
estimated times before a driver is found.

Drivers: a run is offered like a ride, to the association's drivers available for the
run's whole time (`dispatch.matching.candidates`: weekly availability, away days, rides
they hold, service radius reaching the shop), minus drivers already on another run then;
the first to accept gets a car on it, a second driver when the seats need one.
"""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _g
from django.utils.translation import gettext_lazy as _

from backend.accounts.models import User
from backend.community.models import MembershipState, Role
from backend.errors import ApplicationError, ErrorKind
from backend.geo import road_matrix
from backend.notifications.names import PersonName
from backend.notifications.replies import ReplyContext, reply_action
from backend.notifications.services import ReplyRequest, notify
from backend.rides.models import DriverProfile, Need, RideRequest
from backend.shuttle import services as shuttle
from backend.shuttle.errors import ShuttleErrorCode
from backend.shuttle.models import (
    HOLDS_SEAT,
    OccurrenceState,
    RunOccurrence,
    RunOffer,
    RunOfferState,
    RunSignup,
    RunVehicle,
)
from dispatch.matching import candidates
from dispatch.pickup_order import Car, Infeasible, Pickup, Plan, Problem, Reason, solve


@dataclass(frozen=True)
class PlanOutcome:
    saved: bool
    plan: Plan | None
    problem: str


def _service_s(needs: list[str]) -> int:
    minutes = settings.SHUTTLE_BOARDING_MINUTES
    if Need.WALKER in needs or Need.WHEELCHAIR in needs:
        minutes += settings.SHUTTLE_BOARDING_EXTRA_MINUTES
    return minutes * 60


def build_problem(
    occurrence: RunOccurrence, signups: list[RunSignup], vehicles: list[RunVehicle]
) -> Problem:
    """The solver's input for an occurrence: times in seconds relative to the arrival at
    the shop (0), points: the shop, the pickups, the drivers' homes."""
    schedule = occurrence.schedule
    homes = [vehicle.driver.home_base for vehicle in vehicles]
    points = [schedule.destination, *(s.pickup for s in signups), *homes]
    distances, durations = road_matrix(points)
    cars = [
        Car(
            key=vehicle.pk,
            seats=vehicle.seats,
            wheelchair=vehicle.driver.wheelchair_accessible,
            start=1 + len(signups) + index,
        )
        for index, vehicle in enumerate(vehicles)
    ]
    seats = sum(s.seats for s in signups)
    missing = max(0, seats - sum(v.seats for v in vehicles))
    to_come = min(
        math.ceil(missing / schedule.seats_per_vehicle), schedule.max_vehicles - len(vehicles)
    )
    if not vehicles:
        to_come = max(to_come, 1)
    # A car to come is assumed to take a wheelchair: the association finds one that does.
    cars += [
        Car(key=-(index + 1), seats=schedule.seats_per_vehicle, wheelchair=True)
        for index in range(max(0, to_come))
    ]
    return Problem(
        pickups=[
            Pickup(
                key=s.pk,
                seats=s.seats,
                service_s=_service_s(list(s.needs)),
                wheelchair=Need.WHEELCHAIR in s.needs,
            )
            for s in signups
        ],
        cars=cars,
        distance_m=distances,
        duration_s=durations,
        arrive_by_s=0,
        earliest_pickup_s=-settings.SHUTTLE_PICKUP_WINDOW_MINUTES * 60,
        vehicle_fixed_cost_m=settings.SHUTTLE_VEHICLE_FIXED_COST_M,
    )


def describe(problems: tuple[Infeasible, ...], names: dict[int, str]) -> str:
    """What stands in the way, in words a coordinator can act on."""
    lines = []
    for problem in problems:
        who = ", ".join(names.get(key, "?") for key in problem.pickups)
        if problem.reason == Reason.SEATS:
            lines.append(
                _g("%(needed)s seats are signed up but the cars have %(available)s. Add a car.")
                % {"needed": problem.seats_needed, "available": problem.seats_available}
            )
        elif problem.reason == Reason.TOO_FAR:
            lines.append(
                _g(
                    "%(who)s cannot be brought to the shop within %(minutes)s minutes of the "
                    "first pickup. Pick them up elsewhere or arrange another ride."
                )
                % {"who": who, "minutes": settings.SHUTTLE_PICKUP_WINDOW_MINUTES}
            )
        elif problem.reason == Reason.WHEELCHAIR:
            lines.append(
                _g("%(who)s needs a car that takes a wheelchair, and no car on the run does.")
                % {"who": who}
            )
        else:
            lines.append(
                _g(
                    "The cars cannot collect everyone and be at the shop in time. Add a car "
                    "or move the run."
                )
            )
    return " ".join(lines)


def _problem_payload(problems: tuple[Infeasible, ...], signups: list[RunSignup]) -> dict:
    """`describe` for the coordinators' message: a place in the text for each passenger
    it names (`%(who_<sign-up id>)s`) and their names as fields of their own, so erasing
    one of them takes out that name (kinds._plan_problem_words puts them in)."""
    named = {key for problem in problems for key in problem.pickups}
    people = {s.pk: s.passenger for s in signups if s.pk in named}
    return {
        "problem": describe(problems, {pk: f"%(who_{pk})s" for pk in people}),
        **{f"who_{pk}": PersonName.of(person) for pk, person in people.items()},
    }


def occurrence_plan(*, occurrence_id: int, force: bool = False) -> PlanOutcome:
    """Plan the pickup order of the occurrence if its plan is stale (or `force`), and save
    it. Coordinators are told when no plan exists (once per distinct problem). When the
    run changes during the solve the plan is dropped and made again, up to
    SHUTTLE_PLAN_ATTEMPTS times; after that the run stays stale for the beat sweep. Another
    planner holding the run's lease: nothing done here (that one sees the change)."""
    if force:
        RunOccurrence.objects.filter(pk=occurrence_id).update(**shuttle.plan_stale_fields())
    outcome = PlanOutcome(saved=False, plan=None, problem="")
    for _attempt in range(settings.SHUTTLE_PLAN_ATTEMPTS):
        lease = shuttle.plan_lease_take(occurrence_id=occurrence_id)
        if lease is None:
            return outcome
        try:
            outcome = _plan_with(lease)
        except BaseException:
            shuttle.plan_lease_release(lease=lease)
            raise
        if outcome.saved:
            return outcome
    return outcome


def _plan_with(lease: shuttle.PlanLease) -> PlanOutcome:
    """Read the run at the lease's version, solve, save (dropped if the version moved)."""
    occurrence_id = lease.occurrence_id
    occurrence = RunOccurrence.objects.select_related("schedule").get(pk=occurrence_id)
    signups = list(
        RunSignup.objects.filter(occurrence=occurrence, state__in=HOLDS_SEAT)
        .select_related("passenger")
        .order_by("pk")
    )
    vehicles = list(
        RunVehicle.objects.filter(occurrence=occurrence)
        .select_related("driver__membership__user")
        .order_by("pk")
    )
    plan = solve(build_problem(occurrence, signups, vehicles)) if signups else Plan()
    names = {s.pk: s.passenger.full_name for s in signups}
    problem = describe(plan.problems, names)
    stops = []
    vehicle_km: dict[int, float] = {}
    for number, route in enumerate(plan.routes, 1):
        vehicle_id = route.key if route.key > 0 else None
        if vehicle_id is not None:
            vehicle_km[vehicle_id] = round(route.distance_m / 1000, 1)
        for order, stop in enumerate(route.stops, 1):
            at = occurrence.arrive_at + timedelta(seconds=stop.at_s)
            stops.append((stop.key, vehicle_id, number, order, _to_minute(at)))
    total_km = round(plan.distance_m / 1000, 1) if plan.feasible and signups else None
    previous_problem = occurrence.plan_problem
    saved = shuttle.plan_save(
        lease=lease,
        stops=stops,
        vehicle_km=vehicle_km,
        total_km=total_km,
        problem=problem,
    )
    if saved and problem and problem != previous_problem:
        for coordinator in _coordinators(occurrence):
            notify(
                coordinator,
                "shuttle.plan_problem",
                {
                    "when": shuttle.local_time(occurrence.arrive_at),
                    **_problem_payload(plan.problems, signups),
                    "run": occurrence.pk,
                },
            )
    return PlanOutcome(saved=saved, plan=plan, problem=problem)


def _to_minute(moment: datetime) -> datetime:
    """Estimates are shown to the minute; round down, so nobody is late for them."""
    return moment.replace(second=0, microsecond=0)


def _coordinators(occurrence: RunOccurrence):
    return User.objects.filter(
        memberships__association_id=occurrence.association_id,
        memberships__state=MembershipState.ACTIVE,
        memberships__roles__contains=[Role.COORDINATOR],
    )


def plan_stale_runs(*, limit: int = 200) -> int:
    """Beat: plan every scheduled future run whose plan is stale."""
    ids = list(
        RunOccurrence.objects.filter(
            plan_stale=True, state=OccurrenceState.SCHEDULED, arrive_at__gt=timezone.now()
        ).values_list("pk", flat=True)[:limit]
    )
    return sum(occurrence_plan(occurrence_id=pk).saved for pk in ids)


# --- Drivers ----------------------------------------------------------------------------------


def _as_ride(occurrence: RunOccurrence) -> RideRequest:
    """The run as the matching query sees a ride: the driver's whole time for it, at the
    shop, for the association. Not saved."""
    busy = shuttle.vehicle_busy_range(occurrence)
    boarding = timedelta(minutes=settings.RIDES_BOARDING_MINUTES)
    return RideRequest(
        association_id=occurrence.association_id,
        pickup=occurrence.schedule.destination,
        earliest_pickup=busy.lower,
        latest_pickup=busy.lower,
        duration_s=int((busy.upper - busy.lower - boarding).total_seconds()),
        passengers=1,
        needs=[],
    )


def run_candidates(occurrence: RunOccurrence, *, limit: int) -> list[DriverProfile]:
    """Drivers available for the whole run, nearest and least busy first, who are not on
    it, were not asked before, and drive no other run at that time."""
    asked = set(
        RunOffer.objects.filter(occurrence=occurrence).values_list("driver_id", flat=True)
    ) | set(RunVehicle.objects.filter(occurrence=occurrence).values_list("driver_id", flat=True))
    busy = shuttle.vehicle_busy_range(occurrence)
    elsewhere = set(
        RunVehicle.objects.filter(busy__overlap=busy)
        .exclude(occurrence=occurrence)
        .values_list("driver_id", flat=True)
    )
    found = candidates(_as_ride(occurrence), exclude_driver_ids=asked | elsewhere, limit=limit)
    profiles = DriverProfile.objects.select_related("membership__user").in_bulk(
        [c.driver_id for c in found]
    )
    return [profiles[c.driver_id] for c in found]


def _needs_car(occurrence: RunOccurrence) -> bool:
    vehicles = list(RunVehicle.objects.filter(occurrence=occurrence))
    return len(vehicles) < occurrence.schedule.max_vehicles and shuttle.vehicles_needed(
        occurrence, vehicles
    )


@transaction.atomic
def run_offer_drivers(*, occurrence_id: int) -> list[RunOffer]:
    """Offer the run to up to SHUTTLE_OFFER_DRIVERS available drivers (when it needs a
    car and has passengers); with nobody available, the coordinators are told. Locks
    the occurrence, so two runs of this do not both send offers."""
    occurrence = (
        RunOccurrence.objects.select_for_update(of=("self",))
        .select_related("schedule")
        .filter(pk=occurrence_id)
        .first()
    )
    if (
        occurrence is None
        or occurrence.state != OccurrenceState.SCHEDULED
        or occurrence.seats_taken == 0
        or not _needs_car(occurrence)
    ):
        return []
    pending = RunOffer.objects.filter(occurrence=occurrence, state=RunOfferState.PENDING).count()
    wanted = settings.SHUTTLE_OFFER_DRIVERS - pending
    drivers = run_candidates(occurrence, limit=wanted) if wanted > 0 else []
    villages = sorted(set(occurrence.schedule.villages.values_list("name", flat=True)))
    payload = {
        "when": shuttle.local_time(occurrence.arrive_at),
        "shop": occurrence.schedule.destination_name,
        "passengers": occurrence.seats_taken,
        "villages": ", ".join(villages) or occurrence.schedule.name,
    }
    offers = []
    for driver in drivers:
        offer = RunOffer.objects.create(occurrence=occurrence, driver=driver)
        notify(
            driver.membership.user,
            "shuttle.run_offered",
            {**payload, "offer": offer.pk},
            urgent=True,
            reply=ReplyRequest("shuttle.run_offer", offer.pk, valid_for=timedelta(hours=24)),
        )
        offers.append(offer)
    if not offers and not pending:
        for coordinator in _coordinators(occurrence):
            notify(
                coordinator,
                "shuttle.run_needs_driver",
                {
                    "when": payload["when"],
                    "passengers": occurrence.seats_taken,
                    "run": occurrence.pk,
                },
            )
    return offers


def offer_runs_without_drivers(*, days: int = 7) -> int:
    """Beat, daily: offer the runs of the coming week that need a car."""
    now = timezone.now()
    ids = RunOccurrence.objects.filter(
        state=OccurrenceState.SCHEDULED,
        arrive_at__gt=now,
        arrive_at__lte=now + timedelta(days=days),
        seats_taken__gt=0,
    ).values_list("pk", flat=True)
    return sum(len(run_offer_drivers(occurrence_id=pk)) for pk in ids)


def _withdraw_if_full(occurrence: RunOccurrence) -> None:
    if _needs_car(occurrence):
        return
    RunOffer.objects.filter(occurrence=occurrence, state=RunOfferState.PENDING).update(
        state=RunOfferState.WITHDRAWN, answered_at=timezone.now()
    )


@transaction.atomic
def run_offer_accept(*, offer_id: int, actor: User) -> RunVehicle:
    """The driver takes the run: a car on it. When the run has the cars it needs (another
    driver was faster), a 409. Locks the occurrence first, then the offer (the order
    every writer of a run's offers and cars follows, so two drivers cannot deadlock)."""
    found = RunOffer.objects.filter(pk=offer_id, driver__membership__user=actor).first()
    if found is None:
        raise ApplicationError(
            ShuttleErrorCode.OFFER_CLOSED,
            _("There is no such offer for you."),
            kind=ErrorKind.NOT_FOUND,
        )
    RunOccurrence.objects.select_for_update().filter(pk=found.occurrence_id).first()
    offer = (
        RunOffer.objects.select_for_update(of=("self",))
        .select_related("occurrence__schedule", "driver__membership__user")
        .get(pk=offer_id)
    )
    if offer.state != RunOfferState.PENDING:
        raise ApplicationError(
            ShuttleErrorCode.OFFER_CLOSED,
            _("This offer is no longer open."),
            kind=ErrorKind.CONFLICT,
        )
    vehicle = shuttle.vehicle_add(
        occurrence=offer.occurrence, driver=offer.driver, actor=actor, by_coordinator=False
    )
    RunOffer.objects.filter(pk=offer.pk).update(
        state=RunOfferState.ACCEPTED, answered_at=timezone.now()
    )
    _withdraw_if_full(offer.occurrence)
    _plan_after_commit(offer.occurrence_id)
    return vehicle


@transaction.atomic
def run_offer_decline(*, offer_id: int, actor: User) -> RunOffer:
    offer = RunOffer.objects.filter(pk=offer_id, driver__membership__user=actor).first()
    if offer is None:
        raise ApplicationError(
            ShuttleErrorCode.OFFER_CLOSED,
            _("There is no such offer for you."),
            kind=ErrorKind.NOT_FOUND,
        )
    updated = RunOffer.objects.filter(pk=offer.pk, state=RunOfferState.PENDING).update(
        state=RunOfferState.DECLINED, answered_at=timezone.now()
    )
    if not updated:
        raise ApplicationError(
            ShuttleErrorCode.OFFER_CLOSED,
            _("This offer is no longer open."),
            kind=ErrorKind.CONFLICT,
        )
    offer.refresh_from_db()
    return offer


@transaction.atomic
def run_assign_by_coordinator(
    *, occurrence: RunOccurrence, driver: DriverProfile, actor: User
) -> RunVehicle:
    """A coordinator puts a driver's car on the run; the driver is told."""
    vehicle = shuttle.vehicle_add(
        occurrence=occurrence, driver=driver, actor=actor, by_coordinator=True
    )
    RunOffer.objects.filter(occurrence=occurrence, driver=driver).update(
        state=RunOfferState.ACCEPTED, answered_at=timezone.now()
    )
    _withdraw_if_full(occurrence)
    _plan_after_commit(occurrence.pk)
    return vehicle


@reply_action("shuttle.run_offer")
def answer_run_offer(context: ReplyContext) -> str:
    try:
        if context.accepted:
            vehicle = run_offer_accept(offer_id=context.object_id, actor=context.responder)
            return _g(
                "Thank you! You drive the shop run %(when)s. The run sheet comes the day before."
            ) % {"when": shuttle.local_time(vehicle.occurrence.arrive_at)}
        run_offer_decline(offer_id=context.object_id, actor=context.responder)
        return _g("Thank you for answering. We ask someone else.")
    except ApplicationError as error:
        return str(error.message)


# --- Entry points that re-plan after the change is committed --------------------------------


def _plan_after_commit(occurrence_id: int) -> None:
    from dispatch.shop_run_tasks import plan_run

    transaction.on_commit(lambda: plan_run.delay(occurrence_id))


def signup_submit(**arguments) -> RunSignup:
    """backend.shuttle.services.signup_create, then the new pickup order (after commit)."""
    with transaction.atomic():
        signup = shuttle.signup_create(**arguments)
        ids = set(
            RunSignup.objects.filter(
                passenger=signup.passenger,
                occurrence__schedule_id=signup.occurrence.schedule_id,
                occurrence__plan_stale=True,
            ).values_list("occurrence_id", flat=True)
        )
        for occurrence_id in ids:
            _plan_after_commit(occurrence_id)
    return signup


def signup_withdraw(*, actor: User, signup: RunSignup) -> RunSignup:
    with transaction.atomic():
        signup = shuttle.signup_cancel(actor=actor, signup=signup)
        _plan_after_commit(signup.occurrence_id)
    return signup


def seat_answer(*, actor: User, signup: RunSignup, accept: bool) -> RunSignup:
    with transaction.atomic():
        signup = shuttle.seat_offer_answer(actor=actor, signup=signup, accept=accept)
        _plan_after_commit(signup.occurrence_id)
    return signup


def occurrence_reschedule(**arguments) -> RunOccurrence:
    with transaction.atomic():
        occurrence = shuttle.occurrence_move(**arguments)
        _plan_after_commit(occurrence.pk)
    return occurrence


def vehicle_remove(*, actor: User, vehicle: RunVehicle) -> None:
    with transaction.atomic():
        occurrence_id = vehicle.occurrence_id
        shuttle.vehicle_withdraw(actor=actor, vehicle=vehicle)
        _plan_after_commit(occurrence_id)

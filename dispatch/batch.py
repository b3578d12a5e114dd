"""The nightly batch: plan a whole day of rides at once, for the coordinator to review.

Real-time dispatch (`dispatch.offers`) places one ride at a time, each with the best
driver free at that moment. For the rides of one association and one local day that
still have no driver, the batch chooses a driver (or none) for every ride together, so
that the day as a whole needs the least driving without passengers and the work is
spread fairly. The coordinator reviews the plan; approving it sends the offers.

The model
---------
- A driver's day is a chain of rides in pickup order. The *empty driving* is the drive
  to each pickup: from home to the first, from each drop-off to the next pickup. The
  drive home after the last ride is not counted, nor are drives to and from rides the
  driver already holds (those count for fairness only).
- Each ride comes with its candidates (`dispatch.matching.candidates`), each with the
  pickup time that driver can make: the earliest in the window that fits their slots,
  away times and held rides. The batch plans the ride at that time; it does not move a
  pickup later in the window, because only that time is known to fit the driver's week.
- Two rides fit in one chain when the driver, after the first (pickup, trip and
  boarding), can drive from its drop-off to the next pickup (distance at `speed_kmh`)
  before that pickup is due. Rides of one driver therefore never overlap.
- Fairness is counted in metres, as in `dispatch.ranking`: the k-th ride a driver has
  on the day (rides they already hold included) costs `today_weight_m * (k - 1)`, so a
  second ride goes to someone only when that saves more than 2 km of empty driving over
  a driver with none, a third more than 4 km, and so on; and every ride costs
  `recent_weight_m` per ride the driver had in the last RIDES_FAIRNESS_DAYS days, for at
  most `recent_counted` rides.
- Rides first: leaving a ride without a driver costs more than any plan's driving and
  penalties together, so the batch places as many rides as can be placed, and among
  those plans takes the cheapest. Rides nobody can take stay unplaced, and real-time
  dispatch and the coordinators carry on with them.

Why an integer program, not linear_sum_assignment or a min-cost flow
--------------------------------------------------------------------
The cost of a ride depends on which ride the driver did before it (the empty drive
starts at that drop-off). An assignment matrix of rides x (driver, k-th ride of the day)
copies can price the k-th ride's fairness, but not the drive from the previous drop-off,
and overlaps have to be repaired afterwards by a heuristic that promises nothing. The
classic way to price the drive between rides, matching each ride's end to the next
ride's start (an assignment problem, or a min-cost flow), needs every vehicle to start
from one depot and to be able to take every ride; here each driver starts from their
own home and only some drivers can take a given ride, which makes the problem a
multi-commodity flow whose linear relaxation is not integral.

One association's day is small (tens of rides, tens of drivers), so the exact problem is
solved as it stands: a mixed-integer program with one binary per (driver, previous ride
or home, ride) that fits in time, solved by HiGHS through `scipy.optimize.milp`:

    x[d, a, r] = 1   driver d drives ride r right after ride a (a = home: r is d's first)
    y[d, k]    = 1   driver d has at least k rides from the plan
    u[r]           1 when ride r stays unplaced

    minimise  sum (empty metres of the leg a -> r + recent-rides penalty of d) x[d, a, r]
            + sum today_weight_m * (held rides of d + k - 1) y[d, k]  +  M sum u[r]
    subject to
      every ride:               sum over d, a of x[d, a, r] + u[r] = 1
      every driver:             at most one first ride: sum over r of x[d, home, r] <= 1
      every driver and ride:    leaves at most as often as it comes:
                                sum over s of x[d, r, s] <= sum over a of x[d, a, r]
      every driver:             sum of x[d, ., .] = sum over k of y[d, k]

Arcs only go forward in time, so each driver's chosen arcs form one chain from home.
The penalty of the k-th ride grows with k, so the cheapest way to count n rides is
y[d, 1..n], and no ordering constraint is needed. M is larger than any plan's total
cost. The solver runs with a zero optimality gap and a time limit; the greedy plan
below is always computed too and the better of the two is returned (the greedy one on a
tie: it is the easier to explain), so the batch is never worse than one-by-one
assignment, even if the solver stops early. On random days on a 60 km road, 15 rides
with 8 drivers are solved exactly in under 0.1 s, 30 rides with 15 drivers (10
candidates each) in 1 s (at most 7 s), needing 20 to 60 % of greedy's empty
driving; days of 60 rides or more reach the time limit.

`plan_greedy` is that one-by-one assignment (rides in time order, each to its
best-ranked free driver, as `dispatch.ranking` orders them), for comparison only.

The first part of this module is pure: small frozen dataclasses in, a `DayPlan` out,
with distances from a function the caller passes. The second part loads a day from the
database, stores the plan and sends the offers when a coordinator approves it.
"""

import datetime as dt
import itertools
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_array

from backend.accounts.models import User
from backend.community.models import Association
from backend.community.selectors import association_coordinators
from backend.geo import geodesic_m
from backend.notifications.services import ReplyRequest, notify
from backend.rides import plans
from backend.rides import services as rides
from backend.rides.models import (
    DRIVER_HOLDS,
    OPEN_STATES,
    AssignmentPlan,
    DriverProfile,
    Offer,
    OfferState,
    PlannedAssignment,
    PlannedOutcome,
    PlanState,
    RideRequest,
)
from dispatch.matching import candidates, local_day, trip_length
from dispatch.offers import offer_payload, withdraw_pending_offers
from dispatch.ranking import RIDE_WEIGHT_M, RIDES_COUNTED, rank

# --- The optimiser (pure) -------------------------------------------------------------------

# The distance in metres a driver covers from one place to another. Places are whatever
# the caller uses (GEOS points in production, kilometre marks on a road in tests).
Distance = Callable[[Any, Any], int]


@dataclass(frozen=True)
class Option:
    """A driver who can take the ride, and the pickup time they can make."""

    driver_id: int
    pickup_at: dt.datetime


@dataclass(frozen=True)
class DayRide:
    ride_id: int
    pickup: Any
    dropoff: Any
    earliest: dt.datetime  # the pickup window, as requested
    latest: dt.datetime
    trip: dt.timedelta  # busy from the pickup: the drive plus boarding
    options: tuple[Option, ...]


@dataclass(frozen=True)
class DayDriver:
    driver_id: int
    home: Any
    recent_rides: int = 0  # rides in the last RIDES_FAIRNESS_DAYS days
    held_today: int = 0  # rides of the day the driver already holds


@dataclass(frozen=True)
class Rules:
    today_weight_m: int = 2_000  # per ride the driver already has that day
    recent_weight_m: int = RIDE_WEIGHT_M  # per recent ride ...
    recent_counted: int = RIDES_COUNTED  # ... for at most this many
    speed_kmh: int = 50  # between a drop-off and the next pickup
    time_limit_s: float = 10.0  # for the solver; then the best plan found so far

    def travel(self, metres: int) -> dt.timedelta:
        """How long driving `metres` takes, rounded up to the second."""
        return dt.timedelta(seconds=-(-metres * 3600 // (self.speed_kmh * 1000)))


@dataclass(frozen=True)
class Planned:
    ride_id: int
    driver_id: int
    pickup_at: dt.datetime
    empty_m: int  # the drive to the pickup: from home or the previous drop-off


@dataclass(frozen=True)
class DayPlan:
    planned: tuple[Planned, ...]  # by pickup time
    unplaced: tuple[int, ...]  # ride ids left without a driver
    empty_m: int  # all empty driving
    penalty_m: int  # the fairness penalties

    @property
    def cost(self) -> int:
        return self.empty_m + self.penalty_m

    @property
    def key(self) -> tuple[int, int]:
        """Plans compare by rides left unplaced, then by cost: lower is better."""
        return len(self.unplaced), self.cost


@dataclass
class _Day:
    """The day's rides and drivers, with the distances each plan needs (computed once)."""

    rides: dict[int, DayRide]
    drivers: dict[int, DayDriver]
    distance: Distance
    rules: Rules
    pickups: dict[tuple[int, int], dt.datetime] = field(default_factory=dict)
    _metres: dict[tuple[str, int, int], int] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        rides: Sequence[DayRide],
        drivers: Sequence[DayDriver],
        distance: Distance,
        rules: Rules,
    ) -> "_Day":
        day = cls({r.ride_id: r for r in rides}, {d.driver_id: d for d in drivers}, distance, rules)
        for ride in rides:
            for option in ride.options:
                if option.driver_id not in day.drivers:
                    raise ValueError(f"ride {ride.ride_id}: unknown driver {option.driver_id}")
                day.pickups.setdefault((ride.ride_id, option.driver_id), option.pickup_at)
        return day

    def approach(self, driver_id: int, ride_id: int) -> int:
        """Metres from the driver's home to the ride's pickup."""
        key = ("home", driver_id, ride_id)
        if key not in self._metres:
            home = self.drivers[driver_id].home
            self._metres[key] = self.distance(home, self.rides[ride_id].pickup)
        return self._metres[key]

    def link(self, before: int, ride_id: int) -> int:
        """Metres from the drop-off of ride `before` to the pickup of `ride_id`."""
        key = ("link", before, ride_id)
        if key not in self._metres:
            dropoff = self.rides[before].dropoff
            self._metres[key] = self.distance(dropoff, self.rides[ride_id].pickup)
        return self._metres[key]

    def fits(self, driver_id: int, before: int, after: int) -> bool:
        """The driver can do ride `before`, then drive on to ride `after` in time."""
        free_at = self.pickups[before, driver_id] + self.rides[before].trip
        return (
            free_at + self.rules.travel(self.link(before, after)) <= self.pickups[after, driver_id]
        )

    def recent_penalty(self, driver_id: int) -> int:
        recent = min(self.drivers[driver_id].recent_rides, self.rules.recent_counted)
        return self.rules.recent_weight_m * recent

    def today_penalty(self, driver_id: int, k: int) -> int:
        """The penalty of the driver's k-th ride from the plan (k = 1, 2, ...)."""
        return self.rules.today_weight_m * (self.drivers[driver_id].held_today + k - 1)

    def options_of(self, driver_id: int) -> list[int]:
        """Ride ids the driver can take, by their pickup time for this driver."""
        mine = [r for (r, d) in self.pickups if d == driver_id]
        return sorted(mine, key=lambda r: (self.pickups[r, driver_id], r))


def plan_evaluate(
    choice: Mapping[int, int],
    rides: Sequence[DayRide],
    drivers: Sequence[DayDriver],
    *,
    distance: Distance,
    rules: Rules = Rules(),
) -> DayPlan:
    """The plan that gives ride `r` to driver `choice[r]` (rides not in `choice` stay
    unplaced), with its empty driving and penalties. Raises ValueError when a driver is
    not a candidate for the ride or cannot fit two of their rides in time."""
    return _evaluate(_Day.build(rides, drivers, distance, rules), choice)


def _evaluate(day: _Day, choice: Mapping[int, int]) -> DayPlan:
    by_driver: dict[int, list[int]] = defaultdict(list)
    for ride_id, driver_id in choice.items():
        if (ride_id, driver_id) not in day.pickups:
            raise ValueError(f"driver {driver_id} is not a candidate for ride {ride_id}")
        by_driver[driver_id].append(ride_id)
    planned, empty, penalty = [], 0, 0
    for driver_id, ride_ids in by_driver.items():
        ride_ids.sort(key=lambda r: (day.pickups[r, driver_id], r))
        previous = None
        for k, ride_id in enumerate(ride_ids, 1):
            if previous is None:
                metres = day.approach(driver_id, ride_id)
            elif day.fits(driver_id, previous, ride_id):
                metres = day.link(previous, ride_id)
            else:
                raise ValueError(f"driver {driver_id} cannot do ride {ride_id} after {previous}")
            planned.append(Planned(ride_id, driver_id, day.pickups[ride_id, driver_id], metres))
            empty += metres
            penalty += day.recent_penalty(driver_id) + day.today_penalty(driver_id, k)
            previous = ride_id
    planned.sort(key=lambda p: (p.pickup_at, p.ride_id))
    unplaced = tuple(sorted(set(day.rides) - set(choice)))
    return DayPlan(tuple(planned), unplaced, empty, penalty)


@dataclass(frozen=True)
class _Ranked:
    driver_id: int
    distance_m: int
    recent_rides: int


def plan_greedy(
    rides: Sequence[DayRide],
    drivers: Sequence[DayDriver],
    *,
    distance: Distance,
    rules: Rules = Rules(),
) -> DayPlan:
    """One ride at a time, in time order: each to the best-ranked candidate (distance
    from home and recent rides, `dispatch.ranking.rank`) who is still free for it."""
    return _greedy(_Day.build(rides, drivers, distance, rules))


def _greedy(day: _Day) -> DayPlan:
    taken: dict[int, list[int]] = defaultdict(list)
    choice: dict[int, int] = {}
    for ride in sorted(day.rides.values(), key=lambda r: (r.earliest, r.ride_id)):
        ranked = rank(
            _Ranked(d.driver_id, day.approach(d.driver_id, ride.ride_id), d.recent_rides)
            for d in (day.drivers[option.driver_id] for option in ride.options)
        )
        for candidate in ranked:
            d = candidate.driver_id
            if all(
                day.fits(d, other, ride.ride_id) or day.fits(d, ride.ride_id, other)
                for other in taken[d]
            ):
                taken[d].append(ride.ride_id)
                choice[ride.ride_id] = d
                break
    return _evaluate(day, choice)


def plan_day(
    rides: Sequence[DayRide],
    drivers: Sequence[DayDriver],
    *,
    distance: Distance,
    rules: Rules = Rules(),
) -> DayPlan:
    """The best plan for the day: as many rides placed as possible, then the least
    empty driving plus fairness penalties (see the module docstring)."""
    day = _Day.build(rides, drivers, distance, rules)
    greedy = _greedy(day)
    choice = _solve(day)
    if choice is None:
        return greedy
    batch = _evaluate(day, choice)
    return batch if batch.key < greedy.key else greedy


def _solve(day: _Day) -> dict[int, int] | None:
    """The integer program of the module docstring; ride -> driver, or None when the
    solver found no plan in its time limit."""
    if not day.rides:
        return {}
    ride_row = {ride_id: row for row, ride_id in enumerate(sorted(day.rides))}
    rows = itertools.count(len(ride_row))
    costs: list[int] = []
    entries: list[tuple[int, int, int]] = []  # (row, column, coefficient)
    arcs: list[tuple[int, int, int]] = []  # (column, driver, ride)
    start_rows, load_rows, load_columns = [], [], []
    dearest_in = dict.fromkeys(day.rides, 0)

    def column(cost: int) -> int:
        costs.append(cost)
        return len(costs) - 1

    for driver_id in sorted(day.drivers):
        mine = day.options_of(driver_id)
        if not mine:
            continue
        start_row, load_row = next(rows), next(rows)
        start_rows.append(start_row)
        load_rows.append(load_row)
        flow_row = {ride_id: next(rows) for ride_id in mine}
        for ride_id in mine:
            befores = [b for b in mine if b != ride_id and day.fits(driver_id, b, ride_id)]
            for before in [None, *befores]:
                metres = (
                    day.approach(driver_id, ride_id)
                    if before is None
                    else day.link(before, ride_id)
                )
                cost = metres + day.recent_penalty(driver_id)
                dearest_in[ride_id] = max(dearest_in[ride_id], cost)
                c = column(cost)
                arcs.append((c, driver_id, ride_id))
                # Into the ride: covers it, enters its flow, counts as a ride of the driver.
                entries += [(ride_row[ride_id], c, 1), (flow_row[ride_id], c, -1), (load_row, c, 1)]
                # Out of home (at most once) or out of the previous ride (at most as it came).
                entries.append((start_row if before is None else flow_row[before], c, 1))
        for k in range(1, len(mine) + 1):
            c = column(day.today_penalty(driver_id, k))
            load_columns.append(c)
            entries.append((load_row, c, -1))
    # Larger than the cost of any plan: every ride's dearest way in, every load penalty.
    big = 1 + sum(dearest_in.values()) + sum(costs[c] for c in load_columns)
    unplaced_from = len(costs)
    for row in ride_row.values():
        entries.append((row, column(big), 1))
    n_rows = next(rows)
    lower, upper = np.full(n_rows, -np.inf), np.zeros(n_rows)  # flow rows: out - in <= 0
    lower[: len(ride_row)] = upper[: len(ride_row)] = 1  # each ride placed once, or unplaced
    upper[start_rows] = 1  # at most one first ride per driver
    lower[load_rows] = 0  # rides of the driver = their load
    row_index, column_index, coefficients = zip(*entries, strict=True)
    matrix = coo_array(
        (np.array(coefficients, dtype=float), (np.array(row_index), np.array(column_index))),
        shape=(n_rows, len(costs)),
    ).tocsr()
    integrality = np.ones(len(costs))
    integrality[unplaced_from:] = 0  # u[r] = 1 - (rides into r): integral anyway
    result = milp(
        c=np.array(costs, dtype=float),
        constraints=LinearConstraint(matrix, lower, upper),
        integrality=integrality,
        bounds=Bounds(0, 1),
        options={"time_limit": day.rules.time_limit_s, "mip_rel_gap": 0.0},
    )
    if result.x is None:
        return None
    return {ride_id: driver_id for c, driver_id, ride_id in arcs if result.x[c] > 0.5}


# --- Plans in the database -------------------------------------------------------------------

# How long the planned driver has to answer before the ride's ordinary offer waves take
# over (a late yes still wins while nobody else has the ride). Shorter than the broker's
# visibility timeout (1 h), so the timer runs once.
PLAN_ANSWER_TIME = dt.timedelta(minutes=45)


def _road_metres(a, b) -> int:
    """Empty legs as the crow flies times the road factor: a day needs hundreds of them,
    too many to ask the router for each."""
    return round(geodesic_m(a, b) * settings.ROAD_FACTOR)


def _open_rides_on(day: dt.date):
    """Rides whose pickup window starts on the local `day`, still open and without a
    driver, and not yet past."""
    local = local_day(day)
    return RideRequest.objects.filter(
        state__in=OPEN_STATES,
        driver__isnull=True,
        earliest_pickup__gte=local.start,
        earliest_pickup__lt=local.end,
        latest_pickup__gt=timezone.now(),
    )


def _held_on(day: dt.date, driver_ids: list[int]) -> dict[int, int]:
    local = local_day(day)
    return dict(
        RideRequest.objects.filter(
            driver_id__in=driver_ids,
            state__in=DRIVER_HOLDS,
            planned_pickup__gte=local.start,
            planned_pickup__lt=local.end,
        )
        .values("driver_id")
        .annotate(rides=Count("pk"))
        .values_list("driver_id", "rides")
    )


def plan_create(
    *, association: Association, day: dt.date, actor: User | None = None
) -> AssignmentPlan:
    """Plan the association's rides of `day` that have no driver yet, and store the plan
    as proposed (replacing a proposed plan of that day). `actor`: the coordinator who
    asked; None when the nightly task plans. One candidates() query per ride."""
    if actor is not None:
        plans.require_coordinator(user=actor, association=association)
    plans.plan_day_check(day=day)
    open_rides = list(
        _open_rides_on(day).filter(association=association).order_by("earliest_pickup", "pk")
    )
    found = {ride.pk: candidates(ride) for ride in open_rides}
    recent = {c.driver_id: c.recent_rides for cs in found.values() for c in cs}
    homes = dict(DriverProfile.objects.filter(pk__in=recent).values_list("pk", "home_base"))
    held = _held_on(day, list(recent))
    result = plan_day(
        [
            DayRide(
                ride_id=ride.pk,
                pickup=ride.pickup,
                dropoff=ride.destination,
                earliest=ride.earliest_pickup,
                latest=ride.latest_pickup,
                trip=trip_length(ride),
                options=tuple(Option(c.driver_id, c.pickup_at) for c in found[ride.pk]),
            )
            for ride in open_rides
        ],
        [
            DayDriver(driver_id, homes[driver_id], recent[driver_id], held.get(driver_id, 0))
            for driver_id in sorted(recent)
        ],
        distance=_road_metres,
        rules=Rules(speed_kmh=settings.AVERAGE_SPEED_KMH),
    )
    rows = [plans.PlanRow(p.ride_id, p.driver_id, p.pickup_at, p.empty_m) for p in result.planned]
    rows += [plans.PlanRow(ride_id) for ride_id in result.unplaced]
    return plans.plan_save(association=association, day=day, rows=rows)


@dataclass(frozen=True)
class Approval:
    plan: AssignmentPlan
    offered: tuple[int, ...]  # ride ids
    skipped: tuple[tuple[int, str], ...]  # (ride id, PlannedOutcome) not offered


@transaction.atomic
def plan_approve(*, plan: AssignmentPlan, actor: User) -> Approval:
    """A coordinator approves the plan: each planned driver is offered their ride (not
    urgent, with an SMS reply code), and can accept or decline as any offer. Rides that no
    longer need a driver, drivers who already said no to the ride and drivers who took
    another ride at that time since are skipped, and each row records what happened.

    Locks the plan's row (approving twice: 409), then each ride's row in pickup order."""
    plan = plans.plan_mark_approved(plan=plan, actor=actor)
    offered, skipped = [], []
    rows = (
        PlannedAssignment.objects.filter(plan=plan)
        .select_related("driver__membership__user")
        .order_by("pickup_at", "ride_id")
    )
    for row in rows:
        driver, pickup_at, empty_km = row.driver, row.pickup_at, row.empty_km
        if driver is None or pickup_at is None or empty_km is None:
            continue  # nobody can take the ride: dispatch and the coordinators carry on
        outcome = _offer_planned(row.ride_id, driver, pickup_at, int(empty_km * 1000))
        PlannedAssignment.objects.filter(pk=row.pk).update(outcome=outcome)
        if outcome == PlannedOutcome.OFFERED:
            offered.append(row.ride_id)
        else:
            skipped.append((row.ride_id, str(outcome)))
    return Approval(plan=plan, offered=tuple(offered), skipped=tuple(skipped))


def _offer_planned(
    ride_id: int, driver: DriverProfile, pickup_at: dt.datetime, empty_m: int
) -> PlannedOutcome:
    ride = RideRequest.objects.select_for_update().filter(pk=ride_id).first()
    if ride is None or ride.state not in OPEN_STATES or ride.driver_id is not None:
        return PlannedOutcome.RIDE_CHANGED
    answered = [OfferState.DECLINED, OfferState.ACCEPTED]  # accepted once, then withdrew
    if Offer.objects.filter(ride=ride, driver=driver, state__in=answered).exists():
        return PlannedOutcome.DRIVER_DECLINED
    if RideRequest.objects.filter(
        driver=driver,
        state__in=DRIVER_HOLDS,
        busy__overlap=rides.busy_range(ride, pickup_at),
    ).exists():
        return PlannedOutcome.DRIVER_BUSY
    # A wave of its own: a timeout of an earlier wave finds itself stale and does nothing.
    wave = ride.wave + 1
    ride = rides.ride_dispatch_started(ride=ride, wave=wave)
    offer, _created = Offer.objects.update_or_create(
        ride=ride,
        driver=driver,
        defaults={
            "wave": wave,
            "rank": 1,
            "distance_m": empty_m,
            "pickup_at": pickup_at,
            "state": OfferState.PENDING,
            "manual": False,
            "created_at": timezone.now(),
            "answered_at": None,
        },
    )
    withdraw_pending_offers(ride=ride, keep=offer.pk)
    notify(
        driver.membership.user,
        "ride.offered",
        offer_payload(offer),
        urgent=False,
        reply=ReplyRequest("ride.offer", offer.pk),
    )
    from dispatch.tasks import wave_timeout

    wait = max(PLAN_ANSWER_TIME.total_seconds(), settings.RIDES_OFFER_TIMEOUT)
    transaction.on_commit(lambda: wave_timeout.apply_async((ride_id, wave), countdown=wait))
    return PlannedOutcome.OFFERED


def plans_for_day(*, day: dt.date) -> list[AssignmentPlan]:
    """The nightly run: a plan for every association with rides on `day` that have no
    driver, and a message to its coordinators. Associations that already have a plan for
    the day waiting for review or approved are left alone, so running twice plans once.
    Each association in its own transaction."""
    planned = AssignmentPlan.objects.filter(
        day=day, state__in=[PlanState.PROPOSED, PlanState.APPROVED]
    ).values("association_id")
    waiting = _open_rides_on(day).exclude(association_id__in=planned).values("association_id")
    made = []
    for association in Association.objects.filter(pk__in=waiting).order_by("pk"):
        with transaction.atomic():
            plan = plan_create(association=association, day=day)
            _tell_coordinators(plan)
        made.append(plan)
    return made


def _tell_coordinators(plan: AssignmentPlan) -> None:
    rows = PlannedAssignment.objects.filter(plan=plan)
    payload = {
        "plan": plan.pk,
        "day": plan.day.isoformat(),
        "planned": rows.filter(driver__isnull=False).count(),
        "rides": rows.count(),
        "km": float(plan.total_km),
    }
    coordinators = association_coordinators(association_id=plan.association_id)
    for coordinator in coordinators:
        notify(coordinator, "ride.plan_ready", payload)

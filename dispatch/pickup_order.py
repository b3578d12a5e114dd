"""The pickup order of a shop run: which car collects whom, in what order, so that
everyone is at the shop by the arrival time and the cars drive as little as possible.

(This is `dispatch/pickup_order.py`; `dispatch/routing.py` holds the websocket routes.)

The problem is a capacitated vehicle routing problem with time windows, solved with
OR-Tools' routing library:

- node 0 is the shop, nodes 1..n the pickups, then one start node per car. A car starts
  at its driver's home when that is known, else "anywhere" (a start node whose distance
  to every pickup is zero: the route then begins at its first pickup), and ends at the
  shop;
- the cost is the metres driven, plus `vehicle_fixed_cost_m` for each car used, so a
  second car goes out only when it saves more driving than that (or when seats or time
  need it);
- capacity: each pickup takes its seats (a companion needs one more); each car has its
  seats; a wheelchair user rides only in a car that takes one;
- time: a pickup takes `service_s` (getting in, the walker in the boot); the car is at
  the shop by `arrive_by_s`; nobody is picked up earlier than `earliest_pickup_s` (so
  nobody sits in the car for an hour and a half). Times are seconds on one axis whose
  zero is arbitrary (the caller uses seconds before the arrival).

The solver starts from the cheapest-arc solution and improves it with guided local
search for `time_limit_s` (by default 0.05 s + 0.02 s per pickup, at most 0.8 s: on the
benchmark's runs that finds the optimum where it is known; see docs/performance.md).
Each pickup may be left out at a huge penalty, so a first solution exists even when
seats and windows are tight; a plan that still leaves someone out after a second,
longer search means there is none.

Estimated pickup times are computed backwards from the shop: each car arrives
`arrive_by_s` exactly, and every pickup is as late as the drive allows, so passengers
spend the least time in the car and the driver no time waiting.

When no plan exists, `explain_infeasible` names the reason a coordinator can act on:
more seats signed up than the cars have, a pickup too far to reach the shop in the
window, a wheelchair user without a car that takes one, or simply not enough time for
the cars there are.
"""

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from ortools.constraint_solver import pywrapcp, routing_enums_pb2

SHOP = 0
DROP_PENALTY = 10_000_000_000  # metres: more than any run could drive


@dataclass(frozen=True)
class Pickup:
    key: int  # the caller's id (a sign-up)
    seats: int = 1
    service_s: int = 180
    wheelchair: bool = False


@dataclass(frozen=True)
class Car:
    key: int  # the caller's id (a vehicle of the run), or a negative number for a car to come
    seats: int
    wheelchair: bool = False
    # Index into the matrices of the driver's home, or None: the car starts at its first pickup.
    start: int | None = None


@dataclass(frozen=True)
class Problem:
    """`distance_m[i][j]` and `duration_s[i][j]` between points: index 0 the shop,
    1..len(pickups) the pickups, then any start points the cars refer to."""

    pickups: Sequence[Pickup]
    cars: Sequence[Car]
    distance_m: Sequence[Sequence[int]]
    duration_s: Sequence[Sequence[int]]
    arrive_by_s: int
    earliest_pickup_s: int
    vehicle_fixed_cost_m: int = 0


@dataclass(frozen=True)
class Stop:
    pickup: int  # index into Problem.pickups
    key: int
    at_s: int  # estimated pickup time
    seats_after: int  # seats taken after this pickup


@dataclass(frozen=True)
class Route:
    car: int  # index into Problem.cars
    key: int
    stops: tuple[Stop, ...]
    distance_m: int  # from the start (the driver's home or the first pickup) to the shop
    duration_s: int


class Reason(StrEnum):
    SEATS = "seats"  # more seats signed up than the cars have
    TOO_FAR = "too_far"  # a pickup cannot reach the shop within the window
    WHEELCHAIR = "wheelchair"  # a wheelchair user, no car that takes one
    TIME = "time"  # not enough time for the cars there are


@dataclass(frozen=True)
class Infeasible:
    reason: Reason
    pickups: tuple[int, ...] = ()  # keys of the pickups concerned
    seats_needed: int = 0
    seats_available: int = 0


@dataclass(frozen=True)
class Plan:
    routes: tuple[Route, ...] = ()
    problems: tuple[Infeasible, ...] = ()
    objective: int = 0

    @property
    def feasible(self) -> bool:
        return not self.problems

    @property
    def distance_m(self) -> int:
        return sum(route.distance_m for route in self.routes)


@dataclass
class _Nodes:
    """Where the routing model's nodes are in the caller's matrices."""

    points: list[int] = field(default_factory=list)  # node -> matrix index; None: anywhere
    starts: list[int] = field(default_factory=list)  # car -> node


def time_limit_for(stops: int, ceiling_s: float) -> float:
    """Search time: enough for guided local search to settle on runs of this size."""
    return min(ceiling_s, 0.05 + 0.02 * stops)


def solve(problem: Problem, *, time_limit_s: float | None = None) -> Plan:
    """The pickup order: routes that pick everyone up and reach the shop in time, with
    least driving. A Plan with `problems` when there is none. The search runs for
    `time_limit_s` (default: `time_limit_for` the number of pickups, at most 0.8 s)."""
    if not problem.pickups:
        return Plan()
    problems = explain_infeasible(problem, solver_failed=False)
    if problems:
        return Plan(problems=tuple(problems))
    n = len(problem.pickups)
    nodes = _Nodes(points=list(range(n + 1)))
    anywhere = -1
    for car in problem.cars:
        nodes.starts.append(len(nodes.points))
        nodes.points.append(anywhere if car.start is None else car.start)

    def point_distance(a: int, b: int) -> int:
        if a == anywhere or b == anywhere:
            return 0
        return problem.distance_m[a][b]

    def point_duration(a: int, b: int) -> int:
        if a == anywhere or b == anywhere:
            return 0
        return problem.duration_s[a][b]

    size = len(nodes.points)
    ends = [SHOP] * len(problem.cars)
    manager = pywrapcp.RoutingIndexManager(size, len(problem.cars), nodes.starts, ends)
    routing = pywrapcp.RoutingModel(manager)
    # Arcs out of the shop would only matter to a car that returns to pick up more; no
    # car does (the shop is every route's end), so they cost nothing.
    distance = [
        [point_distance(nodes.points[i], nodes.points[j]) for j in range(size)] for i in range(size)
    ]
    service = [0] * size
    for index, pickup in enumerate(problem.pickups, 1):
        service[index] = pickup.service_s
    travel = [
        [service[i] + point_duration(nodes.points[i], nodes.points[j]) for j in range(size)]
        for i in range(size)
    ]

    def distance_cb(from_index: int, to_index: int) -> int:
        return distance[manager.IndexToNode(from_index)][manager.IndexToNode(to_index)]

    def travel_cb(from_index: int, to_index: int) -> int:
        return travel[manager.IndexToNode(from_index)][manager.IndexToNode(to_index)]

    def seats_cb(from_index: int) -> int:
        node = manager.IndexToNode(from_index)
        return problem.pickups[node - 1].seats if 1 <= node <= n else 0

    distance_index = routing.RegisterTransitCallback(distance_cb)
    routing.SetArcCostEvaluatorOfAllVehicles(distance_index)
    routing.SetFixedCostOfAllVehicles(problem.vehicle_fixed_cost_m)
    seats_index = routing.RegisterUnaryTransitCallback(seats_cb)
    routing.AddDimensionWithVehicleCapacity(
        seats_index, 0, [car.seats for car in problem.cars], True, "seats"
    )
    travel_index = routing.RegisterTransitCallback(travel_cb)
    horizon = problem.arrive_by_s - problem.earliest_pickup_s
    # Slack: a car may wait (never needed on the best plans, but allowed). Cumul values are
    # seconds since the earliest pickup; a car may leave home before it.
    far = max(max(row) for row in travel) * (n + 2) + horizon
    routing.AddDimension(travel_index, horizon, far + horizon, False, "time")
    time = routing.GetDimensionOrDie("time")
    for node in range(1, n + 1):
        time.CumulVar(manager.NodeToIndex(node)).SetRange(far, far + horizon)
    for car_index in range(len(problem.cars)):
        time.CumulVar(routing.End(car_index)).SetRange(far, far + horizon)
        time.CumulVar(routing.Start(car_index)).SetRange(0, far + horizon)
    # Every pickup may be left out at a penalty far above any driving: a first solution
    # then always exists, even when seats and windows are tight, and the local search
    # brings everyone in. A plan that still leaves someone out means there is none.
    for node in range(1, n + 1):
        routing.AddDisjunction([manager.NodeToIndex(node)], DROP_PENALTY)
    for node, pickup in enumerate(problem.pickups, 1):
        if pickup.wheelchair:
            refused = [i for i, car in enumerate(problem.cars) if not car.wheelchair]
            routing.VehicleVar(manager.NodeToIndex(node)).RemoveValues(refused)

    parameters = pywrapcp.DefaultRoutingSearchParameters()
    parameters.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    parameters.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    if time_limit_s is None:
        time_limit_s = time_limit_for(n, 0.8)
    # A plan that still leaves someone out after the time limit is not proof there is
    # none (tight seats and windows take the search longer, and a busy machine slows
    # it): search once more, four times as long, before telling the coordinator.
    solution = None
    for limit_ms in (round(time_limit_s * 1000), max(1000, round(time_limit_s * 4000))):
        parameters.time_limit.FromMilliseconds(max(10, limit_ms))
        solution = routing.SolveWithParameters(parameters)
        if solution is not None and not _dropped(solution, routing, manager, n):
            break
        solution = None
    if solution is None:
        return Plan(problems=tuple(explain_infeasible(problem, solver_failed=True)))
    routes = []
    for car_index, car in enumerate(problem.cars):
        order = []
        index = routing.Start(car_index)
        start_node = manager.IndexToNode(index)
        index = solution.Value(routing.NextVar(index))
        while not routing.IsEnd(index):
            order.append(manager.IndexToNode(index) - 1)
            index = solution.Value(routing.NextVar(index))
        if order:
            routes.append(
                _route(problem, car_index, car, order, nodes.points[start_node], anywhere)
            )
    return Plan(routes=tuple(routes), objective=solution.ObjectiveValue())


def _dropped(solution, routing, manager, n: int) -> bool:
    """Whether the solution leaves a pickup out (its node points to itself)."""
    return any(
        solution.Value(routing.NextVar(manager.NodeToIndex(node))) == manager.NodeToIndex(node)
        for node in range(1, n + 1)
    )


def _route(
    problem: Problem, car_index: int, car: Car, order: list[int], start: int, anywhere: int
) -> Route:
    """The route with each pickup as late as possible for arriving at the shop by
    `arrive_by_s`."""
    points = [index + 1 for index in order]
    at = problem.arrive_by_s
    times = []
    following = SHOP
    for point, pickup_index in zip(reversed(points), reversed(order), strict=True):
        at -= problem.duration_s[point][following] + problem.pickups[pickup_index].service_s
        times.append(at)
        following = point
    times.reverse()
    seats, stops = 0, []
    for pickup_index, at_s in zip(order, times, strict=True):
        pickup = problem.pickups[pickup_index]
        seats += pickup.seats
        stops.append(Stop(pickup=pickup_index, key=pickup.key, at_s=at_s, seats_after=seats))
    distance = route_distance(problem, points, start=None if start == anywhere else start)
    duration = problem.arrive_by_s - times[0]
    if start != anywhere:
        duration += problem.duration_s[start][points[0]]
    return Route(
        car=car_index, key=car.key, stops=tuple(stops), distance_m=distance, duration_s=duration
    )


def route_distance(problem: Problem, points: Sequence[int], *, start: int | None = None) -> int:
    """Metres from `start` (or the first point) through `points` (matrix indices) to the shop."""
    path = [*([start] if start is not None else []), *points, SHOP]
    return sum(problem.distance_m[a][b] for a, b in itertools.pairwise(path))


def route_duration(problem: Problem, order: Sequence[int]) -> int:
    """Seconds from the first pickup (included its boarding) to the shop for pickups in
    `order` (indices into Problem.pickups)."""
    points = [index + 1 for index in order]
    path = [*points, SHOP]
    driving = sum(problem.duration_s[a][b] for a, b in itertools.pairwise(path))
    return driving + sum(problem.pickups[index].service_s for index in order)


def explain_infeasible(problem: Problem, *, solver_failed: bool) -> list[Infeasible]:
    """Reasons no plan can exist that a coordinator can act on. With `solver_failed`
    and no such reason, the answer is "not enough time for these cars"."""
    problems = []
    seats = sum(pickup.seats for pickup in problem.pickups)
    capacity = sum(car.seats for car in problem.cars)
    if seats > capacity:
        problems.append(Infeasible(Reason.SEATS, seats_needed=seats, seats_available=capacity))
    window = problem.arrive_by_s - problem.earliest_pickup_s
    too_far = tuple(
        pickup.key
        for index, pickup in enumerate(problem.pickups, 1)
        if pickup.service_s + problem.duration_s[index][SHOP] > window
    )
    if too_far:
        problems.append(Infeasible(Reason.TOO_FAR, pickups=too_far))
    wheelchair = tuple(pickup.key for pickup in problem.pickups if pickup.wheelchair)
    if wheelchair and not any(car.wheelchair for car in problem.cars):
        problems.append(Infeasible(Reason.WHEELCHAIR, pickups=wheelchair))
    if solver_failed and not problems:
        problems.append(Infeasible(Reason.TIME, seats_needed=seats, seats_available=capacity))
    return problems


# --- Baseline and reference, for tests and the benchmark ---------------------------------


def nearest_neighbour(problem: Problem) -> Plan:
    """The baseline a person would do by hand: each car in turn starts at the pickup
    farthest from the shop and goes on to the nearest pickup not yet collected while it
    has seats; time windows are checked afterwards, not planned for."""
    left = set(range(len(problem.pickups)))
    routes = []
    for car_index, car in enumerate(problem.cars):
        if not left:
            break
        fitting = [i for i in left if not problem.pickups[i].wheelchair or car.wheelchair]
        if not fitting:
            continue
        current = max(fitting, key=lambda i: problem.distance_m[i + 1][SHOP])
        order, seats = [current], problem.pickups[current].seats
        left.discard(current)
        while True:
            options = [
                i
                for i in left
                if seats + problem.pickups[i].seats <= car.seats
                and (not problem.pickups[i].wheelchair or car.wheelchair)
            ]
            if not options:
                break
            current = min(options, key=lambda i: problem.distance_m[order[-1] + 1][i + 1])
            order.append(current)
            seats += problem.pickups[current].seats
            left.discard(current)
        routes.append(_route(problem, car_index, car, order, -1, -1))
    if left:
        return Plan(routes=tuple(routes), problems=(Infeasible(Reason.SEATS),))
    late = tuple(
        route.stops[0].key for route in routes if route.stops[0].at_s < problem.earliest_pickup_s
    )
    problems = (Infeasible(Reason.TIME, pickups=late),) if late else ()
    return Plan(routes=tuple(routes), problems=problems)

"""The exact optimum of small pickup-order problems, by exhaustive search: the reference
the solver is checked against (tests/dispatch/test_pickup_order.py) and measured against
(tests/perf/bench_routing.py).

For cars that start at their first pickup: every subset of pickups gets its shortest
order that fits a car and the time window (all orders tried), then every way of
splitting the pickups into at most that many subsets is tried. Exact for identical
cars without wheelchair rules; about 1 million orders at 9 pickups.
"""

import itertools
from functools import cache

from dispatch.pickup_order import Problem, route_distance, route_duration

INFINITE = float("inf")


def best_single_route(problem: Problem, members: tuple[int, ...]) -> tuple[float, tuple[int, ...]]:
    window = problem.arrive_by_s - problem.earliest_pickup_s
    best, best_order = INFINITE, ()
    for order in itertools.permutations(members):
        if route_duration(problem, order) > window:
            continue
        distance = route_distance(problem, [index + 1 for index in order])
        if distance < best:
            best, best_order = distance, order
    return best, best_order


def exact_optimum(problem: Problem) -> tuple[float, list[tuple[int, ...]]]:
    """(cost, routes): cost is metres plus the fixed cost per car used, as the solver
    counts it. Cars must be identical and start anywhere."""
    n = len(problem.pickups)
    seats = problem.cars[0].seats
    assert all(car.seats == seats and car.start is None for car in problem.cars)
    cars = len(problem.cars)
    route_of: dict[int, tuple[float, tuple[int, ...]]] = {}
    for mask in range(1, 1 << n):
        members = tuple(i for i in range(n) if mask >> i & 1)
        if sum(problem.pickups[i].seats for i in members) > seats:
            route_of[mask] = (INFINITE, ())
            continue
        route_of[mask] = best_single_route(problem, members)

    @cache
    def split(mask: int, left: int) -> tuple[float, tuple[int, ...]]:
        if mask == 0:
            return 0.0, ()
        if left == 0:
            return INFINITE, ()
        lowest = mask & -mask  # the subset holding the lowest pickup: no double counting
        best, best_parts = INFINITE, ()
        sub = mask
        while sub:
            if sub & lowest and route_of[sub][0] < INFINITE:
                rest, parts = split(mask & ~sub, left - 1)
                cost = route_of[sub][0] + problem.vehicle_fixed_cost_m + rest
                if cost < best:
                    best, best_parts = cost, (sub, *parts)
            sub = (sub - 1) & mask
        return best, best_parts

    cost, parts = split((1 << n) - 1, cars)
    return cost, [route_of[part][1] for part in parts]

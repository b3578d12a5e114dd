"""The pickup-order solver (dispatch/pickup_order.py) on hand-built runs: known optima,
brute force, seats, time windows, wheelchairs, and runs that cannot be planned."""

import math
import random

import pytest

from dispatch.pickup_order import (
    Car,
    Pickup,
    Problem,
    Reason,
    nearest_neighbour,
    route_distance,
    solve,
)
from tests.pickup_reference import exact_optimum

SPEED_M_S = 50 / 3.6  # 50 km/h
WINDOW_S = 75 * 60


def planar(
    points: list[tuple[float, float]],
    *,
    cars: list[Car],
    seats: list[int] | None = None,
    wheelchair: set[int] = frozenset(),
    window_s: int = WINDOW_S,
    fixed_cost_m: int = 0,
    service_s: int = 180,
) -> Problem:
    """A problem on a plane: points[0] is the shop, coordinates in metres, straight-line
    distances (so the optimum can be worked out by hand)."""
    distance = [[round(math.dist(a, b)) for b in points] for a in points]
    return Problem(
        pickups=[
            Pickup(
                key=100 + i,
                seats=(seats or [1] * len(points))[i],
                service_s=service_s,
                wheelchair=i in wheelchair,
            )
            for i in range(len(points) - 1)
        ],
        cars=cars,
        distance_m=distance,
        duration_s=[[round(d / SPEED_M_S) for d in row] for row in distance],
        arrive_by_s=0,
        earliest_pickup_s=-window_s,
        vehicle_fixed_cost_m=fixed_cost_m,
    )


def keys(route) -> list[int]:
    return [stop.key for stop in route.stops]


def test_pickups_on_a_road_are_collected_from_the_far_end():
    # The shop at 0, five houses along one road: start at the far end, drive once.
    problem = planar(
        [(0, 0), (3000, 0), (1000, 0), (5000, 0), (2000, 0), (4000, 0)], cars=[Car(1, seats=8)]
    )
    plan = solve(problem)
    assert plan.feasible
    assert [keys(route) for route in plan.routes] == [[102, 104, 100, 103, 101]]
    assert plan.distance_m == 5000


def test_eight_stops_match_the_brute_force_optimum():
    rng = random.Random(8)
    points = [(0, 0)] + [(rng.uniform(-8000, 8000), rng.uniform(-8000, 8000)) for _ in range(8)]
    problem = planar(points, cars=[Car(1, seats=8)], window_s=120 * 60)
    optimum, routes = exact_optimum(problem)
    plan = solve(problem)
    assert plan.feasible
    assert plan.distance_m == optimum
    # The same order (or its equal-length twin, if there were one).
    assert route_distance(problem, [s.pickup + 1 for s in plan.routes[0].stops]) == optimum
    assert len(routes) == 1


def test_two_cars_split_within_their_seats_at_the_optimum():
    # Two clusters east and west of the shop, four seats per car: one car per side.
    east = [(6000 + dx, dy) for dx, dy in [(0, 0), (500, 300), (900, -200), (1500, 100)]]
    west = [(-6000 - dx, dy) for dx, dy in [(0, 0), (400, -300), (1000, 200), (1600, -100)]]
    problem = planar([(0, 0), *east, *west], cars=[Car(1, seats=4), Car(2, seats=4)])
    plan = solve(problem)
    assert plan.feasible
    assert len(plan.routes) == 2
    assert sorted(sorted(keys(route)) for route in plan.routes) == [
        [100, 101, 102, 103],
        [104, 105, 106, 107],
    ]
    for route in plan.routes:
        assert route.stops[-1].seats_after <= problem.cars[route.car].seats
    optimum, _routes = exact_optimum(problem)
    assert plan.distance_m == optimum


def test_companions_count_two_seats():
    # Three people, one with a companion: 4 seats in one car, so it fits; with 3 it cannot.
    points = [(0, 0), (1000, 0), (2000, 0), (3000, 0)]
    fits = solve(planar(points, cars=[Car(1, seats=4)], seats=[1, 2, 1]))
    assert fits.feasible
    assert fits.routes[0].stops[-1].seats_after == 4
    too_many = solve(planar(points, cars=[Car(1, seats=3)], seats=[1, 2, 1]))
    assert too_many.problems[0].reason == Reason.SEATS
    assert (too_many.problems[0].seats_needed, too_many.problems[0].seats_available) == (4, 3)


def test_time_window_forces_a_second_car_and_everyone_arrives_in_time():
    # Two far clusters: one car could take all eight seats but not within 40 minutes.
    north = [(dx, 15000 + dy) for dx, dy in [(0, 0), (300, 200), (-300, 400), (100, 700)]]
    south = [(dx, -15000 - dy) for dx, dy in [(0, 0), (300, 200), (-300, 400), (100, 700)]]
    problem = planar(
        [(0, 0), *north, *south],
        cars=[Car(1, seats=8), Car(2, seats=8)],
        window_s=40 * 60,
        fixed_cost_m=50_000,
    )
    plan = solve(problem)
    assert plan.feasible
    assert len(plan.routes) == 2
    for route in plan.routes:
        assert all(stop.at_s >= problem.earliest_pickup_s for stop in route.stops)
        # Backwards from the shop: the last pickup's time plus its boarding and drive is 0.
        last = route.stops[-1]
        drive = problem.duration_s[last.pickup + 1][0]
        assert last.at_s + problem.pickups[last.pickup].service_s + drive == 0
        times = [stop.at_s for stop in route.stops]
        assert times == sorted(times)


def test_with_a_wide_window_one_car_does_it_because_a_second_costs_more():
    points = [(0, 0), (5000, 0), (5000, 500), (-5000, 0), (-5000, 500)]
    plan = solve(planar(points, cars=[Car(1, seats=4), Car(2, seats=4)], fixed_cost_m=20_000))
    assert len(plan.routes) == 1


def test_wheelchair_user_rides_in_the_car_that_takes_one():
    points = [(0, 0), (4000, 0), (4100, 0), (4200, 0)]
    problem = planar(
        points,
        cars=[Car(1, seats=4), Car(2, seats=2, wheelchair=True)],
        wheelchair={2},
        fixed_cost_m=0,
    )
    plan = solve(problem)
    assert plan.feasible
    car_of = {stop.key: route.key for route in plan.routes for stop in route.stops}
    assert car_of[102] == 2


def test_driver_home_is_where_the_route_starts():
    # The driver lives east: the route starts with the eastern pickup.
    problem = Problem(
        pickups=[Pickup(key=1), Pickup(key=2)],
        cars=[Car(7, seats=3, start=3)],
        distance_m=[
            [0, 2000, 2000, 6000],
            [2000, 0, 4000, 4000],
            [2000, 4000, 0, 8000],
            [6000, 4000, 8000, 0],
        ],
        duration_s=[[0, 144, 144, 432], [144, 0, 288, 288], [144, 288, 0, 576], [432, 288, 576, 0]],
        arrive_by_s=0,
        earliest_pickup_s=-WINDOW_S,
    )
    plan = solve(problem)
    assert keys(plan.routes[0]) == [1, 2]
    assert plan.routes[0].distance_m == 4000 + 4000 + 2000


@pytest.mark.parametrize(
    ("points", "cars", "wheelchair", "reason"),
    [
        pytest.param(
            [(0, 0), (1000, 0), (2000, 0)], [Car(1, seats=1)], set(), Reason.SEATS, id="seats"
        ),
        pytest.param(
            [(0, 0), (1000, 0), (90_000, 0)], [Car(1, seats=4)], set(), Reason.TOO_FAR, id="too-far"
        ),
        pytest.param(
            [(0, 0), (1000, 0)], [Car(1, seats=4)], {0}, Reason.WHEELCHAIR, id="wheelchair"
        ),
        pytest.param(
            # Each alone fits in 40 minutes; together, with one car, they do not.
            [(0, 0), (0, 20_000), (0, -20_000)],
            [Car(1, seats=4)],
            set(),
            Reason.TIME,
            id="not-enough-time",
        ),
    ],
)
def test_a_run_that_cannot_be_planned_says_why(points, cars, wheelchair, reason):
    plan = solve(planar(points, cars=cars, wheelchair=wheelchair, window_s=40 * 60))
    assert not plan.feasible
    assert plan.routes == ()
    assert [problem.reason for problem in plan.problems] == [reason]
    if reason == Reason.TOO_FAR:
        assert plan.problems[0].pickups == (101,)


def test_no_pickups_is_an_empty_plan():
    plan = solve(planar([(0, 0)], cars=[Car(1, seats=4)]))
    assert plan.feasible
    assert plan.routes == ()


def test_solver_drives_less_than_nearest_neighbour_over_random_runs():
    rng = random.Random(20)
    ours = baseline = 0
    for _ in range(3):
        points = [(0, 0)] + [
            (rng.uniform(-9000, 9000), rng.uniform(-9000, 9000)) for _ in range(16)
        ]
        problem = planar(points, cars=[Car(1, seats=9), Car(2, seats=9)], window_s=150 * 60)
        plan = solve(problem)
        assert plan.feasible
        assert sorted(stop.key for route in plan.routes for stop in route.stops) == list(
            range(100, 116)
        )
        ours += plan.distance_m
        baseline += nearest_neighbour(problem).distance_m
    assert ours < baseline

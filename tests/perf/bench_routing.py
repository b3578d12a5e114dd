"""Benchmark: the pickup order of shop runs (dispatch/pickup_order.py) against a
nearest-neighbour baseline and, up to 9 stops, the exact optimum, in the same run.

Runs are realistic for the Vansbro area: the shop in Vansbro, pickups at homes scattered
around four villages within 9 km of it (real locality coordinates), driving distances
from backend.geo.road_matrix (geodesic x ROAD_FACTOR 1.3 at 50 km/h, as without a
router), 3 minutes boarding per stop. For each size (5, 8, 9, 10, 20, 40 pickups) and
1-4 cars, INSTANCES seeded runs; the cars have ceil(stops / cars) seats each, so every
car is needed, and start at their first pickup. Time window: everyone is picked up at
most max(75, 20 + 6 x stops per car) minutes before the arrival at the shop.

  a. `solve()`: OR-Tools routing, capacity and time windows, guided local search with
     the production time limit (`time_limit_for`: 0.05 s + 0.02 s per stop, at most
     0.8 s). Wall time around the call, model building included.
  b. Nearest neighbour: each car from the pickup farthest from the shop to the nearest
     next while it has seats (what a coordinator would do by hand). It ignores the time
     window; runs where it is late are counted.
  c. Exact optimum (<= 9 stops): every subset's best order, every split into cars
     (tests/pickup_reference.py).

It checks that each plan is valid (everyone once, seats, window) and never better than
the optimum (which would mean a wrong reference), and reports; it never fails on speed.

    BENCH_ROUTING_INSTANCES=5   runs per row

Run with `make bench ARGS="-k routing"`. The report also goes to var/bench/routing.txt.
"""

import math
import os
import platform
import random
import statistics
import time
from importlib import metadata
from pathlib import Path

import pytest
from django.contrib.gis.geos import Point

from backend.geo import road_matrix
from dispatch.pickup_order import (
    Car,
    Pickup,
    Problem,
    nearest_neighbour,
    solve,
)
from tests.pickup_reference import exact_optimum

pytestmark = [pytest.mark.perf]

SIZES = [5, 8, 9, 10, 20, 40]
CARS = [1, 2, 3, 4]
INSTANCES = int(os.environ.get("BENCH_ROUTING_INSTANCES", "5"))
EXACT_UP_TO = 9
SHOP = (14.2300, 60.5110)
# (lon, lat, spread in degrees) of the villages a Vansbro run serves, 0-9 km from the
# shop: Vansbro, Dala-Järna, Sörvik by the lake, the hamlets west of Vansbro.
VILLAGES = [
    (14.2246, 60.5089, 0.02),
    (14.3667, 60.5333, 0.02),
    (14.3100, 60.5600, 0.015),
    (14.1300, 60.5300, 0.015),
]
SERVICE_S = 180
REPORT = Path(__file__).resolve().parents[2] / "var" / "bench" / "routing.txt"


class Report:
    """Printed as it goes (run with -s) and saved to var/bench/routing.txt."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def line(self, text: str) -> None:
        print(text, flush=True)
        self.lines.append(text)

    def table(self, headers: list[str], rows: list[list]) -> None:
        cells = [[str(h) for h in headers], *[[str(v) for v in r] for r in rows]]
        widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
        for index, row in enumerate(cells):
            self.line("| " + " | ".join(v.rjust(widths[i]) for i, v in enumerate(row)) + " |")
            if index == 0:
                self.line("|" + "|".join("-" * (w + 1) + ":" for w in widths) + "|")

    def save(self) -> None:
        REPORT.parent.mkdir(parents=True, exist_ok=True)
        REPORT.write_text("\n".join(self.lines) + "\n", encoding="utf-8")


def machine_info() -> list[tuple[str, str]]:
    cpu = "unknown"
    with open("/proc/cpuinfo", encoding="utf-8") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return [
        ("CPUs (nproc)", str(len(os.sched_getaffinity(0)))),
        ("CPU", cpu),
        ("load average at the end", load),
        ("Python", platform.python_version()),
    ]


def window_minutes(stops: int, cars: int) -> int:
    return max(75, 20 + 6 * math.ceil(stops / cars))


def make_run(rng: random.Random, stops: int, cars: int) -> Problem:
    homes = []
    for _ in range(stops):
        lon, lat, spread = rng.choice(VILLAGES)
        homes.append(
            Point(
                lon + rng.uniform(-spread, spread) * 2,
                lat + rng.uniform(-spread, spread),
                srid=4326,
            )
        )
    distances, durations = road_matrix([Point(*SHOP, srid=4326), *homes])
    window_min = window_minutes(stops, cars)
    return Problem(
        pickups=[Pickup(key=i, service_s=SERVICE_S) for i in range(stops)],
        cars=[Car(key=c + 1, seats=math.ceil(stops / cars)) for c in range(cars)],
        distance_m=distances,
        duration_s=durations,
        arrive_by_s=0,
        earliest_pickup_s=-window_min * 60,
    )


def check(problem: Problem, plan) -> None:
    seen = sorted(stop.key for route in plan.routes for stop in route.stops)
    assert seen == list(range(len(problem.pickups))), "every pickup exactly once"
    for route in plan.routes:
        assert route.stops[-1].seats_after <= problem.cars[route.car].seats
        assert route.stops[0].at_s >= problem.earliest_pickup_s


def test_pickup_order_against_baselines(settings):
    settings.ROUTER_URL = ""
    out = Report()
    out.line(
        "Pickup order: dispatch.pickup_order.solve() against nearest neighbour and the optimum"
    )
    out.line(f"{INSTANCES} runs per row; time limit per solve = time_limit_for(stops, 0.8 s)")
    rows = []
    summary: dict[str, list[float]] = {"gap": [], "big_gain": [], "t40": []}
    for stops in SIZES:
        for cars in CARS:
            if cars > stops:
                continue
            rng = random.Random(stops * 100 + cars)
            times, ours, nn, best, nn_late, infeasible, missed = [], [], [], [], 0, 0, 0
            for _ in range(INSTANCES):
                problem = make_run(rng, stops, cars)
                started = time.perf_counter()
                plan = solve(problem)
                times.append(time.perf_counter() - started)
                baseline = nearest_neighbour(problem)
                nn_late += not baseline.feasible
                if not plan.feasible:
                    infeasible += 1
                    # Where the optimum is known: did a plan exist that the solver missed?
                    if stops <= EXACT_UP_TO:
                        missed += exact_optimum(problem)[0] < math.inf
                    continue
                check(problem, plan)
                ours.append(plan.distance_m)
                nn.append(baseline.distance_m)
                if stops <= EXACT_UP_TO:
                    optimum, _routes = exact_optimum(problem)
                    assert plan.distance_m >= optimum - 1, "better than the exact optimum?"
                    best.append(optimum)
            km = statistics.mean(ours) / 1000 if ours else float("nan")
            nn_km = statistics.mean(nn) / 1000 if nn else float("nan")
            gain = (1 - sum(ours) / sum(nn)) * 100 if ours else float("nan")
            gap = (sum(ours) / sum(best) - 1) * 100 if best else None
            if gap is not None:
                summary["gap"].append(gap)
            if stops >= 20 and ours:
                summary["big_gain"].append(gain)
            if stops == 40:
                summary["t40"].extend(times)
            rows.append(
                [
                    stops,
                    cars,
                    window_minutes(stops, cars),
                    f"{statistics.median(times) * 1000:.0f}",
                    f"{max(times) * 1000:.0f}",
                    f"{km:.1f}",
                    f"{nn_km:.1f}",
                    f"{gain:.1f}",
                    f"{nn_late}/{INSTANCES}",
                    f"{statistics.mean(best) / 1000:.1f}" if best else "-",
                    f"{gap:.2f}" if gap is not None else "-",
                    f"{infeasible}" + (f" ({missed} missed)" if missed else ""),
                ]
            )
    out.table(
        [
            "stops",
            "cars",
            "window min",
            "solve p50 ms",
            "solve max ms",
            "km (ours)",
            "km (NN)",
            "shorter than NN %",
            "NN late",
            "km (optimum)",
            "gap to optimum %",
            "no plan exists",
        ],
        rows,
    )
    out.line("")
    out.line(
        f"gap to optimum (<= {EXACT_UP_TO} stops): mean {statistics.mean(summary['gap']):.2f} %, "
        f"max {max(summary['gap']):.2f} % (target <= 2 %)"
    )
    out.line(
        "shorter than nearest neighbour at 20+ stops: "
        f"mean {statistics.mean(summary['big_gain']):.1f} % (target >= 10 %)"
    )
    out.line(f"solve time at 40 stops: max {max(summary['t40']) * 1000:.0f} ms (target < 1000 ms)")
    out.line("")
    for name, value in [
        *machine_info(),
        ("ortools", metadata.version("ortools")),
        ("platform", platform.platform()),
    ]:
        out.line(f"{name}: {value}")
    out.save()

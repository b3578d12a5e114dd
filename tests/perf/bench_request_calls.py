"""Benchmark: Python function calls and queries per request, for each step of the load mix.

The load test's CPU figures depend on the machine: machines sold as the same "2 cores"
differ in speed by two or more, and one machine from hour to hour. The number of Python
function calls a request makes (counted by cProfile) and its queries do not, so they
compare two commits on any machine: run this on both.

It seeds the load test's world (tests/perf/load_world.py, the same sizes) into the test
database, then sends each step of the load mix (tests/perf/load.py, STEPS) through
Django's test client, which runs the same middleware and views as a web process, and
prints calls, queries and CPU per request, with the mix's weighted mean. Baseline in
the same run: `/healthz` (one database and one Redis round trip).

    make bench ARGS="-k request_calls"

`BENCH_CALLS_PROFILE="home page,API my rides"` also writes each named step's profile
(the functions with the most own time, and the most time with their callees) to
`var/bench/profile-<step>.txt`: where to look next.
"""

import argparse
import cProfile
import json
import os
import pstats
import random
import time

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.perf._servers import ROOT, machine_info, table
from tests.perf.load import STEPS, Call, Sizes, World
from tests.perf.load_world import seed

pytestmark = [pytest.mark.perf, pytest.mark.django_db]

REQUESTS = int(os.environ.get("BENCH_CALLS_REQUESTS", "20"))
PROFILE_STEPS = {
    name.strip() for name in os.environ.get("BENCH_CALLS_PROFILE", "").split(",") if name.strip()
}
OUT = ROOT / "var" / "bench"


def _send(client: Client, call: Call):
    headers = {"HTTP_ACCEPT_LANGUAGE": "sv"}
    if call.token:
        headers["HTTP_AUTHORIZATION"] = f"Token {call.token}"
    client.cookies.clear()
    if call.session:
        client.cookies["sessionid"] = call.session
        client.cookies["csrftoken"] = call.csrf_cookie()
    if call.method == "GET":
        return client.get(call.path, call.params or {}, **headers)
    return client.post(call.path, json.dumps(call.body), "application/json", **headers)


def _measure(client: Client, calls: list[Call], name: str) -> dict:
    for call in calls[:2]:  # sessions, caches and connections settle
        _send(client, call)
    profile = cProfile.Profile()
    statuses: dict[int, int] = {}
    with CaptureQueriesContext(connection) as queries:
        started = time.process_time()
        profile.enable()
        for call in calls[2:]:
            status = _send(client, call).status_code
            statuses[status] = statuses.get(status, 0) + 1
        profile.disable()
        cpu = time.process_time() - started
    count = len(calls) - 2
    if name in PROFILE_STEPS:
        _write_profile(profile, name, queries.captured_queries)
    function_calls = sum(row[1] for row in pstats.Stats(profile).stats.values())
    return {
        "calls": function_calls / count,
        "queries": len(queries) / count,
        # With the profiler on: for ranking only, the calls are the figure to compare.
        "cpu_ms": cpu * 1000 / count,
        "statuses": statuses,
    }


def test_function_calls_per_request_of_each_step(settings):
    settings.ALLOWED_HOSTS = ["*"]
    settings.ROUTER_URL = ""
    settings.GEOCODER_URL = ""
    world = World(seed(argparse.Namespace(**vars(Sizes()))))

    rng = random.Random(1)
    client = Client(raise_request_exception=True)
    rows, results = [], {}
    baseline = _measure(client, [Call("GET", "/healthz")] * (REQUESTS + 2), "healthz")
    rows.append(["baseline: /healthz", "", *_cells(baseline)])
    weighted = {"calls": 0.0, "queries": 0.0}
    weights = 0
    for step in STEPS:
        measured = _measure(client, [step.make(rng, world) for _ in range(REQUESTS + 2)], step.name)
        results[step.name] = measured
        rows.append([step.name, step.weight, *_cells(measured)])
        for key in weighted:
            weighted[key] += measured[key] * step.weight
        weights += step.weight
    mean = {key: value / weights for key, value in weighted.items()}
    rows.append(
        ["Mix (weighted mean)", weights, f"{mean['calls']:.0f}", f"{mean['queries']:.1f}", "", ""]
    )

    text = "\n".join(
        [
            table(["", ""], machine_info(), "Machine", numeric=False),
            "",
            table(
                ["Endpoint", "Weight", "Calls", "Queries", "CPU ms (profiled)", "Statuses"],
                rows,
                f"Python function calls and queries per request, {REQUESTS} requests a step",
            ),
        ]
    )
    print("\n" + text)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "request_calls.txt").write_text(text + "\n")
    (OUT / "request_calls.json").write_text(
        json.dumps({"baseline": baseline, "steps": results, "mix": mean}, indent=1)
    )
    assert len(results) == len(STEPS)
    for name, measured in results.items():
        # Every step answered as the load test expects (a booking may find its slot taken).
        assert set(measured["statuses"]) <= {200, 201, 409}, (name, measured["statuses"])


def _write_profile(profile: cProfile.Profile, name: str, queries: list[dict]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"profile-{name.replace(' ', '-').replace('/', '')}.txt"
    with path.open("w") as out:
        out.write("Slowest queries (seconds, SQL)\n")
        for query in sorted(queries, key=lambda q: -float(q["time"]))[:10]:
            out.write(f"{query['time']}  {query['sql'][:3000]}\n\n")
        stats = pstats.Stats(profile, stream=out)
        stats.sort_stats("tottime").print_stats(40)
        stats.sort_stats("cumulative").print_stats(80)


def _cells(measured: dict) -> list:
    statuses = ", ".join(f"{code}: {n}" for code, n in sorted(measured["statuses"].items()))
    return [
        f"{measured['calls']:.0f}",
        f"{measured['queries']:.1f}",
        f"{measured['cpu_ms']:.1f}",
        statuses,
    ]

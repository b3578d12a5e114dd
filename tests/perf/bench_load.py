"""Benchmark: the whole app under a realistic mix, through the production process layout.

infra/multiproc.py's layout (BENCH_LOAD_WEB uvicorn processes behind nginx, one Celery
worker with two processes, one beat) on a PostgreSQL and a Redis of its own, seeded by
tests/perf/load_world.py: 6 associations, 480 drivers, 600 residents, 3,600 rides,
72 carpool commutes, 36 shared things. The generator (tests/perf/load.py, one asyncio
process) holds BENCH_LOAD_SOCKETS websockets (drivers and residents) open for the whole
run and sends BENCH_LOAD_RATE requests a second, open-loop:

  1. warm-up: the mix at half the rate for 10 s (not counted);
  2. baselines at the same rate: a static file from nginx, then /healthz (the app
     with one database and one Redis round trip), BENCH_LOAD_BASELINE seconds each;
  3. the mix for BENCH_LOAD_SECONDS: residents browsing (pages and the API) and booking
     (ride requests, carpool seats, shared things), drivers polling their offers and
     accepting half of the offers their websocket brings, coordinators on the board;
     each association's coordinator sends one message to all its members on the way,
     which every open websocket of that association must receive;
  4. capacity: the same mix from 16 clients in a closed loop for BENCH_LOAD_CAPACITY
     seconds, each sending as soon as it has its answer: what the app serves here.

It prints a table per endpoint (p50/p99 from the scheduled start, conflicts such as a
seat someone else took are listed apart from errors; requests the generator did not
send because 600 were still unanswered count as errors), the CPU each part used, the
websockets, and PostgreSQL's busiest statements; the same goes to var/bench/load.json
and var/bench/load.txt (and load-<rate>.json/.txt). It fails only when the harness did
not do its job (a step never ran, a websocket did not open); the targets (300 requests/s
for 60 s, p99 <= 200 ms, no errors, 1,000 websockets) are reported, not asserted.

    make bench ARGS="-k load"
"""

import asyncio
import json
import os
import time

import pytest

from tests.perf._servers import ROOT, machine_info, raise_fd_limit, table
from tests.perf.load import (
    STEPS,
    LoadStack,
    Plan,
    Sizes,
    cpu_probe,
    run,
)

pytestmark = [pytest.mark.perf, pytest.mark.django_db]

RATE = float(os.environ.get("BENCH_LOAD_RATE", "300"))
SECONDS = float(os.environ.get("BENCH_LOAD_SECONDS", "60"))
BASELINE = float(os.environ.get("BENCH_LOAD_BASELINE", "15"))
SOCKETS = int(os.environ.get("BENCH_LOAD_SOCKETS", "1000"))
# Then the same mix from 16 clients in a closed loop: the rate the app sustains here.
CAPACITY = float(os.environ.get("BENCH_LOAD_CAPACITY", "30"))
# First, each step alone: this many requests one after another, for its CPU cost.
COST = int(os.environ.get("BENCH_LOAD_COST", "30"))
WEB = int(os.environ.get("BENCH_LOAD_WEB", "2"))
# How many of PostgreSQL's busiest statements the report lists.
STATEMENTS = int(os.environ.get("BENCH_LOAD_STATEMENTS", "15"))
WORKERS = int(os.environ.get("BENCH_LOAD_WORKERS", "1"))
# Extra settings for the app's processes, e.g. BENCH_LOAD_ENV="DATABASE_POOL_MAX_SIZE=8".
EXTRA_ENV = dict(
    pair.split("=", 1) for pair in os.environ.get("BENCH_LOAD_ENV", "").split() if "=" in pair
)
TARGET = {"rate": 300, "seconds": 60, "p99_ms": 200, "errors": 0, "sockets": 1000}
OUT = ROOT / "var" / "bench"


def test_load_mix_through_the_production_layout():
    raise_fd_limit()
    machine = machine_info()
    plan = Plan(
        rate=RATE,
        seconds=SECONDS,
        baseline_seconds=BASELINE,
        sockets=SOCKETS,
        capacity_seconds=CAPACITY,
        cost_requests=COST,
    )
    started = time.monotonic()
    with LoadStack(sizes=Sizes(), web=WEB, workers=WORKERS, extra_env=EXTRA_ENV) as stack:
        up = time.monotonic() - started
        stack.reset_statements()
        results = asyncio.run(run(stack, plan, cpu_probe=cpu_probe(stack)))
        statements = stack.top_statements(limit=STATEMENTS)
        world = stack.world["counts"]
        # What the servers logged as errors counts even when every answer was right (a
        # socket's handler failing as it closed); with errors, the logs stay.
        server_errors = stack.error_lines()
        stack.keep_logs = stack.keep_logs or bool(results.errors) or bool(server_errors)
    load_after = " ".join(f"{v:.2f}" for v in os.getloadavg())

    report = _report(machine, load_after, plan, world, up, stack.seed_seconds, results, statements)
    report["server_errors"] = server_errors
    report["logs"] = str(stack.base) if stack.keep_logs else ""
    text = _render(report)
    print("\n" + text)
    OUT.mkdir(parents=True, exist_ok=True)
    for name in ("load.txt", f"load-{RATE:.0f}.txt"):
        (OUT / name).write_text(text + "\n")
    for name in ("load.json", f"load-{RATE:.0f}.json"):
        (OUT / name).write_text(json.dumps(report, indent=2, default=str) + "\n")

    ran = {row["endpoint"] for row in report["mix"]}
    missing = [step.name for step in STEPS if step.name not in ran]
    assert not missing, f"steps that never ran: {missing}"
    assert results.sockets["opened"] == SOCKETS, results.sockets


def _report(machine, load_after, plan, world, up, seed, results, statements) -> dict:
    # The coordinators' messages to all members count like any request: the request
    # stores the message and a Celery task notifies the members.
    mix_total = results.total("mix")
    cpu = {
        phase: results.phases[phase]["cpu"]
        for phase in results.phases
        if "cpu" in results.phases[phase]
    }
    met = {
        "rate": mix_total["served_per_s"] >= TARGET["rate"] * 0.99
        and plan.seconds >= TARGET["seconds"],
        "p99": mix_total["p99_ms"] <= TARGET["p99_ms"],
        "errors": mix_total["errors"] == 0,
        "sockets": results.sockets["held"] >= TARGET["sockets"]
        and results.sockets["closed_early"] == 0
        and results.sockets["with_every_broadcast"] == results.sockets["held"],
    }
    return {
        "machine": dict(machine),
        "load_average_after": load_after,
        "plan": vars(plan),
        "layout": {"web": WEB, "workers": WORKERS, "worker_concurrency": 2, "extra_env": EXTRA_ENV},
        "world": world,
        "stack_start_seconds": up,
        "seed_seconds": seed,
        "baselines": results.table_rows("baseline static") + results.table_rows("baseline healthz"),
        "mix": results.table_rows("mix"),
        "mix_total": mix_total,
        "mix_slices": results.slices("mix"),
        "capacity": results.table_rows("capacity") if plan.capacity_seconds else [],
        "capacity_total": results.total("capacity") if plan.capacity_seconds else {},
        "cpu_seconds": cpu,
        "costs": results.costs,
        "cost_mean": _mean_cost(results.costs),
        "websockets": results.sockets,
        "errors": [
            {"endpoint": name, "status": status, "detail": detail, "count": count}
            for (name, status, detail), count in results.errors.most_common()
        ],
        "top_statements": [
            {"calls": c, "exec_ms": e, "plan_ms": p, "query": q} for c, e, p, q in statements
        ],
        "target": TARGET,
        "target_met": met,
    }


def _mean_cost(costs: list[dict]) -> dict:
    """The mix's mean CPU per request from the steps' costs and weights, and the rate two
    cores could serve at that cost if nothing else ran on them."""
    weight = sum(c["weight"] for c in costs)
    if not weight:
        return {}
    web = sum(c["web_ms"] * c["weight"] for c in costs) / weight
    postgres = sum(c["postgres_ms"] * c["weight"] for c in costs) / weight
    return {"web_ms": web, "postgres_ms": postgres, "two_cores_per_s": 2000 / (web + postgres)}


def _render(report: dict) -> str:
    plan = report["plan"]
    out = [
        table(
            ["", ""],
            [
                *report["machine"].items(),
                ("Load average after", report["load_average_after"]),
                (
                    "Layout",
                    f"{report['layout']['web']} web (uvicorn) behind nginx, "
                    f"{report['layout']['workers']} Celery worker x2, beat",
                ),
                (
                    "Extra settings",
                    " ".join(f"{k}={v}" for k, v in report["layout"]["extra_env"].items()) or "-",
                ),
                ("Data", ", ".join(f"{v} {k}" for k, v in report["world"].items())),
                (
                    "Stack start (migrate, seed)",
                    f"{report['stack_start_seconds']:.0f} s (seed {report['seed_seconds']:.0f} s)",
                ),
            ],
            "Load test: machine",
            numeric=False,
        )
    ]
    headers = [
        "Endpoint",
        "Requests",
        "Served/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "Conflicts",
        "Errors",
        "(not sent)",
    ]

    def rows(items):
        return [
            [
                r["endpoint"],
                r["requests"],
                r["served_per_s"],
                r["p50_ms"],
                r["p99_ms"],
                r["max_ms"],
                r["conflicts"],
                r["errors"],
                r["not_sent"],
            ]
            for r in items
        ]

    total = report["mix_total"]
    out.append(
        table(
            headers,
            [
                *rows(report["baselines"]),
                *rows(report["mix"]),
                [
                    "ALL (mix)",
                    total["requests"],
                    total["served_per_s"],
                    total["p50_ms"],
                    total["p99_ms"],
                    total["max_ms"],
                    total["conflicts"],
                    total["errors"],
                    total["not_sent"],
                ],
            ],
            f"Load test: {plan['rate']:.0f} requests/s scheduled, mix for {plan['seconds']:.0f} s, "
            f"baselines {plan['baseline_seconds']:.0f} s each at the same rate "
            "(latency from the scheduled start)",
        )
    )
    out.append(
        f"Generator: p99 {total['lag_p99_ms']:.1f} ms late in starting a request; "
        "'not sent': scheduled while 600 requests were still unanswered (counted as errors)."
    )
    out.append(
        table(
            ["From s", "Requests", "p50 ms", "p99 ms", "max ms", "Errors", "To all members"],
            [
                [
                    f"{r['from_s']:.0f}",
                    r["requests"],
                    r["p50_ms"],
                    r["p99_ms"],
                    r["max_ms"],
                    r["errors"],
                    r["broadcasts"],
                ]
                for r in report["mix_slices"]
            ],
            "The mix in 5 s slices (by scheduled start): when the slow requests were",
        )
    )
    if report["capacity"]:
        cap = report["capacity_total"]
        out.append(
            table(
                headers,
                [
                    *rows(report["capacity"]),
                    [
                        "ALL (closed loop)",
                        cap["requests"],
                        cap["served_per_s"],
                        cap["p50_ms"],
                        cap["p99_ms"],
                        cap["max_ms"],
                        cap["conflicts"],
                        cap["errors"],
                        cap["not_sent"],
                    ],
                ],
                f"Capacity: the mix from {plan['capacity_clients']} clients in a closed loop for "
                f"{plan['capacity_seconds']:.0f} s (each sends as soon as answered)",
            )
        )
    cpu_rows = []
    for phase, parts in report["cpu_seconds"].items():
        wall = parts.pop("wall")
        machine = parts.pop("machine")
        ours = sum(parts.values())
        cells = {name: value / wall * 100 for name, value in parts.items()}
        cpu_rows.append(
            [
                phase,
                cells.get("generator", 0.0),
                cells.get("web", 0.0),
                cells.get("worker", 0.0) + cells.get("beat", 0.0),
                cells.get("balancer", 0.0),
                cells.get("postgres", 0.0),
                cells.get("redis", 0.0),
                ours / wall * 100,
                machine / wall * 100,
                f"{parts.get('generator', 0.0) / ours * 100:.0f} %" if ours else "-",
            ]
        )
        parts["wall"], parts["machine"] = wall, machine
    out.append(
        table(
            [
                "Phase",
                "generator",
                "web",
                "celery",
                "nginx",
                "postgres",
                "redis",
                "all ours",
                "machine",
                "generator share",
            ],
            cpu_rows,
            "CPU, % of one core (2 cores = 200 %; 'machine' includes other people's work)",
        )
    )
    if report["costs"]:
        mean = report["cost_mean"]
        out.append(
            table(
                ["Endpoint", "Weight", "web ms", "postgres ms", "wall ms", "Errors"],
                [
                    [
                        c["endpoint"],
                        c["weight"],
                        c["web_ms"],
                        c["postgres_ms"],
                        c["wall_ms"],
                        c["errors"],
                    ]
                    for c in report["costs"]
                ],
                f"CPU per request, each step alone ({report['plan']['cost_requests']} requests "
                "one after another, before the websockets open)",
            )
            + f"\nMix (weighted): web {mean['web_ms']:.1f} ms + postgres "
            f"{mean['postgres_ms']:.1f} ms of CPU a request: two cores would serve at most "
            f"{mean['two_cores_per_s']:.0f}/s"
        )
    ws = report["websockets"]
    out.append(
        table(
            ["", ""],
            [
                (
                    "Held open through the run",
                    f"{ws['held']} (opened in {ws['open_seconds']:.1f} s)",
                ),
                ("Open after the mix", ws["open_after_mix"]),
                ("Closed by the server early", ws["closed_early"]),
                (
                    "With their association's message",
                    f"{ws['with_every_broadcast']} of {ws['held']}",
                ),
                (
                    "Messages expected / received",
                    f"{ws['broadcasts_expected']} / {ws['broadcasts_received']}",
                ),
                (
                    "Missed it: a newer notification came first / otherwise",
                    f"{ws['missed_overtaken']} / {ws['missed_unexplained']}",
                ),
                ("Ride offers received", ws["offers_received"]),
                ("Notifications received in all", ws["notifications_received"]),
                (
                    "Waited for the last message after the mix",
                    f"{ws['broadcast_wait_seconds']:.1f} s",
                ),
            ],
            "Websockets",
            numeric=False,
        )
    )
    errors = report["errors"][:20]
    if errors:
        out.append(
            table(
                ["Endpoint", "Status", "Count", "Detail"],
                [
                    [e["endpoint"], e["status"], e["count"], e["detail"][:100]]
                    for e in report["errors"][:20]
                ],
                "Errors",
                numeric=False,
            )
        )
    if report.get("logs"):
        lines = report.get("server_errors") or ["(none)"]
        out.append(f"What the servers logged about errors (logs kept in {report['logs']}):")
        out.append("\n".join(lines))
    else:
        out.append("The servers logged no errors.")
    statements = report["top_statements"]
    if statements:
        out.append(
            table(
                ["Calls", "Executing ms", "Planning ms", "Statement"],
                [
                    [s["calls"], s["exec_ms"], s["plan_ms"], s["query"][:110]]
                    for s in report["top_statements"]
                ],
                "PostgreSQL: busiest statements over the whole run (pg_stat_statements)",
                numeric=False,
            )
        )
    met = report["target_met"]
    out.append(
        "Target (300 requests/s for 60 s, p99 <= 200 ms, 0 errors, "
        "1,000 websockets each with its message): "
        + ", ".join(f"{k} {'met' if v else 'MISSED'}" for k, v in met.items())
    )
    return "\n\n".join(out)

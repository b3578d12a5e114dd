"""Planning a shop run while it changes, on real concurrent transactions and processes:
a sign-up made while a planner solves ends up in the saved plan, a second planner does
not overwrite the first with outdated data, and a planner killed mid-solve leaves the
run stale for the beat sweep instead of fresh without a plan.

The solve is held in the middle by the road-distance request: a fake OSRM router that
answers its first request only when the test releases it."""

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.db import connection

from backend.shuttle.models import HOLDS_SEAT, RunOccurrence, RunSignup
from backend.shuttle.services import signup_create
from dispatch.shop_runs import occurrence_plan, plan_stale_runs
from tests.fakes.router import FakeOsrm
from tests.shuttle_world import make_world

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def router(settings):
    with FakeOsrm() as fake:
        fake.hold_first = True
        settings.ROUTER_URL = fake.url
        settings.ROUTER_TIMEOUT = 60
        yield fake
        fake.release.set()


@pytest.fixture
def world(router):
    world = make_world()
    for person in world.residents[:2]:
        signup_create(actor=world.coordinator, occurrence=world.occurrence, passenger=person)
    return world


def _seated_without_a_time(occurrence_id: int) -> list[str]:
    return sorted(
        RunSignup.objects.filter(
            occurrence_id=occurrence_id, state__in=HOLDS_SEAT, estimated_pickup__isnull=True
        ).values_list("passenger__full_name", flat=True)
    )


def test_a_sign_up_during_the_solve_is_in_the_saved_plan_and_a_second_planner_waits(world, router):
    """Planner A is held mid-solve; a resident signs up (committed) and planner B, the
    task that sign-up queued, runs at once. B stays off the run (A holds its lease); A's
    plan from before the sign-up is dropped and A plans again with her in it."""
    occurrence_id = world.occurrence.pk
    results: dict[str, object] = {}

    def planner_a() -> None:
        try:
            results["a"] = occurrence_plan(occurrence_id=occurrence_id)
        finally:
            connection.close()

    thread = threading.Thread(target=planner_a)
    thread.start()
    assert router.holding.wait(timeout=30)
    late = signup_create(
        actor=world.coordinator, occurrence=world.occurrence, passenger=world.residents[4]
    )
    results["b"] = occurrence_plan(occurrence_id=occurrence_id)
    router.release.set()
    thread.join(timeout=60)
    assert not thread.is_alive()

    late.refresh_from_db()
    assert late.stop_order is not None and late.estimated_pickup is not None
    assert _seated_without_a_time(occurrence_id) == []
    occurrence = RunOccurrence.objects.get(pk=occurrence_id)
    assert occurrence.plan_stale is False
    assert occurrence.planned_at is not None
    assert occurrence.plan_lease_token is None
    assert results["b"].saved is False
    assert results["a"].saved is True


def test_a_planner_killed_mid_solve_leaves_the_run_stale_for_the_sweep(world, router):
    """A worker process plans, is held in the solve and killed (SIGKILL: no clean-up).
    The run is still stale, with nobody's plan; once that planner's lease has run out
    (here at once: SHUTTLE_PLAN_LEASE_SECONDS=0 in that process) the beat sweep plans it."""
    occurrence_id = world.occurrence.pk
    database = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": (
            f"postgis://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
        ),
        "ROUTER_URL": router.url,
        "ROUTER_TIMEOUT": "60",
        "SHUTTLE_PLAN_LEASE_SECONDS": "0",
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, django; django.setup(); "
            "from dispatch.shop_runs import occurrence_plan; "
            "occurrence_plan(occurrence_id=int(sys.argv[1]))",
            str(occurrence_id),
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        assert router.holding.wait(timeout=90), "the planner never asked the router"
    finally:
        worker.kill()
        worker.wait(timeout=30)
    router.release.set()

    occurrence = RunOccurrence.objects.get(pk=occurrence_id)
    assert occurrence.plan_stale is True
    assert occurrence.planned_at is None
    assert _seated_without_a_time(occurrence_id) == sorted(
        person.full_name for person in world.residents[:2]
    )

    assert plan_stale_runs() >= 1
    occurrence.refresh_from_db()
    assert occurrence.plan_stale is False
    assert occurrence.planned_at is not None
    assert _seated_without_a_time(occurrence_id) == []

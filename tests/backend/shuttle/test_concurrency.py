"""The last seat, taken by two people at once, on real concurrent transactions."""

import threading
import time

import pytest
from django.db import connection, transaction

from backend.errors import ApplicationError
from backend.shuttle.models import OccurrenceState, RunOccurrence, RunSignup, SignupState
from backend.shuttle.services import (
    _locked_occurrence,
    occurrence_cancel,
    signup_cancel,
    signup_create,
)
from tests.locks import Beside, referred_to_meanwhile, sessions_waiting_on_a_lock
from tests.shuttle_world import make_world

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(settings):
    settings.ROUTER_URL = ""
    world = make_world(seats_per_vehicle=2, max_vehicles=1)
    signup_create(
        actor=world.residents[0], occurrence=world.occurrence, passenger=world.residents[0]
    )
    return world  # one seat left


def test_second_taker_of_the_last_seat_waits_for_the_first_and_finds_it_gone(world):
    """The first transaction takes the seat and stays open; the second blocks on the
    occurrence row (seen in pg_stat_activity), and when the first commits it finds no
    seat: on the waitlist."""
    first_done, results = threading.Event(), {}
    occurrence = world.occurrence

    def first() -> None:
        try:
            with transaction.atomic():
                results["first"] = signup_create(
                    actor=world.residents[1], occurrence=occurrence, passenger=world.residents[1]
                ).state
                first_done.set()
                deadline = time.monotonic() + 10
                while not sessions_waiting_on_a_lock() and time.monotonic() < deadline:
                    time.sleep(0.02)
                results["second_was_waiting"] = sessions_waiting_on_a_lock() > 0
        finally:
            connection.close()

    def second() -> None:
        try:
            first_done.wait(timeout=10)
            results["second"] = signup_create(
                actor=world.residents[2],
                occurrence=occurrence,
                passenger=world.residents[2],
                waitlist=True,
            ).state
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert results == {
        "first": SignupState.CONFIRMED,
        "second_was_waiting": True,
        "second": SignupState.WAITLISTED,
    }
    assert RunOccurrence.objects.get(pk=occurrence.pk).seats_taken == 2


def test_five_people_racing_for_the_last_seat_one_gets_it(world):
    occurrence = world.occurrence
    people = world.residents[1:6]
    barrier = threading.Barrier(len(people))
    outcomes: dict[int, str] = {}

    def take(person) -> None:
        try:
            barrier.wait(timeout=10)
            signup_create(actor=person, occurrence=occurrence, passenger=person)
            outcomes[person.pk] = "seat"
        except ApplicationError as error:
            outcomes[person.pk] = error.code
        finally:
            connection.close()

    threads = [threading.Thread(target=take, args=(p,)) for p in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes.values()) == ["run_full"] * 4 + ["seat"]
    assert RunOccurrence.objects.get(pk=occurrence.pk).seats_taken == 2
    assert RunSignup.objects.filter(occurrence=occurrence).count() == 2


def test_a_freed_seat_goes_to_the_first_waiting_even_while_something_refers_to_her(world):
    # The waitlist is claimed with SKIP LOCKED, and the claim locked the people's
    # account rows with the signups: whoever the first waiting person's row was held
    # by at that moment (anything referring to her, as every row about her does while
    # it is checked) was skipped, and the seat went to the next in line.
    first = RunSignup.objects.get(occurrence=world.occurrence)
    ingrid = world.residents[2]
    signup_create(
        actor=world.residents[1], occurrence=world.occurrence, passenger=world.residents[1]
    )
    waiting = [
        signup_create(actor=ingrid, occurrence=world.occurrence, passenger=ingrid, waitlist=True),
        signup_create(
            actor=world.daughter,
            occurrence=world.occurrence,
            passenger=world.managed,
            waitlist=True,
        ),
    ]
    assert [w.state for w in waiting] == [SignupState.WAITLISTED] * 2
    with referred_to_meanwhile([ingrid]):
        cancel = Beside(lambda: signup_cancel(actor=world.residents[0], signup=first))
        cancel.done_within(5)
    cancel.result()
    assert [RunSignup.objects.get(pk=w.pk).state for w in waiting] == [
        SignupState.OFFERED,
        SignupState.WAITLISTED,
    ]


def test_two_dates_of_the_same_run_are_worked_on_at_once(world):
    # A date was locked with its schedule's row (FOR UPDATE through the join to the
    # schedule), so cancelling one Thursday waited for whoever was working on another
    # (a driver taking it, the planner storing its pickup order), and the nightly
    # making of new dates (each refers to the schedule) waited for both.
    first, second = RunOccurrence.objects.filter(schedule=world.schedule).order_by("arrive_at")[:2]
    holding, release = threading.Event(), threading.Event()

    def work_on_the_first() -> None:
        with transaction.atomic():
            _locked_occurrence(first)
            holding.set()
            release.wait(timeout=30)

    working = Beside(work_on_the_first)
    holding.wait(timeout=10)
    try:
        cancel = Beside(
            lambda: occurrence_cancel(actor=world.coordinator, occurrence=second, reason="Halka")
        )
        in_time = cancel.done_within(5)
    finally:
        release.set()
    working.result()
    assert cancel.result().state == OccurrenceState.CANCELLED
    assert in_time, "cancelling one date waited for work on another date of the run"

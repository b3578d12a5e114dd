"""The same ride asked for twice at once (a double tap on the button), on real concurrent
transactions."""

import threading
import time

import pytest
from django.db import connection, transaction

from backend.rides.errors import RideAlreadyRequested
from backend.rides.models import RideRequest
from backend.rides.services import RideTime, ride_request_create
from tests.factories import DALA_JARNA, VANSBRO, next_weekday_at
from tests.locks import Beside, referred_to_meanwhile, sessions_waiting_on_a_lock

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _no_router(settings):
    settings.ROUTER_URL = ""


def _ask(rider, association) -> RideRequest:
    return ride_request_create(
        requested_by=rider,
        rider=rider,
        association=association,
        pickup=VANSBRO,
        pickup_address="Järnvägsgatan 4, Vansbro",
        destination=DALA_JARNA,
        destination_address="Vårdcentralen, Dala-Järna",
        when=RideTime(kind="pickup_at", at=next_weekday_at(0, 10)),
    )


def test_the_second_of_two_requests_at_once_waits_for_the_first_and_books_nothing(
    rider, association
):
    """The first transaction saves the ride and stays open; the second waits for it (seen
    in pg_stat_activity), and once the first commits it finds the ride and is refused."""
    first_saved, second_done = threading.Event(), threading.Event()
    results: dict[str, object] = {}

    def first() -> None:
        try:
            with transaction.atomic():
                results["first"] = _ask(rider, association).pk
                first_saved.set()
                deadline = time.monotonic() + 10
                while not (sessions_waiting_on_a_lock() or second_done.is_set()):
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.02)
                results["second_was_waiting"] = sessions_waiting_on_a_lock() > 0
        finally:
            first_saved.set()
            connection.close()

    def second() -> None:
        try:
            first_saved.wait(timeout=10)
            results["second"] = _ask(rider, association).pk
        except RideAlreadyRequested as error:
            results["second"] = ("refused", error.code, error.ride_id)
        finally:
            second_done.set()
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    ride_id = results["first"]
    assert results == {
        "first": ride_id,
        "second_was_waiting": True,
        "second": ("refused", "ride_already_requested", ride_id),
    }
    assert list(RideRequest.objects.values_list("pk", flat=True)) == [ride_id]


def test_two_taps_at_the_same_moment_book_one_ride(rider, association):
    taps = 2
    barrier = threading.Barrier(taps)

    def tap() -> object:
        barrier.wait(timeout=10)
        try:
            return _ask(rider, association).pk
        except RideAlreadyRequested as error:
            return error.code

    tapping = [Beside(tap) for _ in range(taps)]
    outcomes = [beside.result() for beside in tapping]
    [ride_id] = RideRequest.objects.values_list("pk", flat=True)
    assert sorted(outcomes, key=str) == sorted([ride_id, "ride_already_requested"], key=str)


def test_a_request_does_not_wait_for_others_referring_to_the_rider(rider, association):
    # The check is serialised by an advisory lock, not by locking the rider's account
    # row, which anything referring to her (a notification, the audit log) holds a share
    # lock on while it is checked.
    with referred_to_meanwhile([rider]):
        asking = Beside(lambda: _ask(rider, association))
        in_time = asking.done_within(5)
    assert asking.result().rider == rider
    assert in_time, "the request waited for a transaction that only referred to the rider"

"""100 people book the same slot at the same moment: exactly one gets it. Real threads,
each with its own PostgreSQL connection and transaction."""

import threading
from collections import Counter

import pytest
from django.db import connection

from backend.errors import ApplicationError
from backend.sharing import services
from backend.sharing.models import Booking, BookingStatus
from tests.factories import MembershipFactory
from tests.sharing_fixtures import wednesday

ATTEMPTS = 100
# The PostgreSQL server allows 100 connections in all and is shared with other test
# runs: at most this many of the 100 attempts hold a connection at the same time. All
# 100 are released together by the barrier, so they still race.
CONNECTIONS = 20


@pytest.mark.django_db(transaction=True)
def test_hundred_concurrent_requests_for_one_slot_confirm_exactly_one(car):
    people = [MembershipFactory(association=car.association).user for _ in range(ATTEMPTS)]
    barrier = threading.Barrier(ATTEMPTS)
    slots = threading.BoundedSemaphore(CONNECTIONS)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(person) -> None:
        barrier.wait()
        with slots:
            try:
                services.booking_request(
                    actor=person, resource=car, starts_at=wednesday(10), ends_at=wednesday(12)
                )
                result = "confirmed"
            except ApplicationError as error:
                result = error.code
            finally:
                connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(person,)) for person in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert Counter(outcomes) == {"confirmed": 1, "booking_overlap": ATTEMPTS - 1}
    assert Booking.objects.filter(resource=car).count() == 1
    assert Booking.objects.get().status == BookingStatus.CONFIRMED


@pytest.mark.django_db(transaction=True)
def test_approving_two_overlapping_requests_at_once_is_impossible(hall, coordinator):
    """Requests hold their period too, so a coordinator never has two to choose from;
    and two coordinators approving the same request at once: one wins."""
    asked = services.booking_request(
        actor=MembershipFactory(association=hall.association).user,
        resource=hall,
        starts_at=wednesday(10),
        ends_at=wednesday(14),
    )
    second = MembershipFactory(association=hall.association, roles=["member", "coordinator"]).user
    barrier = threading.Barrier(2)
    outcomes = []

    def approve(actor) -> None:
        barrier.wait()
        try:
            services.booking_approve(actor=actor, booking=Booking.objects.get(pk=asked.pk))
            outcomes.append("approved")
        except ApplicationError as error:
            outcomes.append(error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(who,)) for who in (coordinator, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["approved", "booking_wrong_state"]

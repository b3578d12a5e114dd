"""Every dispatch task is safe to run twice: a message delivered again (a worker killed
before it acknowledged, the beat sweep overlapping the task queued on commit) sends one
wave, not two. The tasks of the other apps are shown idempotent in their own tests
(deliver: tests/backend/notifications/test_sms_providers.py; reminders:
test_reminders.py; plan_tomorrow: test_batch.py; forget_old_addresses:
test_drivers_and_mileage.py)."""

import threading
from datetime import time, timedelta

import pytest
from django.contrib.gis.geos import Point
from django.db import connection
from django.utils import timezone

from backend.notifications.models import Notification
from backend.rides.models import Offer, RideRequest, RideState
from dispatch.offers import offer_decline
from dispatch.tasks import dispatch_waiting_rides, run_dispatch, wave_timeout
from tests.factories import (
    AvailabilitySlotFactory,
    DriverProfileFactory,
    RideRequestFactory,
    next_weekday_at,
)


@pytest.fixture
def ride(rider, association):
    return RideRequestFactory(
        rider=rider,
        association=association,
        village=association.villages.get(),
        state="requested",
        earliest_pickup=next_weekday_at(0, 10),
        latest_pickup=next_weekday_at(0, 10),
    )


@pytest.fixture
def drivers(association, settings):
    settings.RIDES_OFFER_WAVE_SIZE = 2
    made = []
    for name, lon in [("Anna", 14.23), ("Bo", 14.26), ("Cecilia", 14.30), ("David", 14.40)]:
        driver = DriverProfileFactory(
            membership__association=association,
            membership__user__full_name=name,
            home_base=Point(lon, 60.50893, srid=4326),
            service_radius_m=20_000,
        )
        AvailabilitySlotFactory(driver=driver, weekday=0, start=time(8), end=time(17))
        made.append(driver)
    return made


def offers_by_wave(ride) -> list[tuple[int, str]]:
    return list(
        Offer.objects.filter(ride=ride)
        .order_by("wave", "rank")
        .values_list("wave", "driver__membership__user__full_name")
    )


@pytest.mark.django_db
def test_run_dispatch_delivered_twice_sends_one_wave(ride, drivers):
    assert run_dispatch(ride.pk, 0) == 2
    assert run_dispatch(ride.pk, 0) == 0
    ride.refresh_from_db()
    assert (ride.state, ride.wave) == (RideState.OFFERING, 1)
    assert offers_by_wave(ride) == [(1, "Anna"), (1, "Bo")]
    assert Notification.objects.filter(kind="ride.offered").count() == 2


@pytest.mark.django_db
def test_wave_timeout_delivered_twice_sends_one_next_wave(ride, drivers):
    run_dispatch(ride.pk, 0)
    assert wave_timeout(ride.pk, 1) == 2
    assert wave_timeout(ride.pk, 1) == 0
    assert offers_by_wave(ride) == [(1, "Anna"), (1, "Bo"), (2, "Cecilia"), (2, "David")]


@pytest.mark.django_db
def test_the_next_wave_after_everyone_declined_goes_out_once(
    ride, drivers, settings, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    run_dispatch(ride.pk, 0)
    with django_capture_on_commit_callbacks(execute=True) as queued:
        for offer in Offer.objects.filter(ride=ride):
            offer_decline(offer_id=offer.pk, actor=offer.driver.membership.user)
    assert RideRequest.objects.get(pk=ride.pk).wave == 2
    # The queued task runs again, as after a redelivery: the ride has moved on.
    for callback in queued:
        callback()
    assert [w for w, _ in offers_by_wave(ride)] == [1, 1, 2, 2]


@pytest.mark.django_db
def test_the_sweep_and_the_task_queued_on_commit_send_one_wave(
    ride, drivers, settings, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    # The request waited more than a minute for its first wave (the broker was down).
    RideRequest.objects.filter(pk=ride.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    assert dispatch_waiting_rides() == 1  # queues run_dispatch(ride, 0), run eagerly
    assert run_dispatch(ride.pk, 0) == 0  # the late task queued when it was saved
    assert dispatch_waiting_rides() == 0
    assert [w for w, _ in offers_by_wave(ride)] == [1, 1]


@pytest.mark.django_db(transaction=True)
def test_two_workers_running_the_same_dispatch_at_once_send_one_wave(ride, drivers):
    barrier = threading.Barrier(2)
    sent: list[int] = []

    def worker() -> None:
        try:
            barrier.wait(timeout=10)
            sent.append(run_dispatch(ride.pk, 0))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(sent) == [0, 2]
    assert offers_by_wave(ride) == [(1, "Anna"), (1, "Bo")]
    assert Notification.objects.filter(kind="ride.offered").count() == 2

"""Publishing a trip reaches a real Celery worker through Redis, which sends the ride
alert: the reverse match runs in the task, after commit."""

import datetime as dt
import time

import pytest
from celery.contrib.testing.worker import start_worker

from backend.carpool import services
from backend.carpool.models import SavedSearchAlert
from backend.celery import app
from backend.notifications.models import Notification
from tests.carpool_fixtures import along


@pytest.mark.django_db(transaction=True)
def test_a_published_trip_alerts_through_the_worker(publish, passenger):
    services.saved_search_create(
        owner=passenger,
        pickup=along(0.1, 200),
        dropoff=along(0.9),
        earliest=dt.time(6, 30),
        latest=dt.time(8, 0),
        weekdays=[0],
    )
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        trip = publish()  # commits; the task goes through the broker
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not SavedSearchAlert.objects.exists():
            time.sleep(0.2)
    assert SavedSearchAlert.objects.get().trip_id == trip.pk
    assert Notification.objects.filter(recipient=passenger, kind="carpool.alert").count() == 1

"""A person's data: the export holds it all, erasure removes the person but keeps the
counts statistics are made of."""

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from backend.privacy.export import person_export
from backend.rides.models import AvailabilitySlot, RideState
from backend.rides.selectors import mileage_report
from backend.rides.services import busy_range
from dispatch.privacy import person_erase
from tests.factories import RideRequestFactory

pytestmark = pytest.mark.django_db


def test_erasing_a_driver_keeps_the_mileage_counts(association, rider, driver):
    ride = RideRequestFactory(rider=rider, association=association, driver=driver)
    ride.state, ride.closed_at, ride.driven_m = RideState.COMPLETED, timezone.now(), 11_000
    ride.busy = busy_range(ride, ride.earliest_pickup)
    ride.save()
    now = timezone.localtime()
    before = mileage_report(association=association, year=now.year, month=now.month)
    user = driver.membership.user
    client = Client()
    client.force_login(user)
    user = person_erase(user=user, actor=user)
    after = mileage_report(association=association, year=now.year, month=now.month)
    assert [(r.rides, r.metres) for r in after] == [(r.rides, r.metres) for r in before]
    driver.refresh_from_db()
    assert (driver.active, driver.vehicle_description) == (False, "")
    assert not AvailabilitySlot.objects.filter(driver=driver).exists()
    assert not Session.objects.exists()
    export = person_export(user=user)
    assert export["person"]["full_name"] == "—"
    assert export["rides_driven"][0]["driven_m"] == 11_000

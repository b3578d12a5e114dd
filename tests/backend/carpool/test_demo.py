import pytest
from django.core.management import call_command

from backend.carpool.models import Booking, SavedSearch, Trip, TripOccurrence

pytestmark = pytest.mark.django_db


def test_the_demo_has_a_commute_a_weekend_trip_a_booking_and_an_alert():
    call_command("seed_demo")
    counts = (Trip.objects.count(), Booking.objects.count(), SavedSearch.objects.count())
    assert counts == (2, 1, 1)
    assert TripOccurrence.objects.count() >= 20  # four weeks of weekdays and the Saturday
    call_command("seed_demo")
    assert (Trip.objects.count(), Booking.objects.count(), SavedSearch.objects.count()) == counts

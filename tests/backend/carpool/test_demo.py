import datetime as dt

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from backend.carpool.models import Booking, SavedSearch, Trip, TripOccurrence

pytestmark = pytest.mark.django_db


def test_the_demo_has_a_commute_a_weekend_trip_a_booking_and_an_alert():
    call_command("seed_demo")
    counts = (Trip.objects.count(), Booking.objects.count(), SavedSearch.objects.count())
    assert counts == (2, 1, 1)
    # The commute on every working day from the first one on, to the horizon (four
    # weeks), whatever day of the week the demo is loaded; and the Saturday trip.
    commute = Trip.objects.get(rrule__contains="BYDAY=MO,TU,WE,TH,FR")
    days = [o.departure_at.date() for o in commute.occurrences.order_by("departure_at")]
    assert (days[0] - timezone.localdate()).days <= 3
    working_days = [
        days[0] + dt.timedelta(days=n)
        for n in range((days[-1] - days[0]).days + 1)
        if (days[0] + dt.timedelta(days=n)).weekday() < 5
    ]
    assert days == working_days  # no working day missing
    horizon = timezone.localdate() + dt.timedelta(days=settings.CARPOOL_HORIZON_DAYS)
    assert (horizon - days[-1]).days <= 3  # up to the horizon, but for a weekend
    assert len(days) >= 18
    assert TripOccurrence.objects.exclude(trip=commute).count() >= 1
    call_command("seed_demo")
    assert (Trip.objects.count(), Booking.objects.count(), SavedSearch.objects.count()) == counts

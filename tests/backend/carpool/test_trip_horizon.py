"""A trip is published at most CARPOOL_HORIZON_DAYS before it leaves: further out it was
refused with a message about the repetition, or, in the year 9999, a 500."""

import datetime as dt

import pytest
from django.utils import timezone

from backend.carpool.models import Trip
from backend.errors import ApplicationError

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("rrule", "first_departure"),
    [
        pytest.param("", timezone.now() + dt.timedelta(days=60), id="one-off-in-two-months"),
        pytest.param(
            "FREQ=WEEKLY;BYDAY=MO",
            dt.datetime(9999, 12, 31, 22, tzinfo=dt.UTC),
            id="weekly-from-year-9999",
        ),
    ],
)
def test_a_trip_leaving_beyond_the_horizon_is_refused_on_its_departure(
    publish, rrule, first_departure
):
    with pytest.raises(ApplicationError) as error:
        publish(rrule=rrule, first_departure=first_departure)
    assert error.value.code == "time_too_far"
    assert list(error.value.fields) == ["departure"]
    assert "28" in str(error.value.message)
    assert Trip.objects.count() == 0


def test_a_trip_leaving_on_the_last_day_of_the_horizon_is_published(publish):
    trip = publish(first_departure=timezone.now() + dt.timedelta(days=27, hours=23))
    assert trip.occurrences.count() == 1

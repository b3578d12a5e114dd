"""Booking periods on the nights the clocks change are measured in real time: two times
given in the same zone compared by the wall clock, so 02:00 and 03:00 on the night the
clocks go forward (one instant) passed as an hour and the database refused the row."""

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.test import override_settings

from backend.errors import ApplicationError
from backend.sharing import services
from backend.sharing.models import Booking, WaitlistEntry

pytestmark = pytest.mark.django_db
STOCKHOLM = ZoneInfo("Europe/Stockholm")
UTC = datetime.UTC
# 28 March 2027: 02:00 winter time is 03:00 summer time.
GAP_START = datetime.datetime(2027, 3, 28, 2, 0, tzinfo=STOCKHOLM)
GAP_END = datetime.datetime(2027, 3, 28, 3, 0, tzinfo=STOCKHOLM)


@override_settings(SHARING_MAX_DAYS_AHEAD=800)
def test_a_period_across_the_missing_hour_that_is_one_instant_is_refused(member, car):
    with pytest.raises(ApplicationError) as error:
        services.booking_request(actor=member, resource=car, starts_at=GAP_START, ends_at=GAP_END)
    assert error.value.code == "booking_period_invalid"
    assert list(error.value.fields) == ["ends_at"]
    assert not Booking.objects.exists()
    with pytest.raises(ApplicationError):
        services.waitlist_join(actor=member, resource=car, starts_at=GAP_START, ends_at=GAP_END)
    assert not WaitlistEntry.objects.exists()


@override_settings(SHARING_MAX_DAYS_AHEAD=800)
def test_a_booking_over_the_missing_hour_lasts_and_costs_its_real_length(member, car):
    # 00:00 to 04:00 on the wall clock is three hours that night.
    booking = services.booking_request(
        actor=member,
        resource=car,
        starts_at=datetime.datetime(2027, 3, 28, 0, 0, tzinfo=STOCKHOLM),
        ends_at=datetime.datetime(2027, 3, 28, 4, 0, tzinfo=STOCKHOLM),
    )
    booking.refresh_from_db()
    assert booking.ends_at - booking.starts_at == datetime.timedelta(hours=3)
    assert booking.starts_at == datetime.datetime(2027, 3, 27, 23, 0, tzinfo=UTC)
    assert booking.estimated_cost_ore == 3 * 3_000

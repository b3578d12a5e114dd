"""GET /api/v1/sharing/feed: the person's calendar address now carries their rides and
runs as well as their bookings; its documentation says so."""

import pytest
import yaml
from icalendar import Calendar

from tests.factories import RideRequestFactory, UserFactory
from tests.sharing_fixtures import BookingFactory

pytestmark = pytest.mark.django_db

HOST = "127.0.0.1:8000"


def _uids(response) -> set[str]:
    return {str(event["uid"]) for event in Calendar.from_ical(response.content).walk("VEVENT")}


def test_my_feed_address_carries_rides_and_bookings(api_as, api, member, trailer, association):
    ride = RideRequestFactory(rider=member, association=association)
    booking = BookingFactory(resource=trailer, booker=member)
    RideRequestFactory(rider=UserFactory(), association=association)
    url = api_as(member).get("/api/v1/sharing/feed").json()["url"]
    path = url.split("testserver", 1)[1]
    assert _uids(api.get(path)) == {f"ride-{ride.pk}@{HOST}", f"booking-{booking.pk}@{HOST}"}
    new = api_as(member).post("/api/v1/sharing/feed").json()["url"].split("testserver", 1)[1]
    assert api.get(path).status_code == 404
    assert _uids(api.get(new)) == {f"ride-{ride.pk}@{HOST}", f"booking-{booking.pk}@{HOST}"}


def test_my_feed_is_documented_as_carrying_everything(api):
    schema = yaml.safe_load(api.get("/api/schema/").content)
    operations = schema["paths"]["/api/v1/sharing/feed"]
    for method in ("get", "post"):
        description = operations[method]["description"]
        assert "volunteer rides" in description
        assert "30 days back to 90 days ahead" in description


def test_the_calendar_is_read_in_a_fixed_number_of_queries(
    api_as, api, member, trailer, association, django_assert_num_queries
):
    for _ in range(3):
        RideRequestFactory(rider=member, association=association)
    BookingFactory(resource=trailer, booker=member)
    path = api_as(member).get("/api/v1/sharing/feed").json()["url"].split("testserver", 1)[1]
    # The feed and its person, then one query for each of the seven kinds of thing.
    with django_assert_num_queries(8):
        assert api.get(path).status_code == 200

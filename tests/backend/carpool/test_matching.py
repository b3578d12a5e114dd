"""The corridor search on PostGIS: dispatch.carpool_matching.departures_matching."""

import datetime as dt

import pytest
from django.utils import timezone

from backend.carpool.models import OccurrenceStatus, TripOccurrence
from backend.errors import ApplicationError
from dispatch.carpool_matching import Search, departures_matching, search_check
from tests.carpool_fixtures import along
from tests.factories import next_weekday_at

pytestmark = pytest.mark.django_db

MONDAY_7 = None  # set per test from next_weekday_at (it moves with today)


def search(pickup, dropoff, start=None, end=None, **changes) -> Search:
    monday = next_weekday_at(0, 7, 0)
    return Search(
        pickup=pickup,
        dropoff=dropoff,
        window_start=start or monday - dt.timedelta(minutes=30),
        window_end=end or monday + dt.timedelta(hours=1),
        **changes,
    )


def found(s: Search) -> list[int]:
    return [p.trip_id for p in departures_matching(s)]


def test_a_passenger_on_the_route_in_the_right_direction_matches(publish):
    trip = publish()
    [match] = departures_matching(search(along(0.2, 300), along(0.8, -200)))
    assert match.trip_id == trip.pk
    assert match.pickup_fraction == pytest.approx(0.2, abs=0.005)
    assert match.dropoff_fraction == pytest.approx(0.8, abs=0.005)
    assert match.walk_m == pytest.approx(500, abs=3)
    assert match.detour_m == 0
    # The car passes the pickup a fifth of the way into its trip, not at departure.
    expected = trip.first_departure + dt.timedelta(seconds=trip.duration_s * 0.2)
    assert abs((match.pickup_at - expected).total_seconds()) < 30


def test_pickup_near_the_route_but_after_the_dropoff_does_not_match(publish):
    publish()
    assert found(search(along(0.8), along(0.2))) == []


@pytest.mark.parametrize(
    ("north_m", "matches"),
    [(4_950, True), (5_050, False)],
    ids=["just-inside-corridor", "just-outside-corridor"],
)
def test_points_just_inside_and_outside_the_corridor(publish, settings, north_m, matches):
    settings.CARPOOL_CORRIDOR_M = 5_000
    settings.CARPOOL_MAX_DETOUR_PCT = 50  # the corridor, not the detour, decides here
    trip = publish()
    assert found(search(along(0.1, north_m), along(0.9))) == ([trip.pk] if matches else [])


def test_a_detour_over_a_quarter_of_the_trip_is_refused(publish, settings):
    # The trip is ~57 km by road: 25 % is ~14.2 km of detour, i.e. ~5.5 km off the route
    # in total, out and back at the road factor 1.3. 2.6 + 2.6 km fits, 3 + 3 does not.
    settings.CARPOOL_CORRIDOR_M = 5_000
    trip = publish()
    assert found(search(along(0.1, 2_600), along(0.9, 2_600), walk_m=0)) == [trip.pk]
    assert found(search(along(0.1, 3_000), along(0.9, 3_000), walk_m=0)) == []


def test_the_shared_part_must_exceed_the_minimum(publish, settings):
    trip = publish()
    assert found(search(along(0.30), along(0.70))) == [trip.pk]  # 40 %
    assert found(search(along(0.30), along(0.60))) == []  # 30 %
    settings.CARPOOL_MIN_SHARED_PCT = 25
    assert found(search(along(0.30), along(0.60))) == [trip.pk]


def test_the_window_is_adjusted_by_position_along_the_route(publish):
    trip = publish()
    halfway = trip.first_departure + dt.timedelta(seconds=trip.duration_s / 2)
    near_halfway = search(
        along(0.5),
        along(0.95),
        start=halfway - dt.timedelta(minutes=5),
        end=halfway + dt.timedelta(minutes=5),
    )
    at_departure_only = search(
        along(0.5),
        along(0.95),
        start=trip.first_departure - dt.timedelta(minutes=10),
        end=trip.first_departure + dt.timedelta(minutes=10),
    )
    assert found(near_halfway) == [trip.pk]
    assert found(at_departure_only) == []


def test_a_full_departure_is_left_out(publish):
    trip = publish(seats=2)
    occurrence = trip.occurrences.get()
    assert found(search(along(0.1), along(0.9), seats=2)) == [trip.pk]
    assert found(search(along(0.1), along(0.9), seats=3)) == []
    TripOccurrence.objects.filter(pk=occurrence.pk).update(
        seats_taken=2, status=OccurrenceStatus.FULL
    )
    assert found(search(along(0.1), along(0.9))) == []


def test_cancelled_departures_and_own_trips_are_left_out(publish, carpool_driver):
    trip = publish()
    assert found(search(along(0.1), along(0.9), searcher_id=carpool_driver.pk)) == []
    trip.occurrences.update(status=OccurrenceStatus.CANCELLED)
    assert found(search(along(0.1), along(0.9))) == []


def test_ranked_by_detour_and_walking_then_time_fit(publish):
    monday = next_weekday_at(0, 7, 0)
    on_route_late = publish(first_departure=monday + dt.timedelta(minutes=40))
    off_route = publish(origin=along(0, 2_000), destination=along(1, 2_000))
    on_route = publish(first_departure=monday + dt.timedelta(minutes=5))
    ranked = found(search(along(0.1), along(0.9), preferred_at=monday))
    assert ranked == [on_route.pk, on_route_late.pk, off_route.pk]


def test_recurring_weekday_departures_are_each_searchable(publish):
    trip = publish(rrule="FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR")
    tuesday = next_weekday_at(0, 7, 0) + dt.timedelta(days=1)
    results = departures_matching(
        search(
            along(0.1),
            along(0.9),
            start=tuesday - dt.timedelta(minutes=10),
            end=tuesday + dt.timedelta(minutes=30),
        )
    )
    assert [p.trip_id for p in results] == [trip.pk]
    assert timezone.localtime(results[0].departure_at).strftime("%a %H:%M") == "Tue 07:00"


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"dropoff": along(0.1)}, "same_place"),
        ({"end": "before"}, "window_reversed"),
        ({"seats": 0}, "seats_invalid"),
        ({"seats": 9}, "seats_invalid"),
        ({"end": "past"}, "time_in_past"),
    ],
    ids=["same-place", "window-reversed", "no-seats", "too-many-seats", "window-past"],
)
def test_searches_a_person_got_wrong_are_refused(changes, code):
    monday = next_weekday_at(0, 7, 0)
    values = {"pickup": along(0.1), "dropoff": along(0.9), "start": monday}
    end = changes.pop("end", None)
    if end == "before":
        values["end"] = monday - dt.timedelta(minutes=1)
    elif end == "past":
        values["start"] = timezone.now() - dt.timedelta(hours=3)
        values["end"] = timezone.now() - dt.timedelta(hours=2)
    values.update(changes)
    pickup, dropoff = values.pop("pickup"), values.pop("dropoff")
    with pytest.raises(ApplicationError) as error:
        search_check(search(pickup, dropoff, **values))
    assert error.value.code == code

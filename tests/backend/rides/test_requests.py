from datetime import timedelta

import pytest
from django.contrib.gis.geos import Point
from django.utils import timezone

from backend.errors import ApplicationError, ErrorKind
from backend.rides.errors import RideAlreadyRequested
from backend.rides.models import RideEvent, RiderApproval, RideRequest, RideState
from backend.rides.services import RideTime, ride_cancel, ride_request_create
from tests.factories import DALA_JARNA, VANSBRO, MembershipFactory, UserFactory, next_weekday_at

pytestmark = pytest.mark.django_db


def request(rider, association, **changes):
    values = {
        "requested_by": rider,
        "rider": rider,
        "association": association,
        "pickup": VANSBRO,
        "pickup_address": "Järnvägsgatan 4, Vansbro",
        "destination": DALA_JARNA,
        "destination_address": "Vårdcentralen, Dala-Järna",
        "when": RideTime(kind="pickup_at", at=next_weekday_at(0, 10)),
    }
    values.update(changes)
    return ride_request_create(**values)


def test_a_ride_is_stored_with_its_trip_estimate_village_and_event(rider, association):
    ride = request(rider, association, passengers=2, needs=["walker", "bags"], note=" Ring på ")
    assert ride.state == RideState.REQUESTED
    assert ride.village.name == "Vansbro"
    assert ride.earliest_pickup == ride.latest_pickup == next_weekday_at(0, 10)
    # Vansbro to Dala-Järna: 8.6 km as the crow flies, x 1.3 road factor at 50 km/h.
    assert 10_500 < ride.distance_m < 11_800
    assert ride.duration_s == round(ride.distance_m / (50_000 / 3600))
    assert (ride.needs, ride.note, ride.passengers) == (["bags", "walker"], "Ring på", 2)
    assert list(RideEvent.objects.values_list("to_state", flat=True)) == ["requested"]
    assert rider.notifications.get().kind == "ride.requested"


def test_arrive_by_gives_a_pickup_window_ending_in_time(rider, association):
    arrive = next_weekday_at(1, 9, 30)
    ride = request(rider, association, when=RideTime(kind="arrive_by", at=arrive))
    trip = timedelta(seconds=ride.duration_s, minutes=5)
    assert ride.latest_pickup == arrive - trip
    assert ride.earliest_pickup == arrive - trip - timedelta(minutes=30)
    assert ride.arrive_by == arrive


def test_a_flexible_window_is_kept(rider, association):
    start, end = next_weekday_at(1, 8), next_weekday_at(1, 8) + timedelta(days=1, hours=4)
    ride = request(
        rider, association, when=RideTime(kind="pickup_at", window_start=start, window_end=end)
    )
    assert (ride.earliest_pickup, ride.latest_pickup) == (start, end)


def test_asap_means_within_the_hour(rider, association):
    before = timezone.now()
    ride = request(rider, association, when=RideTime(kind="asap"))
    assert before <= ride.earliest_pickup <= timezone.now()
    assert ride.latest_pickup - ride.earliest_pickup == timedelta(hours=1)


def test_return_trip_goes_back_the_other_way(rider, association):
    ride = request(rider, association, return_at=next_weekday_at(0, 13))
    back = ride.return_ride
    assert (back.pickup_address, back.destination_address) == (
        "Vårdcentralen, Dala-Järna",
        "Järnvägsgatan 4, Vansbro",
    )
    assert back.earliest_pickup == next_weekday_at(0, 13)


def test_a_proxy_and_a_coordinator_book_for_the_rider(rider, association, coordinator):
    daughter = UserFactory()
    rider.proxy_links.create(proxy=daughter, accepted_at=timezone.now())
    for hour, booker in ((10, daughter), (14, coordinator)):
        ride = request(
            rider,
            association,
            requested_by=booker,
            when=RideTime(kind="pickup_at", at=next_weekday_at(0, hour)),
        )
        assert (ride.rider, ride.requested_by) == (rider, booker)
    # The rider and the person who booked are both told.
    assert daughter.notifications.filter(kind="ride.requested").count() == 1


OUTSIDE = Point(18.07, 59.33, srid=4326)  # Stockholm


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"pickup": OUTSIDE}, "outside_area", "pickup"),
        ({"destination": OUTSIDE}, "outside_area", "destination"),
        ({"destination": VANSBRO}, "same_place", "destination"),
        ({"passengers": 0}, "passengers_invalid", "passengers"),
        ({"passengers": 9}, "passengers_invalid", "passengers"),
        ({"needs": ["jetpack"]}, "needs_unknown", "needs"),
        ({"when": RideTime(kind="pickup_at")}, "time_missing", "at"),
        ("past", "time_in_past", "at"),
        ("reversed", "window_reversed", "window_end"),
        ("too-long", "window_too_long", "window_end"),
        ("half-window", "time_missing", "window_end"),
        ("arrive-too-soon", "time_in_past", "at"),
        ("return-too-early", "return_before_arrival", "return_at"),
    ],
    ids=[
        "pickup-outside-municipality",
        "destination-outside-municipality",
        "same-place",
        "no-passengers",
        "nine-passengers",
        "unknown-need",
        "no-time",
        "time-in-past",
        "window-reversed",
        "window-too-long",
        "half-a-window",
        "arrive-by-too-soon",
        "return-before-arrival",
    ],
)
def test_bad_requests_are_refused_with_a_field_and_store_nothing(
    rider, association, changes, code, field
):
    now = timezone.now()
    named = {
        "past": {"when": RideTime(kind="pickup_at", at=now - timedelta(minutes=1))},
        "reversed": {
            "when": RideTime(
                kind="pickup_at",
                window_start=now + timedelta(days=2),
                window_end=now + timedelta(days=1),
            )
        },
        "too-long": {
            "when": RideTime(
                kind="pickup_at",
                window_start=now + timedelta(days=1),
                window_end=now + timedelta(days=16),
            )
        },
        "half-window": {"when": RideTime(kind="pickup_at", window_start=now + timedelta(days=1))},
        "arrive-too-soon": {"when": RideTime(kind="arrive_by", at=now + timedelta(minutes=10))},
        "return-too-early": {"return_at": next_weekday_at(0, 10)},
    }
    with pytest.raises(ApplicationError) as refused:
        request(rider, association, **(named[changes] if isinstance(changes, str) else changes))
    assert refused.value.code == code
    assert list(refused.value.fields) == [field]
    assert not RideRequest.objects.exists()
    assert not rider.notifications.exists()


def test_only_approved_riders_may_request(association):
    member = MembershipFactory(association=association).user
    with pytest.raises(ApplicationError) as refused:
        request(member, association)
    assert (refused.value.code, refused.value.kind) == ("not_approved_rider", ErrorKind.FORBIDDEN)
    assert not RideRequest.objects.exists()


def test_a_stranger_cannot_book_for_someone(rider, association):
    with pytest.raises(ApplicationError) as refused:
        request(rider, association, requested_by=UserFactory())
    assert refused.value.code == "ride_not_allowed"
    assert not RideRequest.objects.exists()


# --- The same ride asked for twice ------------------------------------------------------


def _one_ride_asked_for_twice(rider, association, when, **second):
    first = request(rider, association, when=when)
    with pytest.raises(RideAlreadyRequested) as refused:
        request(rider, association, when=when, **second)
    return first, refused.value


@pytest.mark.parametrize(
    "when",
    [
        RideTime(kind="pickup_at", at=next_weekday_at(0, 10)),
        RideTime(kind="arrive_by", at=next_weekday_at(0, 11)),
        RideTime(
            kind="pickup_at",
            window_start=next_weekday_at(0, 9),
            window_end=next_weekday_at(0, 12),
        ),
        RideTime(kind="asap"),
    ],
    ids=["pickup-at", "arrive-by", "window", "as-soon-as-possible"],
)
def test_the_same_ride_asked_for_again_is_refused_naming_the_first(rider, association, when):
    first, refused = _one_ride_asked_for_twice(rider, association, when)
    assert (refused.code, refused.kind, refused.ride_id) == (
        "ride_already_requested",
        ErrorKind.CONFLICT,
        first.pk,
    )
    assert str(refused.message) == (
        f"Ingrid Svensson har redan den här resan bokad (resa {first.pk}). Den bokades inte en "
        "gång till."
    )
    assert list(RideRequest.objects.values_list("pk", flat=True)) == [first.pk]
    assert RideEvent.objects.count() == 1
    assert rider.notifications.count() == 1


def test_booked_by_someone_else_for_the_same_rider_it_is_still_the_same_ride(
    rider, association, coordinator
):
    daughter = UserFactory()
    rider.proxy_links.create(proxy=daughter, accepted_at=timezone.now())
    when = RideTime(kind="pickup_at", at=next_weekday_at(0, 10))
    first, refused = _one_ride_asked_for_twice(rider, association, when, requested_by=daughter)
    assert refused.ride_id == first.pk
    assert RideRequest.objects.count() == 1


def test_a_ride_with_its_return_trip_asked_for_again_books_neither_again(rider, association):
    when = RideTime(kind="pickup_at", at=next_weekday_at(0, 10))
    first = request(rider, association, when=when, return_at=next_weekday_at(0, 13))
    with pytest.raises(RideAlreadyRequested) as refused:
        request(rider, association, when=when, return_at=next_weekday_at(0, 13))
    assert refused.value.ride_id == first.pk
    assert RideRequest.objects.count() == 2


@pytest.mark.parametrize(
    "second",
    [
        {"when": RideTime(kind="pickup_at", at=next_weekday_at(0, 11))},
        {"when": RideTime(kind="arrive_by", at=next_weekday_at(0, 10))},
        {"destination": Point(14.30, 60.52, srid=4326)},
        {"pickup": Point(14.25, 60.51, srid=4326)},
        "other rider",
        "first cancelled",
    ],
    ids=[
        "another-time",
        "arrive-by-that-time",
        "another-destination",
        "another-pickup",
        "another-rider",
        "the-first-was-cancelled",
    ],
)
def test_a_ride_that_differs_or_whose_twin_is_closed_is_booked(
    rider, association, coordinator, second
):
    when = RideTime(kind="pickup_at", at=next_weekday_at(0, 10))
    first = request(rider, association, when=when)
    changes, traveller = (second if isinstance(second, dict) else {}), rider
    if second == "other rider":
        other = MembershipFactory(association=association, user__full_name="Karl Nilsson")
        RiderApproval.objects.create(membership=other, approved_by=coordinator)
        traveller = other.user
    if second == "first cancelled":
        ride_cancel(ride=first, actor=rider, reason="")
    again = request(traveller, association, **{"when": when, **changes})
    assert again.pk != first.pk
    assert RideRequest.objects.count() == 2

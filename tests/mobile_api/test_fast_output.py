"""Output serializers with fields built once per class (mobile_api.output.FastOutput) show
exactly what DRF's generic to_representation shows; lists skip counting a first page
that is not full, with the same count and links."""

import datetime
import zoneinfo

import pytest
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.urls import reverse
from django.utils import timezone, translation
from rest_framework import serializers

from backend.notifications.services import notify
from backend.rides.models import RideRequest
from backend.sharing.models import ResourcePhoto
from mobile_api.carpool_serializers import AreaOutput, PersonBrief
from mobile_api.rides_serializers import DriverRideRowOutput, RideOutput, VillageBrief
from mobile_api.serializers import PersonOutput, VillageOutput
from mobile_api.sharing_serializers import ResourcePhotoOutput
from tests.factories import (
    ManagedProfileFactory,
    RideRequestFactory,
    UserFactory,
    VillageFactory,
)

pytestmark = pytest.mark.django_db


def _generic(serializer_class: type[serializers.Serializer], instance) -> dict:
    """What DRF's own Serializer.to_representation makes of the instance."""
    return serializers.Serializer.to_representation(serializer_class(), instance)


def _hour(start: datetime.datetime) -> DateTimeTZRange:
    return DateTimeTZRange(start, start + datetime.timedelta(hours=1))


@pytest.fixture
def rides(association, driver, rider):
    village = association.villages.get()
    plain = RideRequestFactory(rider=rider, association=association, village=None)
    held = RideRequestFactory(
        rider=ManagedProfileFactory(full_name="Greta"),
        requested_by=rider,
        association=association,
        village=village,
        state="accepted",
        driver=driver,
        planned_pickup=timezone.now() + datetime.timedelta(days=1),
        busy=_hour(timezone.now() + datetime.timedelta(days=1)),
        accepted_at=timezone.now(),
        needs=["wheelchair", "walker"],
        note="Ring på",
    )
    closed = RideRequestFactory(
        rider=rider,
        association=association,
        village=village,
        state="completed",
        driver=driver,
        planned_pickup=timezone.now() - datetime.timedelta(days=1),
        busy=_hour(timezone.now() - datetime.timedelta(days=1)),
        closed_at=timezone.now(),
        driven_m=12_345,
        return_of=plain,
    )
    return [plain, held, closed]


@pytest.mark.parametrize("language", ["sv", "en"])
def test_ride_outputs_match_drf(rides, language):
    with translation.override(language):
        for ride in RideRequest.objects.filter(pk__in=[r.pk for r in rides]):
            assert RideOutput(ride).data == _generic(RideOutput, ride)
            assert DriverRideRowOutput(ride).data == _generic(DriverRideRowOutput, ride)
            if ride.village is not None:
                assert VillageBrief(ride.village).data == _generic(VillageBrief, ride.village)
            assert PersonOutput(ride.rider).data == _generic(PersonOutput, ride.rider)


@pytest.mark.parametrize("zone", ["UTC", "America/New_York"])
def test_times_match_drf_in_any_active_time_zone(rides, zone):
    # UTC: DRF writes "Z" for "+00:00"; a naive time goes DRF's own way.
    with timezone.override(zoneinfo.ZoneInfo(zone)):
        for ride in RideRequest.objects.filter(pk__in=[r.pk for r in rides]):
            assert RideOutput(ride).data == _generic(RideOutput, ride)
        show = {name: show for name, _get, show in RideOutput._fast_plan}["earliest_pickup"]
        naive = datetime.datetime(2025, 3, 1, 10, 0)  # noqa: DTZ001 - naive on purpose
        assert show(naive) == RideOutput().fields["earliest_pickup"].to_representation(naive)


def test_ride_list_output_is_generic_drf_output(api_as, rides, rider):
    body = api_as(rider).get(reverse("ride-list")).json()
    # Both rides start at the same time: match them by id, not by their order.
    by_id = {ride.pk: ride for ride in RideRequest.objects.filter(rider=rider)}
    assert body["count"] == 2
    assert body["results"] == [_generic(RideOutput, by_id[row["id"]]) for row in body["results"]]


def test_driver_ride_list_output_is_generic_drf_output(api_as, rides, driver):
    body = api_as(driver.membership.user).get(reverse("driver-rides")).json()
    by_id = {ride.pk: ride for ride in RideRequest.objects.filter(driver=driver)}
    assert body["count"] == 2
    assert body["results"] == [
        _generic(DriverRideRowOutput, by_id[row["id"]]) for row in body["results"]
    ]


def test_small_outputs_match_drf(association):
    village = VillageFactory(name="Äppelbo")
    assert VillageOutput(village).data == _generic(VillageOutput, village)
    person = {"id": 1, "first_name": "Anna", "rating": None, "ratings": 0}
    assert PersonBrief(person).data == _generic(PersonBrief, person)
    area = {"village": None, "point": {"type": "Point", "coordinates": [14.2, 60.5]}}
    assert AreaOutput(area).data == _generic(AreaOutput, area)
    photo = ResourcePhoto(id=3, image="sharing/1/a.jpg", width=10, height=20)
    assert ResourcePhotoOutput(photo).data == _generic(ResourcePhotoOutput, photo)


def test_output_fields_are_built_once_per_class(rides):
    RideOutput(rides[0]).data  # noqa: B018 - builds the plan
    plan = RideOutput._fast_plan
    RideOutput(rides[1]).data  # noqa: B018
    assert RideOutput._fast_plan is plan
    assert "_fast_plan" not in DriverRideRowOutput.__dict__ or (
        DriverRideRowOutput._fast_plan is not plan
    )


def test_first_page_not_full_is_not_counted_again(api_as, django_assert_num_queries):
    anna = UserFactory()
    for _ in range(3):
        notify(anna, "association.message", {"association": "Byalaget", "text": "Hej"})
    client = api_as(anna)
    client.get(reverse("notification-list"))  # the token and session are warm
    # The page only: no COUNT for the list nor for the unread ones.
    with django_assert_num_queries(1):
        body = client.get(reverse("notification-list")).json()
    assert body["count"] == 3
    assert body["next"] is None and body["previous"] is None
    assert body["unread_count"] == 3


def test_paged_lists_keep_count_links_and_unread_count(api_as):
    anna = UserFactory()
    ids = [
        notify(anna, "association.message", {"association": "Byalaget", "text": str(n)}).pk
        for n in range(5)
    ]
    client = api_as(anna)
    client.post(reverse("notification-read"), {"ids": ids[:1]}, format="json")

    first = client.get(reverse("notification-list"), {"page_size": 2}).json()
    assert first["count"] == 5
    assert first["next"].endswith("page=2&page_size=2")
    assert first["previous"] is None
    assert first["unread_count"] == 4

    full = client.get(reverse("notification-list"), {"page_size": 5}).json()
    assert full["count"] == 5
    assert full["next"] is None
    assert full["unread_count"] == 4

    last = client.get(reverse("notification-list"), {"page_size": 2, "page": 3}).json()
    assert last["count"] == 5
    assert last["next"] is None
    assert last["previous"].endswith("page=2&page_size=2")
    assert [n["id"] for n in last["results"]] == ids[:1]
    assert last["unread_count"] == 4

    assert client.get(reverse("notification-list"), {"page": 4}).status_code == 404


def test_empty_list_is_a_first_page_with_nothing(api_as):
    body = api_as(UserFactory()).get(reverse("notification-list")).json()
    assert body == {"count": 0, "next": None, "previous": None, "results": [], "unread_count": 0}

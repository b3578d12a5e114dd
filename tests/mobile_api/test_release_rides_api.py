"""`POST /api/v1/memberships/<id>/release-rides`: the roster's "Give rides back" in the
API (dispatch.services.driver_rides_release_all). A coordinator of the association gives
all the rides the driver holds back to dispatch; bad input is a 400 naming the field,
anyone else a 403 or 404, and none of them changes anything."""

import pytest

from backend.notifications.models import Notification
from backend.rides.models import Offer, RideEvent, RideRequest, RideState
from backend.rides.services import busy_range
from tests.factories import (
    AssociationFactory,
    MembershipFactory,
    RideRequestFactory,
    coordinator_of,
    next_weekday_at,
)

pytestmark = pytest.mark.django_db


def held(driver, rider, weekday: int, state=RideState.ACCEPTED) -> RideRequest:
    at = next_weekday_at(weekday, 10)
    ride = RideRequestFactory(
        rider=rider, association=driver.membership.association, earliest_pickup=at
    )
    ride.state, ride.driver, ride.planned_pickup = state, driver, at
    ride.busy = busy_range(ride, at)
    ride.save()
    return ride


def everything() -> list:
    return [
        *RideRequest.objects.order_by("pk").values_list("pk", "state", "driver_id"),
        *Offer.objects.order_by("pk").values_list("pk", "state"),
        ("events", RideEvent.objects.count()),
        ("notifications", Notification.objects.count()),
    ]


def path(driver) -> str:
    return f"/api/v1/memberships/{driver.membership.pk}/release-rides"


def test_a_coordinator_gives_the_rides_back(driver, rider, coordinator, api_as):
    accepted = held(driver, rider, 1)
    aboard = held(driver, rider, 2, RideState.PICKED_UP)
    response = api_as(coordinator).post(path(driver), {"reason": "Sjuk."}, format="json")
    assert response.status_code == 200
    assert response.json() == {"rides": [accepted.pk]}
    assert dict(RideRequest.objects.values_list("pk", "state")) == {
        accepted.pk: RideState.REQUESTED,
        aboard.pk: RideState.PICKED_UP,
    }
    assert list(
        Notification.objects.filter(recipient=driver.membership.user).values_list("kind", flat=True)
    ) == ["ride.released_to_dispatch"]


def test_nothing_held_is_an_empty_list(driver, coordinator, api_as):
    response = api_as(coordinator).post(path(driver), {"reason": "Sjuk."}, format="json")
    assert (response.status_code, response.json()) == (200, {"rides": []})


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "reason"),
        ({"reason": ""}, "reason"),
        ({"reason": "   "}, "reason"),
        ({"reason": "x" * 301}, "reason"),
    ],
    ids=["missing", "empty", "blank", "too-long"],
)
def test_bad_input_is_a_400_naming_the_field(driver, rider, coordinator, api_as, body, field):
    held(driver, rider, 1)
    before = everything()
    response = api_as(coordinator).post(path(driver), body, format="json")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [field]
    assert everything() == before


@pytest.mark.parametrize(
    ("who", "status"),
    [("the driver", 403), ("a member", 404), ("another association's coordinator", 404)],
)
def test_nobody_else_gives_them_back(driver, rider, api_as, who, status):
    held(driver, rider, 1)
    actor = {
        "the driver": driver.membership.user,
        "a member": MembershipFactory(association=driver.membership.association).user,
        "another association's coordinator": coordinator_of(AssociationFactory()),
    }[who]
    before = everything()
    response = api_as(actor).post(path(driver), {"reason": "Sjuk."}, format="json")
    assert response.status_code == status
    assert everything() == before


def test_anonymous_is_refused(driver, rider, api):
    held(driver, rider, 1)
    before = everything()
    assert api.post(path(driver), {"reason": "Sjuk."}, format="json").status_code == 403
    assert everything() == before

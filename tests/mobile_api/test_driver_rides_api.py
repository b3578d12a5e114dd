"""GET /api/v1/driver/rides: the rides a volunteer driver drives, for the driver mode of
the web app (my rides with their status buttons)."""

import datetime

import pytest
from django.utils import timezone

from backend.accounts.models import User
from backend.community.models import Membership, Role
from backend.rides.models import DriverProfile, MileageClaim, Offer, RideRequest, RideState
from backend.rides.services import busy_range, pickup_area
from tests.factories import VANSBRO as VANSBRO_POINT
from tests.factories import (
    AssociationFactory,
    DriverProfileFactory,
    MembershipFactory,
    RideRequestFactory,
    UserFactory,
    VillageFactory,
)

pytestmark = pytest.mark.django_db

PICKUP_ADDRESS = "Järnvägsgatan 4, Vansbro"  # the factory's


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert list(body) == ["error"]
    assert set(body["error"]) == {"code", "message", "fields"}
    return body["error"]


def driver_in(association, user: User | None = None, name: str = "Erik Olsson") -> DriverProfile:
    user = user or UserFactory(full_name=name)
    MembershipFactory(user=user, association=association, roles=[Role.MEMBER, Role.DRIVER])
    return DriverProfileFactory(
        membership=Membership.objects.get(user=user, association=association)
    )


def in_days(days: float, hour: int = 10) -> datetime.datetime:
    moment = timezone.localtime() + datetime.timedelta(days=days)
    return moment.replace(hour=hour, minute=0, second=0, microsecond=0)


def driven(driver: DriverProfile, state: str, pickup: datetime.datetime, rider=None, **fields):
    """A ride `driver` has (or had) in `state`, picked up at `pickup`."""
    ride = RideRequestFactory(
        rider=rider or UserFactory(full_name="Ingrid Svensson"),
        association=driver.membership.association,
        earliest_pickup=pickup,
        latest_pickup=pickup,
        **fields,
    )
    ride.state, ride.driver, ride.planned_pickup = state, driver, pickup
    if state in (RideState.ACCEPTED, RideState.EN_ROUTE, RideState.PICKED_UP):
        ride.busy = busy_range(ride, pickup)
    else:
        ride.closed_at = pickup + datetime.timedelta(minutes=30)
    if state == RideState.COMPLETED:
        ride.busy, ride.driven_m = busy_range(ride, pickup), 11_400
    ride.save()
    return ride


@pytest.fixture
def association():
    association = AssociationFactory(name="Äppelbo byalag")
    association.villages.add(
        VillageFactory(
            name="Vansbro", municipality=association.municipality, location=VANSBRO_POINT
        )
    )
    return association


@pytest.fixture
def erik(association) -> DriverProfile:
    return driver_in(association)


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_held_rides_first_soonest_first_then_closed_ones_latest_first(association, erik, api_as):
    later = driven(erik, RideState.ACCEPTED, in_days(3))
    sooner = driven(erik, RideState.EN_ROUTE, in_days(0.02, hour=timezone.localtime().hour))
    completed = driven(erik, RideState.COMPLETED, in_days(-2))
    cancelled = driven(erik, RideState.CANCELLED, in_days(-1))
    no_show = driven(erik, RideState.NO_SHOW, in_days(-5))
    # Not mine: another driver's ride, a ride only offered to me, a ride I gave back.
    driven(driver_in(association, name="Sven Holm"), RideState.ACCEPTED, in_days(3))
    offered = RideRequestFactory(rider=UserFactory(), association=association)
    Offer.objects.create(
        ride=offered, driver=erik, wave=1, rank=1, distance_m=900, pickup_at=offered.earliest_pickup
    )
    RideRequestFactory(rider=UserFactory(), association=association, state=RideState.REQUESTED)

    response = api_as(erik.membership.user).get("/api/v1/driver/rides")

    assert ids(response) == [sooner.pk, later.pk, cancelled.pk, completed.pk, no_show.pk]


def test_a_held_ride_has_addresses_and_next_steps_a_closed_one_only_the_area(
    association, erik, api_as
):
    held = driven(erik, RideState.ACCEPTED, in_days(3), needs=["walker"], passengers=2)
    done = driven(erik, RideState.COMPLETED, in_days(-2))
    village = association.villages.get()
    RideRequest.objects.filter(pk__in=[held.pk, done.pk]).update(village=village)
    held.refresh_from_db()
    done.refresh_from_db()

    response = api_as(erik.membership.user).get("/api/v1/driver/rides", HTTP_ACCEPT_LANGUAGE="en")

    area = pickup_area(held)
    rows = response.json()["results"]
    assert rows[0] == {
        "id": held.pk,
        "state": "accepted",
        "state_label": "driver found",
        "association": association.pk,
        "village": {"id": village.pk, "name": "Vansbro"},
        "rider_first_name": "Ingrid",
        "pickup_at": timezone.localtime(held.planned_pickup).isoformat(),
        "pickup": {"type": "Point", "coordinates": [held.pickup.x, held.pickup.y]},
        "pickup_address": PICKUP_ADDRESS,
        "destination": {"type": "Point", "coordinates": [held.destination.x, held.destination.y]},
        "destination_address": "Vårdcentralen, Dala-Järna",
        "area": {"type": "Point", "coordinates": [area.x, area.y]},
        "passengers": 2,
        "needs": ["walker"],
        "distance_km": 11.0,
        "driven_m": None,
        "closed_at": None,
        "next_steps": ["start", "picked-up", "no-show", "withdraw"],
    }
    assert rows[1] == {
        **rows[1],
        "id": done.pk,
        "state": "completed",
        "rider_first_name": "Ingrid",
        "pickup": None,
        "pickup_address": None,
        "destination": None,
        "destination_address": None,
        "driven_m": 11_400,
        "next_steps": [],
    }
    assert rows[1]["area"] == {"type": "Point", "coordinates": list(pickup_area(done).coords)}
    # Nobody's surname, phone or note in the list.
    text = response.content.decode()
    assert "Svensson" not in text and "+46" not in text


@pytest.mark.parametrize(
    ("state", "steps"),
    [
        (RideState.ACCEPTED, ["start", "picked-up", "no-show", "withdraw"]),
        (RideState.EN_ROUTE, ["picked-up", "no-show", "withdraw"]),
        (RideState.PICKED_UP, ["complete"]),
        (RideState.COMPLETED, []),
        (RideState.NO_SHOW, []),
        (RideState.CANCELLED, []),
    ],
)
def test_next_steps_are_the_ones_the_ride_accepts(erik, api_as, state, steps):
    ride = driven(erik, state, in_days(2))
    client = api_as(erik.membership.user)

    [row] = client.get("/api/v1/driver/rides").json()["results"]

    assert row["next_steps"] == steps
    # Each step offered is one a ride in that state really takes, at its endpoint (on the
    # day of the ride: hours apart, so the driver's rides do not overlap).
    for hours, step in enumerate(steps, start=1):
        fresh = driven(erik, state, timezone.now() - datetime.timedelta(hours=hours))
        body = {"reason": "Bilen startar inte"} if step in ("withdraw", "no-show") else {}
        response = client.post(f"/api/v1/rides/{fresh.pk}/{step}", body)
        assert response.status_code in (200, 204), (step, response.content)
    assert RideRequest.objects.get(pk=ride.pk).state == state


def test_upcoming_and_past_filters(erik, api_as):
    held = driven(erik, RideState.PICKED_UP, in_days(0.01, hour=timezone.localtime().hour))
    accepted = driven(erik, RideState.ACCEPTED, in_days(4))
    completed = driven(erik, RideState.COMPLETED, in_days(-1))
    cancelled = driven(erik, RideState.CANCELLED, in_days(-3))
    client = api_as(erik.membership.user)

    assert ids(client.get("/api/v1/driver/rides", {"upcoming": "true"})) == [held.pk, accepted.pk]
    assert ids(client.get("/api/v1/driver/rides", {"upcoming": "false"})) == [
        completed.pk,
        cancelled.pk,
    ]
    assert ids(client.get("/api/v1/driver/rides", {"state": "cancelled"})) == [cancelled.pk]


@pytest.mark.parametrize(
    ("query", "field"),
    [({"upcoming": "kanske"}, "upcoming"), ({"state": "flying"}, "state")],
)
def test_a_bad_filter_is_400_naming_it(erik, api_as, query, field):
    response = api_as(erik.membership.user).get("/api/v1/driver/rides", query)

    error = error_of(response, 400)
    assert (error["code"], list(error["fields"])) == ("invalid", [field])


def test_a_driver_of_two_associations_sees_both(association, erik, api_as):
    other = AssociationFactory(name="Dala-Järna PRO")
    second = driver_in(other, user=erik.membership.user)
    here = driven(erik, RideState.ACCEPTED, in_days(2))
    there = driven(second, RideState.ACCEPTED, in_days(3))

    response = api_as(erik.membership.user).get("/api/v1/driver/rides")

    assert ids(response) == [here.pk, there.pk]
    assert [r["association"] for r in response.json()["results"]] == [association.pk, other.pk]


def test_someone_who_drives_nothing_gets_an_empty_list(association, api_as):
    response = api_as(UserFactory()).get("/api/v1/driver/rides")

    assert response.json() == {"count": 0, "next": None, "previous": None, "results": []}


def test_the_list_is_paginated_in_a_fixed_number_of_queries(
    erik, api_as, django_assert_num_queries
):
    for days in range(1, 13):
        driven(erik, RideState.ACCEPTED, in_days(days))
        driven(erik, RideState.COMPLETED, in_days(-days))
    client = api_as(erik.membership.user)

    # One count, one page of rides with their riders and villages.
    with django_assert_num_queries(2):
        first = client.get("/api/v1/driver/rides", {"page_size": 10})
    with django_assert_num_queries(2):
        last = client.get("/api/v1/driver/rides", {"page_size": 10, "page": 3})

    assert first.json()["count"] == 24
    assert len(first.json()["results"]) == 10 and first.json()["next"]
    assert [r["state"] for r in last.json()["results"]] == ["completed"] * 4
    assert last.json()["next"] is None


def test_a_login_is_needed(api):
    assert error_of(api.get("/api/v1/driver/rides"), 403)["code"] == "not_authenticated"


# --- The steps wait for the day of the ride; the kilometres fit the ride -------------------


def test_on_my_way_days_before_the_ride_is_409_and_changes_nothing(erik, api_as):
    ride = driven(erik, RideState.ACCEPTED, in_days(3))
    client = api_as(erik.membership.user)

    response = client.post(f"/api/v1/rides/{ride.pk}/start", HTTP_ACCEPT_LANGUAGE="en")

    error = error_of(response, 409)
    assert error["code"] == "ride_too_early"
    assert error["message"].endswith("you can say you are on your way from 08:00.")
    ride.refresh_from_db()
    assert (ride.state, ride.events.count()) == (RideState.ACCEPTED, 0)


def test_a_claim_beyond_what_the_ride_can_take_without_why_is_400_and_changes_nothing(erik, api_as):
    ride = driven(erik, RideState.PICKED_UP, timezone.now() - datetime.timedelta(minutes=20))
    client = api_as(erik.membership.user)

    response = client.post(f"/api/v1/rides/{ride.pk}/complete", {"driven_m": 1_000_000})

    error = error_of(response, 400)
    assert (error["code"], list(error["fields"])) == ("driven_too_far", ["explanation"])
    ride.refresh_from_db()
    assert (ride.state, ride.driven_m, ride.closed_at) == (RideState.PICKED_UP, None, None)
    assert not MileageClaim.objects.exists()
    # Home at the pickup, a 20 km radius, an 11 km trip: 77 km is the most.
    response = client.post(f"/api/v1/rides/{ride.pk}/complete", {"driven_m": 77_000})
    assert response.status_code == 200, response.content
    assert response.json()["driven_m"] == 77_000


def test_a_claim_beyond_what_the_ride_can_take_with_why_completes_and_waits_for_approval(
    erik, api_as, association
):
    ride = driven(erik, RideState.PICKED_UP, timezone.now() - datetime.timedelta(minutes=20))
    client = api_as(erik.membership.user)

    response = client.post(
        f"/api/v1/rides/{ride.pk}/complete",
        {"driven_m": 125_400, "explanation": "Avstängd väg vid Järna, omväg via Nås."},
        format="json",
    )

    assert response.status_code == 200, response.content
    # The ride counts the most it can take until a coordinator approves the rest.
    assert (response.json()["state"], response.json()["driven_m"]) == ("completed", 77_000)
    claim = MileageClaim.objects.get(ride=ride)
    assert (claim.claimed_m, claim.allowed_m, claim.state, claim.explanation) == (
        125_400,
        77_000,
        "pending",
        "Avstängd väg vid Järna, omväg via Nås.",
    )
    [row] = client.get("/api/v1/driver/logbook").json()["results"]
    assert (row["ride"], row["km"], row["claim"]) == (
        ride.pk,
        77.0,
        {"claimed_km": 125.4, "allowed_km": 77.0, "state": "pending", "decline_reason": ""},
    )


def test_an_explanation_over_500_characters_is_400_and_changes_nothing(erik, api_as):
    ride = driven(erik, RideState.PICKED_UP, timezone.now() - datetime.timedelta(minutes=20))
    client = api_as(erik.membership.user)

    response = client.post(
        f"/api/v1/rides/{ride.pk}/complete",
        {"driven_m": 125_000, "explanation": "x" * 501},
        format="json",
    )

    error = error_of(response, 400)
    assert list(error["fields"]) == ["explanation"]
    ride.refresh_from_db()
    assert (ride.state, ride.driven_m, ride.closed_at) == (RideState.PICKED_UP, None, None)
    assert not MileageClaim.objects.exists()


def test_the_schema_documents_the_explanation_and_the_logbooks_claim(api):
    schema = api.get("/api/schema/", {"format": "json"}).json()
    components = schema["components"]["schemas"]
    body = schema["paths"]["/api/v1/rides/{id}/complete"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/CompleteInputRequest"
    }
    assert set(components["CompleteInputRequest"]["properties"]) == {"driven_m", "explanation"}
    assert components["CompleteInputRequest"]["properties"]["explanation"]["maxLength"] == 500
    assert set(components["MileageClaimOutput"]["properties"]) == {
        "claimed_km",
        "allowed_km",
        "state",
        "decline_reason",
    }
    claim = components["LogbookRowOutput"]["properties"]["claim"]
    assert (claim["allOf"], claim["nullable"]) == (
        [{"$ref": "#/components/schemas/MileageClaimOutput"}],
        True,
    )

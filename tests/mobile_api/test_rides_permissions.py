"""Who may see a ride, and how much of it, and who may change it: every kind of person
against every ride endpoint, with exact statuses. A refusal changes nothing."""

from dataclasses import dataclass

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from rest_framework.test import APIClient

from backend.accounts.models import ProxyLink, User
from backend.community.models import Association, Membership, MunicipalityAnalyst, Role
from backend.rides.models import (
    DriverProfile,
    Offer,
    OfferState,
    RideEvent,
    RiderApproval,
    RideRequest,
    RideState,
)
from backend.rides.selectors import ride_view_for, rides_visible_to
from backend.rides.services import busy_range
from tests.factories import (
    AssociationFactory,
    AvailabilitySlotFactory,
    DriverProfileFactory,
    ManagedProfileFactory,
    MembershipFactory,
    RideRequestFactory,
    UserFactory,
    next_weekday_at,
    ride_due,
)

pytestmark = pytest.mark.django_db

ROLES = [
    "rider",
    "proxy",
    "other_resident",
    "offered_driver",
    "holding_driver",
    "other_driver",
    "coordinator",
    "coordinator_elsewhere",
    "analyst",
    "anonymous",
]

FULL = {
    "view",
    "id",
    "state",
    "rider",
    "requested_by",
    "association",
    "village",
    "pickup",
    "pickup_address",
    "destination",
    "destination_address",
    "time_kind",
    "earliest_pickup",
    "latest_pickup",
    "arrive_by",
    "planned_pickup",
    "passengers",
    "needs",
    "note",
    "distance_km",
    "return_of",
    "return_ride",
    "driver",
    "created_at",
    "accepted_at",
    "closed_at",
    "driven_m",
}
DRIVER = {
    "view",
    "id",
    "state",
    "village",
    "pickup",
    "pickup_address",
    "destination",
    "destination_address",
    "time_kind",
    "earliest_pickup",
    "latest_pickup",
    "arrive_by",
    "planned_pickup",
    "passengers",
    "needs",
    "note",
    "distance_km",
    "rider",
}
DRIVER_PAST = {
    "view",
    "id",
    "state",
    "village",
    "area",
    "planned_pickup",
    "passengers",
    "needs",
    "distance_km",
    "driven_m",
    "closed_at",
}
OFFER = {"view", "offer", "ride", "when", "village", "area", "km", "needs", "passengers"}
KEYS = {"full": FULL, "driver": DRIVER, "driver_past": DRIVER_PAST, "offer": OFFER}


def error_of(response, status: int) -> dict:
    """The body's error after checking the status and the API's one error shape."""
    assert response.status_code == status, response.content
    body = response.json()
    assert list(body) == ["error"]
    error = body["error"]
    assert set(error) == {"code", "message", "fields"}
    assert error["message"]
    return error


def person(name: str, phone: str, association=None, roles=()) -> User:
    user = UserFactory(full_name=name, phone=phone)
    if association is not None:
        MembershipFactory(user=user, association=association, roles=[Role.MEMBER, *roles])
    return user


def driver_of(association, name: str, phone: str) -> DriverProfile:
    user = person(name, phone, association, [Role.DRIVER])
    profile = DriverProfileFactory(
        membership=Membership.objects.get(user=user, association=association),
        vehicle_description="Grå Volvo",
    )
    for weekday in range(7):
        AvailabilitySlotFactory(driver=profile, weekday=weekday)
    return profile


def offer(ride: RideRequest, driver: DriverProfile, state: str = OfferState.PENDING) -> Offer:
    return Offer.objects.create(
        ride=ride,
        driver=driver,
        wave=1,
        rank=1,
        distance_m=1_500,
        pickup_at=ride.earliest_pickup,
        state=state,
    )


@dataclass
class World:
    """Association A with a rider, her daughter as proxy, a neighbour, three drivers and
    a coordinator; association B's coordinator (the rider is a member of B too: B's
    coordinator acts for her in B's things only); the municipality's analyst. An `open`
    ride offered to one driver, and a `held` ride another driver has accepted."""

    a: Association
    people: dict[str, User]
    drivers: dict[str, DriverProfile]
    open: RideRequest
    held: RideRequest

    def client(self, role: str) -> APIClient:
        client = APIClient()
        if role != "anonymous":
            client.force_authenticate(self.people[role])
        return client


@pytest.fixture
def world(settings) -> World:
    settings.ROUTER_URL = ""
    a = AssociationFactory(name="Äppelbo byalag")
    b = AssociationFactory(name="Dala-Järna PRO")
    rider = person("Anna Eriksson", "+46701740620", a)
    RiderApproval.objects.create(membership=Membership.objects.get(user=rider, association=a))
    MembershipFactory(user=rider, association=b)
    proxy = person("Lena Eriksson", "+46701740630")
    ProxyLink.objects.create(
        proxy=proxy, resident=rider, relationship="dotter", accepted_at=timezone.now()
    )
    drivers = {
        "offered_driver": driver_of(a, "Sven Holm", "+46701740611"),
        "holding_driver": driver_of(a, "Erik Olsson", "+46701740610"),
        "other_driver": driver_of(a, "Olle Berg", "+46701740612"),
    }
    analyst = person("Per Ek", "+46701740690")
    MunicipalityAnalyst.objects.create(user=analyst, municipality=a.municipality)
    people = {
        "rider": rider,
        "proxy": proxy,
        "other_resident": person("Johan Persson", "+46701740621", a),
        **{role: profile.membership.user for role, profile in drivers.items()},
        "coordinator": person("Karin Lindqvist", "+46701740605", a, [Role.COORDINATOR]),
        "coordinator_elsewhere": person("Maria Berg", "+46701740606", b, [Role.COORDINATOR]),
        "analyst": analyst,
    }
    open_ride = RideRequestFactory(
        rider=rider, association=a, state=RideState.OFFERING, note="Portkod 1234"
    )
    offer(open_ride, drivers["offered_driver"])
    held = RideRequestFactory(
        rider=rider,
        association=a,
        earliest_pickup=next_weekday_at(1, 10),
        note="Portkod 1234",
    )
    held.state, held.driver = RideState.ACCEPTED, drivers["holding_driver"]
    held.planned_pickup = held.earliest_pickup
    held.busy = busy_range(held, held.earliest_pickup)
    held.save()
    offer(held, drivers["offered_driver"], OfferState.WITHDRAWN)
    offer(held, drivers["holding_driver"], OfferState.ACCEPTED)
    return World(a=a, people=people, drivers=drivers, open=open_ride, held=held)


def snapshot() -> list[tuple]:
    rides = RideRequest.objects.order_by("pk").values_list("pk", "state", "driver_id", "busy")
    offers = Offer.objects.order_by("pk").values_list("pk", "state")
    return [*rides, *offers, ("events", RideEvent.objects.count())]


# --- Seeing a ride ------------------------------------------------------------------------

SEEING = {
    # role: (open ride, held ride, held ride once completed)
    "rider": ("full", "full", "full"),
    "proxy": ("full", "full", "full"),
    "other_resident": (404, 404, 404),
    "offered_driver": ("offer", 404, 404),
    "holding_driver": (404, "driver", "driver_past"),
    "other_driver": (404, 404, 404),
    "coordinator": ("full", "full", "full"),
    "coordinator_elsewhere": (404, 404, 404),
    "analyst": (404, 404, 404),
    "anonymous": (403, 403, 403),
}


@pytest.mark.parametrize("ride", ["open", "held", "completed"])
@pytest.mark.parametrize("role", ROLES)
def test_who_sees_how_much_of_a_ride(world, role, ride):
    target = world.open if ride == "open" else world.held
    if ride == "completed":
        RideRequest.objects.filter(pk=target.pk).update(state=RideState.COMPLETED)
    expected = SEEING[role][["open", "held", "completed"].index(ride)]

    response = world.client(role).get(f"/api/v1/rides/{target.pk}")

    if isinstance(expected, int):
        code = "not_authenticated" if expected == 403 else "not_found"
        assert error_of(response, expected)["code"] == code
        return
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["view"] == expected
    assert set(body) == KEYS[expected]
    text = response.content.decode()
    exact = expected in {"full", "driver"}
    for secret in ("Järnvägsgatan 4", "Portkod 1234", "Anna Eriksson", "+46701740620"):
        assert (secret in text) is exact, secret


VISIBLE = {
    "rider": {"open", "held", "declined", "expired", "unassigned", "closed_with_offer"},
    "proxy": {"open", "held", "declined", "expired", "unassigned", "closed_with_offer"},
    "other_resident": set(),
    "offered_driver": {"open", "unassigned"},
    "holding_driver": {"held"},
    "other_driver": set(),
    "coordinator": {"open", "held", "declined", "expired", "unassigned", "closed_with_offer"},
    "coordinator_elsewhere": set(),
    "analyst": set(),
    "anonymous": set(),
}


@pytest.mark.parametrize("role", ROLES)
def test_rides_visible_to_each_role(world, role):
    """The selector itself: a driver sees a ride through an offer only while the offer
    waits for them and the ride is open; once someone has it, only that driver does.
    Whatever the selector lets through, `ride_view_for` has a shape for, and the other
    way round."""
    offered = world.drivers["offered_driver"]
    rides = {"open": world.open, "held": world.held}
    for name, state, offer_state in [
        ("declined", RideState.OFFERING, OfferState.DECLINED),
        ("expired", RideState.OFFERING, OfferState.EXPIRED),
        ("unassigned", RideState.UNASSIGNED, OfferState.PENDING),
        # A pending offer left on a closed ride shows the driver nothing.
        ("closed_with_offer", RideState.CANCELLED, OfferState.PENDING),
    ]:
        rides[name] = RideRequestFactory(
            rider=world.people["rider"], association=world.a, state=state
        )
        offer(rides[name], offered, offer_state)
    viewer = world.people.get(role) or AnonymousUser()
    names = {ride.pk: name for name, ride in rides.items()}

    visible = {names[pk] for pk in rides_visible_to(user=viewer).values_list("pk", flat=True)}

    assert visible == VISIBLE[role]
    for name, ride in rides.items():
        assert (ride_view_for(viewer=viewer, ride=ride) is not None) == (name in visible), name


def test_the_rider_side_sees_the_driver_once_accepted(world):
    for role in ("rider", "proxy", "coordinator"):
        open_ride = world.client(role).get(f"/api/v1/rides/{world.open.pk}").json()
        held = world.client(role).get(f"/api/v1/rides/{world.held.pk}").json()
        assert open_ride["driver"] is None
        assert held["driver"] == {
            "id": world.drivers["holding_driver"].pk,
            "full_name": "Erik Olsson",
            "phone": "+46701740610",
            "car": "Grå Volvo",
        }


def test_holding_driver_calls_the_proxy_of_a_rider_without_a_phone(world):
    mother = ManagedProfileFactory(full_name="Greta Nilsson")
    MembershipFactory(user=mother, association=world.a)
    ProxyLink.objects.create(
        proxy=world.people["proxy"], resident=mother, accepted_at=timezone.now()
    )
    son = person("Bo Nilsson", "+46701740640")
    ProxyLink.objects.create(
        proxy=son, resident=mother, receives_sms_for_resident=True, accepted_at=timezone.now()
    )
    RideRequest.objects.filter(pk=world.held.pk).update(rider=mother)

    response = world.client("holding_driver").get(f"/api/v1/rides/{world.held.pk}")

    assert response.json()["rider"] == {"full_name": "Greta Nilsson", "phone": "+46701740640"}


# --- Cancelling ---------------------------------------------------------------------------

CANCEL = {
    "rider": (200, None),
    "proxy": (200, None),
    "other_resident": (404, "not_found"),
    "offered_driver": (403, "ride_not_allowed"),
    "holding_driver": (404, "not_found"),
    "other_driver": (404, "not_found"),
    "coordinator": (200, None),
    "coordinator_elsewhere": (404, "not_found"),
    "analyst": (404, "not_found"),
    "anonymous": (403, "not_authenticated"),
}


@pytest.mark.parametrize("role", ROLES)
def test_who_may_cancel_a_ride(world, role):
    status, code = CANCEL[role]
    before = snapshot()

    response = world.client(role).post(
        f"/api/v1/rides/{world.open.pk}/cancel", {"reason": "Blev frisk"}
    )

    if status == 200:
        assert response.status_code == 200, response.content
        assert (response.json()["view"], response.json()["state"]) == ("full", "cancelled")
        event = RideEvent.objects.get(ride=world.open, to_state=RideState.CANCELLED)
        assert (event.actor, event.reason) == (world.people[role], "Blev frisk")
        # The offer still waiting is taken back from the driver's list.
        assert set(world.open.offers.values_list("state", flat=True)) == {OfferState.WITHDRAWN}
        offered = world.people["offered_driver"]
        assert offered.notifications.filter(kind="ride.offer_closed").count() == 1
        assert world.client("offered_driver").get("/api/v1/offers/").json()["results"] == []
        return
    assert error_of(response, status)["code"] == code
    assert snapshot() == before


UNFULFILLED = {
    "rider": (403, "ride_not_allowed"),
    "proxy": (403, "ride_not_allowed"),
    "other_resident": (404, "not_found"),
    "offered_driver": (403, "ride_not_allowed"),
    "holding_driver": (404, "not_found"),
    "other_driver": (404, "not_found"),
    "coordinator": (200, None),
    "coordinator_elsewhere": (404, "not_found"),
    "analyst": (404, "not_found"),
    "anonymous": (403, "not_authenticated"),
}


@pytest.mark.parametrize("role", ROLES)
def test_who_may_close_a_ride_without_a_driver(world, role):
    status, code = UNFULFILLED[role]
    before = snapshot()

    response = world.client(role).post(
        f"/api/v1/rides/{world.open.pk}/unfulfilled", {"reason": "Ingen förare ledig"}
    )

    if status == 200:
        assert response.status_code == 200, response.content
        assert (response.json()["view"], response.json()["state"]) == ("full", "unfulfilled")
        event = RideEvent.objects.get(ride=world.open, to_state=RideState.UNFULFILLED)
        assert (event.actor, event.reason) == (world.people[role], "Ingen förare ledig")
        assert set(world.open.offers.values_list("state", flat=True)) == {OfferState.WITHDRAWN}
        assert world.people["rider"].notifications.filter(kind="ride.unfulfilled").exists()
        return
    assert error_of(response, status)["code"] == code
    assert snapshot() == before


def test_a_ride_with_a_driver_cannot_be_closed_as_unfulfilled(world):
    before = snapshot()

    response = world.client("coordinator").post(f"/api/v1/rides/{world.held.pk}/unfulfilled")

    assert error_of(response, 409)["code"] == "ride_wrong_state"
    assert snapshot() == before


def test_her_ride_with_b_is_bs_coordinator_to_see_and_cancel_not_as(world):
    """The rider is a member of A and B: each coordinator has her rides with their own
    association, in the list, one by one and to cancel; her daughter has all of them."""
    b = world.people["coordinator_elsewhere"].memberships.get().association
    ride_b = RideRequestFactory(
        rider=world.people["rider"], association=b, earliest_pickup=next_weekday_at(2, 10)
    )

    def listed(role: str) -> set[int]:
        response = world.client(role).get("/api/v1/rides/")
        assert response.status_code == 200, response.content
        return {row["id"] for row in response.json()["results"]}

    assert listed("coordinator") == {world.open.pk, world.held.pk}
    assert listed("coordinator_elsewhere") == {ride_b.pk}
    assert listed("proxy") == {world.open.pk, world.held.pk, ride_b.pk}
    before = snapshot()
    response = world.client("coordinator").get(f"/api/v1/rides/{ride_b.pk}")
    assert error_of(response, 404)["code"] == "not_found"
    response = world.client("coordinator").post(f"/api/v1/rides/{ride_b.pk}/cancel")
    assert error_of(response, 404)["code"] == "not_found"
    assert snapshot() == before

    response = world.client("coordinator_elsewhere").get(f"/api/v1/rides/{ride_b.pk}")
    assert (response.status_code, response.json()["view"]) == (200, "full")
    response = world.client("coordinator_elsewhere").post(
        f"/api/v1/rides/{ride_b.pk}/cancel", {"reason": "Sjuk"}
    )
    assert (response.status_code, response.json()["state"]) == (200, "cancelled")
    event = RideEvent.objects.get(ride=ride_b)
    assert (event.actor, event.reason) == (world.people["coordinator_elsewhere"], "Sjuk")


def test_the_holding_driver_cannot_cancel_for_the_rider(world):
    before = snapshot()

    response = world.client("holding_driver").post(f"/api/v1/rides/{world.held.pk}/cancel")

    assert error_of(response, 403)["code"] == "ride_not_allowed"
    assert snapshot() == before


# --- Coordinators' tools --------------------------------------------------------------------

COORDINATOR_ONLY = {
    "rider": (403, "ride_not_allowed"),
    "proxy": (403, "ride_not_allowed"),
    "other_resident": (404, "not_found"),
    "offered_driver": (403, "ride_not_allowed"),
    "holding_driver": (404, "not_found"),
    "other_driver": (404, "not_found"),
    "coordinator": (200, None),
    "coordinator_elsewhere": (404, "not_found"),
    "analyst": (404, "not_found"),
    "anonymous": (403, "not_authenticated"),
}


@pytest.mark.parametrize("role", ROLES)
def test_who_may_assign_a_driver(world, role):
    status, code = COORDINATOR_ONLY[role]
    olle = world.drivers["other_driver"]
    before = snapshot()

    response = world.client(role).post(f"/api/v1/rides/{world.open.pk}/assign", {"driver": olle.pk})

    if status == 200:
        assert response.status_code == 200, response.content
        assert response.json()["driver"]["full_name"] == "Olle Berg"
        world.open.refresh_from_db()
        assert (world.open.state, world.open.driver) == (RideState.ACCEPTED, olle)
        return
    assert error_of(response, status)["code"] == code
    assert snapshot() == before


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("what", ["suggestions", "events"])
def test_who_may_see_suggestions_and_history(world, role, what):
    status, code = COORDINATOR_ONLY[role]

    response = world.client(role).get(f"/api/v1/rides/{world.open.pk}/{what}")

    if status == 200:
        # All three live at the pickup; Erik holds a ride, so he comes last.
        assert response.status_code == 200, response.content
        names = [row.get("full_name") or row.get("driver") for row in response.json()]
        assert names == (
            ["Sven Holm", "Olle Berg", "Erik Olsson"] if what == "suggestions" else ["Sven Holm"]
        )
        return
    assert error_of(response, status)["code"] == code


# --- The driver's steps ------------------------------------------------------------------------

STEPS = [
    # path, the ride's state before, after, body
    ("start", RideState.ACCEPTED, RideState.EN_ROUTE, {}),
    ("picked-up", RideState.EN_ROUTE, RideState.PICKED_UP, {}),
    ("complete", RideState.PICKED_UP, RideState.COMPLETED, {"driven_m": 11_500}),
    ("no-show", RideState.EN_ROUTE, RideState.NO_SHOW, {"reason": "Ingen öppnade"}),
    ("withdraw", RideState.ACCEPTED, RideState.REQUESTED, {"reason": "Bilen startar inte"}),
]
STEP_BY_ROLE = {
    "rider": (403, "not_driver"),
    "proxy": (403, "not_driver"),
    "other_resident": (404, "not_found"),
    "offered_driver": (404, "not_found"),
    "holding_driver": (200, None),
    "other_driver": (404, "not_found"),
    "coordinator": (403, "not_driver"),
    "coordinator_elsewhere": (404, "not_found"),
    "analyst": (404, "not_found"),
    "anonymous": (403, "not_authenticated"),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("path", "from_state", "to_state", "body"), STEPS, ids=[step[0] for step in STEPS]
)
def test_only_the_holding_driver_moves_the_ride_on(world, role, path, from_state, to_state, body):
    RideRequest.objects.filter(pk=world.held.pk).update(state=from_state)
    ride_due(world.held)  # the day of the ride: the steps are refused long before it
    status, code = STEP_BY_ROLE[role]
    before = snapshot()

    response = world.client(role).post(f"/api/v1/rides/{world.held.pk}/{path}", body)

    if status != 200:
        assert error_of(response, status)["code"] == code
        assert snapshot() == before
        return
    world.held.refresh_from_db()
    assert world.held.state == to_state
    if path == "withdraw":
        assert response.status_code == 204, response.content
        assert world.held.driver is None
        return
    assert response.status_code == 200, response.content
    assert response.json()["state"] == to_state
    held = to_state in {RideState.EN_ROUTE, RideState.PICKED_UP}
    assert response.json()["view"] == ("driver" if held else "driver_past")


@pytest.mark.parametrize(
    ("path", "state"),
    [
        ("start", RideState.EN_ROUTE),
        ("picked-up", RideState.COMPLETED),
        ("complete", RideState.ACCEPTED),
        ("no-show", RideState.PICKED_UP),
        ("withdraw", RideState.PICKED_UP),
    ],
    ids=[
        "start-twice",
        "pick-up-after-done",
        "complete-before-pickup",
        "no-show-on-board",
        "withdraw-on-board",
    ],
)
def test_a_step_out_of_order_is_409_and_changes_nothing(world, path, state):
    RideRequest.objects.filter(pk=world.held.pk).update(state=state)
    before = snapshot()

    response = world.client("holding_driver").post(
        f"/api/v1/rides/{world.held.pk}/{path}", {"reason": "Ändrade mig"}
    )

    assert error_of(response, 409)["code"] == "ride_wrong_state"
    assert snapshot() == before


def test_withdrawing_needs_a_reason(world):
    before = snapshot()

    response = world.client("holding_driver").post(
        f"/api/v1/rides/{world.held.pk}/withdraw", {"reason": "  "}
    )

    error = error_of(response, 400)
    assert (error["code"], list(error["fields"])) == ("reason_missing", ["reason"])
    assert snapshot() == before

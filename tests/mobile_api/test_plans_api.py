"""Day plans over the API: a coordinator sees, makes, approves and discards their
association's plans; nobody else does, and a refusal changes nothing."""

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.fields import DateTimeField

from backend.notifications.models import Notification
from backend.rides.models import AssignmentPlan, Offer, PlannedAssignment, RideRequest
from dispatch.batch import plan_create
from tests.factories import (
    AssociationFactory,
    AvailabilitySlotFactory,
    DriverProfileFactory,
    RideRequestFactory,
    coordinator_of,
    next_weekday_at,
)

pytestmark = pytest.mark.django_db

MONDAY = next_weekday_at(0, 10).date()
ROLES = ["coordinator", "coordinator_elsewhere", "driver", "resident", "anonymous"]


def drf_time(moment: dt.datetime) -> str:
    return DateTimeField().to_representation(moment)


def error_of(response, status: int) -> dict:
    """The body's error after checking the status and the API's one error shape."""
    assert response.status_code == status, response.content
    body = response.json()
    assert list(body) == ["error"]
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["message"]
    return body["error"]


@pytest.fixture
def anna(association):
    driver = DriverProfileFactory(
        membership__association=association, membership__user__full_name="Anna Berg"
    )
    AvailabilitySlotFactory(driver=driver, weekday=0, start=dt.time(8), end=dt.time(17))
    return driver


@pytest.fixture
def ride(association, rider, anna):
    """Monday 10:00 from Vansbro, where Anna lives; nobody has taken it."""
    return RideRequestFactory(
        rider=rider,
        association=association,
        village=association.villages.get(),
        state="unassigned",
        earliest_pickup=next_weekday_at(0, 10),
    )


@pytest.fixture
def clients(api_as, api, coordinator, rider, anna):
    people = {
        "coordinator": coordinator,
        "coordinator_elsewhere": coordinator_of(AssociationFactory(name="Grannbyn")),
        "driver": anna.membership.user,
        "resident": rider,
    }
    return lambda role: api if role == "anonymous" else api_as(people[role])


def snapshot() -> list:
    return [
        list(AssignmentPlan.objects.order_by("pk").values_list("pk", "state", "approved_at")),
        list(PlannedAssignment.objects.order_by("pk").values_list("pk", "driver_id", "outcome")),
        list(Offer.objects.values_list("pk", "state")),
        list(RideRequest.objects.values_list("pk", "state", "wave")),
        Notification.objects.count(),
    ]


def plan_body(plan: AssignmentPlan, ride, anna, *, state="proposed", outcome="") -> dict:
    plan.refresh_from_db()
    return {
        "id": plan.pk,
        "association": plan.association_id,
        "day": MONDAY.isoformat(),
        "state": state,
        "created_at": drf_time(plan.created_at),
        "approved_by": plan.approved_by.full_name if plan.approved_by else None,
        "approved_at": drf_time(plan.approved_at) if plan.approved_at else None,
        "total_km": 0.0,
        "rows": [
            {
                "ride": ride.pk,
                "requested_at": drf_time(ride.earliest_pickup),
                "pickup_at": drf_time(ride.earliest_pickup),
                "village": "Vansbro",
                "driver": anna.pk,
                "driver_name": "Anna Berg",
                "empty_km": 0.0,
                "outcome": outcome,
            }
        ],
    }


# --- The coordinator's way through ---------------------------------------------------------


def test_a_coordinator_plans_a_day_sees_it_and_approves_it(
    api_as, association, coordinator, ride, anna
):
    client = api_as(coordinator)

    made = client.post(f"/api/v1/associations/{association.pk}/plans/", {"day": MONDAY.isoformat()})

    assert made.status_code == 201, made.content
    plan = AssignmentPlan.objects.get()
    assert made.json() == plan_body(plan, ride, anna)

    seen = client.get(f"/api/v1/associations/{association.pk}/plans/?day={MONDAY.isoformat()}")
    assert (seen.status_code, seen.json()) == (200, plan_body(plan, ride, anna))

    approved = client.post(f"/api/v1/plans/{plan.pk}/approve")

    assert approved.status_code == 200, approved.content
    assert approved.json() == plan_body(plan, ride, anna, state="approved", outcome="offered")
    assert approved.json()["approved_by"] == coordinator.full_name
    offer = Offer.objects.get()
    assert (offer.ride, offer.driver, offer.manual) == (ride, anna, False)


def test_the_newest_plan_of_the_day_is_shown_in_two_queries_after_the_checks(
    api_as, association, coordinator, ride, anna, django_assert_num_queries
):
    plan_create(association=association, day=MONDAY)
    newest = plan_create(association=association, day=MONDAY)
    client = api_as(coordinator)
    # association, coordinator?, plan (with who approved it), its rows (with ride, village
    # and driver)
    with django_assert_num_queries(4):
        response = client.get(f"/api/v1/associations/{association.pk}/plans/?day={MONDAY}")
    assert response.json()["id"] == newest.pk


def test_without_a_day_the_plan_for_tomorrow_is_shown(api_as, association, coordinator):
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    plan = AssignmentPlan.objects.create(association=association, day=tomorrow, total_km=0)
    response = api_as(coordinator).get(f"/api/v1/associations/{association.pk}/plans/")
    assert (response.status_code, response.json()["id"]) == (200, plan.pk)


def test_a_day_without_a_plan_is_a_404_that_says_what_to_do(api_as, association, coordinator):
    response = api_as(coordinator).get(f"/api/v1/associations/{association.pk}/plans/?day={MONDAY}")
    assert error_of(response, 404)["code"] == "plan_not_found"


def test_a_coordinator_discards_a_plan_and_nothing_is_offered(
    api_as, association, coordinator, ride, anna
):
    plan = plan_create(association=association, day=MONDAY)

    response = api_as(coordinator).post(f"/api/v1/plans/{plan.pk}/discard")

    assert response.status_code == 200, response.content
    assert response.json() == plan_body(plan, ride, anna, state="discarded")
    assert Offer.objects.count() == 0


@pytest.mark.parametrize(
    ("first", "then"),
    [
        pytest.param("approve", "approve", id="approve-twice"),
        pytest.param("approve", "discard", id="discard-an-approved-plan"),
        pytest.param("discard", "approve", id="approve-a-discarded-plan"),
    ],
)
def test_a_plan_is_approved_or_discarded_once(
    api_as, association, coordinator, ride, anna, first, then
):
    plan = plan_create(association=association, day=MONDAY)
    client = api_as(coordinator)
    assert client.post(f"/api/v1/plans/{plan.pk}/{first}").status_code == 200
    before = snapshot()

    response = client.post(f"/api/v1/plans/{plan.pk}/{then}")

    assert error_of(response, 409)["code"] == "plan_not_proposed"
    assert snapshot() == before


# --- Who may ---------------------------------------------------------------------------------

ON_THE_ASSOCIATION = {
    "coordinator": (None, None),
    "coordinator_elsewhere": (403, "ride_not_allowed"),
    "driver": (403, "ride_not_allowed"),
    "resident": (403, "ride_not_allowed"),
    "anonymous": (403, "not_authenticated"),
}


@pytest.mark.parametrize("role", ROLES)
def test_who_may_see_an_associations_plan(clients, association, ride, role):
    plan_create(association=association, day=MONDAY)
    status, code = ON_THE_ASSOCIATION[role]

    response = clients(role).get(f"/api/v1/associations/{association.pk}/plans/?day={MONDAY}")

    if status is None:
        assert response.status_code == 200, response.content
        return
    assert error_of(response, status)["code"] == code


@pytest.mark.parametrize("role", ROLES)
def test_who_may_plan_a_day(clients, association, ride, role):
    status, code = ON_THE_ASSOCIATION[role]
    before = snapshot()

    response = clients(role).post(
        f"/api/v1/associations/{association.pk}/plans/", {"day": MONDAY.isoformat()}
    )

    if status is None:
        assert response.status_code == 201, response.content
        return
    assert error_of(response, status)["code"] == code
    assert snapshot() == before


ON_THE_PLAN = {
    "coordinator": (200, None),
    "coordinator_elsewhere": (404, "not_found"),
    "driver": (404, "not_found"),
    "resident": (404, "not_found"),
    "anonymous": (403, "not_authenticated"),
}


@pytest.mark.parametrize("action", ["approve", "discard"])
@pytest.mark.parametrize("role", ROLES)
def test_who_may_approve_or_discard_a_plan(clients, association, ride, role, action):
    plan = plan_create(association=association, day=MONDAY)
    status, code = ON_THE_PLAN[role]
    before = snapshot()

    response = clients(role).post(f"/api/v1/plans/{plan.pk}/{action}")

    if code is None:
        assert response.status_code == status, response.content
        return
    assert error_of(response, status)["code"] == code
    assert snapshot() == before


def test_an_association_or_plan_that_does_not_exist_is_a_404(api_as, coordinator):
    client = api_as(coordinator)
    assert error_of(client.get("/api/v1/associations/999999/plans/"), 404)["code"] == "not_found"
    assert error_of(client.post("/api/v1/plans/999999/approve"), 404)["code"] == "not_found"


# --- Bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        pytest.param({}, "invalid", "day", id="no-day"),
        pytest.param({"day": "tomorrow"}, "invalid", "day", id="not-a-date"),
        pytest.param({"day": "2026-02-30"}, "invalid", "day", id="no-such-date"),
        pytest.param({"day": "2020-01-01"}, "plan_day_past", "day", id="day-has-passed"),
    ],
)
def test_planning_refuses_bad_input_and_writes_nothing(
    api_as, association, coordinator, ride, body, code, field
):
    before = snapshot()

    response = api_as(coordinator).post(
        f"/api/v1/associations/{association.pk}/plans/", body, format="json"
    )

    error = error_of(response, 400)
    assert (error["code"], list(error["fields"])) == (code, [field])
    assert snapshot() == before


@pytest.mark.parametrize("day", ["2026-13-01", "soon"], ids=["no-such-month", "not-a-date"])
def test_seeing_a_plan_refuses_a_bad_day(api_as, association, coordinator, day):
    response = api_as(coordinator).get(f"/api/v1/associations/{association.pk}/plans/?day={day}")
    error = error_of(response, 400)
    assert (error["code"], list(error["fields"])) == ("invalid", ["day"])

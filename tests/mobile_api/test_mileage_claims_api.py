"""Kilometres beyond what a ride can take, decided through the API: the association's
coordinators list the claims waiting (or those decided in a month) and approve or decline
them, as on the console's mileage page; nobody else sees or decides them, and a refusal
changes nothing."""

from datetime import timedelta

import pytest
from django.db.models import F
from django.utils import timezone

from backend.audit.models import AuditEntry
from backend.notifications.models import Notification
from backend.rides.models import ClaimState, MileageClaim, RideRequest
from backend.rides.services import ride_assign, ride_complete, ride_pick_up
from tests.factories import (
    AssociationFactory,
    DriverProfileFactory,
    MembershipFactory,
    RideRequestFactory,
    coordinator_of,
    next_weekday_at,
    ride_due,
)

pytestmark = pytest.mark.django_db

WHY = "Vägen vid Järna var avstängd, omväg via Nås."


def claimed(association, rider, driver, metres: int = 125_000) -> MileageClaim:
    """A ride of `rider` driven by `driver`, completed with `metres` (beyond the 77 km it
    can take) and a reason."""
    monday = next_weekday_at(0, 10) + timedelta(days=7)
    ride = RideRequestFactory(
        rider=rider,
        association=association,
        village=association.villages.first(),
        earliest_pickup=monday,
        latest_pickup=monday,
    )
    user = driver.membership.user
    ride = ride_assign(ride=ride, driver=driver, pickup_at=ride.earliest_pickup, actor=user)
    ride = ride_pick_up(ride=ride_due(ride), actor=user)
    ride_complete(ride=ride, actor=user, driven_m=metres, explanation=WHY)
    return MileageClaim.objects.select_related("ride").get(ride=ride)


@pytest.fixture
def claim(association, rider, driver) -> MileageClaim:
    return claimed(association, rider, driver)


def error_of(response, status: int) -> dict:
    """The body's error after checking the status and the API's one error shape."""
    assert response.status_code == status, response.content
    body = response.json()
    assert list(body) == ["error"]
    assert set(body["error"]) == {"code", "message", "fields"}
    return body["error"]


def state_of(claim: MileageClaim) -> tuple:
    row = MileageClaim.objects.get(pk=claim.pk)
    ride = RideRequest.objects.get(pk=claim.ride_id)
    return (row.state, row.decided_by_id, row.decided_at, row.decline_reason, ride.driven_m)


WAITING = (ClaimState.PENDING, None, None, "", 77_000)


def expected_row(claim: MileageClaim, **changes) -> dict:
    ride = RideRequest.objects.get(pk=claim.ride_id)
    return {
        "id": claim.pk,
        "ride": ride.pk,
        "ride_at": timezone.localtime(ride.planned_pickup).isoformat(),
        "driver": ride.driver_id,
        "driver_name": "Erik Olsson",
        "estimate_km": round(ride.distance_m / 1000, 1),
        "allowed_km": 77.0,
        "claimed_km": 125.0,
        "explanation": WHY,
        "state": "pending",
        "decided_at": None,
        "decline_reason": "",
        "created_at": timezone.localtime(claim.created_at).isoformat(),
    } | changes


def list_url(association) -> str:
    return f"/api/v1/associations/{association.pk}/mileage-claims/"


def decide_url(claim: MileageClaim, decision: str) -> str:
    return f"/api/v1/mileage-claims/{claim.pk}/{decision}"


# --- Listing ------------------------------------------------------------------------------


def test_coordinators_list_the_claims_waiting_oldest_first_and_the_drivers_are_audited(
    api_as, association, rider, driver, coordinator, django_assert_num_queries
):
    first = claimed(association, rider, driver)
    other_driver = DriverProfileFactory(
        membership__association=association, membership__user__full_name="Olle Berg"
    )
    second = claimed(association, rider, other_driver, metres=90_000)
    decided = claimed(association, rider, driver)
    MileageClaim.objects.filter(pk=decided.pk).update(
        state=ClaimState.DECLINED, decided_at=timezone.now(), decline_reason="Nej."
    )
    # Another association's claim is not on the list.
    elsewhere = AssociationFactory()
    claimed(
        elsewhere,
        MembershipFactory(association=elsewhere).user,
        DriverProfileFactory(membership__association=elsewhere),
    )
    client = api_as(coordinator)

    # The association, the coordinator check, the page of claims, the audit entries.
    with django_assert_num_queries(4):
        response = client.get(list_url(association))

    assert response.status_code == 200
    assert response.json() == {
        "count": 2,
        "next": None,
        "previous": None,
        "results": [
            expected_row(first),
            expected_row(second, driver=other_driver.pk, driver_name="Olle Berg", claimed_km=90.0),
        ],
    }
    assert sorted(
        AuditEntry.objects.filter(action="mileage.view").values_list(
            "actor_id", "subject_id", "detail"
        )
    ) == sorted(
        (coordinator.pk, user_id, {"association": association.pk, "view": "claims"})
        for user_id in (driver.membership.user_id, other_driver.membership.user_id)
    )


def test_the_query_count_does_not_grow_with_the_claims(
    api_as, association, rider, driver, coordinator, django_assert_num_queries
):
    for _ in range(5):
        claimed(association, rider, DriverProfileFactory(membership__association=association))
    with django_assert_num_queries(4):
        response = api_as(coordinator).get(list_url(association))
    assert len(response.json()["results"]) == 5


@pytest.mark.parametrize("state", ["approved", "declined"])
def test_decided_claims_are_listed_by_state_for_the_month_of_their_ride(
    api_as, association, rider, driver, coordinator, state
):
    this_month = claimed(association, rider, driver)
    last_month = claimed(association, rider, driver)
    other_state = claimed(association, rider, driver)
    still_waiting = claimed(association, rider, driver)
    decided_at = timezone.now()
    reason = "Nej." if state == "declined" else ""
    MileageClaim.objects.filter(pk__in=[this_month.pk, last_month.pk]).update(
        state=state, decided_at=decided_at, decided_by=coordinator, decline_reason=reason
    )
    MileageClaim.objects.filter(pk=other_state.pk).update(
        state="declined" if state == "approved" else "approved",
        decided_at=decided_at,
        decline_reason="Nej." if state == "approved" else "",
    )
    # Completed on the last day of the month before (the month it counts in).
    RideRequest.objects.filter(pk=last_month.ride_id).update(
        closed_at=F("closed_at") - timedelta(days=timezone.localdate().day)
    )
    month = timezone.localdate().replace(day=1)
    earlier = (month - timedelta(days=1)).replace(day=1)
    client = api_as(coordinator)

    now = client.get(list_url(association), {"state": state})
    before = client.get(list_url(association), {"state": state, "month": f"{earlier:%Y-%m}"})

    decided = {
        "state": state,
        "decided_at": timezone.localtime(decided_at).isoformat(),
        "decline_reason": reason,
    }
    assert now.status_code == before.status_code == 200
    assert now.json()["results"] == [expected_row(this_month, **decided)]
    assert before.json()["results"] == [expected_row(last_month, **decided)]
    assert still_waiting.pk not in [row["id"] for row in now.json()["results"]]


@pytest.mark.parametrize(
    ("query", "field"),
    [({"state": "paid"}, "state"), ({"state": "approved", "month": "2025-13"}, "month")],
    ids=["unknown-state", "bad-month"],
)
def test_a_bad_state_or_month_is_refused_and_nothing_is_recorded(
    api_as, association, claim, coordinator, query, field
):
    error = error_of(api_as(coordinator).get(list_url(association), query), 400)
    assert (error["code"], list(error["fields"])) == ("invalid", [field])
    assert not AuditEntry.objects.filter(action="mileage.view").exists()


def test_only_the_associations_coordinators_list_its_claims(
    api, api_as, association, rider, driver, claim
):
    other_coordinator = coordinator_of(AssociationFactory())
    member = MembershipFactory(association=association).user
    for client in (
        api_as(other_coordinator),
        api_as(member),
        api_as(rider),
        api_as(driver.membership.user),
        api,
    ):
        error = error_of(client.get(list_url(association)), 403)
        assert error["code"] in {"ride_not_allowed", "not_authenticated"}
    error = error_of(api_as(member).get("/api/v1/associations/999999/mileage-claims/"), 404)
    assert error["code"] == "not_found"
    assert not AuditEntry.objects.exists()


# --- Deciding -----------------------------------------------------------------------------


def test_a_coordinator_approves_the_ride_counts_the_claim_and_the_driver_is_told(
    api_as, claim, driver, coordinator, association
):
    response = api_as(coordinator).post(decide_url(claim, "approve"))

    assert response.status_code == 200, response.content
    row = MileageClaim.objects.get(pk=claim.pk)
    assert response.json() == expected_row(
        claim, state="approved", decided_at=timezone.localtime(row.decided_at).isoformat()
    )
    assert state_of(claim)[::4] == (ClaimState.APPROVED, 125_000)
    assert row.decided_by_id == coordinator.pk
    assert list(
        Notification.objects.filter(
            recipient=driver.membership.user, kind__startswith="mileage.claim_"
        ).values_list("kind", flat=True)
    ) == ["mileage.claim_approved"]
    assert list(
        AuditEntry.objects.filter(action__startswith="mileage_claim.").values_list(
            "action", "actor_id", "subject_id", "detail"
        )
    ) == [
        (
            "mileage_claim.approve",
            coordinator.pk,
            driver.membership.user_id,
            {"claim": claim.pk, "ride": claim.ride_id, "association": association.pk},
        )
    ]


def test_a_coordinator_declines_with_a_reason_the_ride_stays_at_the_most(
    api_as, claim, driver, coordinator, association
):
    response = api_as(coordinator).post(
        decide_url(claim, "decline"), {"reason": "  Kör närmaste väg. "}, format="json"
    )

    assert response.status_code == 200, response.content
    row = MileageClaim.objects.get(pk=claim.pk)
    assert response.json() == expected_row(
        claim,
        state="declined",
        decided_at=timezone.localtime(row.decided_at).isoformat(),
        decline_reason="Kör närmaste väg.",
    )
    assert state_of(claim) == (
        ClaimState.DECLINED,
        coordinator.pk,
        row.decided_at,
        "Kör närmaste väg.",
        77_000,
    )
    assert list(
        Notification.objects.filter(
            recipient=driver.membership.user, kind__startswith="mileage.claim_"
        ).values_list("kind", flat=True)
    ) == ["mileage.claim_declined"]
    assert list(
        AuditEntry.objects.filter(action__startswith="mileage_claim.").values_list(
            "action", "actor_id", "subject_id", "detail"
        )
    ) == [
        (
            "mileage_claim.decline",
            coordinator.pk,
            driver.membership.user_id,
            {"claim": claim.pk, "ride": claim.ride_id, "association": association.pk},
        )
    ]


@pytest.mark.parametrize(
    ("body", "code", "language", "message"),
    [
        ({}, "invalid", "en", "reason: This field is required."),
        (
            {"reason": ""},
            "reason_missing",
            "en",
            "Say why the kilometres are not approved; the driver will see it.",
        ),
        (
            {"reason": "   "},
            "reason_missing",
            "sv",
            "Skriv varför kilometrarna inte godkänns; föraren ser det.",
        ),
        (
            {"reason": "x" * 301},
            "invalid",
            "en",
            "reason: Ensure this field has no more than 300 characters.",
        ),
    ],
    ids=["no-reason", "empty", "spaces-sv", "too-long"],
)
def test_declining_without_a_reason_or_with_a_too_long_one_is_refused_and_nothing_changes(
    api_as, claim, coordinator, body, code, language, message
):
    notes = Notification.objects.count()
    response = api_as(coordinator).post(
        decide_url(claim, "decline"), body, format="json", HTTP_ACCEPT_LANGUAGE=language
    )
    error = error_of(response, 400)
    assert (error["code"], error["message"], list(error["fields"])) == (
        code,
        message,
        ["reason"],
    )
    assert state_of(claim) == WAITING
    assert Notification.objects.count() == notes
    assert not AuditEntry.objects.filter(action__startswith="mileage_claim.").exists()


@pytest.mark.parametrize(
    ("first", "language", "message"),
    [
        (
            "approve",
            "en",
            "This claim is already approved: the ride counts the kilometres claimed.",
        ),
        (
            "decline",
            "sv",
            "Begäran är redan avslagen: resan räknas med så mycket som den kan ta.",
        ),
    ],
)
def test_deciding_a_decided_claim_is_a_conflict_and_nothing_changes(
    api_as, claim, coordinator, association, first, language, message
):
    client = api_as(coordinator)
    assert client.post(decide_url(claim, first), {"reason": "Nej."}).status_code == 200
    before, notes = state_of(claim), Notification.objects.count()
    audited = AuditEntry.objects.count()
    second = api_as(coordinator_of(association))

    for decision in ("approve", "decline"):
        response = second.post(
            decide_url(claim, decision),
            {"reason": "Nej."},
            format="json",
            HTTP_ACCEPT_LANGUAGE=language,
        )
        error = error_of(response, 409)
        assert (error["code"], error["message"]) == ("mileage_claim_already_decided", message)

    assert state_of(claim) == before
    assert Notification.objects.count() == notes
    assert AuditEntry.objects.count() == audited


@pytest.mark.parametrize("decision", ["approve", "decline"])
def test_nobody_but_the_associations_coordinators_finds_a_claim_to_decide(
    api, api_as, claim, association, rider, driver, decision
):
    notes = Notification.objects.count()
    for client in (
        api_as(coordinator_of(AssociationFactory())),
        api_as(MembershipFactory(association=association).user),
        api_as(rider),
        api_as(driver.membership.user),
    ):
        response = client.post(decide_url(claim, decision), {"reason": "Nej."}, format="json")
        assert error_of(response, 404)["code"] == "not_found"
    error = error_of(api.post(decide_url(claim, decision), {"reason": "Nej."}), 403)
    assert error["code"] == "not_authenticated"
    assert state_of(claim) == WAITING
    assert Notification.objects.count() == notes
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize("decision", ["approve", "decline"])
def test_a_driver_who_coordinates_too_does_not_decide_their_own_claim(
    api_as, claim, driver, decision
):
    membership = driver.membership
    membership.roles = [*membership.roles, "coordinator"]
    membership.save()
    response = api_as(membership.user).post(
        decide_url(claim, decision), {"reason": "Nej."}, format="json", HTTP_ACCEPT_LANGUAGE="en"
    )
    error = error_of(response, 403)
    assert (error["code"], error["message"]) == (
        "ride_not_allowed",
        "Another coordinator of the association decides on your own kilometres.",
    )
    assert state_of(claim) == WAITING
    assert not AuditEntry.objects.filter(action__startswith="mileage_claim.").exists()

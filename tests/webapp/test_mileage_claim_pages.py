"""Kilometres beyond what a ride can take, on the web pages: the driver gives them with a
reason when completing the ride and sees the claim in the logbook; the coordinators of
the ride's association approve or decline it at the top of the mileage page. In English
and Swedish; a refusal writes nothing."""

from datetime import timedelta

import pytest
from django.utils import timezone

from backend.audit.models import AuditEntry
from backend.notifications.models import Notification
from backend.rides.models import ClaimState, MileageClaim, MileagePayout, RideRequest, RideState
from backend.rides.services import ride_complete, ride_pick_up
from tests.factories import ride_due
from tests.webapp.conftest import snapshot

pytestmark = pytest.mark.django_db

WHY = "Avstängd väg vid Järna, omväg via Nås."


def client_in(world, role: str, language: str):
    client = world.client(role)
    client.cookies["django_language"] = language
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = language
    return client


def claimed(world, metres: int = 125_400) -> MileageClaim:
    """The held ride completed with `metres` (it can take 77 km) and a reason."""
    user = world.people["holding_driver"]
    ride = ride_pick_up(ride=ride_due(world.held), actor=user)
    ride_complete(ride=ride, actor=user, driven_m=metres, explanation=WHY)
    return MileageClaim.objects.get(ride=world.held)


def state_of(claim: MileageClaim) -> tuple:
    claim = MileageClaim.objects.get(pk=claim.pk)
    ride = RideRequest.objects.get(pk=claim.ride_id)
    return (claim.state, claim.decided_by_id, claim.decline_reason, ride.driven_m)


# --- The driver ----------------------------------------------------------------------------

DRIVER_TEXTS = {
    "en": {
        "most": "This ride can take at most 77 km (from your home to the pickup, the trip, "
        "and back). If you drove further, give the kilometres and say why: a coordinator "
        "approves the rest.",
        "done": "Ride completed. Thank you for driving! It counts 77.0 km until a coordinator "
        "approves the 125.4 km you gave; you will be told.",
        "logbook": "125 km claimed: waiting for a coordinator",
    },
    "sv": {
        "most": "Den här resan kan ta högst 77 km (hemifrån till resenären, själva resan och "
        "tillbaka). Om du körde längre: skriv kilometrarna och varför, så godkänner en "
        "samordnare resten.",
        "done": "Resan är klar. Tack för att du körde! Den räknas med 77,0 km tills en "
        "samordnare godkänner de 125,4 km du angav; du får veta beslutet.",
        "logbook": "125 km begärda: väntar på en samordnare",
    },
}


@pytest.mark.parametrize("language", ["en", "sv"])
def test_the_driver_gives_kilometres_beyond_the_most_with_why_and_sees_the_claim_wait(
    world, language
):
    texts = DRIVER_TEXTS[language]
    client = client_in(world, "holding_driver", language)
    ride_due(world.held)
    base = f"/driver/rides/{world.held.pk}/"
    client.post(base + "picked-up")
    page = client.get(base).content.decode()
    assert texts["most"] in page
    assert 'name="explanation"' in page

    response = client.post(base + "complete", {"km": "125.4", "explanation": WHY}, follow=True)

    assert response.redirect_chain == [("/driver/", 302)]
    assert texts["done"] in [str(m) for m in response.context["messages"]]
    world.held.refresh_from_db()
    assert (world.held.state, world.held.driven_m) == (RideState.COMPLETED, 77_000)
    claim = MileageClaim.objects.get(ride=world.held)
    assert (claim.claimed_m, claim.allowed_m, claim.explanation, claim.state) == (
        125_400,
        77_000,
        WHY,
        ClaimState.PENDING,
    )
    logbook = client.get("/driver/km").content.decode()
    assert '<tr data-claim="pending"><td>' in logbook
    assert texts["logbook"] in logbook


def test_without_why_the_form_comes_back_with_the_kilometres_and_nothing_changes(world):
    client = world.client("holding_driver")
    ride_due(world.held)
    client.post(f"/driver/rides/{world.held.pk}/picked-up")
    before = snapshot()

    response = client.post(f"/driver/rides/{world.held.pk}/complete", {"km": "125.4"})

    assert response.status_code == 400
    page = response.content.decode()
    assert 'value="125.4"' in page  # what the driver typed is still there
    assert 'aria-invalid="true"' in page and 'name="explanation"' in page
    assert snapshot() == before
    assert not MileageClaim.objects.exists()


def test_an_explanation_over_500_characters_is_refused_and_nothing_changes(world):
    client = world.client("holding_driver")
    ride_due(world.held)
    client.post(f"/driver/rides/{world.held.pk}/picked-up")
    before = snapshot()
    response = client.post(
        f"/driver/rides/{world.held.pk}/complete", {"km": "125.4", "explanation": "x" * 501}
    )
    assert response.status_code == 400
    assert "Ensure this value has at most 500 characters (it has 501)." in response.content.decode()
    assert snapshot() == before
    assert not MileageClaim.objects.exists()


@pytest.mark.parametrize(
    ("language", "approved", "declined"),
    [
        ("en", "125 km claimed: approved", "125 km claimed: not approved (Kör närmaste väg.)"),
        ("sv", "125 km begärda: godkända", "125 km begärda: inte godkända (Kör närmaste väg.)"),
    ],
)
def test_the_logbook_shows_what_became_of_the_claim(world, language, approved, declined):
    claim = claimed(world)
    client = client_in(world, "holding_driver", language)
    MileageClaim.objects.filter(pk=claim.pk).update(
        state=ClaimState.APPROVED, decided_at=timezone.now()
    )
    assert approved in client.get("/driver/km").content.decode()
    MileageClaim.objects.filter(pk=claim.pk).update(
        state=ClaimState.DECLINED, decline_reason="Kör närmaste väg."
    )
    assert declined in client.get("/driver/km").content.decode()


# --- The coordinator ----------------------------------------------------------------------

CONSOLE_TEXTS = {
    "en": {
        "title": "Kilometres waiting for approval",
        "figures": "Estimate {estimate} km · most without approval 77.0 km · claimed 125.4 km",
        "approve": "Approve 125.4 km for Erik Olsson",
        "unpaid": "Kilometres wait for approval",
        "approved": "Erik Olsson&#x27;s 125.4 km are approved and count in full; they have "
        "been told.",
        "declined": "Erik Olsson&#x27;s ride counts 77.0 km; they have been told why.",
    },
    "sv": {
        "title": "Kilometer som väntar på godkännande",
        "figures": "Uppskattning {estimate} km · högst utan godkännande 77,0 km · begärt 125,4 km",
        "approve": "Godkänn 125,4 km för Erik Olsson",
        "unpaid": "Kilometer väntar på godkännande",
        "approved": "125,4 km för Erik Olsson är godkända och räknas fullt ut; föraren har "
        "fått veta det.",
        "declined": "Resan för Erik Olsson räknas med 77,0 km; föraren har fått veta varför.",
    },
}


def _estimate(ride: RideRequest, language: str) -> str:
    km = f"{((ride.distance_m + 50) // 100) / 10:.1f}"
    return km.replace(".", ",") if language == "sv" else km


@pytest.mark.parametrize("language", ["en", "sv"])
def test_the_mileage_page_shows_the_claims_waiting_at_the_top(world, language):
    claim = claimed(world)
    texts = CONSOLE_TEXTS[language]
    page = client_in(world, "coordinator", language).get("/console/mileage/").content.decode()
    top = page.index(texts["title"])
    assert top < page.index('class="console-table"')  # above the month's figures
    assert f'data-claim="{claim.pk}"' in page
    assert texts["figures"].format(estimate=_estimate(world.held, language)) in page
    assert WHY in page
    assert texts["approve"] in page
    assert f'action="/console/mileage/claims/{claim.pk}/decline"' in page
    # This month's row cannot be paid while its kilometres wait (nor before the month ends).
    assert texts["unpaid"] in page


@pytest.mark.parametrize("language", ["en", "sv"])
def test_approving_counts_the_claim_and_is_in_the_audit_log(world, language):
    claim = claimed(world)
    client = client_in(world, "coordinator", language)
    response = client.post(f"/console/mileage/claims/{claim.pk}/approve")
    month = timezone.localdate().strftime("%Y-%m")
    assert response.status_code == 302
    assert response["Location"] == f"/console/mileage/?association={world.a.pk}&month={month}"
    assert state_of(claim) == (
        ClaimState.APPROVED,
        world.people["coordinator"].pk,
        "",
        125_400,
    )
    entry = AuditEntry.objects.get(action="mileage_claim.approve")
    assert (entry.actor, entry.subject, entry.detail) == (
        world.people["coordinator"],
        world.people["holding_driver"],
        {"claim": claim.pk, "ride": world.held.pk, "association": world.a.pk},
    )
    page = client.get(response["Location"]).content.decode()
    assert CONSOLE_TEXTS[language]["approved"] in page
    assert f'data-claim="{claim.pk}"' not in page
    assert "125.4" in page.replace(",", ".")  # the month's kilometres count the claim


@pytest.mark.parametrize("language", ["en", "sv"])
def test_declining_keeps_the_most_and_tells_the_driver_why(world, language):
    claim = claimed(world)
    client = client_in(world, "coordinator", language)
    response = client.post(
        f"/console/mileage/claims/{claim.pk}/decline", {"reason": "Kör närmaste väg."}, follow=True
    )
    assert response.status_code == 200
    assert CONSOLE_TEXTS[language]["declined"] in response.content.decode()
    assert state_of(claim) == (
        ClaimState.DECLINED,
        world.people["coordinator"].pk,
        "Kör närmaste väg.",
        77_000,
    )
    assert AuditEntry.objects.filter(action="mileage_claim.decline").count() == 1


def test_declining_without_a_reason_is_400_and_changes_nothing(world):
    claim = claimed(world)
    before, audits = state_of(claim), AuditEntry.objects.filter(action__startswith="mileage_claim")
    response = world.client("coordinator").post(
        f"/console/mileage/claims/{claim.pk}/decline", {"reason": ""}
    )
    assert response.status_code == 400
    assert "Write why the kilometres are not approved" in response.content.decode()
    assert state_of(claim) == before == (ClaimState.PENDING, None, "", 77_000)
    assert not audits.exists()


def test_deciding_again_is_409_saying_it_was_decided(world):
    claim = claimed(world)
    client = world.client("coordinator")
    client.post(f"/console/mileage/claims/{claim.pk}/approve")
    before = state_of(claim)
    response = client.post(f"/console/mileage/claims/{claim.pk}/decline", {"reason": "Nej."})
    assert response.status_code == 409
    assert (
        "This claim is already approved: the ride counts the kilometres claimed."
        in response.content.decode()
    )
    assert state_of(claim) == before
    assert AuditEntry.objects.filter(action__startswith="mileage_claim").count() == 1


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("coordinator_elsewhere", 404),
        ("holding_driver", 403),
        ("rider", 403),
        ("analyst", 403),
    ],
)
@pytest.mark.parametrize("action", ["approve", "decline"])
def test_nobody_else_decides(world, role, status, action):
    claim = claimed(world)
    before = state_of(claim)
    response = world.client(role).post(
        f"/console/mileage/claims/{claim.pk}/{action}",
        {"reason": "Nej.", "association": world.a.pk},
    )
    assert response.status_code == status
    assert state_of(claim) == before
    assert not AuditEntry.objects.filter(action__startswith="mileage_claim").exists()


def test_a_coordinator_elsewhere_does_not_see_the_claim(world):
    claimed(world)
    page = world.client("coordinator_elsewhere").get(
        "/console/mileage/", {"association": world.a.pk}
    )
    assert WHY not in page.content.decode() and "Erik Olsson" not in page.content.decode()


def test_last_months_mileage_with_a_claim_waiting_is_not_marked_paid(world):
    claim = claimed(world)
    month_ago = timezone.localtime().replace(day=1) - timedelta(days=3)
    RideRequest.objects.filter(pk=world.held.pk).update(closed_at=month_ago)
    last_month = month_ago.strftime("%Y-%m")
    client = world.client("coordinator")
    page = client.get("/console/mileage/", {"month": last_month}).content.decode()
    assert "Kilometres wait for approval" in page
    assert "Mark Erik Olsson as paid" not in page

    response = client.post(
        "/console/mileage/paid",
        {"driver": world.drivers["holding_driver"].pk, "month": last_month},
    )

    assert response.status_code == 409
    assert "that wait for a coordinator&#x27;s decision" in response.content.decode()
    assert not MileagePayout.objects.exists()
    client.post(f"/console/mileage/claims/{claim.pk}/approve")
    client.post(
        "/console/mileage/paid",
        {"driver": world.drivers["holding_driver"].pk, "month": last_month},
    )
    assert MileagePayout.objects.get().metres == 125_400


def test_opening_the_mileage_page_is_in_the_audit_log(world):
    claimed(world)
    world.client("coordinator").get("/console/mileage/")
    entry = AuditEntry.objects.get(action="mileage.view")
    assert (entry.actor, entry.subject, entry.detail) == (
        world.people["coordinator"],
        world.people["holding_driver"],
        {"association": world.a.pk, "month": timezone.localdate().strftime("%Y-%m")},
    )


# --- Where the messages lead ----------------------------------------------------------------


def _opened(world, role: str, kind: str) -> str:
    """The message of `kind` to `role` opened: read, and the page it leads to answers
    200. Returns where it led."""
    note = Notification.objects.get(recipient=world.people[role], kind=kind)
    client = world.client(role)
    response = client.get(f"/notifications/{note.pk}/open")
    assert response.status_code == 302
    assert client.get(response["Location"]).status_code == 200
    return response["Location"]


def test_the_coordinators_message_opens_the_claims_on_the_mileage_page(world):
    claimed(world)
    assert _opened(world, "coordinator", "mileage.claim_waiting") == (
        f"/console/mileage/?association={world.a.pk}#claims"
    )


@pytest.mark.parametrize("decision", ["approve", "decline"])
def test_the_drivers_message_opens_the_logbook(world, decision):
    claim = claimed(world)
    world.client("coordinator").post(
        f"/console/mileage/claims/{claim.pk}/{decision}", {"reason": "Nej."}
    )
    kind = {"approve": "mileage.claim_approved", "decline": "mileage.claim_declined"}[decision]
    assert _opened(world, "holding_driver", kind) == (
        f"/driver/km?association={world.a.pk}#logbook"
    )

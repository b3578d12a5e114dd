"""A mileage claim's explanation (the driver's words) and a coordinator's reason for
declining it are free text like a ride's note: in the driver's export, and gone with the
ride's addresses and note (after RIDES_RETENTION_DAYS, and when the rider or the driver
is erased). The claim and its kilometres stay: they are what was paid."""

from datetime import timedelta

import pytest
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.utils import timezone

from backend.privacy.export import person_export
from backend.privacy.retention import rides_forget_old_places
from backend.rides.models import ClaimState, MileageClaim, RideState
from dispatch.privacy import person_erase
from tests.factories import RideRequestFactory

pytestmark = pytest.mark.django_db

WHY = "Omväg via Nås, vägen vid Järna var avstängd."


def claim_of(association, rider, driver, *, days_ago: int = 1) -> MileageClaim:
    closed = timezone.now() - timedelta(days=days_ago)
    ride = RideRequestFactory(
        rider=rider,
        association=association,
        driver=driver,
        state=RideState.COMPLETED,
        closed_at=closed,
        driven_m=77_000,
        busy=DateTimeTZRange(closed - timedelta(minutes=30), closed),
    )
    return MileageClaim.objects.create(
        ride=ride,
        claimed_m=125_000,
        allowed_m=77_000,
        explanation=WHY,
        state=ClaimState.DECLINED,
        decided_at=closed,
        decline_reason="Kör närmaste väg.",
    )


def texts(claim: MileageClaim) -> tuple:
    claim.refresh_from_db()
    return (claim.explanation, claim.decline_reason, claim.claimed_m, claim.state)


def test_the_drivers_export_has_their_claim_and_the_riders_has_not(association, rider, driver):
    claim = claim_of(association, rider, driver)
    [ride] = person_export(user=driver.membership.user)["rides_driven"]
    assert ride["mileage_claim"] == {
        "claimed_m": 125_000,
        "allowed_m": 77_000,
        "explanation": WHY,
        "state": "declined",
        "decided_at": claim.decided_at.isoformat(),
        "decline_reason": "Kör närmaste väg.",
        "created_at": claim.created_at.isoformat(),
    }
    assert WHY not in str(person_export(user=rider))


def test_retention_forgets_the_texts_with_the_rides_addresses(association, rider, driver, settings):
    settings.RIDES_RETENTION_DAYS = 90
    old = claim_of(association, rider, driver, days_ago=91)
    recent = claim_of(association, rider, driver, days_ago=89)
    rides_forget_old_places()
    assert texts(old) == ("", "", 125_000, ClaimState.DECLINED)
    assert texts(recent) == (WHY, "Kör närmaste väg.", 125_000, ClaimState.DECLINED)
    rides_forget_old_places()  # again: nothing more to forget, nothing breaks
    assert texts(old) == ("", "", 125_000, ClaimState.DECLINED)


@pytest.mark.parametrize("who", ["driver", "rider"])
def test_erasing_the_driver_or_the_rider_empties_the_texts(association, rider, driver, who):
    claim = claim_of(association, rider, driver)
    person = driver.membership.user if who == "driver" else rider
    person_erase(user=person, actor=person)
    assert texts(claim) == ("", "", 125_000, ClaimState.DECLINED)

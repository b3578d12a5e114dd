"""Kilometres beyond what a ride can take: claimed with a reason, counted at the most the
ride can take until a coordinator of its association approves (then the claim counts) or
declines with a reason (it stays). The first decision wins; a month with a claim still
waiting cannot be paid."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.db.models import Sum
from django.utils import timezone, translation

from backend.errors import ApplicationError, ErrorKind
from backend.notifications.kinds import get_kind, render
from backend.notifications.models import Notification
from backend.rides.claims import mileage_claim_approve, mileage_claim_decline
from backend.rides.models import (
    ClaimState,
    MileageClaim,
    MileagePayout,
    RideEvent,
    RideRequest,
    RideState,
)
from backend.rides.payouts import mileage_payout_mark_paid
from backend.rides.selectors import mileage_report
from backend.rides.services import (
    driven_m_max,
    ride_assign,
    ride_complete,
    ride_pick_up,
)
from backend.stats.models import DailyFigures
from backend.stats.refresh import stats_refresh
from tests.factories import (
    AssociationFactory,
    MembershipFactory,
    RideRequestFactory,
    coordinator_of,
    next_weekday_at,
    ride_due,
)
from tests.locks import Beside, sessions_waiting_on_a_lock

WHY = "Vägen vid Järna var avstängd, omväg via Nås."


@pytest.fixture
def ride(rider, association):
    monday = next_weekday_at(0, 10) + timedelta(days=7)
    return RideRequestFactory(
        rider=rider,
        association=association,
        village=association.villages.get(),
        earliest_pickup=monday,
        latest_pickup=monday,
    )


def picked_up(ride, driver):
    user = driver.membership.user
    ride = ride_assign(ride=ride, driver=driver, pickup_at=ride.earliest_pickup, actor=user)
    return ride_pick_up(ride=ride_due(ride), actor=user)


def claimed(ride, driver, metres: int = 125_000) -> MileageClaim:
    """The ride completed with `metres` (beyond the 77 km it can take) and a reason."""
    ride = ride_complete(
        ride=picked_up(ride, driver), actor=driver.membership.user, driven_m=metres, explanation=WHY
    )
    return MileageClaim.objects.select_related("ride").get(ride=ride)


def kinds_of(person) -> list[str]:
    return list(
        Notification.objects.filter(recipient=person).order_by("pk").values_list("kind", flat=True)
    )


# --- Claiming ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_kilometres_within_what_the_ride_takes_count_at_once_without_a_claim(ride, driver):
    ride = ride_complete(
        ride=picked_up(ride, driver),
        actor=driver.membership.user,
        driven_m=77_000,
        explanation="Ingen omväg.",
    )
    assert (ride.state, ride.driven_m) == (RideState.COMPLETED, 77_000)
    assert not MileageClaim.objects.exists()


@pytest.mark.django_db
def test_beyond_it_with_a_reason_the_ride_counts_the_most_and_the_claim_waits(
    ride, driver, coordinator, association
):
    coordinator.preferred_language = "en"
    coordinator.save()
    # Another association's coordinator hears nothing of it.
    elsewhere = coordinator_of(AssociationFactory())
    ride = picked_up(ride, driver)
    assert driven_m_max(ride) == 77_000

    ride = ride_complete(
        ride=ride, actor=driver.membership.user, driven_m=125_400, explanation=f"  {WHY} "
    )

    assert (ride.state, ride.driven_m) == (RideState.COMPLETED, 77_000)
    claim = MileageClaim.objects.get()
    assert (
        claim.ride_id,
        claim.claimed_m,
        claim.allowed_m,
        claim.explanation,
        claim.state,
        claim.decided_by,
        claim.decided_at,
    ) == (ride.pk, 125_400, 77_000, WHY, ClaimState.PENDING, None, None)
    [note] = Notification.objects.filter(kind="mileage.claim_waiting")
    assert note.recipient == coordinator
    assert note.payload["claim"] == claim.pk
    assert note.payload["association_id"] == association.pk
    title, body = render(get_kind(note.kind), note.payload, "en")
    assert title == "Erik Olsson claims 125.4 km"
    assert WHY not in body  # the reason is personal text: on the claim only
    assert body.startswith("Erik Olsson drove 125.4 km for the ride ")
    assert body.endswith(
        ", more than the 77 km it can take, and says why. Approve or decline the claim on "
        "the mileage page."
    )
    assert render(get_kind(note.kind), note.payload, "sv")[0] == "Erik Olsson begär 125,4 km"
    assert kinds_of(elsewhere) == []
    assert "mileage.claim_waiting" not in kinds_of(driver.membership.user)


@pytest.mark.django_db
@pytest.mark.parametrize("explanation", ["", "   "], ids=["empty", "only-spaces"])
def test_beyond_it_without_a_reason_is_refused_and_nothing_changes(ride, driver, explanation):
    ride = picked_up(ride, driver)
    events, notes = RideEvent.objects.count(), Notification.objects.count()
    with translation.override("en"), pytest.raises(ApplicationError) as refused:
        ride_complete(
            ride=ride, actor=driver.membership.user, driven_m=77_001, explanation=explanation
        )
    assert (refused.value.code, refused.value.kind) == ("driven_too_far", ErrorKind.INVALID)
    assert str(refused.value.message) == (
        "You can claim at most 77 km for this ride without a coordinator's approval (from "
        "your home to the pickup, the trip, and back). If you really drove further, say why "
        "(a detour, a closed road) and a coordinator will look at it."
    )
    assert refused.value.fields == {"explanation": [refused.value.message]}
    ride.refresh_from_db()
    assert (ride.state, ride.driven_m, ride.closed_at) == (RideState.PICKED_UP, None, None)
    assert (RideEvent.objects.count(), Notification.objects.count()) == (events, notes)
    assert not MileageClaim.objects.exists()


@pytest.mark.django_db
def test_a_reason_too_long_and_the_absolute_cap_are_refused_with_nothing_changed(ride, driver):
    ride = picked_up(ride, driver)
    user = driver.membership.user
    for metres, explanation, code, field in [
        (125_000, "x" * 501, "text_too_long", "explanation"),
        (1_000_001, WHY, "driven_invalid", "driven_m"),
    ]:
        with pytest.raises(ApplicationError) as refused:
            ride_complete(ride=ride, actor=user, driven_m=metres, explanation=explanation)
        assert (refused.value.code, list(refused.value.fields)) == (code, [field])
    ride.refresh_from_db()
    assert (ride.state, ride.driven_m) == (RideState.PICKED_UP, None)
    assert not MileageClaim.objects.exists()
    # The longest reason and the cap itself are fine.
    ride_complete(ride=ride, actor=user, driven_m=1_000_000, explanation="x" * 500)
    assert MileageClaim.objects.get().claimed_m == 1_000_000


# --- Deciding -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_approved_the_ride_counts_the_claim_and_the_driver_is_told(
    ride, driver, coordinator, association, settings
):
    settings.MILEAGE_RATE_ORE_PER_KM = 250
    claim = claimed(ride, driver)
    today = timezone.localdate()

    def report():
        return [
            (row.rides, row.metres, row.amount_ore)
            for row in mileage_report(association=association, year=today.year, month=today.month)
        ]

    assert report() == [(1, 77_000, 19_250)]

    decided = mileage_claim_approve(claim=claim, actor=coordinator)

    assert (decided.state, decided.decided_by, decided.decline_reason) == (
        ClaimState.APPROVED,
        coordinator,
        "",
    )
    assert decided.decided_at is not None
    assert RideRequest.objects.get(pk=claim.ride_id).driven_m == 125_000
    assert report() == [(1, 125_000, 31_250)]
    [note] = Notification.objects.filter(recipient=driver.membership.user, kind__startswith="mil")
    assert note.kind == "mileage.claim_approved"
    assert note.payload["association"] == association.pk


@pytest.mark.django_db
def test_declined_the_ride_stays_at_the_most_and_the_driver_is_told_why(ride, driver, coordinator):
    claim = claimed(ride, driver)
    decided = mileage_claim_decline(claim=claim, actor=coordinator, reason="  Kör närmaste väg. ")
    assert (decided.state, decided.decided_by, decided.decline_reason) == (
        ClaimState.DECLINED,
        coordinator,
        "Kör närmaste väg.",
    )
    assert RideRequest.objects.get(pk=claim.ride_id).driven_m == 77_000
    [note] = Notification.objects.filter(recipient=driver.membership.user, kind__startswith="mil")
    assert note.kind == "mileage.claim_declined"
    assert render(get_kind(note.kind), note.payload, "en")[1].endswith(
        "are not approved; the ride counts 77 km. The reason: Kör närmaste väg."
    )


def _unchanged(claim: MileageClaim) -> tuple:
    row = MileageClaim.objects.get(pk=claim.pk)
    ride = RideRequest.objects.get(pk=claim.ride_id)
    return (row.state, row.decided_by_id, row.decided_at, row.decline_reason, ride.driven_m)


@pytest.mark.django_db
@pytest.mark.parametrize("reason", ["", "  ", "x" * 301], ids=["empty", "spaces", "too-long"])
def test_declining_needs_a_reason_and_nothing_changes_without(ride, driver, coordinator, reason):
    claim = claimed(ride, driver)
    before, notes = _unchanged(claim), Notification.objects.count()
    with pytest.raises(ApplicationError) as refused:
        mileage_claim_decline(claim=claim, actor=coordinator, reason=reason)
    assert (refused.value.kind, list(refused.value.fields)) == (ErrorKind.INVALID, ["reason"])
    assert _unchanged(claim) == before == (ClaimState.PENDING, None, None, "", 77_000)
    assert Notification.objects.count() == notes


@pytest.mark.django_db
@pytest.mark.parametrize("decide", ["approve", "decline"])
def test_only_a_coordinator_of_the_rides_association_decides(ride, driver, association, decide):
    claim = claimed(ride, driver)
    before, notes = _unchanged(claim), Notification.objects.count()
    other_coordinator = coordinator_of(AssociationFactory())
    member = MembershipFactory(association=association).user
    for actor in (other_coordinator, member, driver.membership.user):
        with pytest.raises(ApplicationError) as refused:
            if decide == "approve":
                mileage_claim_approve(claim=claim, actor=actor)
            else:
                mileage_claim_decline(claim=claim, actor=actor, reason="Nej.")
        assert (refused.value.code, refused.value.kind) == ("ride_not_allowed", "forbidden")
    assert _unchanged(claim) == before
    assert Notification.objects.count() == notes


@pytest.mark.django_db
def test_a_driver_who_coordinates_too_does_not_decide_their_own_claim(
    ride, driver, coordinator, association
):
    membership = driver.membership
    membership.roles = [*membership.roles, "coordinator"]
    membership.save()
    claim = claimed(ride, driver)
    # The other coordinators are told; the driver is not asked to decide their own.
    assert "mileage.claim_waiting" in kinds_of(coordinator)
    assert "mileage.claim_waiting" not in kinds_of(membership.user)
    before = _unchanged(claim)
    with translation.override("en"), pytest.raises(ApplicationError) as refused:
        mileage_claim_approve(claim=claim, actor=membership.user)
    assert refused.value.kind == ErrorKind.FORBIDDEN
    with translation.override("en"):
        assert str(refused.value.message) == (
            "Another coordinator of the association decides on your own kilometres."
        )
    assert _unchanged(claim) == before
    mileage_claim_approve(claim=claim, actor=coordinator)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("first", "message"),
    [
        ("approve", "This claim is already approved: the ride counts the kilometres claimed."),
        ("decline", "This claim is already declined: the ride counts what it can take."),
    ],
)
def test_deciding_a_decided_claim_is_a_conflict_that_says_how_it_was_decided(
    ride, driver, coordinator, association, first, message
):
    claim = claimed(ride, driver)
    if first == "approve":
        mileage_claim_approve(claim=claim, actor=coordinator)
    else:
        mileage_claim_decline(claim=claim, actor=coordinator, reason="Nej.")
    before, notes = _unchanged(claim), Notification.objects.count()
    second = coordinator_of(association)
    for decide in (
        lambda: mileage_claim_approve(claim=claim, actor=second),
        lambda: mileage_claim_decline(claim=claim, actor=second, reason="Nej."),
    ):
        with translation.override("en"), pytest.raises(ApplicationError) as refused:
            decide()
        assert (refused.value.code, refused.value.kind) == (
            "mileage_claim_already_decided",
            ErrorKind.CONFLICT,
        )
        with translation.override("en"):
            assert str(refused.value.message) == message
    assert _unchanged(claim) == before
    assert Notification.objects.count() == notes


# --- The database's rules -----------------------------------------------------------------


def _row(ride, **values) -> None:
    fields = {"ride": ride, "claimed_m": 90_000, "allowed_m": 77_000} | values
    with transaction.atomic():
        MileageClaim.objects.create(**fields)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("values", "constraint"),
    [
        ({"claimed_m": 0, "allowed_m": 0}, "mileage_claim_above_allowed"),
        ({"claimed_m": 77_000}, "mileage_claim_above_allowed"),
        ({"claimed_m": 1_000_001}, "mileage_claim_above_allowed"),
        ({"decided_at": timezone.now()}, "mileage_claim_decided_consistently"),
        ({"decline_reason": "Nej."}, "mileage_claim_decided_consistently"),
        ({"state": ClaimState.APPROVED}, "mileage_claim_decided_consistently"),
        (
            {"state": ClaimState.APPROVED, "decided_at": timezone.now(), "decline_reason": "x"},
            "mileage_claim_decided_consistently",
        ),
        (
            {"state": ClaimState.DECLINED, "decline_reason": "x"},
            "mileage_claim_decided_consistently",
        ),
    ],
    ids=[
        "nothing-claimed",
        "not-above-the-most",
        "above-the-cap",
        "waiting-with-a-decision-time",
        "waiting-with-a-reason",
        "approved-without-a-time",
        "approved-with-a-reason",
        "declined-without-a-time",
    ],
)
def test_the_database_refuses_a_claim_that_breaks_a_rule(ride, coordinator, values, constraint):
    with pytest.raises(IntegrityError, match=constraint):
        _row(ride, **values)
    assert not MileageClaim.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "values",
    [
        {},
        {"state": ClaimState.APPROVED, "decided_at": timezone.now()},
        {"state": ClaimState.DECLINED, "decided_at": timezone.now(), "decline_reason": "Nej."},
        # Retention and erasure empty the reason (and the explanation) of an old claim.
        {"state": ClaimState.DECLINED, "decided_at": timezone.now(), "explanation": ""},
    ],
    ids=["waiting", "approved", "declined", "declined-reason-forgotten"],
)
def test_the_database_takes_a_claim_that_keeps_the_rules(ride, values):
    _row(ride, **values)
    assert MileageClaim.objects.count() == 1


@pytest.mark.django_db
def test_a_ride_has_one_claim(ride):
    _row(ride)
    with pytest.raises(IntegrityError, match="ride_id"):
        _row(ride)


# --- Payouts ----------------------------------------------------------------------------


def _last_month():
    return (timezone.localdate().replace(day=1) - timedelta(days=1)).replace(day=1)


def _claimed_last_month(association, rider, driver) -> MileageClaim:
    closed = timezone.localtime().replace(day=1) - timedelta(days=2)
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
        ride=ride, claimed_m=125_000, allowed_m=77_000, explanation=WHY
    )


@pytest.mark.django_db
def test_a_month_with_a_claim_waiting_is_not_paid_until_it_is_decided(
    association, coordinator, rider, driver, settings
):
    settings.MILEAGE_RATE_ORE_PER_KM = 250
    claim = _claimed_last_month(association, rider, driver)
    with translation.override("en"), pytest.raises(ApplicationError) as refused:
        mileage_payout_mark_paid(
            actor=coordinator, association=association, driver=driver, month=_last_month()
        )
    assert (refused.value.code, refused.value.kind) == ("mileage_claim_waiting", "conflict")
    assert str(refused.value.message) == (
        f"Erik Olsson has kilometres for {_last_month():%Y-%m} that wait for a coordinator's "
        "decision. Approve or decline them first, then mark the month as paid."
    )
    assert not MileagePayout.objects.exists()

    mileage_claim_approve(claim=claim, actor=coordinator)
    payout = mileage_payout_mark_paid(
        actor=coordinator, association=association, driver=driver, month=_last_month()
    )
    assert (payout.rides, payout.metres, payout.amount_ore) == (1, 125_000, 31_250)


# --- At the same moment: real concurrent transactions -------------------------------------


def _wait_for_a_lock_wait(seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if sessions_waiting_on_a_lock():
            return True
        time.sleep(0.02)
    return False


def _decides_and_holds(decide) -> tuple[Beside, threading.Event, threading.Event]:
    """`decide()` in a transaction of its own that stays open until released."""
    holding, release = threading.Event(), threading.Event()

    def work():
        try:
            with transaction.atomic():
                decided = decide()
                holding.set()
                release.wait(timeout=30)
            return decided
        finally:
            holding.set()

    return Beside(work), holding, release


def _fresh(claim: MileageClaim) -> MileageClaim:
    return MileageClaim.objects.select_related("ride").get(pk=claim.pk)


@pytest.mark.django_db(transaction=True)
def test_two_coordinators_deciding_at_once_the_first_wins_the_second_gets_a_conflict(
    ride, driver, coordinator, association
):
    claim = claimed(ride, driver)
    second = coordinator_of(association)
    first, holding, release = _decides_and_holds(
        lambda: mileage_claim_approve(claim=_fresh(claim), actor=coordinator)
    )
    try:
        assert holding.wait(timeout=10)
        declining = Beside(
            lambda: mileage_claim_decline(claim=_fresh(claim), actor=second, reason="Nej.")
        )
        # The second waits on the claim's row, held by the first decision.
        assert _wait_for_a_lock_wait()
        assert not declining.done_within(0.2)
    finally:
        release.set()
    assert first.result().state == ClaimState.APPROVED
    with pytest.raises(ApplicationError) as refused:
        declining.result()
    assert (refused.value.code, refused.value.kind) == (
        "mileage_claim_already_decided",
        ErrorKind.CONFLICT,
    )
    claim = _fresh(claim)
    assert (claim.state, claim.decided_by, claim.decline_reason) == (
        ClaimState.APPROVED,
        coordinator,
        "",
    )
    assert claim.ride.driven_m == 125_000
    decisions = [k for k in kinds_of(driver.membership.user) if k.startswith("mileage.")]
    assert decisions == ["mileage.claim_approved"]


@pytest.mark.django_db(transaction=True)
def test_marking_the_month_paid_while_its_claim_is_approved_waits_and_pays_the_claim(
    association, coordinator, rider, driver, settings
):
    settings.MILEAGE_RATE_ORE_PER_KM = 250
    claim = _claimed_last_month(association, rider, driver)
    second = coordinator_of(association)
    first, holding, release = _decides_and_holds(
        lambda: mileage_claim_approve(claim=_fresh(claim), actor=coordinator)
    )
    try:
        assert holding.wait(timeout=10)
        paying = Beside(
            lambda: mileage_payout_mark_paid(
                actor=second, association=association, driver=driver, month=_last_month()
            )
        )
        # It waits for the decision (the month's waiting claims are locked)...
        assert _wait_for_a_lock_wait()
        assert not paying.done_within(0.2)
    finally:
        release.set()
    first.result()
    # ...and then pays what was decided.
    payout = paying.result()
    assert (payout.rides, payout.metres, payout.amount_ore) == (1, 125_000, 31_250)


@pytest.mark.django_db
def test_an_approved_claim_reaches_the_statistics_at_the_next_refresh(
    ride, driver, coordinator, association, settings
):
    claim = claimed(ride, driver)
    day = timezone.localtime(claim.ride.earliest_pickup).date()

    def vehicle_m() -> int:
        return DailyFigures.objects.filter(
            service="rides", association=association, day=day
        ).aggregate(total=Sum("vehicle_m"))["total"]

    # The ride's own changes are long past: only the decision can name its day.
    long_ago = timezone.now() - timedelta(seconds=settings.STATS_REFRESH_OVERLAP, days=1)
    RideEvent.objects.filter(ride=claim.ride).update(at=long_ago)
    stats_refresh(full=True)
    assert vehicle_m() == 77_000
    mileage_claim_approve(claim=claim, actor=coordinator)
    assert not stats_refresh()[0].full
    assert vehicle_m() == 125_000

"""`driver_rides_release_all`: a coordinator gives every ride a driver holds in the
association back to dispatch at once (accepted or on the way; a ride with the passenger
on board stays). Each goes as one ride taken back does (the rider told their driver
cannot come, the driver's offer withdrawn, a new wave after commit); the driver gets one
message listing the times. Refusals change nothing; a pick-up at the same instant keeps
its ride (real concurrent transactions)."""

import threading
import time as clock
from datetime import time, timedelta

import pytest
from django.contrib.gis.geos import Point
from django.db import transaction
from django.utils import formats, timezone, translation

from backend.community.models import Role
from backend.community.services import membership_set_roles
from backend.errors import ApplicationError, ErrorKind
from backend.notifications.models import Notification
from backend.notifications.selectors import notification_message
from backend.rides import services as rides
from backend.rides.models import Offer, OfferState, RideEvent, RideRequest, RideState
from backend.rides.services import busy_range
from dispatch.services import driver_rides_release_all
from dispatch.tasks import run_dispatch
from tests.factories import (
    AssociationFactory,
    AvailabilitySlotFactory,
    DriverProfileFactory,
    MembershipFactory,
    RideRequestFactory,
    coordinator_of,
    next_weekday_at,
    ride_due,
)
from tests.locks import Beside, sessions_waiting_on_a_lock

pytestmark = pytest.mark.django_db

REASON = "Erik är sjuk resten av veckan."


def held(driver, at, state=RideState.ACCEPTED, rider=None) -> RideRequest:
    """A ride `driver` holds, picked up at `at`, with the accepted offer a wave leaves."""
    ride = RideRequestFactory(
        association=driver.membership.association,
        earliest_pickup=at,
        latest_pickup=at,
        **({"rider": rider} if rider else {}),
    )
    ride.state, ride.driver, ride.planned_pickup = state, driver, at
    ride.busy = busy_range(ride, at)
    ride.wave = 1
    ride.save()
    Offer.objects.create(
        ride=ride,
        driver=driver,
        wave=1,
        rank=1,
        distance_m=1_500,
        pickup_at=at,
        state=OfferState.ACCEPTED,
    )
    return ride


def everything() -> list:
    """What a refused call must leave as it was."""
    return [
        *RideRequest.objects.order_by("pk").values_list(
            "pk", "state", "driver_id", "planned_pickup", "busy"
        ),
        *Offer.objects.order_by("pk").values_list("pk", "state"),
        ("events", RideEvent.objects.count()),
        ("notifications", Notification.objects.count()),
    ]


def told(person, kind: str) -> list[dict]:
    return list(
        Notification.objects.filter(recipient=person, kind=kind)
        .order_by("pk")
        .values_list("payload", flat=True)
    )


def words(moment) -> str:
    """How a message names a time: "Thursday 3 December 10:00" (with the year when it is
    not this year's), in English."""
    local = timezone.localtime(moment)
    shape = "l j F" if local.year == timezone.localdate().year else "l j F Y"
    with translation.override("en"):
        return f"{formats.date_format(local.date(), shape)} {local:%H:%M}"


@pytest.fixture
def erik(driver):
    return driver


# --- Giving back --------------------------------------------------------------------------


def test_every_ride_held_goes_back_and_the_driver_is_told_once(
    erik, coordinator, rider, django_capture_on_commit_callbacks
):
    thursday = next_weekday_at(3, 10)
    later = held(erik, thursday + timedelta(days=1, hours=4), RideState.EN_ROUTE, rider)
    sooner = held(erik, thursday, rider=rider)
    aboard = held(erik, thursday - timedelta(days=1), RideState.PICKED_UP, rider)
    with django_capture_on_commit_callbacks():
        released = driver_rides_release_all(
            membership=erik.membership, actor=coordinator, reason=f"  {REASON} "
        )
    assert [ride.pk for ride in released] == [sooner.pk, later.pk]
    assert list(
        RideRequest.objects.filter(pk__in=[sooner.pk, later.pk, aboard.pk])
        .order_by("earliest_pickup")
        .values_list("pk", "state", "driver_id", "planned_pickup", "busy", "accepted_at")
    ) == [
        (aboard.pk, RideState.PICKED_UP, erik.pk, aboard.planned_pickup, aboard.busy, None),
        (sooner.pk, RideState.REQUESTED, None, None, None, None),
        (later.pk, RideState.REQUESTED, None, None, None, None),
    ]
    events = RideEvent.objects.filter(ride__in=[sooner, later]).order_by("ride__earliest_pickup")
    assert [(e.from_state, e.to_state, e.actor, e.reason) for e in events] == [
        (RideState.ACCEPTED, RideState.REQUESTED, coordinator, REASON),
        (RideState.EN_ROUTE, RideState.REQUESTED, coordinator, REASON),
    ]
    # Their offers are withdrawn; the ride on board keeps its own.
    assert dict(Offer.objects.values_list("ride_id", "state")) == {
        sooner.pk: OfferState.WITHDRAWN,
        later.pk: OfferState.WITHDRAWN,
        aboard.pk: OfferState.ACCEPTED,
    }
    # One message for both, soonest first, and none per ride.
    user = erik.membership.user
    [note] = Notification.objects.filter(recipient=user)
    assert (note.kind, note.urgent) == ("ride.released_to_dispatch", True)
    assert note.payload == {
        "rides": f"{rides.local_time(sooner.planned_pickup)}, "
        f"{rides.local_time(later.planned_pickup)}",
        "reason": REASON,
        "association": erik.membership.association_id,
    }
    message = notification_message(note, language="en")
    assert message["title"] == "Rides given back to dispatch"
    assert message["body"] == (
        "A coordinator gave the rides you held back to dispatch, to be offered to other "
        f"drivers: {words(sooner.planned_pickup)}, {words(later.planned_pickup)}. {REASON}"
    )
    assert notification_message(note, language="sv")["title"] == "Dina resor har tagits tillbaka"
    # Each rider is told, as when a driver gives a ride back.
    assert told(rider, "ride.driver_withdrew") == [
        {"when": rides.local_time(sooner.earliest_pickup), "ride": sooner.pk},
        {"when": rides.local_time(later.earliest_pickup), "ride": later.pk},
    ]


@pytest.fixture
def queued(monkeypatch) -> list[tuple]:
    """The run_dispatch tasks queued (by `delay`), as (ride id, wave)."""
    calls: list[tuple] = []
    monkeypatch.setattr(run_dispatch, "delay", lambda *args: calls.append(args))
    return calls


def test_a_new_wave_asks_other_drivers_after_the_commit(
    erik, coordinator, rider, association, queued, django_capture_on_commit_callbacks
):
    bo = DriverProfileFactory(
        membership__association=association,
        membership__user__full_name="Bo",
        home_base=Point(14.23, 60.50893, srid=4326),
    )
    AvailabilitySlotFactory(driver=bo, weekday=0, start=time(8), end=time(17))
    for day in range(7):  # Erik is free too: he is not asked again all the same
        AvailabilitySlotFactory(driver=erik, weekday=day, start=time(6), end=time(20))
    ride = held(erik, next_weekday_at(0, 10), rider=rider)
    ride.village = association.villages.get()
    ride.save(update_fields=["village"])
    later = held(erik, ride.planned_pickup + timedelta(days=1), rider=rider)
    with django_capture_on_commit_callbacks() as callbacks:
        driver_rides_release_all(membership=erik.membership, actor=coordinator, reason=REASON)
    assert queued == []  # not before the commit
    for callback in callbacks:
        callback()
    assert queued == [(ride.pk, 1), (later.pk, 1)]
    # What the task does (run here: with eager tasks the wave's timeout would fire at once).
    assert run_dispatch(*queued[0]) == 1
    ride.refresh_from_db()
    assert (ride.state, ride.wave) == (RideState.OFFERING, 2)
    assert list(
        Offer.objects.filter(ride=ride).order_by("wave").values_list("driver_id", "state")
    ) == [(erik.pk, OfferState.WITHDRAWN), (bo.pk, OfferState.PENDING)]


def test_rides_held_for_another_association_stay(erik, coordinator, rider):
    here = held(erik, next_weekday_at(3, 10), rider=rider)
    other = AssociationFactory(name="Järna byalag")
    second = MembershipFactory(
        user=erik.membership.user, association=other, roles=[Role.MEMBER, Role.DRIVER]
    )
    elsewhere = held(DriverProfileFactory(membership=second), next_weekday_at(4, 10))
    released = driver_rides_release_all(
        membership=erik.membership, actor=coordinator, reason=REASON
    )
    assert [ride.pk for ride in released] == [here.pk]
    elsewhere.refresh_from_db()
    assert (elsewhere.state, elsewhere.driver.membership.association) == (
        RideState.ACCEPTED,
        other,
    )


def test_with_nothing_to_give_back_nothing_happens(erik, coordinator, rider):
    aboard = held(erik, next_weekday_at(2, 9), RideState.PICKED_UP, rider)
    done = held(erik, next_weekday_at(3, 9), rider=rider)
    RideRequest.objects.filter(pk=done.pk).update(state=RideState.COMPLETED)
    before = everything()
    assert (
        driver_rides_release_all(membership=erik.membership, actor=coordinator, reason=REASON) == []
    )
    assert everything() == before
    aboard.refresh_from_db()
    assert aboard.state == RideState.PICKED_UP


def test_afterwards_the_driver_role_can_be_taken_away(erik, coordinator, rider):
    held(erik, next_weekday_at(3, 10), rider=rider)
    membership = erik.membership
    with pytest.raises(ApplicationError) as refused:
        membership_set_roles(actor=coordinator, membership=membership, roles=["member"])
    assert refused.value.code == "driver_holds_rides"
    driver_rides_release_all(membership=membership, actor=coordinator, reason=REASON)
    membership_set_roles(actor=coordinator, membership=membership, roles=["member"])
    membership.refresh_from_db()
    assert membership.roles == [Role.MEMBER]


# --- Refused --------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["the driver", "a member", "another association's coordinator"])
def test_only_a_coordinator_of_the_association_gives_them_back(erik, rider, who):
    held(erik, next_weekday_at(3, 10), rider=rider)
    actor = {
        "the driver": erik.membership.user,
        "a member": rider,
        "another association's coordinator": coordinator_of(AssociationFactory()),
    }[who]
    before = everything()
    with pytest.raises(ApplicationError) as refused, translation.override("en"):
        driver_rides_release_all(membership=erik.membership, actor=actor, reason=REASON)
    assert (refused.value.code, refused.value.kind) == ("ride_not_allowed", ErrorKind.FORBIDDEN)
    assert str(refused.value.message) == (
        "Only a coordinator of Västerdalarnas byaskjuts can give a driver's rides back."
    )
    assert everything() == before


@pytest.mark.parametrize(
    ("reason", "code", "message"),
    [
        ("", "reason_missing", "Say why the rides go back to dispatch; the driver will see it."),
        ("   ", "reason_missing", "Say why the rides go back to dispatch; the driver will see it."),
        ("x" * 301, "text_too_long", "The reason is too long: at most 300 characters."),
    ],
    ids=["empty", "blank", "too-long"],
)
def test_a_missing_or_too_long_reason_changes_nothing(
    erik, coordinator, rider, reason, code, message
):
    held(erik, next_weekday_at(3, 10), rider=rider)
    before = everything()
    with translation.override("en"):
        with pytest.raises(ApplicationError) as refused:
            driver_rides_release_all(membership=erik.membership, actor=coordinator, reason=reason)
        assert (refused.value.code, refused.value.kind, str(refused.value.message)) == (
            code,
            ErrorKind.INVALID,
            message,
        )
    assert list(refused.value.fields) == ["reason"]
    assert everything() == before


def test_three_hundred_characters_are_enough(erik, coordinator, rider):
    ride = held(erik, next_weekday_at(3, 10), rider=rider)
    driver_rides_release_all(membership=erik.membership, actor=coordinator, reason="x" * 300)
    assert RideEvent.objects.get(ride=ride, to_state=RideState.REQUESTED).reason == "x" * 300


# --- A pick-up at the same instant -----------------------------------------------------------


def _waiting_for_a_lock(seconds: float = 10) -> bool:
    deadline = clock.monotonic() + seconds
    while clock.monotonic() < deadline:
        if sessions_waiting_on_a_lock():
            return True
        clock.sleep(0.05)
    return False


@pytest.mark.django_db(transaction=True)
def test_a_ride_picked_up_meanwhile_stays_with_the_driver(erik, coordinator, rider):
    today = ride_due(held(erik, next_weekday_at(3, 10), rider=rider))
    other = held(erik, next_weekday_at(4, 14), rider=rider)
    picked, finish = threading.Event(), threading.Event()

    def pick_up():
        with transaction.atomic():
            ride = RideRequest.objects.get(pk=today.pk)
            rides.ride_pick_up(ride=ride, actor=erik.membership.user)
            picked.set()
            finish.wait(10)

    picking = Beside(pick_up)
    assert picked.wait(10)
    releasing = Beside(
        lambda: driver_rides_release_all(
            membership=erik.membership, actor=coordinator, reason=REASON
        )
    )
    waited = _waiting_for_a_lock()
    finish.set()
    picking.result()
    released = releasing.result()
    assert waited, "giving back did not wait for the pick-up"
    assert [ride.pk for ride in released] == [other.pk]
    today.refresh_from_db()
    assert (today.state, today.driver_id) == (RideState.PICKED_UP, erik.pk)
    [note] = Notification.objects.filter(recipient=erik.membership.user)
    assert note.payload["rides"] == rides.local_time(other.planned_pickup)


@pytest.mark.django_db(transaction=True)
def test_a_pick_up_after_the_rides_went_back_is_refused(erik, coordinator, rider):
    today = ride_due(held(erik, next_weekday_at(3, 10), rider=rider))
    gave, finish = threading.Event(), threading.Event()

    def give_back():
        with transaction.atomic():
            released = driver_rides_release_all(
                membership=erik.membership, actor=coordinator, reason=REASON
            )
            gave.set()
            finish.wait(10)
        return released

    giving = Beside(give_back)
    assert gave.wait(10)
    picking = Beside(
        lambda: rides.ride_pick_up(
            ride=RideRequest.objects.get(pk=today.pk), actor=erik.membership.user
        )
    )
    waited = _waiting_for_a_lock()
    finish.set()
    assert [ride.pk for ride in giving.result()] == [today.pk]
    with pytest.raises(ApplicationError) as refused:
        picking.result()
    assert waited, "the pick-up did not wait for the rides to go back"
    assert refused.value.code == "ride_wrong_state"
    today.refresh_from_db()
    assert (today.state, today.driver_id) == (RideState.REQUESTED, None)

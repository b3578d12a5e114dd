"""Answers to an offer racing each other, and offers withdrawn when their ride is
cancelled or closed without a driver: dispatch/offers.py on real PostgreSQL (threads on
their own connections) and the Redis channel layer."""

import asyncio
import threading
import time as clock
from datetime import time

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.gis.geos import Point
from django.db import connection, transaction

from backend.errors import ApplicationError
from backend.notifications.live import user_group
from backend.rides.models import Offer, OfferState, RideEvent, RideRequest, RideState
from dispatch.offers import offer_accept, offer_decline, offer_wave, withdraw_pending_offers
from dispatch.services import ride_cancel, ride_mark_unfulfilled
from tests.factories import (
    AvailabilitySlotFactory,
    DriverProfileFactory,
    RideRequestFactory,
    next_weekday_at,
)
from tests.locks import Beside, referred_to_meanwhile, sessions_waiting_on_a_lock


def available_driver(association, name: str, lon: float):
    driver = DriverProfileFactory(
        membership__association=association,
        membership__user__full_name=name,
        home_base=Point(lon, 60.50893, srid=4326),
    )
    AvailabilitySlotFactory(driver=driver, weekday=0, start=time(8), end=time(17))
    return driver


def open_ride(rider, association) -> RideRequest:
    return RideRequestFactory(
        rider=rider,
        association=association,
        village=association.villages.get(),
        state="requested",
        earliest_pickup=next_weekday_at(0, 10),
        latest_pickup=next_weekday_at(0, 10),
    )


@pytest.fixture
def three_drivers(association):
    return [
        available_driver(association, name, lon)
        for name, lon in [("Anna", 14.23), ("Bo", 14.26), ("Cecilia", 14.30)]
    ]


# --- An accept and a decline of one offer at the same instant ---------------------------------


def _answer(kind: str, offer: Offer, outcomes: dict, start: threading.Barrier) -> None:
    user = offer.driver.membership.user
    try:
        start.wait()
        if kind == "accept":
            offer_accept(offer_id=offer.pk, actor=user)
        else:
            offer_decline(offer_id=offer.pk, actor=user)
        outcomes[kind] = "done"
    except ApplicationError as error:
        outcomes[kind] = error.code
    finally:
        connection.close()


def _waiting_for_locks(count: int) -> None:
    """Until `count` other sessions wait for a row lock (both answers have read the offer
    as pending and queue behind the ride's lock)."""
    deadline = clock.monotonic() + 10
    while clock.monotonic() < deadline:
        if sessions_waiting_on_a_lock() >= count:
            return
        clock.sleep(0.01)
    raise AssertionError("the answers never queued for the ride's lock")


def _assert_one_answer_counts(offer: Offer, outcomes: dict) -> str:
    offer.refresh_from_db()
    ride = RideRequest.objects.get(pk=offer.ride_id)
    accepted = RideEvent.objects.filter(ride=ride, to_state="accepted").count()
    if outcomes == {"accept": "done", "decline": "offer_not_pending"}:
        assert (offer.state, ride.state, ride.driver_id, accepted) == (
            OfferState.ACCEPTED,
            RideState.ACCEPTED,
            offer.driver_id,
            1,
        )
        return "accept"
    assert outcomes == {"accept": "offer_not_pending", "decline": "done"}
    assert (offer.state, ride.state, ride.driver_id, accepted) == (
        OfferState.DECLINED,
        RideState.OFFERING,
        None,
        0,
    )
    return "decline"


@pytest.mark.django_db(transaction=True)
def test_accept_and_decline_queued_behind_the_ride_lock_only_one_counts(
    rider, association, three_drivers
):
    """Both answers read the offer as pending before either writes (they wait behind a
    lock on the ride); whichever goes second must see that the offer was answered and get
    409, never overwrite the first answer."""
    for _round in range(4):
        ride = open_ride(rider, association)
        offer = offer_wave(ride_id=ride.pk)[0]
        outcomes: dict[str, str] = {}
        start = threading.Barrier(2)
        with transaction.atomic():
            RideRequest.objects.select_for_update().get(pk=ride.pk)  # hold the ride
            threads = [
                threading.Thread(target=_answer, args=(kind, offer, outcomes, start))
                for kind in ("accept", "decline")
            ]
            for thread in threads:
                thread.start()
            _waiting_for_locks(2)
        for thread in threads:
            thread.join(10)
        _assert_one_answer_counts(offer, outcomes)
        RideRequest.objects.filter(pk=ride.pk).update(state=RideState.CANCELLED, busy=None)


@pytest.mark.django_db(transaction=True)
def test_accept_and_decline_racing_freely_only_one_counts(rider, association, three_drivers):
    for _round in range(6):
        ride = open_ride(rider, association)
        offer = offer_wave(ride_id=ride.pk)[0]
        outcomes: dict[str, str] = {}
        start = threading.Barrier(2)
        threads = [
            threading.Thread(target=_answer, args=(kind, offer, outcomes, start))
            for kind in ("accept", "decline")
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        _assert_one_answer_counts(offer, outcomes)
        RideRequest.objects.filter(pk=ride.pk).update(state=RideState.CANCELLED, busy=None)


# --- Accepting does not wait for whoever refers to the other drivers -------------------------


@pytest.mark.django_db(transaction=True)
def test_an_accept_does_not_wait_for_a_roster_that_lists_the_other_drivers(
    rider, association, three_drivers
):
    # Withdrawing the other offers locked the drivers' account rows with them (FOR UPDATE
    # through the join to their names), so an accept waited for any transaction that
    # referred to those drivers, and one that went on to refer to a driver the accept
    # held deadlocked with it: a coordinator's roster being recorded in the audit log
    # did, in the load test (a 503 to the driver). Only the offer rows are locked now.
    ride = open_ride(rider, association)
    first, *others = offer_wave(ride_id=ride.pk)
    with referred_to_meanwhile([o.driver.membership.user for o in others]):
        accept = Beside(lambda: offer_accept(offer_id=first.pk, actor=first.driver.membership.user))
        in_time = accept.done_within(5)
    accepted = accept.result()
    assert in_time, "the accept waited for the roster's transaction"
    assert accepted.driver_id == first.driver_id
    assert sorted(Offer.objects.filter(ride=ride).values_list("state", flat=True)) == [
        OfferState.ACCEPTED,
        OfferState.WITHDRAWN,
        OfferState.WITHDRAWN,
    ]


# --- Cancelled or closed rides take their offers back --------------------------------------


def _listen(users) -> dict[int, str]:
    """A channel in each user's live group, as their open app would have."""
    layer = get_channel_layer()
    channels = {}
    for user in users:
        channel = async_to_sync(layer.new_channel)()
        async_to_sync(layer.group_add)(user_group(user.pk), channel)
        channels[user.pk] = channel
    return channels


def _live_events(channel: str) -> list[dict]:
    layer = get_channel_layer()
    events = []

    async def drain():
        while True:
            try:
                message = await asyncio.wait_for(layer.receive(channel), timeout=0.5)
            except TimeoutError:
                return
            events.append(message["event"])

    async_to_sync(drain)()
    return events


@pytest.mark.django_db
@pytest.mark.parametrize("close", ["cancel", "unfulfilled"])
def test_closing_a_ride_withdraws_its_offers_and_updates_the_drivers_live_lists(
    rider, association, coordinator, three_drivers, close, django_capture_on_commit_callbacks
):
    ride = open_ride(rider, association)
    offers = offer_wave(ride_id=ride.pk)
    Offer.objects.filter(pk=offers[2].pk).update(state=OfferState.DECLINED)
    users = [driver.membership.user for driver in three_drivers]
    channels = _listen(users)

    with django_capture_on_commit_callbacks(execute=True):
        if close == "cancel":
            ride = ride_cancel(ride=ride, actor=rider, reason="Min son kör mig")
        else:
            ride = ride_mark_unfulfilled(ride=ride, actor=coordinator, reason="Ingen kan")

    expected_state = RideState.CANCELLED if close == "cancel" else RideState.UNFULFILLED
    assert ride.state == expected_state
    states = dict(Offer.objects.values_list("driver__membership__user__full_name", "state"))
    assert states == {"Anna": "withdrawn", "Bo": "withdrawn", "Cecilia": "declined"}
    reason = "cancelled" if close == "cancel" else "unfulfilled"
    for offer, user in zip(offers[:2], users[:2], strict=True):
        told = user.notifications.get(kind="ride.offer_closed")
        assert told.payload == {"when": next_weekday_at(0, 10).strftime("%Y-%m-%d %H:%M")}
        live = [e for e in _live_events(channels[user.pk]) if e["type"] == "offer.withdrawn"]
        assert live == [
            {"type": "offer.withdrawn", "offer": offer.pk, "ride": ride.pk, "reason": reason}
        ]
    # Cecilia had already said no: nothing to take back from her.
    assert not users[2].notifications.filter(kind="ride.offer_closed").exists()
    assert [e for e in _live_events(channels[users[2].pk]) if e["type"] == "offer.withdrawn"] == []


@pytest.mark.django_db
def test_a_refused_cancellation_withdraws_nothing(rider, association, three_drivers):
    ride = open_ride(rider, association)
    offer_wave(ride_id=ride.pk)
    stranger = three_drivers[0].membership.user

    with pytest.raises(ApplicationError) as refused:
        ride_cancel(ride=ride, actor=stranger, reason="")

    assert refused.value.code == "ride_not_allowed"
    assert set(Offer.objects.values_list("state", flat=True)) == {OfferState.PENDING}
    assert not stranger.notifications.filter(kind="ride.offer_closed").exists()


@pytest.mark.django_db
def test_only_a_coordinator_closes_a_ride_without_a_driver(rider, association, three_drivers):
    ride = open_ride(rider, association)
    offer_wave(ride_id=ride.pk)

    with pytest.raises(ApplicationError) as refused:
        ride_mark_unfulfilled(ride=ride, actor=rider)

    assert refused.value.code == "ride_not_allowed"
    ride.refresh_from_db()
    assert ride.state == RideState.OFFERING
    assert set(Offer.objects.values_list("state", flat=True)) == {OfferState.PENDING}


@pytest.mark.django_db
def test_a_withdrawn_offer_can_no_longer_be_answered(rider, association, three_drivers):
    ride = open_ride(rider, association)
    offers = offer_wave(ride_id=ride.pk)
    ride_cancel(ride=ride, actor=rider, reason="")
    user = offers[0].driver.membership.user

    for answer in (offer_accept, offer_decline):
        with pytest.raises(ApplicationError) as refused:
            answer(offer_id=offers[0].pk, actor=user)
        assert refused.value.code == "offer_not_pending"
    assert Offer.objects.get(pk=offers[0].pk).state == OfferState.WITHDRAWN


@pytest.mark.django_db
def test_withdrawing_keeps_the_offer_named_and_returns_the_others(
    rider, association, three_drivers
):
    ride = open_ride(rider, association)
    offers = offer_wave(ride_id=ride.pk)

    withdrawn = withdraw_pending_offers(ride=ride, keep=offers[0].pk)

    assert [o.pk for o in withdrawn] == [offers[1].pk, offers[2].pk]
    assert Offer.objects.get(pk=offers[0].pk).state == OfferState.PENDING
    user = offers[1].driver.membership.user
    assert user.notifications.filter(kind="ride.offer_withdrawn").count() == 1

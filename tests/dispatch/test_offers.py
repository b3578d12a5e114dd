"""Offer waves, acceptance, escalation to the coordinators: dispatch/offers.py and its
Celery tasks, on real PostGIS and Redis."""

import time as clock
from datetime import time

import celery.contrib.testing.tasks  # noqa: F401 - registers the ping task start_worker uses
import pytest
from celery.contrib.testing.worker import start_worker
from django.db import connection
from django.utils import translation

from backend.celery import app
from backend.community.services import membership_set_roles, membership_suspend
from backend.errors import ApplicationError
from backend.notifications.models import Notification, SmsReplyCode
from backend.notifications.replies import REPLY_ACTIONS, ReplyContext
from backend.notifications.selectors import notification_message
from backend.rides.models import Offer, OfferState, RideRequest, RideState
from dispatch.offers import offer_accept, offer_decline, offer_wave, ride_assign_by_coordinator
from dispatch.tasks import wave_timeout
from tests.factories import (
    AvailabilitySlotFactory,
    DriverProfileFactory,
    RideRequestFactory,
    next_weekday_at,
)

pytestmark = pytest.mark.django_db


def available_driver(association, name: str, *, lon: float, radius: int = 20_000):
    from django.contrib.gis.geos import Point

    driver = DriverProfileFactory(
        membership__association=association,
        membership__user__full_name=name,
        home_base=Point(lon, 60.50893, srid=4326),
        service_radius_m=radius,
    )
    AvailabilitySlotFactory(driver=driver, weekday=0, start=time(8), end=time(17))
    return driver


@pytest.fixture
def ride(rider, association):
    return RideRequestFactory(
        rider=rider,
        association=association,
        village=association.villages.get(),
        state="requested",
        earliest_pickup=next_weekday_at(0, 10),
        latest_pickup=next_weekday_at(0, 10),
    )


@pytest.fixture
def four_drivers(association):
    # West to east from the pickup in Vansbro (14.2246): nearest first.
    return [
        available_driver(association, name, lon=lon)
        for name, lon in [("Anna", 14.23), ("Bo", 14.26), ("Cecilia", 14.30), ("David", 14.40)]
    ]


def test_first_wave_offers_the_best_three_and_tells_them(ride, four_drivers, settings):
    settings.RIDES_OFFER_WAVE_SIZE = 3
    offers = offer_wave(ride_id=ride.pk)
    assert [o.driver.membership.user.full_name for o in offers] == ["Anna", "Bo", "Cecilia"]
    ride.refresh_from_db()
    assert (ride.state, ride.wave) == (RideState.OFFERING, 1)
    offered = four_drivers[0].membership.user.notifications.get(kind="ride.offered")
    assert offered.urgent is True
    # Before accepting, no address, name or phone: the village and an approximate area.
    assert set(offered.payload) == {
        "offer",
        "ride",
        "when",
        "village",
        "area",
        "km",
        "needs",
        "passengers",
    }
    assert offered.payload["village"] == "Vansbro"
    assert SmsReplyCode.objects.filter(action="ride.offer").count() == 3
    # Each of the three is told of their own offer, the fourth of none.
    told = {
        n.recipient.full_name: n.payload["offer"]
        for n in Notification.objects.filter(kind="ride.offered")
    }
    assert told == {o.driver.membership.user.full_name: o.pk for o in offers}


@pytest.mark.parametrize(
    ("language", "body"),
    [
        ("sv", "cirka 10,7 km. rollator, hjälp med kassar"),
        ("en", "about 10.7 km. walker, help with bags"),
    ],
    ids=["swedish", "english"],
)
def test_the_offer_text_says_the_needs_and_distance_in_the_drivers_language(
    ride, four_drivers, settings, language, body
):
    settings.RIDES_OFFER_WAVE_SIZE = 1
    ride.needs, ride.distance_m = ["walker", "bags"], 10_700
    ride.save()
    driver = four_drivers[0].membership.user
    driver.preferred_language = language
    driver.save()
    offer_wave(ride_id=ride.pk)
    offered = driver.notifications.get(kind="ride.offered")
    assert body in notification_message(offered, language=language)["body"]
    # The payload stays data, as the offers API gives it.
    assert (offered.payload["needs"], offered.payload["km"]) == ("walker, bags", 10.7)


def test_accepting_gives_the_ride_and_withdraws_the_others(ride, four_drivers):
    offers = offer_wave(ride_id=ride.pk)
    ride = offer_accept(offer_id=offers[1].pk, actor=offers[1].driver.membership.user)
    assert (ride.state, ride.driver) == (RideState.ACCEPTED, offers[1].driver)
    states = dict(Offer.objects.values_list("driver__membership__user__full_name", "state"))
    assert states == {"Anna": "withdrawn", "Bo": "accepted", "Cecilia": "withdrawn"}
    assert (
        four_drivers[0].membership.user.notifications.filter(kind="ride.offer_withdrawn").exists()
    )


def test_late_accept_loses_with_a_kind_message(ride, four_drivers):
    offers = offer_wave(ride_id=ride.pk)
    offer_accept(offer_id=offers[0].pk, actor=offers[0].driver.membership.user)
    with pytest.raises(ApplicationError) as refused:
        offer_accept(offer_id=offers[1].pk, actor=offers[1].driver.membership.user)
    assert refused.value.code == "ride_already_accepted"


@pytest.mark.parametrize("change", ["role taken away", "suspended"])
def test_an_offer_is_not_accepted_by_someone_no_longer_a_driver(
    ride, four_drivers, coordinator, change
):
    offers = offer_wave(ride_id=ride.pk)
    membership = offers[0].driver.membership
    if change == "role taken away":
        membership_set_roles(actor=coordinator, membership=membership, roles=["member"])
    else:
        membership_suspend(actor=coordinator, membership=membership, reason="Körkortet indraget.")
    with pytest.raises(ApplicationError) as refused:
        offer_accept(offer_id=offers[0].pk, actor=membership.user)
    assert (refused.value.code, refused.value.kind) == ("not_driver", "conflict")
    ride.refresh_from_db()
    assert (ride.state, ride.driver) == (RideState.OFFERING, None)
    assert Offer.objects.get(pk=offers[0].pk).state == OfferState.PENDING


def test_a_driver_holding_a_ride_is_not_suspended_until_it_is_given_to_another(
    ride, four_drivers, coordinator
):
    offers = offer_wave(ride_id=ride.pk)
    offer_accept(offer_id=offers[0].pk, actor=offers[0].driver.membership.user)
    membership = offers[0].driver.membership
    with translation.override("en"), pytest.raises(ApplicationError) as refused:
        membership_suspend(actor=coordinator, membership=membership, reason="Körkortet indraget.")
    assert refused.value.code == "driver_holds_rides"
    assert "holds 1 ride: give it to another driver first, then suspend" in str(
        refused.value.message
    )
    membership.refresh_from_db()
    assert membership.state == "active"


def test_nobody_accepts_someone_elses_offer(ride, four_drivers):
    offers = offer_wave(ride_id=ride.pk)
    with pytest.raises(ApplicationError) as refused:
        offer_accept(offer_id=offers[0].pk, actor=offers[1].driver.membership.user)
    assert refused.value.code == "offer_not_found"


def test_when_the_whole_wave_declines_the_next_wave_goes_out(
    ride, four_drivers, settings, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.RIDES_OFFER_WAVE_SIZE = 2
    first = offer_wave(ride_id=ride.pk)
    with django_capture_on_commit_callbacks(execute=True):
        for offer in first:
            offer_decline(offer_id=offer.pk, actor=offer.driver.membership.user)
    ride.refresh_from_db()
    assert ride.wave == 2
    second = Offer.objects.filter(ride=ride, wave=2).order_by("rank")
    assert [o.driver.membership.user.full_name for o in second] == ["Cecilia", "David"]


def test_a_stale_wave_timeout_does_nothing(ride, four_drivers):
    offers = offer_wave(ride_id=ride.pk)
    offer_accept(offer_id=offers[0].pk, actor=offers[0].driver.membership.user)
    assert wave_timeout(ride.pk, 1) == 0
    assert Offer.objects.count() == 3


def test_a_wider_radius_finds_the_driver_just_out_of_reach(ride, association, settings):
    settings.RIDES_WAVE_RADIUS_FACTOR = 2.0
    # About 9 km east of the pickup, with a 6 km radius: only the second wave (12 km) reaches.
    far = available_driver(association, "Erik", lon=14.39, radius=6_000)
    offers = offer_wave(ride_id=ride.pk)
    assert [(o.driver, o.wave) for o in offers] == [(far, 2)]


def test_with_nobody_left_the_coordinators_are_alerted(ride, coordinator):
    assert offer_wave(ride_id=ride.pk) == []
    ride.refresh_from_db()
    assert ride.state == RideState.UNASSIGNED
    alert = coordinator.notifications.get(kind="ride.unassigned")
    assert (alert.urgent, alert.payload["village"]) == (True, "Vansbro")


def test_coordinator_assigns_by_hand_and_the_offers_are_withdrawn(ride, four_drivers, coordinator):
    offers = offer_wave(ride_id=ride.pk)
    ride = ride_assign_by_coordinator(ride_id=ride.pk, driver=four_drivers[3], actor=coordinator)
    assert (ride.state, ride.driver) == (RideState.ACCEPTED, four_drivers[3])
    assert Offer.objects.get(driver=four_drivers[3]).manual is True
    assert all(Offer.objects.get(pk=o.pk).state == OfferState.WITHDRAWN for o in offers)
    assert four_drivers[3].membership.user.notifications.filter(kind="ride.assigned").exists()


def test_only_a_coordinator_assigns(ride, four_drivers, rider):
    with pytest.raises(ApplicationError):
        ride_assign_by_coordinator(ride_id=ride.pk, driver=four_drivers[0], actor=rider)
    assert RideRequest.objects.get(pk=ride.pk).driver is None


def test_a_driver_accepts_by_sms_reply(ride, four_drivers):
    offers = offer_wave(ride_id=ride.pk)
    driver_user = offers[0].driver.membership.user
    code = SmsReplyCode.objects.get(recipient=driver_user)
    answer = REPLY_ACTIONS[code.action](
        ReplyContext(responder=driver_user, object_id=code.object_id, accepted=True)
    )
    assert answer.startswith("Tack! Resan") or answer.startswith("Thank you! The ride")
    assert RideRequest.objects.get(pk=ride.pk).driver == offers[0].driver


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_escalation_runs_on_a_real_worker_wave_after_wave(ride, association, coordinator, settings):
    """Nobody answers: the worker's timed tasks send wave 2, then alert the coordinator."""
    settings.RIDES_OFFER_TIMEOUT = 1
    settings.RIDES_OFFER_WAVES = 2
    settings.RIDES_OFFER_WAVE_SIZE = 1
    available_driver(association, "Anna", lon=14.23)
    available_driver(association, "Bo", lon=14.26)
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        from dispatch.tasks import run_dispatch

        run_dispatch.delay(ride.pk)
        deadline = clock.monotonic() + 30
        while clock.monotonic() < deadline:
            state = RideRequest.objects.get(pk=ride.pk).state
            if state == RideState.UNASSIGNED:
                break
            clock.sleep(0.2)
    connection.close()
    ride.refresh_from_db()
    assert ride.state == RideState.UNASSIGNED
    assert list(Offer.objects.order_by("wave").values_list("wave", "state")) == [
        (1, "expired"),
        (2, "expired"),
    ]
    assert coordinator.notifications.filter(kind="ride.unassigned").count() == 1


def test_a_request_left_waiting_is_picked_up_by_the_sweeper(ride, four_drivers, settings):
    from datetime import timedelta

    from django.utils import timezone

    from dispatch.tasks import dispatch_waiting_rides

    settings.CELERY_TASK_ALWAYS_EAGER = True
    fresh = RideRequestFactory(rider=ride.rider, association=ride.association, state="requested")
    RideRequest.objects.filter(pk=ride.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    assert dispatch_waiting_rides() == 1
    ride.refresh_from_db()
    fresh.refresh_from_db()
    assert (ride.state, ride.offers.count()) == (RideState.OFFERING, 3)
    assert fresh.state == RideState.REQUESTED

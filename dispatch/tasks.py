"""Celery tasks of dispatch: thin, take ids, safe to run twice."""

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from backend.carpool import services as carpool_services
from backend.rides.models import RideRequest, RideState
from dispatch import batch, offers


@shared_task
def run_dispatch(ride_id: int, wave: int | None = None) -> int:
    """Send the next wave of offers for a ride that still needs a driver. `wave` is the
    ride's wave when this was queued: a second delivery of the same task finds the ride
    past it and does nothing. (None, from tasks queued before the argument existed,
    sends the next wave whatever the current one is.)"""
    return len(offers.offer_wave(ride_id=ride_id, after_wave=wave))


@shared_task
def wave_timeout(ride_id: int, wave: int) -> int:
    """A wave's time is up: if that wave is still the current one and nobody accepted,
    send the next. A stale timeout (the ride moved on) does nothing."""
    if not RideRequest.objects.filter(pk=ride_id, state=RideState.OFFERING, wave=wave).exists():
        return 0
    return len(offers.offer_wave(ride_id=ride_id, after_wave=wave))


@shared_task
def dispatch_waiting_rides() -> int:
    """Beat, every two minutes: start dispatch for requests still waiting for their first
    wave (queued while the broker was down, or loaded as demo data). Safe to overlap with
    run_dispatch: offer_wave locks the ride."""
    waiting = RideRequest.objects.filter(
        state=RideState.REQUESTED, created_at__lt=timezone.now() - timedelta(minutes=1)
    ).values_list("pk", "wave")[:500]
    for ride_id, wave in waiting:
        run_dispatch.delay(ride_id, wave)
    return len(waiting)


@shared_task
def plan_tomorrow() -> int:
    """Beat, daily at 19:00: plan tomorrow's rides that have no driver, one plan per
    association, and tell its coordinators. Safe to run twice: an association that already
    has a plan for the day is left alone."""
    return len(batch.plans_for_day(day=timezone.localdate() + timedelta(days=1)))


# --- Carpooling ---------------------------------------------------------------------------


@shared_task
def carpool_trip_alerts(trip_id: int) -> int:
    """After a trip is published: notify the ride alerts it matches (once each)."""
    # Imported here: dispatch.carpool schedules this task, so it imports this module.
    from dispatch.carpool import trip_alerts_send

    return trip_alerts_send(trip_id=trip_id)


@shared_task
def carpool_extend_departures() -> int:
    """Nightly: departures of recurring trips up to CARPOOL_HORIZON_DAYS ahead. A trip that
    got new departures is matched against the ride alerts again (still once per trip and
    alert), so a monthly trip or one starting weeks ahead alerts when its departures appear."""
    from dispatch.carpool import trip_alerts_send

    extended = carpool_services.trips_materialise()
    for trip_id in extended:
        trip_alerts_send(trip_id=trip_id)
    return sum(extended.values())


# Shop runs: their tasks live in their own module; importing it registers them.
from dispatch.shop_run_tasks import (  # noqa: E402, F401
    offer_run,
    offer_runs_without_drivers,
    plan_run,
    plan_stale_runs,
)

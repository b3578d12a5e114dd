"""Celery tasks of dispatch: thin, take ids, safe to run twice."""

from celery import shared_task

from backend.rides.models import RideRequest, RideState
from dispatch import offers


@shared_task
def run_dispatch(ride_id: int) -> int:
    """Send the next wave of offers for a ride that still needs a driver."""
    return len(offers.offer_wave(ride_id=ride_id))


@shared_task
def wave_timeout(ride_id: int, wave: int) -> int:
    """A wave's time is up: if that wave is still the current one and nobody accepted,
    send the next. A stale timeout (the ride moved on) does nothing."""
    if not RideRequest.objects.filter(pk=ride_id, state=RideState.OFFERING, wave=wave).exists():
        return 0
    return len(offers.offer_wave(ride_id=ride_id))

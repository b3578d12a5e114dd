"""Celery tasks of shop runs: thin, safe to run twice."""

from celery import shared_task

from backend.shuttle import services


@shared_task
def materialise_occurrences() -> int:
    """Beat, daily: occurrences for the coming SHUTTLE_HORIZON_DAYS, with the standing
    sign-ups on each new one. Occurrences are unique per schedule and date."""
    return services.occurrences_materialise_all()


@shared_task
def expire_seat_offers() -> int:
    """Beat, every five minutes: seats offered from the waitlist and not taken in time
    go to the next person."""
    return services.seat_offers_expire()

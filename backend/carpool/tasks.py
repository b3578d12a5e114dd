from celery import shared_task

from backend.carpool.services import occurrences_advance, trips_materialise


@shared_task
def materialise_occurrences() -> int:
    """Nightly: departures of recurring trips up to CARPOOL_HORIZON_DAYS ahead."""
    return trips_materialise()


@shared_task
def advance_occurrences() -> list[int]:
    """Every five minutes: departed and completed departures; unanswered requests end."""
    return list(occurrences_advance())

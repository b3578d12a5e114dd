from celery import shared_task

from backend.carpool.services import occurrences_advance

# The nightly extension of recurring trips is dispatch.tasks.carpool_extend_departures:
# new departures are matched against ride alerts, which live in dispatch.


@shared_task
def advance_occurrences() -> list[int]:
    """Every five minutes: departed and completed departures; unanswered requests end."""
    return list(occurrences_advance())

from celery import shared_task

from backend.rides.services import rides_forget_addresses


@shared_task
def forget_old_addresses() -> int:
    """Daily: drop exact addresses of rides closed longer ago than the retention period."""
    return rides_forget_addresses()

from celery import shared_task

from backend.rides.availability import availability_windows_roll
from backend.rides.services import rides_forget_addresses


@shared_task
def forget_old_addresses() -> int:
    """Daily: drop exact addresses of rides closed longer ago than the retention period."""
    return rides_forget_addresses()


@shared_task
def roll_availability_windows() -> int:
    """Hourly: keep the drivers' availability windows built for the coming days (see
    backend.rides.availability). Safe to run twice."""
    return availability_windows_roll()

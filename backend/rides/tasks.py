from celery import shared_task

from backend.privacy.retention import rides_forget_old_places
from backend.rides.availability import availability_windows_roll


@shared_task
def forget_old_addresses() -> int:
    """Daily: addresses, notes and exact points of rides closed longer ago than
    RIDES_RETENTION_DAYS (backend/privacy/retention.py)."""
    return rides_forget_old_places()


@shared_task
def roll_availability_windows() -> int:
    """Hourly: keep the drivers' availability windows built for the coming days (see
    backend.rides.availability). Safe to run twice."""
    return availability_windows_roll()

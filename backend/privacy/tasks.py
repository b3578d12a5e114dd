"""Retention on Celery beat (schedules in settings, "Privacy"). Each task calls one
service of backend/privacy/retention.py and is safe to run twice."""

from celery import shared_task

from backend.privacy.retention import driver_positions_drop_stale, personal_data_forget_old


@shared_task
def forget_old_personal_data() -> dict[str, int]:
    """Daily: what each retention period has run out for (counts per job)."""
    return personal_data_forget_old()


@shared_task
def drop_stale_driver_positions() -> int:
    """Every few minutes: drivers' live positions older than their period."""
    return driver_positions_drop_stale()

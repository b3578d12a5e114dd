from celery import shared_task

from backend.sharing.services import bookings_mark_overdue


@shared_task
def mark_overdue_bookings() -> int:
    """Every few minutes: late returns become overdue; bookers and next bookers are told."""
    return bookings_mark_overdue()

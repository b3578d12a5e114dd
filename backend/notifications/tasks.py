"""Celery tasks for notifications: thin, idempotent, take ids."""

from celery import shared_task
from django.conf import settings

from backend.notifications import reminders, services
from backend.notifications.errors import TransientDeliveryError


@shared_task(bind=True, max_retries=None, acks_late=True)
def deliver(self, delivery_id: int) -> str:
    """Send one delivery. A provider 5xx or time-out retries with exponential backoff up
    to NOTIFY_MAX_RETRIES; then the delivery is marked failed. Safe to run twice: the
    delivery row is locked and only a pending delivery is sent."""
    final = self.request.retries >= settings.NOTIFY_MAX_RETRIES
    try:
        outcome = services.delivery_attempt(delivery_id=delivery_id, final=final)
    except TransientDeliveryError as error:
        countdown = settings.NOTIFY_RETRY_BACKOFF * 2**self.request.retries
        raise self.retry(exc=error, countdown=countdown) from error
    return outcome.status


@shared_task
def send_due_reminders() -> int:
    """Run by Celery beat every minute. Safe when beat restarts or two workers run it."""
    return reminders.reminders_send_due()


@shared_task
def requeue_stale_deliveries() -> int:
    """Deliveries still pending long after they were due (the broker was down when they
    were queued, or a worker died): queue them again."""
    return services.deliveries_requeue_stale()

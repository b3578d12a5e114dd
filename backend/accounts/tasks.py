"""Celery tasks for accounts: thin, idempotent, take ids."""

from celery import shared_task
from django.conf import settings

from backend.accounts import proxy_invitations
from backend.notifications.errors import TransientDeliveryError


@shared_task(bind=True, max_retries=None, acks_late=True)
def send_proxy_invitation_sms(self, invitation_id: int) -> str:
    """Send one invitation's SMS. A provider 5xx or time-out retries with exponential
    backoff up to NOTIFY_MAX_RETRIES, like a notification's SMS. Safe to run twice: the
    invitation row is locked and its SMS goes once."""
    final = self.request.retries >= settings.NOTIFY_MAX_RETRIES
    try:
        return proxy_invitations.proxy_invitation_sms_send(invitation_id=invitation_id, final=final)
    except TransientDeliveryError as error:
        countdown = settings.NOTIFY_RETRY_BACKOFF * 2**self.request.retries
        raise self.retry(exc=error, countdown=countdown) from error


@shared_task
def send_waiting_proxy_invitation_sms() -> int:
    """Run by Celery beat every ten minutes: invitation SMS held back by quiet hours or
    an outage."""
    return proxy_invitations.proxy_invitations_sms_sweep()

"""Celery tasks for associations: thin, idempotent, take ids."""

from celery import shared_task

from backend.community import services


@shared_task
def deliver_association_message(message_id: int) -> int | None:
    """Notify every recipient of a coordinator's message, queued when it is committed.
    Safe to run twice (a redelivery after a worker died, the sweep beside it): the
    message row is locked and marked delivered with the notifications, so the second
    run finds it delivered and returns None."""
    return services.association_message_deliver(message_id=message_id)


@shared_task
def deliver_waiting_association_messages() -> int:
    """Beat, every five minutes: messages whose delivery was not queued (the broker was
    down) or failed, queued again."""
    return services.association_messages_deliver_waiting()

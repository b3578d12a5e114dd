"""Dead letters: a task that failed for good (its own retries used up, or an error it
does not retry) is logged once at ERROR on the `samby.deadletter` logger, with everything
needed to run it again by hand (`celery -A backend call <task> --args '<args>'`).

The message itself is acknowledged (task_acks_on_failure_or_timeout), so a failing
message is not redelivered for ever. A message that kills its worker instead of failing
is stopped by the delivery count (backend/task_deliveries.py). Both kinds are also kept
in the dead-letter list in Redis (`manage.py dead_letters`), next to the log line.
"""

import logging

from celery.signals import (
    setup_logging,
    task_failure,
    task_postrun,
    task_prerun,
    task_rejected,
    task_unknown,
)
from django.db import close_old_connections
from django.utils import timezone

from backend.task_deliveries import dead_letter_record

logger = logging.getLogger("samby.deadletter")


@task_failure.connect
def log_dead_letter(
    sender=None, task_id=None, exception=None, args=None, kwargs=None, einfo=None, **_rest
) -> None:
    request = getattr(sender, "request", None)
    if not getattr(request, "is_eager", False):  # eager: no message, the caller has the error
        dead_letter_record(
            {
                "task": getattr(sender, "name", str(sender)),
                "task_id": task_id,
                "task_args": list(args or ()),
                "task_kwargs": dict(kwargs or {}),
                "retries": getattr(request, "retries", None),
                "error": f"{type(exception).__name__}: {exception}",
                "reason": "failed for good",
                "at": timezone.now().isoformat(),
            }
        )
    logger.error(
        "task %s[%s] failed for good: %s: %s",
        getattr(sender, "name", sender),
        task_id,
        type(exception).__name__,
        exception,
        extra={
            "dead_letter": True,
            "task": getattr(sender, "name", str(sender)),
            "task_id": task_id,
            "task_args": list(args or ()),
            "task_kwargs": dict(kwargs or {}),
            "retries": getattr(request, "retries", None),
            "error": f"{type(exception).__name__}: {exception}",
        },
        exc_info=(type(exception), exception, exception.__traceback__) if exception else None,
    )


@task_unknown.connect
@task_rejected.connect
def log_unroutable(sender=None, message=None, name=None, **_rest) -> None:
    """A message no worker can run (a task renamed or removed in a deploy)."""
    logger.error(
        "message for task %s dropped: no such task here",
        name or getattr(message, "headers", {}).get("task"),
        extra={"dead_letter": True, "task": name, "body": getattr(message, "body", None)},
    )


@setup_logging.connect
def use_the_app_logging(**_kwargs) -> None:
    """Workers and beat log like the web processes (settings.LOGGING: one JSON object a
    line in production) instead of in Celery's own text format, so the fields a dead
    letter is logged with (`extra=`) reach the log collector."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)


@task_prerun.connect
@task_postrun.connect
def hand_back_database_connections(sender=None, **_rest) -> None:
    """Around each task, what Django does around each request: a connection goes back to
    the pool (production), or is closed when it is past DATABASE_CONN_MAX_AGE or broken.
    Celery's own Django fix-up would close them all, and the pool with them, so every task
    started a new PostgreSQL server process (settings.CELERY_DB_REUSE_MAX turns that off).
    An eager task runs inside its caller, whose connection it must leave alone."""
    if not getattr(getattr(sender, "request", None), "is_eager", False):
        close_old_connections()

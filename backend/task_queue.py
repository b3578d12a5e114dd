"""Queueing a Celery task from a request or a service, which must succeed even while
the broker is down."""

import logging

from celery import Task

logger = logging.getLogger(__name__)


def queue_or_leave_to_sweep(task: Task, *args: object, what: str) -> None:
    """Queue `task` with `args`. With the broker down the error is logged and nothing is
    raised: what the task was for is already saved, and the beat sweep that looks for
    `what` still waiting (each caller has one) queues it later."""
    try:
        task.delay(*args)
    except Exception:
        logger.exception("%s not queued; the sweep will queue it", what)

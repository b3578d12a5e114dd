"""Poison messages: a task that kills its worker every time it runs.

Tasks are acknowledged late and their message goes back to the queue when the worker
process dies (CELERY_TASK_ACKS_LATE, CELERY_TASK_REJECT_ON_WORKER_LOST), so a task whose
run kills the process (out of memory, a crash in a C library) would be handed out for
ever, taking a worker down each time. Every task therefore counts its deliveries in
Redis before it runs (key `celery:deliveries:<task id>:<retries>`, expiring; a retry is
a new message with the same id and counts afresh). Past CELERY_MAX_DELIVERIES the task
is not run: it is logged once at ERROR on `samby.deadletter`, pushed to the dead-letter
list in Redis (`DEAD_LETTER_KEY`, newest first, see `manage.py dead_letters`) and its
message acknowledged.

When Redis cannot be reached the task runs uncounted (the broker is Redis too, so this
is a task already received): losing the count is better than losing the task.
"""

import json
import logging
from functools import cache
from typing import Any

import redis
from celery import Task
from celery.exceptions import Ignore
from django.conf import settings
from django.utils import timezone

logger = logging.getLogger("samby.deadletter")

DEAD_LETTER_KEY = "samby:deadletters"
DEAD_LETTERS_KEPT = 1000


@cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)


def redis_client() -> redis.Redis:
    """One client per process and Redis URL (the settings' REDIS_URL)."""
    return _client(settings.REDIS_URL)


def delivery_count(*, task_id: str, retries: int) -> int:
    """Count one delivery of the message and return how many there have been. The key
    outlives as many visibility timeouts as deliveries allowed, so a redelivery after a
    whole worker died (the message comes back only after the visibility timeout) still
    finds the count."""
    key = f"celery:deliveries:{task_id}:{retries}"
    ttl = max(86400, (settings.CELERY_MAX_DELIVERIES + 1) * settings.CELERY_VISIBILITY_TIMEOUT)
    pipe = redis_client().pipeline()
    pipe.incr(key)
    pipe.expire(key, ttl)
    count, _expiry = pipe.execute()
    return int(count)


def dead_letter_record(entry: dict[str, Any]) -> None:
    """Keep a dead letter where an operator finds it: newest first, the last
    DEAD_LETTERS_KEPT. Redis unreachable: the log line is the record."""
    try:
        pipe = redis_client().pipeline()
        pipe.lpush(DEAD_LETTER_KEY, json.dumps(entry, default=str))
        pipe.ltrim(DEAD_LETTER_KEY, 0, DEAD_LETTERS_KEPT - 1)
        pipe.execute()
    except redis.RedisError:
        logger.warning("dead letter of task %s not stored: Redis unreachable", entry.get("task_id"))


def dead_letters(*, limit: int = 100) -> list[dict[str, Any]]:
    """The stored dead letters, newest first."""
    return [json.loads(raw) for raw in redis_client().lrange(DEAD_LETTER_KEY, 0, limit - 1)]


class CountedTask(Task):
    """The base class of every task of the app (`task_cls` in backend/celery.py)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        request = self.request
        # Called as a function, or eagerly: no message, nothing to count.
        if request.id and not request.called_directly and not request.is_eager:
            self._refuse_poison(request, args, kwargs)
        return super().__call__(*args, **kwargs)

    def _refuse_poison(self, request, args: tuple, kwargs: dict) -> None:
        retries = request.retries or 0
        try:
            count = delivery_count(task_id=request.id, retries=retries)
        except redis.RedisError:
            logger.warning("deliveries of task %s[%s] not counted", self.name, request.id)
            return
        if count <= settings.CELERY_MAX_DELIVERIES:
            return
        entry = {
            "task": self.name,
            "task_id": request.id,
            "task_args": list(args),
            "task_kwargs": dict(kwargs),
            "retries": retries,
            "deliveries": count,
            "reason": "redelivered too often: the task may kill its worker",
            "at": timezone.now().isoformat(),
        }
        logger.error(
            "task %s[%s] dead-lettered after %s deliveries: not run",
            self.name,
            request.id,
            count - 1,
            extra={"dead_letter": True, **entry},
        )
        dead_letter_record(entry)
        raise Ignore()  # acknowledged, not run

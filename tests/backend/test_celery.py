"""The Celery app is wired to Django and reaches a real worker through Redis."""

import celery.contrib.testing.tasks  # noqa: F401 - registers the built-in ping task
import pytest
from celery.contrib.testing.worker import start_worker

from backend.celery import app


def test_celery_reads_django_settings(settings):
    assert app.conf.broker_url == settings.CELERY_BROKER_URL
    assert settings.CELERY_BROKER_URL.startswith("redis://")
    assert app.conf.task_acks_late is True
    assert app.conf.timezone == "Europe/Stockholm"


@pytest.mark.django_db(transaction=True)
def test_a_task_round_trips_through_the_redis_broker_to_a_worker():
    # start_worker sends the built-in ping task through the broker and waits for the
    # result from the result backend: both are the real Redis here.
    with start_worker(app, pool="solo", perform_ping_check=True, shutdown_timeout=10):
        pass

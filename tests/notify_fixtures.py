"""Shared fixtures for tests that send SMS, e-mail or push: delivery now, whatever the
time of day the tests run at. Loaded for every test by tests/conftest.py."""

from datetime import timedelta

import pytest
from django.utils import timezone

from backend.notifications.selectors import STOCKHOLM


@pytest.fixture
def outside_quiet_hours(settings):
    """Default quiet hours a minute long, twelve hours from now: these tests do not
    depend on the time of day they run at."""
    later = timezone.now().astimezone(STOCKHOLM) + timedelta(hours=12)
    start = later.time().replace(second=0, microsecond=0)
    end = (later + timedelta(minutes=1)).time().replace(second=0, microsecond=0)
    settings.NOTIFY_QUIET_HOURS = (start, end)


@pytest.fixture
def eager(settings, outside_quiet_hours):
    """The deliver task runs in-process when queued, and its errors reach the test."""
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.CELERY_TASK_EAGER_PROPAGATES = True
    settings.NOTIFY_RETRY_BACKOFF = 0

"""Dead letters are logged; rate limits let requests through while Redis is down."""

import logging

import celery.contrib.testing.tasks  # noqa: F401 - registers the ping start_worker waits for
import pytest
from celery.contrib.testing.worker import start_worker

from backend.celery import app
from backend.task_deliveries import dead_letters


@app.task(bind=True, max_retries=2, default_retry_delay=0)
def always_fails(self, ride_id: int) -> None:
    raise self.retry(exc=RuntimeError(f"provider down for ride {ride_id}"))


class ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_task_that_fails_for_good_is_logged_once_as_a_dead_letter():
    # On the logger itself: the worker reconfigures the root logger (and caplog with it).
    records = ListHandler()
    logging.getLogger("samby.deadletter").addHandler(records)
    try:
        with start_worker(app, pool="solo", perform_ping_check=True, shutdown_timeout=10):
            result = always_fails.delay(42)
            with pytest.raises(RuntimeError, match="provider down for ride 42"):
                result.get(timeout=20)
    finally:
        logging.getLogger("samby.deadletter").removeHandler(records)
    [record] = records.records
    assert record.task == f"{__name__}.always_fails"
    assert record.task_id == result.id
    assert (record.task_args, record.task_kwargs) == ([42], {})
    assert record.retries == 2  # tried three times in all, then gave up
    assert record.error == "RuntimeError: provider down for ride 42"
    # Kept where `manage.py dead_letters` shows it, too.
    [stored] = [entry for entry in dead_letters() if entry["task_id"] == result.id]
    assert (stored["task_args"], stored["reason"]) == ([42], "failed for good")


@pytest.fixture
def redis_down(settings):
    """The cache (throttle counters) pointed at a port where nothing listens."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }


@pytest.fixture(autouse=True)
def _empty_cache():
    """Overrides the suite's cache.clear(): the cache here may be unreachable."""
    yield


@pytest.mark.django_db
def test_rate_limits_let_requests_through_while_redis_is_down(redis_down, api_as, caplog):
    from tests.factories import UserFactory

    response = api_as(UserFactory()).get("/api/v1/auth/me")
    assert response.status_code == 200
    assert "rate limit UserRateThrottle not checked: Redis unreachable" in caplog.text


@pytest.mark.django_db
def test_login_works_while_redis_is_down(redis_down, api):
    from tests.factories import UserFactory

    user = UserFactory(phone="+46701234567")
    user.set_password("ett långt lösenord")
    user.save()
    response = api.post(
        "/api/v1/auth/login", {"identifier": "070-123 45 67", "password": "ett långt lösenord"}
    )
    assert response.status_code == 200, response.content

"""Storage and pool settings (read in a fresh interpreter) and the late-return task
through a real Celery worker."""

import datetime
import os
import subprocess
import sys
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.utils import timezone

from backend.celery import app
from backend.notifications.models import Notification
from backend.sharing.models import BookingStatus
from backend.sharing.tasks import mark_overdue_bookings
from tests.sharing_fixtures import BookingFactory

ROOT = Path(__file__).resolve().parents[3]
PRINT = (
    "import django; django.setup(); from django.conf import settings; "
    "print(settings.STORAGES['default']['BACKEND']); "
    "print(settings.DATABASES['default'].get('OPTIONS', {}).get('pool'))"
)


def load(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MEDIA_"))}
    clean.update(env, DJANGO_SETTINGS_MODULE="backend.settings", DJANGO_ENV="local")
    return subprocess.run(
        [sys.executable, "-c", PRINT],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_files_go_to_the_file_system_by_default():
    result = load()
    assert result.stdout.splitlines() == ["django.core.files.storage.FileSystemStorage", "None"]


def test_s3_storage_through_django_storages():
    result = load(
        MEDIA_STORAGE="s3",
        AWS_STORAGE_BUCKET_NAME="samby-media",
        AWS_S3_ENDPOINT_URL="https://s3.example.se",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "storages.backends.s3.S3Storage"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"MEDIA_STORAGE": "s3"}, "AWS_STORAGE_BUCKET_NAME"),
        ({"MEDIA_STORAGE": "ftp"}, "MEDIA_STORAGE must be filesystem or s3"),
    ],
    ids=["s3-without-bucket", "unknown-storage"],
)
def test_bad_storage_settings_refuse_to_start(env, message):
    result = load(**env)
    assert result.returncode != 0
    assert message in result.stderr


def test_connection_pool_when_asked_for():
    result = load(DATABASE_POOL_MAX_SIZE="7")
    assert result.stdout.splitlines()[1] == "{'min_size': 1, 'max_size': 7, 'timeout': 10}"


def test_beat_runs_the_late_return_sweep():
    entry = settings.CELERY_BEAT_SCHEDULE["sharing-mark-overdue"]
    assert entry["task"] == "backend.sharing.tasks.mark_overdue_bookings"


@pytest.mark.django_db(transaction=True)
def test_late_return_sweep_runs_on_a_real_worker(trailer, member):
    now = timezone.now()
    late = BookingFactory(
        resource=trailer,
        booker=member,
        status=BookingStatus.CHECKED_OUT,
        starts_at=now - datetime.timedelta(hours=3),
        ends_at=now - datetime.timedelta(hours=1),
        blocked_until=now - datetime.timedelta(hours=1),
    )
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        assert mark_overdue_bookings.delay().get(timeout=30) == 1
    late.refresh_from_db()
    assert late.status == BookingStatus.OVERDUE
    assert Notification.objects.get(recipient=member).kind == "sharing.overdue"

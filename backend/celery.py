"""The Celery app. Tasks live in each package's `tasks.py` and are found automatically."""

import os

from celery import Celery

from backend import celery_signals  # noqa: F401 - connects the dead-letter log

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")

# Every task counts its deliveries, so a message that kills its worker is not redelivered
# for ever (backend/task_deliveries.py).
app = Celery("samby", task_cls="backend.task_deliveries:CountedTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

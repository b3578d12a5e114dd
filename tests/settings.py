"""Settings for the test suite: the real stack, kept apart from a developer's data.

Tests use their own Redis database (15, or SAMBY_TEST_REDIS_DB to run two suites at
once) so clearing it never touches a running app's sessions, cache or queues; and a fast
password hasher.
"""

import os

from backend.env import redis_url_with_db

os.environ["REDIS_URL"] = redis_url_with_db(
    os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
    int(os.environ.get("SAMBY_TEST_REDIS_DB", "15")),
)
os.environ.setdefault("DJANGO_ENV", "test")

from backend.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

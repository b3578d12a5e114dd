"""Settings are read in a fresh interpreter: the module runs once per process."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRINT_SETTINGS = (
    "import django; django.setup(); from django.conf import settings; "
    "print(settings.DEBUG, settings.SECRET_KEY[:6])"
)


def load_settings(**env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"SECRET_KEY", "DJANGO_ENV", "DJANGO_DEBUG", "ALLOWED_HOSTS"}
    }
    clean.update(env, DJANGO_SETTINGS_MODULE="backend.settings")
    return subprocess.run(
        [
            sys.executable,
            "-c",
            PRINT_SETTINGS,
        ],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_without_secret_key_refuses_to_start():
    result = load_settings(DJANGO_ENV="production", ALLOWED_HOSTS="samby.example.se")
    assert result.returncode != 0
    assert "ImproperlyConfigured: Set the environment variable SECRET_KEY." in result.stderr


def test_production_with_debug_refuses_to_start():
    result = load_settings(
        DJANGO_ENV="production", SECRET_KEY="s" * 50, ALLOWED_HOSTS="x.se", DJANGO_DEBUG="true"
    )
    assert result.returncode != 0
    assert "DJANGO_DEBUG must be off in production." in result.stderr


def test_production_without_allowed_hosts_refuses_to_start():
    result = load_settings(DJANGO_ENV="production", SECRET_KEY="s" * 50)
    assert result.returncode != 0
    assert "Set ALLOWED_HOSTS" in result.stderr


def test_production_with_what_it_needs_starts_with_debug_off():
    result = load_settings(DJANGO_ENV="production", SECRET_KEY="prodkey" * 8, ALLOWED_HOSTS="x.se")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "prodke"]


def test_local_defaults_start_with_debug_off():
    result = load_settings()
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "False"


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("DJANGO_DEBUG", "maybe", "DJANGO_DEBUG must be true or false, not 'maybe'."),
        ("DATABASE_CONN_MAX_AGE", "ten", "DATABASE_CONN_MAX_AGE must be a whole number"),
        ("DJANGO_ENV", "staging", "DJANGO_ENV must be local, test or production."),
    ],
    ids=["debug-not-a-boolean", "conn-max-age-not-a-number", "unknown-environment"],
)
def test_malformed_values_are_named_in_the_error(variable, value, message):
    result = load_settings(**{variable: value})
    assert result.returncode != 0
    assert message in result.stderr


def test_channel_layer_disables_the_redis_socket_timeout(settings):
    # Without this, idle websockets die every 5 s with redis-py 8 (channels_redis #422).
    host = settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0]
    assert host["socket_timeout"] is None


def test_swedish_first_and_stockholm_time(settings):
    assert settings.LANGUAGE_CODE == "sv"
    assert [code for code, _ in settings.LANGUAGES] == ["sv", "en"]
    assert settings.TIME_ZONE == "Europe/Stockholm"
    assert settings.USE_TZ is True

"""Production settings: `manage.py check --deploy` is clean, HTTPS is enforced, cookies
are secure, CORS is off unless configured. Settings are module-level, so production is
loaded in a fresh interpreter."""

import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DJANGO_ENV": "production",
    # 64 random-looking characters: Django's deploy check wants >= 50 and >= 5 distinct.
    "SECRET_KEY": "q7Vb2Lx9Rk4Tz1Wm8Np3Hs6Jd0Fc5Gy-" * 2,
    "ALLOWED_HOSTS": "samby.example.se",
    "SITE_URL": "https://samby.example.se",
    "NUM_PROXIES": "1",
}
SETTINGS_AS_JSON = """
import django, json
django.setup()
from django.conf import settings as s
print(json.dumps({name: getattr(s, name) for name in [
    "DEBUG", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE",
    "CSRF_TRUSTED_ORIGINS", "SECURE_PROXY_SSL_HEADER", "CORS_ALLOWED_ORIGINS",
    "SECURE_REDIRECT_EXEMPT", "CELERY_TASK_ACKS_LATE", "CELERY_TASK_REJECT_ON_WORKER_LOST",
    "CELERY_WORKER_PREFETCH_MULTIPLIER", "CELERY_BROKER_TRANSPORT_OPTIONS",
    "CELERY_TASK_TIME_LIMIT",
]}))
"""


def run(args: list[str], **env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {*PRODUCTION, "DJANGO_DEBUG", "CSRF_TRUSTED_ORIGINS", "CORS_ALLOWED_ORIGINS"}
    }
    clean.update(env, DJANGO_SETTINGS_MODULE="backend.settings")
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120
    )


def production_settings(**overrides: str) -> dict:
    return _loaded(tuple(sorted(overrides.items())))


@functools.cache
def _loaded(overrides: tuple[tuple[str, str], ...]) -> dict:
    """Each interpreter takes seconds to start Django: load each variant once."""
    result = run(["-c", SETTINGS_AS_JSON], **{**PRODUCTION, **dict(overrides)})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_check_deploy_is_clean_with_production_environment():
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNINGS" not in result.stdout + result.stderr


def test_production_enforces_https_hsts_and_secure_cookies():
    s = production_settings()
    assert s["DEBUG"] is False
    assert s["SECURE_SSL_REDIRECT"] is True
    assert s["SECURE_HSTS_SECONDS"] == 31_536_000
    assert (s["SECURE_HSTS_INCLUDE_SUBDOMAINS"], s["SECURE_HSTS_PRELOAD"]) == (True, True)
    assert (s["SESSION_COOKIE_SECURE"], s["CSRF_COOKIE_SECURE"]) == (True, True)
    # Health probes come over plain HTTP from inside the cluster.
    assert s["SECURE_REDIRECT_EXEMPT"] == [r"^healthz$"]


def test_csrf_trusts_the_public_address_unless_origins_are_given():
    assert production_settings()["CSRF_TRUSTED_ORIGINS"] == ["https://samby.example.se"]
    given = production_settings(CSRF_TRUSTED_ORIGINS="https://a.example.se,https://b.example.se")
    assert given["CSRF_TRUSTED_ORIGINS"] == ["https://a.example.se", "https://b.example.se"]


@pytest.mark.parametrize(
    ("num_proxies", "header"),
    [("0", None), ("1", ["HTTP_X_FORWARDED_PROTO", "https"])],
    ids=["no-proxy-nobody-may-claim-https", "behind-nginx-trust-its-header"],
)
def test_forwarded_proto_is_trusted_only_behind_a_proxy(num_proxies, header):
    assert production_settings(NUM_PROXIES=num_proxies)["SECURE_PROXY_SSL_HEADER"] == header


def test_cors_is_off_unless_origins_are_configured():
    assert production_settings()["CORS_ALLOWED_ORIGINS"] == []
    given = production_settings(CORS_ALLOWED_ORIGINS="https://app.example.se")
    assert given["CORS_ALLOWED_ORIGINS"] == ["https://app.example.se"]


def test_celery_is_configured_for_redelivery_of_lost_tasks():
    s = production_settings()
    assert s["CELERY_TASK_ACKS_LATE"] is True
    assert s["CELERY_TASK_REJECT_ON_WORKER_LOST"] is True
    assert s["CELERY_WORKER_PREFETCH_MULTIPLIER"] == 1
    assert s["CELERY_BROKER_TRANSPORT_OPTIONS"]["visibility_timeout"] == 3600
    # A stuck task is killed well before its message could be handed out a second time.
    assert s["CELERY_TASK_TIME_LIMIT"] < 3600


@pytest.mark.django_db
def test_api_sends_no_cors_headers_by_default(api):
    response = api.get("/api/v1/municipalities/", HTTP_ORIGIN="https://evil.example.com")
    assert "access-control-allow-origin" not in response.headers


@pytest.mark.django_db
def test_api_allows_a_configured_origin_without_credentials(api, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.se"]
    response = api.get("/api/v1/municipalities/", HTTP_ORIGIN="https://app.example.se")
    assert response.headers["access-control-allow-origin"] == "https://app.example.se"
    assert "access-control-allow-credentials" not in response.headers
    other = api.get("/api/v1/municipalities/", HTTP_ORIGIN="https://evil.example.com")
    assert "access-control-allow-origin" not in other.headers


@pytest.mark.django_db
def test_https_redirect_spares_the_health_check(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/api/v1/municipalities/")
    assert response.status_code == 301
    assert response.headers["location"] == "https://testserver/api/v1/municipalities/"
    assert client.get("/healthz").status_code in (200, 503)
    assert client.get("/healthz").status_code != 301


DATABASE_POOL = """
import django, json
django.setup()
from django.conf import settings as s
print(json.dumps(s.DATABASES["default"].get("OPTIONS", {}).get("pool")))
"""


@pytest.mark.parametrize(("threads", "connections"), [(None, 3), ("3", 4)])  # WEB_THREADS: 2
def test_production_pools_a_connection_per_request_thread_and_one_for_the_websockets(
    threads, connections
):
    # The websockets' database work (signing in, the replay) runs on asgiref's one thread
    # for thread-sensitive calls: with only a connection per request thread, a burst of
    # reconnecting phones would keep requests waiting for a connection.
    env = PRODUCTION if threads is None else {**PRODUCTION, "WEB_THREADS": threads}
    result = run(["-c", DATABASE_POOL], **env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"min_size": 1, "max_size": connections, "timeout": 10}


def test_the_database_pool_can_be_sized_or_turned_off():
    sized = run(["-c", DATABASE_POOL], **PRODUCTION, DATABASE_POOL_MAX_SIZE="10")
    assert json.loads(sized.stdout)["max_size"] == 10, sized.stderr
    off = run(["-c", DATABASE_POOL], **PRODUCTION, DATABASE_POOL_MAX_SIZE="0")
    assert json.loads(off.stdout) is None, off.stderr

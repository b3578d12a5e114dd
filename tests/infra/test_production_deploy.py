"""The production configuration as the infra files ship it (infra/k8s/configmap.yaml,
infra/docker-compose.yml with infra/env.example filled in): `manage.py check --deploy`
is clean with no security check silenced, and a production process answers pages with
HSTS, secure cookies, CSRF-checked forms, an HTTPS redirect and no CORS header for a
foreign origin. Each runs in a fresh interpreter: settings are read once per process."""

import json
import secrets

import pytest
import yaml
from django.db import connection

from tests.infra.compose import compose_filled, env_example
from tests.infra.test_production_settings import PRODUCTION, ROOT, run

pytestmark = pytest.mark.slow  # each case starts Django in a fresh interpreter

SECRET = {"SECRET_KEY": secrets.token_urlsafe(50)}
CHECK_DEPLOY = ["manage.py", "check", "--deploy", "--fail-level", "WARNING"]


def kubernetes_env() -> dict[str, str]:
    configmap = yaml.safe_load((ROOT / "infra/k8s/configmap.yaml").read_text())
    return {name: str(value) for name, value in configmap["data"].items()}


def compose_env() -> dict[str, str]:
    """The app's environment in docker-compose.yml, filled from infra/env.example."""
    compose = compose_filled(env_example())
    return {name: str(value) for name, value in compose["x-samby-env"].items()}


@pytest.mark.parametrize(
    "environment",
    [
        pytest.param(lambda: {**PRODUCTION}, id="test-production-environment"),
        pytest.param(lambda: {**kubernetes_env(), **SECRET}, id="kubernetes-configmap"),
        pytest.param(compose_env, id="docker-compose"),
    ],
)
def test_check_deploy_is_clean_with_the_shipped_production_configuration(environment):
    env = environment()
    assert env["DJANGO_ENV"] == "production"
    result = run(CHECK_DEPLOY, **env)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in result.stdout, output
    assert "WARNING" not in output and "security." not in output, output


def test_no_security_check_is_silenced():
    result = run(
        [
            "-c",
            "import django, json; django.setup(); from django.conf import settings; "
            "print(json.dumps(settings.SILENCED_SYSTEM_CHECKS))",
        ],
        **PRODUCTION,
    )
    assert result.returncode == 0, result.stderr
    silenced = json.loads(result.stdout)
    # Each with its reason in backend/settings.py; none of them about deployment security.
    assert silenced == ["auth.W004", "gis.W001"]


RESPONSES = """
import django, json
django.setup()
from django.conf import settings
from django.test import Client

# Static files are collected (hashed names, a manifest) at deploy time; here they are not.
settings.STORAGES["staticfiles"] = {
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
}

host = {"HTTP_HOST": "samby.example.se"}
browser = Client(enforce_csrf_checks=True)
page = browser.get("/sign-in", secure=True, **host)
csrf = page.cookies["csrftoken"]
plain = Client().get("/sign-in", **host)
forged = browser.post(
    "/sign-in", {"identifier": "+46701740699", "password": "x"}, secure=True, **host
)
cors = Client().get(
    "/api/v1/municipalities/", secure=True, HTTP_ORIGIN="https://evil.example.com", **host
)
print(json.dumps({
    "page": page.status_code,
    "hsts": page.headers.get("Strict-Transport-Security"),
    "nosniff": page.headers.get("X-Content-Type-Options"),
    "frame": page.headers.get("X-Frame-Options"),
    "referrer": page.headers.get("Referrer-Policy"),
    "csrf_cookie": {"secure": csrf["secure"], "samesite": csrf["samesite"]},
    "plain": [plain.status_code, plain.headers.get("Location")],
    "forged": forged.status_code,
    "cors": cors.headers.get("Access-Control-Allow-Origin"),
}))
"""


@pytest.mark.django_db(transaction=True)
def test_production_pages_carry_hsts_secure_cookies_and_refuse_forms_without_csrf():
    database = connection.settings_dict
    result = run(
        ["-c", RESPONSES],
        **PRODUCTION,
        DATABASE_URL=(
            f"postgis://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
        ),
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen == {
        "page": 200,
        "hsts": "max-age=31536000; includeSubDomains; preload",
        "nosniff": "nosniff",
        "frame": "DENY",
        "referrer": "same-origin",
        "csrf_cookie": {"secure": True, "samesite": "Lax"},
        "plain": [301, "https://samby.example.se/sign-in"],
        "forged": 403,
        "cors": None,
    }

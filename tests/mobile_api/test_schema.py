"""The OpenAPI schema and its documentation page, which must work without internet."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import schemathesis
import yaml
from django.contrib.staticfiles import finders
from schemathesis.core.transport import Response

from backend.notifications.services import notify
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# At least these; other parts of the API add theirs.
API_PATHS = {
    "/api/v1/auth/login",
    "/api/v1/auth/logout",
    "/api/v1/auth/register",
    "/api/v1/auth/me",
    "/api/v1/municipalities/",
    "/api/v1/villages/",
    "/api/v1/associations/",
    "/api/v1/associations/{id}/join",
    "/api/v1/associations/{id}/memberships/",
    "/api/v1/memberships/{id}/approve",
    "/api/v1/memberships/{id}/suspend",
    "/api/v1/memberships/{id}/roles",
    "/api/v1/memberships/{id}/release-rides",
    "/api/v1/people/",
    "/api/v1/managed-profiles/",
    "/api/v1/proxy-links/",
    "/api/v1/proxy-links/requests",
    "/api/v1/proxy-links/{resident_id}/{proxy_id}",
    "/api/v1/proxy-links/{resident_id}/{proxy_id}/accept",
    "/api/v1/associations/{id}/mileage",
    "/api/v1/associations/{id}/mileage-claims/",
    "/api/v1/mileage-claims/{id}/approve",
    "/api/v1/mileage-claims/{id}/decline",
}


def test_schema_is_openapi_3_in_yaml(api):
    response = api.get("/api/schema/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    schema = yaml.safe_load(response.content)
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "Samby API"
    assert set(schema["paths"]) >= API_PATHS
    # Only the API: not the pages, the admin, the health check or the schema itself.
    assert all(path.startswith("/api/v1/") for path in schema["paths"])


def test_schema_in_json_is_the_same(api):
    as_yaml = yaml.safe_load(api.get("/api/schema/").content)

    response = api.get("/api/schema/", {"format": "json"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")
    assert json.loads(response.content) == as_yaml


def test_schema_describes_login(api):
    schema = api.get("/api/schema/", {"format": "json"}).json()

    login = schema["paths"]["/api/v1/auth/login"]
    assert set(login) == {"post"}
    body = login["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/LoginInputRequest"}
    assert set(schema["components"]["schemas"]["LoginInputRequest"]["required"]) == {
        "identifier",
        "password",
    }
    ok = login["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/LoginOutput"}
    assert set(schema["components"]["schemas"]["LoginOutput"]["properties"]) == {"token", "user"}
    assert set(schema["components"]["securitySchemes"]) == {"cookieAuth", "tokenAuth"}


def test_schema_says_a_proxy_request_names_no_one(api):
    schema = api.get("/api/schema/", {"format": "json"}).json()
    components = schema["components"]["schemas"]

    created = schema["paths"]["/api/v1/proxy-links/"]["post"]["responses"]["201"]
    ref = created["content"]["application/json"]["schema"]["$ref"].split("/")[-1]
    assert set(components[ref]["properties"]) == {"state", "resident", "proxy_phone"}
    accept = schema["paths"]["/api/v1/proxy-links/{resident_id}/{proxy_id}/accept"]
    ok = accept["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert set(components[ok["$ref"].split("/")[-1]]["properties"]) >= {"state", "resident"}


def test_docs_work_offline(api):
    response = api.get("/api/docs/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert '<div id="swagger-ui">' in html
    sources = re.findall(r"""<(?:script|link|img)\b[^>]*?\b(?:src|href)=["']([^"']+)""", html)
    assert sources, "the page loads Swagger UI from somewhere"
    for source in sources:
        assert source.startswith("/static/"), source
        assert finders.find(source.removeprefix("/static/")), f"{source} is not in static files"
    assert not re.search(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", html, flags=re.IGNORECASE)
    assert 'url: "/api/schema/"' in html


def test_schema_generates_without_warnings():
    # Warnings mean an endpoint is documented wrongly (unknown types, guessed fields).
    result = subprocess.run(
        [sys.executable, "manage.py", "spectacular", "--validate", "--fail-on-warn"],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


def test_every_operation_documents_the_error_shape(api):
    schema = api.get("/api/schema/", {"format": "json"}).json()

    error = schema["components"]["schemas"]["Error"]
    assert error["required"] == ["error"]
    assert set(error["properties"]["error"]["required"]) == {"code", "message", "fields"}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert {"403", "404", "429"} <= set(responses), (method, path)
            if method != "get":
                assert {"400", "409"} <= set(responses), (method, path)
            if "requestBody" in operation:
                assert "415" in responses, (method, path)
            for code in ("403", "404"):
                body = responses[code]["content"]["application/json"]["schema"]
                assert body == {"$ref": "#/components/schemas/Error"}


def test_clock_times_are_documented_as_they_are_sent(api):
    """The API sends local times as "21:00", which is not OpenAPI's `format: time` (that
    needs an offset): the schema gives their pattern instead."""
    schema = api.get("/api/schema/", {"format": "json"}).json()

    quiet = schema["components"]["schemas"]["QuietHours"]["properties"]["start"]
    assert "format" not in quiet
    assert re.fullmatch(quiet["pattern"], "21:00")
    assert re.fullmatch(quiet["pattern"], "11:30:00")
    assert not re.fullmatch(quiet["pattern"], "24:00")


@pytest.mark.parametrize(
    "path", ["/api/v1/rides/abc", "/api/v1/rides/-1/cancel", "/api/v1/no-such-thing"]
)
def test_an_api_address_that_matches_nothing_is_a_json_404(api, path):
    response = api.get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "error": {"code": "not_found", "message": "Hittades inte.", "fields": {}}
    }


def test_a_page_that_matches_nothing_is_still_an_html_404(api):
    response = api.get("/no-such-page")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_schema_describes_the_notification_inbox_and_a_real_page_fits_it(api, api_as):
    document = api.get("/api/schema/", {"format": "json"}).json()
    components = document["components"]["schemas"]
    inbox = document["paths"]["/api/v1/notifications/"]["get"]["responses"]["200"]
    page = components[inbox["content"]["application/json"]["schema"]["$ref"].split("/")[-1]]
    assert set(page["properties"]) == {"count", "next", "previous", "results", "unread_count"}
    item = components[page["properties"]["results"]["items"]["$ref"].split("/")[-1]]
    assert set(item["properties"]) == {
        "type",
        "id",
        "kind",
        "title",
        "body",
        "payload",
        "urgent",
        "created_at",
        "read",
    }

    anna = UserFactory()
    notify(anna, "association.message", {"association": "Äppelbo byalag", "text": "Hej"})
    notify(anna, "membership.approved", {"association": "Äppelbo byalag"})
    response = api_as(anna).get("/api/v1/notifications/", {"page_size": 1})
    assert response.status_code == 200
    assert len(response.json()["results"]) == 1 and response.json()["next"]

    operation = schemathesis.openapi.from_dict(document)["/api/v1/notifications/"]["GET"]
    operation.validate_response(
        Response(
            status_code=response.status_code,
            headers={name.lower(): [value] for name, value in response.headers.items()},
            content=response.content,
            request=requests.Request("GET", "http://testserver/api/v1/notifications/").prepare(),
            elapsed=0.0,
            verify=True,
        )
    )

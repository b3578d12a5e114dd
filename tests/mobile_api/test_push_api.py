"""The Web Push API (key, subscribe, unsubscribe) and the service worker's address."""

from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse

from backend.notifications.models import PushSubscription
from tests.factories import UserFactory
from tests.fakes.push_service import FakeBrowser, b64url

pytestmark = pytest.mark.django_db

KEY = reverse("push-key")
SUBSCRIPTIONS = reverse("push-subscriptions")
ENDPOINT = "https://updates.push.services.mozilla.com/wpush/v2/gAAAAABn-anna"
PUBLIC_KEY = (
    "BKcfEzR4TvNEnj-XFiegGU7up0A64p2QJiqwMPGngO8EQx_WVpo_GlNXLl7E2F-UciDBTYAaPdV304lj0AuifrU"
)


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    return body["error"]


def subscriptions() -> list[tuple]:
    return list(
        PushSubscription.objects.order_by("pk").values_list("user_id", "endpoint", "p256dh", "auth")
    )


@pytest.fixture
def vapid(settings):
    settings.VAPID_PUBLIC_KEY = PUBLIC_KEY
    settings.VAPID_PRIVATE_KEY = "1T8pnS6Gvig6Q3YLEznq-EJeh8N38VyhwWqEkauX-gU"
    return settings


# --- The key -----------------------------------------------------------------------------


def test_key_is_public(api, vapid):
    response = api.get(KEY)
    assert response.status_code == 200
    assert response.json() == {"public_key": PUBLIC_KEY}


@pytest.mark.parametrize(
    ("public", "private"),
    [
        pytest.param("", "", id="no-keys"),
        pytest.param(PUBLIC_KEY, "", id="no-private-key"),
        pytest.param("", "1T8pnS6Gvig6Q3YLEznq-EJeh8N38VyhwWqEkauX-gU", id="no-public-key"),
    ],
)
def test_key_without_configuration_is_not_found(api, settings, public, private):
    settings.VAPID_PUBLIC_KEY, settings.VAPID_PRIVATE_KEY = public, private
    error = error_of(api.get(KEY), 404)
    assert error["code"] == "push_not_configured"
    assert error["fields"] == {}


# --- Subscribing -------------------------------------------------------------------------


def test_subscribe_stores_the_browsers_subscription(api_as):
    anna, browser = UserFactory(), FakeBrowser()
    response = api_as(anna).post(
        SUBSCRIPTIONS,
        browser.subscription_json(ENDPOINT),
        format="json",
        HTTP_USER_AGENT="Mozilla/5.0 (Android 14; Mobile) Firefox/133.0",
    )
    assert response.status_code == 201, response.content
    assert set(response.json()) == {"endpoint", "created_at"}
    assert response.json()["endpoint"] == ENDPOINT
    assert subscriptions() == [(anna.pk, ENDPOINT, browser.p256dh, browser.auth)]
    assert PushSubscription.objects.get().user_agent == (
        "Mozilla/5.0 (Android 14; Mobile) Firefox/133.0"
    )


def test_subscribing_the_same_endpoint_twice_keeps_one_row_with_the_new_keys(api_as):
    anna = UserFactory()
    client = api_as(anna)
    client.post(SUBSCRIPTIONS, FakeBrowser().subscription_json(ENDPOINT), format="json")
    renewed = FakeBrowser()
    response = client.post(SUBSCRIPTIONS, renewed.subscription_json(ENDPOINT), format="json")
    assert response.status_code == 201
    assert subscriptions() == [(anna.pk, ENDPOINT, renewed.p256dh, renewed.auth)]


def test_another_person_logging_in_on_the_browser_takes_the_subscription_over(api_as):
    anna, bo, browser = UserFactory(), UserFactory(), FakeBrowser()
    api_as(anna).post(SUBSCRIPTIONS, browser.subscription_json(ENDPOINT), format="json")
    response = api_as(bo).post(SUBSCRIPTIONS, browser.subscription_json(ENDPOINT), format="json")
    assert response.status_code == 201
    assert subscriptions() == [(bo.pk, ENDPOINT, browser.p256dh, browser.auth)]


def test_padded_keys_are_stored_unpadded(api_as):
    anna, browser = UserFactory(), FakeBrowser()
    body = browser.subscription_json(ENDPOINT)
    body["keys"] = {"p256dh": browser.p256dh + "=", "auth": browser.auth + "=="}
    response = api_as(anna).post(SUBSCRIPTIONS, body, format="json")
    assert response.status_code == 201, response.content
    assert subscriptions() == [(anna.pk, ENDPOINT, browser.p256dh, browser.auth)]


def test_http_endpoint_on_loopback_is_accepted_for_a_local_push_service(api_as):
    anna, browser = UserFactory(), FakeBrowser()
    endpoint = "http://127.0.0.1:8090/wpush/anna"
    response = api_as(anna).post(SUBSCRIPTIONS, browser.subscription_json(endpoint), format="json")
    assert response.status_code == 201, response.content
    assert subscriptions() == [(anna.pk, endpoint, browser.p256dh, browser.auth)]


def test_http_endpoint_is_accepted_in_debug(api_as, settings):
    settings.DEBUG = True
    anna, browser = UserFactory(), FakeBrowser()
    endpoint = "http://push.lan/wpush/anna"
    response = api_as(anna).post(SUBSCRIPTIONS, browser.subscription_json(endpoint), format="json")
    assert response.status_code == 201, response.content


def valid_body() -> dict:
    return FakeBrowser().subscription_json(ENDPOINT)


def with_keys(**keys) -> dict:
    body = valid_body()
    body["keys"] = {**body["keys"], **keys}
    return body


def without_key(name: str) -> dict:
    body = valid_body()
    del body["keys"][name]
    return body


OFF_CURVE = b64url(b"\x04" + b"\x01" * 64)  # 65 bytes, but not a point on P-256


@pytest.mark.parametrize(
    ("body", "code", "fields"),
    [
        pytest.param({}, "invalid", {"endpoint", "keys"}, id="empty"),
        pytest.param({"endpoint": ENDPOINT}, "invalid", {"keys"}, id="missing-keys"),
        pytest.param(without_key("auth"), "invalid", {"keys.auth"}, id="missing-auth"),
        pytest.param(without_key("p256dh"), "invalid", {"keys.p256dh"}, id="missing-p256dh"),
        pytest.param(
            {**valid_body(), "keys": "p256dh"},
            "invalid",
            {"keys.non_field_errors"},
            id="keys-not-object",
        ),
        pytest.param(
            {**valid_body(), "endpoint": "http://push.example/wpush/1"},
            "push_endpoint_invalid",
            {"endpoint"},
            id="plain-http",
        ),
        pytest.param(
            {**valid_body(), "endpoint": "ftp://push.example/wpush/1"},
            "push_endpoint_invalid",
            {"endpoint"},
            id="ftp",
        ),
        pytest.param(
            {**valid_body(), "endpoint": "not a url"},
            "push_endpoint_invalid",
            {"endpoint"},
            id="not-a-url",
        ),
        pytest.param(
            {**valid_body(), "endpoint": "https://user:secret@push.example/wpush/1"},
            "push_endpoint_invalid",
            {"endpoint"},
            id="credentials-in-url",
        ),
        pytest.param(
            {**valid_body(), "endpoint": "https://push.example/" + "x" * 1000},
            "invalid",
            {"endpoint"},
            id="endpoint-too-long",
        ),
        pytest.param(
            with_keys(p256dh="not base64!"),
            "push_keys_invalid",
            {"keys.p256dh"},
            id="p256dh-not-base64",
        ),
        pytest.param(
            with_keys(auth="a+b/c=="), "push_keys_invalid", {"keys.auth"}, id="auth-standard-base64"
        ),
        pytest.param(
            with_keys(auth="abcde"), "push_keys_invalid", {"keys.auth"}, id="auth-bad-length-base64"
        ),
        pytest.param(
            with_keys(p256dh=b64url(b"\x04" * 33)),
            "push_keys_invalid",
            {"keys.p256dh"},
            id="p256dh-33-bytes",
        ),
        pytest.param(
            with_keys(p256dh=OFF_CURVE), "push_keys_invalid", {"keys.p256dh"}, id="p256dh-off-curve"
        ),
        pytest.param(
            with_keys(auth=b64url(b"\x00" * 12)),
            "push_keys_invalid",
            {"keys.auth"},
            id="auth-12-bytes",
        ),
        pytest.param(with_keys(auth=""), "invalid", {"keys.auth"}, id="auth-empty"),
    ],
)
def test_bad_subscription_is_refused_and_nothing_is_stored(api_as, body, code, fields):
    anna = UserFactory()
    error = error_of(api_as(anna).post(SUBSCRIPTIONS, body, format="json"), 400)
    assert error["code"] == code
    assert set(error["fields"]) == fields
    assert error["message"]
    assert subscriptions() == []


def test_a_body_that_is_not_json_is_refused(api_as):
    anna = UserFactory()
    response = api_as(anna).post(
        SUBSCRIPTIONS, data=b'{"endpoint": ', content_type="application/json"
    )
    assert error_of(response, 400)["code"] == "parse_error"
    assert subscriptions() == []


def test_a_refused_subscription_leaves_an_existing_one_alone(api_as):
    anna, browser = UserFactory(), FakeBrowser()
    client = api_as(anna)
    client.post(SUBSCRIPTIONS, browser.subscription_json(ENDPOINT), format="json")
    before = subscriptions()
    bad = {**browser.subscription_json(ENDPOINT), "keys": {"p256dh": "x", "auth": browser.auth}}
    assert error_of(client.post(SUBSCRIPTIONS, bad, format="json"), 400)["code"] == (
        "push_keys_invalid"
    )
    assert subscriptions() == before


@pytest.mark.parametrize(
    ("method", "path"),
    [
        pytest.param("post", SUBSCRIPTIONS, id="subscribe"),
        pytest.param("delete", SUBSCRIPTIONS, id="unsubscribe"),
    ],
)
def test_subscriptions_need_a_login(api, method, path):
    PushSubscription.objects.create(user=UserFactory(), endpoint=ENDPOINT, p256dh="p", auth="a")
    before = subscriptions()
    response = getattr(api, method)(path, valid_body(), format="json")
    assert error_of(response, 403)["code"] == "not_authenticated"
    assert subscriptions() == before


def test_production_refuses_an_endpoint_inside_our_network(api_as, settings):
    settings.IS_PRODUCTION = True
    anna = UserFactory()
    for endpoint in (
        "http://127.0.0.1:6379/",
        "https://localhost/wpush/1",
        "https://10.0.0.5/wpush/1",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/wpush/1",
    ):
        body = {**valid_body(), "endpoint": endpoint}
        error = error_of(api_as(anna).post(SUBSCRIPTIONS, body, format="json"), 400)
        assert error["code"] == "push_endpoint_invalid", endpoint
    assert subscriptions() == []


# --- Unsubscribing -----------------------------------------------------------------------


def test_unsubscribe_deletes_my_subscription(api_as):
    anna = UserFactory()
    client = api_as(anna)
    client.post(SUBSCRIPTIONS, valid_body(), format="json")
    response = client.delete(SUBSCRIPTIONS, {"endpoint": ENDPOINT}, format="json")
    assert response.status_code == 204
    assert response.content == b""
    assert subscriptions() == []


def test_unsubscribing_someone_elses_endpoint_answers_204_and_theirs_stays(api_as):
    anna, mallory, browser = UserFactory(), UserFactory(), FakeBrowser()
    api_as(anna).post(SUBSCRIPTIONS, browser.subscription_json(ENDPOINT), format="json")
    before = subscriptions()
    response = api_as(mallory).delete(SUBSCRIPTIONS, {"endpoint": ENDPOINT}, format="json")
    assert response.status_code == 204
    assert subscriptions() == before


def test_unsubscribing_an_unknown_endpoint_answers_204(api_as):
    response = api_as(UserFactory()).delete(SUBSCRIPTIONS, {"endpoint": ENDPOINT}, format="json")
    assert response.status_code == 204


def test_unsubscribe_needs_an_endpoint(api_as):
    error = error_of(api_as(UserFactory()).delete(SUBSCRIPTIONS, {}, format="json"), 400)
    assert (error["code"], set(error["fields"])) == ("invalid", {"endpoint"})


# --- The service worker ------------------------------------------------------------------


def test_service_worker_is_served_from_the_site_root(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/javascript"
    assert response["Service-Worker-Allowed"] == "/"
    assert response["Cache-Control"] == "no-cache"
    source = response.content.decode()
    assert 'addEventListener("push"' in source
    assert 'addEventListener("notificationclick"' in source


def test_service_worker_is_read_only(client):
    assert client.post("/sw.js").status_code == 405


def test_page_script_is_a_static_file():
    path = finders.find("webapp/push.js")
    assert path is not None
    source = Path(path).read_text(encoding="utf-8")
    assert "export function enablePush(button)" in source
    assert 'navigator.serviceWorker.register("/sw.js"' in source
    assert "csrftoken" in source

"""Web Push from notify() to a push service on loopback, through the real Celery task
(run eagerly), pywebpush and HTTP. The test decrypts what the service received with the
subscribing browser's keys."""

import io
import json
import re
import time

import pytest
from cryptography.hazmat.primitives import serialization
from django.core import mail
from django.core.management import call_command
from py_vapid import Vapid
from py_vapid.jwt import decode as jwt_decode

from backend.notifications.models import Delivery, DeliveryStatus, PushSubscription
from backend.notifications.push import b64url
from backend.notifications.push_subscriptions import push_subscription_save
from backend.notifications.services import notify
from tests.factories import UserFactory
from tests.fakes.push_service import FakeBrowser, FakePushService

pytestmark = pytest.mark.django_db

APPROVED = {"association": "Äppelbo byalag"}
UNCOMPRESSED = (serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
AUTHORIZATION = re.compile(r"vapid t=(?P<token>[^,\s]+),\s*k=(?P<key>[A-Za-z0-9_-]+)")


@pytest.fixture(scope="session")
def vapid_keys() -> dict[str, str]:
    out = io.StringIO()
    call_command("generate_vapid_keys", stdout=out)
    return dict(line.split("=", 1) for line in out.getvalue().splitlines())


@pytest.fixture
def push_service():
    with FakePushService() as service:
        yield service


@pytest.fixture
def push_settings(settings, vapid_keys):
    """VAPID configured and the deliver task run in-process, retrying at once, at most
    twice (three attempts). Eager failures are not propagated: Celery then re-raises a
    task's Retry instead of running the retry (celery/celery#4661), and notify() swallows
    what a task raises anyway, so the tests read the outcome from the delivery rows."""
    settings.VAPID_PUBLIC_KEY = vapid_keys["VAPID_PUBLIC_KEY"]
    settings.VAPID_PRIVATE_KEY = vapid_keys["VAPID_PRIVATE_KEY"]
    settings.VAPID_SUBJECT = "mailto:drift@samby.example"
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.CELERY_TASK_EAGER_PROPAGATES = False
    settings.NOTIFY_RETRY_BACKOFF = 0
    settings.NOTIFY_MAX_RETRIES = 2
    return settings


def subscribed_user(service: FakePushService, *names: str, **fields):
    """A person with push on, and a browser (with its keys) per endpoint name."""
    user = UserFactory(contact_by_push=True, contact_by_sms=False, **fields)
    browsers = {}
    for name in names:
        browser = FakeBrowser()
        push_subscription_save(
            user=user,
            endpoint=service.endpoint(name),
            p256dh=browser.p256dh,
            auth=browser.auth,
            user_agent="Firefox",
        )
        browsers[name] = browser
    return user, browsers


def notify_now(django_capture_on_commit_callbacks, user, *, urgent: bool = False):
    """notify() and what runs once its transaction commits: the deliver tasks."""
    with django_capture_on_commit_callbacks(execute=True):
        return notify(user, "membership.approved", APPROVED, urgent=urgent)


def push_delivery(notification) -> Delivery:
    return Delivery.objects.get(notification=notification, channel="push")


# --- The key generator -------------------------------------------------------------------


def test_generated_keys_are_a_pair_pywebpush_signs_with(vapid_keys):
    assert set(vapid_keys) == {"VAPID_PUBLIC_KEY", "VAPID_PRIVATE_KEY"}
    public, private = vapid_keys["VAPID_PUBLIC_KEY"], vapid_keys["VAPID_PRIVATE_KEY"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{87}", public)  # 65 bytes, no padding
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", private)  # 32 bytes, no padding
    signer = Vapid.from_string(private_key=private)
    assert b64url(signer.public_key.public_bytes(*UNCOMPRESSED)) == public
    headers = signer.sign({"sub": "mailto:a@b.se", "aud": "https://push.example"})
    token = AUTHORIZATION.fullmatch(headers["Authorization"])
    assert token is not None
    assert token["key"] == public
    assert jwt_decode(token["token"], public)["aud"] == "https://push.example"


def test_each_run_makes_a_new_pair():
    runs = [io.StringIO(), io.StringIO()]
    for out in runs:
        call_command("generate_vapid_keys", stdout=out)
    assert runs[0].getvalue() != runs[1].getvalue()


# --- Sending -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("urgent", "ttl", "urgency"),
    [
        pytest.param(False, "86400", "normal", id="normal"),
        pytest.param(True, "3600", "high", id="urgent"),
    ],
)
def test_notify_pushes_one_encrypted_message_to_each_browser(
    push_settings, push_service, django_capture_on_commit_callbacks, urgent, ttl, urgency
):
    anna, browsers = subscribed_user(push_service, "phone", "laptop", preferred_language="sv")
    before = int(time.time())

    notification = notify_now(django_capture_on_commit_callbacks, anna, urgent=urgent)

    for name, browser in browsers.items():
        [push] = push_service.received(push_service.endpoint(name))
        assert push.headers["content-encoding"] == "aes128gcm"
        assert push.headers["ttl"] == ttl
        assert push.headers["urgency"] == urgency
        authorization = AUTHORIZATION.fullmatch(push.headers["authorization"])
        assert authorization is not None, push.headers["authorization"]
        assert authorization["key"] == push_settings.VAPID_PUBLIC_KEY
        claims = jwt_decode(authorization["token"], authorization["key"])
        assert claims["aud"] == push_service.origin
        assert claims["sub"] == "mailto:drift@samby.example"
        assert before < claims["exp"] <= int(time.time()) + 24 * 3600
        assert json.loads(browser.decrypt(push.body)) == {
            "id": notification.pk,
            "kind": "membership.approved",
            "title": "Välkommen till Äppelbo byalag",
            "body": "Ditt medlemskap i Äppelbo byalag är godkänt.",
            # The message's open page: read, then where it is acted on.
            "url": f"/notifications/{notification.pk}/open",
        }
    assert len(push_service.received()) == 2
    delivery = push_delivery(notification)
    assert (delivery.status, delivery.attempts, delivery.provider_ref, delivery.address) == (
        DeliveryStatus.SENT,
        1,
        "2/2",
        "2",
    )


def test_the_payload_is_in_the_recipients_language(
    push_settings, push_service, django_capture_on_commit_callbacks
):
    bo, browsers = subscribed_user(push_service, "phone", preferred_language="en")

    notification = notify_now(django_capture_on_commit_callbacks, bo)

    [push] = push_service.received()
    payload = json.loads(browsers["phone"].decrypt(push.body))
    assert (payload["title"], payload["body"]) == (
        "Welcome to Äppelbo byalag",
        "Your membership of Äppelbo byalag is approved.",
    )
    assert push_delivery(notification).status == DeliveryStatus.SENT


@pytest.mark.parametrize(
    "gone_status", [pytest.param(410, id="410-gone"), pytest.param(404, id="404-not-found")]
)
def test_a_subscription_the_service_says_is_gone_is_deleted_and_the_others_still_get_it(
    push_settings, push_service, django_capture_on_commit_callbacks, gone_status
):
    anna, browsers = subscribed_user(push_service, "old-phone", "laptop")
    push_service.answer(push_service.endpoint("old-phone"), gone_status)

    notification = notify_now(django_capture_on_commit_callbacks, anna)

    assert len(push_service.received(push_service.endpoint("old-phone"))) == 1
    [push] = push_service.received(push_service.endpoint("laptop"))
    assert json.loads(browsers["laptop"].decrypt(push.body))["id"] == notification.pk
    assert list(PushSubscription.objects.values_list("endpoint", flat=True)) == [
        push_service.endpoint("laptop")
    ]
    delivery = push_delivery(notification)
    assert (delivery.status, delivery.attempts, delivery.provider_ref) == (
        DeliveryStatus.SENT,
        1,
        "1/2",
    )


def test_when_every_subscription_is_gone_the_delivery_fails_and_none_are_left(
    push_settings, push_service, django_capture_on_commit_callbacks
):
    anna, _browsers = subscribed_user(push_service, "phone")
    push_service.answer(push_service.endpoint("phone"), 410)

    notification = notify_now(django_capture_on_commit_callbacks, anna)

    delivery = push_delivery(notification)
    assert (delivery.status, delivery.attempts, delivery.detail) == (
        DeliveryStatus.FAILED,
        1,
        "no push subscription accepted the message",
    )
    assert not PushSubscription.objects.exists()


@pytest.mark.parametrize(
    ("status", "detail"),
    [
        pytest.param(500, "push service answered 500, 500", id="500"),
        pytest.param(503, "push service answered 503, 503", id="503"),
        pytest.param(429, "push service answered 429, 429", id="429-too-many"),
    ],
)
def test_a_failing_push_service_is_retried_then_the_delivery_fails(
    push_settings, push_service, django_capture_on_commit_callbacks, status, detail
):
    anna, _browsers = subscribed_user(push_service, "phone", "laptop")
    for name in ("phone", "laptop"):
        push_service.answer(push_service.endpoint(name), status)

    notification = notify_now(django_capture_on_commit_callbacks, anna)

    # NOTIFY_MAX_RETRIES=2: the first try and two retries.
    assert len(push_service.received(push_service.endpoint("phone"))) == 3
    assert len(push_service.received(push_service.endpoint("laptop"))) == 3
    delivery = push_delivery(notification)
    assert (delivery.status, delivery.attempts, delivery.detail) == (
        DeliveryStatus.FAILED,
        3,
        f"gave up: {detail}",
    )
    assert list(delivery.attempt_log.values_list("succeeded", "detail")) == [
        (False, detail),
        (False, detail),
        (False, f"gave up: {detail}"),
    ]
    assert PushSubscription.objects.filter(user=anna).count() == 2  # only gone ones go


def test_an_unreachable_push_service_is_retried_then_the_delivery_fails(
    push_settings, push_service, django_capture_on_commit_callbacks
):
    anna, _browsers = subscribed_user(push_service, "phone")
    push_service.stop()  # nothing listens on its port any more

    notification = notify_now(django_capture_on_commit_callbacks, anna)

    delivery = push_delivery(notification)
    assert (delivery.status, delivery.attempts, delivery.detail) == (
        DeliveryStatus.FAILED,
        3,
        "gave up: push service answered unreachable",
    )
    assert PushSubscription.objects.filter(user=anna).count() == 1


def test_a_service_that_recovers_gets_the_message_on_a_retry(
    push_settings, push_service, django_capture_on_commit_callbacks
):
    anna, browsers = subscribed_user(push_service, "phone")
    endpoint = push_service.endpoint("phone")
    push_service.answer(endpoint, 503, times=1)

    notification = notify_now(django_capture_on_commit_callbacks, anna)

    _refused, accepted = push_service.received(endpoint)
    assert json.loads(browsers["phone"].decrypt(accepted.body))["id"] == notification.pk
    delivery = push_delivery(notification)
    assert (delivery.status, delivery.attempts, delivery.provider_ref) == (
        DeliveryStatus.SENT,
        2,
        "1/1",
    )
    assert list(delivery.attempt_log.values_list("succeeded", "detail")) == [
        (False, "push service answered 503"),
        (True, ""),
    ]


def test_without_a_vapid_key_push_fails_with_a_reason_and_other_channels_go_out(
    push_settings, push_service, django_capture_on_commit_callbacks
):
    push_settings.VAPID_PRIVATE_KEY = ""
    push_settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    anna, _browsers = subscribed_user(
        push_service, "phone", contact_by_email=True, email="anna@example.se"
    )

    notification = notify_now(django_capture_on_commit_callbacks, anna)

    statuses = dict(notification.deliveries.values_list("channel", "status"))
    assert statuses == {
        "live": DeliveryStatus.SENT,
        "push": DeliveryStatus.FAILED,
        "email": DeliveryStatus.SENT,
    }
    delivery = push_delivery(notification)
    assert (delivery.attempts, delivery.detail) == (
        1,
        "Web Push is not configured (VAPID_PRIVATE_KEY)",
    )
    assert push_service.received() == []
    assert [message.to for message in mail.outbox] == [["anna@example.se"]]


def test_a_malformed_vapid_key_fails_with_a_reason(
    push_settings, push_service, django_capture_on_commit_callbacks
):
    push_settings.VAPID_PRIVATE_KEY = "not-a-key"
    anna, _browsers = subscribed_user(push_service, "phone")

    notification = notify_now(django_capture_on_commit_callbacks, anna)

    delivery = push_delivery(notification)
    assert (delivery.status, delivery.detail) == (
        DeliveryStatus.FAILED,
        "VAPID_PRIVATE_KEY is not a key; make one with manage.py generate_vapid_keys",
    )
    assert push_service.received() == []


def test_a_person_with_no_subscription_is_skipped(
    push_settings, push_service, django_capture_on_commit_callbacks
):
    anna, _browsers = subscribed_user(push_service)

    notification = notify_now(django_capture_on_commit_callbacks, anna)

    delivery = push_delivery(notification)
    assert (delivery.status, delivery.attempts, delivery.detail) == (
        DeliveryStatus.SKIPPED,
        0,
        "no push subscription",
    )
    assert push_service.received() == []


def test_a_person_who_turned_push_off_gets_no_push(
    push_settings, push_service, django_capture_on_commit_callbacks
):
    anna, _browsers = subscribed_user(push_service, "phone")
    anna.contact_by_push = False
    anna.save(update_fields=["contact_by_push"])

    notification = notify_now(django_capture_on_commit_callbacks, anna)

    assert not notification.deliveries.filter(channel="push").exists()
    assert push_service.received() == []


def test_the_endpoint_origin_is_the_audience_for_each_service(
    push_settings, django_capture_on_commit_callbacks
):
    # Two push services (as Firefox's and Chrome's are): each token names its own.
    with FakePushService() as mozilla, FakePushService() as google:
        anna = UserFactory(contact_by_push=True, contact_by_sms=False)
        for service in (mozilla, google):
            browser = FakeBrowser()
            push_subscription_save(
                user=anna,
                endpoint=service.endpoint("x"),
                p256dh=browser.p256dh,
                auth=browser.auth,
                user_agent="",
            )

        notify_now(django_capture_on_commit_callbacks, anna)

        for service in (mozilla, google):
            [push] = service.received()
            token = AUTHORIZATION.fullmatch(push.headers["authorization"])
            assert jwt_decode(token["token"], token["key"])["aud"] == service.origin

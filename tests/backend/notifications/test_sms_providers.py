"""Outbound SMS through 46elks and Twilio, spoken over real HTTP to a fake provider on
loopback; and the deliver task around it: retries, quiet hours, the daily cap and the
proxy who takes a managed profile's SMS."""

import base64
import time
from datetime import datetime, timedelta

import celery.contrib.testing.tasks  # noqa: F401 - registers the ping start_worker waits for
import pytest
from celery.contrib.testing.worker import start_worker
from django.utils import timezone

from backend.celery import app
from backend.notifications.errors import PermanentDeliveryError, TransientDeliveryError
from backend.notifications.models import (
    Channel,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    Notification,
    QuietHours,
)
from backend.notifications.selectors import STOCKHOLM
from backend.notifications.services import delivery_attempt, notify
from backend.notifications.sms import send_sms
from backend.notifications.tasks import deliver
from tests.factories import ManagedProfileFactory, UserFactory
from tests.fakes.sms_provider import ELKS_PATH, PASSWORD, USERNAME
from tests.locks import Beside, referred_to_meanwhile

pytestmark = pytest.mark.django_db

MESSAGE = {"association": "Äppelbo byalag", "text": "Handlarskjutsen går 10:30 i dag."}
TEXT_EN = "Samby: Message from Äppelbo byalag. Handlarskjutsen går 10:30 i dag."
BASIC_AUTH = "Basic " + base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
TWILIO_PATH = f"/2010-04-01/Accounts/{USERNAME}/Messages.json"
BACKENDS = [pytest.param("elks", id="46elks"), pytest.param("twilio", id="twilio")]


def expected_request(backend: str, *, to: str, text: str) -> tuple[str, dict[str, str]]:
    """The path and form a provider wants for one message from Samby's number."""
    if backend == "elks":
        return ELKS_PATH, {"from": "+46766860000", "to": to, "message": text}
    return TWILIO_PATH, {"From": "+46766860000", "To": to, "Body": text}


def notify_now(callbacks, recipient, **options):
    """notify() and run what it does after commit (queue the deliveries) at once."""
    with callbacks(execute=True):
        return notify(recipient, "association.message", MESSAGE, **options)


def sms_delivery(notification) -> Delivery:
    return Delivery.objects.get(notification=notification, channel="sms")


# --- The providers' APIs --------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_sms_is_posted_in_the_providers_shape_with_basic_auth(settings, sms_provider, backend):
    settings.SMS_BACKEND = backend
    text = "Hej Åsa! Skjutsen går 10:30 från Äppelbo."

    reference = send_sms(to="+46701740620", text=text)

    [request] = sms_provider.requests
    path, form = expected_request(backend, to="+46701740620", text=text)
    assert (request.method, request.path, request.form) == ("POST", path, form)
    assert request.headers["authorization"] == BASIC_AUTH
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert reference == {"elks": f"s{1:032x}", "twilio": f"SM{1:032x}"}[backend]


@pytest.mark.parametrize("backend", BACKENDS)
def test_wrong_credentials_are_refused_for_good(settings, sms_provider, backend):
    settings.SMS_BACKEND = backend
    settings.SMS_API_PASSWORD = "not-the-token"

    with pytest.raises(PermanentDeliveryError) as refused:
        send_sms(to="+46701740620", text="Hej")

    assert str(refused.value) == f"{backend} refused (401): Authenticate"
    assert [r.status for r in sms_provider.requests] == [401]
    assert sms_provider.accepted == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_message_the_provider_refuses_fails_with_the_providers_reason(
    settings, sms_provider, backend
):
    settings.SMS_BACKEND = backend
    sms_provider.answer_next(400, body="Invalid To number")

    with pytest.raises(PermanentDeliveryError) as refused:
        send_sms(to="+46701740620", text="Hej")

    assert str(refused.value) == f"{backend} refused (400): Invalid To number"
    assert sms_provider.accepted == []


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    "status",
    [
        pytest.param(500, id="500"),
        pytest.param(503, id="503"),
        pytest.param(429, id="429-too-many"),
    ],
)
def test_a_provider_in_trouble_is_worth_another_try(settings, sms_provider, backend, status):
    settings.SMS_BACKEND = backend
    sms_provider.answer_next(status, body="Try again later")

    with pytest.raises(TransientDeliveryError) as failed:
        send_sms(to="+46701740620", text="Hej")

    assert str(failed.value) == f"{backend} answered {status}: Try again later"
    assert sms_provider.accepted == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_provider_that_does_not_answer_in_time_is_worth_another_try(
    settings, sms_provider, backend
):
    settings.SMS_BACKEND = backend
    settings.SMS_TIMEOUT = 0.2
    sms_provider.stall_next(3)

    started = time.monotonic()
    with pytest.raises(TransientDeliveryError) as failed:
        send_sms(to="+46701740620", text="Hej")

    assert time.monotonic() - started < 2
    assert str(failed.value) == f"{backend}: no answer in time (ReadTimeout)"


def test_an_unreachable_provider_is_worth_another_try(sms_provider):
    sms_provider.stop()  # nothing listens on its port any more

    with pytest.raises(TransientDeliveryError) as failed:
        send_sms(to="+46701740620", text="Hej")

    assert str(failed.value) == "elks: unreachable (ConnectError)"


# --- Through the deliver task ------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_provider_failing_twice_gets_the_message_once_through_a_real_worker(
    settings, sms_provider, outside_quiet_hours
):
    settings.NOTIFY_RETRY_BACKOFF = 0
    sms_provider.answer_next(503, times=2)
    anna = UserFactory(contact_by_sms=True, contact_by_push=False, preferred_language="en")

    # The task goes through the real Redis broker to a worker (in a thread of this
    # process, so it reaches the fake provider and the test database).
    with start_worker(app, pool="solo", perform_ping_check=True, shutdown_timeout=10):
        notification = notify(anna, "association.message", MESSAGE)  # commits at once
        delivery = wait_until_settled(sms_delivery(notification))
        # Running the task again, as a duplicate or the sweeper would, sends nothing.
        assert deliver.delay(delivery.pk).get(timeout=10) == DeliveryStatus.SENT

    assert [r.status for r in sms_provider.requests] == [503, 503, 200]
    [accepted] = sms_provider.accepted
    assert accepted.form == {"from": "+46766860000", "to": anna.phone, "message": TEXT_EN}
    assert (delivery.status, delivery.attempts, delivery.address, delivery.provider_ref) == (
        DeliveryStatus.SENT,
        3,
        anna.phone,
        f"s{1:032x}",  # the provider numbers the messages it takes
    )
    assert list(delivery.attempt_log.values_list("succeeded", "detail")) == [
        (False, "elks answered 503: Service unavailable"),
        (False, "elks answered 503: Service unavailable"),
        (True, ""),
    ]


@pytest.mark.django_db(transaction=True)
def test_sending_an_sms_does_not_wait_for_whatever_refers_to_the_recipient(
    sms_provider, outside_quiet_hours
):
    # The attempt locked the recipient's account row with the delivery (FOR UPDATE
    # through the join to the notification's recipient), for as long as the provider
    # took to answer: everything referring to that person waited, or deadlocked.
    anna = UserFactory(contact_by_sms=True, preferred_language="en")
    notification = Notification.objects.create(
        recipient=anna, kind="association.message", payload=MESSAGE
    )
    delivery = Delivery.objects.create(
        notification=notification, channel=Channel.SMS, address=anna.phone
    )
    with referred_to_meanwhile([anna]):
        attempt = Beside(lambda: delivery_attempt(delivery_id=delivery.pk))
        in_time = attempt.done_within(5)
    assert attempt.result().status == DeliveryStatus.SENT
    assert in_time, "the SMS waited for a transaction that referred to its recipient"
    assert [r.form["to"] for r in sms_provider.accepted] == [anna.phone]


def wait_until_settled(delivery: Delivery, timeout: float = 30) -> Delivery:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        delivery.refresh_from_db()
        if delivery.status != DeliveryStatus.PENDING:
            return delivery
        time.sleep(0.05)
    raise AssertionError(f"delivery still {delivery.status} after {timeout} s")


@pytest.mark.parametrize("backend", BACKENDS)
def test_notify_sends_the_sms_through_the_deliver_task(
    settings, eager, sms_provider, django_capture_on_commit_callbacks, backend
):
    settings.SMS_BACKEND = backend
    anna = UserFactory(contact_by_sms=True, contact_by_push=False, preferred_language="en")

    notification = notify_now(django_capture_on_commit_callbacks, anna)

    [accepted] = sms_provider.accepted
    path, form = expected_request(backend, to=anna.phone, text=TEXT_EN)
    assert (accepted.path, accepted.form) == (path, form)
    delivery = sms_delivery(notification)
    assert (delivery.status, delivery.attempts, delivery.provider_ref) == (
        DeliveryStatus.SENT,
        1,
        {"elks": f"s{1:032x}", "twilio": f"SM{1:032x}"}[backend],
    )
    # Again, for a delivery already sent: nothing reaches the provider.
    assert deliver.delay(delivery.pk).get() == DeliveryStatus.SENT
    assert len(sms_provider.requests) == 1
    assert DeliveryAttempt.objects.filter(delivery=delivery).count() == 1


def test_a_refused_sms_fails_the_delivery_without_retrying(
    eager, sms_provider, django_capture_on_commit_callbacks
):
    sms_provider.answer_next(400, body="Invalid To number")
    anna = UserFactory(contact_by_sms=True, contact_by_push=False)

    notification = notify_now(django_capture_on_commit_callbacks, anna)

    assert len(sms_provider.requests) == 1
    delivery = sms_delivery(notification)
    assert (delivery.status, delivery.attempts, delivery.detail) == (
        DeliveryStatus.FAILED,
        1,
        "elks refused (400): Invalid To number",
    )


def quiet_now(user) -> datetime:
    """Quiet hours for `user` from an hour ago to an hour from now (whole minutes);
    returns when they end."""
    now = timezone.now().astimezone(STOCKHOLM).replace(second=0, microsecond=0)
    start, end = now - timedelta(hours=1), now + timedelta(hours=1)
    QuietHours.objects.create(user=user, start=start.time(), end=end.time())
    return end


def test_during_quiet_hours_an_sms_waits_until_they_end(
    eager, sms_provider, django_capture_on_commit_callbacks
):
    anna = UserFactory(contact_by_sms=True, contact_by_push=False)
    ends = quiet_now(anna)

    notification = notify_now(django_capture_on_commit_callbacks, anna)

    assert sms_provider.requests == []
    delivery = sms_delivery(notification)
    assert (delivery.status, delivery.attempts, delivery.not_before) == (
        DeliveryStatus.PENDING,
        0,
        ends,
    )
    assert not DeliveryAttempt.objects.filter(delivery=delivery).exists()


def test_an_urgent_sms_goes_out_during_quiet_hours(
    eager, sms_provider, django_capture_on_commit_callbacks
):
    anna = UserFactory(contact_by_sms=True, contact_by_push=False, preferred_language="en")
    quiet_now(anna)

    notification = notify_now(django_capture_on_commit_callbacks, anna, urgent=True)

    [accepted] = sms_provider.accepted
    assert accepted.form == {"from": "+46766860000", "to": anna.phone, "message": TEXT_EN}
    delivery = sms_delivery(notification)
    assert (delivery.status, delivery.not_before) == (DeliveryStatus.SENT, None)


def test_past_the_daily_cap_an_sms_is_skipped_and_never_sent(
    settings, eager, sms_provider, django_capture_on_commit_callbacks
):
    settings.SMS_DAILY_CAP = 2
    anna = UserFactory(contact_by_sms=True, contact_by_push=False)

    notifications = [notify_now(django_capture_on_commit_callbacks, anna) for _ in range(3)]

    assert len(sms_provider.requests) == 2
    assert [(d.status, d.detail) for d in map(sms_delivery, notifications)] == [
        (DeliveryStatus.SENT, ""),
        (DeliveryStatus.SENT, ""),
        (DeliveryStatus.SKIPPED, "daily SMS limit reached; kept in the inbox"),
    ]
    # Still in the inbox.
    assert notifications[2].recipient.notifications.count() == 3


def test_a_managed_profile_without_a_phone_gets_the_sms_at_the_proxys_phone(
    eager, sms_provider, django_capture_on_commit_callbacks
):
    daughter = UserFactory(phone="+46701740620")
    greta = ManagedProfileFactory(phone="", preferred_language="en")
    greta.proxy_links.create(
        proxy=daughter, receives_sms_for_resident=True, accepted_at=timezone.now()
    )

    notification = notify_now(django_capture_on_commit_callbacks, greta)

    [accepted] = sms_provider.accepted
    assert accepted.form == {"from": "+46766860000", "to": "+46701740620", "message": TEXT_EN}
    delivery = sms_delivery(notification)
    assert (delivery.status, delivery.address) == (DeliveryStatus.SENT, "+46701740620")

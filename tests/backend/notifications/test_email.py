"""The e-mail channel through Django's SMTP backend to a real SMTP server on loopback
(aiosmtpd), with the deliver task run in-process."""

import email
import socket
from email.message import EmailMessage
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller

from backend.notifications.models import Delivery, DeliveryStatus
from backend.notifications.services import notify
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

MESSAGE = {"association": "Äppelbo byalag", "text": "Handlarskjutsen går 10:30 i dag."}


class Mailbox:
    """aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        message = email.message_from_bytes(envelope.content, policy=default_policy)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SmtpServer:
    """An SMTP server on a free loopback port, that a test may stop to see it down."""

    def __init__(self) -> None:
        self.mailbox = Mailbox()
        self.port = free_port()
        self._controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self._running = False

    def start(self) -> None:
        self._controller.start()
        self._running = True

    def stop(self) -> None:
        if self._running:
            self._controller.stop()
            self._running = False

    @property
    def messages(self) -> list[tuple[list[str], EmailMessage]]:
        return self.mailbox.messages


@pytest.fixture
def smtp_server():
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def email_settings(settings, smtp_server):
    """Django's SMTP backend at the server, and the deliver task run in-process,
    retrying at once, at most twice (three attempts). Eager failures are not
    propagated: Celery then re-raises a task's Retry instead of running the retry
    (celery/celery#4661)."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = smtp_server.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    settings.DEFAULT_FROM_EMAIL = "Samby <noreply@samby.example>"
    settings.SITE_URL = "https://samby.example"
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.CELERY_TASK_EAGER_PROPAGATES = False
    settings.NOTIFY_RETRY_BACKOFF = 0
    settings.NOTIFY_MAX_RETRIES = 2
    return settings


def notify_now(django_capture_on_commit_callbacks, user):
    with django_capture_on_commit_callbacks(execute=True):
        return notify(user, "association.message", MESSAGE)


def email_delivery(notification) -> Delivery:
    return Delivery.objects.get(notification=notification, channel="email")


@pytest.mark.parametrize(
    ("language", "subject", "footer"),
    [
        pytest.param(
            "sv",
            "Samby: Meddelande från Äppelbo byalag",
            "Du får det här mejlet för att du har valt e-post i Sambys inställningar.",
            id="swedish",
        ),
        pytest.param(
            "en",
            "Samby: Message from Äppelbo byalag",
            "You get this e-mail because you chose e-mail in Samby's settings.",
            id="english",
        ),
    ],
)
def test_a_person_who_chose_email_gets_one_message_in_their_language(
    email_settings, smtp_server, django_capture_on_commit_callbacks, language, subject, footer
):
    anna = UserFactory(
        contact_by_email=True,
        contact_by_sms=False,
        contact_by_push=False,
        email="anna@example.se",
        preferred_language=language,
    )

    notification = notify_now(django_capture_on_commit_callbacks, anna)

    [(recipients, message)] = smtp_server.messages
    assert recipients == ["anna@example.se"]
    assert message["To"] == "anna@example.se"
    assert message["From"] == "Samby <noreply@samby.example>"
    assert message["Subject"] == subject
    assert message.get_content().splitlines() == [
        "Handlarskjutsen går 10:30 i dag.",
        "",
        "-- ",
        footer,
        "https://samby.example",
    ]
    delivery = email_delivery(notification)
    assert (delivery.status, delivery.attempts, delivery.address) == (
        DeliveryStatus.SENT,
        1,
        "anna@example.se",
    )


def test_smtp_server_down_is_retried_then_the_delivery_fails(
    email_settings, smtp_server, django_capture_on_commit_callbacks
):
    smtp_server.stop()
    anna = UserFactory(
        contact_by_email=True, contact_by_sms=False, contact_by_push=False, email="anna@example.se"
    )

    notification = notify_now(django_capture_on_commit_callbacks, anna)

    delivery = email_delivery(notification)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.FAILED, 3)
    details = list(delivery.attempt_log.values_list("succeeded", "detail"))
    assert [succeeded for succeeded, _detail in details] == [False, False, False]
    refused = "e-mail not sent: [Errno 111] Connection refused"
    assert [detail for _succeeded, detail in details] == [refused, refused, f"gave up: {refused}"]
    assert delivery.detail == f"gave up: {refused}"
    assert smtp_server.messages == []
    # The inbox has it whatever happened to the e-mail.
    assert dict(notification.deliveries.values_list("channel", "status")) == {
        "live": DeliveryStatus.SENT,
        "email": DeliveryStatus.FAILED,
    }


def test_a_person_without_an_email_address_is_skipped(
    email_settings, smtp_server, django_capture_on_commit_callbacks
):
    anna = UserFactory(contact_by_email=True, contact_by_sms=False, contact_by_push=False, email="")

    notification = notify_now(django_capture_on_commit_callbacks, anna)

    delivery = email_delivery(notification)
    assert (delivery.status, delivery.attempts, delivery.detail) == (
        DeliveryStatus.SKIPPED,
        0,
        "no e-mail address",
    )
    assert smtp_server.messages == []


def test_a_person_who_did_not_choose_email_gets_none(
    email_settings, smtp_server, django_capture_on_commit_callbacks
):
    anna = UserFactory(contact_by_email=False, contact_by_sms=False, email="anna@example.se")

    notification = notify_now(django_capture_on_commit_callbacks, anna)

    assert not notification.deliveries.filter(channel="email").exists()
    assert smtp_server.messages == []

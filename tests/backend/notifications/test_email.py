"""The e-mail channel through Django's SMTP backend to a real SMTP server on loopback
(aiosmtpd), with the deliver task run in-process."""

import pytest
from django.utils import translation
from django.utils.translation import gettext as _

from backend.notifications.models import Delivery, DeliveryStatus
from backend.notifications.services import notify
from tests.factories import ManagedProfileFactory, UserFactory

pytestmark = pytest.mark.django_db

MESSAGE = {"association": "Äppelbo byalag", "text": "Handlarskjutsen går 10:30 i dag."}


@pytest.fixture
def email_settings(settings, smtp_server):
    """Django's SMTP backend at the server (smtp_server), and the deliver task run in-process,
    retrying at once, at most twice (three attempts). Eager failures are not
    propagated: Celery then re-raises a task's Retry instead of running the retry
    (celery/celery#4661)."""
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
    # The message opens in Samby (webapp:notification-open). The catalogue's Swedish for
    # the line, whichever it holds: English until it is translated.
    with translation.override(language):
        open_in = _("Open in Samby: %(url)s") % {
            "url": f"https://samby.example/notifications/{notification.pk}/open"
        }
    assert open_in.endswith(f"https://samby.example/notifications/{notification.pk}/open")
    assert message.get_content().splitlines() == [
        "Handlarskjutsen går 10:30 i dag.",
        "",
        open_in,
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


def test_a_managed_profile_gets_no_link_it_could_not_open(
    email_settings, smtp_server, django_capture_on_commit_callbacks
):
    """Without a login the open page would only ask to sign in."""
    greta = ManagedProfileFactory(
        contact_by_email=True,
        contact_by_sms=False,
        email="greta@example.se",
        preferred_language="en",
    )

    notify_now(django_capture_on_commit_callbacks, greta)

    [(recipients, message)] = smtp_server.messages
    assert recipients == ["greta@example.se"]
    assert message.get_content().splitlines() == [
        "Handlarskjutsen går 10:30 i dag.",
        "",
        "-- ",
        "You get this e-mail because you chose e-mail in Samby's settings.",
        "https://samby.example",
    ]

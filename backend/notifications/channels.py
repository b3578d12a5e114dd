"""The text each slow channel carries, and the hand-off to its sender."""

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils import translation
from django.utils.translation import gettext as _

from backend.notifications import push, sms
from backend.notifications.errors import TransientDeliveryError
from backend.notifications.kinds import get_kind, render
from backend.notifications.models import Channel, Delivery, Notification, SmsReplyCode

# The web app's page that marks a notification read and sends its recipient to where they
# act on it (webapp:notification-open). A push and an e-mail carry this one generic address
# of each notification; which page it leads to is the web app's choice, as the backend
# knows no other route. tests/webapp/test_notification_links.py holds the two together.
OPEN_PATH = "/notifications/{id}/open"


def notification_open_path(notification_id: int) -> str:
    """The open page of one notification, relative to SITE_URL."""
    return OPEN_PATH.format(id=notification_id)


def send(delivery: Delivery, notification: Notification) -> str:
    """Send on the delivery's channel; returns the provider's reference."""
    recipient = notification.recipient
    language = recipient.preferred_language
    title, body = render(get_kind(notification.kind), notification.payload, language)
    if delivery.channel == Channel.SMS:
        return sms.send_sms(to=delivery.address, text=sms_text(notification, title, body, language))
    if delivery.channel == Channel.EMAIL:
        return _send_email(
            to=delivery.address,
            subject=title,
            body=body,
            # A managed profile has no login to open it with.
            link=None
            if recipient.is_managed
            else settings.SITE_URL.rstrip("/") + notification_open_path(notification.id),
            language=language,
        )
    if delivery.channel == Channel.PUSH:
        return push.send_to_user(
            user=recipient,
            message={
                "id": notification.id,
                "kind": notification.kind,
                "title": title,
                "body": body,
                "url": notification_open_path(notification.id),
            },
            urgent=notification.urgent,
        )
    raise ValueError(f"{delivery.channel} is not sent by a task")


def sms_text(notification: Notification, title: str, body: str, language: str) -> str:
    text = f"Samby: {body}" if body.startswith(title) else f"Samby: {title}. {body}"
    code = SmsReplyCode.objects.filter(notification=notification).first()
    if code is not None:
        with translation.override(language):
            text += " " + _("Reply YES %(code)s to accept or NO %(code)s to decline.") % {
                "code": code.code
            }
    return text


def _send_email(*, to: str, subject: str, body: str, link: str | None, language: str) -> str:
    with translation.override(language):
        # Not in SMS: a longer text costs more, and an SMS is easily read by others.
        open_line = _("Open in Samby: %(url)s") % {"url": link} if link else ""
        footer = _("You get this e-mail because you chose e-mail in Samby's settings.")
    text = f"{body}\n\n{open_line}" if open_line else body
    message = EmailMessage(
        subject=f"Samby: {subject}",
        body=f"{text}\n\n-- \n{footer}\n{settings.SITE_URL}",
        to=[to],
    )
    try:
        message.send()
    except OSError as error:  # SMTP server down or refusing: try again later
        raise TransientDeliveryError(f"e-mail not sent: {error}") from error
    return message.extra_headers.get("Message-ID", "")

"""The text each slow channel carries, and the hand-off to its sender."""

from django.conf import settings
from django.core.mail import EmailMessage
from django.utils import translation
from django.utils.translation import gettext as _

from backend.notifications import push, sms
from backend.notifications.errors import TransientDeliveryError
from backend.notifications.kinds import get_kind, render
from backend.notifications.models import Channel, Delivery, Notification, SmsReplyCode


def send(delivery: Delivery, notification: Notification) -> str:
    """Send on the delivery's channel; returns the provider's reference."""
    recipient = notification.recipient
    language = recipient.preferred_language
    title, body = render(get_kind(notification.kind), notification.payload, language)
    if delivery.channel == Channel.SMS:
        return sms.send_sms(to=delivery.address, text=sms_text(notification, title, body, language))
    if delivery.channel == Channel.EMAIL:
        return _send_email(to=delivery.address, subject=title, body=body, language=language)
    if delivery.channel == Channel.PUSH:
        return push.send_to_user(
            user=recipient,
            message={
                "id": notification.id,
                "kind": notification.kind,
                "title": title,
                "body": body,
                "url": "/",
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


def _send_email(*, to: str, subject: str, body: str, language: str) -> str:
    with translation.override(language):
        footer = _("You get this e-mail because you chose e-mail in Samby's settings.")
    message = EmailMessage(
        subject=f"Samby: {subject}",
        body=f"{body}\n\n-- \n{footer}\n{settings.SITE_URL}",
        to=[to],
    )
    try:
        message.send()
    except OSError as error:  # SMTP server down or refusing: try again later
        raise TransientDeliveryError(f"e-mail not sent: {error}") from error
    return message.extra_headers.get("Message-ID", "")

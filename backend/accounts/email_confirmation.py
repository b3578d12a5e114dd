"""Confirming an e-mail address: a link e-mailed to it is opened. Until then nothing else
is e-mailed to the address (notifications skip it): it may be mistyped, or someone
else's, and a stranger must not read about someone's rides.

The link carries a signed token (Django's signing, keyed with SECRET_KEY) naming the
person and the address, valid for EMAIL_LINK_DAYS days. It confirms only that address:
a link to an address the person has since changed does nothing. Opening it needs no
sign-in, since whoever reads the mailbox is who it asks about, and it signs nobody in.
Asking for links is limited per person and per address, so nobody can flood a mailbox.

Several logins may have typed one address (mistyped, or someone else's); whoever opens
their link first owns it, as with phone numbers. The others keep it unconfirmed: no
link is sent them any more, and theirs no longer confirm it.
"""

import logging
import smtplib
from datetime import datetime
from enum import StrEnum

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from redis.exceptions import RedisError

from backend.accounts.models import User
from backend.accounts.selectors import email_confirmed_by_another
from backend.accounts.services import address_confirmed_by_another
from backend.errors import ApplicationError, ErrorKind
from backend.rate_limits import rate, rate_limit_hit

logger = logging.getLogger(__name__)

SALT = "samby.accounts.email-confirmation"


class EmailLinkErrorCode(StrEnum):
    NO_EMAIL = "email_missing"
    ALREADY_CONFIRMED = "email_already_confirmed"
    RATE_LIMITED = "email_link_rate_limited"
    NOT_SENT = "email_link_not_sent"
    INVALID = "email_link_invalid"
    EXPIRED = "email_link_expired"
    STALE = "email_link_stale"


def email_link_token(user: User) -> str:
    """The token of `user`'s confirmation link, for their present address."""
    return signing.dumps({"user": user.pk, "email": user.email.lower()}, salt=SALT)


def email_link_url(token: str) -> str:
    # The web app's confirmation page (webapp:email-confirm; a test holds them together).
    return f"{settings.SITE_URL.rstrip('/')}/email/{token}"


def not_sent() -> ApplicationError:
    return ApplicationError(
        EmailLinkErrorCode.NOT_SENT,
        _("We could not send the e-mail just now. Try again in a minute."),
        kind=ErrorKind.CONFLICT,
    )


def limit_links(key: str) -> None:
    """Count one e-mailed link under `key`; refuse beyond the `email_link` rate."""
    try:
        refused = rate_limit_hit(key, rate("email_link"))
    except RedisError as error:
        # Nothing can be counted without Redis: refuse rather than send unlimited mail.
        logger.warning("e-mail link refused: Redis unreachable")
        raise not_sent() from error
    if refused:
        raise ApplicationError(
            EmailLinkErrorCode.RATE_LIMITED,
            _("Too many links asked for. Look for the last one in your e-mail, or wait an hour."),
            kind=ErrorKind.CONFLICT,
        )


def email_confirmation_send(*, user: User) -> None:
    """E-mail `user` a link that confirms their address (`email_confirm`). Raises when
    there is no address to confirm, it is confirmed already (by them, or by another
    login), too many links were asked for, or the mail server failed (so the person
    knows to try again)."""
    if user.is_managed or not user.email:
        raise ApplicationError(
            EmailLinkErrorCode.NO_EMAIL,
            _("Add your e-mail address first."),
            fields={"email": [_("This field is required.")]},
        )
    if user.email_confirmed_at is not None:
        raise ApplicationError(
            EmailLinkErrorCode.ALREADY_CONFIRMED,
            _("Your e-mail address is confirmed already."),
            kind=ErrorKind.CONFLICT,
        )
    if email_confirmed_by_another(email=user.email, exclude_id=user.pk):
        # No mail: the address's owner has shown it is theirs, and is not this person.
        raise address_confirmed_by_another()
    limit_links(f"email-link:user:{user.pk}")
    limit_links(f"email-link:address:{user.email.lower()}")
    days = settings.EMAIL_LINK_DAYS
    with translation.override(user.preferred_language):
        subject = str(_("Samby: confirm your e-mail address"))
        body = str(
            _(
                "Hello %(name)s,\n\n"
                "Open this link to confirm that %(email)s is your e-mail address in "
                "Samby:\n%(url)s\n\n"
                "The link works for %(days)s days. Until then Samby e-mails you nothing "
                "else.\n\n"
                "Did you not give this address to Samby? Then ignore this e-mail: nothing "
                "more will come."
            )
        ) % {
            "name": user.get_short_name(),
            "email": user.email,
            "url": email_link_url(email_link_token(user)),
            "days": days,
        }
    mail_link(to=user.email, subject=subject, body=body)


def mail_link(*, to: str, subject: str, body: str) -> None:
    """Send a mail carrying a link (to confirm, to sign in) now, while the person waits:
    a mail server that fails is a 409 saying to try again, not a retry later."""
    try:
        EmailMessage(subject=subject, body=body, to=[to]).send()
    except (OSError, smtplib.SMTPException) as error:
        logger.warning("e-mail with a link not sent: %s", error)
        raise not_sent() from error


def email_link_read(token: str) -> User:
    """The person whose present address `token` confirms; raises for a link that was
    tampered with, has expired, is for an address they no longer use, or for one another
    login has confirmed since (the link's page says so before anyone presses its
    button)."""
    try:
        value = signing.loads(token, salt=SALT, max_age=settings.EMAIL_LINK_DAYS * 86400)
    except signing.SignatureExpired as error:
        raise ApplicationError(
            EmailLinkErrorCode.EXPIRED,
            _("This link is too old. Ask for a new one on your profile page."),
        ) from error
    except signing.BadSignature as error:
        raise ApplicationError(
            EmailLinkErrorCode.INVALID,
            _("This link is not whole. Open it again from the e-mail, or ask for a new one."),
        ) from error
    user = User.objects.filter(pk=value.get("user"), is_active=True, is_managed=False).first()
    if user is None or not user.email or user.email.lower() != value.get("email"):
        raise ApplicationError(
            EmailLinkErrorCode.STALE,
            _("This link is for an address no longer in the account. Ask for a new one."),
        )
    if user.email_confirmed_at is None and email_confirmed_by_another(
        email=user.email, exclude_id=user.pk
    ):
        raise address_confirmed_by_another()
    return user


def email_confirm(*, token: str, now: datetime | None = None) -> User:
    """Confirm the address `token` was sent to. Opening the link again changes nothing.
    Raises, with nothing changed, when another login has confirmed the address: when two
    confirm it at once, the constraint `user_email_confirmed_once` decides who was first
    (the second waits on the first's row in its index until the first commits)."""
    user = email_link_read(token)
    if user.email_confirmed_at is None:
        confirmed_at = now or timezone.now()
        try:
            with transaction.atomic():
                # Only while the address is still the one the link was sent to.
                updated = User.objects.filter(pk=user.pk, email=user.email).update(
                    email_confirmed_at=confirmed_at
                )
        except IntegrityError as error:
            raise address_confirmed_by_another() from error
        if not updated:
            return email_confirm(token=token, now=now)  # changed meanwhile: stale now
        user.email_confirmed_at = confirmed_at
    return user

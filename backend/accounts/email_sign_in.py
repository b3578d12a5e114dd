"""Signing in with a link e-mailed to one's confirmed address, for someone who has
forgotten their password and has no phone for a code (or whose number is not
confirmed). They may then choose a new password without the old one.

The link carries a Django password-reset token (with its own salt): it works for
SIGN_IN_LINK_TTL seconds and once only, since signing in changes `last_login`, which the
token covers, as it covers the password and the address. Links go only to confirmed
addresses: a mistyped address belongs to a stranger, whom a link would let in. The answer
to "send me a link" is the same whether or not the address has an account, and asking is
limited per address and per client address.
"""

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import base36_to_int, urlsafe_base64_decode, urlsafe_base64_encode
from django.utils.translation import gettext_lazy as _

from backend.accounts.email_confirmation import EmailLinkErrorCode, limit_links, mail_link
from backend.accounts.models import User
from backend.accounts.selectors import user_find_login
from backend.accounts.services import clean_email
from backend.errors import ApplicationError


class _SignInTokens(PasswordResetTokenGenerator):
    """Django's reset tokens, with their own salt and a lifetime of SIGN_IN_LINK_TTL: a
    sign-in link is not a reset link, and an hour is long enough to open one's e-mail.
    (Django checks PASSWORD_RESET_TIMEOUT, three days, first; this checks the shorter.)"""

    key_salt = "samby.accounts.email-sign-in"

    def check_token(self, user: User | None, token: str | None) -> bool:
        if not super().check_token(user, token):
            return False
        made_at = base36_to_int(token.split("-")[0])
        return self._num_seconds(self._now()) - made_at <= settings.SIGN_IN_LINK_TTL


def sign_in_link_path(user: User) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    # The web app's page for the link (webapp:sign-in-email-link; a test holds them).
    return f"/sign-in/email/{uid}/{_SignInTokens().make_token(user)}"


def sign_in_link_send(*, email: str, client_ip: str = "") -> None:
    """E-mail a sign-in link to `email` when it is a login's confirmed address. Raises only
    for a malformed address, too many requests, or a mail server that failed."""
    email = clean_email(email)
    if not email:
        raise ApplicationError(
            EmailLinkErrorCode.NO_EMAIL,
            _("Write your e-mail address."),
            fields={"email": [_("This field is required.")]},
        )
    limit_links(f"sign-in-link:address:{email.lower()}")
    if client_ip:
        limit_links(f"sign-in-link:ip:{client_ip}")
    # Only the login that confirmed the address (user_find_login): others who typed it
    # may be strangers to its owner.
    user = user_find_login(identifier=email)
    if user is None or not user.is_active:
        return
    minutes = max(settings.SIGN_IN_LINK_TTL // 60, 1)
    with translation.override(user.preferred_language):
        subject = str(_("Samby: your sign-in link"))
        body = str(
            _(
                "Hello %(name)s,\n\n"
                "Open this link to sign in to Samby:\n%(url)s\n\n"
                "It works once, for %(minutes)s minutes. Then you can choose a new password "
                "in your profile.\n\n"
                "Did you not ask for it? Then ignore this e-mail: nobody can sign in "
                "without opening the link."
            )
        ) % {
            "name": user.get_short_name(),
            "url": settings.SITE_URL.rstrip("/") + sign_in_link_path(user),
            "minutes": minutes,
        }
    mail_link(to=user.email, subject=subject, body=body)


def sign_in_link_user(*, uid: str, token: str) -> User:
    """The person a sign-in link is for, while it works; raises for any other link. The
    caller signs them in, which spends the link."""
    try:
        pk = int(urlsafe_base64_decode(uid).decode())
    except (ValueError, UnicodeDecodeError):
        pk = None
    if pk is not None and not 0 < pk < 2**63:
        pk = None  # beyond the id column: no person, and no error from the database
    user = (
        User.objects.filter(
            pk=pk, email_confirmed_at__isnull=False, is_managed=False, is_active=True
        ).first()
        if pk is not None
        else None
    )
    if user is None or not _SignInTokens().check_token(user, token):
        raise ApplicationError(
            EmailLinkErrorCode.INVALID,
            _(
                "This sign-in link does not work: it is used, too old, or not whole. "
                "Ask for a new one."
            ),
        )
    return user

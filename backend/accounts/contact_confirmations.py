"""A person has a new phone number or e-mail address (joined with it, or changed it on
their profile): text the number a code and mail the address a link, at once, so they can
show the detail is theirs. The one rule for the API and the web pages alike.

Neither failing undoes anything: the account or the change stands, and the person asks
for a new code (`phone_confirmation_send`) or link (`email_confirmation_send`) later.
So failures are returned, not raised, for the caller to show or log."""

from dataclasses import dataclass

from backend.accounts.email_confirmation import email_confirmation_send
from backend.accounts.login_codes import phone_confirmation_send
from backend.accounts.models import User
from backend.errors import ApplicationError


@dataclass(frozen=True)
class ContactConfirmations:
    """What `contact_confirmations_send` did. A detail that needs no confirmation has
    its flag false and no error."""

    # A new number waits for its code: the code was texted, or `code_error` says why not.
    phone_to_confirm: bool = False
    code_error: ApplicationError | None = None
    # The address a link was mailed to ("" when none was).
    link_emailed_to: str = ""
    link_error: ApplicationError | None = None

    @property
    def failures(self) -> list[ApplicationError]:
        """Why a code or link did not go out, the number's first."""
        return [error for error in (self.code_error, self.link_error) if error is not None]


def contact_confirmations_send(
    *, user: User, phone_is_new: bool, email_is_new: bool, client_ip: str = ""
) -> ContactConfirmations:
    """Text `user` a code for their number when it is new, and mail them a link for their
    address when it is new and not confirmed (an address only spelt otherwise keeps its
    confirmation). The caller says what is new, since only it knows what was there
    before. Codes are limited per number and per `client_ip`, links per person and
    address, as when asked for one by one."""
    phone_to_confirm = phone_is_new and bool(user.phone)
    code_error = link_error = None
    link_emailed_to = ""
    if phone_to_confirm:
        try:
            phone_confirmation_send(user=user, client_ip=client_ip)
        except ApplicationError as error:
            code_error = error
    if email_is_new and user.email_unconfirmed:
        try:
            email_confirmation_send(user=user)
        except ApplicationError as error:
            link_error = error
        else:
            link_emailed_to = user.email
    return ContactConfirmations(
        phone_to_confirm=phone_to_confirm,
        code_error=code_error,
        link_emailed_to=link_emailed_to,
        link_error=link_error,
    )

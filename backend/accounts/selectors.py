from django.db.models import QuerySet
from django.db.models.functions import Lower

from backend.accounts.models import User
from backend.accounts.phone import normalize_phone

# Password sign-in with a phone number or an e-mail address tries at most this many
# logins that typed it without confirming it: each try costs a password hash.
UNCONFIRMED_LOGINS_TRIED = 4


def _logins_with_address(email: str) -> QuerySet[User]:
    """The logins that gave `email`, in any case, confirmed or not. Compared lowercased,
    as the constraint and the index compare (`user_email_confirmed_once`,
    `user_login_email`)."""
    return (
        User.objects.filter(is_managed=False)
        .exclude(email="")
        .alias(email_lower=Lower("email"))
        .filter(email_lower=email.lower())
    )


def user_find_login(*, identifier: str) -> User | None:
    """The person who confirmed this e-mail address or phone number as theirs, if any.
    Not someone who merely typed it: it may be mistyped, or someone else's."""
    identifier = identifier.strip()
    if "@" in identifier:
        return _logins_with_address(identifier).filter(email_confirmed_at__isnull=False).first()
    phone = normalize_phone(identifier)
    if phone is None:
        return None
    logins = User.objects.filter(is_managed=False)
    return logins.filter(phone=phone, phone_confirmed_at__isnull=False).first()


def logins_for_password(*, identifier: str) -> list[User]:
    """Who may be signing in with a password under this phone number or e-mail address:
    the login that confirmed it, then up to UNCONFIRMED_LOGINS_TRIED who typed it without
    confirming, oldest first (one of them may be someone who has not opened their link or
    received their code yet)."""
    identifier = identifier.strip()
    if "@" in identifier:
        logins = _logins_with_address(identifier)
        confirmed = list(logins.filter(email_confirmed_at__isnull=False)[:1])
        unconfirmed = logins.filter(email_confirmed_at__isnull=True)
    else:
        phone = normalize_phone(identifier)
        if phone is None:
            return []
        logins = User.objects.filter(is_managed=False, phone=phone)
        confirmed = list(logins.filter(phone_confirmed_at__isnull=False)[:1])
        unconfirmed = logins.filter(phone_confirmed_at__isnull=True)
    unconfirmed = unconfirmed.order_by("date_joined", "pk")
    return confirmed + list(unconfirmed[:UNCONFIRMED_LOGINS_TRIED])


def phone_confirmed_by_another(*, phone: str, exclude_id: int | None = None) -> bool:
    """Whether a login (other than the one with id `exclude_id`) has confirmed `phone` as
    theirs: only such a number keeps others from taking it."""
    owners = User.objects.filter(is_managed=False, phone=phone, phone_confirmed_at__isnull=False)
    return bool(phone) and _others(owners, exclude_id).exists()


def email_confirmed_by_another(*, email: str, exclude_id: int | None = None) -> bool:
    """Whether a login (other than the one with id `exclude_id`) has confirmed `email`, in
    any case, as theirs: only such an address keeps others from taking it."""
    if not email:
        return False
    owners = _logins_with_address(email).filter(email_confirmed_at__isnull=False)
    return _others(owners, exclude_id).exists()


def _others(users: QuerySet[User], exclude_id: int | None) -> QuerySet[User]:
    return users if exclude_id is None else users.exclude(pk=exclude_id)

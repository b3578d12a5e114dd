from backend.accounts.models import User
from backend.accounts.phone import normalize_phone

# Password sign-in with a phone number tries at most this many logins that typed it
# without confirming it: each try costs a password hash.
UNCONFIRMED_LOGINS_TRIED = 4


def user_find_login(*, identifier: str) -> User | None:
    """The person who logs in with this e-mail address, or who confirmed this phone
    number as theirs, if any. Not someone who merely typed the number: it may be
    mistyped, or someone else's."""
    identifier = identifier.strip()
    logins = User.objects.filter(is_managed=False)
    if "@" in identifier:
        return logins.filter(email__iexact=identifier).first()
    phone = normalize_phone(identifier)
    if phone is None:
        return None
    return logins.filter(phone=phone, phone_confirmed_at__isnull=False).first()


def logins_for_password(*, identifier: str) -> list[User]:
    """Who may be signing in with a password under this phone number or e-mail address:
    for an address, its one login; for a number, the login that confirmed it, then up to
    UNCONFIRMED_LOGINS_TRIED who typed it without confirming, oldest first (one of them
    may be someone who has not received their code yet)."""
    identifier = identifier.strip()
    if "@" in identifier:
        login = user_find_login(identifier=identifier)
        return [login] if login else []
    phone = normalize_phone(identifier)
    if phone is None:
        return []
    logins = User.objects.filter(is_managed=False, phone=phone)
    confirmed = list(logins.filter(phone_confirmed_at__isnull=False)[:1])
    unconfirmed = logins.filter(phone_confirmed_at__isnull=True).order_by("date_joined", "pk")
    return confirmed + list(unconfirmed[:UNCONFIRMED_LOGINS_TRIED])


def phone_confirmed_by_another(*, phone: str, exclude_id: int | None = None) -> bool:
    """Whether a login (other than the one with id `exclude_id`) has confirmed `phone` as
    theirs: only such a number keeps others from taking it."""
    owners = User.objects.filter(is_managed=False, phone=phone, phone_confirmed_at__isnull=False)
    return bool(phone) and owners.exclude(pk=exclude_id).exists()

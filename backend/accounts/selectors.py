from backend.accounts.models import User
from backend.accounts.phone import normalize_phone


def user_find_login(*, identifier: str) -> User | None:
    """The person who logs in with this phone number or e-mail address, if any."""
    identifier = identifier.strip()
    logins = User.objects.filter(is_managed=False)
    if "@" in identifier:
        return logins.filter(email__iexact=identifier).first()
    phone = normalize_phone(identifier)
    if phone is None:
        return None
    return logins.filter(phone=phone).first()

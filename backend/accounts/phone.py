"""Phone numbers are stored in E.164 (+46701234567): one spelling per number."""

import phonenumbers
from django.conf import settings


def normalize_phone(raw: str) -> str | None:
    """Return the number in E.164, or None when it is not a possible phone number."""
    try:
        parsed = phonenumbers.parse(raw, settings.PHONE_DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)

from datetime import datetime
from enum import StrEnum
from typing import Any

from django.contrib.auth import password_validation
from django.contrib.gis.geos import Point
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework.authtoken.models import Token

from backend.accounts.models import Language, User
from backend.accounts.phone import normalize_phone
from backend.accounts.proxy_invitations import proxy_invitations_claim
from backend.accounts.selectors import email_confirmed_by_another, phone_confirmed_by_another
from backend.errors import ApplicationError, ErrorKind
from backend.geocoding import geocode


class AccountErrorCode(StrEnum):
    PHONE_INVALID = "phone_invalid"
    PHONE_TAKEN = "phone_taken"
    EMAIL_INVALID = "email_invalid"
    EMAIL_TAKEN = "email_taken"
    PASSWORD_WEAK = "password_weak"  # noqa: S105 - an error code
    PASSWORD_WRONG = "password_wrong"  # noqa: S105 - an error code
    PASSWORD_NEEDED = "password_needed"  # noqa: S105 - an error code
    NAME_MISSING = "name_missing"
    CONTACT_MISSING = "contact_missing"


def clean_phone(raw: str, *, field: str = "phone") -> str:
    """E.164 for a phone number given in any common spelling, or a clear error."""
    if not raw.strip():
        return ""
    phone = normalize_phone(raw)
    if phone is None:
        raise ApplicationError(
            AccountErrorCode.PHONE_INVALID,
            _("This is not a phone number we can send SMS to. Write it like 070-123 45 67."),
            fields={field: [_("Not a valid phone number.")]},
        )
    return phone


def clean_email(raw: str) -> str:
    email = raw.strip()
    if not email:
        return ""
    try:
        validate_email(email)
    except ValidationError as exc:
        raise ApplicationError(
            AccountErrorCode.EMAIL_INVALID,
            _("This is not an e-mail address. Write it like name@example.se."),
            fields={"email": [_("Not a valid e-mail address.")]},
        ) from exc
    return email


def _clean_name(raw: str) -> str:
    name = " ".join(raw.split())
    if not name:
        raise ApplicationError(
            AccountErrorCode.NAME_MISSING,
            _("Write the person's name."),
            fields={"full_name": [_("This field is required.")]},
        )
    return name


def _check_login_free(*, phone: str, email: str, exclude_id: int | None = None) -> None:
    """A number or an address blocks others only once a login confirmed it: one typed by
    someone who never showed it is theirs (mistyped, or someone else's) must not keep its
    owner out."""
    if phone_confirmed_by_another(phone=phone, exclude_id=exclude_id):
        raise ApplicationError(
            AccountErrorCode.PHONE_TAKEN,
            _("Someone already uses this phone number. Log in instead, or ask for a new password."),
            kind=ErrorKind.CONFLICT,
            fields={"phone": [_("Already in use.")]},
        )
    if email_confirmed_by_another(email=email, exclude_id=exclude_id):
        raise ApplicationError(
            AccountErrorCode.EMAIL_TAKEN,
            _("Someone already uses this e-mail address. Log in instead."),
            kind=ErrorKind.CONFLICT,
            fields={"email": [_("Already in use.")]},
        )


def _check_password_strong(password: str, user: User, *, field: str = "password") -> None:
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise ApplicationError(
            AccountErrorCode.PASSWORD_WEAK,
            _("Choose another password: ") + " ".join(exc.messages),
            fields={field: list(exc.messages)},
        ) from exc


@transaction.atomic
def user_register(
    *,
    full_name: str,
    phone: str,
    password: str,
    email: str = "",
    preferred_language: str = Language.SWEDISH,
) -> User:
    """Create a person who logs in with phone or e-mail and a password."""
    full_name = _clean_name(full_name)
    phone = clean_phone(phone)
    email = clean_email(email)
    if not phone and not email:
        raise ApplicationError(
            AccountErrorCode.CONTACT_MISSING,
            _("Give a phone number or an e-mail address to log in with."),
            fields={"phone": [_("This field is required.")]},
        )
    _check_login_free(phone=phone, email=email)
    user = User(
        full_name=full_name, phone=phone, email=email, preferred_language=preferred_language
    )
    _check_password_strong(password, user)
    user.set_password(password)
    # Unconfirmed, the number and the address keep nobody out yet: two people may
    # register the same at once, and whoever confirms it first owns it.
    user.save()
    # Requests to help sent to the number wait until it is confirmed (user_phone_confirmed).
    return user


PROFILE_FIELDS = {
    "full_name",
    "phone",
    "email",
    "preferred_language",
    "contact_by_sms",
    "contact_by_email",
    "contact_by_push",
    "home_address",
    "home_location",
    "birth_year",
}


@transaction.atomic
def user_update_profile(*, user: User, changes: dict[str, Any]) -> User:
    """Change a person's own details. Unknown keys are a programming error. A new
    `home_address` brings its point along as `user_home_change` does (looked up unless
    `home_location` is given); `home_location` alone moves the point and keeps the
    address."""
    unknown = set(changes) - PROFILE_FIELDS
    if unknown:
        raise ValueError(f"not profile fields: {sorted(unknown)}")
    if "full_name" in changes:
        changes["full_name"] = _clean_name(changes["full_name"])
    if "phone" in changes:
        changes["phone"] = clean_phone(changes["phone"])
    if "email" in changes:
        changes["email"] = clean_email(changes["email"])
    if not user.is_managed:
        phone = changes.get("phone", user.phone)
        email = changes.get("email", user.email)
        if not phone and not email:
            raise ApplicationError(
                AccountErrorCode.CONTACT_MISSING,
                _("Keep a phone number or an e-mail address to log in with."),
                fields={"phone": [_("This field is required.")]},
            )
        # Only what changes: a number or an address someone else confirmed after this
        # person typed it stays theirs, unconfirmed, while they change other things.
        _check_login_free(
            phone=phone if phone != user.phone else "",
            email=email if email.lower() != user.email.lower() else "",
            exclude_id=user.pk,
        )
    if "home_address" in changes:
        # Last: the cheap checks first, then the lookup (nothing is saved when it fails).
        changes["home_address"], changes["home_location"] = _home_place(
            changes["home_address"], changes.get("home_location")
        )
    fields = [*changes.keys()]
    if changes.get("phone", user.phone) != user.phone:
        # A new number is theirs only once a code sent to it comes back.
        user.phone_confirmed_at = None
        fields.append("phone_confirmed_at")
    if changes.get("email", user.email).lower() != user.email.lower():
        # A new address is theirs only once a link e-mailed to it is opened.
        user.email_confirmed_at = None
        fields.append("email_confirmed_at")
    for name, value in changes.items():
        setattr(user, name, value)
    user.save(update_fields=fields)
    return user


def _home_place(address: str, point: Point | None) -> tuple[str, Point | None]:
    """The home address and its point, which follows the address so that it never stays
    at an old home: none for an empty address, else `point` when given, else the address
    looked up (an ApplicationError on `home_address` when it cannot be found)."""
    address = address.strip()
    if not address:
        return "", None
    if point is None:
        point = geocode(address, field="home_address")
    return address, point


def user_home_change(*, user: User, address: str, point: Point | None = None) -> User:
    """Set, move or remove where `user` lives (a managed profile too). The home is the
    pickup suggested for their shop runs and rides, so the address and its point change
    together; see `_home_place` for the rule. Nothing is saved when the address cannot
    be looked up. One row written, after the lookup: no transaction is held open while
    the geocoder answers."""
    user.home_address, user.home_location = _home_place(address, point)
    user.save(update_fields=["home_address", "home_location"])
    return user


@transaction.atomic
def user_phone_confirmed(*, user: User, now: datetime | None = None) -> User:
    """Record that `user` showed their phone number is theirs (a code sent to it came
    back, or staff vouched for it), and give them the requests to help that wait for
    the number. Nothing changes when it was confirmed already."""
    if user.is_managed or not user.phone:
        return user
    if user.phone_confirmed_at is None:
        confirmed_at = now or timezone.now()
        try:
            # The constraint decides whether someone else confirmed the number (first).
            with transaction.atomic():
                User.objects.filter(pk=user.pk, phone=user.phone).update(
                    phone_confirmed_at=confirmed_at
                )
        except IntegrityError as error:
            raise confirmed_by_another() from error
        user.phone_confirmed_at = confirmed_at
    proxy_invitations_claim(user=user)
    return user


def user_email_vouched(*, user: User, now: datetime | None = None) -> User:
    """Staff typed `user`'s e-mail address (the admin): they vouch for it, as they would
    for an address the person told them on the phone, so it counts as confirmed; no
    address, or a managed profile, confirms nothing. Sets the field on `user` only, for
    the caller's save to write together with the address: the database refuses a
    confirmation left beside an address that is gone
    (`user_email_confirmed_is_a_login_address`), and a second login confirming one
    address (`user_email_confirmed_once`), so the caller first refuses an address
    another login confirmed (`email_confirmed_by_another`)."""
    vouched = bool(user.email) and not user.is_managed
    user.email_confirmed_at = (now or timezone.now()) if vouched else None
    return user


def confirmed_by_another() -> ApplicationError:
    return ApplicationError(
        AccountErrorCode.PHONE_TAKEN,
        _(
            "Someone else has shown that this phone number is theirs. Check the number "
            "in your profile, or ask your association for help."
        ),
        kind=ErrorKind.CONFLICT,
        fields={"phone": [_("Already in use.")]},
    )


def address_confirmed_by_another() -> ApplicationError:
    return ApplicationError(
        AccountErrorCode.EMAIL_TAKEN,
        _(
            "Someone else has shown that this e-mail address is theirs. Use another "
            "address in your profile."
        ),
        kind=ErrorKind.CONFLICT,
        fields={"email": [_("Already in use.")]},
    )


def user_change_password(*, user: User, new_password: str, current_password: str | None) -> User:
    """Give `user` a new password. `current_password` must be their present one, unless
    the caller passes None because the person has just shown who they are another way
    (signed in with a one-time code: they may have forgotten it). Every other device is
    signed out: sessions by Django (the session hash changes), apps by losing their
    token. The caller keeps its own session (`update_session_auth_hash`) or makes a new
    token."""
    if user.is_managed:
        raise ValueError("a managed profile has no password")
    if current_password is not None and not user.check_password(current_password):
        raise ApplicationError(
            AccountErrorCode.PASSWORD_WRONG,
            _("That is not your present password. Try again, or sign in with a code."),
            fields={"current_password": [_("Wrong password.")]},
        )
    _check_password_strong(new_password, user, field="new_password")
    user.set_password(new_password)
    user.save(update_fields=["password"])
    Token.objects.filter(user=user).delete()
    return user

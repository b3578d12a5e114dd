"""A person's right to their data: everything we hold about them as one JSON document,
and erasure.

Erasure anonymises rather than deletes: the person's rides stay as rows (without names,
addresses or exact points) so the association's and the municipality's counts of rides,
kilometres and people served do not change; everything else that is about the person
(inbox, preferences, devices, proxies, driver calendar) is deleted.
"""

from enum import StrEnum

from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework.authtoken.models import Token

from backend.accounts.models import LoginCode, ProxyLink, User
from backend.community.models import Membership, MembershipState, MunicipalityAnalyst
from backend.errors import ApplicationError, ErrorKind
from backend.geo import approximate
from backend.notifications.models import (
    Notification,
    NotificationPreference,
    PushSubscription,
    QuietHours,
    Reminder,
)
from backend.rides import services as rides
from backend.rides.models import (
    CLOSED_STATES,
    DRIVER_HOLDS,
    AvailabilityException,
    AvailabilitySlot,
    DriverProfile,
    RideRequest,
)

ERASED_NAME = "—"


class PrivacyErrorCode(StrEnum):
    DRIVER_HOLDS_RIDES = "erase_driver_holds_rides"
    ALREADY_ERASED = "already_erased"


@transaction.atomic
def person_erase(*, user: User) -> User:
    """Anonymise `user` for good (they asked for it). Upcoming rides they booked for
    themself are cancelled first, so a driver is not left waiting. A driver who holds a
    ride must hand it back first. Locks the person's row."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if not user.is_active and user.full_name == ERASED_NAME:
        raise ApplicationError(
            PrivacyErrorCode.ALREADY_ERASED,
            _("This account is already erased."),
            kind=ErrorKind.CONFLICT,
        )
    if RideRequest.objects.filter(driver__membership__user=user, state__in=DRIVER_HOLDS).exists():
        raise ApplicationError(
            PrivacyErrorCode.DRIVER_HOLDS_RIDES,
            _(
                "You are the driver of rides that have not happened yet. Give them back "
                "(or finish them) first, so the passengers get another driver."
            ),
            kind=ErrorKind.CONFLICT,
        )
    for ride in RideRequest.objects.filter(rider=user).exclude(state__in=CLOSED_STATES):
        rides.ride_cancel(ride=ride, actor=user, reason=str(_("The passenger left Samby.")))

    grid = settings.RIDES_APPROXIMATE_GRID_M
    for ride in RideRequest.objects.filter(rider=user).exclude(pickup_address=""):
        ride.pickup = approximate(ride.pickup, grid_m=grid)
        ride.destination = approximate(ride.destination, grid_m=grid)
        ride.pickup_address = ride.destination_address = ride.note = ""
        ride.save(
            update_fields=["pickup", "destination", "pickup_address", "destination_address", "note"]
        )

    for profile in DriverProfile.objects.filter(membership__user=user):
        AvailabilitySlot.objects.filter(driver=profile).delete()
        AvailabilityException.objects.filter(driver=profile).delete()
        profile.home_base = approximate(profile.home_base, grid_m=grid)
        profile.vehicle_description = ""
        profile.active = profile.on_duty = False
        profile.position = profile.position_at = None
        profile.save()
    # Memberships stay (a driver's rides point at theirs), without reasons or a role to act.
    Membership.objects.filter(user=user).update(
        state=MembershipState.SUSPENDED, state_reason="", state_changed_at=timezone.now()
    )

    Notification.objects.filter(recipient=user).delete()
    NotificationPreference.objects.filter(user=user).delete()
    QuietHours.objects.filter(user=user).delete()
    PushSubscription.objects.filter(user=user).delete()
    Reminder.objects.filter(recipient=user).delete()
    ProxyLink.objects.filter(Q(proxy=user) | Q(resident=user)).delete()
    MunicipalityAnalyst.objects.filter(user=user).delete()
    LoginCode.objects.filter(user=user).delete()
    Token.objects.filter(user=user).delete()
    _end_sessions(user)

    # A managed-profile shape: no login, no password, nothing to reach the person by.
    user.full_name = ERASED_NAME
    user.phone = user.email = user.home_address = ""
    user.home_location = None
    # Kept as a decade, for "people over 65 served" counts; no longer identifies anyone.
    user.birth_year = user.birth_year - user.birth_year % 10 if user.birth_year else None
    user.contact_by_sms = user.contact_by_email = user.contact_by_push = False
    user.is_managed = True
    user.is_active = user.is_staff = user.is_superuser = False
    user.set_unusable_password()
    user.save()
    user.groups.clear()
    user.user_permissions.clear()
    return user


def _end_sessions(user: User) -> None:
    """Signs the person out on every device. Sessions are rows in the database backend;
    their user id is inside the encoded data."""
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if str(session.get_decoded().get("_auth_user_id")) == str(user.pk):
            session.delete()

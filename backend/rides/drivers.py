"""Drivers' own settings: profile, weekly availability, exceptions, duty and position;
and the association's approval of riders."""

from dataclasses import dataclass
from datetime import date, time

from django.contrib.gis.geos import Point
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.accounts.models import User
from backend.community.models import Membership, MembershipState, Role
from backend.errors import ApplicationError, ErrorKind
from backend.notifications.live import publish_to_user
from backend.rides.availability import availability_windows_rebuild
from backend.rides.errors import RideErrorCode
from backend.rides.models import (
    AvailabilityException,
    AvailabilitySlot,
    DriverProfile,
    ExceptionKind,
    RiderApproval,
    RideRequest,
    RideState,
)
from backend.rides.selectors import user_coordinates

PROFILE_FIELDS = {
    "home_base",
    "service_radius_m",
    "seats",
    "wheelchair_accessible",
    "walker_space",
    "child_seat",
    "takes_guide_dog",
    "vehicle_description",
    "active",
}


@dataclass(frozen=True)
class Slot:
    weekday: int
    start: time
    end: time


def _require_self_or_coordinator(actor: User, membership: Membership) -> None:
    if actor.pk != membership.user_id and not user_coordinates(
        user=actor, association=membership.association
    ):
        raise ApplicationError(
            RideErrorCode.NOT_ALLOWED,
            _("Only the driver or a coordinator can change this."),
            kind=ErrorKind.FORBIDDEN,
        )


@transaction.atomic
def driver_profile_save(*, actor: User, membership: Membership, values: dict) -> DriverProfile:
    """Create or change the driver profile of a membership with the driver role."""
    _require_self_or_coordinator(actor, membership)
    if Role.DRIVER not in membership.roles or membership.state != MembershipState.ACTIVE:
        raise ApplicationError(
            RideErrorCode.NOT_DRIVER,
            _("Only an active member with the driver role can have a driver profile."),
            kind=ErrorKind.CONFLICT,
        )
    unknown = set(values) - PROFILE_FIELDS
    if unknown:
        raise ValueError(f"not driver profile fields: {sorted(unknown)}")
    radius = values.get("service_radius_m")
    if radius is not None and not 500 <= radius <= 100_000:
        raise ApplicationError(
            RideErrorCode.SLOT_INVALID,
            _("The service radius must be between 0.5 and 100 km."),
            fields={"service_radius_m": [_("Between 500 and 100000 metres.")]},
        )
    seats = values.get("seats")
    if seats is not None and not 1 <= seats <= 8:
        raise ApplicationError(
            RideErrorCode.SLOT_INVALID,
            _("A car has from 1 to 8 passenger seats."),
            fields={"seats": [_("Between 1 and 8.")]},
        )
    profile = DriverProfile.objects.filter(membership=membership).first()
    if profile is None:
        if "home_base" not in values:
            raise ApplicationError(
                RideErrorCode.SLOT_INVALID,
                _("Say where you usually drive from."),
                fields={"home_base": [_("This field is required.")]},
            )
        profile = DriverProfile(membership=membership)
    for name, value in values.items():
        setattr(profile, name, value)
    profile.save()
    availability_windows_rebuild(driver_ids=[profile.pk])  # the windows carry the home base
    return profile


@transaction.atomic
def availability_set(*, actor: User, driver: DriverProfile, slots: list[Slot]) -> None:
    """Replace the driver's weekly availability."""
    _require_self_or_coordinator(actor, driver.membership)
    for index, slot in enumerate(slots):
        if not 0 <= slot.weekday <= 6 or slot.start >= slot.end:
            raise ApplicationError(
                RideErrorCode.SLOT_INVALID,
                _("Each time must be on a weekday and end after it starts."),
                fields={f"slots.{index}": [_("Ends before it starts.")]},
            )
    AvailabilitySlot.objects.filter(driver=driver).delete()
    AvailabilitySlot.objects.bulk_create(
        AvailabilitySlot(driver=driver, weekday=s.weekday, start=s.start, end=s.end) for s in slots
    )
    availability_windows_rebuild(driver_ids=[driver.pk])


def availability_exception_add(
    *,
    actor: User,
    driver: DriverProfile,
    day: date,
    kind: str,
    start: time | None = None,
    end: time | None = None,
) -> AvailabilityException:
    _require_self_or_coordinator(actor, driver.membership)
    if kind not in ExceptionKind.values:
        raise ApplicationError(
            RideErrorCode.SLOT_INVALID,
            _("Choose away or extra."),
            fields={"kind": [_("Unknown kind.")]},
        )
    if (start is None) != (end is None) or (start and end and start >= end):
        raise ApplicationError(
            RideErrorCode.SLOT_INVALID,
            _("Give both times, the end after the start, or neither for the whole day."),
            fields={"end": [_("Ends before it starts.")]},
        )
    if kind == ExceptionKind.EXTRA and start is None:
        raise ApplicationError(
            RideErrorCode.SLOT_INVALID,
            _("Extra time needs a start and an end."),
            fields={"start": [_("This field is required.")]},
        )
    if day < timezone.localdate():
        raise ApplicationError(
            RideErrorCode.TIME_PAST,
            _("The day has passed."),
            fields={"date": [_("Choose today or later.")]},
        )
    with transaction.atomic():
        exception = AvailabilityException.objects.create(
            driver=driver, date=day, kind=kind, start=start, end=end
        )
        availability_windows_rebuild(driver_ids=[driver.pk])
    return exception


def driver_set_duty(*, actor: User, driver: DriverProfile, on_duty: bool) -> DriverProfile:
    """On duty, the driver shares their position; off duty, it is forgotten."""
    _require_self_or_coordinator(actor, driver.membership)
    driver.on_duty = on_duty
    if not on_duty:
        driver.position, driver.position_at = None, None
    driver.save(update_fields=["on_duty", "position", "position_at"])
    return driver


def driver_position_update(*, actor: User, driver: DriverProfile, point: Point) -> int:
    """Store the on-duty driver's position and show it live to the riders they are on
    the way to. Returns how many riders were sent it."""
    if driver.membership.user_id != actor.pk:
        raise ApplicationError(
            RideErrorCode.NOT_DRIVER,
            _("Only the driver shares their position."),
            kind=ErrorKind.FORBIDDEN,
        )
    if not driver.on_duty:
        raise ApplicationError(
            RideErrorCode.WRONG_STATE,
            _("Turn on duty to share your position."),
            kind=ErrorKind.CONFLICT,
        )
    now = timezone.now()
    DriverProfile.objects.filter(pk=driver.pk).update(position=point, position_at=now)
    riding = RideRequest.objects.filter(
        driver=driver, state__in=[RideState.EN_ROUTE, RideState.PICKED_UP]
    ).values_list("pk", "rider_id", "requested_by_id")
    sent = 0
    for ride_id, *people in riding:
        event = {
            "type": "driver.position",
            "ride": ride_id,
            "position": [point.x, point.y],
            "at": now.isoformat(),
        }
        for user_id in set(people):
            publish_to_user(user_id, event)
            sent += 1
    return sent


def rider_approve(*, actor: User, membership: Membership, notes: str = "") -> RiderApproval:
    """The association approves a member for volunteer rides (eligibility noted)."""
    if not user_coordinates(user=actor, association=membership.association):
        raise ApplicationError(
            RideErrorCode.NOT_ALLOWED,
            _("Only a coordinator approves riders."),
            kind=ErrorKind.FORBIDDEN,
        )
    approval, _created = RiderApproval.objects.update_or_create(
        membership=membership, defaults={"approved_by": actor, "notes": notes.strip()}
    )
    return approval

"""Drivers' own settings: profile, weekly availability, exceptions, duty and position;
and the association's approval of riders."""

import itertools
from dataclasses import dataclass
from datetime import date, time

from django.contrib.gis.geos import Point
from django.db import transaction
from django.utils import formats, timezone
from django.utils.dates import WEEKDAYS
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from backend.accounts.models import User
from backend.community.models import Membership, MembershipState, Role
from backend.community.selectors import association_coordinators, user_is_coordinator
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
from backend.rides.services import MAX_AHEAD

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
    if actor.pk != membership.user_id and not user_is_coordinator(
        user=actor, association=membership.association
    ):
        raise ApplicationError(
            RideErrorCode.NOT_ALLOWED,
            _("Only the driver or a coordinator can change this."),
            kind=ErrorKind.FORBIDDEN,
        )


def _profile_problems(values: dict, *, creating: bool) -> dict[str, list]:
    """What is wrong with the profile values, per field (empty when nothing)."""
    problems: dict[str, list] = {}
    radius = values.get("service_radius_m")
    if radius is not None and not 500 <= radius <= 100_000:
        problems["service_radius_m"] = [
            _("The service radius must be from 500 to 100000 metres (0.5 to 100 km).")
        ]
    seats = values.get("seats")
    if seats is not None and not 1 <= seats <= 8:
        problems["seats"] = [_("A car has from 1 to 8 passenger seats.")]
    if creating and values.get("home_base") is None:
        problems["home_base"] = [_("Say where you usually drive from.")]
    return problems


@transaction.atomic
def driver_profile_save(*, actor: User, membership: Membership, values: dict) -> DriverProfile:
    """Create or change the driver profile of a membership with the driver role. Every
    field that is wrong is named at once (`profile_invalid`); nothing is saved then.
    Locks the membership's row first (NO KEY), so two first saves at once (a double tap
    on the setup page) are taken one after the other: the second changes the profile
    the first made instead of failing on the one-profile-per-membership key."""
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
    Membership.objects.select_for_update(no_key=True).filter(pk=membership.pk).first()
    # NO KEY: the windows' foreign key checks (the hourly roll) need not wait for it.
    profile = (
        DriverProfile.objects.select_for_update(no_key=True).filter(membership=membership).first()
    )
    problems = _profile_problems(values, creating=profile is None)
    if problems:
        raise ApplicationError(
            RideErrorCode.PROFILE_INVALID,
            " ".join(str(messages[0]) for messages in problems.values()),
            fields=problems,
        )
    if profile is None:
        profile = DriverProfile(membership=membership)
    for name, value in values.items():
        setattr(profile, name, value)
    profile.save()
    availability_windows_rebuild(driver_ids=[profile.pk])  # the windows carry the home base
    return profile


def _day_name(weekday: int) -> str:
    return str(WEEKDAYS[weekday])


def _slot_text(slot: Slot) -> str:
    return f"{_day_name(slot.weekday)} {slot.start:%H:%M}-{slot.end:%H:%M}"


def _slot_problems(slots: list[Slot]) -> list[tuple[RideErrorCode, str, str, str]]:
    """(code, message, field, field message) for each thing wrong with the week."""
    problems = []
    for index, slot in enumerate(slots):
        if not 0 <= slot.weekday <= 6:
            problems.append(
                (
                    RideErrorCode.SLOT_WEEKDAY,
                    _("There is no weekday %(weekday)s. Use 0 (Monday) to 6 (Sunday).")
                    % {"weekday": slot.weekday},
                    f"slots.{index}.weekday",
                    _("From 0 (Monday) to 6 (Sunday)."),
                )
            )
        elif slot.start >= slot.end:
            problems.append(
                (
                    RideErrorCode.SLOT_INVALID,
                    _("%(slot)s ends before it starts. A time must end after it starts.")
                    % {"slot": _slot_text(slot)},
                    f"slots.{index}.end",
                    _("Must be after the start."),
                )
            )
    if problems:
        return problems
    # Overlaps within a day: the matching asks for one slot that covers a whole trip, so
    # two overlapping slots would be a mistake the driver should see and resolve.
    ordered = sorted(enumerate(slots), key=lambda item: (item[1].weekday, item[1].start))
    for (_i, before), (index, slot) in itertools.pairwise(ordered):
        if slot.weekday == before.weekday and slot.start < before.end:
            problems.append(
                (
                    RideErrorCode.SLOT_OVERLAP,
                    _("%(slot)s overlaps %(other)s. Join them into one time or change one.")
                    % {"slot": _slot_text(slot), "other": _slot_text(before)},
                    f"slots.{index}.start",
                    _("Overlaps %(other)s.") % {"other": _slot_text(before)},
                )
            )
    return problems


@transaction.atomic
def availability_set(*, actor: User, driver: DriverProfile, slots: list[Slot]) -> None:
    """Replace the driver's weekly availability. Weekdays 0 (Monday) to 6 (Sunday), each
    time ending after it starts, no two times of one day overlapping (times that only
    touch, 08-12 and 12-16, are fine). Locks the driver's profile row, so two changes at
    once cannot merge into an overlapping week."""
    _require_self_or_coordinator(actor, driver.membership)
    problems = _slot_problems(slots)
    if problems:
        code, message, _field, _text = problems[0]
        fields: dict[str, list] = {}
        for _code, _message, field, text in problems:
            fields.setdefault(field, []).append(text)
        raise ApplicationError(code, message, fields=fields)
    # NO KEY: the windows' foreign key checks (the hourly roll) need not wait for it.
    DriverProfile.objects.select_for_update(no_key=True).filter(pk=driver.pk).first()
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
    """A dated change to the driver's week: away (the whole day without times, or some
    hours) or extra time (always with times)."""
    _require_self_or_coordinator(actor, driver.membership)
    if kind not in ExceptionKind.values:
        raise ApplicationError(
            RideErrorCode.EXCEPTION_INVALID,
            _("Choose away or extra."),
            fields={"kind": [_("Either away or extra.")]},
        )
    if kind == ExceptionKind.EXTRA and (start is None or end is None):
        missing = "start" if start is None else "end"
        raise ApplicationError(
            RideErrorCode.EXCEPTION_INVALID,
            _("Extra time needs a start and an end."),
            fields={missing: [_("This field is required.")]},
        )
    if (start is None) != (end is None):
        missing = "start" if start is None else "end"
        raise ApplicationError(
            RideErrorCode.EXCEPTION_INVALID,
            _("Give both times, or neither to be away the whole day."),
            fields={missing: [_("Give this time too, or leave out both.")]},
        )
    if start is not None and end is not None and start >= end:
        raise ApplicationError(
            RideErrorCode.EXCEPTION_INVALID,
            _("The time ends before it starts (%(start)s-%(end)s). The end must be later.")
            % {"start": f"{start:%H:%M}", "end": f"{end:%H:%M}"},
            fields={"end": [_("Must be after the start.")]},
        )
    today = timezone.localdate()
    if day < today:
        raise ApplicationError(
            RideErrorCode.TIME_PAST,
            _("The day has passed."),
            fields={"date": [_("Choose today or later.")]},
        )
    if day > today + MAX_AHEAD:  # as far as a ride can be booked
        raise ApplicationError(
            RideErrorCode.TIME_TOO_FAR,
            _("You can plan changes at most a year ahead. Choose an earlier day."),
            fields={"date": [_("At most a year ahead.")]},
        )
    with transaction.atomic():
        # Locked, so two changes to one day sent at once cannot both pass the check.
        DriverProfile.objects.select_for_update(no_key=True).filter(pk=driver.pk).first()
        clash = _exception_clash(driver, day, start, end)
        if clash is not None:
            raise ApplicationError(
                RideErrorCode.EXCEPTION_CLASH,
                _(
                    "%(day)s already has a change at that time: %(change)s. Remove it first "
                    "if you want to change it."
                )
                % {
                    "day": capfirst(formats.date_format(day, "l j F")),
                    "change": _exception_text(clash),
                },
                kind=ErrorKind.CONFLICT,
                fields={"date": [_("This day already has a change at that time.")]},
            )
        exception = AvailabilityException.objects.create(
            driver=driver, date=day, kind=kind, start=start, end=end
        )
        availability_windows_rebuild(driver_ids=[driver.pk])
    return exception


def _exception_clash(
    driver: DriverProfile, day: date, start: time | None, end: time | None
) -> AvailabilityException | None:
    """An exception of the driver on `day` whose time overlaps start-end (a whole day
    away overlaps everything): away and extra at once, or the same change twice. Changes
    at different hours of one day (away in the morning, extra in the evening) are fine."""
    for other in AvailabilityException.objects.filter(driver=driver, date=day).order_by("pk"):
        if start is None or end is None or other.start is None or other.end is None:
            return other
        if other.start < end and start < other.end:
            return other
    return None


def _exception_text(exception: AvailabilityException) -> str:
    if exception.start is None:
        return str(_("away all day"))
    kind = _("away") if exception.kind == ExceptionKind.AWAY else _("extra time")
    return f"{kind} {exception.start:%H:%M}-{exception.end:%H:%M}"


@transaction.atomic
def availability_exception_remove(*, actor: User, driver: DriverProfile, exception_id: int) -> None:
    """Remove one of the driver's dated changes (404 for anyone else's)."""
    _require_self_or_coordinator(actor, driver.membership)
    deleted, _rows = AvailabilityException.objects.filter(pk=exception_id, driver=driver).delete()
    if not deleted:
        raise ApplicationError(
            RideErrorCode.EXCEPTION_NOT_FOUND,
            _("This change is already removed."),
            kind=ErrorKind.NOT_FOUND,
        )
    availability_windows_rebuild(driver_ids=[driver.pk])


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
    # The association's coordinators see their on-duty drivers move on the dispatch board.
    coordinators = association_coordinators(association_id=driver.association_id).values_list(
        "pk", flat=True
    )
    board_event = {"type": "board.driver", "driver": driver.pk, "position": [point.x, point.y]}
    for user_id in coordinators:
        publish_to_user(user_id, board_event)
    return sent


def rider_approve(*, actor: User, membership: Membership, notes: str = "") -> RiderApproval:
    """The association approves a member for volunteer rides (eligibility noted)."""
    if not user_is_coordinator(user=actor, association=membership.association):
        raise ApplicationError(
            RideErrorCode.NOT_ALLOWED,
            _("Only a coordinator approves riders."),
            kind=ErrorKind.FORBIDDEN,
        )
    approval, _created = RiderApproval.objects.update_or_create(
        membership=membership, defaults={"approved_by": actor, "notes": notes.strip()}
    )
    return approval

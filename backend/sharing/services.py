"""Writes for shared cars, tools and rooms: the catalogue, bookings and their life.

Every booking change is a conditional UPDATE naming the states it may start from, so two
people acting at once cannot both succeed; overlapping bookings are refused by the
database's exclusion constraint (`booking_no_overlap`), not by a check in Python that a
concurrent request could slip past.
"""

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib.gis.geos import Point
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from backend.accounts.models import User
from backend.community.models import Association
from backend.community.selectors import (
    municipality_distance_m,
    user_can_act_for,
    user_can_act_for_in,
    user_is_active_member,
    user_is_coordinator,
)
from backend.errors import ApplicationError, ErrorKind
from backend.notifications.names import PersonName
from backend.notifications.reminders import reminder_cancel, reminder_schedule
from backend.notifications.services import notify
from backend.sharing.errors import BookingErrorCode, ResourceErrorCode
from backend.sharing.models import (
    OUT,
    UPCOMING,
    ApprovalMode,
    Booking,
    BookingStatus,
    CalendarFeed,
    Clearance,
    ConditionPhoto,
    OdometerFlag,
    PhotoStage,
    ProblemKind,
    ProblemReport,
    Resource,
    ResourceKind,
    ResourcePhoto,
    WaitlistEntry,
    new_feed_token,
)
from backend.sharing.photos import photo_prepare
from backend.sharing.pricing import Prices, booking_cost_ore, time_cost_ore
from backend.sharing.selectors import (
    MINUTE,
    active_booking_count,
    booker_is_member,
    holding_overlaps,
    month_booked_minutes,
    next_free_start,
    next_holding_booking,
    resource_coordinators,
    resource_managed_by,
    resource_managers,
    user_is_cleared,
)

# Fields a manager may set on a resource (everything else is derived or system state).
RESOURCE_FIELDS = {
    "kind",
    "category",
    "title",
    "description",
    "location",
    "pickup_instructions",
    "rules",
    "deposit_ore",
    "price_per_hour_ore",
    "price_per_day_ore",
    "price_per_km_ore",
    "approval_mode",
    "requires_clearance",
    "min_minutes",
    "max_minutes",
    "buffer_minutes",
    "active",
    "seats",
    "fuel",
    "odometer_km",
    "key_location",
}
CAR_ONLY = ("seats", "fuel", "odometer_km", "price_per_km_ore")


def _invalid(code, message, field: str) -> ApplicationError:
    return ApplicationError(code, message, fields={field: [message]})


def _forbidden(code, message) -> ApplicationError:
    return ApplicationError(code, message, kind=ErrorKind.FORBIDDEN)


def _conflict(code, message) -> ApplicationError:
    return ApplicationError(code, message, kind=ErrorKind.CONFLICT)


def local_time(moment: datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def period_text(starts_at: datetime, ends_at: datetime) -> str:
    start, end = timezone.localtime(starts_at), timezone.localtime(ends_at)
    if start.date() == end.date():
        return f"{start:%Y-%m-%d %H:%M}-{end:%H:%M}"
    return f"{start:%Y-%m-%d %H:%M} - {end:%Y-%m-%d %H:%M}"


def duration_text(length: timedelta) -> str:
    """A length in words, in the active language: "7 days", "4 hours", "1 hour 30
    minutes" (to the minute)."""
    days, minutes = divmod(round(length / MINUTE), 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = []
    if days:
        parts.append(ngettext("%(n)s day", "%(n)s days", days) % {"n": days})
    if hours:
        parts.append(ngettext("%(n)s hour", "%(n)s hours", hours) % {"n": hours})
    if minutes or not parts:
        parts.append(ngettext("%(n)s minute", "%(n)s minutes", minutes) % {"n": minutes})
    return " ".join(parts)


def _require_manager(actor: User, resource: Resource) -> None:
    if not resource_managed_by(user=actor, resource=resource):
        raise _forbidden(
            ResourceErrorCode.NOT_ALLOWED,
            _("Only the owner or a coordinator of %(association)s can do this.")
            % {"association": resource.association.name},
        )


# --- Catalogue -------------------------------------------------------------------------------


def _check_resource(values: dict) -> None:
    """What a person can get wrong when describing a resource (the database checks the
    same rules as constraints; here they get a message)."""
    kind = values["kind"]
    if kind not in ResourceKind.values:
        raise _invalid(ResourceErrorCode.CAR_FIELDS, _("Choose car, tool or room."), "kind")
    if not values.get("title", "").strip():
        raise _invalid(ResourceErrorCode.CAR_FIELDS, _("Give it a title."), "title")
    if not values.get("category", "").strip():
        raise _invalid(
            ResourceErrorCode.CAR_FIELDS, _("Give a category, e.g. trailer."), "category"
        )
    if values["approval_mode"] not in ApprovalMode.values:
        raise _invalid(
            ResourceErrorCode.CAR_FIELDS, _("Choose how bookings are approved."), "approval_mode"
        )
    for name in ("deposit_ore", "price_per_hour_ore", "price_per_day_ore", "price_per_km_ore"):
        if not 0 <= values.get(name, 0) <= 10_000_000:
            raise _invalid(
                ResourceErrorCode.PRICE_INVALID,
                _("Prices are from 0 (free) to 100 000 kr."),
                name,
            )
    lo, hi = values["min_minutes"], values["max_minutes"]
    if not 15 <= lo <= hi <= 90 * 24 * 60:
        raise _invalid(
            ResourceErrorCode.LENGTH_INVALID,
            _(
                "The shortest booking must be at least 15 minutes and not longer than the longest "
                "(at most 90 days)."
            ),
            "min_minutes",
        )
    if not 0 <= values["buffer_minutes"] <= 7 * 24 * 60:
        raise _invalid(
            ResourceErrorCode.LENGTH_INVALID,
            _("The time between bookings is at most 7 days."),
            "buffer_minutes",
        )
    if kind == ResourceKind.CAR:
        seats = values.get("seats")
        if seats is None or not 1 <= seats <= 9:
            raise _invalid(ResourceErrorCode.CAR_FIELDS, _("A car has 1 to 9 seats."), "seats")
        if not values.get("fuel"):
            raise _invalid(ResourceErrorCode.CAR_FIELDS, _("Say what the car runs on."), "fuel")
        if values.get("odometer_km") is None:
            raise _invalid(
                ResourceErrorCode.CAR_FIELDS,
                _("Give the car's odometer reading in km."),
                "odometer_km",
            )
    else:
        for name in CAR_ONLY:
            if values.get(name) not in (None, "", 0):
                raise _invalid(
                    ResourceErrorCode.CAR_FIELDS,
                    _("Only cars have seats, fuel, an odometer and a price per km."),
                    name,
                )


def _check_place(association: Association, point: Point) -> None:
    """A thing is kept where its association is: inside the association's municipality,
    the area the other services (rides, shop runs) also hold places to. A mistyped pin or
    a geocoder's hit in another town would otherwise list a drill hundreds of km away."""
    municipality = association.municipality
    if municipality.boundary.contains(point):
        return
    km = max(1, math.ceil(municipality_distance_m(municipality=municipality, point=point) / 1000))
    raise _invalid(
        ResourceErrorCode.OUTSIDE_AREA,
        _(
            "This place is %(km)s km outside %(municipality)s, where %(association)s is. "
            "Check the address or the pin on the map and choose a place in %(municipality)s."
        )
        % {"km": km, "municipality": municipality.name, "association": association.name},
        "location",
    )


@transaction.atomic
def resource_create(
    *, actor: User, association: Association, lend_as_owner: bool = False, **fields
) -> Resource:
    """List a resource. A coordinator lists the association's things; a member lends
    their own (`lend_as_owner`, or always when they are not a coordinator)."""
    unknown = set(fields) - RESOURCE_FIELDS
    if unknown:
        raise ValueError(f"unknown resource fields {sorted(unknown)}")
    coordinator = user_is_coordinator(user=actor, association=association)
    if not coordinator and not user_is_active_member(user=actor, association=association):
        raise _forbidden(
            ResourceErrorCode.NOT_ALLOWED,
            _("Only members of %(association)s can list things there.")
            % {"association": association.name},
        )
    owner = actor if (lend_as_owner or not coordinator) else None
    defaults = {
        field.name: field.get_default()
        for field in Resource._meta.concrete_fields
        if field.name in RESOURCE_FIELDS
    }
    values = {**defaults, **fields}
    values["category"] = values.get("category", "").strip().lower()
    _check_resource(values)
    if values.get("location") is not None:
        _check_place(association, values["location"])
    return Resource.objects.create(association=association, owner=owner, **values)


@transaction.atomic
def resource_update(*, actor: User, resource: Resource, **changes) -> Resource:
    unknown = set(changes) - RESOURCE_FIELDS
    if unknown:
        raise ValueError(f"unknown resource fields {sorted(unknown)}")
    _require_manager(actor, resource)
    resource = Resource.objects.select_for_update().get(pk=resource.pk)
    if "category" in changes:
        changes["category"] = changes["category"].strip().lower()
    values = {name: getattr(resource, name) for name in RESOURCE_FIELDS}
    # The web form sends the stored place back rounded to 6 decimals: that is no move.
    moved = "location" in changes and not changes["location"].equals_exact(
        resource.location, tolerance=1e-6
    )
    values.update(changes)
    _check_resource(values)
    if moved:
        # Only a new place is checked: a thing listed before the rule can still be edited.
        _check_place(resource.association, changes["location"])
    for name, value in changes.items():
        setattr(resource, name, value)
    resource.save(update_fields=[*changes])
    return resource


@transaction.atomic
def resource_photo_add(*, actor: User, resource: Resource, upload: UploadedFile) -> ResourcePhoto:
    _require_manager(actor, resource)
    count = ResourcePhoto.objects.filter(resource=resource).count()
    if count >= settings.SHARING_PHOTOS_PER_RESOURCE:
        raise _conflict(
            ResourceErrorCode.PHOTO_LIMIT,
            _("A resource has at most %(n)s photos. Remove one first.")
            % {"n": settings.SHARING_PHOTOS_PER_RESOURCE},
        )
    photo = ResourcePhoto(resource=resource, position=count, uploaded_by=actor)
    photo.image.save("photo.jpg", photo_prepare(upload), save=False)
    try:
        photo.save()
    except Exception:
        # Files are not transactional: do not leave one behind without its row.
        photo.image.storage.delete(photo.image.name)
        raise
    return photo


@transaction.atomic
def resource_photo_delete(*, actor: User, photo: ResourcePhoto) -> None:
    _require_manager(actor, photo.resource)
    name, storage = photo.image.name, photo.image.storage
    photo.delete()
    transaction.on_commit(lambda: storage.delete(name))


@transaction.atomic
def clearance_grant(*, actor: User, resource: Resource, user: User, note: str = "") -> Clearance:
    """A coordinator clears a member for a gated resource (licence checked, introduced)."""
    if not user_is_coordinator(user=actor, association=resource.association):
        raise _forbidden(
            ResourceErrorCode.NOT_ALLOWED,
            _("Only a coordinator of %(association)s can clear people.")
            % {"association": resource.association.name},
        )
    clearance, _created = Clearance.objects.update_or_create(
        resource=resource,
        user=user,
        defaults={"granted_by": actor, "note": note.strip(), "granted_at": timezone.now()},
    )
    return clearance


@transaction.atomic
def clearance_revoke(*, actor: User, resource: Resource, user: User) -> bool:
    if not user_is_coordinator(user=actor, association=resource.association):
        raise _forbidden(
            ResourceErrorCode.NOT_ALLOWED,
            _("Only a coordinator of %(association)s can clear people.")
            % {"association": resource.association.name},
        )
    deleted, _rows = Clearance.objects.filter(resource=resource, user=user).delete()
    return bool(deleted)


# --- Booking -----------------------------------------------------------------------------------


def _instants(starts_at: datetime, ends_at: datetime) -> tuple[datetime, datetime]:
    """The period in UTC. Two times in the same zone compare and subtract by the wall
    clock, so 02:00 and 03:00 on the night the clocks go forward (one instant) passed as
    an hour apart and the database refused the row (a 500)."""
    return starts_at.astimezone(UTC), ends_at.astimezone(UTC)


def _check_period(
    resource: Resource, starts_at: datetime, ends_at: datetime, now: datetime
) -> None:
    if starts_at >= ends_at:
        raise _invalid(
            BookingErrorCode.PERIOD_INVALID,
            _("The end must be after the start."),
            "ends_at",
        )
    if starts_at < now - timedelta(minutes=5):
        raise _invalid(
            BookingErrorCode.IN_PAST, _("The start has passed. Choose a later time."), "starts_at"
        )
    if starts_at > now + timedelta(days=settings.SHARING_MAX_DAYS_AHEAD):
        raise _invalid(
            BookingErrorCode.TOO_FAR_AHEAD,
            _("Bookings open %(days)s days ahead. Choose an earlier date.")
            % {"days": settings.SHARING_MAX_DAYS_AHEAD},
            "starts_at",
        )
    minutes = (ends_at - starts_at) / MINUTE
    if minutes < resource.min_minutes:
        raise _invalid(
            BookingErrorCode.TOO_SHORT,
            _("%(title)s is booked for at least %(length)s.")
            % {"title": resource.title, "length": duration_text(resource.min_minutes * MINUTE)},
            "ends_at",
        )
    if minutes > resource.max_minutes:
        raise _invalid(
            BookingErrorCode.TOO_LONG,
            _("%(title)s can be booked for at most %(length)s at a time.")
            % {"title": resource.title, "length": duration_text(resource.max_minutes * MINUTE)},
            "ends_at",
        )


def _check_booker(actor: User, booker: User, resource: Resource) -> None:
    # A coordinator books for members only the things of an association they coordinate.
    if not user_can_act_for_in(
        actor=actor, resident=booker, association_id=resource.association_id
    ):
        if user_can_act_for(actor=actor, resident=booker):
            raise _forbidden(
                BookingErrorCode.NOT_ALLOWED,
                _(
                    "You can book for %(name)s only the things of an association you "
                    "coordinate. Ask %(association)s to book %(title)s."
                )
                % {
                    "name": booker.full_name,
                    "association": resource.association.name,
                    "title": resource.title,
                },
            )
        raise _forbidden(BookingErrorCode.NOT_ALLOWED, _("You cannot book for this person."))
    if resource.owner_id == booker.pk:
        return  # owners use their own things
    if resource.approval_mode == ApprovalMode.MEMBERS and not booker_is_member(
        booker=booker, resource=resource
    ):
        raise _forbidden(
            BookingErrorCode.NOT_MEMBER,
            _("Only members of %(association)s can book %(title)s. Ask to join the association.")
            % {"association": resource.association.name, "title": resource.title},
        )
    if resource.requires_clearance and not user_is_cleared(user=booker, resource=resource):
        raise _forbidden(
            BookingErrorCode.NOT_CLEARED,
            _(
                "%(title)s needs an introduction first. Call a coordinator of %(association)s to "
                "be cleared."
            )
            % {"association": resource.association.name, "title": resource.title},
        )


def _check_limits(booker: User, starts_at: datetime, ends_at: datetime, now: datetime) -> None:
    """Fair use. The caller holds a lock on the booker's row, so two bookings by the
    same person at once cannot both pass."""
    limit = settings.SHARING_MAX_ACTIVE_BOOKINGS
    if limit and active_booking_count(booker=booker, now=now) >= limit:
        raise _conflict(
            BookingErrorCode.LIMIT_ACTIVE,
            _(
                "You can have at most %(n)s bookings at a time. Cancel one or wait until one is "
                "over."
            )
            % {"n": limit},
        )
    max_days = settings.SHARING_MAX_DAYS_PER_MONTH
    if max_days:
        local = timezone.localtime(starts_at)
        month_start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        month_end = (month_start + timedelta(days=32)).replace(day=1)
        used = month_booked_minutes(booker=booker, month_start=month_start, month_end=month_end)
        if used + (ends_at - starts_at) / MINUTE > max_days * 24 * 60:
            raise _conflict(
                BookingErrorCode.LIMIT_DAYS,
                _("You can book at most %(days)s days a month, so that everyone gets a turn.")
                % {"days": max_days},
            )


def _overlap_error(resource: Resource, starts_at: datetime, ends_at: datetime) -> ApplicationError:
    free = next_free_start(resource=resource, starts_at=starts_at, length=ends_at - starts_at)
    error = _conflict(
        BookingErrorCode.OVERLAP,
        _("%(title)s is already booked then. It is free from %(free)s.")
        % {"title": resource.title, "free": local_time(free)},
    )
    error.fields = {"starts_at": [_("Taken. Free from %(free)s.") % {"free": local_time(free)}]}
    error.next_free = free
    return error


def _is_overlap(error: IntegrityError) -> bool:
    diag = getattr(error.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None) == "booking_no_overlap"


@transaction.atomic
def booking_request(
    *,
    actor: User,
    resource: Resource,
    starts_at: datetime,
    ends_at: datetime,
    booker: User | None = None,
    note: str = "",
) -> Booking:
    """Book `resource` for [starts_at, ends_at) for `booker` (default: the actor).
    Confirmed at once unless the owner approves (then `requested`, and the managers are
    told). Locks the booker's row (fair-use limits); the overlap is the database's to
    refuse. Nothing is written when anything is refused."""
    booker = booker or actor
    starts_at, ends_at = _instants(starts_at, ends_at)
    now = timezone.now()
    resource = Resource.objects.select_related("association", "owner").get(pk=resource.pk)
    _check_booker(actor, booker, resource)
    if not resource.active or resource.out_of_service:
        raise _conflict(
            BookingErrorCode.UNAVAILABLE,
            _("%(title)s cannot be booked right now. Ask the owner when it is back.")
            % {"title": resource.title},
        )
    _check_period(resource, starts_at, ends_at, now)
    User.objects.select_for_update().filter(pk=booker.pk).exists()
    _check_limits(booker, starts_at, ends_at, now)
    manager = resource_managed_by(user=actor, resource=resource)
    confirmed = resource.approval_mode != ApprovalMode.OWNER or manager
    prices = Prices(resource.price_per_hour_ore, resource.price_per_day_ore)
    try:
        with transaction.atomic():
            booking = Booking.objects.create(
                resource=resource,
                booker=booker,
                booked_by=actor,
                starts_at=starts_at,
                ends_at=ends_at,
                blocked_until=ends_at + resource.buffer_minutes * MINUTE,
                status=BookingStatus.CONFIRMED if confirmed else BookingStatus.REQUESTED,
                decided_by=actor if confirmed and manager else None,
                decided_at=now if confirmed else None,
                note=note.strip(),
                estimated_cost_ore=time_cost_ore(prices, ends_at - starts_at),
            )
    except IntegrityError as error:
        if _is_overlap(error):
            raise _overlap_error(resource, starts_at, ends_at) from error
        raise
    payload = _payload(booking)
    if confirmed:
        _tell_booker(booking, "sharing.booking_confirmed", payload)
        _remind_before(booking)
    else:
        for person in resource_managers(resource=resource):
            notify(
                person, "sharing.booking_requested", {**payload, "booker": PersonName.of(booker)}
            )
    return booking


def _payload(booking: Booking) -> dict:
    return {
        "resource": booking.resource.title,
        "period": period_text(booking.starts_at, booking.ends_at),
        "booking": booking.pk,
    }


def _tell_booker(booking: Booking, kind: str, payload: dict, *, urgent: bool = False) -> None:
    """The booker, and whoever booked for them when that is someone else."""
    notify(booking.booker, kind, payload, urgent=urgent)
    if booking.booked_by_id != booking.booker_id:
        notify(booking.booked_by, kind, payload, urgent=urgent)


def _remind_before(booking: Booking) -> None:
    due = booking.starts_at - timedelta(hours=settings.SHARING_REMINDER_HOURS)
    if due > timezone.now():
        reminder_schedule(
            key=f"sharing:{booking.pk}:before",
            recipient=booking.booker,
            kind="sharing.reminder",
            payload=_payload(booking),
            due_at=due,
        )


def _move(booking: Booking, *, from_states: list[str], to_state: str, **changes) -> Booking:
    """The one place a booking changes state: a conditional UPDATE. Raises a conflict
    when the booking is no longer in one of `from_states` (someone else was faster)."""
    updated = Booking.objects.filter(pk=booking.pk, status__in=from_states).update(
        status=to_state, **changes
    )
    booking.refresh_from_db()
    if not updated:
        raise _conflict(
            BookingErrorCode.WRONG_STATE,
            _("This booking is %(state)s and cannot be changed that way.")
            % {"state": booking.get_status_display()},
        )
    return booking


@transaction.atomic
def booking_approve(*, actor: User, booking: Booking) -> Booking:
    _require_manager(actor, booking.resource)
    booking = _move(
        booking,
        from_states=[BookingStatus.REQUESTED],
        to_state=BookingStatus.CONFIRMED,
        decided_by=actor,
        decided_at=timezone.now(),
    )
    _tell_booker(booking, "sharing.booking_confirmed", _payload(booking))
    _remind_before(booking)
    return booking


@transaction.atomic
def booking_decline(*, actor: User, booking: Booking, reason: str = "") -> Booking:
    _require_manager(actor, booking.resource)
    booking = _move(
        booking,
        from_states=[BookingStatus.REQUESTED],
        to_state=BookingStatus.DECLINED,
        decided_by=actor,
        decided_at=timezone.now(),
        reason=reason.strip(),
    )
    _tell_booker(booking, "sharing.booking_declined", {**_payload(booking), "reason": reason})
    _waitlist_notify(booking)
    return booking


@transaction.atomic
def booking_cancel(*, actor: User, booking: Booking, reason: str = "") -> Booking:
    """The booker's side (the booker, whoever booked for them, their proxy) or a manager
    cancels before check-out; the period becomes free and the waiting list hears of it."""
    own = _booker_side(actor, booking)
    manager = resource_managed_by(user=actor, resource=booking.resource)
    if not (own or manager):
        raise _forbidden(BookingErrorCode.NOT_ALLOWED, _("You cannot cancel this booking."))
    booking = _move(
        booking,
        from_states=UPCOMING,
        to_state=BookingStatus.CANCELLED,
        reason=reason.strip(),
        decided_by=actor,
        decided_at=timezone.now(),
    )
    reminder_cancel(key=f"sharing:{booking.pk}:before")
    payload = {**_payload(booking), "reason": reason}
    if own and not manager:
        for person in resource_managers(resource=booking.resource):
            notify(person, "sharing.booking_cancelled", payload)
    else:
        _tell_booker(booking, "sharing.booking_cancelled", payload)
    _waitlist_notify(booking)
    return booking


def _booker_side(actor: User, booking: Booking) -> bool:
    """Whoever booked it, or acts for the booker in the thing's association: the booker,
    their proxy, a coordinator of that association for its member."""
    return actor.pk == booking.booked_by_id or user_can_act_for_in(
        actor=actor, resident=booking.booker, association_id=booking.resource.association_id
    )


def _require_booker_side(actor: User, booking: Booking) -> None:
    if not (
        _booker_side(actor, booking) or resource_managed_by(user=actor, resource=booking.resource)
    ):
        raise _forbidden(
            BookingErrorCode.NOT_ALLOWED,
            _("Only the person who booked, or the owner, can do this."),
        )


def _condition_photos(
    *, actor: User, booking: Booking, stage: str, photos: list[UploadedFile], report=None
) -> None:
    for upload in photos[: settings.SHARING_PHOTOS_PER_RESOURCE]:
        photo = ConditionPhoto(
            resource_id=booking.resource_id if booking else report.resource_id,
            booking=booking,
            report=report,
            stage=stage,
            uploaded_by=actor,
        )
        photo.image.save("photo.jpg", photo_prepare(upload), save=False)
        photo.save()


@dataclass(frozen=True)
class Reading:
    """What a person reports at check-out or check-in."""

    odometer_km: int | None = None
    condition: str = ""


@transaction.atomic
def booking_check_out(
    *, actor: User, booking: Booking, reading: Reading, photos: list[UploadedFile] = ()
) -> Booking:
    """Hand-over. For a car the odometer is required; a reading above the last one known
    means kilometres nobody logged (gap), below it a wrong reading (overlap): both go to
    the coordinators, as car pools do, and the check-out goes ahead. Locks the resource
    row so the previous reading cannot change underneath."""
    _require_booker_side(actor, booking)
    resource = Resource.objects.select_for_update().get(pk=booking.resource_id)
    now = timezone.now()
    if booking.status == BookingStatus.CONFIRMED and now < booking.starts_at - timedelta(
        minutes=settings.SHARING_CHECKOUT_EARLY_MINUTES
    ):
        raise _conflict(
            BookingErrorCode.TOO_EARLY,
            _("Your booking starts %(start)s. Check out from %(from)s.")
            % {
                "start": local_time(booking.starts_at),
                "from": local_time(
                    booking.starts_at - timedelta(minutes=settings.SHARING_CHECKOUT_EARLY_MINUTES)
                ),
            },
        )
    flag, previous = OdometerFlag.NONE, resource.odometer_km
    if resource.kind == ResourceKind.CAR:
        if reading.odometer_km is None:
            raise _invalid(
                BookingErrorCode.ODOMETER_REQUIRED,
                _("Read the odometer and give it in km."),
                "odometer_km",
            )
        if not 0 <= reading.odometer_km <= 5_000_000:
            raise _invalid(
                BookingErrorCode.ODOMETER_REQUIRED,
                _("Give the odometer reading in whole km."),
                "odometer_km",
            )
        if previous is not None and reading.odometer_km > previous:
            flag = OdometerFlag.GAP
        elif previous is not None and reading.odometer_km < previous:
            flag = OdometerFlag.OVERLAP
    booking = _move(
        booking,
        from_states=[BookingStatus.CONFIRMED],
        to_state=BookingStatus.CHECKED_OUT,
        checked_out_at=now,
        odometer_out=reading.odometer_km if resource.kind == ResourceKind.CAR else None,
        odometer_flag=flag,
        condition_out=reading.condition.strip(),
    )
    if resource.kind == ResourceKind.CAR:
        resource.odometer_km = reading.odometer_km
        resource.save(update_fields=["odometer_km"])
    _condition_photos(actor=actor, booking=booking, stage=PhotoStage.CHECK_OUT, photos=photos)
    if flag:
        for person in resource_coordinators(resource=resource):
            notify(
                person,
                "sharing.odometer_flag",
                {
                    "resource": resource.title,
                    "booker": PersonName.of(booking.booker),
                    "reading": reading.odometer_km,
                    "previous": previous,
                    "booking": booking.pk,
                },
            )
    return booking


@transaction.atomic
def booking_check_in(
    *, actor: User, booking: Booking, reading: Reading, photos: list[UploadedFile] = ()
) -> Booking:
    """Return. For a car: the odometer must not be below the check-out reading (400,
    nothing stored); km and cost are computed. Time is charged for the booked period, or
    until the return when it is late. Locks the resource row."""
    _require_booker_side(actor, booking)
    resource = Resource.objects.select_for_update().get(pk=booking.resource_id)
    now = timezone.now()
    km = None
    if resource.kind == ResourceKind.CAR:
        if reading.odometer_km is None:
            raise _invalid(
                BookingErrorCode.ODOMETER_REQUIRED,
                _("Read the odometer and give it in km."),
                "odometer_km",
            )
        if booking.odometer_out is not None and reading.odometer_km < booking.odometer_out:
            raise _invalid(
                BookingErrorCode.ODOMETER_BACKWARDS,
                _(
                    "The odometer showed %(out)s km at check-out; the reading cannot be lower. "
                    "Check the number."
                )
                % {"out": booking.odometer_out},
                "odometer_km",
            )
        if reading.odometer_km > 5_000_000:
            raise _invalid(
                BookingErrorCode.ODOMETER_REQUIRED,
                _("Give the odometer reading in whole km."),
                "odometer_km",
            )
        km = reading.odometer_km - (booking.odometer_out or reading.odometer_km)
    was_overdue = booking.status == BookingStatus.OVERDUE
    prices = Prices(
        resource.price_per_hour_ore, resource.price_per_day_ore, resource.price_per_km_ore
    )
    charged_until = max(booking.ends_at, now)
    booking = _move(
        booking,
        from_states=OUT,
        to_state=BookingStatus.RETURNED,
        returned_at=now,
        odometer_in=reading.odometer_km if km is not None else None,
        km_driven=km,
        cost_ore=booking_cost_ore(prices, charged_until - booking.starts_at, km or 0),
        condition_in=reading.condition.strip(),
    )
    if km is not None:
        resource.odometer_km = reading.odometer_km
        resource.save(update_fields=["odometer_km"])
    _condition_photos(actor=actor, booking=booking, stage=PhotoStage.CHECK_IN, photos=photos)
    reminder_cancel(key=f"sharing:{booking.pk}:overdue")
    if was_overdue:
        following = next_holding_booking(booking=booking)
        if following is not None:
            _tell_booker(following, "sharing.back", _payload(following))
    return booking


# --- Problems ---------------------------------------------------------------------------------


@transaction.atomic
def problem_report(
    *,
    actor: User,
    resource: Resource,
    kind: str,
    text: str,
    booking: Booking | None = None,
    photos: list[UploadedFile] = (),
) -> ProblemReport:
    """A *note* (still usable: the next bookers are told) or a *breakdown* (out of
    service: every upcoming booking is cancelled and its booker told). Anyone who has
    booked the resource, or manages it, may report."""
    if kind not in ProblemKind.values:
        raise _invalid(ResourceErrorCode.NOT_ALLOWED, _("Choose note or breakdown."), "kind")
    if not text.strip():
        raise _invalid(ResourceErrorCode.NOT_ALLOWED, _("Describe what is wrong."), "text")
    manager = resource_managed_by(user=actor, resource=resource)
    booked = Booking.objects.filter(resource=resource, booker=actor).exclude(
        status=BookingStatus.DECLINED
    )
    if not manager and not booked.exists():
        raise _forbidden(
            ResourceErrorCode.NOT_ALLOWED,
            _("Only people who have booked %(title)s, or its owner, can report a problem.")
            % {"title": resource.title},
        )
    if booking is not None and booking.resource_id != resource.pk:
        booking = None
    report = ProblemReport.objects.create(
        resource=resource, booking=booking, reporter=actor, kind=kind, text=text.strip()
    )
    for upload in photos[: settings.SHARING_PHOTOS_PER_RESOURCE]:
        photo = ConditionPhoto(
            resource=resource,
            booking=booking,
            report=report,
            stage=PhotoStage.PROBLEM,
            uploaded_by=actor,
        )
        photo.image.save("photo.jpg", photo_prepare(upload), save=False)
        photo.save()
    payload = {"resource": resource.title, "text": report.text, "resource_id": resource.pk}
    now = timezone.now()
    upcoming = Booking.objects.filter(
        resource=resource, status__in=UPCOMING, ends_at__gt=now
    ).select_related("booker", "booked_by", "resource")
    if kind == ProblemKind.NOTE:
        for following in upcoming.order_by("starts_at")[: settings.SHARING_NOTE_NEXT_BOOKERS]:
            _tell_booker(following, "sharing.problem_noted", payload)
        for person in resource_managers(resource=resource):
            if person.pk != actor.pk:
                notify(person, "sharing.problem_noted", payload)
        return report
    Resource.objects.filter(pk=resource.pk).update(out_of_service=True)
    resource.out_of_service = True
    for affected in list(upcoming):
        try:
            cancelled = _move(
                affected,
                from_states=UPCOMING,
                to_state=BookingStatus.CANCELLED,
                reason=str(_("out of service")),
                decided_by=actor,
                decided_at=now,
            )
        except ApplicationError:
            continue  # changed meanwhile; nothing to cancel
        reminder_cancel(key=f"sharing:{cancelled.pk}:before")
        _tell_booker(
            cancelled,
            "sharing.out_of_service",
            {**_payload(cancelled), "text": report.text},
            urgent=True,
        )
    for person in {
        *resource_managers(resource=resource),
        *resource_coordinators(resource=resource),
    }:
        notify(person, "sharing.breakdown", payload, urgent=True)
    return report


@transaction.atomic
def resource_back_in_service(*, actor: User, resource: Resource) -> Resource:
    _require_manager(actor, resource)
    updated = Resource.objects.filter(pk=resource.pk, out_of_service=True).update(
        out_of_service=False
    )
    if not updated:
        raise _conflict(
            ResourceErrorCode.ALREADY_IN_SERVICE,
            _("%(title)s is already in service.") % {"title": resource.title},
        )
    ProblemReport.objects.filter(
        resource=resource, kind=ProblemKind.BREAKDOWN, resolved_at__isnull=True
    ).update(resolved_at=timezone.now(), resolved_by=actor)
    resource.refresh_from_db()
    return resource


# --- Late returns ----------------------------------------------------------------------------


def bookings_mark_overdue(*, now: datetime | None = None) -> int:
    """Beat, every few minutes: bookings checked out and past their end become overdue;
    the booker is reminded (again every SHARING_OVERDUE_REMINDER_MINUTES) and the next
    booker is told once. Safe to run twice: each step is a conditional update or a
    reminder with a unique key."""
    now = now or timezone.now()
    count = 0
    late = Booking.objects.filter(status=BookingStatus.CHECKED_OUT, ends_at__lt=now)
    for booking_id in list(late.values_list("pk", flat=True)):
        with transaction.atomic():
            updated = Booking.objects.filter(
                pk=booking_id, status=BookingStatus.CHECKED_OUT, ends_at__lt=now
            ).update(status=BookingStatus.OVERDUE)
            if not updated:
                continue
            booking = Booking.objects.select_related("resource", "booker", "booked_by").get(
                pk=booking_id
            )
            count += 1
            payload = {**_payload(booking), "due": local_time(booking.ends_at)}
            _tell_booker(booking, "sharing.overdue", payload, urgent=True)
            following = next_holding_booking(booking=booking)
            if following is not None:
                _tell_booker(
                    following,
                    "sharing.next_booker_late",
                    {**_payload(following), "due": local_time(booking.ends_at)},
                )
    # Repeat the reminder while it stays out.
    every = timedelta(minutes=settings.SHARING_OVERDUE_REMINDER_MINUTES)
    for booking in Booking.objects.filter(status=BookingStatus.OVERDUE).select_related(
        "resource", "booker"
    ):
        round_no = int((now - booking.ends_at) / every)
        if round_no < 1:
            continue
        reminder_schedule(
            key=f"sharing:{booking.pk}:overdue:{round_no}",
            recipient=booking.booker,
            kind="sharing.overdue",
            payload={**_payload(booking), "due": local_time(booking.ends_at)},
            due_at=now,
        )
    return count


# --- Waiting list ------------------------------------------------------------------------


@transaction.atomic
def waitlist_join(
    *, actor: User, resource: Resource, starts_at: datetime, ends_at: datetime
) -> WaitlistEntry:
    """Wait for a taken period: told once it is free again."""
    _check_booker(actor, actor, resource)
    starts_at, ends_at = _instants(starts_at, ends_at)
    _check_period(resource, starts_at, ends_at, timezone.now())
    entry, created = WaitlistEntry.objects.get_or_create(
        resource=resource,
        user=actor,
        starts_at=starts_at,
        ends_at=ends_at,
        notified_at=None,
    )
    if not created:
        raise _conflict(
            BookingErrorCode.ALREADY_WAITING,
            _("You are already on the waiting list for this time."),
        )
    return entry


def _waitlist_notify(freed: Booking) -> None:
    """Tell those waiting for a period that overlaps the freed one, if all of their
    period is now free. Each entry is told once (conditional update)."""
    resource = freed.resource
    waiting = WaitlistEntry.objects.filter(
        resource=resource,
        notified_at__isnull=True,
        starts_at__lt=freed.blocked_until,
        ends_at__gt=freed.starts_at,
    ).select_related("user")
    for entry in waiting:
        until = entry.ends_at + resource.buffer_minutes * MINUTE
        if holding_overlaps(resource=resource, starts_at=entry.starts_at, blocked_until=until):
            continue
        if WaitlistEntry.objects.filter(pk=entry.pk, notified_at__isnull=True).update(
            notified_at=timezone.now()
        ):
            notify(
                entry.user,
                "sharing.waitlist_free",
                {
                    "resource": resource.title,
                    "period": period_text(entry.starts_at, entry.ends_at),
                    "resource_id": resource.pk,
                },
            )


# --- Calendar feeds -----------------------------------------------------------------------


@transaction.atomic
def person_feed_get_or_create(*, user: User) -> CalendarFeed:
    feed, _created = CalendarFeed.objects.get_or_create(user=user)
    return feed


@transaction.atomic
def resource_feed_get_or_create(*, actor: User, resource: Resource) -> CalendarFeed:
    _require_manager(actor, resource)
    feed, _created = CalendarFeed.objects.get_or_create(resource=resource)
    return feed


@transaction.atomic
def feed_rotate(*, feed: CalendarFeed) -> CalendarFeed:
    """A new secret address; the old one stops working at once."""
    feed.token = new_feed_token()
    feed.save(update_fields=["token"])
    return feed

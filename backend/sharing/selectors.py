"""Reads of shared resources and bookings, and who may see and do what with them."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.gis.db.models.functions import Distance
from django.contrib.gis.geos import Point
from django.contrib.gis.measure import D
from django.db.models import (
    DateTimeField,
    DurationField,
    Exists,
    ExpressionWrapper,
    OuterRef,
    Q,
    QuerySet,
    Value,
)

from backend.accounts.models import User
from backend.community.models import MembershipState
from backend.community.selectors import coordinated_association_ids, user_is_active_member
from backend.sharing.models import (
    HOLDING,
    Booking,
    BookingStatus,
    Clearance,
    Resource,
)
from backend.sharing.ranges import BlockedRange

MINUTE = timedelta(minutes=1)
SEARCH_FIELDS = [
    field.name
    for field in Resource._meta.concrete_fields
    if field.name not in {"pickup_instructions", "key_location", "created_at"}
]


# --- Who may do what ---------------------------------------------------------------------


def resource_managed_by(*, user: User, resource: Resource) -> bool:
    """The owner (a resident lending their own) and the coordinators of the association
    that lists it manage a resource: they approve, see who booked, edit it."""
    if not user.is_authenticated:
        return False
    if resource.owner_id == user.pk:
        return True
    return (
        coordinated_association_ids(user=user)
        .filter(association_id=resource.association_id)
        .exists()
    )


def resources_managed_by(*, user: User) -> QuerySet[Resource]:
    return Resource.objects.filter(
        Q(owner=user) | Q(association_id__in=coordinated_association_ids(user=user))
    )


def resources_visible_to(*, user: User) -> QuerySet[Resource]:
    """Listed resources for everyone logged in; unlisted ones for those who manage them."""
    if not user.is_authenticated:
        return Resource.objects.none()
    return Resource.objects.filter(
        Q(active=True)
        | Q(owner=user)
        | Q(association_id__in=coordinated_association_ids(user=user))
    )


def user_is_cleared(*, user: User, resource: Resource) -> bool:
    return Clearance.objects.filter(resource=resource, user=user).exists()


def booker_is_member(*, booker: User, resource: Resource) -> bool:
    return user_is_active_member(user=booker, association=resource.association)


def user_has_booking_in_hand(*, user: User, resource: Resource) -> bool:
    """A confirmed or checked-out booking: the person needs the exact place and the key."""
    return Booking.objects.filter(
        resource=resource,
        booker=user,
        status__in=[BookingStatus.CONFIRMED, BookingStatus.CHECKED_OUT, BookingStatus.OVERDUE],
    ).exists()


def bookings_of_person(*, actor: User) -> QuerySet[Booking]:
    """Bookings `actor` made or holds, and those of the residents they are proxy for."""
    if not actor.is_authenticated:
        return Booking.objects.none()
    return Booking.objects.filter(
        Q(booker=actor) | Q(booked_by=actor) | Q(booker__proxy_links__proxy=actor)
    ).distinct()


def bookings_visible_to(*, user: User) -> QuerySet[Booking]:
    """A person's own bookings and every booking of the resources they manage."""
    if not user.is_authenticated:
        return Booking.objects.none()
    managed = resources_managed_by(user=user).values("pk")
    return Booking.objects.filter(
        Q(pk__in=bookings_of_person(actor=user).values("pk")) | Q(resource_id__in=managed)
    )


def bookings_awaiting(*, user: User) -> QuerySet[Booking]:
    """Requests `user` may approve or decline, oldest first."""
    return Booking.objects.filter(
        resource_id__in=resources_managed_by(user=user).values("pk"),
        status=BookingStatus.REQUESTED,
    ).order_by("created_at", "pk")


def resource_managers(*, resource: Resource) -> list[User]:
    """Who hears about requests and problems: the owner, else the coordinators."""
    if resource.owner_id is not None:
        return [resource.owner]
    return list(
        User.objects.filter(
            memberships__association_id=resource.association_id,
            memberships__state=MembershipState.ACTIVE,
            memberships__roles__contains=["coordinator"],
        ).distinct()
    )


def resource_coordinators(*, resource: Resource) -> list[User]:
    return list(
        User.objects.filter(
            memberships__association_id=resource.association_id,
            memberships__state=MembershipState.ACTIVE,
            memberships__roles__contains=["coordinator"],
        ).distinct()
    )


# --- Search ----------------------------------------------------------------------------------


def _busy_during(starts_at: datetime, ends_at: datetime) -> Exists:
    """A holding booking of the outer resource overlaps [starts_at, ends_at + its buffer).
    Written as the exclusion constraint's expression so its GiST index answers it."""
    wanted_until = ExpressionWrapper(
        Value(ends_at)
        + ExpressionWrapper(
            OuterRef("buffer_minutes") * Value(MINUTE), output_field=DurationField()
        ),
        output_field=DateTimeField(),
    )
    return Exists(
        Booking.objects.annotate(blocked=BlockedRange("starts_at", "blocked_until")).filter(
            resource=OuterRef("pk"),
            status__in=HOLDING,
            blocked__overlap=BlockedRange(Value(starts_at), wanted_until),
        )
    )


def resources_available_near(
    *,
    point: Point,
    radius_m: int,
    kind: str | None = None,
    category: str | None = None,
    text: str | None = None,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    limit: int = 50,
) -> list[Resource]:
    """Listed, working resources within `radius_m` of `point`, nearest first, each with
    `distance_m`. With a period: only those free for all of it (buffer included) and
    that may be booked for that long. One SQL query."""
    resources = Resource.objects.filter(
        active=True, out_of_service=False, location__dwithin=(point, D(m=radius_m))
    )
    if kind:
        resources = resources.filter(kind=kind)
    if category:
        resources = resources.filter(category=category.strip().lower())
    if text:
        resources = resources.filter(
            Q(title__icontains=text) | Q(description__icontains=text) | Q(category__icontains=text)
        )
    if starts_at is not None and ends_at is not None:
        minutes = (ends_at - starts_at) / MINUTE
        resources = resources.filter(min_minutes__lte=minutes, max_minutes__gte=minutes).exclude(
            _busy_during(starts_at, ends_at)
        )
    return list(
        resources.select_related("association", "owner")
        # What a search result shows; not the owner's whole person row.
        .only(*SEARCH_FIELDS, "association__name", "owner__full_name")
        .annotate(distance=Distance("location", point))
        .order_by("distance", "pk")[:limit]
    )


# --- Calendar and free time ---------------------------------------------------------------


@dataclass(frozen=True)
class BusySlot:
    """A taken stretch of a resource's calendar. Only managers (and the booker of it)
    get `booking`; everyone else sees that it is taken and until when."""

    starts_at: datetime
    ends_at: datetime
    blocked_until: datetime
    status: str
    booking: Booking | None


def resource_calendar(
    *, viewer: User, resource: Resource, since: datetime, until: datetime
) -> list[BusySlot]:
    manager = resource_managed_by(user=viewer, resource=resource)
    bookings = (
        Booking.objects.filter(
            resource=resource,
            status__in=HOLDING,
            starts_at__lt=until,
            blocked_until__gt=since,
        )
        .select_related("booker")
        .order_by("starts_at")
    )
    return [
        BusySlot(
            starts_at=booking.starts_at,
            ends_at=booking.ends_at,
            blocked_until=booking.blocked_until,
            status=booking.status if manager or booking.booker_id == viewer.pk else "busy",
            booking=booking if manager or booking.booker_id == viewer.pk else None,
        )
        for booking in bookings
    ]


def next_free_start(*, resource: Resource, starts_at: datetime, length: timedelta) -> datetime:
    """The earliest time from `starts_at` on when the resource is free for `length` plus
    its buffer: what to suggest after an overlap."""
    need = length + resource.buffer_minutes * MINUTE
    candidate = starts_at
    taken = (
        Booking.objects.filter(resource=resource, status__in=HOLDING, blocked_until__gt=starts_at)
        .order_by("starts_at")
        .values_list("starts_at", "blocked_until")
    )
    for busy_from, busy_until in taken[:500]:
        if candidate + need <= busy_from:
            break
        candidate = max(candidate, busy_until)
    return candidate


def holding_overlaps(*, resource: Resource, starts_at: datetime, blocked_until: datetime) -> bool:
    return (
        Booking.objects.annotate(blocked=BlockedRange("starts_at", "blocked_until"))
        .filter(
            resource=resource,
            status__in=HOLDING,
            blocked__overlap=BlockedRange(Value(starts_at), Value(blocked_until)),
        )
        .exists()
    )


def next_holding_booking(*, booking: Booking) -> Booking | None:
    """The next booking of the same resource after this one (to warn when it is late)."""
    return (
        Booking.objects.filter(
            resource_id=booking.resource_id,
            status__in=[BookingStatus.REQUESTED, BookingStatus.CONFIRMED],
            starts_at__gte=booking.starts_at,
        )
        .exclude(pk=booking.pk)
        .select_related("booker", "resource")
        .order_by("starts_at")
        .first()
    )


def month_booked_minutes(*, booker: User, month_start: datetime, month_end: datetime) -> float:
    """Minutes of the person's holding and past bookings that start in the month."""
    rows = Booking.objects.filter(
        booker=booker,
        status__in=[*HOLDING, BookingStatus.RETURNED],
        starts_at__gte=month_start,
        starts_at__lt=month_end,
    ).values_list("starts_at", "ends_at")
    return sum((end - start) / MINUTE for start, end in rows)


def active_booking_count(*, booker: User, now: datetime) -> int:
    return Booking.objects.filter(booker=booker, status__in=HOLDING, ends_at__gt=now).count()


def bookings_to_mark_overdue(*, now: datetime) -> QuerySet[Booking]:
    return Booking.objects.filter(status=BookingStatus.CHECKED_OUT, ends_at__lt=now)

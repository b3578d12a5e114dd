"""Reads of shared resources and bookings, and who may see and do what with them."""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.gis.geos import Point
from django.db.models import (
    Q,
    QuerySet,
    Value,
)

from backend.accounts.models import User
from backend.community.models import MembershipState
from backend.community.selectors import (
    coordinated_association_ids,
    user_coordinates,
    user_is_active_member,
)
from backend.db import fetch_dicts, fetch_instances
from backend.sharing.models import (
    HOLDING,
    OUT,
    UPCOMING,
    Booking,
    BookingStatus,
    CalendarFeed,
    Clearance,
    Resource,
    ResourcePhoto,
)
from backend.sharing.ranges import BlockedRange

MINUTE = timedelta(minutes=1)


# --- Who may do what ---------------------------------------------------------------------


def resource_managed_by(*, user: User, resource: Resource) -> bool:
    """The owner (a resident lending their own) and the coordinators of the association
    that lists it manage a resource: they approve, see who booked, edit it."""
    if not user.is_authenticated:
        return False
    if resource.owner_id == user.pk:
        return True
    return user_coordinates(user=user, association_id=resource.association_id)


def resources_managed_by(*, user: User) -> QuerySet[Resource]:
    return Resource.objects.filter(
        Q(owner=user) | Q(association_id__in=coordinated_association_ids(user=user))
    )


def resources_lent_by(*, user: User) -> QuerySet[Resource]:
    """The things `user` lends as their owner, listed or not (the "My things" page). The
    association's own things are its coordinators' to look after, in the console."""
    if not user.is_authenticated:
        return Resource.objects.none()
    return Resource.objects.filter(owner=user)


def bookings_of_things_lent_by(*, user: User) -> QuerySet[Booking]:
    """Every booking of the things `user` lends: what the owner answers and sees."""
    if not user.is_authenticated:
        return Booking.objects.none()
    return Booking.objects.filter(resource__owner=user)


@dataclass(frozen=True)
class LentThing:
    """One of my things with the requests waiting for my answer and the bookings still
    to come or out now, each soonest first."""

    resource: Resource
    waiting: list[Booking]
    coming: list[Booking]


def things_lent_by(*, user: User, now: datetime, limit: int = 50) -> list[LentThing]:
    """My things, out of service first, then by title; three queries whatever their
    number (things, their photos, and the bookings of all of them, sorted to their thing)."""
    resources = list(
        resources_lent_by(user=user)
        .select_related("association")
        .prefetch_related("photos")
        .order_by("-out_of_service", "title", "pk")[:limit]
    )
    bookings = (
        Booking.objects.filter(resource__in=[r.pk for r in resources], status__in=HOLDING)
        .filter(Q(status__in=OUT) | Q(ends_at__gt=now))
        .select_related("booker", "booked_by")
        .order_by("starts_at", "pk")
    )
    waiting: dict[int, list[Booking]] = {r.pk: [] for r in resources}
    coming: dict[int, list[Booking]] = {r.pk: [] for r in resources}
    for booking in bookings:
        target = waiting if booking.status == BookingStatus.REQUESTED else coming
        target[booking.resource_id].append(booking)
    return [LentThing(resource=r, waiting=waiting[r.pk], coming=coming[r.pk]) for r in resources]


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
    """Bookings `actor` made or holds, and those of the residents they are (accepted)
    proxy for."""
    if not actor.is_authenticated:
        return Booking.objects.none()
    return Booking.objects.filter(
        Q(booker=actor)
        | Q(booked_by=actor)
        | Q(booker__proxy_links__proxy=actor, booker__proxy_links__accepted_at__isnull=False)
    ).distinct()


def booking_cards_of_person(*, actor: User, since: datetime, limit: int) -> list[dict]:
    """Of `bookings_of_person`, those still to come (requested or confirmed, ending after
    `since`) or out now, soonest first: only what a card shows. SQL, as it runs on every
    start page (backend/db.py)."""
    rows = fetch_dicts(
        """
        SELECT b.id AS pk, b.starts_at, b.ends_at, b.status, r.title,
               u.full_name AS booker_name
          FROM sharing_booking AS b
          JOIN sharing_resource AS r ON r.id = b.resource_id
          JOIN accounts_user AS u ON u.id = b.booker_id
         WHERE (b.booker_id = %(actor)s OR b.booked_by_id = %(actor)s
                OR EXISTS (SELECT 1 FROM accounts_proxylink AS p
                            WHERE p.resident_id = b.booker_id AND p.proxy_id = %(actor)s))
           AND ((b.status = ANY(%(upcoming)s) AND b.ends_at > %(since)s)
                OR b.status = ANY(%(out)s))
         ORDER BY b.starts_at, b.id
         LIMIT %(limit)s
        """,
        {
            "actor": actor.pk,
            "upcoming": [str(status) for status in UPCOMING],
            "out": [str(status) for status in OUT],
            "since": since,
            "limit": limit,
        },
    )
    for row in rows:
        row["status_label"] = BookingStatus(row["status"]).label
    return rows


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


# One statement, written out: compiling the equivalent ORM query costs more than running
# it. Distances are on the sphere (use_spheroid false): within 0.5 % of the spheroid,
# which is plenty to rank and to show "8.9 km", and many times cheaper to compute. The
# busy test is the exclusion constraint's own expression, with the holding states
# inlined as constants, so the planner can use that partial GiST index.
_HOLDING_SQL = ", ".join(f"'{status}'" for status in HOLDING)
_SEARCH_SQL = """
SELECT r.*,
       (SELECT a.name FROM community_association AS a WHERE a.id = r.association_id)
           AS association_name,
       (SELECT u.full_name FROM accounts_user AS u WHERE u.id = r.owner_id) AS owner_full_name,
       ST_Distance(r.location, %(point)s::geography, false) AS distance_m
FROM sharing_resource AS r
WHERE r.active AND NOT r.out_of_service
  AND ST_DWithin(r.location, %(point)s::geography, %(radius_m)s, false)
  {filters}
ORDER BY distance_m, r.id
LIMIT %(limit)s
"""
_FILTERS = {
    "kind": "AND r.kind = %(kind)s",
    "category": "AND r.category = %(category)s",
    "text": (
        "AND (strpos(lower(r.title), %(text)s) > 0 OR strpos(lower(r.description), %(text)s) > 0"
        " OR strpos(r.category, %(text)s) > 0)"
    ),
    # Only the constant states are formatted in; every value is a parameter.
    "period": f"""AND r.min_minutes <= %(floor_minutes)s AND r.max_minutes >= %(ceil_minutes)s
  AND NOT EXISTS (
      SELECT 1 FROM sharing_booking AS b
      WHERE b.resource_id = r.id AND b.status IN ({_HOLDING_SQL})
        AND tstzrange(b.starts_at, b.blocked_until)
            && tstzrange(%(starts_at)s::timestamptz,
                          %(ends_at)s::timestamptz + r.buffer_minutes * interval '1 minute')
  )""",  # noqa: S608
}


def resources_available_near_query(
    *,
    point: Point,
    radius_m: int,
    kind: str | None = None,
    category: str | None = None,
    text: str | None = None,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    limit: int = 50,
) -> tuple[str, dict]:
    """The SQL and parameters of `resources_available_near` (for EXPLAIN and the
    benchmark)."""
    params: dict = {"point": point.hexewkb.decode(), "radius_m": radius_m, "limit": limit}
    filters = []
    if kind:
        filters.append(_FILTERS["kind"])
        params["kind"] = kind
    if category:
        filters.append(_FILTERS["category"])
        params["category"] = category.strip().lower()
    if text:
        filters.append(_FILTERS["text"])
        params["text"] = text.strip().lower()
    if starts_at is not None and ends_at is not None:
        filters.append(_FILTERS["period"])
        # Whole minutes (the columns are integers): a fractional parameter would make
        # PostgreSQL compare as numeric and misjudge how many rows pass.
        minutes = (ends_at - starts_at) / MINUTE
        params.update(
            starts_at=starts_at,
            ends_at=ends_at,
            floor_minutes=math.floor(minutes),
            ceil_minutes=math.ceil(minutes),
        )
    return _SEARCH_SQL.replace("{filters}", "\n  ".join(filters)), params


def resources_available_near(**criteria) -> list[Resource]:
    """Listed, working resources within `radius_m` of `point`, nearest first, each with
    `distance_m`, `association_name` and `owner_full_name`. With a period (`starts_at`,
    `ends_at`): only those free for all of it, buffer included, and that may be booked
    for that long. One SQL query; the arguments are those of
    `resources_available_near_query`."""
    return fetch_instances(Resource, *resources_available_near_query(**criteria))


def with_photos(resources: list[Resource]) -> list[Resource]:
    """`resources`, each with `photo_list`: its photos in their order. One prepared query
    for all of them, where prefetching `photos` cost more to build than to run (it runs
    with every browse)."""
    photos: dict[int, list[ResourcePhoto]] = {resource.pk: [] for resource in resources}
    if photos:
        for photo in fetch_instances(
            ResourcePhoto,
            "SELECT * FROM sharing_resourcephoto WHERE resource_id = ANY(%s) ORDER BY position, id",
            [list(photos)],
        ):
            photos[photo.resource_id].append(photo)
    for resource in resources:
        resource.photo_list = photos[resource.pk]
    return resources


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


def person_feed_of(*, user: User) -> CalendarFeed | None:
    """`user`'s calendar feed if they made one; reading never makes one (the secret
    address exists only once they asked for it)."""
    return CalendarFeed.objects.filter(user=user).first()


def bookings_ahead_of_member(
    *, booker: User, association_id: int, now: datetime, limit: int = 20
) -> QuerySet[Booking]:
    """A member's bookings of the association's things not yet begun or waiting for
    approval, soonest first (the console's page of a caller)."""
    return (
        Booking.objects.filter(
            booker=booker,
            resource__association_id=association_id,
            status__in=UPCOMING,
            ends_at__gt=now,
        )
        .select_related("resource")
        .order_by("starts_at", "pk")[:limit]
    )

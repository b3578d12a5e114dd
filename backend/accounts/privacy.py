"""A person's right to their data: everything we hold about them as one JSON document,
and erasure.

Erasure anonymises rather than deletes: the person's rides stay as rows (without names,
addresses or exact points) so the association's and the municipality's counts of rides,
kilometres and people served do not change; everything else that is about the person
(inbox, preferences, devices, proxies, driver calendar) is deleted.
"""

from contextlib import suppress
from datetime import datetime
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.contrib.gis.geos import Point
from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework.authtoken.models import Token

from backend.accounts.models import LoginCode, ProxyLink, User
from backend.audit.selectors import audit_entries_about
from backend.community.models import Membership, MembershipState, MunicipalityAnalyst
from backend.errors import ApplicationError, ErrorKind
from backend.geo import approximate
from backend.notifications.kinds import KINDS, render
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
from backend.stats.refresh import stats_person_changed

ERASED_NAME = "—"


class PrivacyErrorCode(StrEnum):
    DRIVER_HOLDS_RIDES = "erase_driver_holds_rides"
    ALREADY_ERASED = "already_erased"


def _point(point: Point | None) -> list[float] | None:
    return [point.x, point.y] if point is not None else None


def _time(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _ride(ride: RideRequest, *, with_addresses: bool) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": ride.pk,
        "state": ride.state,
        "time_kind": ride.time_kind,
        "earliest_pickup": _time(ride.earliest_pickup),
        "latest_pickup": _time(ride.latest_pickup),
        "arrive_by": _time(ride.arrive_by),
        "planned_pickup": _time(ride.planned_pickup),
        "association": ride.association.name,
        "village": ride.village.name if ride.village else None,
        "passengers": ride.passengers,
        "needs": list(ride.needs),
        "distance_m": ride.distance_m,
        "driven_m": ride.driven_m,
        "created_at": _time(ride.created_at),
        "closed_at": _time(ride.closed_at),
    }
    if with_addresses:
        row.update(
            rider=ride.rider.full_name,
            requested_by=ride.requested_by.full_name,
            pickup_address=ride.pickup_address,
            pickup=_point(ride.pickup),
            destination_address=ride.destination_address,
            destination=_point(ride.destination),
            note=ride.note,
            driver=ride.driver.membership.user.full_name if ride.driver else None,
            car=ride.driver.vehicle_description if ride.driver else None,
        )
    return row


def person_export(*, user: User) -> dict[str, Any]:
    """Everything Samby holds about `user`, as JSON-ready values. Rides they drove show
    when and how far, not whom they carried: that is the passengers' data."""
    ride_related = ("association", "village", "rider", "requested_by", "driver__membership__user")
    own_rides = RideRequest.objects.filter(Q(rider=user) | Q(requested_by=user))
    driven = RideRequest.objects.filter(driver__membership__user=user).exclude(rider=user)
    profiles = DriverProfile.objects.filter(membership__user=user).select_related(
        "membership__association"
    )
    quiet = QuietHours.objects.filter(user=user).first()
    return {
        "exported_at": timezone.now().isoformat(),
        "person": {
            "id": user.pk,
            "full_name": user.full_name,
            "phone": user.phone,
            "email": user.email,
            "preferred_language": user.preferred_language,
            "contact_by_sms": user.contact_by_sms,
            "contact_by_email": user.contact_by_email,
            "contact_by_push": user.contact_by_push,
            "home_address": user.home_address,
            "home_location": _point(user.home_location),
            "birth_year": user.birth_year,
            "date_joined": _time(user.date_joined),
            "last_login": _time(user.last_login),
        },
        "memberships": [
            {
                "association": m.association.name,
                "roles": list(m.roles),
                "state": m.state,
                "joined": _time(m.created_at),
                "approved_for_rides": hasattr(m, "rider_approval"),
            }
            for m in Membership.objects.filter(user=user).select_related(
                "association", "rider_approval"
            )
        ],
        "municipality_analyst_of": list(
            MunicipalityAnalyst.objects.filter(user=user).values_list(
                "municipality__name", flat=True
            )
        ),
        "proxies_for_me": [
            {"name": link.proxy.full_name, "relationship": link.relationship}
            for link in ProxyLink.objects.filter(resident=user).select_related("proxy")
        ],
        "i_am_proxy_for": [
            {"name": link.resident.full_name, "relationship": link.relationship}
            for link in ProxyLink.objects.filter(proxy=user).select_related("resident")
        ],
        "driver_profiles": [
            {
                "association": p.membership.association.name,
                "home_base": _point(p.home_base),
                "service_radius_m": p.service_radius_m,
                "seats": p.seats,
                "car": p.vehicle_description,
                "wheelchair_accessible": p.wheelchair_accessible,
                "on_duty": p.on_duty,
                "position": _point(p.position),
                "weekly_availability": [
                    {"weekday": s.weekday, "from": s.start.isoformat(), "until": s.end.isoformat()}
                    for s in AvailabilitySlot.objects.filter(driver=p)
                ],
                "days_away_or_extra": [
                    {"date": e.date.isoformat(), "kind": e.kind}
                    for e in AvailabilityException.objects.filter(driver=p)
                ],
            }
            for p in profiles
        ],
        "rides": [
            _ride(ride, with_addresses=True)
            for ride in own_rides.select_related(*ride_related).order_by("earliest_pickup")
        ],
        "rides_driven": [
            _ride(ride, with_addresses=False)
            for ride in driven.select_related(*ride_related).order_by("earliest_pickup")
        ],
        "notifications": [
            _notification(n, user) for n in Notification.objects.filter(recipient=user)
        ],
        "notification_preferences": [
            {"kind": p.kind, "channels": list(p.channels)}
            for p in NotificationPreference.objects.filter(user=user)
        ],
        "quiet_hours": (
            {"from": quiet.start.isoformat(), "until": quiet.end.isoformat()} if quiet else None
        ),
        "devices_for_push": [
            {"browser": s.user_agent, "since": _time(s.created_at)}
            for s in PushSubscription.objects.filter(user=user)
        ],
        "reminders": [
            {"kind": r.kind, "due_at": _time(r.due_at), "sent_at": _time(r.sent_at)}
            for r in Reminder.objects.filter(recipient=user)
        ],
        # Who else saw or changed my data (the audit log): the right to know recipients.
        "seen_or_changed_by": [
            {
                "at": _time(entry.at),
                "who": entry.actor.full_name if entry.actor else None,
                "action": entry.action,
                "detail": entry.detail,
            }
            for entry in audit_entries_about(subject=user)
        ],
    }


def _notification(notification: Notification, user: User) -> dict[str, Any]:
    row = {
        "id": notification.pk,
        "kind": notification.kind,
        "payload": notification.payload,
        "created_at": _time(notification.created_at),
        "read_at": _time(notification.read_at),
    }
    kind = KINDS.get(notification.kind)
    if kind is not None:
        # An old payload from before a text changed: the payload says it all.
        with suppress(KeyError):
            row["title"], row["body"] = render(kind, notification.payload, user.preferred_language)
    return row


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
    # The statistics count them as managed, born in that decade, from the next refresh
    # on (for every day they are in, not only the rides cancelled above).
    stats_person_changed(person_id=user.pk)
    return user


def _end_sessions(user: User) -> None:
    """Signs the person out on every device. Sessions are rows in the database backend;
    their user id is inside the encoded data."""
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if str(session.get_decoded().get("_auth_user_id")) == str(user.pk):
            session.delete()

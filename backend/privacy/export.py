"""Everything Samby holds about a person, as one JSON-ready document (the right of
access and to data portability).

Each section says which relations to the person it covers (`Section.covers`, as
"app_label.Model.field"); the relations deliberately left out are in `NOT_EXPORTED`,
each with its reason. tests/backend/privacy/test_export_complete.py walks every model
and fails when a relation to a person is in neither, so a new model holding personal
data cannot be forgotten here.

What other people's data a row also holds stays out: rides a person drove say when and
how far, not whom they carried; a rating received says its stars, not who gave it.
"""

from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from django.contrib.gis.geos import Point
from django.db.models import Q
from django.utils import timezone

from backend.accounts.models import ProxyInvitation, ProxyLink, User
from backend.audit.selectors import audit_entries_about
from backend.carpool.models import Booking as SeatBooking
from backend.carpool.models import Rating, Report, SavedSearch, Trip
from backend.community.models import AssociationMessage, Membership, MunicipalityAnalyst
from backend.notifications.kinds import KINDS, render
from backend.notifications.models import (
    Notification,
    NotificationPreference,
    PushSubscription,
    QuietHours,
    Reminder,
    SmsReplyCode,
)
from backend.rides.models import (
    AvailabilityException,
    AvailabilitySlot,
    DriverProfile,
    MileagePayout,
    Offer,
    RideEvent,
    RideRequest,
)
from backend.sharing.models import Booking as ThingBooking
from backend.sharing.models import (
    CalendarFeed,
    Clearance,
    ConditionPhoto,
    ProblemReport,
    Resource,
    ResourcePhoto,
    WaitlistEntry,
)
from backend.shuttle.models import RunOffer, RunSignup, RunVehicle, StandingSignup

Row = dict[str, Any]

# Models that stand for a person in a role: a relation to one of them is a relation to
# the person, and the completeness test walks those too.
PERSON_RECORDS = ("accounts.User", "community.Membership", "rides.DriverProfile")


def _point(point: Point | None) -> list[float] | None:
    return [point.x, point.y] if point is not None else None


def _iso(value: datetime | date | time | None) -> str | None:
    return value.isoformat() if value is not None else None


@dataclass(frozen=True)
class Section:
    name: str
    covers: tuple[str, ...]
    build: Callable[[User], Any]


# --- The person and their place in Samby ---------------------------------------------------


def _person(user: User) -> Row:
    return {
        "id": user.pk,
        "full_name": user.full_name,
        "phone": user.phone,
        "phone_confirmed_at": _iso(user.phone_confirmed_at),
        "email_confirmed_at": _iso(user.email_confirmed_at),
        "email": user.email,
        "preferred_language": user.preferred_language,
        "contact_by_sms": user.contact_by_sms,
        "contact_by_email": user.contact_by_email,
        "contact_by_push": user.contact_by_push,
        "home_address": user.home_address,
        "home_location": _point(user.home_location),
        "birth_year": user.birth_year,
        "managed_profile": user.is_managed,
        "date_joined": _iso(user.date_joined),
        "last_login": _iso(user.last_login),
        "groups": list(user.groups.values_list("name", flat=True)),
        "permissions": list(user.user_permissions.values_list("codename", flat=True)),
    }


def _memberships(user: User) -> list[Row]:
    return [
        {
            "association": m.association.name,
            "roles": list(m.roles),
            "state": m.state,
            "state_reason": m.state_reason,
            "state_changed_at": _iso(m.state_changed_at),
            "joined": _iso(m.created_at),
            "approved_for_rides": _iso(m.rider_approval.approved_at)
            if hasattr(m, "rider_approval")
            else None,
        }
        for m in Membership.objects.filter(user=user).select_related(
            "association", "rider_approval"
        )
    ]


def _analyst(user: User) -> list[str]:
    return list(
        MunicipalityAnalyst.objects.filter(user=user).values_list("municipality__name", flat=True)
    )


def _proxies(user: User) -> Row:
    links = ProxyLink.objects.filter(Q(resident=user) | Q(proxy=user)).select_related(
        "proxy", "resident"
    )
    return {
        # A request not yet answered shows the number as typed, not whose it is: the
        # name is the proxy's to give by accepting.
        "they_help_me": [
            {
                "name": link.proxy.full_name if link.is_accepted else "",
                "invited_as": link.invited_as,
                "state": "accepted" if link.is_accepted else "pending",
                "relationship": link.relationship,
                "gets_my_sms": link.receives_sms_for_resident,
                "since": _iso(link.created_at),
                "accepted_at": _iso(link.accepted_at),
            }
            for link in links
            if link.resident_id == user.pk
        ]
        # A request to a number nobody uses Samby with looks like any other unanswered
        # one: whether the number has an account is not shown here either.
        + [
            {
                "name": "",
                "invited_as": invitation.invited_as,
                "state": "pending",
                "relationship": invitation.relationship,
                "gets_my_sms": False,
                "since": _iso(invitation.created_at),
                "accepted_at": None,
            }
            for invitation in ProxyInvitation.objects.filter(resident=user).order_by(
                "created_at", "pk"
            )
        ],
        "i_help": [
            {
                "name": link.resident.full_name,
                "state": "accepted" if link.is_accepted else "pending",
                "relationship": link.relationship,
                "i_get_their_sms": link.receives_sms_for_resident,
                "since": _iso(link.created_at),
                "accepted_at": _iso(link.accepted_at),
            }
            for link in links
            if link.proxy_id == user.pk
        ],
    }


# --- Volunteer rides ------------------------------------------------------------------------


def _driver_profiles(user: User) -> list[Row]:
    profiles = DriverProfile.objects.filter(membership__user=user).select_related("association")
    return [
        {
            "association": p.association.name,
            "home_base": _point(p.home_base),
            "service_radius_m": p.service_radius_m,
            "seats": p.seats,
            "car": p.vehicle_description,
            "wheelchair_accessible": p.wheelchair_accessible,
            "walker_space": p.walker_space,
            "child_seat": p.child_seat,
            "takes_guide_dog": p.takes_guide_dog,
            "active": p.active,
            "on_duty": p.on_duty,
            "position": _point(p.position),
            "position_at": _iso(p.position_at),
            "weekly_availability": [
                {"weekday": s.weekday, "from": _iso(s.start), "until": _iso(s.end)}
                for s in AvailabilitySlot.objects.filter(driver=p).order_by("weekday", "start")
            ],
            "days_away_or_extra": [
                {"date": _iso(e.date), "kind": e.kind, "from": _iso(e.start), "until": _iso(e.end)}
                for e in AvailabilityException.objects.filter(driver=p).order_by("date")
            ],
            "offers": [
                {
                    "ride": o.ride_id,
                    "state": o.state,
                    "pickup_at": _iso(o.pickup_at),
                    "distance_m": o.distance_m,
                    "offered_at": _iso(o.created_at),
                    "answered_at": _iso(o.answered_at),
                }
                for o in Offer.objects.filter(driver=p).order_by("created_at")
            ],
            "mileage_paid": [
                {
                    "month": _iso(m.month),
                    "rides": m.rides,
                    "metres": m.metres,
                    "amount_ore": m.amount_ore,
                    "paid_at": _iso(m.paid_at),
                }
                for m in MileagePayout.objects.filter(driver=p).order_by("month")
            ],
        }
        for p in profiles
    ]


def _ride(ride: RideRequest, *, with_addresses: bool) -> Row:
    row: Row = {
        "id": ride.pk,
        "state": ride.state,
        "time_kind": ride.time_kind,
        "earliest_pickup": _iso(ride.earliest_pickup),
        "latest_pickup": _iso(ride.latest_pickup),
        "arrive_by": _iso(ride.arrive_by),
        "planned_pickup": _iso(ride.planned_pickup),
        "association": ride.association.name,
        "village": ride.village.name if ride.village else None,
        "passengers": ride.passengers,
        "needs": list(ride.needs),
        "distance_m": ride.distance_m,
        "driven_m": ride.driven_m,
        "created_at": _iso(ride.created_at),
        "closed_at": _iso(ride.closed_at),
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
            events=[
                {
                    "at": _iso(e.at),
                    "from": e.from_state,
                    "to": e.to_state,
                    "reason": e.reason,
                }
                for e in RideEvent.objects.filter(ride=ride).order_by("at", "pk")
            ],
        )
    return row


_RIDE_RELATED = ("association", "village", "rider", "requested_by", "driver__membership__user")


def _rides(user: User) -> list[Row]:
    own = RideRequest.objects.filter(Q(rider=user) | Q(requested_by=user))
    return [
        _ride(ride, with_addresses=True)
        for ride in own.select_related(*_RIDE_RELATED).order_by("earliest_pickup")
    ]


def _rides_driven(user: User) -> list[Row]:
    driven = RideRequest.objects.filter(driver__membership__user=user).exclude(rider=user)
    return [
        _ride(ride, with_addresses=False) | {"mileage_claim": _mileage_claim(ride)}
        for ride in driven.select_related(*_RIDE_RELATED, "mileage_claim").order_by(
            "earliest_pickup"
        )
    ]


def _mileage_claim(ride: RideRequest) -> Row | None:
    """Kilometres the driver claimed beyond what the ride can take, with their words and
    what became of it (who decided is the association's record)."""
    claim = getattr(ride, "mileage_claim", None)
    if claim is None:
        return None
    return {
        "claimed_m": claim.claimed_m,
        "allowed_m": claim.allowed_m,
        "explanation": claim.explanation,
        "state": claim.state,
        "decided_at": _iso(claim.decided_at),
        "decline_reason": claim.decline_reason,
        "created_at": _iso(claim.created_at),
    }


# --- Carpooling -----------------------------------------------------------------------------


def _trips(user: User) -> list[Row]:
    return [
        {
            "id": t.pk,
            "association": t.association.name,
            "from_address": t.origin_address,
            "from": _point(t.origin),
            "to_address": t.destination_address,
            "to": _point(t.destination),
            "first_departure": _iso(t.first_departure),
            "repeats": t.rrule,
            "seats": t.seats,
            "price_ore": t.price_ore,
            "note": t.note,
            "created_at": _iso(t.created_at),
            "cancelled_at": _iso(t.cancelled_at),
            # Who booked is the passengers' data; how full each departure was is mine.
            "departures": [
                {
                    "at": _iso(o.departure_at),
                    "status": o.status,
                    "seats_taken": o.seats_taken,
                    "seats_total": o.seats_total,
                }
                for o in t.occurrences.order_by("departure_at")
            ],
        }
        for t in Trip.objects.filter(driver=user).select_related("association").order_by("pk")
    ]


def _seat_bookings(user: User) -> list[Row]:
    bookings = (
        SeatBooking.objects.filter(Q(passenger=user) | Q(booked_by=user))
        .select_related("occurrence__trip__driver", "passenger", "booked_by")
        .order_by("pickup_at")
    )
    return [
        {
            "id": b.pk,
            "passenger": b.passenger.full_name,
            "booked_by": b.booked_by.full_name,
            "driver": b.occurrence.trip.driver.full_name,
            "departure": _iso(b.occurrence.departure_at),
            "seats": b.seats,
            "pickup_address": b.pickup_address,
            "pickup": _point(b.pickup),
            "dropoff_address": b.dropoff_address,
            "dropoff": _point(b.dropoff),
            "pickup_at": _iso(b.pickup_at),
            "dropoff_at": _iso(b.dropoff_at),
            "price_ore": b.price_ore,
            "message": b.message,
            "state": b.state,
            "cancelled_by": b.cancelled_by,
            "reason": b.reason,
            "created_at": _iso(b.created_at),
            "closed_at": _iso(b.closed_at),
        }
        for b in bookings
    ]


def _saved_searches(user: User) -> list[Row]:
    return [
        {
            "pickup_address": s.pickup_address,
            "pickup": _point(s.pickup),
            "dropoff_address": s.dropoff_address,
            "dropoff": _point(s.dropoff),
            "earliest": _iso(s.earliest),
            "latest": _iso(s.latest),
            "weekdays": list(s.weekdays),
            "until": _iso(s.until),
            "seats": s.seats,
            "active": s.active,
            "created_at": _iso(s.created_at),
            "alerts_sent": [_iso(a.created_at) for a in s.alerts.order_by("created_at")],
        }
        for s in SavedSearch.objects.filter(owner=user).order_by("pk")
    ]


def _ratings(user: User) -> Row:
    return {
        "given": [
            {
                "booking": r.booking_id,
                "stars": r.stars,
                "comment": r.comment,
                "at": _iso(r.created_at),
            }
            for r in Rating.objects.filter(rater=user).order_by("created_at")
        ],
        "received": [
            {
                "booking": r.booking_id,
                "stars": r.stars,
                "comment": r.comment,
                "at": _iso(r.created_at),
            }
            for r in Rating.objects.filter(ratee=user).order_by("created_at")
        ],
    }


def _carpool_reports(user: User) -> Row:
    # A report about me: what was said and when, not who said it (their protection).
    return {
        "made": [
            {"booking": r.booking_id, "text": r.text, "at": _iso(r.created_at)}
            for r in Report.objects.filter(reporter=user).order_by("created_at")
        ],
        "about_me": [
            {"text": r.text, "at": _iso(r.created_at)}
            for r in Report.objects.filter(about=user).order_by("created_at")
        ],
    }


# --- Shop runs ----------------------------------------------------------------------------


def _shop_runs(user: User) -> Row:
    signups = (
        RunSignup.objects.filter(Q(passenger=user) | Q(signed_up_by=user))
        .select_related("occurrence__schedule", "passenger", "signed_up_by")
        .order_by("occurrence__arrive_at")
    )
    standing = StandingSignup.objects.filter(Q(passenger=user) | Q(signed_up_by=user))
    driving = RunVehicle.objects.filter(driver__membership__user=user).select_related(
        "occurrence__schedule"
    )
    return {
        "signups": [
            {
                "run": s.occurrence.schedule.name,
                "arrive_at": _iso(s.occurrence.arrive_at),
                "passenger": s.passenger.full_name,
                "signed_up_by": s.signed_up_by.full_name,
                "pickup_address": s.pickup_address,
                "pickup": _point(s.pickup),
                "needs": list(s.needs),
                "note": s.note,
                "seats": s.seats,
                "state": s.state,
                "estimated_pickup": _iso(s.estimated_pickup),
                "outcome": s.outcome,
                "created_at": _iso(s.created_at),
                "cancelled_at": _iso(s.cancelled_at),
            }
            for s in signups
        ],
        "every_week": [
            {
                "run": s.schedule.name,
                "pickup_address": s.pickup_address,
                "pickup": _point(s.pickup),
                "needs": list(s.needs),
                "note": s.note,
                "active": s.active,
                "created_at": _iso(s.created_at),
                "ended_at": _iso(s.ended_at),
            }
            for s in standing.select_related("schedule").order_by("pk")
        ],
        "driving": [
            {
                "run": v.occurrence.schedule.name,
                "arrive_at": _iso(v.occurrence.arrive_at),
                "seats": v.seats,
                "plan_km": float(v.plan_km) if v.plan_km is not None else None,
            }
            for v in driving.order_by("occurrence__arrive_at")
        ],
        "offers_to_drive": [
            {"run": o.occurrence_id, "state": o.state, "at": _iso(o.created_at)}
            for o in RunOffer.objects.filter(driver__membership__user=user).order_by("created_at")
        ],
    }


# --- Shared cars, tools and rooms -------------------------------------------------------------


def _sharing(user: User) -> Row:
    bookings = (
        ThingBooking.objects.filter(Q(booker=user) | Q(booked_by=user))
        .select_related("resource", "booker", "booked_by")
        .order_by("starts_at")
    )
    feed = CalendarFeed.objects.filter(user=user).first()
    return {
        "things_i_lend": [
            {
                "id": r.pk,
                "title": r.title,
                "kind": r.kind,
                "description": r.description,
                "location": _point(r.location),
                "pickup_instructions": r.pickup_instructions,
                "key_location": r.key_location,
                "rules": r.rules,
                "active": r.active,
                "created_at": _iso(r.created_at),
            }
            for r in Resource.objects.filter(owner=user).order_by("pk")
        ],
        "bookings": [
            {
                "id": b.pk,
                "thing": b.resource.title,
                "booker": b.booker.full_name,
                "booked_by": b.booked_by.full_name,
                "from": _iso(b.starts_at),
                "until": _iso(b.ends_at),
                "status": b.status,
                "note": b.note,
                "reason": b.reason,
                "checked_out_at": _iso(b.checked_out_at),
                "returned_at": _iso(b.returned_at),
                "odometer_out": b.odometer_out,
                "odometer_in": b.odometer_in,
                "condition_out": b.condition_out,
                "condition_in": b.condition_in,
                "km_driven": b.km_driven,
                "cost_ore": b.cost_ore,
                "created_at": _iso(b.created_at),
            }
            for b in bookings
        ],
        "cleared_for": [
            {"thing": c.resource.title, "note": c.note, "since": _iso(c.granted_at)}
            for c in Clearance.objects.filter(user=user).select_related("resource")
        ],
        "waiting_lists": [
            {
                "thing": w.resource.title,
                "from": _iso(w.starts_at),
                "until": _iso(w.ends_at),
                "told_at": _iso(w.notified_at),
            }
            for w in WaitlistEntry.objects.filter(user=user).select_related("resource")
        ],
        "problems_reported": [
            {
                "thing": p.resource.title,
                "kind": p.kind,
                "text": p.text,
                "at": _iso(p.created_at),
                "resolved_at": _iso(p.resolved_at),
            }
            for p in ProblemReport.objects.filter(reporter=user).select_related("resource")
        ],
        "photos_uploaded": [
            {"thing": p.resource_id, "file": p.image.name, "at": _iso(p.created_at)}
            for p in ResourcePhoto.objects.filter(uploaded_by=user)
        ]
        + [
            {
                "thing": p.resource_id,
                "stage": p.stage,
                "file": p.image.name,
                "at": _iso(p.created_at),
            }
            for p in ConditionPhoto.objects.filter(uploaded_by=user)
        ],
        # The address is a secret link; the file says it exists, not the link.
        "calendar_feed_since": _iso(feed.created_at) if feed else None,
    }


# --- Messages -------------------------------------------------------------------------------


def _notification(notification: Notification, user: User) -> Row:
    row: Row = {
        "id": notification.pk,
        "kind": notification.kind,
        "payload": notification.payload,
        "created_at": _iso(notification.created_at),
        "read_at": _iso(notification.read_at),
        "deliveries": [
            {
                "channel": d.channel,
                "status": d.status,
                "address": d.address,
                "updated_at": _iso(d.updated_at),
            }
            for d in notification.deliveries.all()
        ],
    }
    kind = KINDS.get(notification.kind)
    if kind is not None:
        # An old payload from before a text changed: the payload says it all.
        with suppress(KeyError):
            row["title"], row["body"] = render(kind, notification.payload, user.preferred_language)
    return row


def _notifications(user: User) -> list[Row]:
    inbox = Notification.objects.filter(recipient=user).prefetch_related("deliveries")
    return [_notification(n, user) for n in inbox.order_by("created_at", "pk")]


def _association_messages(user: User) -> list[Row]:
    # What I wrote to every member as a coordinator; who got it is the association's.
    return [
        {
            "association": m.association.name,
            "text": m.text,
            "urgent": m.urgent,
            "sent_at": _iso(m.sent_at),
            "sent_to": m.recipients,
        }
        for m in AssociationMessage.objects.filter(sender=user)
        .select_related("association")
        .order_by("sent_at", "pk")
    ]


def _preferences(user: User) -> Row:
    quiet = QuietHours.objects.filter(user=user).first()
    return {
        "by_kind": [
            {"kind": p.kind, "channels": list(p.channels)}
            for p in NotificationPreference.objects.filter(user=user)
        ],
        "quiet_hours": {"from": _iso(quiet.start), "until": _iso(quiet.end)} if quiet else None,
    }


def _push_devices(user: User) -> list[Row]:
    return [
        {"browser": s.user_agent, "since": _iso(s.created_at)}
        for s in PushSubscription.objects.filter(user=user)
    ]


def _reminders(user: User) -> list[Row]:
    return [
        {
            "kind": r.kind,
            "due_at": _iso(r.due_at),
            "sent_at": _iso(r.sent_at),
            "cancelled_at": _iso(r.cancelled_at),
        }
        for r in Reminder.objects.filter(recipient=user).order_by("due_at")
    ]


def _sms_replies(user: User) -> list[Row]:
    return [
        {
            "phone": c.phone,
            "action": c.action,
            "expires_at": _iso(c.expires_at),
            "answered_at": _iso(c.answered_at),
            "answer": c.answer,
        }
        for c in SmsReplyCode.objects.filter(recipient=user).order_by("expires_at")
    ]


def _audit(user: User) -> list[Row]:
    # Who else saw or changed my data: the right to know the recipients.
    return [
        {
            "at": _iso(entry.at),
            "who": entry.actor.full_name if entry.actor else None,
            "action": entry.action,
            "detail": entry.detail,
        }
        for entry in audit_entries_about(subject=user)
    ]


SECTIONS: tuple[Section, ...] = (
    Section(
        "person",
        ("accounts.User_groups.user", "accounts.User_user_permissions.user"),
        _person,
    ),
    Section(
        "memberships", ("community.Membership.user", "rides.RiderApproval.membership"), _memberships
    ),
    Section("municipality_analyst_of", ("community.MunicipalityAnalyst.user",), _analyst),
    Section(
        "proxies",
        (
            "accounts.ProxyLink.proxy",
            "accounts.ProxyLink.resident",
            "accounts.ProxyInvitation.resident",
        ),
        _proxies,
    ),
    Section(
        "driver_profiles",
        (
            "rides.DriverProfile.membership",
            "rides.AvailabilitySlot.driver",
            "rides.AvailabilityException.driver",
            "rides.Offer.driver",
            "rides.MileagePayout.driver",
        ),
        _driver_profiles,
    ),
    Section("rides", ("rides.RideRequest.rider", "rides.RideRequest.requested_by"), _rides),
    Section("rides_driven", ("rides.RideRequest.driver",), _rides_driven),
    Section("carpool_trips", ("carpool.Trip.driver",), _trips),
    Section(
        "carpool_bookings",
        ("carpool.Booking.passenger", "carpool.Booking.booked_by"),
        _seat_bookings,
    ),
    Section("carpool_saved_searches", ("carpool.SavedSearch.owner",), _saved_searches),
    Section("carpool_ratings", ("carpool.Rating.rater", "carpool.Rating.ratee"), _ratings),
    Section(
        "carpool_reports", ("carpool.Report.reporter", "carpool.Report.about"), _carpool_reports
    ),
    Section(
        "shop_runs",
        (
            "shuttle.RunSignup.passenger",
            "shuttle.RunSignup.signed_up_by",
            "shuttle.StandingSignup.passenger",
            "shuttle.StandingSignup.signed_up_by",
            "shuttle.RunVehicle.driver",
            "shuttle.RunOffer.driver",
        ),
        _shop_runs,
    ),
    Section(
        "sharing",
        (
            "sharing.Resource.owner",
            "sharing.Booking.booker",
            "sharing.Booking.booked_by",
            "sharing.Clearance.user",
            "sharing.WaitlistEntry.user",
            "sharing.ProblemReport.reporter",
            "sharing.ResourcePhoto.uploaded_by",
            "sharing.ConditionPhoto.uploaded_by",
            "sharing.CalendarFeed.user",
        ),
        _sharing,
    ),
    Section("notifications", ("notifications.Notification.recipient",), _notifications),
    Section(
        "messages_to_all_members_sent",
        ("community.AssociationMessage.sender",),
        _association_messages,
    ),
    Section(
        "notification_preferences",
        ("notifications.NotificationPreference.user", "notifications.QuietHours.user"),
        _preferences,
    ),
    Section("devices_for_push", ("notifications.PushSubscription.user",), _push_devices),
    Section("reminders", ("notifications.Reminder.recipient",), _reminders),
    Section("sms_reply_codes", ("notifications.SmsReplyCode.recipient",), _sms_replies),
    Section("seen_or_changed_by", ("audit.AuditEntry.subject",), _audit),
)

_ROLE_RECORD = (
    "a record of work done for an association in a role (who approved, decided, paid, "
    "assigned or created something); it belongs to the record it is on"
)

# Relations to a person that are not in the file, and why.
NOT_EXPORTED: dict[str, str] = {
    "accounts.LoginCode.user": "a keyed hash of a one-time sign-in code; it expires within "
    "minutes and cannot be read back",
    "authtoken.Token.user": "the API key itself: a live credential does not belong in a "
    "downloadable file",
    "admin.LogEntry.user": "Django admin's log of edits made by staff",
    "rides.AvailabilityWindow.driver": "worked out from the weekly times and days away, "
    "which are exported",
    "rides.PlannedAssignment.driver": "a proposal in a coordinator's plan; the ride it "
    "became is in rides_driven and the offer in driver_profiles",
    "accounts.ProxyLink.created_by": _ROLE_RECORD,
    "accounts.ProxyInvitation.created_by": "a request to help a managed profile, made "
    "for them; it is in that person's export",
    "community.Membership.state_changed_by": _ROLE_RECORD,
    "rides.RiderApproval.approved_by": _ROLE_RECORD,
    "rides.RideEvent.actor": _ROLE_RECORD + "; the events of the person's own rides are "
    "exported with those rides",
    "rides.AssignmentPlan.approved_by": _ROLE_RECORD,
    "rides.MileagePayout.paid_by": _ROLE_RECORD,
    "rides.MileageClaim.decided_by": _ROLE_RECORD,
    "shuttle.RunSchedule.created_by": _ROLE_RECORD,
    "shuttle.RunVehicle.assigned_by": _ROLE_RECORD,
    "sharing.Clearance.granted_by": _ROLE_RECORD,
    "sharing.Booking.decided_by": _ROLE_RECORD,
    "sharing.ProblemReport.resolved_by": _ROLE_RECORD,
    "audit.AuditEntry.actor": "what the person saw of others' data is those people's "
    "record (each finds it in their own export)",
}


def person_export(*, user: User) -> dict[str, Any]:
    """Everything Samby holds about `user`, section by section (see SECTIONS)."""
    document: dict[str, Any] = {"exported_at": timezone.now().isoformat()}
    for section in SECTIONS:
        document[section.name] = section.build(user)
    return document

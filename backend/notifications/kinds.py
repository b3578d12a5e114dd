"""Every kind of notification, in one place: its texts (English here, Swedish in the
catalogue) and the channels it may use. Services add their kinds here.

Texts are %-format strings over the payload: `notify()` refuses a payload that lacks a
key a text needs, so a typo fails where it is made, not on a phone.
"""

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

from django.utils import formats, timezone, translation
from django.utils.formats import number_format
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from backend.community.models import Role
from backend.notifications.models import Channel
from backend.rides.models import Need

ALL_CHANNELS = frozenset(Channel)
NO_SMS = frozenset({Channel.LIVE, Channel.PUSH, Channel.EMAIL})


@dataclass(frozen=True)
class Kind:
    code: str
    title: Promise
    body: Promise
    channels: frozenset[Channel]
    # The payload is stored once and read in each reader's language: codes and numbers in
    # it become words and numbers of that language here, when the text is rendered.
    words: Callable[[dict], dict] | None = None
    # The payload fields that show a person's name: each must be a `PersonName`, so
    # erasing that person can take it out of the message (backend/notifications/names.py).
    names: tuple[str, ...] = ()
    # The body for a payload that also names a ride's return trip (`return_when`): a
    # ride and its return trip cancelled together are one message naming both times.
    body_with_return: Promise | None = None


def _km_words(payload: dict) -> dict:
    """The distance with the language's decimal mark ("10,7" in Swedish)."""
    return {**payload, "km": number_format(payload["km"], decimal_pos=1)}


def _ride_offer_words(payload: dict) -> dict:
    """The needs (codes, comma-separated, as the offers API gives them) as words, and the
    distance as `_km_words` gives it."""
    labels = dict(Need.choices)
    needs = payload["needs"]
    needs = [code.strip() for code in (needs.split(",") if isinstance(needs, str) else needs)]
    return {
        **_km_words(payload),
        "needs": ", ".join(str(labels.get(code, code)) for code in needs if code),
    }


def _seats_words(payload: dict) -> dict:
    """The number of seats with its noun in the reader's language ("1 seat", "2 seats";
    "1 plats", "2 platser")."""
    seats = payload["seats"]
    return {
        **payload,
        "seats": ngettext("%(count)s seat", "%(count)s seats", seats) % {"count": seats},
    }


def _membership_roles_words(payload: dict) -> dict:
    """The roles asked for (codes) as words: "member, volunteer driver"."""
    labels = dict(Role.choices)
    return {
        **payload,
        "roles": ", ".join(str(labels.get(role, role)) for role in payload["roles"]),
    }


def _membership_declined_words(payload: dict) -> dict:
    """The coordinator's reason as a sentence of its own, or nothing when none was given."""
    reason = payload["reason"].strip()
    return {
        **payload,
        "reason": " " + str(_("The reason: %(reason)s") % {"reason": reason}) if reason else "",
    }


# A passenger's place in a shop run's problem (`who_<sign-up id>`, a name field of its own).
PROBLEM_WHO = re.compile(r"%\((who_\d+)\)s")


def _plan_problem_words(payload: dict) -> dict:
    """The problem with the passengers' names in their places: the text keeps a place for
    each (`%(who_12)s`) and the names are fields of their own, `PersonName`s, so erasing
    one of them takes out that name and no other (dispatch.shop_runs)."""
    return {
        **payload,
        "problem": PROBLEM_WHO.sub(lambda m: payload.get(m[1], m[0]), payload["problem"]),
    }


KINDS: dict[str, Kind] = {
    kind.code: kind
    for kind in [
        Kind(
            "membership.approved",
            _("Welcome to %(association)s"),
            _("Your membership of %(association)s is approved."),
            NO_SMS,
        ),
        Kind(
            "membership.suspended",
            _("Membership suspended"),
            _("Your membership of %(association)s is suspended: %(reason)s"),
            ALL_CHANNELS,
        ),
        # To each active coordinator of the association, when someone asks to join.
        Kind(
            "membership.requested",
            _("%(person)s asks to join"),
            _(
                "%(person)s asks to join %(association)s as %(roles)s. Approve or decline "
                "the request in the roster."
            ),
            NO_SMS,
            words=_membership_roles_words,
            names=("person",),
        ),
        # To the person whose request to join a coordinator declined; they may ask again.
        Kind(
            "membership.declined",
            _("No to your request to join"),
            _("%(association)s said no to your request to join.%(reason)s"),
            NO_SMS,
            words=_membership_declined_words,
        ),
        # To a member a coordinator made a volunteer driver; it opens the first setup.
        Kind(
            "membership.driver_role",
            _("You are now a volunteer driver"),
            _(
                "You are now a volunteer driver in %(association)s. Set up your car and "
                "the area you drive in, then the times you can drive, in driver mode."
            ),
            NO_SMS,
        ),
        # To a member a coordinator made a coordinator too; it opens the console.
        Kind(
            "membership.coordinator_role",
            _("You are now a coordinator"),
            _(
                "You are now a coordinator of %(association)s. In the console you see the "
                "members, their phone numbers and addresses, and book and cancel for them."
            ),
            NO_SMS,
        ),
        # To a coordinator another coordinator took the role from.
        Kind(
            "membership.coordinator_role_taken",
            _("You are no longer a coordinator"),
            _(
                "A coordinator of %(association)s took your coordinator role. You remain a "
                "member; the console is closed to you."
            ),
            NO_SMS,
        ),
        Kind(
            "proxy.added",
            _("You can now book for %(resident)s"),
            _("%(resident)s has made you their proxy in Samby."),
            NO_SMS,
            names=("resident",),
        ),
        # Not by SMS: anyone can type any number. The request waits in the app and on
        # the profile page; a number without an account gets the one invitation SMS of
        # backend/accounts/proxy_invitations.py instead, under its own limits.
        Kind(
            "proxy.invited",
            _("%(resident)s asks for your help"),
            _(
                "%(resident)s asks you to help in Samby: to book and follow things for "
                "them. Answer yes or no on your profile page."
            ),
            NO_SMS,
            names=("resident",),
        ),
        Kind(
            "proxy.accepted",
            _("%(proxy)s said yes"),
            _("%(proxy)s can now book and follow things for %(resident)s in Samby."),
            NO_SMS,
            names=("proxy", "resident"),
        ),
        # To whoever asked: the number as they typed it, never the name of whoever has
        # it (that is theirs to give by saying yes).
        Kind(
            "proxy.declined",
            _("No to your request for help"),
            _(
                "The person at %(invited_as)s said no to helping %(resident)s in Samby. "
                "You can ask someone else."
            ),
            NO_SMS,
            names=("invited_as", "resident"),
        ),
        # Volunteer rides: to the rider (and whoever booked for them)
        Kind(
            "ride.requested",
            _("Ride booked"),
            _("We are looking for a driver for your ride %(when)s."),
            ALL_CHANNELS,
        ),
        Kind(
            "ride.accepted",
            _("Driver found"),
            _("%(driver)s drives you %(when)s. %(car)s"),
            ALL_CHANNELS,
            names=("driver",),
        ),
        Kind(
            "ride.en_route",
            _("Your driver is on the way"),
            _("%(driver)s is on the way to pick you up."),
            ALL_CHANNELS,
            names=("driver",),
        ),
        Kind(
            "ride.no_show",
            _("The driver did not find you"),
            _(
                "%(driver)s came for your ride at %(when)s but did not find you. If that is "
                "wrong, call your association."
            ),
            ALL_CHANNELS,
            names=("driver",),
        ),
        Kind(
            "ride.driver_withdrew",
            _("New driver needed"),
            _("Your driver for %(when)s cannot come. We are looking for another one."),
            ALL_CHANNELS,
        ),
        Kind(
            "ride.unfulfilled",
            _("No driver found"),
            _("We found no driver for your ride %(when)s. The association will call you."),
            ALL_CHANNELS,
        ),
        Kind(
            "ride.reminder",
            _("Ride tomorrow"),
            _("Reminder: ride %(when)s from %(place)s."),
            ALL_CHANNELS,
        ),
        # Volunteer rides: to drivers and coordinators
        Kind(
            "ride.offered",
            _("Can you drive?"),
            _("Ride %(when)s from %(village)s, about %(km)s km. %(needs)s"),
            ALL_CHANNELS,
            words=_ride_offer_words,
        ),
        Kind(
            "ride.offer_withdrawn",
            _("Ride taken"),
            _("The ride %(when)s no longer needs you. Thank you!"),
            NO_SMS,
        ),
        Kind(
            "ride.assigned",
            _("You have a ride"),
            _("A coordinator gave you the ride %(when)s from %(village)s."),
            ALL_CHANNELS,
        ),
        Kind(
            "ride.cancelled",
            _("Ride cancelled"),
            _("The ride %(when)s is cancelled. %(reason)s"),
            ALL_CHANNELS,
            body_with_return=_(
                "The ride %(when)s and its return trip %(return_when)s are cancelled. %(reason)s"
            ),
        ),
        # Kilometres beyond what a ride can take: to each active coordinator of the
        # association, who approves or declines them on the mileage page; the outcome to
        # the driver. The driver's explanation is not in the message (it is personal text,
        # kept only on the claim, where retention and erasure find it).
        Kind(
            "mileage.claim_waiting",
            _("%(driver)s claims %(km)s km"),
            _(
                "%(driver)s drove %(km)s km for the ride %(when)s, more than the %(most)s km "
                "it can take, and says why. Approve or decline the claim on the mileage page."
            ),
            NO_SMS,
            words=_km_words,
            names=("driver",),
        ),
        Kind(
            "mileage.claim_approved",
            _("Kilometres approved"),
            _("Your %(km)s km for the ride %(when)s are approved and count in full."),
            NO_SMS,
            words=_km_words,
        ),
        Kind(
            "mileage.claim_declined",
            _("Kilometres not approved"),
            _(
                "Your %(km)s km for the ride %(when)s are not approved; the ride counts "
                "%(most)s km. The reason: %(reason)s"
            ),
            NO_SMS,
            words=_km_words,
        ),
        Kind(
            "ride.unassigned",
            _("Ride without driver"),
            _("No driver took the ride %(when)s from %(village)s. Please assign one."),
            ALL_CHANNELS,
        ),
        Kind(
            "ride.plan_ready",
            _("Ride plan for %(day)s"),
            _(
                "Drivers are proposed for %(planned)s of %(rides)s rides, %(km)s km without "
                "passengers. Review the plan and approve it to send the offers."
            ),
            NO_SMS,
            words=_km_words,
        ),
        Kind(
            "association.message",
            _("Message from %(association)s"),
            _("%(text)s"),
            ALL_CHANNELS,
        ),
        # Shop runs: to passengers and whoever signed them up
        Kind(
            "shuttle.signed_up",
            _("Shop run booked"),
            _("%(name)s has a seat on the shop run %(when)s."),
            ALL_CHANNELS,
            names=("name",),
        ),
        Kind(
            "shuttle.waitlisted",
            _("On the waitlist"),
            _("The shop run %(when)s is full. %(name)s is number %(position)s on the waitlist."),
            ALL_CHANNELS,
            names=("name",),
        ),
        Kind(
            "shuttle.seat_offered",
            _("A seat is free"),
            _("A seat is free on the shop run %(when)s for %(name)s. Answer by %(until)s."),
            ALL_CHANNELS,
            names=("name",),
        ),
        Kind(
            "shuttle.signup_cancelled",
            _("Shop run seat cancelled"),
            _("%(name)s no longer comes along on the shop run %(when)s."),
            ALL_CHANNELS,
            names=("name",),
        ),
        Kind(
            "shuttle.run_cancelled",
            _("Shop run cancelled"),
            _("The shop run %(when)s is cancelled. %(reason)s"),
            ALL_CHANNELS,
        ),
        Kind(
            "shuttle.run_moved",
            _("Shop run moved"),
            _("The shop run %(old)s is moved to %(when)s."),
            ALL_CHANNELS,
        ),
        Kind(
            "shuttle.reminder",
            _("Shop run tomorrow"),
            _("Shop run %(when)s to %(shop)s: we pick you up at about %(pickup)s at %(address)s."),
            ALL_CHANNELS,
        ),
        # Shop runs: to drivers and coordinators
        Kind(
            "shuttle.run_offered",
            _("Can you drive the shop run?"),
            _("Shop run %(when)s to %(shop)s with %(passengers)s passengers from %(villages)s."),
            ALL_CHANNELS,
        ),
        Kind(
            "shuttle.run_assigned",
            _("You drive the shop run"),
            _("A coordinator gave you the shop run %(when)s to %(shop)s."),
            ALL_CHANNELS,
        ),
        Kind(
            "shuttle.vehicle_released",
            _("Shop run moved"),
            _("The shop run moved to %(when)s, when you drive another run. You are not on it."),
            ALL_CHANNELS,
        ),
        Kind(
            "shuttle.driver_reminder",
            _("You drive the shop run tomorrow"),
            _(
                "Shop run %(when)s to %(shop)s: %(stops)s pickups, the first at %(first)s. "
                "Run sheet: %(url)s"
            ),
            ALL_CHANNELS,
        ),
        Kind(
            "shuttle.run_needs_driver",
            _("Shop run without driver"),
            _("The shop run %(when)s has %(passengers)s passengers and needs a driver."),
            ALL_CHANNELS,
        ),
        Kind(
            "shuttle.plan_problem",
            _("Shop run cannot be planned"),
            _("The shop run %(when)s: %(problem)s"),
            NO_SMS,
            words=_plan_problem_words,
        ),
        # Carpooling: to drivers, passengers (and whoever booked for them), coordinators
        Kind(
            "carpool.booking_requested",
            _("Seat request"),
            _("%(passenger)s asks for %(seats)s %(when)s from %(place)s. Answer in Samby."),
            ALL_CHANNELS,
            words=_seats_words,
            names=("passenger",),
        ),
        Kind(
            "carpool.booked",
            _("Seat booked"),
            _("%(passenger)s booked %(seats)s %(when)s from %(place)s."),
            ALL_CHANNELS,
            words=_seats_words,
            names=("passenger",),
        ),
        Kind(
            "carpool.booking_confirmed",
            _("Seat confirmed"),
            _("%(driver)s takes you %(when)s from %(place)s."),
            ALL_CHANNELS,
            names=("driver",),
        ),
        Kind(
            "carpool.booking_declined",
            _("No seat this time"),
            _("The driver could not take you %(when)s. Search for another trip in Samby."),
            ALL_CHANNELS,
        ),
        Kind(
            "carpool.booking_cancelled",
            _("Booking cancelled"),
            _("The seat booking for %(when)s is cancelled. %(reason)s"),
            ALL_CHANNELS,
        ),
        Kind(
            "carpool.trip_cancelled",
            _("Trip cancelled"),
            _("The driver cancelled the trip %(when)s. %(reason)s"),
            ALL_CHANNELS,
        ),
        # The driver moved one departure: its passengers' new pickup times.
        Kind(
            "carpool.departure_moved",
            _("New time for your trip"),
            _(
                "The driver has changed the time: you are picked up %(when)s instead of"
                " %(before)s. If that does not suit you, cancel the booking in Samby. It does"
                " not count against you."
            ),
            ALL_CHANNELS,
        ),
        # A coordinator moved one of the driver's departures (the driver moving it tells
        # only the passengers).
        Kind(
            "carpool.departure_moved_by_coordinator",
            _("New time for your trip"),
            _(
                "A coordinator has moved your departure from %(before)s to %(when)s. Anyone"
                " booked on it has been told the new time."
            ),
            ALL_CHANNELS,
        ),
        Kind(
            "carpool.alert",
            _("A trip for you"),
            _("Someone drives from %(origin)s to %(destination)s %(when)s, past your way."),
            NO_SMS,
        ),
        Kind(
            "carpool.report",
            _("Carpool report"),
            _("%(reporter)s reported %(about)s after the trip %(when)s. Read it in Samby."),
            NO_SMS,
            names=("reporter", "about"),
        ),
        # Volunteer rides: an offer whose ride was cancelled or closed without a driver
        Kind(
            "ride.offer_closed",
            _("Ride no longer needed"),
            _("The ride %(when)s no longer needs a driver. You do not need to answer."),
            NO_SMS,
        ),
        # Shared cars, tools and rooms
        Kind(
            "sharing.booking_confirmed",
            _("Booked: %(resource)s"),
            _("%(resource)s is booked for you %(period)s."),
            ALL_CHANNELS,
        ),
        Kind(
            "sharing.booking_requested",
            _("Booking to approve"),
            _("%(booker)s asks to book %(resource)s %(period)s."),
            NO_SMS,
            names=("booker",),
        ),
        Kind(
            "sharing.booking_declined",
            _("Booking declined"),
            _("Your booking of %(resource)s %(period)s was declined. %(reason)s"),
            ALL_CHANNELS,
        ),
        Kind(
            "sharing.booking_cancelled",
            _("Booking cancelled"),
            _("The booking of %(resource)s %(period)s is cancelled. %(reason)s"),
            ALL_CHANNELS,
        ),
        Kind(
            "sharing.reminder",
            _("Booking soon: %(resource)s"),
            _("Reminder: you have booked %(resource)s %(period)s."),
            ALL_CHANNELS,
        ),
        Kind(
            "sharing.overdue",
            _("Please return %(resource)s"),
            _("%(resource)s was due back %(due)s. Return it and check it in, or call the owner."),
            ALL_CHANNELS,
        ),
        Kind(
            "sharing.next_booker_late",
            _("%(resource)s is not back yet"),
            _(
                "%(resource)s was due back %(due)s and has not been returned. Your booking is "
                "%(period)s; we will tell you when it is back."
            ),
            ALL_CHANNELS,
        ),
        Kind(
            "sharing.back",
            _("%(resource)s is back"),
            _("%(resource)s has been returned. Your booking %(period)s can go ahead."),
            ALL_CHANNELS,
        ),
        Kind(
            "sharing.problem_noted",
            _("Note about %(resource)s"),
            _("Someone who used %(resource)s noted: %(text)s"),
            NO_SMS,
        ),
        Kind(
            "sharing.out_of_service",
            _("%(resource)s is out of service"),
            _(
                "Your booking of %(resource)s %(period)s is cancelled because it is out of "
                "service: %(text)s"
            ),
            ALL_CHANNELS,
        ),
        Kind(
            "sharing.breakdown",
            _("%(resource)s has broken down"),
            _("%(resource)s is out of service: %(text)s. Its upcoming bookings are cancelled."),
            ALL_CHANNELS,
        ),
        Kind(
            "sharing.odometer_flag",
            _("Check the odometer of %(resource)s"),
            _("%(booker)s read %(reading)s km at check-out; the last reading was %(previous)s km."),
            NO_SMS,
            names=("booker",),
        ),
        Kind(
            "sharing.waitlist_free",
            _("%(resource)s is free"),
            _("%(resource)s is free again %(period)s. Book it before someone else does."),
            ALL_CHANNELS,
        ),
        # The association console: a coordinator gave a driver's ride to someone else
        Kind(
            "ride.released",
            _("Ride given to another driver"),
            _("A coordinator gave the ride %(when)s to another driver. %(reason)s"),
            ALL_CHANNELS,
        ),
        # The roster: a coordinator gave all the rides a driver held back to dispatch
        # (one message for them all; the times, comma-separated)
        Kind(
            "ride.released_to_dispatch",
            _("Rides given back to dispatch"),
            _(
                "A coordinator gave the rides you held back to dispatch, to be offered to "
                "other drivers: %(rides)s. %(reason)s"
            ),
            ALL_CHANNELS,
        ),
        # The association console: a coordinator cancelled a ride for the rider (who
        # phoned in, say); to the rider and whoever booked for them
        Kind(
            "ride.cancelled_by_association",
            _("Ride cancelled"),
            _("%(association)s has cancelled your ride %(when)s. %(reason)s"),
            ALL_CHANNELS,
            body_with_return=_(
                "%(association)s has cancelled your ride %(when)s and its return trip "
                "%(return_when)s. %(reason)s"
            ),
        ),
    ]
}


def get_kind(code: str) -> Kind:
    try:
        return KINDS[code]
    except KeyError:
        raise ValueError(f"unknown notification kind {code!r}; add it to kinds.py") from None


# How payloads store a local time ("2026-12-03 10:00"): the same in every language.
LOCAL_TIME = re.compile(r"\b(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2})\b")


def times_in_words(text: str) -> str:
    """Each local time in `text` as people read it in the active language: "Thursday 3
    December 10:00" ("torsdag 3 december 10:00"), with the year only when it is not this
    year's. A message may be read days later, so the day is named, not "tomorrow"."""

    def words(match: re.Match) -> str:
        year, month, day, hour, minute = match.groups()
        try:
            date = dt.date(int(year), int(month), int(day))
        except ValueError:
            return match.group(0)
        shape = "l j F" if date.year == timezone.localdate().year else "l j F Y"
        return f"{formats.date_format(date, shape)} {hour}:{minute}"

    return LOCAL_TIME.sub(words, text)


def _return_when_words(payload: dict) -> dict:
    """The return trip's time as the message names it: "at 15:00" on the ride's own day,
    else with its day ("Friday 4 December 15:00", by `times_in_words`)."""
    when, back = payload["when"], payload["return_when"]
    if back[:10] == when[:10] and LOCAL_TIME.fullmatch(back):
        back = str(_("at %(time)s") % {"time": back[11:]})
    return {**payload, "return_when": back}


def render(kind: Kind, payload: dict, language: str) -> tuple[str, str]:
    """Title and body in `language`. Raises KeyError when the payload lacks a field."""
    with translation.override(language):
        values = kind.words(payload) if kind.words else payload
        body = kind.body
        if kind.body_with_return is not None and payload.get("return_when"):
            body, values = kind.body_with_return, _return_when_words(values)
        return times_in_words(str(kind.title) % values), times_in_words(str(body) % values)

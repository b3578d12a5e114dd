"""Shared cars, tools and rooms for residents: browse what is near home, a thing's page
with its free and busy times, book it (for themself or someone they book for), their
bookings with cancel, check-out, check-in and problem reports.

Same services and selectors as the API (mobile_api/views/sharing.py), with the same rule
of what a viewer sees: where exactly a thing is, where to fetch it and where the key is
only for its managers and for people holding a confirmed booking. A resident answers
requests for the things they lend on their own pages (webapp/views/my_things.py); the
association's coordinators answer in the console."""

import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.gis.geos import Point
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from backend.accounts.models import User
from backend.community.selectors import people_actable_by
from backend.errors import ApplicationError
from backend.sharing import services
from backend.sharing.models import (
    HOLDING,
    OUT,
    UPCOMING,
    Booking,
    BookingStatus,
    Resource,
    ResourceKind,
)
from backend.sharing.selectors import (
    booking_cards_of_person,
    bookings_of_person,
    bookings_visible_to,
    resource_calendar,
    resource_managed_by,
    resources_available_near,
    resources_visible_to,
    user_has_booking_in_hand,
    with_photos,
)
from backend.sharing.services import Reading
from webapp.forms.sharing import (
    BookForm,
    BrowseForm,
    CancelForm,
    ProblemForm,
    ReadingForm,
    book_initial,
)
from webapp.views.blank_forms import blank_form_fields
from webapp.views.common import page, people_to_book_for, show_error
from webapp.views.limits import booking_limited, booking_made

CALENDAR_DAYS = 21
BOOK_FIELDS = {"starts_at": "starts_at", "ends_at": "ends_at"}
# A booking in one of these has the thing (or is about to): its page shows the key.
IN_HAND = [BookingStatus.CONFIRMED, *OUT]


def _kronor(ore: int) -> str:
    kronor = ore / 100
    return f"{kronor:.0f}" if kronor == int(kronor) else f"{kronor:.2f}"


def _prices(resource: Resource) -> list[str]:
    """The price lines a person reads before booking; free things say so."""
    lines = []
    if resource.price_per_hour_ore:
        lines.append(_("%(kr)s kr per hour") % {"kr": _kronor(resource.price_per_hour_ore)})
    if resource.price_per_day_ore:
        lines.append(_("%(kr)s kr per day") % {"kr": _kronor(resource.price_per_day_ore)})
    if resource.price_per_km_ore:
        lines.append(_("%(kr)s kr per km") % {"kr": _kronor(resource.price_per_km_ore)})
    if not lines:
        lines.append(_("Free"))
    if resource.deposit_ore:
        lines.append(_("Deposit %(kr)s kr") % {"kr": _kronor(resource.deposit_ore)})
    return lines


# --- Browse -------------------------------------------------------------------------------------


def _search_point(user: User) -> tuple[Point, bool]:
    """Home, or the map's centre (the village) when no home address is known."""
    if user.home_location is not None:
        return user.home_location, True
    lon, lat = settings.MAP_CENTER
    return Point(lon, lat, srid=4326), False


BROWSE_FIELDS_TEMPLATE = "webapp/sharing/browse_fields.html"


@login_required
@require_GET
def browse(request: HttpRequest) -> HttpResponse:
    """Listed, working things near home, nearest first; with a period only those free for
    all of it. One query for the search and one for the photos."""
    initial = {"radius_km": 25}
    form = BrowseForm(request.GET or None, initial=initial)
    blank = None if request.GET else blank_form_fields(BROWSE_FIELDS_TEMPLATE, BrowseForm, initial)
    results = None
    point, from_home = _search_point(request.user)
    if not request.GET or form.is_valid():
        values = form.cleaned_data if request.GET else {}
        results = resources_available_near(
            point=point,
            radius_m=form.radius_m() if request.GET else 25_000,
            kind=values.get("kind") or None,
            category=values.get("category") or None,
            text=values.get("q") or None,
            starts_at=values.get("starts_at"),
            ends_at=values.get("ends_at"),
        )
        with_photos(results)
        for resource in results:
            resource.price_lines = _prices(resource)
            resource.km = f"{resource.distance_m / 1000:.1f}"
    return page(
        request,
        "webapp/sharing/browse.html",
        {
            "form": form,
            "blank_fields": blank,
            "results": results,
            "from_home": from_home,
        },
        status=400 if form.errors else 200,
    )


# --- A resource and booking it -----------------------------------------------------------------


def _calendar_days(slots: list, since: dt.datetime) -> list[dict]:
    """The next weeks day by day, each with the taken stretches that touch it."""
    zone = timezone.get_current_timezone()
    first = timezone.localtime(since).date()
    days = []
    for offset in range(CALENDAR_DAYS):
        day = first + dt.timedelta(days=offset)
        start = dt.datetime.combine(day, dt.time.min, tzinfo=zone)
        end = start + dt.timedelta(days=1)
        busy = []
        for slot in slots:
            if slot.starts_at < end and slot.blocked_until > start:
                busy.append(
                    {
                        "from": max(slot.starts_at, start),
                        "until": min(slot.blocked_until, end),
                        "mine": slot.booking is not None,
                        "status": slot.status,
                    }
                )
        days.append({"day": day, "busy": busy})
    return days


def _resource_page(
    request: HttpRequest,
    resource: Resource,
    form: BookForm,
    *,
    suggestion: dict | None = None,
    status: int = 200,
) -> HttpResponse:
    user = request.user
    manager = resource_managed_by(user=user, resource=resource)
    privileged = manager or user_has_booking_in_hand(user=user, resource=resource)
    now = timezone.now()
    slots = resource_calendar(
        viewer=user, resource=resource, since=now, until=now + dt.timedelta(days=CALENDAR_DAYS)
    )
    return page(
        request,
        "webapp/sharing/resource.html",
        {
            "resource": resource,
            "photos": list(resource.photos.all()),
            "prices": _prices(resource),
            "shortest": services.duration_text(dt.timedelta(minutes=resource.min_minutes)),
            "longest": services.duration_text(dt.timedelta(minutes=resource.max_minutes)),
            "privileged": privileged,
            "manager": manager,
            "is_car": resource.kind == ResourceKind.CAR,
            "owner_first_name": resource.owner.get_short_name() if resource.owner_id else "",
            "days": _calendar_days(slots, now),
            "form": form,
            "suggestion": suggestion,
            "bookable": resource.active and not resource.out_of_service,
        },
        status=status,
    )


def _resource(request: HttpRequest, pk: int) -> Resource:
    return get_object_or_404(
        resources_visible_to(user=request.user).select_related("association", "owner"), pk=pk
    )


@login_required
@require_GET
def resource_detail(request: HttpRequest, pk: int) -> HttpResponse:
    resource = _resource(request, pk)
    form = BookForm(
        initial=book_initial(timezone.localtime(), resource),
        bookers=people_to_book_for(request.user),
        me=request.user.pk,
    )
    return _resource_page(request, resource, form)


@login_required
@require_POST
@booking_limited
def book(request: HttpRequest, pk: int) -> HttpResponse:
    """Book it. Taken: the page again with when it is free next, and a button to take
    that time instead."""
    resource = _resource(request, pk)
    form = BookForm(request.POST, bookers=people_to_book_for(request.user), me=request.user.pk)
    if not form.is_valid():
        return _resource_page(request, resource, form, status=400)
    values = form.cleaned_data
    booker = get_object_or_404(people_actable_by(actor=request.user), pk=values["booker"])
    try:
        booking = services.booking_request(
            actor=request.user,
            resource=resource,
            starts_at=values["starts_at"],
            ends_at=values["ends_at"],
            booker=booker,
            note=values["note"],
        )
    except ApplicationError as error:
        suggestion = None
        next_free = getattr(error, "next_free", None)
        if next_free is not None:
            # The same length from the next free time: one button to take it instead.
            length = values["ends_at"] - values["starts_at"]
            suggestion = {
                "starts_at": timezone.localtime(next_free),
                "ends_at": timezone.localtime(next_free + length),
                "booker": booker.pk,
                "note": values["note"],
            }
        show_error(request, error, form, fields=BOOK_FIELDS)
        return _resource_page(request, resource, form, suggestion=suggestion, status=400)
    booking_made(request)
    if booking.status == BookingStatus.CONFIRMED:
        messages.success(request, _("%(title)s is booked.") % {"title": resource.title})
    else:
        messages.success(request, _("Your request is sent. The owner answers soon."))
    return redirect("webapp:sharing-bookings")


# --- My bookings ------------------------------------------------------------------------------


def booking_rows(bookings: list[Booking], user: User) -> list[dict]:
    now = timezone.now()
    early = dt.timedelta(minutes=settings.SHARING_CHECKOUT_EARLY_MINUTES)
    rows = []
    for booking in bookings:
        status = booking.status
        rows.append(
            {
                "booking": booking,
                "resource": booking.resource,
                "is_car": booking.resource.kind == ResourceKind.CAR,
                "for_someone_else": booking.booker_id != user.pk,
                "in_hand": status in IN_HAND,
                "can_cancel": status in UPCOMING,
                "can_check_out": status == BookingStatus.CONFIRMED
                and now >= booking.starts_at - early,
                "can_check_in": status in OUT,
                "can_report": status in [*HOLDING, BookingStatus.RETURNED],
                "cost_kr": _kronor(booking.cost_ore) if booking.cost_ore is not None else "",
                "estimate_kr": _kronor(booking.estimated_cost_ore),
            }
        )
    return rows


@login_required
@require_GET
def bookings(request: HttpRequest) -> HttpResponse:
    """Mine and those of people I book for: what is coming or out now, then the latest
    others. Three queries whatever the number of bookings."""
    mine = bookings_of_person(actor=request.user).select_related("resource", "booker")
    current = list(mine.filter(status__in=HOLDING).order_by("starts_at", "pk")[:50])
    earlier = list(mine.exclude(status__in=HOLDING).order_by("-starts_at", "-pk")[:20])
    return page(
        request,
        "webapp/sharing/bookings.html",
        {
            "current": booking_rows(current, request.user),
            "earlier": booking_rows(earlier, request.user),
            "cancel_form": CancelForm(),
            "reading_form": ReadingForm(),
            "problem_form": ProblemForm(),
        },
    )


def _my_booking(request: HttpRequest, pk: int) -> Booking:
    return get_object_or_404(
        bookings_of_person(actor=request.user).select_related("resource__association", "booker"),
        pk=pk,
    )


@login_required
@require_POST
def booking_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    booking = _my_booking(request, pk)
    form = CancelForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The reason is at most 300 characters."))
        return redirect("webapp:sharing-bookings")
    try:
        services.booking_cancel(
            actor=request.user, booking=booking, reason=form.cleaned_data["reason"]
        )
    except ApplicationError as error:
        show_error(request, error)
    else:
        messages.success(request, _("The booking is cancelled. The owner is told."))
    return redirect("webapp:sharing-bookings")


def _reading_step(request: HttpRequest, pk: int, step, done: str) -> HttpResponse:
    """Check-out or check-in: read the form, call the service, say how it went."""
    booking = _my_booking(request, pk)
    form = ReadingForm(request.POST, request.FILES)
    if not form.is_valid():
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, message)
        return redirect("webapp:sharing-bookings")
    values = form.cleaned_data
    photo = values.get("photo")
    try:
        booking = step(
            actor=request.user,
            booking=booking,
            reading=Reading(odometer_km=values["odometer_km"], condition=values["condition"]),
            photos=[photo] if photo else [],
        )
    except ApplicationError as error:
        show_error(request, error)
    else:
        messages.success(request, done(booking))
    return redirect("webapp:sharing-bookings")


def _checked_in_text(booking: Booking) -> str:
    if booking.km_driven is not None:
        return _("Thank you! %(km)s km, %(kr)s kr.") % {
            "km": booking.km_driven,
            "kr": _kronor(booking.cost_ore or 0),
        }
    return _("Thank you! It is returned. Cost %(kr)s kr.") % {"kr": _kronor(booking.cost_ore or 0)}


@login_required
@require_POST
def booking_check_out(request: HttpRequest, pk: int) -> HttpResponse:
    return _reading_step(
        request,
        pk,
        services.booking_check_out,
        lambda booking: (
            _("Checked out. Have a good trip!")
            if booking.resource.kind == ResourceKind.CAR
            else _("Checked out. Return it on time, please.")
        ),
    )


@login_required
@require_POST
def booking_check_in(request: HttpRequest, pk: int) -> HttpResponse:
    return _reading_step(request, pk, services.booking_check_in, _checked_in_text)


@login_required
@require_POST
def problem(request: HttpRequest, pk: int) -> HttpResponse:
    """A note (the next bookers are told) or a breakdown (out of service, upcoming
    bookings cancelled). From my bookings, about the booking it names."""
    resource = _resource(request, pk)
    form = ProblemForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose how bad it is and describe what is wrong."))
        return redirect("webapp:sharing-bookings")
    values = form.cleaned_data
    booking = None
    if values.get("booking"):
        booking = get_object_or_404(bookings_visible_to(user=request.user), pk=values["booking"])
    try:
        services.problem_report(
            actor=request.user,
            resource=resource,
            kind=values["kind"],
            text=values["text"],
            booking=booking,
        )
    except ApplicationError as error:
        show_error(request, error)
    else:
        messages.success(request, _("Thank you. The owner is told."))
    return redirect("webapp:sharing-bookings")


def home_sharing(user: User) -> dict:
    """For the start page: my next three bookings (and those of whom I book for)."""
    return {"sharing_bookings": booking_cards_of_person(actor=user, since=timezone.now(), limit=3)}

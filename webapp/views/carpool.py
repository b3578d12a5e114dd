"""Carpooling for residents: find a seat and book it (for themself or someone they book
for), their bookings, trips they offer with the requests to answer, and ride alerts.

Same services and selectors as the API. What a person sees of the other side follows
the API's rule: before a booking is confirmed only areas and first names; after it,
addresses, full names and phone numbers (mobile_api/carpool_serializers.py)."""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import FloatField, Func, OuterRef, Prefetch, Subquery
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from backend.accounts.models import User
from backend.carpool import services as carpool
from backend.carpool.models import (
    ACTIVE_BOOKING,
    DEPARTURE_MOVE_MAX,
    OPEN_OCCURRENCE,
    Booking,
    BookingState,
    TripOccurrence,
)
from backend.carpool.pricing import price_for_part
from backend.carpool.selectors import (
    VILLAGE_RADIUS_M,
    bookings_of_either_side,
    bookings_of_passenger,
    bookings_visible_to,
    carpool_memberships,
    departure_cards,
    rating_given,
    rating_summary,
    saved_searches_of,
    search_result_cards,
    seat_cards,
    trips_of_driver,
)
from backend.community.models import Association, Membership, MembershipState, Village
from backend.community.selectors import PeopleActable, people_actable_by
from backend.errors import ApplicationError
from backend.notifications.selectors import sms_number_for
from dispatch import carpool as carpool_dispatch
from dispatch.carpool_matching import Search, departures_matching, search_check
from webapp.forms.carpool import (
    WEEKDAYS,
    AlertForm,
    BookForm,
    CancelForm,
    DepartureMoveForm,
    RatingForm,
    ReportForm,
    SearchForm,
    TripChangeForm,
    TripForm,
    search_initial,
)
from webapp.forms.rides import map_settings
from webapp.views.blank_forms import blank_form_fields
from webapp.views.common import page, people_to_book_for, show_error
from webapp.views.limits import booking_limited, booking_made

SEARCH_FIELDS = {
    "pickup": "pickup_address",
    "dropoff": "dropoff_address",
    "window_end": "latest",
    "window_start": "earliest",
    "seats": "seats",
}
TRIP_FIELDS = {
    "origin": "origin_address",
    "destination": "destination_address",
    "departure": "departure",
    "rrule": "weekdays",
    "price_ore": "price_kr",
    "seats": "seats",
    "association": "association",
}
# Longer than any search's query string (two addresses of at most 300 characters).
MAX_SEARCH_QUERY = 4000
ALERT_FIELDS = {"dropoff": "dropoff_address", "latest": "latest", "until": "until"}
# Bookings of departures that left more than this long ago are "earlier".
RECENT = dt.timedelta(hours=12)


def _passengers(user: User) -> list[tuple[int, str]]:
    """Who `user` may book a seat for: themself and the people they book for who carpool
    (active members of an association)."""
    return people_to_book_for(user, active_members_only=True)


def _not_member(request: HttpRequest) -> HttpResponse:
    return page(request, "webapp/carpool/not_member.html", status=403)


def _kronor(ore: int) -> str:
    return f"{ore / 100:.0f}"


# --- Find and book a seat ---------------------------------------------------------------------


def _results(form: SearchForm, searcher: User) -> list[dict]:
    pickup, pickup_address = form.place("pickup")
    dropoff, dropoff_address = form.place("dropoff")
    start, end = form.window()
    seats = form.cleaned_data["seats"]
    search = Search(
        pickup=pickup,
        dropoff=dropoff,
        window_start=start,
        window_end=end,
        seats=seats,
        searcher_id=searcher.pk,
    )
    search_check(search)
    found = departures_matching(search)
    cards = search_result_cards(departures=[place.occurrence_id for place in found])
    rows = []
    for place in found:
        card = cards[place.occurrence_id]
        rows.append(
            {
                "card": card,
                "placement": place,
                "price_kr": _kronor(
                    price_for_part(
                        price_ore=card["price_ore"],
                        shared_fraction=place.shared_fraction,
                        seats=seats,
                    )
                ),
                "book": {
                    "departure": card["departure"],
                    "pickup_address": pickup_address,
                    "pickup_lon": pickup.x,
                    "pickup_lat": pickup.y,
                    "dropoff_address": dropoff_address,
                    "dropoff_lon": dropoff.x,
                    "dropoff_lat": dropoff.y,
                    "seats": seats,
                },
            }
        )
    return rows


def _search_url(query: str) -> str:
    """The search page with the search a booking came from (`query`, the search's query
    string as the booking form carried it), so a refused booking shows the same results
    again. Only the search form's fields are kept: the address never leads elsewhere."""
    asked = QueryDict(query[:MAX_SEARCH_QUERY])
    kept = {name: asked[name] for name in SearchForm.base_fields if name in asked}
    url = reverse("webapp:carpool")
    return f"{url}?{urlencode(kept)}" if kept else url


@login_required
@require_GET
def find(request: HttpRequest) -> HttpResponse:
    """The search form and, once sent, the departures that fit, best first."""
    passengers = _passengers(request.user)
    if not passengers:
        return _not_member(request)
    searched = "pickup_address" in request.GET
    initial = search_initial()
    form = SearchForm(request.GET if searched else None, initial=initial)
    results = None
    if searched and form.is_valid():
        try:
            results = _results(form, request.user)
        except ApplicationError as error:
            show_error(request, error, form, fields=SEARCH_FIELDS)
    for row in results or []:
        row["form"] = BookForm(
            initial=row["book"] | {"search": request.GET.urlencode()},
            passengers=passengers,
            me=request.user.pk,
        )
    return page(
        request,
        "webapp/carpool/find.html",
        {
            "form": form,
            "blank_fields": None
            if searched
            else blank_form_fields("webapp/carpool/search_fields.html", SearchForm, initial),
            "results": results,
            "map": map_settings(),
        },
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
@booking_limited
def book(request: HttpRequest) -> HttpResponse:
    passengers = _passengers(request.user)
    form = BookForm(request.POST, passengers=passengers, me=request.user.pk)
    # A refused booking goes back to the search it came from, with the reason.
    back = _search_url(request.POST.get("search", ""))
    if not form.is_valid():
        messages.error(request, _("The booking could not be read. Search again and book."))
        return redirect(back)
    values = form.cleaned_data
    passenger = get_object_or_404(people_actable_by(actor=request.user), pk=values["passenger"])
    occurrence = get_object_or_404(
        TripOccurrence.objects.select_related("trip__driver"), pk=values["departure"]
    )
    try:
        booking = carpool.booking_request(
            actor=request.user,
            passenger=passenger,
            occurrence=occurrence,
            pickup=form.point("pickup"),
            pickup_address=values["pickup_address"],
            dropoff=form.point("dropoff"),
            dropoff_address=values["dropoff_address"],
            seats=values["seats"],
            message=values["message"],
        )
    except ApplicationError as error:
        show_error(request, error)
        return redirect(back)
    booking_made(request)
    if booking.state == BookingState.CONFIRMED:
        messages.success(request, _("Your seat is booked."))
    else:
        messages.success(request, _("Your request is sent. The driver answers soon."))
    return redirect("webapp:carpool-bookings")


# --- My bookings ------------------------------------------------------------------------------


def booking_rows(bookings: list[Booking], ratings: dict) -> list[dict]:
    """What a passenger (or whoever booked) sees of each booking: the driver's contact
    and the trip's addresses only once confirmed."""
    now = timezone.now()
    rows = []
    for booking in bookings:
        occurrence = booking.occurrence
        confirmed = booking.state == BookingState.CONFIRMED
        driver = occurrence.trip.driver
        rows.append(
            {
                "booking": booking,
                "confirmed": confirmed,
                "driver_name": driver.full_name if confirmed else driver.get_short_name(),
                "driver_phone": sms_number_for(driver) if confirmed else "",
                "rating": ratings.get(driver.pk, (None, 0)),
                "price_kr": _kronor(booking.price_ore),
                "can_cancel": booking.state in ACTIVE_BOOKING
                and occurrence.status in OPEN_OCCURRENCE
                and occurrence.departure_at > now,
                "taken_place": booking.taken_place,
            }
        )
    return rows


@login_required
@require_GET
def bookings(request: HttpRequest) -> HttpResponse:
    mine = bookings_of_passenger(actor=request.user).select_related(
        "occurrence__trip__driver", "passenger"
    )
    since = timezone.now() - RECENT
    upcoming = list(
        mine.filter(occurrence__departure_at__gte=since).order_by("occurrence__departure_at", "pk")[
            :50
        ]
    )
    earlier = list(mine.filter(occurrence__departure_at__lt=since)[:20])
    ratings = rating_summary(users=list({b.occurrence.trip.driver_id for b in upcoming + earlier}))
    return page(
        request,
        "webapp/carpool/bookings.html",
        {
            "upcoming": booking_rows(upcoming, ratings),
            "earlier": booking_rows(earlier, ratings),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def booking_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """The passenger's side cancels (the driver declines or cancels the departure on the
    trips page). GET asks first, with the reason to give, so a mis-tap on the list
    cancels nothing; the POST of that page (or of the apps) cancels."""
    booking = get_object_or_404(
        bookings_of_passenger(actor=request.user).select_related("occurrence__trip", "passenger"),
        pk=pk,
    )
    if request.method == "GET":
        if booking.state not in ACTIVE_BOOKING:
            messages.error(request, _("This booking can no longer be cancelled."))
            return redirect("webapp:carpool-bookings")
        return page(
            request, "webapp/carpool/booking_cancel.html", {"b": booking, "form": CancelForm()}
        )
    form = CancelForm(request.POST)
    if form.is_valid():
        try:
            carpool.booking_cancel(
                booking=booking, actor=request.user, reason=form.cleaned_data["reason"]
            )
        except ApplicationError as error:
            show_error(request, error)
        else:
            messages.success(request, _("Your booking is cancelled. The driver is told."))
    return redirect("webapp:carpool-bookings")


# --- After the trip ---------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def after_trip(request: HttpRequest, pk: int) -> HttpResponse:
    """Either side of a booking, once the trip has taken place, rates the other once; either
    side may report a problem to the coordinators of the driver's association at any time."""
    booking = get_object_or_404(
        bookings_of_either_side(user=request.user).select_related(
            "occurrence__trip__driver", "passenger"
        ),
        pk=pk,
    )
    rating_form, report_form = RatingForm(), ReportForm()
    if request.method == "POST" and request.POST.get("what") == "report":
        report_form = ReportForm(request.POST)
        if report_form.is_valid():
            try:
                carpool.report_create(
                    booking=booking, actor=request.user, text=report_form.cleaned_data["text"]
                )
            except ApplicationError as error:
                show_error(request, error)
            else:
                messages.success(
                    request, _("Thank you. The coordinators of the association have been told.")
                )
                return redirect("webapp:carpool-after-trip", pk)
    elif request.method == "POST":
        rating_form = RatingForm(request.POST)
        if rating_form.is_valid():
            try:
                carpool.rating_create(
                    booking=booking, actor=request.user, **rating_form.cleaned_data
                )
            except ApplicationError as error:
                show_error(request, error)
            else:
                messages.success(request, _("Thank you for your rating."))
                return redirect("webapp:carpool-after-trip", pk)
    occurrence = booking.occurrence
    driving = occurrence.trip.driver_id == request.user.pk
    other = booking.passenger if driving else occurrence.trip.driver
    confirmed = booking.state == BookingState.CONFIRMED
    refused = rating_form.is_bound or report_form.is_bound  # a saved form redirected
    return page(
        request,
        "webapp/carpool/after_trip.html",
        {
            "booking": booking,
            "other_name": other.full_name if confirmed else other.get_short_name(),
            "taken_place": booking.taken_place,
            "given": rating_given(rater=request.user, booking=booking),
            "rating_form": rating_form,
            "report_form": report_form,
        },
        status=400 if refused else 200,
    )


# --- Offering trips ---------------------------------------------------------------------------


def _my_associations(user: User):
    return Association.objects.filter(
        pk__in=carpool_memberships(user=user).values("association_id")
    ).order_by("name")


@login_required
@require_http_methods(["GET", "POST"])
def offer(request: HttpRequest) -> HttpResponse:
    associations = _my_associations(request.user)
    if not associations.exists():
        return _not_member(request)
    form = TripForm(
        request.POST if request.method == "POST" else None,
        associations=associations,
        initial={"association": associations.first()},
    )
    if request.method == "POST" and form.is_valid():
        values = form.cleaned_data
        price = values["price_kr"]
        try:
            origin, origin_address = form.place("origin")
            destination, destination_address = form.place("destination")
            carpool_dispatch.trip_publish(
                driver=request.user,
                association=values["association"],
                origin=origin,
                origin_address=origin_address,
                destination=destination,
                destination_address=destination_address,
                first_departure=values["departure"],
                rrule=form.rrule(),
                seats=values["seats"],
                price_ore=None if price is None else price * 100,
                instant_booking=values["instant_booking"],
                pets_allowed=values["pets_allowed"],
                smoking_allowed=values["smoking_allowed"],
                luggage=values["luggage"],
                note=values["note"],
            )
        except ApplicationError as error:
            show_error(request, error, form, fields=TRIP_FIELDS)
        else:
            messages.success(request, _("Your trip is published. We tell you when someone books."))
            return redirect("webapp:carpool-trips")
    return page(
        request,
        "webapp/carpool/offer.html",
        {"form": form, "map": map_settings(), "many_associations": associations.count() > 1},
        status=400 if form.errors else 200,
    )


RULES = ("seats", "instant_booking", "pets_allowed", "smoking_allowed", "luggage", "note")


@login_required
@require_http_methods(["GET", "POST"])
def trip_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """The driver changes seats, price and the rules on board of a trip still running;
    where it goes is a new trip (cancel this one and offer it again), and one departure's
    time changes on its own page (`departure_move`)."""
    trip = get_object_or_404(
        trips_of_driver(driver=request.user).filter(cancelled_at__isnull=True), pk=pk
    )
    initial = {name: getattr(trip, name) for name in RULES} | {"price_kr": trip.price_ore // 100}
    form = TripChangeForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        values = form.cleaned_data
        changes = {name: values[name] for name in RULES if values[name] != initial[name]}
        if values["price_kr"] is not None and values["price_kr"] != initial["price_kr"]:
            changes["price_ore"] = values["price_kr"] * 100
        try:
            carpool.trip_update(trip=trip, actor=request.user, **changes)
        except ApplicationError as error:
            show_error(request, error, form, fields={"price_ore": "price_kr", "seats": "seats"})
        else:
            messages.success(request, _("Your trip is changed."))
            return redirect("webapp:carpool-trips")
    return page(
        request,
        "webapp/carpool/trip_edit.html",
        {"trip": trip, "form": form},
        status=400 if form.errors else 200,
    )


class _Metres(Func):
    """ST_Distance of two geography points (metres); Django's Distance cannot take an
    OuterRef."""

    function = "ST_Distance"
    output_field = FloatField()


def _nearest_village(point: str) -> Subquery:
    """The name of the village nearest a booking's point within 10 km, as a subquery:
    one query for all bookings of the page."""
    return Subquery(
        Village.objects.annotate(distance=_Metres("location", OuterRef(point)))
        .filter(distance__lte=VILLAGE_RADIUS_M)
        .order_by("distance")
        .values("name")[:1]
    )


def _area(booking: Booking, place: str) -> str:
    """Where a passenger not yet confirmed gets on or off, as the driver may see it: the
    village, else about where (like backend.carpool.services.place_label)."""
    village = getattr(booking, f"{place}_village")
    if village:
        return _("near %(village)s") % {"village": village}
    point = getattr(booking, place)
    return f"{point.y:.2f}, {point.x:.2f}"


def _request_rows(occurrence: TripOccurrence, ratings: dict) -> list[dict]:
    """The driver's view of the bookings of a departure: exact places and contact only
    for confirmed seats; a request shows the passenger's first name and the area."""
    rows = []
    for booking in occurrence.all_bookings:
        confirmed = booking.state == BookingState.CONFIRMED
        passenger = booking.passenger
        rows.append(
            {
                "booking": booking,
                "confirmed": confirmed,
                "requested": booking.state == BookingState.REQUESTED,
                "name": passenger.full_name if confirmed else passenger.get_short_name(),
                "phone": sms_number_for(passenger) if confirmed else "",
                "pickup": booking.pickup_address if confirmed else _area(booking, "pickup"),
                "dropoff": booking.dropoff_address if confirmed else _area(booking, "dropoff"),
                "rating": ratings.get(passenger.pk, (None, 0)),
                "price_kr": _kronor(booking.price_ore),
                "taken_place": booking.taken_place,
            }
        )
    return rows


@login_required
@require_GET
def trips(request: HttpRequest) -> HttpResponse:
    """My trips as a driver: each trip with its departures still to come, and who asked
    for and who holds a seat on each."""
    now = timezone.now()
    since = now - RECENT
    departures = TripOccurrence.objects.filter(departure_at__gte=since).order_by("departure_at")
    bookings = (
        Booking.objects.select_related("passenger")
        .annotate(
            pickup_village=_nearest_village("pickup"), dropoff_village=_nearest_village("dropoff")
        )
        .order_by("pickup_at", "pk")
    )
    mine = list(
        trips_of_driver(driver=request.user)
        .filter(occurrences__departure_at__gte=since)
        .distinct()
        .prefetch_related(
            Prefetch(
                "occurrences",
                queryset=departures.prefetch_related(
                    Prefetch("bookings", queryset=bookings, to_attr="all_bookings")
                ),
                to_attr="coming",
            )
        )[:50]
    )
    passengers = {b.passenger_id for t in mine for o in t.coming for b in o.all_bookings}
    ratings = rating_summary(users=list(passengers))
    rows = [
        {
            "trip": trip,
            "price_kr": _kronor(trip.price_ore),
            "departures": [
                {
                    "occurrence": occurrence,
                    "open": occurrence.status in OPEN_OCCURRENCE,
                    "movable": occurrence.status in OPEN_OCCURRENCE
                    and occurrence.departure_at > now,
                    "bookings": _request_rows(occurrence, ratings),
                }
                for occurrence in trip.coming[:8]
            ],
        }
        for trip in mine
    ]
    return page(
        request,
        "webapp/carpool/trips.html",
        {"trips": rows, "cancel_form": CancelForm(), "weekdays": dict(WEEKDAYS)},
    )


def _driver_booking(request: HttpRequest, pk: int) -> Booking:
    return get_object_or_404(
        bookings_visible_to(user=request.user).select_related(
            "occurrence__trip__driver", "passenger", "booked_by"
        ),
        pk=pk,
        occurrence__trip__driver=request.user,
    )


@login_required
@require_POST
def request_answer(request: HttpRequest, pk: int, answer: str) -> HttpResponse:
    booking = _driver_booking(request, pk)
    form = CancelForm(request.POST)
    if answer not in ("accept", "decline", "cancel") or not form.is_valid():
        messages.error(request, _("Choose accept, decline or cancel."))
        return redirect("webapp:carpool-trips")
    reason = form.cleaned_data["reason"]
    try:
        if answer == "accept":
            carpool.booking_accept(booking=booking, actor=request.user)
            messages.success(request, _("The seat is confirmed. The passenger is told."))
        elif answer == "decline":
            carpool.booking_decline(booking=booking, actor=request.user, reason=reason)
            messages.success(request, _("The request is declined. The passenger is told."))
        else:
            carpool.booking_cancel(booking=booking, actor=request.user, reason=reason)
            messages.success(request, _("The booking is cancelled. The passenger is told."))
    except ApplicationError as error:
        show_error(request, error)
    return redirect("webapp:carpool-trips")


@login_required
@require_POST
def departure_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    occurrence = get_object_or_404(
        TripOccurrence.objects.select_related("trip"), pk=pk, trip__driver=request.user
    )
    form = CancelForm(request.POST)
    if form.is_valid():
        try:
            carpool.occurrence_cancel(
                occurrence=occurrence, actor=request.user, reason=form.cleaned_data["reason"]
            )
        except ApplicationError as error:
            show_error(request, error)
        else:
            messages.success(request, _("The departure is cancelled. Its passengers are told."))
    return redirect("webapp:carpool-trips")


@login_required
@require_http_methods(["GET", "POST"])
def departure_move(request: HttpRequest, pk: int) -> HttpResponse:
    """The driver gives one departure still to come a new time (the route stays): the
    pickup times of its bookings move with it and its passengers are told."""
    occurrence = get_object_or_404(
        TripOccurrence.objects.select_related("trip"), pk=pk, trip__driver=request.user
    )
    if occurrence.status not in OPEN_OCCURRENCE or occurrence.departure_at <= timezone.now():
        messages.error(request, _("This departure has already left or been cancelled."))
        return redirect("webapp:carpool-trips")
    current = timezone.localtime(occurrence.departure_at)
    form = DepartureMoveForm(
        request.POST if request.method == "POST" else None,
        initial={"day": current.date(), "time": current.time().replace(second=0, microsecond=0)},
    )
    if request.method == "POST" and form.is_valid():
        try:
            moved = carpool_dispatch.occurrence_move(
                occurrence=occurrence, actor=request.user, departure_at=form.departure_at()
            )
        except ApplicationError as error:
            show_error(request, error, form, fields={"departure_at": "time"})
        else:
            messages.success(request, _moved_message(occurrence, moved))
            return redirect("webapp:carpool-trips")
    passengers = occurrence.bookings.filter(state__in=ACTIVE_BOOKING).count()
    return page(
        request,
        "webapp/carpool/departure_move.html",
        {
            "occurrence": occurrence,
            "trip": occurrence.trip,
            "form": form,
            "passengers": passengers,
            "max_hours": round(DEPARTURE_MOVE_MAX.total_seconds() / 3600),
        },
        status=400 if form.errors else 200,
    )


def _moved_message(before: TripOccurrence, after: TripOccurrence) -> str:
    if after.departure_at == before.departure_at:
        return _("The departure already leaves at that time. Nothing is changed.")
    when = carpool.local_time(after.departure_at)
    told = after.bookings.filter(state__in=ACTIVE_BOOKING).count()
    if not told:
        return _("The departure now leaves %(when)s. Nobody had booked a seat on it.") % {
            "when": when
        }
    return ngettext(
        "The departure now leaves %(when)s. %(count)s passenger is told the new time.",
        "The departure now leaves %(when)s. %(count)s passengers are told the new time.",
        told,
    ) % {"when": when, "count": told}


@login_required
@require_POST
def trip_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    trip = get_object_or_404(trips_of_driver(driver=request.user), pk=pk)
    form = CancelForm(request.POST)
    if form.is_valid():
        try:
            carpool.trip_cancel(trip=trip, actor=request.user, reason=form.cleaned_data["reason"])
        except ApplicationError as error:
            show_error(request, error)
        else:
            messages.success(request, _("The trip is cancelled. Its passengers are told."))
    return redirect("webapp:carpool-trips")


# --- Ride alerts ------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def alerts(request: HttpRequest) -> HttpResponse:
    if not Membership.objects.filter(user=request.user, state=MembershipState.ACTIVE).exists():
        return _not_member(request)
    form = AlertForm(
        request.POST if request.method == "POST" else None,
        initial={"earliest": dt.time(7, 0), "latest": dt.time(9, 0), "seats": 1},
    )
    if request.method == "POST" and form.is_valid():
        values = form.cleaned_data
        try:
            pickup, pickup_address = form.place("pickup")
            dropoff, dropoff_address = form.place("dropoff")
            carpool.saved_search_create(
                owner=request.user,
                pickup=pickup,
                pickup_address=pickup_address,
                dropoff=dropoff,
                dropoff_address=dropoff_address,
                earliest=values["earliest"],
                latest=values["latest"],
                weekdays=values["weekdays"],
                until=values["until"],
                seats=values["seats"],
            )
        except ApplicationError as error:
            show_error(request, error, form, fields=ALERT_FIELDS)
        else:
            messages.success(request, _("Ride alert saved. We tell you when a trip fits."))
            return redirect("webapp:carpool-alerts")
    names = dict(WEEKDAYS)
    saved = [
        {"search": search, "days": ", ".join(str(names[d]) for d in search.weekdays)}
        for search in saved_searches_of(owner=request.user)
    ]
    return page(
        request,
        "webapp/carpool/alerts.html",
        {"form": form, "saved": saved, "map": map_settings()},
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def alert_delete(request: HttpRequest, pk: int) -> HttpResponse:
    search = get_object_or_404(saved_searches_of(owner=request.user), pk=pk)
    carpool.saved_search_delete(search=search, actor=request.user)
    messages.success(request, _("The ride alert is deleted."))
    return redirect("webapp:carpool-alerts")


def home_carpool(user: User, people: PeopleActable) -> dict:
    """For the start page: my next seats (and those of whom I book for: `people`, from
    `people_actable_scope`) and my next departures as a driver."""
    return {
        "carpool_seats": seat_cards(actor=user, people=people, limit=3),
        "carpool_departures": departure_cards(driver=user, limit=3),
    }

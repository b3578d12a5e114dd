"""A resident's volunteer rides: asking for one (for themself or someone they book for),
following it live, cancelling it."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_GET, require_http_methods

from backend.accounts.models import User
from backend.community.models import Association, MembershipState
from backend.community.selectors import (
    membership_states_of,
    people_actable_by,
    people_actable_everywhere_by,
    people_actable_scope,
)
from backend.errors import ApplicationError
from backend.geocoding import geocode_suggestions
from backend.rides.errors import RideAlreadyRequested
from backend.rides.models import (
    DRIVER_HOLDS,
    Need,
    RideEvent,
    RideRequest,
    RideState,
    TimeKind,
)
from backend.rides.places import known_places_of, known_places_seen_by
from backend.rides.selectors import (
    associations_bookable_by,
    ride_cards_of_riders,
    rider_associations,
    rides_of_rider,
)
from backend.rides.services import CANCELLABLE_STATES, RideTime, return_trip_cancellable
from dispatch.services import ride_cancel as ride_cancel_and_withdraw_offers
from dispatch.services import ride_request_submit
from webapp.forms.rides import WINDOW, CancelForm, RideRequestForm, map_settings
from webapp.views.common import page, people_to_book_for, show_error
from webapp.views.limits import booking_limited, booking_made

# The service names places and times by its own arguments; the form by its fields.
SERVICE_FIELDS = {
    "pickup": "pickup_address",
    "destination": "destination_address",
    "association": "association",
    "window_start": "window_start",
    "window_end": "window_end",
    "at": "at",
    "return_at": "return_at",
    "passengers": "passengers",
    "needs": "needs",
}
DRIVER_SHOWN = [*DRIVER_HOLDS, RideState.COMPLETED]


def _association_for(rider: User, chosen: Association | None) -> Association:
    if chosen is not None:
        return chosen
    approved = list(rider_associations(rider=rider)[:2])
    if len(approved) == 1:
        return approved[0]
    message = (
        _("Choose which association should drive %(name)s.")
        if approved
        else _(
            "%(name)s is not approved for volunteer rides yet. Call your association to be "
            "approved."
        )
    )
    raise ApplicationError(
        "association_required",
        message % {"name": rider.full_name},
        fields={"association": [_("Choose an association.")]},
    )


def places_offered(riders: list[User], *, association_id: int | None = None) -> list[dict]:
    """The known places of each of `riders` (`known_places_of`), as the booking pages
    list them (includes/known_places.html): the address, its point, whose it is and a
    label naming them when there are several."""
    offered = []
    for rider in riders:
        for place in known_places_of(rider=rider, association_id=association_id):
            label = pgettext("known place", "home") if place.is_home else ""
            if len(riders) > 1:
                label = f"{rider.full_name}: {label}" if label else rider.full_name
            offered.append(
                {
                    "rider": rider.pk,
                    "address": place.address,
                    "is_home": place.is_home,
                    "label": label,
                    "lon": place.point.x,
                    "lat": place.point.y,
                }
            )
    return offered


def home_pickup(rider: User) -> dict:
    """The form's first pickup: the rider's home, when it is on the map."""
    return {"pickup_address": rider.home_address} if rider.home_location is not None else {}


def _time(values: dict) -> RideTime:
    kind = values["time_kind"]
    if kind == WINDOW:
        return RideTime(
            kind=TimeKind.PICKUP_AT,
            window_start=values["window_start"],
            window_end=values["window_end"],
        )
    return RideTime(kind=kind, at=values["at"] if kind != TimeKind.ASAP else None)


@login_required
@require_http_methods(["GET", "POST"])
@booking_limited
def ride_new(request: HttpRequest) -> HttpResponse:
    user = request.user
    riders = people_to_book_for(user)
    form = RideRequestForm(
        request.POST if request.method == "POST" else None,
        riders=riders,
        associations=associations_bookable_by(actor=user),
        initial={"rider": user.pk, **home_pickup(user)},
    )
    if request.method == "POST" and form.is_valid():
        values = form.cleaned_data
        rider = get_object_or_404(people_actable_by(actor=user), pk=values["rider"])
        try:
            association = _association_for(rider, values["association"])
            known = known_places_seen_by(actor=user, rider=rider, association_id=association.pk)
            pickup, pickup_address = form.place("pickup", known)
            destination, destination_address = form.place("destination", known)
            ride = ride_request_submit(
                requested_by=user,
                rider=rider,
                association=association,
                pickup=pickup,
                pickup_address=pickup_address,
                destination=destination,
                destination_address=destination_address,
                when=_time(values),
                passengers=values["passengers"],
                needs=values["needs"],
                note=values["note"],
                return_at=values["return_at"],
            )
        except RideAlreadyRequested as error:
            # A second tap on the button, or the ride booked twice: show the one there is.
            messages.info(request, error.message)
            return redirect("webapp:ride", pk=error.ride_id)
        except ApplicationError as error:
            show_error(request, error, form, fields=SERVICE_FIELDS)
        else:
            booking_made(request)
            messages.success(request, _("Your ride is booked. We are looking for a driver."))
            return redirect("webapp:ride", pk=ride.pk)
    return page(
        request,
        "webapp/rides/new.html",
        {
            "form": form,
            "map": map_settings(),
            # The places of the people `user` acts for everywhere (themself and those
            # they are proxy for), not of every member of an association they coordinate.
            "places": places_offered(
                list(people_actable_everywhere_by(actor=user).order_by("full_name"))
            ),
            # Without an active membership of their own: where to ask to join.
            "not_member": MembershipState.ACTIVE not in membership_states_of(user=user),
        },
        status=400 if form.errors else 200,
    )


@login_required
@require_GET
def ride_list(request: HttpRequest) -> HttpResponse:
    people = people_actable_scope(actor=request.user)
    return page(
        request,
        "webapp/rides/list.html",
        {
            "upcoming": ride_cards_of_riders(people=people, closed=False, limit=50),
            "past": ride_cards_of_riders(people=people, closed=True, limit=20),
        },
    )


def _followed(request: HttpRequest, pk: int) -> RideRequest:
    """A ride of someone this person books for (themself included); 404 otherwise."""
    return get_object_or_404(
        rides_of_rider(actor=request.user).select_related(
            "association",
            "village",
            "requested_by",
            "driver__membership__user",
            "return_of",
            "return_ride",
        ),
        pk=pk,
    )


@login_required
@require_GET
def ride_detail(request: HttpRequest, pk: int) -> HttpResponse:
    ride = _followed(request, pk)
    driver = ride.driver if ride.state in DRIVER_SHOWN else None
    live = ride.state in (RideState.EN_ROUTE, RideState.PICKED_UP)
    position = driver.position if driver is not None and live and driver.on_duty else None
    can_cancel = ride.state in CANCELLABLE_STATES
    return page(
        request,
        "webapp/rides/detail.html",
        {
            "ride": ride,
            "driver": driver,
            "can_cancel": can_cancel,
            "needs": [Need(need).label for need in ride.needs],
            "return_trip": getattr(ride, "return_ride", None),
            "distance_km": round(ride.distance_m / 1000, 1),
            "events": [
                (event.at, RideState(event.to_state).label)
                for event in RideEvent.objects.filter(ride=ride)
            ],
            "map": map_settings(),
            "map_points": {
                "pickup": [ride.pickup.x, ride.pickup.y],
                "destination": [ride.destination.x, ride.destination.y],
                "driver": [position.x, position.y] if position is not None else None,
                "ride": ride.pk,
            },
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def ride_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks first ("Cancel your ride on Tuesday 3 December at 10:00 to …?"), so a
    mis-tap on the ride page cancels nothing; the POST of that page (or of the apps)
    cancels."""
    ride = _followed(request, pk)
    if request.method == "GET":
        if ride.state not in CANCELLABLE_STATES:
            messages.error(request, _("This ride can no longer be cancelled."))
            return redirect("webapp:ride", pk=ride.pk)
        return page(
            request,
            "webapp/rides/cancel.html",
            {
                "ride": ride,
                "when": ride.planned_pickup or ride.earliest_pickup,
                "form": CancelForm(return_trip=return_trip_cancellable(ride=ride)),
            },
        )
    back = return_trip_cancellable(ride=ride)
    form = CancelForm(request.POST, return_trip=back)
    if form.is_valid():
        with_return = form.cleaned_data.get("with_return", False)
        try:
            ride_cancel_and_withdraw_offers(
                ride=ride,
                actor=request.user,
                reason=form.cleaned_data["reason"],
                with_return=with_return,
            )
        except ApplicationError as error:
            show_error(request, error)
        else:
            if with_return:
                messages.success(request, _("The ride and its return trip are cancelled."))
            elif back is not None:
                messages.success(
                    request,
                    _("The ride is cancelled. Its return trip is still booked."),
                )
            else:
                messages.success(request, _("The ride is cancelled."))
    return redirect("webapp:ride", pk=ride.pk)


@login_required
@require_GET
def places(request: HttpRequest) -> JsonResponse:
    """Address suggestions while typing (the page's script asks as the person types)."""
    found = geocode_suggestions(request.GET.get("q", ""))
    return JsonResponse(
        {"places": [{"name": name, "lon": point.x, "lat": point.y} for name, point in found]}
    )

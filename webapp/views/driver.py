"""Driver mode: on duty (sharing my position), offers to answer, the rides I drive with
their status buttons, my weekly availability, my car and area, and my kilometres."""

from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.gis.geos import Point
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from backend.community.models import Membership
from backend.errors import ApplicationError, ErrorKind
from backend.geocoding import geocode, normalise_query
from backend.rides import services as rides
from backend.rides.drivers import (
    Slot,
    availability_exception_add,
    availability_exception_remove,
    availability_set,
    driver_position_update,
    driver_profile_save,
    driver_set_duty,
)
from backend.rides.models import (
    DRIVER_HOLDS,
    OPEN_STATES,
    AvailabilityException,
    DriverProfile,
    Need,
    Offer,
    OfferState,
    RideRequest,
    RideState,
)
from backend.rides.selectors import (
    driver_associations_of,
    driver_km_by_month,
    driver_logbook,
    driver_memberships_to_set_up,
    driver_profiles_of,
    km_in_tenths,
)
from dispatch import offers
from dispatch.offers import offer_payload
from dispatch.services import ride_driver_withdraw
from webapp.forms.driver import (
    WEEKDAYS,
    CarAndAreaForm,
    CompleteForm,
    DutyForm,
    ExceptionForm,
    PositionForm,
    ReasonForm,
    SlotFormSet,
)
from webapp.forms.rides import map_settings
from webapp.views.common import page, show_error

RIDE_ACTIONS = {"start", "picked-up", "complete", "no-show", "withdraw"}


# The association someone who drives for several last chose, kept in their session: the
# menu's links to the other driver pages carry no choice, and should not switch them
# back to the first association by name.
CHOSEN_ASSOCIATION = "driver_association"


def _chosen_association(request: HttpRequest) -> int | None:
    """`?association=` (or the form's field) when given, remembered for the next driver
    pages; else None."""
    chosen = request.POST.get("association") or request.GET.get("association") or ""
    if not (chosen.isascii() and chosen.isdigit()):
        return None
    if request.session.get(CHOSEN_ASSOCIATION) != int(chosen):
        request.session[CHOSEN_ASSOCIATION] = int(chosen)
    return int(chosen)


def _setup_url(association_id: int) -> str:
    """Driver mode's first setup for the association (its car-and-area page)."""
    return f"{reverse('webapp:driver-profile')}?association={association_id}"


def _driving_for(request: HttpRequest) -> DriverProfile | Membership | None:
    """The driver profile the page is for (of `?association=` when given, else of the
    association last chosen, else the first by the association's name); else the
    membership with the driver role whose profile is not set up yet; else None (not a
    driver). A remembered choice that leads nowhere (no longer a driver there) is
    forgotten."""
    chosen = _chosen_association(request)
    if chosen is not None:
        return _driving_for_in(request, chosen)
    remembered = request.session.get(CHOSEN_ASSOCIATION)
    if isinstance(remembered, int):
        found = _driving_for_in(request, remembered)
        if found is not None:
            return found
        del request.session[CHOSEN_ASSOCIATION]
    return _driving_for_in(request, None)


def _driving_for_in(request: HttpRequest, chosen: int | None) -> DriverProfile | Membership | None:
    profiles = driver_profiles_of(user=request.user).select_related("membership__user")
    if chosen is not None:
        profiles = profiles.filter(membership__association_id=chosen)
    driver = profiles.order_by("membership__association__name").first()
    if driver is not None:
        return driver
    to_set_up = driver_memberships_to_set_up(user=request.user)
    if chosen is not None:
        to_set_up = to_set_up.filter(association_id=chosen)
    return to_set_up.order_by("association__name").first()


def _not_driver(request: HttpRequest) -> HttpResponse:
    return page(request, "webapp/driver/not_driver.html", status=403)


def driver_required(view):
    """Only for someone with an active driver profile; `request.driver` is it. A person
    who drives for several associations picks one with `?association=`. A member with
    the driver role who has no profile yet is sent to its first setup."""

    @wraps(view)
    @login_required
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        driver = _driving_for(request)
        if driver is None:
            return _not_driver(request)
        if isinstance(driver, Membership):
            return redirect(_setup_url(driver.association_id))
        request.driver = driver
        return view(request, *args, **kwargs)

    return wrapper


def _pending_offers(driver: DriverProfile) -> list[dict]:
    pending = (
        Offer.objects.filter(driver=driver, state=OfferState.PENDING, ride__state__in=OPEN_STATES)
        .select_related("ride__village")
        .order_by("pickup_at", "pk")
    )
    return [
        offer_payload(offer) | {"pickup_at": offer.pickup_at, "needs": _needs(offer.ride.needs)}
        for offer in pending
    ]


def _needs(codes: list[str]) -> str:
    return ", ".join(str(Need(code).label) for code in codes)


def _held(driver: DriverProfile):
    return RideRequest.objects.filter(driver=driver, state__in=DRIVER_HOLDS).select_related(
        "rider", "village"
    )


@driver_required
@require_GET
def driver_home(request: HttpRequest) -> HttpResponse:
    """Offers and rides of the association chosen (`?association=`). Someone who drives
    for several associations chooses among them here; one made a driver in another
    association too finds its first setup here, not only through the message that told
    them."""
    driver = request.driver
    associations = driver_associations_of(user=request.user)
    chosen = driver.membership.association_id
    for association in associations:
        association["url"] = (
            f"{reverse('webapp:driver')}?association={association['id']}"
            if association["set_up"]
            else _setup_url(association["id"])
        )
        association["chosen"] = association["id"] == chosen
    return page(
        request,
        "webapp/driver/home.html",
        {
            "driver": driver,
            "offers": _pending_offers(driver),
            "rides": _held(driver).order_by("planned_pickup"),
            "associations": associations if len(associations) > 1 else [],
            "to_set_up": [a for a in associations if not a["set_up"]],
        },
    )


@driver_required
@require_POST
def duty(request: HttpRequest) -> HttpResponse:
    form = DutyForm(request.POST)
    if form.is_valid():
        on = form.cleaned_data["on_duty"]
        driver_set_duty(actor=request.user, driver=request.driver, on_duty=on)
        messages.success(
            request,
            _("You are on duty. Your position is shared with the passengers you drive.")
            if on
            else _("You are off duty. Your position is no longer shared."),
        )
    return redirect("webapp:driver")


@driver_required
@require_POST
def position(request: HttpRequest) -> JsonResponse:
    """The phone's position while on duty (sent by the page's script)."""
    form = PositionForm(request.POST)
    if not form.is_valid():
        return JsonResponse(
            {
                "error": {
                    "code": "invalid",
                    "message": _("Give lon and lat."),
                    "fields": form.errors,
                }
            },
            status=400,
        )
    point = Point(form.cleaned_data["lon"], form.cleaned_data["lat"], srid=4326)
    try:
        sent = driver_position_update(actor=request.user, driver=request.driver, point=point)
    except ApplicationError as error:
        return JsonResponse(
            {"error": {"code": error.code, "message": str(error.message)}}, status=409
        )
    return JsonResponse({"sent_to": sent})


@driver_required
@require_POST
def offer_answer(request: HttpRequest, pk: int, answer: str) -> HttpResponse:
    if answer not in ("accept", "decline"):
        raise Http404
    try:
        if answer == "accept":
            ride = offers.offer_accept(offer_id=pk, actor=request.user)
        else:
            offers.offer_decline(offer_id=pk, actor=request.user)
    except ApplicationError as error:
        show_error(request, error)
        return redirect("webapp:driver")
    if answer == "accept":
        messages.success(request, _("The ride is yours. Thank you!"))
        return redirect("webapp:driver-ride", pk=ride.pk)
    messages.success(request, _("You said no to this ride."))
    return redirect("webapp:driver")


def _my_ride(request: HttpRequest, pk: int) -> RideRequest:
    """A ride I hold as driver; 404 for anything else (also rides I only was offered)."""
    return get_object_or_404(_held(request.driver), pk=pk)


@driver_required
@require_GET
def driver_ride(request: HttpRequest, pk: int) -> HttpResponse:
    return _ride_page(request, _my_ride(request, pk))


def _ride_page(
    request: HttpRequest,
    ride: RideRequest,
    *,
    reason_form: ReasonForm | None = None,
    complete_form: CompleteForm | None = None,
    status: int = 200,
) -> HttpResponse:
    return page(
        request,
        "webapp/driver/ride.html",
        {
            "ride": ride,
            "needs": _needs(ride.needs),
            "complete_form": complete_form or CompleteForm(),
            # What the kilometres can be without a coordinator's approval, shown by the
            # form that asks for them.
            "most_km": (
                rides.driven_m_max(ride) // 1000 if ride.state == RideState.PICKED_UP else None
            ),
            "reason_form": reason_form or ReasonForm(),
            "map": map_settings(),
            "map_points": {
                "pickup": [ride.pickup.x, ride.pickup.y],
                "destination": [ride.destination.x, ride.destination.y],
                "driver": None,
                "ride": ride.pk,
            },
        },
        status=status,
    )


@driver_required
@require_POST
def driver_ride_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    if action not in RIDE_ACTIONS:
        raise Http404
    ride = _my_ride(request, pk)
    user = request.user
    try:
        if action == "start":
            rides.ride_start(ride=ride, actor=user)
            messages.success(request, _("The passenger sees that you are on the way."))
        elif action == "picked-up":
            rides.ride_pick_up(ride=ride, actor=user)
            messages.success(request, _("Have a good trip!"))
        elif action == "complete":
            return _complete(request, ride)
        elif action in ("no-show", "withdraw"):
            form = ReasonForm(request.POST)
            if not form.is_valid():
                if action == "withdraw":
                    return _ride_page(request, ride, reason_form=form, status=400)
                # The no-show button's reason is a hidden field: say it at the top.
                messages.error(request, form.errors["reason"][0])
                return _ride_page(request, ride, status=400)
            reason = form.cleaned_data["reason"].strip()
            if action == "no-show":
                rides.ride_no_show(ride=ride, actor=user, reason=reason)
                messages.success(request, _("Noted: the passenger did not come."))
            else:
                ride_driver_withdraw(ride=ride, actor=user, reason=reason)
                messages.success(request, _("The ride goes back to be offered to others."))
            return redirect("webapp:driver")
    except ApplicationError as error:
        show_error(request, error)
    return redirect("webapp:driver-ride", pk=ride.pk)


def _complete(request: HttpRequest, ride: RideRequest) -> HttpResponse:
    """The ride is done, with the kilometres driven. Kilometres beyond what the ride can
    take need a word on why; refused, the form comes back as it was sent, with the
    reason on its field."""
    form = CompleteForm(request.POST)
    if not form.is_valid():
        if "km" in form.errors:
            messages.error(request, _("Give the kilometres as a number, like 12.5."))
        return _ride_page(request, ride, complete_form=form, status=400)
    km = form.cleaned_data["km"]
    try:
        ride = rides.ride_complete(
            ride=ride,
            actor=request.user,
            driven_m=round(km * 1000) if km is not None else None,
            explanation=form.cleaned_data["explanation"],
        )
    except ApplicationError as error:
        if error.kind != ErrorKind.INVALID:
            show_error(request, error)
            return redirect("webapp:driver-ride", pk=ride.pk)
        show_error(request, error, form, fields={"driven_m": "km"})
        return _ride_page(request, ride, complete_form=form, status=400)
    claim = getattr(ride, "mileage_claim", None)
    if claim is None:
        messages.success(request, _("Ride completed. Thank you for driving!"))
    else:
        messages.success(
            request,
            _(
                "Ride completed. Thank you for driving! It counts %(most)s km until a "
                "coordinator approves the %(km)s km you gave; you will be told."
            )
            % {
                "most": number_format(km_in_tenths(claim.allowed_m), decimal_pos=1),
                "km": number_format(km_in_tenths(claim.claimed_m), decimal_pos=1),
            },
        )
    return redirect("webapp:driver")


@driver_required
@require_http_methods(["GET", "POST"])
def availability(request: HttpRequest) -> HttpResponse:
    driver = request.driver
    initial = [{"weekday": s.weekday, "start": s.start, "end": s.end} for s in driver.slots.all()]
    formset = SlotFormSet(
        request.POST if request.method == "POST" else None, initial=initial, prefix="slots"
    )
    if request.method == "POST" and formset.is_valid():
        slots = [
            Slot(
                weekday=f.cleaned_data["weekday"],
                start=f.cleaned_data["start"],
                end=f.cleaned_data["end"],
            )
            for f in formset.forms
            if f.cleaned_data and not f.cleaned_data.get("DELETE")
        ]
        try:
            availability_set(actor=request.user, driver=driver, slots=slots)
        except ApplicationError as error:
            show_error(request, error)
        else:
            messages.success(request, _("Your weekly times are saved."))
            return redirect("webapp:driver-availability")
    return _availability_page(
        request, formset, ExceptionForm(), status=400 if request.method == "POST" else 200
    )


def _availability_page(request, formset, exception_form, *, status: int = 200) -> HttpResponse:
    driver = request.driver
    return page(
        request,
        "webapp/driver/availability.html",
        {
            "formset": formset,
            "exception_form": exception_form,
            "weekdays": dict(WEEKDAYS),
            "slots": driver.slots.all(),
            "exceptions": AvailabilityException.objects.filter(
                driver=driver, date__gte=timezone.localdate()
            ).order_by("date", "start"),
        },
        status=status,
    )


@driver_required
@require_POST
def availability_exception(request: HttpRequest) -> HttpResponse:
    driver = request.driver
    form = ExceptionForm(request.POST)
    if form.is_valid():
        values = form.cleaned_data
        try:
            availability_exception_add(
                actor=request.user,
                driver=driver,
                day=values["date"],
                kind=values["kind"],
                start=values["start"],
                end=values["end"],
            )
        except ApplicationError as error:
            show_error(request, error, form, fields={"date": "date"})
        else:
            messages.success(request, _("Saved."))
            return redirect("webapp:driver-availability")
    initial = [{"weekday": s.weekday, "start": s.start, "end": s.end} for s in driver.slots.all()]
    return _availability_page(
        request, SlotFormSet(initial=initial, prefix="slots"), form, status=400
    )


@driver_required
@require_POST
def availability_exception_delete(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        availability_exception_remove(actor=request.user, driver=request.driver, exception_id=pk)
    except ApplicationError as error:
        show_error(request, error)
    else:
        messages.success(request, _("Removed."))
    return redirect("webapp:driver-availability")


@driver_required
@require_GET
def kilometres(request: HttpRequest) -> HttpResponse:
    driver = request.driver
    return page(
        request,
        "webapp/driver/km.html",
        {
            "months": driver_km_by_month(driver=driver),
            "rate_sek": settings.MILEAGE_RATE_ORE_PER_KM / 100,
            # Dated and ordered by the day of the ride; the months above (like the
            # coordinator's mileage report and the payouts) count a ride in the month it
            # was completed, so a month once paid never grows.
            "logbook": driver_logbook(driver=driver)
            .select_related("village", "mileage_claim")
            .order_by("-planned_pickup", "-pk")[:50],
        },
    )


def _home_base(form: CarAndAreaForm, user) -> Point | None:
    """Where the driver drives from: the coordinates given; else None when the address
    is left empty (the profile keeps its home base; a new profile is refused by the
    service, which says so); the person's home when the address is theirs and their home
    has a point; else the address looked up (an ApplicationError naming the field when it
    cannot be)."""
    point = form.point("home")
    if point is not None:
        return point
    address = form.cleaned_data["home_address"]
    if not address.strip():
        return None
    if user.home_location is not None and normalise_query(address) == normalise_query(
        user.home_address
    ):
        return user.home_location
    return geocode(address, field="home_address")


@login_required
@require_http_methods(["GET", "POST"])
def car_and_area(request: HttpRequest) -> HttpResponse:
    """How far I drive to pick people up, my car (its seats and what it takes) and where
    I usually drive from. For a member made a driver who has no driver profile yet, it is
    driver mode's first setup: the same form, with where they drive from needed (their
    home address to start with), and their weekly times next. Saved by the same service
    as the app's (`PUT /api/v1/driver/profile`), which sets the limits."""
    driving_for = _driving_for(request)
    if driving_for is None:
        return _not_driver(request)
    setting_up = isinstance(driving_for, Membership)
    driver = None if setting_up else driving_for
    membership = driving_for if setting_up else driving_for.membership
    context = {"driver": driver, "membership": membership, "setting_up": setting_up}
    if request.method == "GET":
        initial = (
            CarAndAreaForm.initial_of(DriverProfile()) | {"home_address": request.user.home_address}
            if setting_up
            else CarAndAreaForm.initial_of(driver)
        )
        form = CarAndAreaForm(initial=initial, setting_up=setting_up)
        return page(request, "webapp/driver/profile.html", {"form": form, **context})
    form = CarAndAreaForm(request.POST, setting_up=setting_up)
    if form.is_valid():
        try:
            values = form.profile_values()
            home_base = _home_base(form, request.user)
            if home_base is not None:
                values["home_base"] = home_base
            driver_profile_save(actor=request.user, membership=membership, values=values)
        except ApplicationError as error:
            show_error(
                request,
                error,
                form,
                fields={"service_radius_m": "radius_km", "home_base": "home_address"},
            )
        else:
            if setting_up:
                messages.success(
                    request,
                    _(
                        "You are set up as a driver. Now add the times of the week when you "
                        "can usually drive."
                    ),
                )
                url = reverse("webapp:driver-availability")
            else:
                messages.success(request, _("Your car and area are saved."))
                url = reverse("webapp:driver-profile")
            return redirect(f"{url}?association={membership.association_id}")
    return page(request, "webapp/driver/profile.html", {"form": form, **context}, status=400)

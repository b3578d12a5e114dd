"""Phone-in booking: find the caller (or create a managed profile for them on the spot),
then book a volunteer ride, a shop-run seat or a shared thing on their behalf on one
screen, which also lists what they have booked with the association and cancels it."""

from django.contrib import messages
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from backend.accounts.models import User
from backend.audit.services import audit_record_many
from backend.community.models import Association, Membership, MembershipState
from backend.community.selectors import people_search
from backend.community.services import managed_profile_create
from backend.errors import ApplicationError
from backend.geocoding import geocode
from backend.rides.drivers import rider_approve
from backend.rides.models import Need
from backend.rides.places import known_places_of
from backend.rides.selectors import rides_ahead_of_member
from backend.sharing import services as sharing_services
from backend.sharing.models import Booking, Resource
from backend.sharing.selectors import bookings_ahead_of_member
from backend.shuttle.models import OccurrenceState, RunOccurrence, RunSignup
from backend.shuttle.selectors import signups_ahead_of_member
from backend.shuttle.services import local_time as run_time
from dispatch.services import ride_request_submit
from dispatch.shop_runs import signup_submit, signup_withdraw
from webapp.forms.console import (
    CancelForCallerForm,
    ItemBookingForm,
    ManagedProfileForm,
    PersonSearchForm,
    ShopSeatForm,
)
from webapp.forms.rides import RideRequestForm, map_settings
from webapp.forms.sharing import book_initial
from webapp.views.common import show_error
from webapp.views.console.common import console_page, coordinator_required
from webapp.views.rides import SERVICE_FIELDS, _time, home_pickup, places_offered

SEARCH_LIMIT = 20


def _members(association: Association):
    """The association's members a coordinator can book for (pending or active)."""
    return User.objects.filter(
        memberships__association=association,
        memberships__state__in=[MembershipState.PENDING, MembershipState.ACTIVE],
        is_active=True,
    )


def _url(name: str, association: Association, *args) -> str:
    return f"{reverse(name, args=args)}?association={association.pk}"


@coordinator_required
@require_http_methods(["GET"])
def phone(request):
    association = request.association
    form = PersonSearchForm(request.GET if "q" in request.GET else None)
    found = None
    if form.is_bound and form.is_valid():
        found = list(
            people_search(people=_members(association), query=form.cleaned_data["q"])
            .order_by("full_name")
            .distinct()[:SEARCH_LIMIT]
        )
        audit_record_many(
            actor=request.user,
            action="people.view",
            subject_ids=[person.pk for person in found],
            detail={"association": association.pk, "page": "console-phone"},
        )
    return console_page(
        request,
        "webapp/console/phone.html",
        {
            "form": form,
            "found": found,
            "new_form": ManagedProfileForm(initial=_guess(form)),
        },
        status=400 if form.errors else 200,
    )


def _guess(form: PersonSearchForm) -> dict:
    """What was typed, put into the new person's form: digits as the phone, else the name."""
    if not (form.is_bound and form.is_valid()):
        return {}
    typed = form.cleaned_data["q"]
    if sum(ch.isdigit() for ch in typed) >= 3:
        return {"phone": typed}
    return {"full_name": typed}


@coordinator_required
@require_POST
def person_new(request):
    association = request.association
    form = ManagedProfileForm(request.POST)
    if form.is_valid():
        values = form.cleaned_data
        home = _home_point(request, values["home_address"])
        try:
            with transaction.atomic():
                person = managed_profile_create(
                    actor=request.user,
                    full_name=values["full_name"],
                    phone=values["phone"],
                    home_address=values["home_address"],
                    association=association,
                )
                if home is not None:
                    person.home_location = home
                    person.save(update_fields=["home_location"])
                if values["approve_rides"]:
                    rider_approve(
                        actor=request.user,
                        membership=Membership.objects.get(user=person, association=association),
                    )
        except ApplicationError as error:
            show_error(request, error, form)
        else:
            messages.success(request, _("%(name)s is now in Samby.") % {"name": person.full_name})
            return redirect(_url("webapp:console-book", association, person.pk))
    return console_page(
        request,
        "webapp/console/phone.html",
        {"form": PersonSearchForm(), "found": None, "new_form": form},
        status=400,
    )


def _home_point(request, address: str):
    """The home on the map, when the address can be looked up. A caller is not turned
    away because the geocoder is down: the profile is kept without it, and the
    coordinator gives the pickup when booking."""
    if not address:
        return None
    try:
        return geocode(address, field="home_address")
    except ApplicationError as error:
        messages.warning(
            request,
            _("%(problem)s The home address is kept; give the pickup when you book.")
            % {"problem": error.message},
        )
        return None


def _occurrences(association: Association) -> list[tuple[int, str]]:
    runs = (
        RunOccurrence.objects.filter(
            association=association,
            state=OccurrenceState.SCHEDULED,
            arrive_at__gt=timezone.now(),
        )
        .select_related("schedule")
        .order_by("arrive_at")[:30]
    )
    return [
        (
            run.pk,
            f"{run.schedule.name}, {run_time(run.arrive_at)} "
            f"({run.capacity - run.seats_taken}/{run.capacity})",
        )
        for run in runs
    ]


def _resources(association) -> list[tuple[int, str]]:
    """The association's shared things that can be booked now."""
    things = Resource.objects.filter(
        association=association, active=True, out_of_service=False
    ).order_by("title")
    return [(thing.pk, thing.title) for thing in things]


def _book_context(request, person: User, ride_form=None, seat_form=None, item_form=None) -> dict:
    association = request.association
    membership = Membership.objects.select_related("rider_approval").get(
        user=person, association=association
    )
    now = timezone.now()
    return {
        "person": person,
        "membership": membership,
        "approved": hasattr(membership, "rider_approval"),
        # What the caller has booked with the association, to go through on the phone.
        "rides_ahead": rides_ahead_of_member(rider=person, association=association),
        "seats_ahead": signups_ahead_of_member(
            passenger=person, association_id=association.pk, now=now
        ),
        "things_ahead": bookings_ahead_of_member(
            booker=person, association_id=association.pk, now=now
        ),
        "cancel_form": CancelForCallerForm(),
        "ride_form": ride_form or _ride_form(request, person, None),
        "seat_form": seat_form or ShopSeatForm(occurrences=_occurrences(association), initial={}),
        "item_form": item_form
        or ItemBookingForm(resources=_resources(association), initial=book_initial(timezone.now())),
        "map": map_settings(),
        # The caller's home and the places of their rides with this association.
        "places": places_offered([person], association_id=association.pk),
        "needs": Need.choices,
    }


def _ride_form(request, person: User, data) -> RideRequestForm:
    return RideRequestForm(
        data,
        riders=[(person.pk, person.full_name)],
        associations=Association.objects.filter(pk=request.association.pk),
        initial={"rider": person.pk, "association": request.association.pk, **home_pickup(person)},
    )


def _person(request, pk: int) -> User:
    """A member of the console's association; 404 for anyone else."""
    return get_object_or_404(_members(request.association).distinct(), pk=pk)


@coordinator_required
@require_http_methods(["GET", "POST"])
def book(request, pk: int):
    person = _person(request, pk)
    association = request.association
    what = request.POST.get("what", "")
    ride_form = seat_form = item_form = None
    if request.method == "POST" and what == "ride":
        ride_form = _ride_form(request, person, request.POST)
        if ride_form.is_valid():
            values = ride_form.cleaned_data
            try:
                known = known_places_of(rider=person, association_id=association.pk)
                pickup, pickup_address = ride_form.place("pickup", known)
                destination, destination_address = ride_form.place("destination", known)
                ride = ride_request_submit(
                    requested_by=request.user,
                    rider=person,
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
            except ApplicationError as error:
                show_error(request, error, ride_form, fields=SERVICE_FIELDS)
            else:
                messages.success(request, _confirmation(person, _("The ride is booked.")))
                return redirect(_url("webapp:console-ride", association, ride.pk))
    elif request.method == "POST" and what == "seat":
        seat_form = ShopSeatForm(request.POST, occurrences=_occurrences(association))
        if seat_form.is_valid():
            values = seat_form.cleaned_data
            occurrence = RunOccurrence.objects.get(pk=values["occurrence"])
            try:
                pickup = (
                    geocode(values["pickup_address"], field="pickup")
                    if values["pickup_address"]
                    else None
                )
                signup = signup_submit(
                    actor=request.user,
                    occurrence=occurrence,
                    passenger=person,
                    pickup=pickup,
                    pickup_address=values["pickup_address"],
                    needs=values["needs"],
                    waitlist=values["waitlist"],
                )
            except ApplicationError as error:
                show_error(request, error, seat_form, fields={"pickup": "pickup_address"})
            else:
                messages.success(
                    request,
                    _confirmation(
                        person,
                        _("%(name)s has a seat on the shop run.") % {"name": person.full_name}
                        if signup.state == "confirmed"
                        else _("%(name)s is on the waitlist of the shop run.")
                        % {"name": person.full_name},
                    ),
                )
                return redirect(_url("webapp:console-runs", association))
    elif request.method == "POST" and what == "item":
        item_form = ItemBookingForm(request.POST, resources=_resources(association))
        if item_form.is_valid():
            values = item_form.cleaned_data
            resource = Resource.objects.get(pk=values["resource"], association=association)
            try:
                sharing_services.booking_request(
                    actor=request.user,
                    resource=resource,
                    starts_at=values["starts_at"],
                    ends_at=values["ends_at"],
                    booker=person,
                    note=values["note"],
                )
            except ApplicationError as error:
                show_error(request, error, item_form)
            else:
                messages.success(
                    request,
                    _confirmation(person, _("%(title)s is booked.") % {"title": resource.title}),
                )
                return redirect(_url("webapp:console-sharing", association))
    elif request.method == "POST":
        messages.error(request, _("Choose a ride, a shop-run seat or a shared thing."))
    status = 400 if request.method == "POST" else 200
    return console_page(
        request,
        "webapp/console/book.html",
        _book_context(request, person, ride_form, seat_form, item_form),
        status=status,
    )


@coordinator_required
@require_POST
def seat_cancel(request, pk: int):
    """Cancel a caller's seat (or waitlist place) on one of the association's runs."""
    association = request.association
    signup = get_object_or_404(
        RunSignup.objects.select_related("passenger", "occurrence"),
        pk=pk,
        occurrence__association=association,
    )
    person = signup.passenger
    try:
        signup_withdraw(actor=request.user, signup=signup)
    except ApplicationError as error:
        show_error(request, error)
    else:
        done = _("%(name)s no longer comes along on the shop run %(when)s.") % {
            "name": person.full_name,
            "when": run_time(signup.occurrence.arrive_at),
        }
        messages.success(request, _confirmation(person, done))
    return redirect(_url("webapp:console-book", association, person.pk))


@coordinator_required
@require_POST
def item_cancel(request, pk: int):
    """Cancel a caller's booking of one of the association's things, with the reason
    they are told (optional: they asked for it themself)."""
    association = request.association
    booking = get_object_or_404(
        Booking.objects.select_related("booker", "resource"),
        pk=pk,
        resource__association=association,
    )
    person = booking.booker
    form = CancelForCallerForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The reason is too long: at most 300 characters."))
        return redirect(_url("webapp:console-book", association, person.pk))
    try:
        sharing_services.booking_cancel(
            actor=request.user, booking=booking, reason=form.cleaned_data["reason"]
        )
    except ApplicationError as error:
        show_error(request, error)
    else:
        done = _("The booking of %(title)s is cancelled.") % {"title": booking.resource.title}
        messages.success(request, _confirmation(person, done))
    return redirect(_url("webapp:console-book", association, person.pk))


def _confirmation(person: User, done: str) -> str:
    """What the coordinator tells the caller about the confirmation they will get."""
    if person.contact_by_sms and person.phone and not person.phone_unconfirmed:
        return _("%(done)s A confirmation goes by SMS to %(phone)s.") % {
            "done": done,
            "phone": person.phone,
        }
    return _("%(done)s %(name)s gets no SMS: tell them the details on the phone.") % {
        "done": done,
        "name": person.full_name,
    }

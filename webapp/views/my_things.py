"""Things a resident lends: the list of my things with the booking requests waiting for
my answer and the bookings to come, lending something new, changing it, taking it out of
service and back, and its photos.

Only the owner comes in: every thing and booking is looked up among the things the
signed-in person lends (`resources_lent_by`), so someone else's is a 404 that does not
say it exists. The association's own things stay in the console for its coordinators.
Every write is a `backend.sharing.services` function."""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from backend.accounts.models import User
from backend.community.models import Association, Membership, MembershipState
from backend.errors import ApplicationError
from backend.sharing import services
from backend.sharing.models import Booking, ProblemKind, Resource, ResourcePhoto
from backend.sharing.selectors import (
    bookings_of_things_lent_by,
    resources_lent_by,
    things_lent_by,
)
from webapp.forms import Form
from webapp.forms.lending import (
    SERVICE_FIELDS,
    AnswerForm,
    DeclineForm,
    OutOfServiceForm,
    PhotoChoiceForm,
    ThingForm,
    thing_initial,
)
from webapp.forms.rides import map_settings
from webapp.views.common import page, show_error


def _my_associations(user: User):
    """Where I may lend things: the associations I am an active member of."""
    return Association.objects.filter(
        pk__in=Membership.objects.filter(user=user, state=MembershipState.ACTIVE).values(
            "association_id"
        )
    ).order_by("name")


def _my_thing(request: HttpRequest, pk: int) -> Resource:
    return get_object_or_404(
        resources_lent_by(user=request.user).select_related("association", "owner"), pk=pk
    )


# --- My things ----------------------------------------------------------------------------------


def _page(
    request: HttpRequest, *, form: Form | None = None, form_for: int | None = None, status=200
) -> HttpResponse:
    """My things; a form refused is shown again on the card of its thing (`form_for`)."""
    things = things_lent_by(user=request.user, now=timezone.now())
    for thing in things:
        resource = thing.resource
        resource.shortest = services.duration_text(timedelta(minutes=resource.min_minutes))
        resource.longest = services.duration_text(timedelta(minutes=resource.max_minutes))
    return page(
        request,
        "webapp/sharing/mine.html",
        {"things": things, "form": form, "form_for": form_for},
        status=status,
    )


@login_required
@require_GET
def mine(request: HttpRequest) -> HttpResponse:
    return _page(request)


def _request_of(request: HttpRequest, resource: Resource, form: Form) -> Booking | None:
    """The booking the form names, if it is a request of this thing; otherwise the form
    gets an error that says so."""
    if not form.is_valid():
        return None
    booking = (
        bookings_of_things_lent_by(user=request.user)
        .filter(resource=resource, pk=form.cleaned_data["booking"])
        .select_related("resource__association", "booker", "booked_by")
        .first()
    )
    if booking is None:
        form.add_error(
            "booking",
            _("That is not a booking of %(title)s. Choose one of its requests below.")
            % {"title": resource.title},
        )
    return booking


@login_required
@require_POST
def approve(request: HttpRequest, pk: int) -> HttpResponse:
    resource = _my_thing(request, pk)
    form = AnswerForm(request.POST)
    booking = _request_of(request, resource, form)
    if booking is None:
        return _page(request, form=form, form_for=resource.pk, status=400)
    try:
        services.booking_approve(actor=request.user, booking=booking)
    except ApplicationError as error:
        show_error(request, error, form)
        return _page(request, form=form, form_for=resource.pk, status=400)
    messages.success(
        request,
        _("%(name)s's booking of %(title)s is confirmed and they have been told.")
        % {"name": booking.booker.full_name, "title": resource.title},
    )
    return redirect("webapp:sharing-mine")


@login_required
@require_POST
def decline(request: HttpRequest, pk: int) -> HttpResponse:
    resource = _my_thing(request, pk)
    form = DeclineForm(request.POST)
    booking = _request_of(request, resource, form)
    if booking is None:
        return _page(request, form=form, form_for=resource.pk, status=400)
    try:
        services.booking_decline(
            actor=request.user, booking=booking, reason=form.cleaned_data["reason"]
        )
    except ApplicationError as error:
        show_error(request, error, form)
        return _page(request, form=form, form_for=resource.pk, status=400)
    messages.success(
        request,
        _("%(name)s's booking of %(title)s is declined and they have been told.")
        % {"name": booking.booker.full_name, "title": resource.title},
    )
    return redirect("webapp:sharing-mine")


@login_required
@require_POST
def out_of_service(request: HttpRequest, pk: int) -> HttpResponse:
    """A breakdown report by the owner: the service cancels the upcoming bookings and
    tells their bookers, the same as when a borrower reports one."""
    resource = _my_thing(request, pk)
    form = OutOfServiceForm(request.POST)
    if form.is_valid() and resource.out_of_service:
        form.add_error(None, _("%(title)s is already out of service.") % {"title": resource.title})
    if not form.is_valid():
        return _page(request, form=form, form_for=resource.pk, status=400)
    try:
        services.problem_report(
            actor=request.user,
            resource=resource,
            kind=ProblemKind.BREAKDOWN,
            text=form.cleaned_data["text"],
        )
    except ApplicationError as error:
        show_error(request, error, form)
        return _page(request, form=form, form_for=resource.pk, status=400)
    messages.success(
        request,
        _("%(title)s is out of service; upcoming bookings are cancelled and the bookers told.")
        % {"title": resource.title},
    )
    return redirect("webapp:sharing-mine")


@login_required
@require_POST
def in_service(request: HttpRequest, pk: int) -> HttpResponse:
    resource = _my_thing(request, pk)
    form = Form(request.POST)
    try:
        services.resource_back_in_service(actor=request.user, resource=resource)
    except ApplicationError as error:
        show_error(request, error, form)
        return _page(request, form=form, form_for=resource.pk, status=400)
    messages.success(request, _("%(title)s is back in service.") % {"title": resource.title})
    return redirect("webapp:sharing-mine")


# --- Lend something, change it -------------------------------------------------------------------


def _form_page(
    request: HttpRequest,
    form: ThingForm,
    resource: Resource | None,
    many: bool,
    *,
    photo_form: Form | None = None,
) -> HttpResponse:
    refused = bool(form.errors) or bool(photo_form and photo_form.errors)
    return page(
        request,
        "webapp/sharing/thing_form.html",
        {
            "form": form,
            "resource": resource,
            "photos": list(resource.photos.all()) if resource is not None else [],
            "many_associations": many,
            "map": map_settings(),
            "photo_form": photo_form,
        },
        status=400 if refused else 200,
    )


@login_required
@require_http_methods(["GET", "POST"])
def new(request: HttpRequest) -> HttpResponse:
    """Lend something: listed with one of my associations, owned by me."""
    associations = _my_associations(request.user)
    if not associations.exists():
        return page(request, "webapp/sharing/not_member.html", status=403)
    form = ThingForm(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
        associations=associations,
        initial={"association": associations.first()},
    )
    if request.method == "POST" and form.is_valid():
        photo = form.cleaned_data.get("photo")
        try:
            # The thing and its photo together, or neither.
            with transaction.atomic():
                resource = services.resource_create(
                    actor=request.user,
                    association=form.cleaned_data["association"],
                    lend_as_owner=True,
                    location=form.place_point(),
                    **form.service_values(),
                )
                if photo:
                    services.resource_photo_add(actor=request.user, resource=resource, upload=photo)
        except ApplicationError as error:
            show_error(request, error, form, fields={**SERVICE_FIELDS, "image": "photo"})
        else:
            messages.success(
                request,
                _("%(title)s is listed. We tell you when someone wants to borrow it.")
                % {"title": resource.title},
            )
            return redirect("webapp:sharing-mine")
    return _form_page(request, form, None, associations.count() > 1)


@login_required
@require_http_methods(["GET", "POST"])
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    resource = _my_thing(request, pk)
    form = ThingForm(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
        resource=resource,
        initial=thing_initial(resource),
    )
    if request.method == "POST" and form.is_valid():
        photo = form.cleaned_data.get("photo")
        try:
            # The changes and the new photo together, or neither.
            with transaction.atomic():
                changes = form.service_values()
                point = form.place_point()
                if point is not None:
                    changes["location"] = point
                services.resource_update(actor=request.user, resource=resource, **changes)
                if photo:
                    services.resource_photo_add(actor=request.user, resource=resource, upload=photo)
        except ApplicationError as error:
            show_error(request, error, form, fields={**SERVICE_FIELDS, "image": "photo"})
        else:
            messages.success(request, _("%(title)s is saved.") % {"title": changes["title"]})
            return redirect("webapp:sharing-mine")
    return _form_page(request, form, resource, False)


@login_required
@require_POST
def photo_delete(request: HttpRequest, pk: int) -> HttpResponse:
    resource = _my_thing(request, pk)
    choice = PhotoChoiceForm(request.POST)
    photo = None
    if choice.is_valid():
        photo = ResourcePhoto.objects.filter(
            resource=resource, pk=choice.cleaned_data["photo"]
        ).first()
        if photo is None:
            choice.add_error(
                "photo", _("That is not a photo of %(title)s.") % {"title": resource.title}
            )
    if photo is None:
        form = ThingForm(resource=resource, initial=thing_initial(resource))
        return _form_page(request, form, resource, False, photo_form=choice)
    services.resource_photo_delete(actor=request.user, photo=photo)
    messages.success(request, _("The photo is removed."))
    return redirect("webapp:sharing-edit", pk=resource.pk)

"""Shared things: the association's resources, booking requests waiting for approval,
loans not returned in time, problem reports, and taking a resource out of service or
putting it back. Every write is a `backend.sharing.services` function; every booking and
resource is looked up inside `request.association`."""

from django.contrib import messages
from django.db.models import Count, F, Q
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from backend.errors import ApplicationError
from backend.sharing.models import OUT, Booking, ProblemKind, ProblemReport, Resource
from backend.sharing.selectors import bookings_awaiting
from backend.sharing.services import (
    booking_approve,
    booking_decline,
    problem_report,
    resource_back_in_service,
)
from webapp.forms.console import DeclineBookingForm, OutOfServiceForm
from webapp.views.common import show_error
from webapp.views.console.common import console_page, coordinator_required

# A village association lists tens of things, not thousands; the lists stay bounded anyway.
LIST_LIMIT = 50


def _resources(request):
    return Resource.objects.filter(association=request.association)


def _bookings(request):
    return Booking.objects.filter(resource__association=request.association).select_related(
        "resource", "booker", "booked_by"
    )


def _back(request):
    return redirect(f"{reverse('webapp:console-sharing')}?association={request.association.pk}")


def _page(request, *, decline_form=None, service_form=None, status: int = 200):
    association = request.association
    resources = list(
        _resources(request)
        .select_related("owner")
        .annotate(
            open_problems=Count("problems", filter=Q(problems__resolved_at__isnull=True)),
        )
        .order_by("-out_of_service", "title")[:LIST_LIMIT]
    )
    pending = list(
        bookings_awaiting(user=request.user)
        .filter(resource__association=association)
        .select_related("resource", "booker", "booked_by")[:LIST_LIMIT]
    )
    # Checked out and past the end: overdue, or about to be marked so by the next beat.
    overdue = list(
        _bookings(request)
        .filter(status__in=OUT, ends_at__lt=timezone.now())
        .order_by("ends_at", "pk")[:LIST_LIMIT]
    )
    problems = list(
        ProblemReport.objects.filter(resource__association=association)
        .select_related("resource", "reporter")
        .order_by(F("resolved_at").asc(nulls_first=True), "-created_at", "-pk")[:LIST_LIMIT]
    )
    return console_page(
        request,
        "webapp/console/sharing.html",
        {
            "resources": resources,
            "pending": pending,
            "overdue": overdue,
            "problems": problems,
            "decline_form": decline_form or DeclineBookingForm(),
            "service_form": service_form or OutOfServiceForm(),
            "now": timezone.now(),
        },
        status=status,
    )


@coordinator_required
@require_GET
def sharing(request):
    return _page(request)


@coordinator_required
@require_POST
def booking_approve_view(request, pk: int):
    booking = get_object_or_404(_bookings(request), pk=pk)
    try:
        booking_approve(actor=request.user, booking=booking)
    except ApplicationError as error:
        show_error(request, error)
    else:
        messages.success(
            request,
            _("%(name)s's booking of %(title)s is confirmed and they have been told.")
            % {"name": booking.booker.full_name, "title": booking.resource.title},
        )
    return _back(request)


@coordinator_required
@require_POST
def booking_decline_view(request, pk: int):
    booking = get_object_or_404(_bookings(request), pk=pk)
    form = DeclineBookingForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Write why the booking is declined, in at most 300 characters."))
        return _page(request, decline_form=form, status=400)
    try:
        booking_decline(actor=request.user, booking=booking, reason=form.cleaned_data["reason"])
    except ApplicationError as error:
        show_error(request, error)
    else:
        messages.success(
            request,
            _("%(name)s's booking of %(title)s is declined and they have been told.")
            % {"name": booking.booker.full_name, "title": booking.resource.title},
        )
    return _back(request)


@coordinator_required
@require_POST
def resource_out_of_service(request, pk: int):
    """A breakdown report by the coordinator: the service cancels the upcoming bookings
    and tells their bookers, the same as when a borrower reports one."""
    resource = get_object_or_404(_resources(request), pk=pk)
    form = OutOfServiceForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Describe what is wrong, in at most 1000 characters."))
        return _page(request, service_form=form, status=400)
    if resource.out_of_service:
        messages.error(
            request, _("%(title)s is already out of service.") % {"title": resource.title}
        )
        return _back(request)
    try:
        problem_report(
            actor=request.user,
            resource=resource,
            kind=ProblemKind.BREAKDOWN,
            text=form.cleaned_data["text"],
        )
    except ApplicationError as error:
        show_error(request, error)
    else:
        messages.success(
            request,
            _("%(title)s is out of service; upcoming bookings are cancelled and the bookers told.")
            % {"title": resource.title},
        )
    return _back(request)


@coordinator_required
@require_POST
def resource_in_service(request, pk: int):
    resource = get_object_or_404(_resources(request), pk=pk)
    try:
        resource_back_in_service(actor=request.user, resource=resource)
    except ApplicationError as error:
        show_error(request, error)
    else:
        messages.success(request, _("%(title)s is back in service.") % {"title": resource.title})
    return _back(request)

"""Shop runs: the coming occurrences, who is signed up, which cars drive, putting a
driver on a run, and the printable run sheet; setting up a recurring run, cancelling or
moving one date (everyone signed up is told by the service), stopping a recurring run.

Runs and schedules are looked up among those of the association the console shows, for
one of its coordinators: another association's is a 404."""

from django.conf import settings
from django.contrib import messages
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from backend.errors import ApplicationError
from backend.shuttle import services as shuttle
from backend.shuttle.models import ACTIVE_SIGNUP, RunSignup
from backend.shuttle.selectors import occurrences_for_coordinator, schedules_for_coordinator
from dispatch.shop_runs import occurrence_reschedule, run_assign_by_coordinator
from webapp.forms import Form
from webapp.forms.console import DriverChoiceForm
from webapp.forms.console_runs import (
    SCHEDULE_FIELDS,
    RunCancelForm,
    RunMoveForm,
    RunScheduleForm,
)
from webapp.forms.rides import map_settings
from webapp.views.common import show_error
from webapp.views.console.board import _association_drivers
from webapp.views.console.common import console_page, coordinator_required

RUNS_LIMIT = 30


def _runs(request):
    return (
        occurrences_for_coordinator(user=request.user, association_id=request.association.pk)
        .filter(leave_at__gt=timezone.now())
        .prefetch_related(
            Prefetch(
                "signups",
                queryset=RunSignup.objects.filter(state__in=ACTIVE_SIGNUP)
                .select_related("passenger")
                .order_by("created_at"),
                to_attr="active_signups",
            )
        )
        .order_by("arrive_at")
    )


def _schedules(request):
    return schedules_for_coordinator(
        user=request.user, association_id=request.association.pk
    ).filter(active=True)


def _driver_choices(request) -> list[tuple[int, str]]:
    return [(d.pk, d.membership.user.full_name) for d in _association_drivers(request.association)]


def _page(request, form=None, status: int = 200):
    choices = _driver_choices(request)
    return console_page(
        request,
        "webapp/console/runs.html",
        {
            "runs": list(_runs(request)[:RUNS_LIMIT]),
            "assign_form": form or DriverChoiceForm(drivers=choices),
            "driver_choices": choices,
            "schedules": list(_schedules(request).order_by("name", "pk")),
            "now": timezone.now(),
        },
        status=status,
    )


@coordinator_required
@require_GET
def runs(request):
    return _page(request)


@coordinator_required
@require_POST
def run_assign(request, pk: int):
    occurrence = get_object_or_404(_runs(request), pk=pk)
    form = DriverChoiceForm(request.POST, drivers=_driver_choices(request))
    if form.is_valid():
        driver = _association_drivers(request.association).get(pk=form.cleaned_data["driver"])
        try:
            run_assign_by_coordinator(occurrence=occurrence, driver=driver, actor=request.user)
        except ApplicationError as error:
            show_error(request, error, form)
        else:
            messages.success(
                request,
                _("%(name)s drives the shop run and has been told.")
                % {"name": driver.membership.user.full_name},
            )
            return redirect(
                f"{reverse('webapp:console-runs')}?association={request.association.pk}"
            )
    return _page(request, form, status=400)


def _back(request: HttpRequest) -> HttpResponse:
    return redirect(f"{reverse('webapp:console-runs')}?association={request.association.pk}")


def _when(moment) -> str:
    return date_format(timezone.localtime(moment), "l j F H:i")


def _problems(form: Form) -> str:
    """A refused form's messages in one line, each after its field's label."""
    lines = []
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else ""
        lines += [f"{label}: {error}" if label else str(error) for error in errors]
    return " ".join(lines)


def _run_of(request: HttpRequest, pk: int):
    """Any run of the association (a past or cancelled one too: the service says why it
    cannot be changed)."""
    return get_object_or_404(
        occurrences_for_coordinator(user=request.user, association_id=request.association.pk),
        pk=pk,
    )


def _new_page(request: HttpRequest, form: RunScheduleForm) -> HttpResponse:
    return console_page(
        request,
        "webapp/console/run_new.html",
        {"form": form, "map": map_settings()},
        status=400 if form.errors else 200,
    )


def _village_choices(request: HttpRequest) -> list[tuple[int, str]]:
    return list(request.association.villages.order_by("name").values_list("pk", "name"))


@coordinator_required
@require_http_methods(["GET", "POST"])
def run_new(request):
    """A new recurring shop run; its dates for the coming weeks are made at once."""
    villages = _village_choices(request)
    if request.method != "POST":
        return _new_page(request, RunScheduleForm(villages=villages))
    form = RunScheduleForm(request.POST, villages=villages)
    if form.is_valid():
        try:
            destination, _address = form.place("destination")
            schedule = shuttle.schedule_create(
                actor=request.user,
                association=request.association,
                destination=destination,
                **form.service_values(),
            )
        except ApplicationError as error:
            show_error(request, error, form, fields=SCHEDULE_FIELDS)
        else:
            dates = list(schedule.occurrences.order_by("arrive_at"))
            if dates:
                messages.success(
                    request,
                    ngettext(
                        "%(name)s is set up with %(count)s date, on %(first)s. "
                        "Members can sign up now.",
                        "%(name)s is set up with %(count)s dates, the first on %(first)s. "
                        "Members can sign up now.",
                        len(dates),
                    )
                    % {
                        "name": schedule.name,
                        "count": len(dates),
                        "first": _when(dates[0].arrive_at),
                    },
                )
            else:
                messages.success(
                    request,
                    _(
                        "%(name)s is set up. None of its dates is in the next %(days)s days: "
                        "each is listed here when it comes nearer."
                    )
                    % {"name": schedule.name, "days": settings.SHUTTLE_HORIZON_DAYS},
                )
            return _back(request)
    return _new_page(request, form)


@coordinator_required
@require_POST
def run_cancel(request, pk: int):
    """Cancel one date of a run; the service tells everyone signed up and the drivers."""
    occurrence = _run_of(request, pk)
    form = RunCancelForm(request.POST)
    if not form.is_valid():
        messages.error(request, _problems(form))
        return _back(request)
    try:
        shuttle.occurrence_cancel(
            actor=request.user, occurrence=occurrence, reason=form.cleaned_data["reason"]
        )
    except ApplicationError as error:
        show_error(request, error)
    else:
        messages.success(
            request,
            _("The shop run on %(when)s is cancelled. Everyone signed up has been told.")
            % {"when": _when(occurrence.arrive_at)},
        )
    return _back(request)


@coordinator_required
@require_POST
def run_move(request, pk: int):
    """Move one date of a run to another day or time; the service tells everyone signed
    up and the drivers (a driver who cannot make the new time is taken off the run)."""
    occurrence = _run_of(request, pk)
    form = RunMoveForm(request.POST)
    if not form.is_valid():
        messages.error(request, _problems(form))
        return _back(request)
    arrive_at, leave_at = form.moments()
    try:
        moved = occurrence_reschedule(
            actor=request.user, occurrence=occurrence, arrive_at=arrive_at, leave_at=leave_at
        )
    except ApplicationError as error:
        show_error(request, error)
    else:
        messages.success(
            request,
            _("The shop run on %(old)s is moved to %(when)s. Everyone signed up has been told.")
            % {"old": _when(occurrence.arrive_at), "when": _when(moved.arrive_at)},
        )
    return _back(request)


@coordinator_required
@require_POST
def schedule_stop(request, pk: int):
    """Stop a recurring run: no new dates. The dates already listed stay until cancelled."""
    schedule = get_object_or_404(
        schedules_for_coordinator(user=request.user, association_id=request.association.pk),
        pk=pk,
    )
    try:
        shuttle.schedule_stop(actor=request.user, schedule=schedule)
    except ApplicationError as error:
        show_error(request, error)
    else:
        messages.success(
            request,
            _(
                "%(name)s is stopped: no new dates are added. The dates already listed stay; "
                "cancel those you do not want, and the people signed up are told."
            )
            % {"name": schedule.name},
        )
    return _back(request)

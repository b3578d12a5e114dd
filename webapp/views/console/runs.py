"""Shop runs: the coming occurrences, who is signed up, which cars drive, putting a
driver on a run, and the printable run sheet."""

from django.contrib import messages
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from backend.errors import ApplicationError
from backend.shuttle.models import ACTIVE_SIGNUP, RunSignup
from backend.shuttle.selectors import occurrences_for_coordinator
from dispatch.shop_runs import run_assign_by_coordinator
from webapp.forms.console import DriverChoiceForm
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

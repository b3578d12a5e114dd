"""The roster: members and drivers, approvals (membership and rides), suspensions with a
reason, drivers' week of availability, cars and needs they take, and their load this
month, so the work stays fairly spread."""

import datetime as dt

from django.contrib import messages
from django.db.models import Count, Prefetch, Q, Sum
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from backend.audit.services import audit_record_many
from backend.community.models import Membership, MembershipState
from backend.community.services import membership_approve, membership_suspend
from backend.errors import ApplicationError
from backend.rides.drivers import rider_approve
from backend.rides.models import (
    DRIVER_HOLDS,
    AvailabilitySlot,
    DriverProfile,
    RideRequest,
    RideState,
)
from webapp.forms.console import RiderApprovalForm, SuspendForm
from webapp.forms.driver import WEEKDAYS
from webapp.views.common import show_error
from webapp.views.console.board import _today_start
from webapp.views.console.common import console_page, coordinator_required

NEED_FLAGS = ["wheelchair_accessible", "walker_space", "child_seat", "takes_guide_dog"]


def _month_load(association) -> dict[int, dict]:
    """Per driver: rides held or driven this month and the hours they take (one query)."""
    start = _today_start().replace(day=1)
    end = (start + dt.timedelta(days=32)).replace(day=1)
    rows = (
        RideRequest.objects.filter(
            association=association,
            state__in=[*DRIVER_HOLDS, RideState.COMPLETED],
            planned_pickup__gte=start,
            planned_pickup__lt=end,
        )
        .values("driver_id")
        .annotate(rides=Count("pk"), seconds=Sum("duration_s"))
    )
    return {
        row["driver_id"]: {"rides": row["rides"], "hours": round((row["seconds"] or 0) / 3600, 1)}
        for row in rows
    }


def _week_grid(slots: list[AvailabilitySlot]) -> list[str]:
    """One cell per weekday: the hours the driver is usually free."""
    cells = [[] for _day in range(7)]
    for slot in sorted(slots, key=lambda s: s.start):
        cells[slot.weekday].append(f"{slot.start:%H:%M}\u2013{slot.end:%H:%M}")
    return [", ".join(cell) for cell in cells]


@coordinator_required
@require_GET
def roster(request):
    return _roster_page(request)


def _roster_page(request, status: int = 200):
    association = request.association
    memberships = list(
        Membership.objects.filter(association=association)
        .select_related("user", "rider_approval", "driver_profile")
        .prefetch_related(
            Prefetch(
                "driver_profile__slots",
                queryset=AvailabilitySlot.objects.order_by("weekday", "start"),
            )
        )
        .order_by("user__full_name")
    )
    audit_record_many(
        actor=request.user,
        action="roster.view",
        subject_ids=[m.user_id for m in memberships],
        detail={"association": association.pk, "page": "console"},
    )
    load = _month_load(association)
    drivers = []
    for membership in memberships:
        profile = getattr(membership, "driver_profile", None)
        if profile is None:
            continue
        drivers.append(
            {
                "membership": membership,
                "profile": profile,
                "grid": _week_grid(list(profile.slots.all())),
                "takes": [
                    str(DriverProfile._meta.get_field(flag).verbose_name)
                    for flag in NEED_FLAGS
                    if getattr(profile, flag)
                ],
                "load": load.get(profile.pk, {"rides": 0, "hours": 0}),
            }
        )
    return console_page(
        request,
        "webapp/console/roster.html",
        {
            "pending": [m for m in memberships if m.state == MembershipState.PENDING],
            "memberships": memberships,
            "drivers": drivers,
            "weekdays": WEEKDAYS,
            "suspend_form": SuspendForm(),
            "rider_form": RiderApprovalForm(),
            "counts": {
                "members": sum(1 for m in memberships if m.state == MembershipState.ACTIVE),
                "drivers": len(drivers),
            },
        },
        status=status,
    )


ACTIONS = {"approve", "suspend", "rider"}


@coordinator_required
@require_POST
def membership_action(request, pk: int, action: str):
    if action not in ACTIONS:
        raise Http404
    association = request.association
    membership = get_object_or_404(
        Membership.objects.select_related("user", "association").filter(Q(association=association)),
        pk=pk,
    )
    back = f"{reverse('webapp:console-roster')}?association={association.pk}"
    name = membership.user.full_name
    try:
        if action == "approve":
            membership_approve(actor=request.user, membership=membership)
            messages.success(request, _("%(name)s is now an active member.") % {"name": name})
        elif action == "suspend":
            form = SuspendForm(request.POST)
            if not form.is_valid():
                messages.error(request, _("Write why the membership is suspended."))
                return _roster_page(request, 400)
            membership_suspend(
                actor=request.user, membership=membership, reason=form.cleaned_data["reason"]
            )
            messages.success(request, _("%(name)s is suspended.") % {"name": name})
        else:
            form = RiderApprovalForm(request.POST)
            if not form.is_valid():
                messages.error(request, _("The notes are too long."))
                return _roster_page(request, 400)
            rider_approve(
                actor=request.user, membership=membership, notes=form.cleaned_data["notes"]
            )
            messages.success(request, _("%(name)s may now book volunteer rides.") % {"name": name})
    except ApplicationError as error:
        show_error(request, error)
    return redirect(back)

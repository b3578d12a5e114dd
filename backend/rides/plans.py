"""Day plans of the nightly batch: who may see them, storing one, approving, discarding.

The plan itself is made in `dispatch.batch` (it needs the candidates of each ride), which
also sends the offers when a plan is approved; the state of a plan changes here, by a
conditional UPDATE on its current state, so two coordinators acting at once cannot both
approve (or approve and discard) the same plan.
"""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.accounts.models import User
from backend.community.models import Association
from backend.community.selectors import coordinated_association_ids, user_is_coordinator
from backend.errors import ApplicationError, ErrorKind
from backend.rides.errors import RideErrorCode
from backend.rides.models import AssignmentPlan, PlannedAssignment, PlanState


class PlanErrorCode(StrEnum):
    DAY_PAST = "plan_day_past"
    NOT_PROPOSED = "plan_not_proposed"
    NOT_FOUND = "plan_not_found"


@dataclass(frozen=True)
class PlanRow:
    """One ride of a plan as the optimiser left it; no driver: nobody can take it."""

    ride_id: int
    driver_id: int | None = None
    pickup_at: dt.datetime | None = None
    empty_m: int | None = None


def km(metres: int) -> Decimal:
    return (Decimal(metres) / 1000).quantize(Decimal("0.1"))


# --- Reads -----------------------------------------------------------------------------------


def plans_visible_to(*, user: User) -> QuerySet[AssignmentPlan]:
    """Plans of the associations `user` coordinates; nobody else sees them."""
    return AssignmentPlan.objects.filter(association_id__in=coordinated_association_ids(user=user))


def plan_latest(*, association: Association, day: dt.date) -> AssignmentPlan | None:
    """The newest plan of the association for the day, whatever its state, with its rows."""
    return (
        plans_with_rows(AssignmentPlan.objects.filter(association=association, day=day))
        .order_by("-created_at", "-pk")
        .first()
    )


def plans_with_rows(plans: QuerySet[AssignmentPlan]) -> QuerySet[AssignmentPlan]:
    """The plans with their rows by pickup time (a ride without a driver at its requested
    time) and what a coordinator's list shows of each row: two queries however many."""
    rows = PlannedAssignment.objects.select_related(
        "ride__village", "driver__membership__user"
    ).order_by("ride__earliest_pickup", "pickup_at", "ride_id")
    return plans.select_related("approved_by").prefetch_related(Prefetch("rows", queryset=rows))


def require_coordinator(*, user: User, association: Association) -> None:
    if not user_is_coordinator(user=user, association=association):
        raise ApplicationError(
            RideErrorCode.NOT_ALLOWED,
            _("Only a coordinator of the association can plan its rides."),
            kind=ErrorKind.FORBIDDEN,
        )


# --- Writes ----------------------------------------------------------------------------------


def plan_day_check(*, day: dt.date) -> None:
    if day < timezone.localdate():
        raise ApplicationError(
            PlanErrorCode.DAY_PAST,
            _("That day has passed. Choose today or a later day."),
            fields={"day": [_("Choose today or a later day.")]},
        )


@transaction.atomic
def plan_save(*, association: Association, day: dt.date, rows: list[PlanRow]) -> AssignmentPlan:
    """Store a proposed plan for the day, replacing the one still waiting for review (an
    approved or discarded plan stays as it was). Locks the association's row, so two runs
    for one association save one after the other."""
    Association.objects.select_for_update().filter(pk=association.pk).first()
    AssignmentPlan.objects.filter(
        association=association, day=day, state=PlanState.PROPOSED
    ).delete()
    total = sum(row.empty_m or 0 for row in rows)
    plan = AssignmentPlan.objects.create(association=association, day=day, total_km=km(total))
    PlannedAssignment.objects.bulk_create(
        PlannedAssignment(
            plan=plan,
            ride_id=row.ride_id,
            driver_id=row.driver_id,
            pickup_at=row.pickup_at,
            empty_km=None if row.empty_m is None else km(row.empty_m),
        )
        for row in rows
    )
    return plan


def _plan_set_state(plan: AssignmentPlan, to_state: str, **changes) -> AssignmentPlan:
    """From proposed to `to_state`: a conditional UPDATE, the first one wins."""
    updated = AssignmentPlan.objects.filter(pk=plan.pk, state=PlanState.PROPOSED).update(
        state=to_state, **changes
    )
    if not updated:
        current = AssignmentPlan.objects.filter(pk=plan.pk).first()
        if current is None:
            raise ApplicationError(
                PlanErrorCode.NOT_FOUND,
                _("This plan was replaced by a newer one. Review the newest plan."),
                kind=ErrorKind.CONFLICT,
            )
        raise ApplicationError(
            PlanErrorCode.NOT_PROPOSED,
            _("This plan is %(state)s already.") % {"state": current.get_state_display()},
            kind=ErrorKind.CONFLICT,
        )
    plan.refresh_from_db()
    return plan


def plan_mark_approved(*, plan: AssignmentPlan, actor: User) -> AssignmentPlan:
    """The plan is approved (the caller, `dispatch.batch.plan_approve`, sends the offers
    in the same transaction). Locks the plan's row until the transaction ends."""
    require_coordinator(user=actor, association=plan.association)
    return _plan_set_state(plan, PlanState.APPROVED, approved_by=actor, approved_at=timezone.now())


@transaction.atomic
def plan_discard(*, plan: AssignmentPlan, actor: User) -> AssignmentPlan:
    """The coordinator does not want the plan: nothing is offered, dispatch carries on."""
    require_coordinator(user=actor, association=plan.association)
    return _plan_set_state(plan, PlanState.DISCARDED)

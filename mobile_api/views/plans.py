"""Day plans of the nightly batch, for the association's coordinators: see the plan for a
day, plan now, approve it (the offers go out) or discard it.

A plan is looked up through the plans the viewer may see (those of the associations
they coordinate), so anybody else gets a 404; on an association's own path, somebody who
does not coordinate it gets a 403.
"""

import datetime as dt

from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.community.models import Association
from backend.community.selectors import associations_visible_to
from backend.errors import ApplicationError, ErrorKind
from backend.rides import plans
from backend.rides.models import AssignmentPlan, PlannedAssignment
from dispatch import batch


class PlanDayQuery(serializers.Serializer):
    day = serializers.DateField(required=False, help_text="Local date; default: tomorrow.")


class PlanCreateInput(serializers.Serializer):
    day = serializers.DateField(help_text="The local date to plan (today or later).")


class PlanRowOutput(serializers.ModelSerializer):
    requested_at = serializers.DateTimeField(
        source="ride.earliest_pickup", help_text="The start of the requested pickup window."
    )
    village = serializers.CharField(source="ride.village.name", allow_null=True)
    driver_name = serializers.CharField(source="driver.membership.user.full_name", allow_null=True)
    empty_km = serializers.FloatField(
        allow_null=True, help_text="The drive to the pickup: from home or the last drop-off."
    )

    class Meta:
        model = PlannedAssignment
        fields = [
            "ride",
            "requested_at",
            "pickup_at",
            "village",
            "driver",
            "driver_name",
            "empty_km",
            "outcome",
        ]
        extra_kwargs = {
            "driver": {"help_text": "The proposed driver's profile id; null: nobody can take it."},
            "pickup_at": {"help_text": "The planned pickup time."},
            "outcome": {"help_text": "What approving did with the row; blank before."},
        }


class PlanOutput(serializers.ModelSerializer):
    approved_by = serializers.CharField(source="approved_by.full_name", allow_null=True)
    total_km = serializers.FloatField(help_text="All driving without passengers.")
    rows = PlanRowOutput(many=True)

    class Meta:
        model = AssignmentPlan
        fields = [
            "id",
            "association",
            "day",
            "state",
            "created_at",
            "approved_by",
            "approved_at",
            "total_km",
            "rows",
        ]


def _coordinated_association(request: Request, pk: int) -> Association:
    association = get_object_or_404(associations_visible_to(user=request.user), pk=pk)
    plans.require_coordinator(user=request.user, association=association)
    return association


def _plan(request: Request, pk: int) -> AssignmentPlan:
    return get_object_or_404(plans.plans_visible_to(user=request.user), pk=pk)


def _present(plan: AssignmentPlan) -> dict:
    return PlanOutput(plans.plans_with_rows(AssignmentPlan.objects.filter(pk=plan.pk)).get()).data


class AssociationPlans(APIView):
    """The association's day plan: the newest for a day (GET), or plan a day now (POST),
    replacing the plan of that day still waiting for review."""

    @extend_schema(parameters=[PlanDayQuery], responses={200: PlanOutput})
    def get(self, request: Request, pk: int) -> Response:
        association = _coordinated_association(request, pk)
        query = PlanDayQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        day = query.validated_data.get("day", timezone.localdate() + dt.timedelta(days=1))
        plan = plans.plan_latest(association=association, day=day)
        if plan is None:
            raise ApplicationError(
                plans.PlanErrorCode.NOT_FOUND,
                _("There is no plan for that day yet. Plan it now, or wait for tonight's."),
                kind=ErrorKind.NOT_FOUND,
            )
        return Response(PlanOutput(plan).data)

    @extend_schema(request=PlanCreateInput, responses={201: PlanOutput})
    def post(self, request: Request, pk: int) -> Response:
        association = _coordinated_association(request, pk)
        data = PlanCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        plan = batch.plan_create(
            association=association, day=data.validated_data["day"], actor=request.user
        )
        return Response(_present(plan), status=status.HTTP_201_CREATED)


class PlanApprove(APIView):
    """Approve the plan: each planned driver is offered their ride and can accept or
    decline. Rows whose ride or driver changed since are skipped (see `outcome`)."""

    @extend_schema(request=None, responses={200: PlanOutput})
    def post(self, request: Request, pk: int) -> Response:
        approval = batch.plan_approve(plan=_plan(request, pk), actor=request.user)
        return Response(_present(approval.plan))


class PlanDiscard(APIView):
    """Discard the plan: nothing is offered; dispatch carries on as without it."""

    @extend_schema(request=None, responses={200: PlanOutput})
    def post(self, request: Request, pk: int) -> Response:
        plan = plans.plan_discard(plan=_plan(request, pk), actor=request.user)
        return Response(_present(plan))

"""Shop runs: members sign up (themselves or whom they book for), coordinators set up
runs, move or cancel one, see who comes and the run sheet, and find drivers; drivers
take runs and mark stops on the way.

Runs are looked up through the viewer's visible set (members of the association), so a
run of another association is a 404; coordinator-only actions on a visible run are a
403 from the service.
"""

from django.db.models import Q
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.community.selectors import (
    associations_visible_to,
    coordinated_association_ids,
    people_actable_by,
    user_is_coordinator,
)
from backend.errors import ApplicationError, ErrorKind
from backend.rides.models import DriverProfile
from backend.shuttle import services as shuttle
from backend.shuttle.errors import ShuttleErrorCode
from backend.shuttle.models import (
    RunOccurrence,
    RunOffer,
    RunSchedule,
    RunSignup,
    RunVehicle,
    SignupState,
    StandingSignup,
)
from backend.shuttle.selectors import (
    occurrences_for_coordinator,
    occurrences_visible_to,
    run_offers_for,
    run_sheet,
    schedules_visible_to,
    signups_of,
    signups_visible_to,
    standing_visible_to,
    user_coordinates_run,
    with_waitlist_position,
)
from dispatch import shop_runs
from mobile_api.rides_serializers import AssignInput, ReasonInput
from mobile_api.shuttle_serializers import (
    CoordinatorRunOutput,
    MoveInput,
    OutcomeInput,
    RunOfferOutput,
    RunOutput,
    RunSheetOutput,
    RunSignupRowOutput,
    ScheduleInput,
    ScheduleOutput,
    SignupInput,
    SignupOutput,
    StandingOutput,
    VehicleOutput,
)
from mobile_api.throttles import BookingThrottle, UserRateThrottle
from mobile_api.views.rides import _place


def _fake(view) -> bool:
    return getattr(view, "swagger_fake_view", False)  # schema generation, no user


def _run(request: Request, pk: int) -> RunOccurrence:
    return get_object_or_404(
        occurrences_visible_to(user=request.user).select_related(
            "schedule", "association__municipality"
        ),
        pk=pk,
    )


def _require_coordinator(request: Request, occurrence: RunOccurrence) -> None:
    if not user_coordinates_run(user=request.user, occurrence=occurrence):
        raise ApplicationError(
            ShuttleErrorCode.NOT_ALLOWED,
            _("Only a coordinator of the association can see this."),
            kind=ErrorKind.FORBIDDEN,
        )


def _signup(request: Request, pk: int) -> RunSignup:
    return get_object_or_404(
        signups_visible_to(user=request.user).select_related("occurrence__schedule"), pk=pk
    )


def _signup_out(signup: RunSignup) -> dict:
    fresh = with_waitlist_position(
        RunSignup.objects.select_related("passenger", "occurrence__schedule")
    ).get(pk=signup.pk)
    return SignupOutput(fresh).data


# --- Schedules ------------------------------------------------------------------------------


class ScheduleList(generics.ListAPIView):
    """Recurring runs of the associations I am a member of."""

    serializer_class = ScheduleOutput

    def get_queryset(self):
        if _fake(self):
            return RunSchedule.objects.none()
        return (
            schedules_visible_to(user=self.request.user)
            .prefetch_related("villages")
            .order_by("association", "name", "pk")
        )

    @extend_schema(request=ScheduleInput, responses={201: ScheduleOutput})
    def post(self, request: Request) -> Response:
        """A coordinator sets up a recurring run; its runs for the coming weeks appear at once."""
        data = ScheduleInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        association = values.pop("association")
        get_object_or_404(associations_visible_to(user=request.user), pk=association.pk)
        schedule = shuttle.schedule_create(
            actor=request.user,
            association=association,
            village_ids=values.pop("villages"),
            **values,
        )
        return Response(ScheduleOutput(schedule).data, status=status.HTTP_201_CREATED)


# --- Runs -------------------------------------------------------------------------------------


class RunList(generics.ListAPIView):
    """Coming runs of my associations, soonest first: for the sign-up page."""

    serializer_class = RunOutput

    def get_queryset(self):
        if _fake(self):
            return RunOccurrence.objects.none()
        return (
            occurrences_visible_to(user=self.request.user)
            .filter(arrive_at__gt=timezone.now())
            .select_related("schedule")
            .order_by("arrive_at", "pk")
        )


class RunDetail(APIView):
    @extend_schema(responses={200: RunOutput})
    def get(self, request: Request, pk: int) -> Response:
        return Response(RunOutput(_run(request, pk)).data)


class AssociationRunList(generics.ListAPIView):
    """The coordinator's run list: coming runs with seats taken, waitlist, cars and plan."""

    serializer_class = CoordinatorRunOutput

    @extend_schema(
        parameters=[
            OpenApiParameter("past", bool, description="true: runs that have been, newest first.")
        ]
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if _fake(self):
            return RunOccurrence.objects.none()
        association = get_object_or_404(
            associations_visible_to(user=self.request.user), pk=self.kwargs["pk"]
        )
        if not user_is_coordinator(user=self.request.user, association=association):
            raise ApplicationError(
                ShuttleErrorCode.NOT_ALLOWED,
                _("Only a coordinator of the association can see this."),
                kind=ErrorKind.FORBIDDEN,
            )
        runs = occurrences_for_coordinator(user=self.request.user, association_id=association.pk)
        if self.request.query_params.get("past") == "true":
            return runs.filter(arrive_at__lte=timezone.now()).order_by("-arrive_at", "-pk")
        return runs.filter(arrive_at__gt=timezone.now()).order_by("arrive_at", "pk")


class RunCancel(APIView):
    @extend_schema(request=ReasonInput, responses={200: RunOutput})
    def post(self, request: Request, pk: int) -> Response:
        occurrence = _run(request, pk)
        data = ReasonInput(data=request.data)
        data.is_valid(raise_exception=True)
        occurrence = shuttle.occurrence_cancel(
            actor=request.user, occurrence=occurrence, reason=data.validated_data["reason"]
        )
        return Response(RunOutput(occurrence).data)


class RunMove(APIView):
    """Move one run to other times; everyone signed up is told."""

    @extend_schema(request=MoveInput, responses={200: RunOutput})
    def post(self, request: Request, pk: int) -> Response:
        occurrence = _run(request, pk)
        data = MoveInput(data=request.data)
        data.is_valid(raise_exception=True)
        occurrence = shop_runs.occurrence_reschedule(
            actor=request.user, occurrence=occurrence, **data.validated_data
        )
        return Response(RunOutput(occurrence).data)


class RunSignups(APIView):
    """POST: sign up for the run (yourself, or someone you book for). GET: everyone
    signed up, with the waitlist, for the coordinator."""

    throttle_classes = [UserRateThrottle, BookingThrottle]  # POST: shared with the web pages

    @extend_schema(request=SignupInput, responses={201: SignupOutput})
    def post(self, request: Request, pk: int) -> Response:
        occurrence = _run(request, pk)
        data = SignupInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        passenger = request.user
        if values.get("passenger") is not None:
            passenger = get_object_or_404(
                people_actable_by(actor=request.user), pk=values["passenger"]
            )
        pickup, pickup_address = None, ""
        if values.get("pickup") is not None:
            pickup, pickup_address = _place(values["pickup"], "pickup")
        signup = shop_runs.signup_submit(
            actor=request.user,
            occurrence=occurrence,
            passenger=passenger,
            pickup=pickup,
            pickup_address=pickup_address,
            needs=values["needs"],
            note=values["note"],
            standing=values["standing"],
            waitlist=values["waitlist"],
        )
        return Response(_signup_out(signup), status=status.HTTP_201_CREATED)

    @extend_schema(responses={200: RunSignupRowOutput(many=True)})
    def get(self, request: Request, pk: int) -> Response:
        occurrence = _run(request, pk)
        _require_coordinator(request, occurrence)
        rows = with_waitlist_position(
            RunSignup.objects.filter(occurrence=occurrence)
            .exclude(state=SignupState.CANCELLED)
            .select_related("passenger")
            .order_by("state", "car_number", "stop_order", "created_at", "pk")
        )
        return Response(RunSignupRowOutput(rows, many=True).data)


class RunPlan(APIView):
    """Plan the pickup order now (it is also planned by itself after each change).
    409 `plan_infeasible` says what stands in the way."""

    @extend_schema(request=None, responses={200: RunSheetOutput})
    def post(self, request: Request, pk: int) -> Response:
        occurrence = _run(request, pk)
        _require_coordinator(request, occurrence)
        outcome = shop_runs.occurrence_plan(occurrence_id=occurrence.pk, force=True)
        if outcome.problem:
            raise ApplicationError(
                ShuttleErrorCode.PLAN_INFEASIBLE, outcome.problem, kind=ErrorKind.CONFLICT
            )
        occurrence.refresh_from_db()
        return Response(RunSheetOutput(run_sheet(viewer=request.user, occurrence=occurrence)).data)


class RunSheet(APIView):
    """The run sheet: per car, the stops in order with names, addresses, phone numbers,
    needs and estimated times. Coordinators see every car; a driver their own."""

    @extend_schema(responses={200: RunSheetOutput})
    def get(self, request: Request, pk: int) -> Response:
        occurrence = _run(request, pk)
        sheet = run_sheet(viewer=request.user, occurrence=occurrence)
        if sheet is None:
            raise ApplicationError(
                ShuttleErrorCode.NOT_ALLOWED,
                _("Only the run's drivers and the association's coordinators see the run sheet."),
                kind=ErrorKind.FORBIDDEN,
            )
        return Response(RunSheetOutput(sheet).data)


class RunOfferDrivers(APIView):
    """Offer the run to the drivers available then (the coordinators hear if nobody is)."""

    @extend_schema(request=None, responses={200: RunOfferOutput(many=True)})
    def post(self, request: Request, pk: int) -> Response:
        occurrence = _run(request, pk)
        _require_coordinator(request, occurrence)
        offers = shop_runs.run_offer_drivers(occurrence_id=occurrence.pk)
        return Response(RunOfferOutput(offers, many=True).data)


class RunAssign(APIView):
    """Put a driver's car on the run by hand."""

    @extend_schema(request=AssignInput, responses={201: VehicleOutput})
    def post(self, request: Request, pk: int) -> Response:
        occurrence = _run(request, pk)
        _require_coordinator(request, occurrence)
        data = AssignInput(data=request.data)
        data.is_valid(raise_exception=True)
        driver = (
            DriverProfile.objects.select_related("membership__user")
            .filter(
                pk=data.validated_data["driver"], membership__association=occurrence.association
            )
            .first()
        )
        if driver is None:
            raise ApplicationError(
                ShuttleErrorCode.NOT_DRIVER,
                _("There is no such driver in this association."),
                fields={"driver": [_("Unknown driver.")]},
            )
        vehicle = shop_runs.run_assign_by_coordinator(
            occurrence=occurrence, driver=driver, actor=request.user
        )
        return Response(VehicleOutput(vehicle).data, status=status.HTTP_201_CREATED)


# --- Sign-ups ----------------------------------------------------------------------------------


class SignupList(generics.ListAPIView):
    """My sign-ups and those of the people I book for, soonest run first (coming runs)."""

    serializer_class = SignupOutput

    def get_queryset(self):
        if _fake(self):
            return RunSignup.objects.none()
        return with_waitlist_position(
            signups_of(actor=self.request.user)
            .filter(occurrence__arrive_at__gt=timezone.now())
            .exclude(state=SignupState.CANCELLED)
        )


class SignupCancel(APIView):
    @extend_schema(request=None, responses={200: SignupOutput})
    def post(self, request: Request, pk: int) -> Response:
        signup = shop_runs.signup_withdraw(actor=request.user, signup=_signup(request, pk))
        return Response(_signup_out(signup))


class SignupAcceptSeat(APIView):
    """Take the seat offered from the waitlist."""

    @extend_schema(request=None, responses={200: SignupOutput})
    def post(self, request: Request, pk: int) -> Response:
        signup = shop_runs.seat_answer(actor=request.user, signup=_signup(request, pk), accept=True)
        return Response(_signup_out(signup))


class SignupDeclineSeat(APIView):
    @extend_schema(request=None, responses={200: SignupOutput})
    def post(self, request: Request, pk: int) -> Response:
        signup = shop_runs.seat_answer(
            actor=request.user, signup=_signup(request, pk), accept=False
        )
        return Response(_signup_out(signup))


class SignupOutcome(APIView):
    """The driver marks the stop on the way: picked up, or not home."""

    @extend_schema(request=OutcomeInput, responses={204: None})
    def post(self, request: Request, pk: int) -> Response:
        signup = get_object_or_404(_stops_markable_by(request), pk=pk)
        data = OutcomeInput(data=request.data)
        data.is_valid(raise_exception=True)
        shuttle.signup_mark(
            actor=request.user, signup=signup, outcome=data.validated_data["outcome"]
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


def _stops_markable_by(request: Request):
    """Sign-ups a person may mark: those in their car, and all where they coordinate."""
    return RunSignup.objects.select_related(
        "occurrence__association", "vehicle__driver__membership"
    ).filter(
        Q(vehicle__driver__membership__user=request.user)
        | Q(occurrence__association_id__in=coordinated_association_ids(user=request.user))
    )


class StandingList(generics.ListAPIView):
    """Standing sign-ups ("every time") of me and those I book for."""

    serializer_class = StandingOutput

    def get_queryset(self):
        if _fake(self):
            return StandingSignup.objects.none()
        return standing_visible_to(user=self.request.user).filter(active=True).order_by("pk")


class StandingEnd(APIView):
    @extend_schema(request=None, responses={200: StandingOutput})
    def post(self, request: Request, pk: int) -> Response:
        standing = get_object_or_404(standing_visible_to(user=request.user), pk=pk)
        standing = shuttle.standing_end(actor=request.user, standing=standing)
        return Response(StandingOutput(standing).data)


# --- Drivers ------------------------------------------------------------------------------------


class RunOfferList(generics.ListAPIView):
    """Runs offered to me that wait for my answer."""

    serializer_class = RunOfferOutput

    def get_queryset(self):
        if _fake(self):
            return RunOffer.objects.none()
        return run_offers_for(user=self.request.user)


class RunOfferAccept(APIView):
    """Take the run. When it already has the cars it needs: 409."""

    @extend_schema(request=None, responses={200: VehicleOutput})
    def post(self, request: Request, pk: int) -> Response:
        vehicle = shop_runs.run_offer_accept(offer_id=pk, actor=request.user)
        return Response(VehicleOutput(vehicle).data)


class RunOfferDecline(APIView):
    @extend_schema(request=None, responses={200: RunOfferOutput})
    def post(self, request: Request, pk: int) -> Response:
        offer = shop_runs.run_offer_decline(offer_id=pk, actor=request.user)
        return Response(RunOfferOutput(offer).data)


class VehicleWithdraw(APIView):
    """The driver cannot drive the run after all (or a coordinator takes the car off)."""

    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request, pk: int) -> Response:
        vehicle = get_object_or_404(
            RunVehicle.objects.select_related(
                "occurrence__association", "driver__membership"
            ).filter(occurrence__in=occurrences_visible_to(user=request.user)),
            pk=pk,
        )
        shop_runs.vehicle_remove(actor=request.user, vehicle=vehicle)
        return Response(status=status.HTTP_204_NO_CONTENT)

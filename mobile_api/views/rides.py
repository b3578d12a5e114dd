"""Volunteer rides: riders request and follow them, drivers answer offers and report
progress, coordinators watch, assign and pay mileage.

A ride is looked up through the viewer's visible set (`rides_visible_to`), so a ride
someone may not see is a 404; what they see of it depends on who they are (see
`mobile_api.rides_serializers`).
"""

import csv
import io
from contextlib import contextmanager
from datetime import date
from decimal import Decimal

import django_filters
from django.contrib.gis.geos import Point
from django.db.models import F
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
)
from rest_framework import generics, status
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.accounts.models import User
from backend.audit.services import audit_record, audit_record_many
from backend.community.selectors import (
    associations_visible_to,
    memberships_visible_to,
    people_actable_by,
    people_actable_scope,
    user_is_coordinator,
)
from backend.errors import ApplicationError, ErrorKind
from backend.rides import services as rides
from backend.rides.claims import (
    mileage_claim_approve,
    mileage_claim_decision_audit,
    mileage_claim_decline,
)
from backend.rides.drivers import rider_approve
from backend.rides.errors import RideErrorCode
from backend.rides.models import (
    CLOSED_STATES,
    ClaimState,
    DriverProfile,
    MileageClaim,
    Offer,
    RideEvent,
    RideRequest,
    RideState,
)
from backend.rides.places import KnownPlace, known_places_seen_by, place_point
from backend.rides.selectors import (
    RideView,
    mileage_claims_decidable_by,
    mileage_claims_decided,
    mileage_claims_waiting,
    mileage_report,
    offer_pending_for,
    pending_offer_count,
    pending_offer_rows,
    ride_count_for_coordinators,
    ride_count_of_riders,
    ride_row,
    ride_rows_for_coordinators,
    ride_rows_of_riders,
    ride_view_for,
    rider_associations,
    rides_for_coordinators,
    rides_of_rider,
    rides_visible_to,
)
from backend.rides.services import RideTime
from dispatch import offers
from dispatch.matching import candidates
from dispatch.services import (
    ride_cancel,
    ride_driver_withdraw,
    ride_mark_unfulfilled,
    ride_request_submit,
)
from mobile_api.audit import AuditedListMixin
from mobile_api.filtering import FilterOnlyWhenAsked
from mobile_api.pagination import paginated_rows
from mobile_api.renderers import JSONRenderer
from mobile_api.rides_serializers import (
    AssignInput,
    CancelInput,
    CompleteInput,
    DriverPastRideOutput,
    DriverRideOutput,
    KnownPlaceOutput,
    MileageClaimQuery,
    MileageClaimRowOutput,
    MileageRowOutput,
    OfferOutput,
    ReasonInput,
    RequiredReasonInput,
    RideEventOutput,
    RideOfferViewOutput,
    RideOutput,
    RidePlacesQuery,
    RiderApprovalInput,
    RiderApprovalOutput,
    RideRequestInput,
    SuggestionOutput,
    offer_row_output,
    ride_row_output,
)
from mobile_api.throttles import BookingThrottle, UserRateThrottle

# Everything a ride's serialisers and permission checks touch, in one query.
RIDE_RELATED = ("rider", "association", "village", "driver__membership__user", "return_ride")

# What RideOutput shows of a ride in a list, and nothing else: the people's and the
# driver's other columns, and the village's outline, cost more to load than the rest.
RIDE_LIST_RELATED = ("rider", "village", "driver__membership__user", "return_ride")
RIDE_LIST_COLUMNS = (
    *(
        name
        for name in RideOutput.Meta.fields
        if name not in ("view", "distance_km", "return_ride", "driver")
    ),
    "distance_m",
    "driver",
    "rider__full_name",
    "rider__phone",
    "rider__is_managed",
    "village__name",
    "driver__vehicle_description",
    "driver__membership__user__full_name",
    "driver__membership__user__phone",
    "return_ride__return_of",
)

RIDE_DETAIL = PolymorphicProxySerializer(
    component_name="RideDetail",
    serializers=[RideOutput, DriverRideOutput, DriverPastRideOutput, RideOfferViewOutput],
    resource_type_field_name=None,
)


def _ride(request: Request, pk: int) -> tuple[RideRequest, RideView]:
    """The ride and how the person asking sees it; 404 when they may not see it."""
    ride = get_object_or_404(
        rides_visible_to(user=request.user).select_related(*RIDE_RELATED), pk=pk
    )
    view = ride_view_for(viewer=request.user, ride=ride)
    if view is None:
        raise Http404
    return ride, view


def _present(ride: RideRequest, viewer: User) -> dict:
    """The ride in the shape this viewer may see (after a change, that can be another
    shape than before: a completed ride shows its driver only the area)."""
    ride = RideRequest.objects.select_related(*RIDE_RELATED).get(pk=ride.pk)
    view = ride_view_for(viewer=viewer, ride=ride)
    if view == RideView.FULL:
        return RideOutput(ride).data
    if view == RideView.DRIVER:
        return DriverRideOutput(ride).data
    if view == RideView.DRIVER_PAST:
        return DriverPastRideOutput(ride).data
    if view == RideView.OFFER:
        return RideOfferViewOutput(offer_pending_for(ride=ride, user=viewer)).data
    raise Http404


def _require_coordinator(viewer: User, ride: RideRequest) -> None:
    if not user_is_coordinator(user=viewer, association=ride.association):
        raise ApplicationError(
            RideErrorCode.NOT_ALLOWED,
            _("Only a coordinator of the association can see this."),
            kind=ErrorKind.FORBIDDEN,
        )


# --- Riders ----------------------------------------------------------------------------------

# The service names the parts of the time by its own arguments; the API nests them.
_TIME_FIELDS = {
    "at": "time.at",
    "window_start": "time.window_start",
    "window_end": "time.window_end",
}


@contextmanager
def _fields_renamed(names: dict[str, str]):
    try:
        yield
    except ApplicationError as error:
        error.fields = {names.get(name, name): messages for name, messages in error.fields.items()}
        raise


def _place(place: dict, field: str, known: list[KnownPlace] | None = None) -> tuple[Point, str]:
    """The point and the address of a ride's place (`place_point`)."""
    point = place_point(
        address=place["address"], point=place.get("point"), known=known, field=f"{field}.address"
    )
    return point, place["address"]


def _only_rider_association(rider: User):
    """The association to book with when none is named: the only one that approved the
    rider; when there are several (or none), the person has to choose."""
    approved = list(rider_associations(rider=rider)[:2])
    if len(approved) != 1:
        raise ApplicationError(
            "association_required",
            _("Choose which association should drive %(name)s.") % {"name": rider.full_name},
            fields={"association": [_("Choose an association.")]},
        )
    return approved[0]


class MyRidesFilter(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(choices=RideState.choices)
    upcoming = django_filters.BooleanFilter(
        method="filter_upcoming",
        label="true: rides not yet done or cancelled, soonest first; false: closed rides.",
    )

    class Meta:
        model = RideRequest
        fields = ["state", "upcoming"]

    def filter_upcoming(self, rides, name: str, value: bool):
        if value:
            return rides.exclude(state__in=CLOSED_STATES).order_by("earliest_pickup", "pk")
        return rides.filter(state__in=CLOSED_STATES)


class RideList(FilterOnlyWhenAsked, generics.ListAPIView):
    """My rides and those of the people I book for, newest first."""

    throttle_classes = [UserRateThrottle, BookingThrottle]  # POST: shared with the web pages

    serializer_class = RideOutput
    filterset_class = MyRidesFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation, no user
            return RideRequest.objects.none()
        return (
            rides_of_rider(actor=self.request.user)
            .select_related(*RIDE_LIST_RELATED)
            .only(*RIDE_LIST_COLUMNS)
        )

    def list(self, request: Request, *args, **kwargs) -> Response:
        if self.filters_asked():
            return super().list(request, *args, **kwargs)
        # The list the apps poll, unfiltered, read with written-out SQL: compiling the
        # ORM query and building five model instances a ride cost most of the request.
        people = people_actable_scope(actor=request.user)
        return paginated_rows(
            self,
            rows=lambda offset, limit: ride_rows_of_riders(
                people=people, offset=offset, limit=limit
            ),
            count=lambda: ride_count_of_riders(people=people),
            shape=ride_row_output,
        )

    @extend_schema(
        request=RideRequestInput,
        responses={
            201: RideOutput,
            409: OpenApiResponse(
                description="`ride_already_requested`: the rider already has this ride (the "
                "same places and time), not yet done or cancelled, so it was not booked "
                "again; `error.ride` is its id."
            ),
        },
    )
    def post(self, request: Request) -> Response:
        """Ask for a ride (for yourself or someone you book for). Dispatch starts looking
        for a driver at once. Asking again for the same ride (a second tap) books nothing:
        409 `ride_already_requested`, naming the ride in `error.ride`."""
        data = RideRequestInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        rider = request.user
        if values.get("rider") is not None:
            rider = get_object_or_404(people_actable_by(actor=request.user), pk=values["rider"])
        association = values.get("association") or _only_rider_association(rider)
        known = (
            known_places_seen_by(actor=request.user, rider=rider, association_id=association.pk)
            or []
        )
        pickup, pickup_address = _place(values["pickup"], "pickup", known)
        destination, destination_address = _place(values["destination"], "destination", known)
        with _fields_renamed(_TIME_FIELDS):
            ride = ride_request_submit(
                requested_by=request.user,
                rider=rider,
                association=association,
                pickup=pickup,
                pickup_address=pickup_address,
                destination=destination,
                destination_address=destination_address,
                when=RideTime(**values["time"]),
                passengers=values["passengers"],
                needs=values["needs"],
                note=values["note"],
                return_at=values.get("return_at"),
            )
        # Whoever asked may act for the rider (checked above), so sees the whole ride:
        # read as the list reads it, not with the ORM's join of seven tables, which
        # PostgreSQL planned anew on every request.
        return Response(ride_row_output(ride_row(ride_id=ride.pk)), status=status.HTTP_201_CREATED)


class RidePlaces(APIView):
    """The places a rider knows, to offer when booking: their home first (when it is on
    the map), then the destinations and pickups of their latest rides, each address once
    (at most 6). A place sent back as a ride's `pickup` or `destination` with its `point`
    is booked there; with the address alone, the address is matched to these places
    before it is looked up."""

    @extend_schema(parameters=[RidePlacesQuery], responses={200: KnownPlaceOutput(many=True)})
    def get(self, request: Request) -> Response:
        query = RidePlacesQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        rider = request.user
        if query.validated_data.get("rider") is not None:
            rider = get_object_or_404(
                people_actable_by(actor=request.user), pk=query.validated_data["rider"]
            )
        places = known_places_seen_by(
            actor=request.user,
            rider=rider,
            association_id=query.validated_data.get("association"),
        )
        if places is None:
            message = _(
                "Name the association you book with: you book for %(name)s only with an "
                "association you coordinate."
            ) % {"name": rider.full_name}
            raise ApplicationError(
                "association_required", message, fields={"association": [message]}
            )
        if rider.pk != request.user.pk:
            audit_record(actor=request.user, action="ride_places.view", subject=rider)
        return Response(KnownPlaceOutput(places, many=True).data)


class RideDetail(APIView):
    """One ride, in the shape the person asking may see."""

    @extend_schema(responses={200: RIDE_DETAIL})
    def get(self, request: Request, pk: int) -> Response:
        ride, view = _ride(request, pk)
        audit_record(
            actor=request.user,
            action="ride.view",
            subject=ride.rider,
            detail={"ride": ride.pk, "view": view},
        )
        return Response(_present(ride, request.user))


class RideCancel(APIView):
    """Cancel for the passenger's side: the rider, whoever books for them, a coordinator.
    A ride with a return trip: `with_return` cancels that too; without it the return trip
    stays booked."""

    @extend_schema(request=CancelInput, responses={200: RideOutput})
    def post(self, request: Request, pk: int) -> Response:
        ride, _view = _ride(request, pk)
        data = CancelInput(data=request.data)
        data.is_valid(raise_exception=True)
        ride = ride_cancel(
            ride=ride,
            actor=request.user,
            reason=data.validated_data["reason"],
            with_return=data.validated_data["with_return"],
        )
        return Response(_present(ride, request.user))


class RideUnfulfilled(APIView):
    """A coordinator closes an open ride no driver will take (the rider is told the
    association will call); offers still waiting are withdrawn."""

    @extend_schema(request=ReasonInput, responses={200: RideOutput})
    def post(self, request: Request, pk: int) -> Response:
        ride, _view = _ride(request, pk)
        data = ReasonInput(data=request.data)
        data.is_valid(raise_exception=True)
        ride = ride_mark_unfulfilled(
            ride=ride, actor=request.user, reason=data.validated_data["reason"]
        )
        return Response(_present(ride, request.user))


# --- Drivers: offers and the ride's progress ------------------------------------------------


class OfferList(generics.ListAPIView):
    """Rides offered to me that wait for my answer: the area, not the address."""

    serializer_class = OfferOutput
    # Read with written-out SQL instead (`list`): the apps poll it, and compiling the ORM
    # query and building its instances cost most of the request. For the schema only.
    queryset = Offer.objects.none()

    def list(self, request: Request, *args, **kwargs) -> Response:
        return paginated_rows(
            self,
            rows=lambda offset, limit: pending_offer_rows(
                user=request.user, offset=offset, limit=limit
            ),
            count=lambda: pending_offer_count(user=request.user),
            shape=offer_row_output,
        )


class OfferAccept(APIView):
    """Take the ride. When another driver was faster: 409 `ride_already_accepted`."""

    @extend_schema(request=None, responses={200: DriverRideOutput})
    def post(self, request: Request, pk: int) -> Response:
        ride = offers.offer_accept(offer_id=pk, actor=request.user)
        return Response(_present(ride, request.user))


class OfferDecline(APIView):
    @extend_schema(request=None, responses={200: OfferOutput})
    def post(self, request: Request, pk: int) -> Response:
        offer = offers.offer_decline(offer_id=pk, actor=request.user)
        return Response(OfferOutput(offer).data)


class RideStart(APIView):
    """The driver sets off to the pickup."""

    @extend_schema(request=None, responses={200: RIDE_DETAIL})
    def post(self, request: Request, pk: int) -> Response:
        ride, _view = _ride(request, pk)
        ride = rides.ride_start(ride=ride, actor=request.user)
        return Response(_present(ride, request.user))


class RidePickedUp(APIView):
    """The passenger is in the car."""

    @extend_schema(request=None, responses={200: RIDE_DETAIL})
    def post(self, request: Request, pk: int) -> Response:
        ride, _view = _ride(request, pk)
        ride = rides.ride_pick_up(ride=ride, actor=request.user)
        return Response(_present(ride, request.user))


class RideComplete(APIView):
    """Arrived. `driven_m` is what goes into the mileage claim; beyond what the ride can
    take, with `explanation`, the rest waits for a coordinator's approval (the driver's
    logbook shows the claim and what became of it)."""

    @extend_schema(request=CompleteInput, responses={200: RIDE_DETAIL})
    def post(self, request: Request, pk: int) -> Response:
        ride, _view = _ride(request, pk)
        data = CompleteInput(data=request.data)
        data.is_valid(raise_exception=True)
        ride = rides.ride_complete(
            ride=ride,
            actor=request.user,
            driven_m=data.validated_data.get("driven_m"),
            explanation=data.validated_data["explanation"],
        )
        return Response(_present(ride, request.user))


class RideNoShow(APIView):
    """The driver came; the passenger did not."""

    @extend_schema(request=ReasonInput, responses={200: RIDE_DETAIL})
    def post(self, request: Request, pk: int) -> Response:
        ride, _view = _ride(request, pk)
        data = ReasonInput(data=request.data)
        data.is_valid(raise_exception=True)
        ride = rides.ride_no_show(
            ride=ride, actor=request.user, reason=data.validated_data["reason"]
        )
        return Response(_present(ride, request.user))


class RideWithdraw(APIView):
    """The driver cannot do it after all: the ride goes back to dispatch, and the driver
    no longer sees it."""

    @extend_schema(request=RequiredReasonInput, responses={204: None})
    def post(self, request: Request, pk: int) -> Response:
        ride, _view = _ride(request, pk)
        data = RequiredReasonInput(data=request.data)
        data.is_valid(raise_exception=True)
        ride_driver_withdraw(ride=ride, actor=request.user, reason=data.validated_data["reason"])
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Coordinators ----------------------------------------------------------------------------


class RideSuggestions(APIView):
    """Drivers who could take the ride, best first: near, and fair among the near."""

    @extend_schema(responses={200: SuggestionOutput(many=True)})
    def get(self, request: Request, pk: int) -> Response:
        ride, _view = _ride(request, pk)
        _require_coordinator(request.user, ride)
        found = candidates(ride)
        profiles = DriverProfile.objects.select_related("membership__user").in_bulk(
            [candidate.driver_id for candidate in found]
        )
        rows = [
            {
                "driver": candidate.driver_id,
                "full_name": profiles[candidate.driver_id].membership.user.full_name,
                "phone": profiles[candidate.driver_id].membership.user.phone,
                "car": profiles[candidate.driver_id].vehicle_description,
                "distance_km": round(candidate.distance_m / 1000, 1),
                "pickup_at": candidate.pickup_at,
                "recent_rides": candidate.recent_rides,
            }
            for candidate in found
        ]
        return Response(SuggestionOutput(rows, many=True).data)


class RideAssign(APIView):
    """Give the ride to a driver by hand; they are told and can still say no."""

    @extend_schema(request=AssignInput, responses={200: RideOutput})
    def post(self, request: Request, pk: int) -> Response:
        ride, _view = _ride(request, pk)
        data = AssignInput(data=request.data)
        data.is_valid(raise_exception=True)
        driver = (
            DriverProfile.objects.select_related("membership__user")
            .filter(pk=data.validated_data["driver"])
            .first()
        )
        if driver is None:
            raise ApplicationError(
                RideErrorCode.NOT_DRIVER,
                _("There is no such driver."),
                fields={"driver": [_("Unknown driver.")]},
            )
        ride = offers.ride_assign_by_coordinator(ride_id=ride.pk, driver=driver, actor=request.user)
        return Response(_present(ride, request.user))


class RideEvents(APIView):
    """The ride's history: every change of state and every offer, with who and when."""

    @extend_schema(responses={200: RideEventOutput(many=True)})
    def get(self, request: Request, pk: int) -> Response:
        ride, _view = _ride(request, pk)
        _require_coordinator(request.user, ride)
        audit_record(
            actor=request.user,
            action="ride.view",
            subject=ride.rider,
            detail={"ride": ride.pk, "view": "events"},
        )
        states = [
            {
                "at": event.at,
                "event": "state",
                "from_state": event.from_state,
                "to_state": event.to_state,
                "actor": event.actor.full_name if event.actor else None,
                "driver": None,
                "reason": event.reason,
            }
            for event in RideEvent.objects.filter(ride=ride).select_related("actor")
        ]
        lines = list(states)
        offers_made = Offer.objects.filter(ride=ride).select_related("driver__membership__user")
        for offer in offers_made:
            driver = offer.driver.membership.user.full_name
            line = {"from_state": "", "to_state": "", "actor": None, "driver": driver, "reason": ""}
            if offer.manual:
                # Given by hand: who did it is the actor of the acceptance just before.
                at = offer.answered_at or offer.created_at
                by = [e["actor"] for e in states if e["to_state"] == "accepted" and e["at"] <= at]
                lines.append(
                    {**line, "at": at, "event": "assigned", "actor": by[-1] if by else None}
                )
                continue
            lines.append({**line, "at": offer.created_at, "event": "offer_sent"})
            if offer.answered_at is not None:
                lines.append({**line, "at": offer.answered_at, "event": f"offer_{offer.state}"})
        lines.sort(key=lambda line: line["at"])
        return Response(RideEventOutput(lines, many=True).data)


def _coordinated_association(request: Request, pk: int):
    association = get_object_or_404(associations_visible_to(user=request.user), pk=pk)
    if not user_is_coordinator(user=request.user, association=association):
        raise ApplicationError(
            RideErrorCode.NOT_ALLOWED,
            _("Only a coordinator of the association can see this."),
            kind=ErrorKind.FORBIDDEN,
        )
    return association


class AssociationRidesFilter(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(choices=RideState.choices)
    day = django_filters.DateFilter(
        field_name="earliest_pickup", lookup_expr="date", label="Pickup on this day (local)."
    )
    village = django_filters.NumberFilter(field_name="village")

    class Meta:
        model = RideRequest
        fields = ["state", "day", "village"]


class AssociationRides(AuditedListMixin, FilterOnlyWhenAsked, generics.ListAPIView):
    """The association's rides for its coordinators: the ones without a driver first,
    then by pickup time."""

    serializer_class = RideOutput
    filterset_class = AssociationRidesFilter
    audit_action = "ride.view"
    audit_subject_field = "rider_id"

    def audit_detail(self) -> dict:
        return {"association": self.kwargs["pk"], "view": "board"}

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation, no user
            return RideRequest.objects.none()
        association = _coordinated_association(self.request, self.kwargs["pk"])
        return (
            rides_for_coordinators(association=association)
            .select_related(*RIDE_LIST_RELATED)
            .only(*RIDE_LIST_COLUMNS)
        )

    def list(self, request: Request, *args, **kwargs) -> Response:
        if self.filters_asked():
            return super().list(request, *args, **kwargs)
        # Unfiltered (the coordinators' board), read with written-out SQL as RideList is.
        association = _coordinated_association(request, self.kwargs["pk"])
        return paginated_rows(
            self,
            rows=lambda offset, limit: ride_rows_for_coordinators(
                association_id=association.pk, offset=offset, limit=limit
            ),
            count=lambda: ride_count_for_coordinators(association_id=association.pk),
            shape=ride_row_output,
        )


class CsvRenderer(BaseRenderer):
    """The mileage report as a spreadsheet: UTF-8 with a byte order mark, so that Excel
    shows å, ä and ö."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([_("driver"), _("rides"), _("km"), _("amount (SEK)")])
        for row in data:
            writer.writerow([row["driver_name"], row["rides"], row["km"], row["amount_sek"]])
        return ("\ufeff" + out.getvalue()).encode()


def _month(request: Request) -> date:
    value = request.query_params.get("month")
    if not value:
        return timezone.localdate().replace(day=1)
    try:
        year, month = (int(part) for part in value.split("-"))
        if not 2000 <= year <= 2999:
            raise ValueError(value)
        return date(year, month, 1)
    except ValueError as error:
        raise ApplicationError(
            "invalid",
            _("Give the month as YYYY-MM, e.g. 2025-03."),
            fields={"month": [_("Use the form YYYY-MM.")]},
        ) from error


class AssociationMileage(APIView):
    """Kilometres and reimbursement per driver for one month (completed rides, local
    time): JSON rows, or a CSV file with `?format=csv` or `Accept: text/csv`."""

    renderer_classes = [JSONRenderer, CsvRenderer]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "month", OpenApiTypes.STR, description="YYYY-MM; default: this month."
            ),
            OpenApiParameter("format", OpenApiTypes.STR, enum=["json", "csv"]),
        ],
        responses={
            (200, "application/json"): MileageRowOutput(many=True),
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR, description="driver, rides, km, amount (SEK)"
            ),
        },
    )
    def get(self, request: Request, pk: int) -> Response:
        association = _coordinated_association(request, pk)
        month = _month(request)
        report = mileage_report(association=association, year=month.year, month=month.month)
        rows = [
            {
                "driver": row.driver_id,
                "driver_name": row.driver_name,
                "rides": row.rides,
                "km": row.km,
                "amount_sek": Decimal(row.amount_ore).scaleb(-2),
            }
            for row in report
        ]
        audit_record_many(
            actor=request.user,
            action="mileage.view",
            subject_ids=DriverProfile.objects.filter(
                pk__in=[row.driver_id for row in report]
            ).values_list("membership__user_id", flat=True),
            detail={"association": association.pk, "month": f"{month:%Y-%m}"},
        )
        response = Response(MileageRowOutput(rows, many=True).data)
        if request.accepted_renderer.format == "csv":
            response["Content-Disposition"] = (
                f'attachment; filename="mileage-{association.pk}-{month:%Y-%m}.csv"'
            )
        return response

    def handle_exception(self, exc: Exception) -> Response:
        # Errors are JSON, also when a CSV file was asked for.
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return super().handle_exception(exc)


class AssociationMileageClaims(AuditedListMixin, generics.ListAPIView):
    """Kilometres claimed beyond what a ride can take, for the association's coordinators
    to approve or decline: every claim still waiting (oldest first), or with
    `?state=approved|declined` those decided on rides of `?month=` (default this month).
    The drivers' explanations are theirs, so each driver listed is recorded in the audit
    log (`mileage.view`, as the console's mileage page)."""

    serializer_class = MileageClaimRowOutput
    audit_action = "mileage.view"
    audit_subject_field = "driver_user_id"

    def audit_detail(self) -> dict:
        return {"association": self.kwargs["pk"], "view": "claims"}

    @extend_schema(
        parameters=[
            MileageClaimQuery,
            OpenApiParameter(
                "month",
                OpenApiTypes.STR,
                description="YYYY-MM, for decided claims; default: this month.",
            ),
        ]
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation, no user
            return MileageClaim.objects.none()
        association = _coordinated_association(self.request, self.kwargs["pk"])
        query = MileageClaimQuery(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        state = query.validated_data["state"]
        if state == ClaimState.PENDING:
            claims = mileage_claims_waiting(association=association)
        else:
            month = _month(self.request)
            claims = mileage_claims_decided(
                association=association, state=state, year=month.year, month=month.month
            )
        # Whose explanation each row shows, for the audit log, in the same query.
        return claims.annotate(driver_user_id=F("ride__driver__membership__user_id"))


def _claim(request: Request, pk: int) -> MileageClaim:
    """A claim on a ride of an association the caller coordinates; 404 for any other."""
    return get_object_or_404(mileage_claims_decidable_by(user=request.user), pk=pk)


class MileageClaimApprove(APIView):
    """Approve the kilometres claimed: the ride counts them from now on, and the driver
    is told. Deciding a claim already decided is a conflict (409) that says how."""

    @extend_schema(request=None, responses={200: MileageClaimRowOutput})
    def post(self, request: Request, pk: int) -> Response:
        claim = mileage_claim_approve(claim=_claim(request, pk), actor=request.user)
        mileage_claim_decision_audit(claim=claim, actor=request.user, action="approve")
        return Response(MileageClaimRowOutput(claim).data)


class MileageClaimDecline(APIView):
    """Decline the kilometres claimed, saying why (`reason`, required, the driver sees
    it): the ride keeps counting what it can take."""

    @extend_schema(request=RequiredReasonInput, responses={200: MileageClaimRowOutput})
    def post(self, request: Request, pk: int) -> Response:
        claim = _claim(request, pk)
        data = RequiredReasonInput(data=request.data)
        data.is_valid(raise_exception=True)
        claim = mileage_claim_decline(
            claim=claim, actor=request.user, reason=data.validated_data["reason"]
        )
        mileage_claim_decision_audit(claim=claim, actor=request.user, action="decline")
        return Response(MileageClaimRowOutput(claim).data)


class RiderApprove(APIView):
    """A coordinator approves a member for volunteer rides (with eligibility notes)."""

    @extend_schema(request=RiderApprovalInput, responses={200: RiderApprovalOutput})
    def post(self, request: Request, pk: int) -> Response:
        membership = get_object_or_404(memberships_visible_to(viewer=request.user), pk=pk)
        data = RiderApprovalInput(data=request.data)
        data.is_valid(raise_exception=True)
        approval = rider_approve(
            actor=request.user, membership=membership, notes=data.validated_data["notes"]
        )
        audit_record(
            actor=request.user,
            action="rider.approve",
            subject=membership.user,
            detail={"membership": membership.pk, "association": membership.association_id},
        )
        return Response(RiderApprovalOutput(approval).data)

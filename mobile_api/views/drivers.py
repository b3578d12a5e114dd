"""A volunteer driver's own settings: profile, weekly availability, days away or extra,
duty and live position, and the logbook of completed rides.

A driver drives for one association at a time; someone who drives for several names
the association (`association`, in the query or the body). Without it the only
association they drive for is meant.
"""

import django_filters
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.community.models import Membership, Role
from backend.errors import ApplicationError, ErrorKind
from backend.rides.drivers import (
    Slot,
    availability_exception_add,
    availability_exception_remove,
    availability_set,
    driver_position_update,
    driver_profile_save,
    driver_set_duty,
)
from backend.rides.models import (
    DRIVER_HOLDS,
    AvailabilityException,
    DriverProfile,
    RideRequest,
    RideState,
)
from backend.rides.selectors import (
    driver_logbook,
    driver_profiles_of,
    driver_ride_count,
    driver_ride_rows,
    rides_of_driver,
)
from mobile_api.filtering import FilterOnlyWhenAsked
from mobile_api.pagination import paginated_rows
from mobile_api.rides_serializers import (
    AvailabilityExceptionInput,
    AvailabilityExceptionOutput,
    AvailabilityInput,
    AvailabilityOutput,
    DriverProfileInput,
    DriverProfileOutput,
    DriverRideRowOutput,
    DutyInput,
    LogbookRowOutput,
    PositionInput,
    PositionOutput,
    driver_ride_row_output,
)

ASSOCIATION_PARAMETER = OpenApiParameter(
    "association",
    OpenApiTypes.INT,
    description="The association you drive for; needed only if you drive for several.",
)


def _choose_association() -> ApplicationError:
    return ApplicationError(
        "association_required",
        _("You drive for more than one association. Say which one you mean."),
        fields={"association": [_("Choose an association.")]},
    )


def _association_id(request: Request, value=None) -> int | None:
    """The association named in the body, else in the query string."""
    if value is not None:
        return value
    raw = request.query_params.get("association")
    if raw is None or raw == "":
        return None
    # ASCII only: str.isdigit() is also true for "¹" or "٣", which int() refuses or reads.
    if not (raw.isascii() and raw.isdigit()):
        raise ApplicationError(
            "invalid",
            _("Give the association's number."),
            fields={"association": [_("A whole number is required.")]},
        )
    return int(raw)


def _driver_membership(request: Request, association_id: int | None) -> Membership:
    """My membership to drive for (a profile may not exist yet)."""
    memberships = Membership.objects.filter(user=request.user).select_related("association")
    if association_id is not None:
        return get_object_or_404(memberships, association_id=association_id)
    found = list(memberships.filter(roles__contains=[Role.DRIVER])[:2])
    if not found:
        raise ApplicationError(
            "not_driver",
            _("You are not a volunteer driver in any association yet."),
            kind=ErrorKind.NOT_FOUND,
        )
    if len(found) > 1:
        raise _choose_association()
    return found[0]


def _driver(request: Request, association_id: int | None) -> DriverProfile:
    """My driver profile (an active driver's)."""
    profiles = driver_profiles_of(user=request.user).select_related("membership__user")
    if association_id is not None:
        return get_object_or_404(profiles, membership__association_id=association_id)
    found = list(profiles[:2])
    if not found:
        raise ApplicationError(
            "driver_profile_missing",
            _("Set up your driver profile first: where you drive from, and your car."),
            kind=ErrorKind.NOT_FOUND,
        )
    if len(found) > 1:
        raise _choose_association()
    return found[0]


class DriverProfileView(APIView):
    """Where I drive from, how far, and in what car."""

    @extend_schema(parameters=[ASSOCIATION_PARAMETER], responses={200: DriverProfileOutput})
    def get(self, request: Request) -> Response:
        membership = _driver_membership(request, _association_id(request))
        profile = get_object_or_404(
            DriverProfile.objects.select_related("membership"), membership=membership
        )
        return Response(DriverProfileOutput(profile).data)

    @extend_schema(
        parameters=[ASSOCIATION_PARAMETER],
        request=DriverProfileInput,
        responses={200: DriverProfileOutput},
    )
    def put(self, request: Request) -> Response:
        """Create or change my profile; fields left out keep their value."""
        membership = _driver_membership(request, _association_id(request))
        data = DriverProfileInput(data=request.data)
        data.is_valid(raise_exception=True)
        profile = driver_profile_save(
            actor=request.user, membership=membership, values=dict(data.validated_data)
        )
        return Response(DriverProfileOutput(profile).data)


class DriverAvailability(APIView):
    """When I can drive, every week. Replaces what was there."""

    @extend_schema(request=AvailabilityInput, responses={200: AvailabilityOutput})
    def put(self, request: Request) -> Response:
        data = AvailabilityInput(data=request.data)
        data.is_valid(raise_exception=True)
        driver = _driver(request, _association_id(request, data.validated_data.get("association")))
        availability_set(
            actor=request.user,
            driver=driver,
            slots=[Slot(**slot) for slot in data.validated_data["slots"]],
        )
        return Response(
            AvailabilityOutput(
                {"association": driver.membership.association_id, "slots": driver.slots.all()}
            ).data
        )


class DriverExceptions(APIView):
    """A dated change to my week: away (all day or some hours), or extra time."""

    @extend_schema(request=AvailabilityExceptionInput, responses={201: AvailabilityExceptionOutput})
    def post(self, request: Request) -> Response:
        data = AvailabilityExceptionInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        driver = _driver(request, _association_id(request, values.get("association")))
        exception = availability_exception_add(
            actor=request.user,
            driver=driver,
            day=values["date"],
            kind=values["kind"],
            start=values.get("start"),
            end=values.get("end"),
        )
        return Response(AvailabilityExceptionOutput(exception).data, status=status.HTTP_201_CREATED)


class DriverException(APIView):
    """One of my dated changes (a day away, an extra time)."""

    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        """Remove it: my week applies that day again. Someone else's is a 404."""
        exception = get_object_or_404(
            AvailabilityException.objects.select_related("driver__membership"),
            pk=pk,
            driver__in=driver_profiles_of(user=request.user),
        )
        availability_exception_remove(
            actor=request.user, driver=exception.driver, exception_id=exception.pk
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class DriverDuty(APIView):
    """On duty I share my position with the riders I am on the way to; off duty it is
    forgotten."""

    @extend_schema(request=DutyInput, responses={200: DriverProfileOutput})
    def post(self, request: Request) -> Response:
        data = DutyInput(data=request.data)
        data.is_valid(raise_exception=True)
        driver = _driver(request, _association_id(request, data.validated_data.get("association")))
        driver = driver_set_duty(
            actor=request.user, driver=driver, on_duty=data.validated_data["on_duty"]
        )
        return Response(DriverProfileOutput(driver).data)


class DriverPosition(APIView):
    """Where I am now: shown live to the riders I am on the way to or carrying. Only
    on duty (409 otherwise)."""

    @extend_schema(request=PositionInput, responses={200: PositionOutput})
    def post(self, request: Request) -> Response:
        data = PositionInput(data=request.data)
        data.is_valid(raise_exception=True)
        driver = _driver(request, _association_id(request, data.validated_data.get("association")))
        sent = driver_position_update(
            actor=request.user, driver=driver, point=data.validated_data["point"]
        )
        return Response({"sent_to": sent})


class DriverRidesFilter(django_filters.FilterSet):
    state = django_filters.MultipleChoiceFilter(choices=RideState.choices)
    # A choice rather than a boolean: a value that is neither is a 400, not ignored.
    upcoming = django_filters.ChoiceFilter(
        choices=[("true", "true"), ("false", "false")],
        method="filter_upcoming",
        label="true: rides I hold (accepted, on the way, on board), soonest first; "
        "false: closed rides (completed, no-show, cancelled), latest first.",
    )

    class Meta:
        model = RideRequest
        fields = ["state", "upcoming"]

    def filter_upcoming(self, rides, name: str, value: str):
        if value == "true":
            return rides.filter(state__in=DRIVER_HOLDS)
        return rides.exclude(state__in=DRIVER_HOLDS)


# What DriverRideRowOutput shows, and nothing else (a rider's other columns, the village's
# outline and the ride's own unused columns cost more to load than the rest).
DRIVER_RIDE_COLUMNS = (
    "id",
    "state",
    "association",
    "village__name",
    "rider__full_name",
    "planned_pickup",
    "pickup",
    "pickup_address",
    "destination",
    "destination_address",
    "passengers",
    "needs",
    "distance_m",
    "driven_m",
    "closed_at",
)


class DriverRides(FilterOnlyWhenAsked, generics.ListAPIView):
    """The rides I drive, in every association I drive for: the ones I hold first
    (soonest first, with the addresses and the steps I can take next), then the closed
    ones (latest first, the approximate area only). Paginated."""

    serializer_class = DriverRideRowOutput
    filterset_class = DriverRidesFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation, no user
            return RideRequest.objects.none()
        return (
            rides_of_driver(user=self.request.user)
            .select_related("rider", "village")
            .only(*DRIVER_RIDE_COLUMNS)
        )

    def list(self, request: Request, *args, **kwargs) -> Response:
        if self.filters_asked():
            return super().list(request, *args, **kwargs)
        # The list the apps poll, unfiltered, read with written-out SQL: compiling the
        # ORM query and building its model instances cost most of the request.
        return paginated_rows(
            self,
            rows=lambda offset, limit: driver_ride_rows(
                user=request.user, offset=offset, limit=limit
            ),
            count=lambda: driver_ride_count(user=request.user),
            shape=driver_ride_row_output,
        )


class DriverLogbook(generics.ListAPIView):
    """My completed rides, newest first: the basis of my mileage claim."""

    serializer_class = LogbookRowOutput

    @extend_schema(parameters=[ASSOCIATION_PARAMETER])
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation, no user
            return RideRequest.objects.none()
        driver = _driver(self.request, _association_id(self.request))
        return driver_logbook(driver=driver).select_related("village", "mileage_claim")

"""Shared cars, tools and rooms, shaped for the pages that use them: browse near me, a
resource's page with its calendar, book, my bookings, check-out and check-in, and the
owner's approvals.

Resources and bookings are looked up through the viewer's visible set, so what someone
may not see is a 404.
"""

from datetime import timedelta

import django_filters
from django.contrib.gis.geos import Point
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.accounts.models import User
from backend.community.selectors import associations_visible_to, people_actable_by
from backend.errors import ApplicationError
from backend.sharing import services
from backend.sharing.calendar_feed import FEED_AHEAD, FEED_PAST, feed_ical
from backend.sharing.models import UPCOMING, Booking, BookingStatus, CalendarFeed, ResourcePhoto
from backend.sharing.selectors import (
    bookings_awaiting,
    bookings_of_person,
    bookings_visible_to,
    resource_calendar,
    resource_managed_by,
    resources_available_near,
    resources_visible_to,
    user_has_booking_in_hand,
    with_photos,
)
from backend.sharing.services import Reading
from mobile_api.sharing_serializers import (
    BookingReadingInput,
    BookingReasonInput,
    BusySlotOutput,
    CalendarFeedOutput,
    ClearanceInput,
    ProblemReportInput,
    ProblemReportOutput,
    ResourceCalendarInput,
    ResourceDetailOutput,
    ResourceInput,
    ResourceOutput,
    ResourcePhotoInput,
    ResourcePhotoOutput,
    ResourceSearchInput,
    ResourceSearchOutput,
    SharingBookingInput,
    SharingBookingOutput,
    WaitlistInput,
    WaitlistOutput,
)
from mobile_api.throttles import BookingThrottle, UserRateThrottle

BOOKING_RELATED = ("resource", "booker")
UPLOADS = [JSONParser, MultiPartParser, FormParser]


def _resource(request: Request, pk: int):
    return get_object_or_404(
        resources_visible_to(user=request.user).select_related("association", "owner"), pk=pk
    )


def _resource_page(request: Request, resource) -> dict:
    manager = resource_managed_by(user=request.user, resource=resource)
    privileged = manager or user_has_booking_in_hand(user=request.user, resource=resource)
    return ResourceDetailOutput(
        resource, context={"privileged": privileged, "manager": manager}
    ).data


def _booking(request: Request, pk: int) -> Booking:
    return get_object_or_404(
        bookings_visible_to(user=request.user).select_related(*BOOKING_RELATED), pk=pk
    )


def _present(booking: Booking) -> dict:
    booking = Booking.objects.select_related(*BOOKING_RELATED).get(pk=booking.pk)
    return SharingBookingOutput(booking).data


def _valid(serializer_class, data):
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


# --- Resources -------------------------------------------------------------------------------


class ResourceList(APIView):
    parser_classes = [JSONParser]

    @extend_schema(parameters=[ResourceSearchInput], responses={200: ResourceOutput(many=True)})
    def get(self, request: Request) -> Response:
        """Browse near me: listed, working things within `radius_m` of (lon, lat) or of
        your home, nearest first; with `available_from`/`available_until` only those free
        for all of it. One query for the search, one for the photos."""
        values = _valid(ResourceSearchInput, request.query_params)
        if "lon" in values:
            point = Point(values["lon"], values["lat"], srid=4326)
        elif request.user.home_location is not None:
            point = request.user.home_location
        else:
            raise ApplicationError(
                "location_required",
                _("Say where to search from: give lon and lat, or set your home address."),
                fields={"lon": [_("Required when you have no home address.")]},
            )
        found = resources_available_near(
            point=point,
            radius_m=values["radius_m"],
            kind=values.get("kind"),
            category=values.get("category"),
            text=values.get("q"),
            starts_at=values.get("available_from"),
            ends_at=values.get("available_until"),
            limit=values["limit"],
        )
        return Response(ResourceSearchOutput(with_photos(found), many=True).data)

    @extend_schema(request=ResourceInput, responses={201: ResourceDetailOutput})
    def post(self, request: Request) -> Response:
        """List a thing: a coordinator for the association, a member lending their own."""
        values = dict(_valid(ResourceInput, request.data))
        association_id = values.pop("association", None)
        if association_id is None:
            raise ApplicationError(
                "association_required",
                _("Choose the association to list it with."),
                fields={"association": [_("Required.")]},
            )
        association = get_object_or_404(
            associations_visible_to(user=request.user), pk=association_id
        )
        for required in ("kind", "category", "title", "location"):
            if required not in values:
                raise ApplicationError(
                    "invalid",
                    _("%(field)s: this field is required.") % {"field": required},
                    fields={required: [_("This field is required.")]},
                )
        resource = services.resource_create(actor=request.user, association=association, **values)
        return Response(_resource_page(request, resource), status=status.HTTP_201_CREATED)


class ResourceDetail(APIView):
    parser_classes = [JSONParser]

    @extend_schema(responses={200: ResourceDetailOutput})
    def get(self, request: Request, pk: int) -> Response:
        return Response(_resource_page(request, _resource(request, pk)))

    @extend_schema(request=ResourceInput, responses={200: ResourceDetailOutput})
    def patch(self, request: Request, pk: int) -> Response:
        resource = _resource(request, pk)
        values = dict(_valid(ResourceInput, request.data))
        values.pop("association", None)
        values.pop("lend_as_owner", None)
        resource = services.resource_update(actor=request.user, resource=resource, **values)
        return Response(_resource_page(request, resource))


class ResourcePhotos(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        request={"multipart/form-data": ResourcePhotoInput}, responses={201: ResourcePhotoOutput}
    )
    def post(self, request: Request, pk: int) -> Response:
        """Add a photo (JPEG, PNG or WebP); it is turned upright and resized."""
        resource = _resource(request, pk)
        values = _valid(ResourcePhotoInput, request.data)
        photo = services.resource_photo_add(
            actor=request.user, resource=resource, upload=values["image"]
        )
        return Response(ResourcePhotoOutput(photo).data, status=status.HTTP_201_CREATED)


class PhotoDelete(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        visible = resources_visible_to(user=request.user).values("pk")
        photo = get_object_or_404(
            ResourcePhoto.objects.select_related("resource__association").filter(
                resource_id__in=visible
            ),
            pk=pk,
        )
        services.resource_photo_delete(actor=request.user, photo=photo)
        return Response(status=status.HTTP_204_NO_CONTENT)


MAX_CALENDAR = timedelta(days=92)


class ResourceCalendar(APIView):
    @extend_schema(parameters=[ResourceCalendarInput], responses={200: BusySlotOutput(many=True)})
    def get(self, request: Request, pk: int) -> Response:
        """Taken times between `since` and `until`. Owners and coordinators see who;
        everyone else sees only that it is taken (their own bookings excepted)."""
        resource = _resource(request, pk)
        values = _valid(ResourceCalendarInput, request.query_params)
        since = values.get("since") or timezone.now()
        until = values.get("until") or since + timedelta(days=30)
        if not since < until <= since + MAX_CALENDAR:
            raise ApplicationError(
                "invalid",
                _("Ask for a period of at most 92 days, with the end after the start."),
                fields={"until": [_("At most 92 days after the start.")]},
            )
        slots = resource_calendar(viewer=request.user, resource=resource, since=since, until=until)
        return Response(BusySlotOutput(slots, many=True).data)


class ResourceBook(APIView):
    throttle_classes = [UserRateThrottle, BookingThrottle]  # POST: shared with the web pages
    parser_classes = [JSONParser]

    @extend_schema(
        request=SharingBookingInput,
        responses={
            201: SharingBookingOutput,
            409: OpenApiResponse(
                description="`booking_overlap`: taken; the message says when it is free."
            ),
        },
    )
    def post(self, request: Request, pk: int) -> Response:
        """Book it. Confirmed at once, or `requested` when the owner approves."""
        resource = _resource(request, pk)
        values = _valid(SharingBookingInput, request.data)
        booker = request.user
        if values.get("booker") is not None:
            booker = get_object_or_404(people_actable_by(actor=request.user), pk=values["booker"])
        booking = services.booking_request(
            actor=request.user,
            resource=resource,
            starts_at=values["starts_at"],
            ends_at=values["ends_at"],
            booker=booker,
            note=values["note"],
        )
        # The booking as just written, its resource and booker with it: every field was
        # set here, none by the database, so it is shown without reading it back.
        return Response(SharingBookingOutput(booking).data, status=status.HTTP_201_CREATED)


class ResourceWaitlist(APIView):
    parser_classes = [JSONParser]

    @extend_schema(request=WaitlistInput, responses={201: WaitlistOutput})
    def post(self, request: Request, pk: int) -> Response:
        """Wait for a taken period; you are told when it frees up."""
        resource = _resource(request, pk)
        values = _valid(WaitlistInput, request.data)
        entry = services.waitlist_join(
            actor=request.user,
            resource=resource,
            starts_at=values["starts_at"],
            ends_at=values["ends_at"],
        )
        return Response(WaitlistOutput(entry).data, status=status.HTTP_201_CREATED)


class ResourceProblems(APIView):
    parser_classes = UPLOADS

    @extend_schema(
        request={"application/json": ProblemReportInput, "multipart/form-data": ProblemReportInput},
        responses={201: ProblemReportOutput},
    )
    def post(self, request: Request, pk: int) -> Response:
        """Report a problem: a `note` (still usable; the next bookers are told) or a
        `breakdown` (out of service; upcoming bookings are cancelled)."""
        resource = _resource(request, pk)
        values = _valid(ProblemReportInput, request.data)
        booking = None
        if values.get("booking"):
            booking = get_object_or_404(
                bookings_visible_to(user=request.user), pk=values["booking"]
            )
        report = services.problem_report(
            actor=request.user,
            resource=resource,
            kind=values["kind"],
            text=values["text"],
            booking=booking,
            photos=values.get("photos", []),
        )
        return Response(ProblemReportOutput(report).data, status=status.HTTP_201_CREATED)


class ResourceBackInService(APIView):
    @extend_schema(request=None, responses={200: ResourceDetailOutput})
    def post(self, request: Request, pk: int) -> Response:
        resource = services.resource_back_in_service(
            actor=request.user, resource=_resource(request, pk)
        )
        return Response(_resource_page(request, resource))


class ResourceClearances(APIView):
    parser_classes = [JSONParser]

    @extend_schema(request=ClearanceInput, responses={204: None})
    def post(self, request: Request, pk: int) -> Response:
        """A coordinator clears a person for a gated item."""
        resource = _resource(request, pk)
        values = _valid(ClearanceInput, request.data)
        # Only members of the association can be cleared (and others cannot be probed).
        members = User.objects.filter(
            is_active=True, memberships__association_id=resource.association_id
        )
        person = get_object_or_404(members, pk=values["user"])
        services.clearance_grant(
            actor=request.user, resource=resource, user=person, note=values["note"]
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


def _feed_url(request: Request, feed: CalendarFeed) -> dict:
    path = reverse("sharing-ical", kwargs={"token": feed.token})
    return {"url": request.build_absolute_uri(path)}


class ResourceFeed(APIView):
    @extend_schema(responses={200: CalendarFeedOutput})
    def get(self, request: Request, pk: int) -> Response:
        """The resource's busy times as a calendar address (owner and coordinators)."""
        feed = services.resource_feed_get_or_create(
            actor=request.user, resource=_resource(request, pk)
        )
        return Response(_feed_url(request, feed))

    @extend_schema(request=None, responses={200: CalendarFeedOutput})
    def post(self, request: Request, pk: int) -> Response:
        """A new secret address; the old one stops working."""
        feed = services.resource_feed_get_or_create(
            actor=request.user, resource=_resource(request, pk)
        )
        return Response(_feed_url(request, services.feed_rotate(feed=feed)))


_MY_FEED = (
    "The address carries everything I booked or drive, from"
    f" {FEED_PAST.days} days back to {FEED_AHEAD.days} days ahead: volunteer rides (as"
    " rider, and the ones I drive), carpool seats and the"
    " departures I drive with passengers, shop-run sign-ups and the runs I drive, and"
    " bookings of shared things. Only my own, not those of people I book for. Places are"
    " villages, shops and things, never an exact home address or another person's name or"
    " phone. Cancelled things leave the calendar. Anyone with the address sees these"
    " events: POST makes a new address, and the old one stops working."
)


class MyFeed(APIView):
    @extend_schema(
        summary="My calendar address (made on first use)",
        description=_MY_FEED,
        responses={200: CalendarFeedOutput},
    )
    def get(self, request: Request) -> Response:
        """My rides, runs and bookings as a calendar address for the phone's calendar."""
        return Response(_feed_url(request, services.person_feed_get_or_create(user=request.user)))

    @extend_schema(
        summary="A new calendar address; the old one stops working",
        description=_MY_FEED,
        request=None,
        responses={200: CalendarFeedOutput},
    )
    def post(self, request: Request) -> Response:
        """A new secret address for my calendar; the old one stops working."""
        feed = services.person_feed_get_or_create(user=request.user)
        return Response(_feed_url(request, services.feed_rotate(feed=feed)))


class IcalFeed(APIView):
    """The calendar itself: a person's rides, runs and bookings
    (`backend.sharing.calendar_feed`), or a resource's busy times. The secret in the
    address is the only key (phone calendars send no login); an unknown one is a 404."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(responses={(200, "text/calendar"): OpenApiTypes.STR})
    def get(self, request: Request, token: str) -> HttpResponse:
        feed = get_object_or_404(
            CalendarFeed.objects.select_related("resource", "user"), token=token
        )
        response = HttpResponse(feed_ical(feed), content_type="text/calendar; charset=utf-8")
        response["Cache-Control"] = "private, max-age=300"
        return response


# --- Bookings -----------------------------------------------------------------------------


class MyBookingsFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=BookingStatus.choices)
    upcoming = django_filters.BooleanFilter(
        method="filter_upcoming",
        label="true: not yet returned or cancelled, soonest first; false: the rest.",
    )

    class Meta:
        model = Booking
        fields = ["status", "upcoming"]

    def filter_upcoming(self, bookings, name: str, value: bool):
        live = [*UPCOMING, BookingStatus.CHECKED_OUT, BookingStatus.OVERDUE]
        if value:
            return bookings.filter(status__in=live).order_by("starts_at", "pk")
        return bookings.exclude(status__in=live)


class MyBookings(generics.ListAPIView):
    """My bookings and those of people I book for, newest start first."""

    serializer_class = SharingBookingOutput
    filterset_class = MyBookingsFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation, no user
            return Booking.objects.none()
        return (
            bookings_of_person(actor=self.request.user)
            .select_related(*BOOKING_RELATED)
            .order_by("-starts_at", "-pk")
        )


class Approvals(generics.ListAPIView):
    """Requests waiting for me to approve (as owner or coordinator), oldest first."""

    serializer_class = SharingBookingOutput

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation, no user
            return Booking.objects.none()
        return bookings_awaiting(user=self.request.user).select_related(*BOOKING_RELATED)


class BookingDetail(APIView):
    @extend_schema(responses={200: SharingBookingOutput})
    def get(self, request: Request, pk: int) -> Response:
        return Response(_present(_booking(request, pk)))


class BookingApprove(APIView):
    @extend_schema(request=None, responses={200: SharingBookingOutput})
    def post(self, request: Request, pk: int) -> Response:
        booking = services.booking_approve(actor=request.user, booking=_booking(request, pk))
        return Response(_present(booking))


class BookingDecline(APIView):
    parser_classes = [JSONParser]

    @extend_schema(request=BookingReasonInput, responses={200: SharingBookingOutput})
    def post(self, request: Request, pk: int) -> Response:
        booking = _booking(request, pk)
        values = _valid(BookingReasonInput, request.data)
        booking = services.booking_decline(
            actor=request.user, booking=booking, reason=values["reason"]
        )
        return Response(_present(booking))


class BookingCancel(APIView):
    parser_classes = [JSONParser]

    @extend_schema(request=BookingReasonInput, responses={200: SharingBookingOutput})
    def post(self, request: Request, pk: int) -> Response:
        booking = _booking(request, pk)
        values = _valid(BookingReasonInput, request.data)
        booking = services.booking_cancel(
            actor=request.user, booking=booking, reason=values["reason"]
        )
        return Response(_present(booking))


class BookingCheckOut(APIView):
    parser_classes = UPLOADS

    @extend_schema(
        request={
            "application/json": BookingReadingInput,
            "multipart/form-data": BookingReadingInput,
        },
        responses={200: SharingBookingOutput},
    )
    def post(self, request: Request, pk: int) -> Response:
        """Take it: odometer (cars), condition and photos."""
        booking = _booking(request, pk)
        values = _valid(BookingReadingInput, request.data)
        booking = services.booking_check_out(
            actor=request.user,
            booking=booking,
            reading=Reading(odometer_km=values.get("odometer_km"), condition=values["condition"]),
            photos=values.get("photos", []),
        )
        return Response(_present(booking))


class BookingCheckIn(APIView):
    parser_classes = UPLOADS

    @extend_schema(
        request={
            "application/json": BookingReadingInput,
            "multipart/form-data": BookingReadingInput,
        },
        responses={200: SharingBookingOutput},
    )
    def post(self, request: Request, pk: int) -> Response:
        """Return it: odometer (cars), condition and photos; km and cost come back."""
        booking = _booking(request, pk)
        values = _valid(BookingReadingInput, request.data)
        booking = services.booking_check_in(
            actor=request.user,
            booking=booking,
            reading=Reading(odometer_km=values.get("odometer_km"), condition=values["condition"]),
            photos=values.get("photos", []),
        )
        return Response(_present(booking))

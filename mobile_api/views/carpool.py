"""Carpooling: find and book a seat, offer a trip, my trips and my bookings.

Objects are looked up through the viewer's visible set (404 when they may not see them);
what they see of a trip or a booking depends on their side (mobile_api.carpool_serializers).
"""

import datetime as dt

from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.accounts.models import User
from backend.carpool import services as carpool
from backend.carpool.errors import CarpoolErrorCode
from backend.carpool.models import OPEN_OCCURRENCE, Booking, Trip, TripOccurrence
from backend.carpool.pricing import price_for_part
from backend.carpool.selectors import (
    booking_passenger_side,
    bookings_of_passenger,
    bookings_visible_to,
    carpool_memberships,
    rating_summary,
    saved_searches_of,
    search_result_cards,
    trips_of_driver,
    trips_visible_to,
    user_may_carpool,
)
from backend.community.models import Association
from backend.community.selectors import (
    people_actable_by,
    user_coordinates,
)
from backend.errors import ApplicationError, ErrorKind
from dispatch import carpool as carpool_dispatch
from dispatch.carpool_matching import Search, departures_matching, search_check
from mobile_api.carpool_serializers import (
    BookingInput,
    BookingOutput,
    DepartureMoveInput,
    DriverDepartureOutput,
    PublicTripOutput,
    RatingInput,
    RatingOutput,
    ReportInput,
    ReportOutput,
    SavedSearchInput,
    SavedSearchOutput,
    SearchInput,
    SearchResultOutput,
    TripChangeInput,
    TripInput,
    TripOutput,
    area_at,
    booking_out,
    person_brief,
    price_sek,
    public_trip,
)
from mobile_api.rides_serializers import ReasonInput
from mobile_api.throttles import BookingThrottle, UserRateThrottle

BOOKING_RELATED = (
    "occurrence__trip__driver",
    "passenger",
    "booked_by",
)

TRIP_DETAIL = PolymorphicProxySerializer(
    component_name="CarpoolTripDetail",
    serializers=[TripOutput, PublicTripOutput],
    resource_type_field_name=None,
)


def _require_member(user: User) -> None:
    if not user_may_carpool(user=user):
        raise ApplicationError(
            CarpoolErrorCode.NOT_MEMBER,
            _("Carpooling is for members of an association. Join your village's association."),
            kind=ErrorKind.FORBIDDEN,
        )


def _upcoming() -> Prefetch:
    return Prefetch(
        "occurrences",
        queryset=TripOccurrence.objects.filter(
            status__in=OPEN_OCCURRENCE, departure_at__gt=timezone.now()
        ).order_by("departure_at"),
        to_attr="upcoming",
    )


def _manages(viewer: User, trip: Trip) -> bool:
    return trip.driver_id == viewer.pk or user_coordinates(
        user=viewer, association_id=trip.association_id
    )


# --- Search ---------------------------------------------------------------------------------


class CarpoolSearch(APIView):
    """Find departures that can take you from a pickup to a drop-off in a time window,
    best first (least detour plus walking, then nearest the preferred time). Places of
    the trips are shown as areas until you have a confirmed seat."""

    @extend_schema(parameters=[SearchInput], responses={200: SearchResultOutput(many=True)})
    def get(self, request: Request) -> Response:
        _require_member(request.user)
        data = SearchInput(data=request.query_params)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        search = Search(
            pickup=values["pickup"],
            dropoff=values["dropoff"],
            window_start=values["window_start"],
            window_end=values["window_end"],
            seats=values["seats"],
            walk_m=values.get("max_walk_m"),
            preferred_at=values.get("preferred_at"),
            searcher_id=request.user.pk,
        )
        search_check(search)
        found = departures_matching(search)
        cards = search_result_cards(departures=[place.occurrence_id for place in found])
        rows = []
        for place in found:
            card = cards[place.occurrence_id]
            rows.append(
                {
                    "departure": card["departure"],
                    "trip": card["trip"],
                    "departure_at": card["departure_at"],
                    "pickup_at": place.pickup_at,
                    "dropoff_at": place.dropoff_at,
                    "walk_m": place.walk_m,
                    "detour_m": place.detour_m,
                    "price_sek": price_sek(
                        price_for_part(
                            price_ore=card["price_ore"],
                            shared_fraction=place.shared_fraction,
                            seats=search.seats,
                        )
                    ),
                    "seats_free": card["seats_free"],
                    "driver": person_brief(
                        card["driver_id"],
                        card["driver_first_name"],
                        card["rating"],
                        card["ratings"],
                    ),
                    "origin_area": area_at(
                        card["origin_x"], card["origin_y"], card["origin_village"]
                    ),
                    "destination_area": area_at(
                        card["destination_x"], card["destination_y"], card["destination_village"]
                    ),
                    "instant_booking": card["instant_booking"],
                    "pets_allowed": card["pets_allowed"],
                    "luggage": card["luggage"],
                    "smoking_allowed": card["smoking_allowed"],
                    "note": card["note"],
                }
            )
        return Response(SearchResultOutput(rows, many=True).data)


# --- Trips (drivers) ------------------------------------------------------------------------


class TripList(APIView):
    """My offered trips, newest first, with their departures still to come; POST
    publishes a trip (once, or repeating by an RRULE)."""

    @extend_schema(responses={200: TripOutput(many=True)})
    def get(self, request: Request) -> Response:
        trips = trips_of_driver(driver=request.user).prefetch_related(_upcoming())[:100]
        return Response(TripOutput(trips, many=True).data)

    @extend_schema(request=TripInput, responses={201: TripOutput})
    def post(self, request: Request) -> Response:
        data = TripInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        association = None
        if values.get("association") is not None:
            association = Association.objects.filter(
                pk__in=carpool_memberships(user=request.user).values("association_id"),
                pk=values["association"],
            ).first()
            if association is None:
                raise ApplicationError(
                    CarpoolErrorCode.NOT_MEMBER,
                    _("You are not an active member of that association."),
                    kind=ErrorKind.FORBIDDEN,
                    fields={"association": [_("Choose one of your associations.")]},
                )
        trip = carpool_dispatch.trip_publish(
            driver=request.user,
            association=association,
            origin=values["origin"],
            origin_address=values["origin_address"],
            destination=values["destination"],
            destination_address=values["destination_address"],
            via=values.get("via", []),
            first_departure=values["departure"],
            rrule=values["rrule"],
            seats=values["seats"],
            price_ore=values.get("price_ore"),
            instant_booking=values["instant_booking"],
            pets_allowed=values["pets_allowed"],
            luggage=values["luggage"],
            smoking_allowed=values["smoking_allowed"],
            note=values["note"],
        )
        trip = Trip.objects.prefetch_related(_upcoming()).get(pk=trip.pk)
        return Response(TripOutput(trip).data, status=status.HTTP_201_CREATED)


def _trip(request: Request, pk: int) -> Trip:
    return get_object_or_404(
        trips_visible_to(user=request.user)
        .select_related("driver", "origin_village", "destination_village")
        .prefetch_related(_upcoming()),
        pk=pk,
    )


class TripDetail(APIView):
    """A trip: everything for its driver and the association's coordinators, areas and
    the driver's first name for everyone else who carpools."""

    @extend_schema(responses={200: TRIP_DETAIL})
    def get(self, request: Request, pk: int) -> Response:
        trip = _trip(request, pk)
        if _manages(request.user, trip):
            return Response(TripOutput(trip).data)
        ratings = rating_summary(users=[trip.driver_id])
        return Response(PublicTripOutput(public_trip(trip, ratings)).data)

    @extend_schema(request=TripChangeInput, responses={200: TripOutput})
    def patch(self, request: Request, pk: int) -> Response:
        """The driver changes seats, price, booking and on-board rules, or the note."""
        trip = _trip(request, pk)
        data = TripChangeInput(data=request.data)
        data.is_valid(raise_exception=True)
        carpool.trip_update(trip=trip, actor=request.user, **data.validated_data)
        return Response(TripOutput(_trip(request, pk)).data)


class TripCancel(APIView):
    """Cancel every departure still to come; passengers with bookings are told."""

    @extend_schema(request=ReasonInput, responses={200: TripOutput})
    def post(self, request: Request, pk: int) -> Response:
        trip = _trip(request, pk)
        data = ReasonInput(data=request.data)
        data.is_valid(raise_exception=True)
        carpool.trip_cancel(trip=trip, actor=request.user, reason=data.validated_data["reason"])
        return Response(TripOutput(_trip(request, pk)).data)


def _departure_rows(occurrences, viewer: User) -> list[dict]:
    bookings = [b for o in occurrences for b in o.all_bookings]
    ratings = rating_summary(users=list({b.passenger_id for b in bookings}))
    return [
        {
            "id": o.pk,
            "trip": o.trip_id,
            "departure_at": o.departure_at,
            "status": o.status,
            "seats_total": o.seats_total,
            "seats_free": o.seats_free,
            "origin_address": o.trip.origin_address,
            "destination_address": o.trip.destination_address,
            "bookings": [
                booking_out(
                    b,
                    view="driver",
                    ratings=ratings,
                    exact_for_driver=o.trip.driver_id == viewer.pk,
                )
                for b in o.all_bookings
            ],
        }
        for o in occurrences
    ]


def _with_bookings(queryset):
    return queryset.select_related("trip__driver").prefetch_related(
        Prefetch(
            "bookings",
            queryset=Booking.objects.select_related(*BOOKING_RELATED).order_by("pickup_at", "pk"),
            to_attr="all_bookings",
        )
    )


class DepartureList(APIView):
    """My departures as a driver still to come, soonest first, with who asked and who is
    booked: pickup points exactly only for confirmed seats."""

    @extend_schema(responses={200: DriverDepartureOutput(many=True)})
    def get(self, request: Request) -> Response:
        occurrences = _with_bookings(
            TripOccurrence.objects.filter(
                trip__driver=request.user, departure_at__gt=timezone.now() - dt.timedelta(hours=12)
            ).order_by("departure_at", "pk")
        )[:100]
        return Response(
            DriverDepartureOutput(_departure_rows(occurrences, request.user), many=True).data
        )


def _managed_departure(request: Request, pk: int) -> TripOccurrence:
    occurrence = get_object_or_404(
        _with_bookings(TripOccurrence.objects.filter(trip__in=trips_visible_to(user=request.user))),
        pk=pk,
    )
    if not _manages(request.user, occurrence.trip):
        raise Http404
    return occurrence


class DepartureDetail(APIView):
    """One departure with its bookings, for its driver and the association's coordinators."""

    @extend_schema(responses={200: DriverDepartureOutput})
    def get(self, request: Request, pk: int) -> Response:
        occurrence = _managed_departure(request, pk)
        return Response(DriverDepartureOutput(_departure_rows([occurrence], request.user)[0]).data)


class DepartureCancel(APIView):
    """Cancel one departure; its passengers are told at once."""

    @extend_schema(request=ReasonInput, responses={200: DriverDepartureOutput})
    def post(self, request: Request, pk: int) -> Response:
        occurrence = _managed_departure(request, pk)
        data = ReasonInput(data=request.data)
        data.is_valid(raise_exception=True)
        carpool.occurrence_cancel(
            occurrence=occurrence, actor=request.user, reason=data.validated_data["reason"]
        )
        occurrence = _managed_departure(request, pk)
        return Response(DriverDepartureOutput(_departure_rows([occurrence], request.user)[0]).data)


class DepartureMove(APIView):
    """Move one departure to another time, at most 12 hours either way (the route stays):
    the pickup times of its bookings move with it and its passengers are told at once. The
    same minute as now changes nothing."""

    @extend_schema(request=DepartureMoveInput, responses={200: DriverDepartureOutput})
    def post(self, request: Request, pk: int) -> Response:
        occurrence = _managed_departure(request, pk)
        data = DepartureMoveInput(data=request.data)
        data.is_valid(raise_exception=True)
        carpool_dispatch.occurrence_move(
            occurrence=occurrence,
            actor=request.user,
            departure_at=data.validated_data["departure_at"],
        )
        occurrence = _managed_departure(request, pk)
        return Response(DriverDepartureOutput(_departure_rows([occurrence], request.user)[0]).data)


# --- Bookings -------------------------------------------------------------------------------


def _booking_view(viewer: User, booking: Booking) -> str:
    trip = booking.occurrence.trip
    if trip.driver_id != viewer.pk and booking_passenger_side(user=viewer, booking=booking):
        return "passenger"
    return "driver"


def _present(booking: Booking, viewer: User) -> dict:
    booking = Booking.objects.select_related(*BOOKING_RELATED).get(pk=booking.pk)
    view = _booking_view(viewer, booking)
    ratings = rating_summary(users=[booking.passenger_id, booking.occurrence.trip.driver_id])
    return booking_out(
        booking,
        view=view,
        ratings=ratings,
        exact_for_driver=booking.occurrence.trip.driver_id == viewer.pk,
    )


def _booking(request: Request, pk: int) -> Booking:
    return get_object_or_404(
        bookings_visible_to(user=request.user).select_related(*BOOKING_RELATED), pk=pk
    )


class BookingList(APIView):
    """My seat bookings and those of the people I book for, latest departure first; POST
    asks for seats on a departure (confirmed at once when the driver allows instant
    booking, else the driver answers)."""

    throttle_classes = [UserRateThrottle, BookingThrottle]  # POST: shared with the web pages

    @extend_schema(responses={200: BookingOutput(many=True)})
    def get(self, request: Request) -> Response:
        bookings = list(
            bookings_of_passenger(actor=request.user).select_related(*BOOKING_RELATED)[:100]
        )
        users = {b.passenger_id for b in bookings} | {b.occurrence.trip.driver_id for b in bookings}
        ratings = rating_summary(users=list(users))
        rows = [
            booking_out(b, view="passenger", ratings=ratings, exact_for_driver=False)
            for b in bookings
        ]
        return Response(BookingOutput(rows, many=True).data)

    @extend_schema(request=BookingInput, responses={201: BookingOutput})
    def post(self, request: Request) -> Response:
        data = BookingInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        passenger = request.user
        if values.get("passenger") is not None:
            passenger = get_object_or_404(
                people_actable_by(actor=request.user), pk=values["passenger"]
            )
        occurrence = get_object_or_404(
            TripOccurrence.objects.select_related("trip__driver"), pk=values["departure"]
        )
        booking = carpool.booking_request(
            actor=request.user,
            passenger=passenger,
            occurrence=occurrence,
            seats=values["seats"],
            pickup=values["pickup"],
            pickup_address=values["pickup_address"],
            dropoff=values["dropoff"],
            dropoff_address=values["dropoff_address"],
            max_walk_m=values.get("max_walk_m"),
            message=values["message"],
        )
        return Response(_present(booking, request.user), status=status.HTTP_201_CREATED)


class BookingDetail(APIView):
    @extend_schema(responses={200: BookingOutput})
    def get(self, request: Request, pk: int) -> Response:
        return Response(_present(_booking(request, pk), request.user))


class BookingAccept(APIView):
    """The driver confirms. 409 `no_seats_left` when the seats went to someone else."""

    @extend_schema(request=None, responses={200: BookingOutput})
    def post(self, request: Request, pk: int) -> Response:
        booking = carpool.booking_accept(booking=_booking(request, pk), actor=request.user)
        return Response(_present(booking, request.user))


class BookingDecline(APIView):
    @extend_schema(request=ReasonInput, responses={200: BookingOutput})
    def post(self, request: Request, pk: int) -> Response:
        data = ReasonInput(data=request.data)
        data.is_valid(raise_exception=True)
        booking = carpool.booking_decline(
            booking=_booking(request, pk), actor=request.user, reason=data.validated_data["reason"]
        )
        return Response(_present(booking, request.user))


class BookingCancel(APIView):
    """Either side cancels before departure; the other side is told."""

    @extend_schema(request=ReasonInput, responses={200: BookingOutput})
    def post(self, request: Request, pk: int) -> Response:
        data = ReasonInput(data=request.data)
        data.is_valid(raise_exception=True)
        booking = carpool.booking_cancel(
            booking=_booking(request, pk), actor=request.user, reason=data.validated_data["reason"]
        )
        return Response(_present(booking, request.user))


class BookingRate(APIView):
    """After the trip: rate the other side (1-5 stars, a short comment), once."""

    @extend_schema(request=RatingInput, responses={201: RatingOutput})
    def post(self, request: Request, pk: int) -> Response:
        data = RatingInput(data=request.data)
        data.is_valid(raise_exception=True)
        rating = carpool.rating_create(
            booking=_booking(request, pk), actor=request.user, **data.validated_data
        )
        return Response(
            RatingOutput({"id": rating.pk, "stars": rating.stars, "comment": rating.comment}).data,
            status=status.HTTP_201_CREATED,
        )


class BookingReport(APIView):
    """Report misconduct of the other side to the association's coordinators."""

    @extend_schema(request=ReportInput, responses={201: ReportOutput})
    def post(self, request: Request, pk: int) -> Response:
        data = ReportInput(data=request.data)
        data.is_valid(raise_exception=True)
        report = carpool.report_create(
            booking=_booking(request, pk), actor=request.user, text=data.validated_data["text"]
        )
        return Response(
            ReportOutput({"id": report.pk, "created_at": report.created_at}).data,
            status=status.HTTP_201_CREATED,
        )


# --- Ride alerts ----------------------------------------------------------------------------


class SavedSearchList(APIView):
    """My ride alerts; POST saves one: you are told when a matching trip is published."""

    @extend_schema(responses={200: SavedSearchOutput(many=True)})
    def get(self, request: Request) -> Response:
        return Response(SavedSearchOutput(saved_searches_of(owner=request.user), many=True).data)

    @extend_schema(request=SavedSearchInput, responses={201: SavedSearchOutput})
    def post(self, request: Request) -> Response:
        data = SavedSearchInput(data=request.data)
        data.is_valid(raise_exception=True)
        search = carpool.saved_search_create(owner=request.user, **data.validated_data)
        return Response(SavedSearchOutput(search).data, status=status.HTTP_201_CREATED)


class SavedSearchDetail(APIView):
    @extend_schema(responses={204: None})
    def delete(self, request: Request, pk: int) -> Response:
        search = get_object_or_404(saved_searches_of(owner=request.user), pk=pk)
        carpool.saved_search_delete(search=search, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

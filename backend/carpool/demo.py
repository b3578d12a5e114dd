"""Demo data for carpooling, on top of the community demo: a weekday commute from Äppelbo
through Vansbro to Dala-Järna, a Saturday trip the other way with instant booking, a
confirmed seat and a ride alert. Safe to run again (nothing is added when trips exist)."""

import datetime as dt

from django.contrib.gis.geos import Point
from django.db import transaction
from django.utils import timezone

from backend.accounts.models import User
from backend.carpool.models import Trip
from backend.carpool.services import booking_request, saved_search_create, trip_publish
from backend.community.models import Association

APPELBO = Point(14.00056, 60.49389, srid=4326)
VANSBRO = Point(14.22458, 60.50893, srid=4326)
DALA_JARNA = Point(14.36667, 60.53333, srid=4326)


def _next(weekday: int, hour: int, minute: int) -> dt.datetime:
    today = timezone.localdate()
    day = today + dt.timedelta(days=(weekday - today.weekday()) % 7 or 7)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def _next_weekday(hour: int, minute: int) -> dt.datetime:
    """Tomorrow, or the Monday after when tomorrow is a weekend day: the commute runs
    from the first working day on, whatever day the demo is loaded."""
    day = timezone.localdate() + dt.timedelta(days=1)
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


@transaction.atomic
def seed_carpool_demo(*, association: Association) -> None:
    if Trip.objects.filter(association=association).exists():
        return
    by_name = {m.user.full_name: m.user for m in association.memberships.select_related("user")}
    lars: User = by_name["Lars Nilsson"]
    sofia: User = by_name["Sofia Holm"]
    passenger: User = by_name["Ingrid Svensson"]
    commute = trip_publish(
        driver=lars,
        association=association,
        origin=APPELBO,
        origin_address="Äppelbo kyrka",
        destination=DALA_JARNA,
        destination_address="Vårdcentralen, Dala-Järna",
        first_departure=_next_weekday(7, 10),
        rrule="FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
        seats=3,
        note="Pendlar till jobbet, kör via Vansbro.",
    )
    trip_publish(
        driver=sofia,
        association=association,
        origin=DALA_JARNA,
        origin_address="Dala-Järna centrum",
        destination=APPELBO,
        destination_address="Äppelbo",
        first_departure=_next(5, 10, 0),
        seats=2,
        instant_booking=True,
        pets_allowed=True,
    )
    first = commute.occurrences.order_by("departure_at").first()
    booking_request(
        actor=passenger,
        passenger=passenger,
        occurrence=first,
        pickup=VANSBRO,
        pickup_address="Järnvägsgatan 4, Vansbro",
        dropoff=DALA_JARNA,
        dropoff_address="Vårdcentralen, Dala-Järna",
        message="Jag väntar vid busshållplatsen.",
    )
    saved_search_create(
        owner=passenger,
        pickup=VANSBRO,
        pickup_address="Vansbro",
        dropoff=APPELBO,
        dropoff_address="Äppelbo",
        earliest=dt.time(15, 0),
        latest=dt.time(18, 0),
        weekdays=[0, 1, 2, 3, 4],
    )

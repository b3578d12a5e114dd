"""Erasure: the person is gone, what they had booked or offered is called off and the
others are told, the municipality statistics stay exactly as they were (also after the
nightly rebuild), and it is recorded who erased whom."""

import datetime as dt
import threading

import h3
import pytest
from django.contrib.gis.geos import Point
from django.contrib.sessions.models import Session
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.utils import timezone

from backend.accounts.models import User
from backend.audit.models import AuditEntry
from backend.carpool.models import Booking as SeatBooking
from backend.carpool.models import BookingState, TripOccurrence
from backend.errors import ApplicationError
from backend.notifications.models import Notification, PushSubscription
from backend.privacy.export import person_export
from backend.privacy.points import is_coarse, point_for_statistics
from backend.rides.models import AvailabilitySlot, RideRequest, RideState
from backend.rides.services import busy_range
from backend.sharing.models import Booking as ThingBooking
from backend.sharing.models import BookingStatus
from backend.shuttle.models import RunSignup, SignupState
from backend.stats.models import DailyFigures, MonthlyPeople, UnmetDemand
from backend.stats.refresh import stats_refresh
from backend.stats.selectors import stats_query, stats_tables, stats_unmet
from dispatch.privacy import person_erase
from tests.backend.stats.test_sources import build_carpool, build_sharing, build_shuttle
from tests.factories import (
    DALA_JARNA,
    VANSBRO,
    AssociationFactory,
    RideRequestFactory,
    UserFactory,
    VillageFactory,
)
from tests.privacy_world import make_privacy_world
from tests.stats_data import build_world

pytestmark = pytest.mark.django_db

YEAR = {"start": dt.date(2026, 1, 1), "end": dt.date(2026, 12, 31)}


def _summaries() -> dict:
    """Every row the statistics are published from, without ids and refresh times."""

    def rows(model, skip=("id", "refreshed_at")):
        names = [f.attname for f in model._meta.concrete_fields if f.attname not in skip]
        return sorted(
            (tuple(tuple(v) if isinstance(v, list) else v for v in row))
            for row in model.objects.values_list(*names)
        )

    return {
        "daily": rows(DailyFigures),
        "unmet": rows(UnmetDemand),
        "people": rows(MonthlyPeople),
    }


def _published(municipality) -> dict:
    query = stats_query(municipality=municipality, **YEAR)
    return {
        "tables": stats_tables(query=query, dimensions=["village", "association", "service"]),
        "unmet": stats_unmet(query=query),
    }


def test_the_municipality_statistics_are_the_same_after_erasure(settings):
    settings.STATS_K_ANONYMITY = 2  # small numbers shown, so a change would show
    world = build_world()
    build_carpool(world.byaskjutsen, world.vansbro)
    build_shuttle(world.byaskjutsen)
    build_sharing(world.byaskjutsen)
    stats_refresh(full=True)
    before_rows, before = _summaries(), _published(world.a)
    assert before_rows["unmet"], "the world has unserved requests on the map"

    staff = UserFactory(is_staff=True)
    # P1: managed, born 1940, two rides; P3: an unserved request (on the map); a carpool
    # passenger, a shop run passenger and a borrower: every service loses someone.
    people = [world.people["P1"], world.people["P3"], world.people["P9"]]
    people += [SeatBooking.objects.filter(state="confirmed").first().passenger]
    people += [RunSignup.objects.filter(state="confirmed").first().passenger]
    people += [ThingBooking.objects.filter(status="returned").first().booker]
    for person in people:
        person_erase(user=person, actor=staff)
        person.refresh_from_db()
        assert (person.full_name, person.erased_at is not None) == ("—", True)

    stats_refresh()  # the incremental refresh
    assert _summaries() == before_rows
    stats_refresh(full=True)  # and the nightly rebuild, from the rows as erasure left them
    assert _summaries() == before_rows
    assert _published(world.a) == before
    # The places were made coarse, not kept.
    assert not RideRequest.objects.filter(rider__in=people).exclude(pickup_address="").exists()
    assert all(is_coarse(ride.pickup) for ride in RideRequest.objects.filter(rider__in=people))


def test_a_coarse_point_keeps_its_map_cell_and_village():
    association = AssociationFactory()
    vansbro = VillageFactory(municipality=association.municipality, location=VANSBRO)
    jarna = VillageFactory(municipality=association.municipality, location=DALA_JARNA)
    association.villages.add(vansbro, jarna)
    resolution = 7
    moved = []
    # A line of points across the border between the two villages' areas.
    for i in range(41):
        x = VANSBRO.x + (DALA_JARNA.x - VANSBRO.x) * i / 40
        y = VANSBRO.y + (DALA_JARNA.y - VANSBRO.y) * i / 40 + 0.003
        point = Point(x, y, srid=4326)
        coarse = point_for_statistics(point, association_id=association.pk)
        assert h3.latlng_to_cell(coarse.y, coarse.x, resolution) == h3.latlng_to_cell(
            y, x, resolution
        )
        nearest = min((vansbro, jarna), key=lambda v: v.location.distance(point))
        assert min((vansbro, jarna), key=lambda v: v.location.distance(coarse)) == nearest
        assert is_coarse(coarse)
        assert not is_coarse(point)
        moved.append(coarse.distance(point) * 111_320)
    # Most points move to their cell's centre (hundreds of metres), not a metre or two.
    assert sorted(moved)[len(moved) // 2] > 200


def test_a_proxy_erases_a_managed_profile_on_the_web_with_a_confirmation(settings):
    world = make_privacy_world(settings)
    greta, lena, erik = world.greta, world.lena, world.erik
    client = Client()
    client.force_login(lena)
    url = f"/profile/people/{greta.pk}/erase"
    page = client.get(url).content.decode()
    assert "Greta Andersson" in page
    assert "data-erase-preview" in page

    refused = client.post(url, {})
    assert refused.status_code == 400
    greta.refresh_from_db()
    assert (greta.full_name, greta.erased_at) == ("Greta Andersson", None)
    assert RunSignup.objects.get(pk=world.signup.pk).state == SignupState.CONFIRMED

    response = client.post(url, {"confirm": "on"})
    assert response.status_code == 302
    assert response["Location"] == "/profile/"
    greta.refresh_from_db()
    assert (greta.full_name, greta.home_address, greta.home_location) == ("—", "", None)
    assert greta.is_managed and not greta.is_active  # managed stays: statistics count it
    # Everything still to come is called off, and the other side is told.
    assert RideRequest.objects.get(pk=world.ride.pk).state == RideState.CANCELLED
    seat = SeatBooking.objects.get(pk=world.seat.pk)
    assert (seat.state, seat.pickup_address, seat.message) == (BookingState.CANCELLED, "", "")
    assert is_coarse(seat.pickup)
    assert Notification.objects.filter(recipient=erik, kind="carpool.booking_cancelled").exists()
    thing = ThingBooking.objects.get(pk=world.thing_booking.pk)
    assert (thing.status, thing.note) == (BookingStatus.CANCELLED, "")
    assert Notification.objects.filter(recipient=erik, kind="sharing.booking_cancelled").exists()
    signup = RunSignup.objects.get(pk=world.signup.pk)
    assert (signup.state, signup.note, signup.pickup_address) == (SignupState.CANCELLED, "", "")
    ride = RideRequest.objects.get(pk=world.ride.pk)
    assert (ride.pickup_address, ride.note) == ("", "")
    assert not PushSubscription.objects.filter(user=greta).exists()
    assert not Notification.objects.filter(recipient=greta).exists()
    assert not greta.proxy_links.exists()
    entry = AuditEntry.objects.get(action="person.erase")
    assert (entry.actor, entry.subject, entry.detail["by"]) == (lena, greta, "proxy")
    assert entry.detail["carpool_seats"] == 1
    # Nothing of hers is left in her file but the bare rows.
    left = str(person_export(user=greta))
    for word in ("Greta", "Gretas väg", "Rullator", "Ringer", "flytten", "Firefox"):
        assert word not in left
    # Lena no longer helps anyone, and her page says so.
    assert "Greta" not in client.get("/profile/").content.decode()


def test_staff_erase_a_driver_through_the_api(settings, api_as):
    world = make_privacy_world(settings)
    erik, greta = world.erik, world.greta
    staff = UserFactory(is_staff=True)
    url = f"/api/v1/people/{erik.pk}/erase"

    preview = api_as(staff).get(url).json()["calls_off"]
    assert (preview["carpool_departures"], preview["bookings_of_my_things"]) == (1, 1)

    refused = api_as(staff).post(url, {"confirm": False}, format="json")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "erase_not_confirmed"
    erik.refresh_from_db()
    assert erik.erased_at is None
    assert api_as(staff).post(url, {}, format="json").status_code == 400

    response = api_as(staff).post(url, {"confirm": True}, format="json")
    assert response.status_code == 200
    erik.refresh_from_db()
    assert (erik.full_name, erik.phone, erik.is_active) == ("—", "", False)
    # His trip is cancelled and its passenger told (Greta, and Lena who booked for her).
    assert not TripOccurrence.objects.filter(trip=world.trip, status="published").exists()
    assert SeatBooking.objects.get(pk=world.seat.pk).state == BookingState.CANCELLED
    told = set(
        Notification.objects.filter(kind="carpool.trip_cancelled").values_list(
            "recipient", flat=True
        )
    )
    assert {greta.pk, world.lena.pk} & told
    # The trailer he lends: Greta's booking is cancelled, she is told; the trailer is
    # no longer offered and no longer says where it stands.
    assert ThingBooking.objects.get(pk=world.thing_booking.pk).status == BookingStatus.CANCELLED
    world.trailer.refresh_from_db()
    assert (world.trailer.active, world.trailer.pickup_instructions) == (False, "")
    assert "Erik" not in world.trailer.title
    profile = world.shop.drivers[0]
    profile.refresh_from_db()
    assert (profile.active, profile.vehicle_description, profile.position) == (False, "", None)
    assert not AvailabilitySlot.objects.filter(driver=profile).exists()
    trip = world.trip
    trip.refresh_from_db()
    assert (trip.origin_address, len(trip.route.coords)) == ("", 2)
    entry = AuditEntry.objects.get(action="person.erase")
    assert (entry.actor, entry.subject, entry.detail["by"]) == (staff, erik, "staff")

    again = api_as(staff).post(url, {"confirm": True}, format="json")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_erased"


def test_only_the_person_their_proxy_and_staff_may_erase(settings, api_as):
    world = make_privacy_world(settings)
    for someone in (world.shop.coordinator, world.erik, world.shop.outsider):
        response = api_as(someone).post(
            f"/api/v1/people/{world.greta.pk}/erase", {"confirm": True}, format="json"
        )
        assert response.status_code == 404
    world.greta.refresh_from_db()
    assert world.greta.erased_at is None


def test_nobody_is_erased_while_their_ride_is_under_way(rider, driver, association):
    ride = RideRequestFactory(rider=rider, association=association)
    ride.state, ride.driver = RideState.PICKED_UP, driver
    ride.busy = busy_range(ride, ride.earliest_pickup)
    ride.save()
    Session.objects.all().delete()
    for person in (rider, driver.membership.user):
        with pytest.raises(ApplicationError) as refused:
            person_erase(user=person, actor=person)
        assert refused.value.code == "erase_driver_on_the_road"
        person.refresh_from_db()
        assert person.erased_at is None
    assert RideRequest.objects.get(pk=ride.pk).state == RideState.PICKED_UP
    assert not AuditEntry.objects.filter(action="person.erase").exists()


def test_the_birth_year_stays_for_the_elderly_counts(rider):
    rider.birth_year = 1961
    rider.save()
    erased = person_erase(user=rider, actor=rider)
    assert erased.birth_year == 1961
    with pytest.raises(ApplicationError) as refused:
        person_erase(user=rider, actor=rider)
    assert refused.value.code == "already_erased"


def test_the_database_refuses_an_account_without_phone_or_email_unless_erased():
    person = UserFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=person.pk).update(phone="", email="", erased_at=timezone.now())
    User.objects.filter(pk=person.pk).update(
        phone="", phone_confirmed_at=None, email="", erased_at=timezone.now(), is_active=False
    )
    assert User.objects.get(pk=person.pk).phone == ""


@pytest.mark.django_db(transaction=True)
def test_two_erasures_at_once_erase_once():
    person, staff = UserFactory(), UserFactory(is_staff=True)
    barrier, results = threading.Barrier(2), []

    def erase() -> None:
        try:
            barrier.wait()
            person_erase(user=person, actor=staff)
            results.append("erased")
        except ApplicationError as error:
            results.append(error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=erase) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(results) == ["already_erased", "erased"]
    assert AuditEntry.objects.filter(action="person.erase", subject=person).count() == 1


def test_erasure_signs_the_person_out_everywhere_and_no_one_else(rider):
    """Their sessions go, on every device; another person's session stays."""
    phone, laptop, neighbour = Client(), Client(), Client()
    phone.force_login(rider)
    laptop.force_login(rider)
    other = UserFactory()
    neighbour.force_login(other)
    keys = [c.cookies["sessionid"].value for c in (phone, laptop, neighbour)]

    person_erase(user=rider, actor=rider)

    for key in keys[:2]:
        assert not Session.objects.filter(session_key=key).exists()
    assert Session.objects.filter(session_key=keys[2]).exists()
    assert neighbour.get("/").status_code == 200
    assert phone.get("/").status_code == 302

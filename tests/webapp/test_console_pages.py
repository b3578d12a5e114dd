"""The association console: every page per role, scoped to the coordinator's own
association; actions that refuse write nothing; the board's and roster's queries are
pinned."""

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone, translation
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _lazy

from backend.accounts.models import User
from backend.audit.models import AuditEntry
from backend.community.models import Membership, MembershipState
from backend.notifications.models import Channel, Delivery, DeliveryStatus
from backend.rides.models import (
    MileagePayout,
    Offer,
    OfferState,
    RideEvent,
    RiderApproval,
    RideRequest,
    RideState,
)
from backend.shuttle.models import RunSignup, RunVehicle
from tests.factories import (
    AssociationFactory,
    MembershipFactory,
    RideRequestFactory,
    UserFactory,
)
from tests.webapp.conftest import ROLES, snapshot
from webapp.views.console.common import html_row

pytestmark = pytest.mark.django_db

PAGES = ["/console/", "/console/phone/", "/console/roster/", "/console/runs/", "/console/mileage/"]
EXPECTED = dict.fromkeys(ROLES, 403) | {
    "coordinator": 200,
    "coordinator_elsewhere": 200,
    "anonymous": 302,
}


def everything() -> list:
    """Rides, offers, memberships, approvals, people and run sign-ups: what a refused
    request must leave as it was."""
    return [
        *snapshot(),
        *Membership.objects.order_by("pk").values_list("pk", "state", "state_reason"),
        *RiderApproval.objects.order_by("pk").values_list("pk", "notes"),
        ("people", User.objects.count()),
        ("signups", RunSignup.objects.count()),
        ("vehicles", RunVehicle.objects.count()),
    ]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("url", PAGES)
def test_only_coordinators_open_the_console(world, role, url):
    response = world.client(role).get(url)
    assert response.status_code == EXPECTED[role]
    if role == "anonymous":
        assert response["Location"].startswith("/sign-in")


@pytest.mark.parametrize("url", PAGES)
def test_a_coordinator_elsewhere_sees_nothing_of_this_association(world, url):
    # Asking for association A by id does not help: the console shows their own.
    page = world.client("coordinator_elsewhere").get(f"{url}?association={world.a.pk}")
    text = page.content.decode()
    assert page.status_code == 200
    for name in ("Anna Eriksson", "Sven Holm", "Erik Olsson", "Järnvägsgatan", "Äppelbo"):
        assert name not in text


def test_the_console_link_is_shown_to_coordinators_only(world):
    assert 'href="/console/"' in world.client("coordinator").get("/").content.decode()
    assert 'href="/console/"' not in world.client("rider").get("/").content.decode()


# --- The board ----------------------------------------------------------------------------


def test_the_board_lists_the_rides_with_state_and_driver(world):
    page = world.client("coordinator").get("/console/").content.decode()
    assert f'data-ride="{world.open.pk}"' in page
    assert f'data-ride="{world.held.pk}"' in page
    assert "Erik Olsson" in page  # the held ride's driver
    assert 'data-live-region="rides"' in page


def test_the_board_alerts_about_unassigned_and_soon_starting_rides(world):
    world.open.state = RideState.UNASSIGNED
    world.open.save()
    soon = RideRequestFactory(
        rider=world.people["rider"],
        association=world.a,
        earliest_pickup=timezone.now() + timedelta(minutes=30),
        state=RideState.OFFERING,
    )
    page = world.client("coordinator").get("/console/").content.decode()
    assert "No driver found" in page
    assert "Starts soon without a driver" in page
    assert f"/console/rides/{soon.pk}/" in page


def test_the_board_filters_by_state_and_day(world):
    client = world.client("coordinator")
    page = client.get("/console/", {"state": "accepted"}).content.decode()
    assert f'data-ride="{world.held.pk}"' in page
    assert f'data-ride="{world.open.pk}"' not in page
    day = timezone.localtime(world.open.earliest_pickup).date().isoformat()
    page = client.get("/console/", {"day": day}).content.decode()
    assert f'data-ride="{world.open.pk}"' in page
    assert f'data-ride="{world.held.pk}"' not in page


def test_the_board_filters_by_village(world):
    vansbro = world.a.villages.get()
    world.held.village = vansbro
    world.held.save()
    page = world.client("coordinator").get("/console/", {"village": vansbro.pk}).content.decode()
    assert f'data-ride="{world.held.pk}"' in page
    assert f'data-ride="{world.open.pk}"' not in page


def test_a_bad_filter_is_a_400_with_a_message(world):
    response = world.client("coordinator").get("/console/", {"state": "flying", "day": "x"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"], ids=["last-day", "year-one"])
def test_a_day_at_the_end_of_the_calendar_is_a_400_with_a_message(world, day):
    query = {"village": "", "state": "", "day": day}
    response = world.client("coordinator").get("/console/", query)
    assert response.status_code == 400
    assert "Choose a day between" in response.content.decode()


def test_the_board_shows_drivers_on_duty_with_their_position(world):
    from django.contrib.gis.geos import Point

    driver = world.drivers["offered_driver"]
    driver.on_duty, driver.position = True, Point(14.45, 60.52, srid=4326)
    driver.position_at = timezone.now()
    driver.save()
    response = world.client("coordinator").get("/console/")
    assert "Sven Holm" in response.content.decode()
    points = response.context["map_points"]
    assert points["drivers"][0]["at"] == pytest.approx([14.45, 60.52])


@pytest.mark.parametrize("extra", [0, 10])
def test_the_board_query_count_does_not_grow_with_rides(world, extra, django_assert_num_queries):
    for _n in range(extra):
        RideRequestFactory(rider=world.people["rider"], association=world.a)
    client = world.client("coordinator")
    client.get("/console/")  # warm the session
    # session, user, shell (1), my associations, villages, rides, drivers on duty
    with django_assert_num_queries(7):
        client.get("/console/")


# --- One ride: suggestions, declines, assigning ------------------------------------------


def test_the_ride_page_suggests_drivers_with_distance_and_week_load(world):
    Offer.objects.filter(ride=world.open).update(
        state=OfferState.DECLINED, answered_at=timezone.now()
    )
    response = world.client("coordinator").get(f"/console/rides/{world.open.pk}/")
    assert response.status_code == 200
    suggestions = response.context["suggestions"]
    names = [row["driver"].membership.user.full_name for row in suggestions]
    assert "Sven Holm" in names
    assert all(row["km"] >= 0 and row["week"] >= 0 for row in suggestions)
    assert [o.driver for o in response.context["declined"]] == [world.drivers["offered_driver"]]


def test_the_ride_page_names_needs_and_states_in_words(world):
    world.open.needs = ["bags", "walker"]
    world.open.save()
    for state in (RideState.REQUESTED, RideState.UNASSIGNED, RideState.ACCEPTED):
        RideEvent.objects.create(ride=world.open, to_state=state)
    page = world.client("coordinator").get(f"/console/rides/{world.open.pk}/").content.decode()
    assert "<dd>help with bags, walker</dd>" in page
    history = page.split('id="history-title"')[1]
    assert "· no driver found yet" in history and "· driver found" in history
    assert "· unassigned" not in history and "· accepted" not in history


def test_assigning_by_hand_gives_the_ride_and_tells_the_driver(world):
    driver = world.drivers["offered_driver"]
    response = world.client("coordinator").post(
        f"/console/rides/{world.open.pk}/assign", {"driver": driver.pk}
    )
    assert response.status_code == 302
    world.open.refresh_from_db()
    assert (world.open.state, world.open.driver) == (RideState.ACCEPTED, driver)
    assert driver.membership.user.notifications.filter(kind="ride.assigned").exists()


@pytest.mark.parametrize("driver", ["", "abc", "999999"])
def test_assigning_an_unknown_driver_writes_nothing(world, driver):
    before = everything()
    response = world.client("coordinator").post(
        f"/console/rides/{world.open.pk}/assign", {"driver": driver}
    )
    assert response.status_code == 400
    assert everything() == before


@pytest.mark.parametrize("role", ["coordinator_elsewhere", "holding_driver", "rider", "analyst"])
def test_nobody_else_sees_or_assigns_the_ride(world, role):
    before = everything()
    client = world.client(role)
    assert client.get(f"/console/rides/{world.open.pk}/").status_code in (403, 404)
    response = client.post(
        f"/console/rides/{world.open.pk}/assign",
        {"driver": world.drivers["offered_driver"].pk},
    )
    assert response.status_code in (403, 404)
    assert everything() == before


# --- Phone-in booking ---------------------------------------------------------------------


def test_finding_a_caller_by_name_or_phone(world):
    client = world.client("coordinator")
    by_name = client.get("/console/phone/", {"q": "anna"}).context["found"]
    by_phone = client.get("/console/phone/", {"q": "070-174 06 20"}).context["found"]
    assert by_name == [world.people["rider"]] == by_phone


def test_the_search_finds_nobody_of_another_association(world):
    MembershipFactory(
        user__full_name="Anna Berg",
        association=world.people["coordinator_elsewhere"].memberships.get().association,
    )
    found = world.client("coordinator").get("/console/phone/", {"q": "anna"}).context["found"]
    assert [p.full_name for p in found] == ["Anna Eriksson"]


def test_a_new_managed_profile_is_an_approved_member_at_once(world):
    response = world.client("coordinator").post(
        "/console/phone/new",
        {"full_name": "Gunnel Ek", "phone": "070-174 06 99", "approve_rides": "on"},
    )
    gunnel = User.objects.get(full_name="Gunnel Ek")
    assert response["Location"] == f"/console/phone/{gunnel.pk}/?association={world.a.pk}"
    membership = gunnel.memberships.get()
    assert gunnel.is_managed and membership.state == MembershipState.ACTIVE
    assert RiderApproval.objects.filter(membership=membership).exists()


def test_a_new_profile_without_a_name_writes_nothing(world):
    before = everything()
    response = world.client("coordinator").post("/console/phone/new", {"full_name": " "})
    assert response.status_code == 400
    assert everything() == before


def test_booking_a_ride_for_a_caller(world, django_capture_on_commit_callbacks):
    rider = world.people["rider"]
    with django_capture_on_commit_callbacks():
        response = world.client("coordinator").post(
            f"/console/phone/{rider.pk}/",
            {
                "what": "ride",
                "rider": rider.pk,
                "pickup_address": "Järnvägsgatan 4, Vansbro",
                "pickup_lon": "14.2267",
                "pickup_lat": "60.5103",
                "destination_address": "Vårdcentralen, Dala-Järna",
                "destination_lon": "14.3644",
                "destination_lat": "60.5534",
                "time_kind": "pickup_at",
                "at": (timezone.localtime() + timedelta(days=3)).strftime("%Y-%m-%dT10:00"),
                "passengers": "1",
            },
        )
    ride = RideRequest.objects.filter(rider=rider, requested_by=world.people["coordinator"]).get()
    assert response["Location"] == f"/console/rides/{ride.pk}/?association={world.a.pk}"
    assert rider.notifications.filter(kind="ride.requested").exists()


def test_a_booking_with_bad_input_writes_nothing(world):
    rider = world.people["rider"]
    before = everything()
    response = world.client("coordinator").post(
        f"/console/phone/{rider.pk}/",
        {"what": "ride", "rider": rider.pk, "pickup_address": "", "time_kind": "pickup_at"},
    )
    assert response.status_code == 400
    assert everything() == before


def test_a_caller_of_another_association_cannot_be_booked_for(world):
    before = everything()
    client = world.client("coordinator_elsewhere")
    rider = world.people["rider"]
    assert client.get(f"/console/phone/{rider.pk}/").status_code == 404
    assert client.post(f"/console/phone/{rider.pk}/", {"what": "ride"}).status_code == 404
    assert everything() == before


# --- Roster -------------------------------------------------------------------------------


def test_the_roster_shows_members_drivers_week_grid_and_load(world):
    response = world.client("coordinator").get("/console/roster/")
    page = response.content.decode()
    assert "Anna Eriksson" in page and "Grå Volvo" in page
    drivers = {row["membership"]["full_name"]: row for row in response.context["drivers"]}
    assert drivers["Erik Olsson"]["grid"][0] == "08:00\u201317:00"
    # The held ride is this month only when its pickup is; the load counts what is.
    month = timezone.localtime(world.held.earliest_pickup).month == timezone.localdate().month
    assert drivers["Erik Olsson"]["load"]["rides"] == (1 if month else 0)


def test_the_roster_names_the_roles_in_words(world):
    page = world.client("coordinator").get("/console/roster/").content.decode()
    assert "member, volunteer driver" in page
    assert "member, driver" not in page


@pytest.mark.parametrize("extra", [0, 5])
def test_the_roster_query_count_does_not_grow_with_members(world, extra, django_assert_num_queries):
    for _n in range(extra):
        MembershipFactory(association=world.a)
    client = world.client("coordinator")
    client.get("/console/roster/")
    # session, user, shell (1), my associations, memberships, slots, audit log, month load
    with django_assert_num_queries(8):
        client.get("/console/roster/")


def test_approving_a_pending_member(world):
    pending = MembershipFactory(association=world.a, state=MembershipState.PENDING)
    response = world.client("coordinator").post(f"/console/roster/{pending.pk}/approve")
    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.state == MembershipState.ACTIVE


def test_suspending_needs_a_reason(world):
    member = Membership.objects.get(user=world.people["other_resident"])
    before = everything()
    response = world.client("coordinator").post(f"/console/roster/{member.pk}/suspend", {})
    assert response.status_code == 400
    assert everything() == before
    world.client("coordinator").post(f"/console/roster/{member.pk}/suspend", {"reason": "Flyttat"})
    member.refresh_from_db()
    assert (member.state, member.state_reason) == (MembershipState.SUSPENDED, "Flyttat")


def test_approving_a_rider(world):
    member = Membership.objects.get(user=world.people["other_resident"])
    world.client("coordinator").post(f"/console/roster/{member.pk}/rider", {"notes": "Rullator"})
    assert RiderApproval.objects.get(membership=member).notes == "Rullator"


@pytest.mark.parametrize("action", ["approve", "suspend", "rider", "delete"])
@pytest.mark.parametrize("role", ["coordinator_elsewhere", "holding_driver", "rider", "analyst"])
def test_nobody_else_changes_the_roster(world, role, action):
    member = MembershipFactory(association=world.a, state=MembershipState.PENDING)
    before = everything()
    response = world.client(role).post(
        f"/console/roster/{member.pk}/{action}", {"reason": "x", "notes": "x"}
    )
    assert response.status_code in (403, 404)
    assert everything() == before


# --- Mileage ------------------------------------------------------------------------------


def _completed(world, km: int) -> RideRequest:
    ride = world.held
    ride.state, ride.closed_at, ride.driven_m = RideState.COMPLETED, timezone.now(), km * 1000
    ride.save()
    return ride


def test_the_mileage_page_and_csv(world, settings):
    settings.MILEAGE_RATE_ORE_PER_KM = 250
    _completed(world, 12)
    client = world.client("coordinator")
    page = client.get("/console/mileage/").content.decode()
    assert "Erik Olsson" in page and "30.00" in page
    assert "Month not over" in page  # this month cannot be paid yet
    response = client.get("/console/mileage.csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows == [
        ["driver", "rides", "km", "amount (SEK)", "paid on"],
        ["Erik Olsson", "1", "12.0", "30.00", ""],
    ]


def _last_month() -> str:
    return (timezone.localdate().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")


def _completed_last_month(world, km: int) -> RideRequest:
    ride = _completed(world, km)
    ride.closed_at = timezone.localtime().replace(day=1) - timedelta(days=3)
    ride.save()
    return ride


def test_marking_last_months_mileage_as_paid(world, settings):
    settings.MILEAGE_RATE_ORE_PER_KM = 250
    _completed_last_month(world, 12)
    driver = world.drivers["holding_driver"]
    client = world.client("coordinator")
    month = _last_month()
    response = client.post("/console/mileage/paid", {"driver": driver.pk, "month": month})
    assert response.status_code == 302
    payout = MileagePayout.objects.get()
    assert (payout.driver, payout.amount_ore, payout.metres, payout.paid_by) == (
        driver,
        3000,
        12000,
        world.people["coordinator"],
    )
    page = client.get("/console/mileage/", {"month": month}).content.decode()
    assert "Paid " in page and "Mark Erik Olsson as paid" not in page
    csv_rows = list(
        csv.reader(
            io.StringIO(
                client.get("/console/mileage.csv", {"month": month}).content.decode("utf-8-sig")
            )
        )
    )
    assert csv_rows[1][4] == timezone.localdate().isoformat()
    # A second time is refused, and nothing more is written.
    again = client.post("/console/mileage/paid", {"driver": driver.pk, "month": month})
    assert again.status_code == 409
    assert "already marked as paid" in again.content.decode()
    assert MileagePayout.objects.count() == 1


def test_the_paid_message_shows_the_amount_with_the_swedish_decimal_comma(world, settings):
    settings.MILEAGE_RATE_ORE_PER_KM = 250
    ride = _completed_last_month(world, 12)
    RideRequest.objects.filter(pk=ride.pk).update(driven_m=171_348)  # 428.37 SEK
    client = world.client("coordinator")
    client.cookies["django_language"] = "sv"
    response = client.post(
        "/console/mileage/paid",
        {"driver": world.drivers["holding_driver"].pk, "month": _last_month()},
        HTTP_ACCEPT_LANGUAGE="sv",
        follow=True,
    )
    [message] = [str(m) for m in response.context["messages"]]
    assert "428,37" in message and "428.37" not in message


@pytest.mark.parametrize(
    ("data", "status"),
    [
        ({}, 400),
        ({"driver": "x", "month": "2025-01"}, 400),
        ({"driver": "1", "month": "2025-13"}, 400),
        ({"driver": "999999", "month": "2025-01"}, 400),
        ("this month", 409),
        ("no rides", 409),
    ],
)
def test_marking_paid_with_bad_input_writes_nothing(world, data, status):
    driver = world.drivers["holding_driver"]
    if data == "this month":
        _completed(world, 12)
        data = {"driver": driver.pk, "month": timezone.localdate().strftime("%Y-%m")}
    elif data == "no rides":
        data = {"driver": driver.pk, "month": _last_month()}
    response = world.client("coordinator").post("/console/mileage/paid", data)
    assert response.status_code == status
    assert not MileagePayout.objects.exists()


@pytest.mark.parametrize("role", ["coordinator_elsewhere", "holding_driver", "rider", "analyst"])
def test_nobody_else_marks_mileage_as_paid(world, role):
    _completed_last_month(world, 12)
    response = world.client(role).post(
        "/console/mileage/paid",
        {
            "driver": world.drivers["holding_driver"].pk,
            "month": _last_month(),
            "association": world.a.pk,
        },
    )
    assert response.status_code in (400, 403)
    assert not MileagePayout.objects.exists()


@pytest.mark.parametrize("url", ["/console/mileage/", "/console/mileage.csv"])
def test_a_bad_month_is_a_400(world, url):
    response = world.client("coordinator").get(url, {"month": "2025-13"})
    assert response.status_code == 400
    assert "YYYY-MM" in response.content.decode()


def test_the_mileage_csv_of_another_association_is_not_given(world):
    _completed(world, 12)
    response = world.client("coordinator_elsewhere").get(
        "/console/mileage.csv", {"association": world.a.pk}
    )
    assert "Erik Olsson" not in response.content.decode("utf-8-sig")
    assert world.client("holding_driver").get("/console/mileage.csv").status_code == 403


def test_a_caller_without_a_login_gets_the_confirmation_by_sms(world):
    client = world.client("coordinator")
    client.post(
        "/console/phone/new",
        {"full_name": "Gunnel Ek", "phone": "070-174 06 99", "approve_rides": "on"},
    )
    gunnel = User.objects.get(full_name="Gunnel Ek")
    response = client.post(
        f"/console/phone/{gunnel.pk}/",
        {
            "what": "ride",
            "rider": gunnel.pk,
            "pickup_address": "Järnvägsgatan 4, Vansbro",
            "pickup_lon": "14.2267",
            "pickup_lat": "60.5103",
            "destination_address": "Vårdcentralen, Dala-Järna",
            "destination_lon": "14.3644",
            "destination_lat": "60.5534",
            "time_kind": "pickup_at",
            "at": (timezone.localtime() + timedelta(days=3)).strftime("%Y-%m-%dT10:00"),
            "passengers": "1",
        },
        follow=True,
    )
    assert "A confirmation goes by SMS to +46701740699" in response.content.decode()
    # notify() plans the SMS; the worker sends what is planned (tested in notifications).
    delivery = Delivery.objects.get(notification__recipient=gunnel, channel=Channel.SMS)
    assert (delivery.address, delivery.status) == ("+46701740699", DeliveryStatus.PENDING)
    assert delivery.notification.kind == "ride.requested"


# --- Reassigning --------------------------------------------------------------------------


def test_giving_an_accepted_ride_to_another_driver(world):
    erik, sven = world.drivers["holding_driver"], world.drivers["offered_driver"]
    response = world.client("coordinator").post(
        f"/console/rides/{world.held.pk}/reassign", {"driver": sven.pk, "reason": "Erik är sjuk"}
    )
    assert response.status_code == 302
    world.held.refresh_from_db()
    assert (world.held.state, world.held.driver) == (RideState.ACCEPTED, sven)
    told = erik.membership.user.notifications.get(kind="ride.released")
    assert told.payload["reason"] == "Erik är sjuk"
    assert sven.membership.user.notifications.filter(kind="ride.assigned").exists()
    assert Offer.objects.get(ride=world.held, driver=erik).state == OfferState.WITHDRAWN


def test_a_driver_on_the_way_whose_car_broke_down_is_replaced(world):
    erik, sven = world.drivers["holding_driver"], world.drivers["offered_driver"]
    RideRequest.objects.filter(pk=world.held.pk).update(state=RideState.EN_ROUTE)
    page = world.client("coordinator").get(f"/console/rides/{world.held.pk}/").content.decode()
    assert f"/console/rides/{world.held.pk}/reassign" in page
    response = world.client("coordinator").post(
        f"/console/rides/{world.held.pk}/reassign",
        {"driver": sven.pk, "reason": "Bilen gick sönder"},
    )
    assert response.status_code == 302
    world.held.refresh_from_db()
    assert (world.held.state, world.held.driver) == (RideState.ACCEPTED, sven)
    told = erik.membership.user.notifications.get(kind="ride.released")
    assert told.payload["reason"] == "Bilen gick sönder"


def test_a_ride_with_the_rider_on_board_is_not_reassigned(world):
    RideRequest.objects.filter(pk=world.held.pk).update(state=RideState.PICKED_UP)
    before = everything()
    response = world.client("coordinator").post(
        f"/console/rides/{world.held.pk}/reassign",
        {"driver": world.drivers["offered_driver"].pk, "reason": "x"},
    )
    assert response.status_code == 409
    assert everything() == before


@pytest.mark.parametrize(
    ("data", "status"),
    [
        ({"driver": "offered_driver", "reason": ""}, 400),
        ({"driver": "999999", "reason": "x"}, 400),
        ({"driver": "holding_driver", "reason": "x"}, 409),  # already theirs
    ],
)
def test_reassigning_with_bad_input_writes_nothing(world, data, status):
    driver = data["driver"]
    if driver in world.drivers:
        driver = world.drivers[driver].pk
    before = everything()
    response = world.client("coordinator").post(
        f"/console/rides/{world.held.pk}/reassign", {**data, "driver": driver}
    )
    assert response.status_code == status
    assert everything() == before


def test_reassigning_to_a_driver_busy_then_keeps_the_first_driver(world):
    sven = world.drivers["offered_driver"]
    # Sven already drives another ride at the same time.
    other = RideRequestFactory(
        rider=world.people["other_resident"],
        association=world.a,
        earliest_pickup=world.held.earliest_pickup,
        state=RideState.OFFERING,
    )
    world.client("coordinator").post(f"/console/rides/{other.pk}/assign", {"driver": sven.pk})
    before = everything()
    response = world.client("coordinator").post(
        f"/console/rides/{world.held.pk}/reassign", {"driver": sven.pk, "reason": "x"}
    )
    assert response.status_code == 409
    assert everything() == before
    world.held.refresh_from_db()
    assert world.held.driver == world.drivers["holding_driver"]


@pytest.mark.parametrize("role", ["coordinator_elsewhere", "holding_driver", "rider", "analyst"])
def test_nobody_else_reassigns(world, role):
    before = everything()
    response = world.client(role).post(
        f"/console/rides/{world.held.pk}/reassign",
        {"driver": world.drivers["offered_driver"].pk, "reason": "x"},
    )
    assert response.status_code in (403, 404)
    assert everything() == before


def test_a_new_profile_keeps_its_address_when_the_geocoder_is_down(world):
    # GEOCODER_URL is empty in these tests: the address cannot be looked up.
    response = world.client("coordinator").post(
        "/console/phone/new",
        {"full_name": "Gunnel Ek", "home_address": "Storgatan 1, Vansbro"},
        follow=True,
    )
    gunnel = User.objects.get(full_name="Gunnel Ek")
    assert (gunnel.home_address, gunnel.home_location) == ("Storgatan 1, Vansbro", None)
    assert "give the pickup when you book" in response.content.decode()


def test_the_roster_and_a_caller_search_are_in_the_audit_log(world):
    member = MembershipFactory(association=world.a, user__full_name="Greta Lund").user
    client = world.client("coordinator")
    client.get("/console/roster/")
    client.get("/console/phone/", {"q": "Greta"})
    coordinator = world.people["coordinator"]
    actions = set(
        AuditEntry.objects.filter(actor=coordinator, subject_id=member.pk).values_list(
            "action", flat=True
        )
    )
    assert actions == {"roster.view", "people.view"}


@pytest.mark.parametrize(
    "value", ["Åsa & Bo", "<script>", '"quoted"', "it's", 12, 1.5, None, _lazy("Suspend")]
)
def test_console_rows_escape_values_as_format_html_does(value):
    assert html_row("<td>{x}</td>", x=value) == format_html("<td>{}</td>", value)
    assert html_row("<td>{x}</td>", x=mark_safe("<b>ok</b>")) == "<td><b>ok</b></td>"


def test_the_coordinator_is_not_told_an_sms_goes_to_an_unconfirmed_number():
    from webapp.views.console.phone import _confirmation

    confirmed = UserFactory(phone="+46701740698")
    unconfirmed = UserFactory(full_name="Lars Ek", phone="+46701740697", phone_confirmed_at=None)
    with translation.override("en"):
        assert "goes by SMS to +46701740698" in _confirmation(confirmed, "Booked.")
        assert _confirmation(unconfirmed, "Booked.") == (
            "Booked. Lars Ek gets no SMS: tell them the details on the phone."
        )


def test_the_switch_to_another_association_leaves_a_page_of_this_ones(world):
    """A coordinator of two associations switches on the page they are on, except on a
    page of one of this association's things (a ride, a member), which the other
    association has not: there it opens the other's board."""
    other = AssociationFactory(name="Järna byalag")
    MembershipFactory(
        user=world.people["coordinator"], association=other, roles=["member", "coordinator"]
    )
    client = world.client("coordinator")
    roster = client.get(f"/console/roster/?association={world.a.pk}").content.decode()
    assert f'<a href="?association={other.pk}">Järna byalag</a>' in roster
    ride = client.get(f"/console/rides/{world.held.pk}/?association={world.a.pk}")
    link = f'<a href="/console/?association={other.pk}">Järna byalag</a>'
    assert link in ride.content.decode()
    assert client.get(f"/console/?association={other.pk}").status_code == 200

"""The console's shared things: the association's resources, booking requests to approve
or decline, loans not returned in time, problem reports, and taking a resource out of
service and back. Per role; nothing of another association; refused actions write
nothing; the page's queries are pinned."""

from datetime import timedelta

import pytest
from django.utils import timezone

from backend.notifications.models import Notification
from backend.sharing.models import (
    ApprovalMode,
    Booking,
    BookingStatus,
    ProblemKind,
    ProblemReport,
    Resource,
)
from tests.factories import AssociationFactory, UserFactory
from tests.sharing_fixtures import BookingFactory, ResourceFactory
from tests.webapp.conftest import ROLES

pytestmark = pytest.mark.django_db

PAGE = "/console/sharing/"
EXPECTED = dict.fromkeys(ROLES, 403) | {
    "coordinator": 200,
    "coordinator_elsewhere": 200,
    "anonymous": 302,
}


@pytest.fixture
def things(world):
    """The association's hall with Anna's request waiting, its trailer out on a loan
    that ended yesterday, a breakdown report on the mower; another association's car."""
    hall = ResourceFactory(
        association=world.a, title="Bygdegården", approval_mode=ApprovalMode.OWNER
    )
    trailer = ResourceFactory(association=world.a, title="Byasläpet")
    mower = ResourceFactory(association=world.a, title="Gräsklipparen", out_of_service=True)
    rider = world.people["rider"]
    request = BookingFactory(resource=hall, booker=rider, status=BookingStatus.REQUESTED)
    now = timezone.now()
    late = BookingFactory(
        resource=trailer,
        booker=world.people["other_resident"],
        starts_at=now - timedelta(days=2),
        ends_at=now - timedelta(days=1),
        blocked_until=now - timedelta(days=1),
        status=BookingStatus.OVERDUE,
    )
    broken = ProblemReport.objects.create(
        resource=mower, reporter=rider, kind=ProblemKind.BREAKDOWN, text="Kniven är trasig"
    )
    elsewhere = ResourceFactory(association=AssociationFactory(), title="Grannbilen")
    foreign = BookingFactory(
        resource=elsewhere,
        booker=UserFactory(full_name="Olle Utsocken"),
        status=BookingStatus.REQUESTED,
    )
    return {
        "hall": hall,
        "trailer": trailer,
        "mower": mower,
        "request": request,
        "late": late,
        "broken": broken,
        "elsewhere": elsewhere,
        "foreign": foreign,
    }


def state() -> list:
    """What a refused request must leave as it was."""
    return [
        *Booking.objects.order_by("pk").values_list("pk", "status", "reason", "decided_by_id"),
        *Resource.objects.order_by("pk").values_list("pk", "out_of_service"),
        *ProblemReport.objects.order_by("pk").values_list("pk", "resolved_at"),
        ("problems", ProblemReport.objects.count()),
        ("notifications", Notification.objects.count()),
    ]


def actions(things) -> list[tuple[str, dict]]:
    return [
        (f"/console/sharing/bookings/{things['request'].pk}/approve", {}),
        (f"/console/sharing/bookings/{things['request'].pk}/decline", {"reason": "Upptagen"}),
        (f"/console/sharing/resources/{things['hall'].pk}/out-of-service", {"text": "Trasig"}),
        (f"/console/sharing/resources/{things['mower'].pk}/in-service", {}),
    ]


# --- Who may open it -------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_only_coordinators_open_shared_things(world, things, role):
    response = world.client(role).get(PAGE)
    assert response.status_code == EXPECTED[role]
    if role == "anonymous":
        assert response["Location"].startswith("/sign-in")


def test_a_coordinator_elsewhere_sees_nothing_of_this_association(world, things):
    page = world.client("coordinator_elsewhere").get(f"{PAGE}?association={world.a.pk}")
    text = page.content.decode()
    assert page.status_code == 200
    for name in ("Bygdegården", "Byasläpet", "Gräsklipparen", "Kniven", "Anna Eriksson"):
        assert name not in text


@pytest.mark.parametrize("index", range(4))
def test_a_coordinator_elsewhere_gets_404_for_every_action(world, things, index):
    before = state()
    url, data = actions(things)[index]
    response = world.client("coordinator_elsewhere").post(url, {**data, "association": world.a.pk})
    assert response.status_code == 404
    assert state() == before


@pytest.mark.parametrize("role", [r for r in ROLES if EXPECTED[r] == 403])
@pytest.mark.parametrize("index", range(4))
def test_residents_and_drivers_cannot_act(world, things, role, index):
    before = state()
    url, data = actions(things)[index]
    assert world.client(role).post(url, data).status_code == 403
    assert state() == before


@pytest.mark.parametrize("index", range(4))
def test_anonymous_is_sent_to_sign_in(world, things, index):
    before = state()
    url, data = actions(things)[index]
    response = world.client("anonymous").post(url, data)
    assert response.status_code == 302 and response["Location"].startswith("/sign-in")
    assert state() == before


def test_another_associations_booking_is_a_404_for_this_coordinator(world, things):
    before = state()
    client = world.client("coordinator")
    url = f"/console/sharing/bookings/{things['foreign'].pk}/approve"
    assert client.post(url).status_code == 404
    url = f"/console/sharing/resources/{things['elsewhere'].pk}/out-of-service"
    assert client.post(url, {"text": "Trasig"}).status_code == 404
    assert state() == before


# --- The page --------------------------------------------------------------------------------


def test_the_page_shows_requests_late_loans_problems_and_resources(world, things):
    response = world.client("coordinator").get(PAGE)
    page = response.content.decode()
    assert [b.pk for b in response.context["pending"]] == [things["request"].pk]
    assert [b.pk for b in response.context["overdue"]] == [things["late"].pk]
    assert f'data-booking="{things["request"].pk}"' in page
    assert f'data-overdue="{things["late"].pk}"' in page
    assert "Johan Persson" in page and "+46701740621" in page  # whom to call
    assert f'data-problem="{things["broken"].pk}"' in page and "Kniven är trasig" in page
    assert "Put Gräsklipparen back in service" in page
    assert "Grannbilen" not in page and "Olle Utsocken" not in page


def test_a_loan_past_its_end_shows_before_the_beat_marks_it_overdue(world, things):
    Booking.objects.filter(pk=things["late"].pk).update(status=BookingStatus.CHECKED_OUT)
    response = world.client("coordinator").get(PAGE)
    assert [b.pk for b in response.context["overdue"]] == [things["late"].pk]


def test_the_nav_links_to_shared_things(world):
    page = world.client("coordinator").get("/console/roster/").content.decode()
    assert f'href="/console/sharing/?association={world.a.pk}"' in page


@pytest.mark.parametrize("extra", [0, 8])
def test_the_query_count_does_not_grow_with_things(world, things, extra, django_assert_num_queries):
    now = timezone.now()
    for n in range(extra):
        resource = ResourceFactory(association=world.a, owner=world.people["other_resident"])
        BookingFactory(resource=resource, booker=world.people["rider"], status="requested")
        BookingFactory(
            resource=resource,
            booker=world.people["rider"],
            starts_at=now - timedelta(days=3, hours=n),
            ends_at=now - timedelta(days=2, hours=n),
            blocked_until=now - timedelta(days=2, hours=n),
            status=BookingStatus.OVERDUE,
        )
        ProblemReport.objects.create(resource=resource, kind=ProblemKind.NOTE, text="Repa")
    client = world.client("coordinator")
    client.get(PAGE)  # warm the session
    # session, user, shell (1), my associations, resources, pending, overdue, problems
    with django_assert_num_queries(8):
        client.get(PAGE)


# --- Approving and declining -----------------------------------------------------------------


def test_approving_confirms_and_tells_the_booker(world, things, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = world.client("coordinator").post(
            f"/console/sharing/bookings/{things['request'].pk}/approve"
        )
    assert response.status_code == 302
    assert response["Location"] == f"{PAGE}?association={world.a.pk}"
    booking = Booking.objects.get(pk=things["request"].pk)
    assert booking.status == BookingStatus.CONFIRMED
    assert booking.decided_by == world.people["coordinator"]
    assert Notification.objects.filter(
        recipient=world.people["rider"], kind="sharing.booking_confirmed"
    ).exists()


def test_declining_writes_the_reason_and_tells_the_booker(
    world, things, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = world.client("coordinator").post(
            f"/console/sharing/bookings/{things['request'].pk}/decline",
            {"reason": "Stämman har lokalen"},
        )
    assert response.status_code == 302
    booking = Booking.objects.get(pk=things["request"].pk)
    assert (booking.status, booking.reason) == (BookingStatus.DECLINED, "Stämman har lokalen")
    note = Notification.objects.get(
        recipient=world.people["rider"], kind="sharing.booking_declined"
    )
    assert note.payload["reason"] == "Stämman har lokalen"


@pytest.mark.parametrize("data", [{}, {"reason": ""}, {"reason": "x" * 301}])
def test_declining_without_a_usable_reason_writes_nothing(world, things, data):
    before = state()
    response = world.client("coordinator").post(
        f"/console/sharing/bookings/{things['request'].pk}/decline", data
    )
    assert response.status_code == 400
    assert "Write why the booking is declined" in response.content.decode()
    assert state() == before


def test_approving_a_booking_already_decided_changes_nothing(world, things):
    Booking.objects.filter(pk=things["request"].pk).update(status=BookingStatus.DECLINED)
    before = state()
    client = world.client("coordinator")
    response = client.post(f"/console/sharing/bookings/{things['request'].pk}/approve", follow=True)
    assert response.status_code == 200
    assert "is declined and cannot be changed that way" in response.content.decode()
    assert state() == before


# --- Out of service and back -----------------------------------------------------------------


def test_taking_a_thing_out_of_service_cancels_its_bookings_and_tells_the_bookers(
    world, things, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = world.client("coordinator").post(
            f"/console/sharing/resources/{things['hall'].pk}/out-of-service",
            {"text": "Vattenläcka i köket"},
        )
    assert response.status_code == 302
    assert Resource.objects.get(pk=things["hall"].pk).out_of_service
    report = ProblemReport.objects.get(resource=things["hall"])
    assert (report.kind, report.text) == (ProblemKind.BREAKDOWN, "Vattenläcka i köket")
    assert Booking.objects.get(pk=things["request"].pk).status == BookingStatus.CANCELLED
    assert Notification.objects.filter(
        recipient=world.people["rider"], kind="sharing.out_of_service"
    ).exists()


@pytest.mark.parametrize("data", [{}, {"text": "   "}, {"text": "x" * 1001}])
def test_out_of_service_without_a_description_writes_nothing(world, things, data):
    before = state()
    response = world.client("coordinator").post(
        f"/console/sharing/resources/{things['hall'].pk}/out-of-service", data
    )
    assert response.status_code == 400
    assert "Describe what is wrong" in response.content.decode()
    assert state() == before


def test_putting_a_thing_back_in_service_resolves_its_breakdowns(world, things):
    response = world.client("coordinator").post(
        f"/console/sharing/resources/{things['mower'].pk}/in-service"
    )
    assert response.status_code == 302
    assert not Resource.objects.get(pk=things["mower"].pk).out_of_service
    report = ProblemReport.objects.get(pk=things["broken"].pk)
    assert report.resolved_by == world.people["coordinator"] and report.resolved_at


def test_a_thing_already_in_service_is_a_message_not_a_change(world, things):
    before = state()
    response = world.client("coordinator").post(
        f"/console/sharing/resources/{things['hall'].pk}/in-service", follow=True
    )
    assert "Bygdegården is already in service." in response.content.decode()
    assert state() == before


@pytest.mark.parametrize("url", ["approve", "decline"])
def test_a_get_does_not_act(world, things, url):
    before = state()
    response = world.client("coordinator").get(
        f"/console/sharing/bookings/{things['request'].pk}/{url}"
    )
    assert response.status_code == 405
    assert state() == before


# --- Phone-in booking of a shared thing ----------------------------------------------------


def item_form(resource, start, hours: int = 3, **changes) -> dict:
    values = {
        "what": "item",
        "resource": resource.pk,
        "starts_at": timezone.localtime(start).strftime("%Y-%m-%dT%H:%M"),
        "ends_at": timezone.localtime(start + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M"),
        "note": "Ringde in",
    }
    values.update(changes)
    return values


def test_a_shared_thing_booked_on_the_phone_for_a_caller(world, things):
    caller = world.people["other_resident"]
    start = (timezone.localtime() + timedelta(days=4)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    page = world.client("coordinator").get(f"/console/phone/{caller.pk}/")
    assert "Byasläpet" in page.content.decode()
    assert "Gräsklipparen" not in page.content.decode()  # out of service
    response = world.client("coordinator").post(
        f"/console/phone/{caller.pk}/", item_form(things["trailer"], start)
    )
    assert response.status_code == 302
    booking = Booking.objects.get(resource=things["trailer"], booker=caller, starts_at=start)
    assert (booking.status, booking.booked_by, booking.note) == (
        BookingStatus.CONFIRMED,
        world.people["coordinator"],
        "Ringde in",
    )


@pytest.mark.parametrize(
    "case",
    ["ends-before-start", "another-associations-thing", "out-of-service", "taken"],
)
def test_a_phone_in_booking_of_a_thing_with_bad_input_writes_nothing(world, things, case):
    caller = world.people["other_resident"]
    start = (timezone.localtime() + timedelta(days=4)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )
    form = {
        "ends-before-start": item_form(things["trailer"], start, hours=-2),
        "another-associations-thing": item_form(things["elsewhere"], start),
        "out-of-service": item_form(things["mower"], start),
        "taken": item_form(things["hall"], things["request"].starts_at, hours=1),
    }[case]
    before = state()
    response = world.client("coordinator").post(f"/console/phone/{caller.pk}/", form)
    assert response.status_code == 400
    assert state() == before

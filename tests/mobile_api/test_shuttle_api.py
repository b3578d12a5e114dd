"""Shop runs through the API: the sign-up page, the coordinator's run list and run sheet,
drivers taking runs; bad input refused with nothing written; who sees what, per role;
query counts of the lists pinned."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backend.community.models import MunicipalityAnalyst
from backend.notifications.models import Notification
from backend.shuttle.models import (
    RunOccurrence,
    RunOffer,
    RunSchedule,
    RunSignup,
    RunVehicle,
    SignupState,
)
from backend.shuttle.services import signup_create, vehicle_add
from dispatch.shop_runs import occurrence_plan
from tests.mobile_api.test_rides_api import error_of
from tests.shuttle_world import SHOP, make_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(settings):
    settings.ROUTER_URL = ""
    return make_world()


def url(path: str) -> str:
    return f"/api/v1/shuttle/{path}"


def planned_world(world):
    """Four passengers, Erik's car on the run, the pickup order planned."""
    for person in world.residents[:3]:
        signup_create(actor=person, occurrence=world.occurrence, passenger=person)
    signup_create(actor=world.daughter, occurrence=world.occurrence, passenger=world.managed)
    vehicle_add(
        occurrence=world.occurrence,
        driver=world.drivers[0],
        actor=world.coordinator,
        by_coordinator=True,
    )
    occurrence_plan(occurrence_id=world.occurrence.pk)
    return world


# --- Residents: the sign-up page ----------------------------------------------------------


def test_resident_sees_coming_runs_with_seats_left(world, api_as, django_assert_num_queries):
    client = api_as(world.residents[0])
    # The page (visibility is a subquery); not full, so no COUNT.
    with django_assert_num_queries(1):
        response = client.get(url("runs/"))
    assert response.status_code == 200, response.content
    rows = response.json()["results"]
    assert [row["id"] for row in rows] == list(
        RunOccurrence.objects.order_by("arrive_at").values_list("pk", flat=True)
    )
    first = rows[0]
    assert first["shop"] == "ICA Nära Vansbro"
    assert first["destination"] == {"type": "Point", "coordinates": [SHOP.x, SHOP.y]}
    assert (first["capacity"], first["seats_left"], first["signup_open"]) == (8, 8, True)
    assert "seats_taken" not in first and "cars" not in first


def test_run_list_query_count_does_not_grow_with_runs(world, api_as):
    client = api_as(world.residents[0])
    with CaptureQueriesContext(connection) as few:
        client.get(url("runs/"))
    from backend.shuttle.services import occurrences_materialise

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("django.conf.settings.SHUTTLE_HORIZON_DAYS", 120)
        occurrences_materialise(schedule=world.schedule)
    assert RunOccurrence.objects.count() > 10
    with CaptureQueriesContext(connection) as many:
        client.get(url("runs/"))
    assert len(many) == len(few)


def test_resident_signs_up_and_sees_it_in_their_list(world, api_as, django_assert_num_queries):
    client = api_as(world.residents[0])
    response = client.post(
        url(f"runs/{world.occurrence.pk}/signups"), {"needs": ["walker"], "note": "Ring två gånger"}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["state"] == "confirmed"
    assert body["passenger"]["full_name"] == world.residents[0].full_name
    assert body["pickup_address"] == world.residents[0].home_address
    assert body["run"]["seats_left"] == 7
    with django_assert_num_queries(1):  # the page (not full: no COUNT)
        listed = client.get(url("signups/"))
    assert [row["id"] for row in listed.json()["results"]] == [body["id"]]


def test_proxy_signs_up_her_mother_every_week(world, api_as):
    client = api_as(world.daughter)
    response = client.post(
        url(f"runs/{world.occurrence.pk}/signups"),
        {"passenger": world.managed.pk, "standing": True, "needs": ["bags"]},
    )
    assert response.status_code == 201, response.content
    assert response.json()["standing"] is not None
    listed = client.get(url("signups/")).json()["results"]
    assert len(listed) == RunOccurrence.objects.count()  # every coming run
    standing = client.get(url("standing/")).json()["results"]
    assert [row["passenger"]["id"] for row in standing] == [world.managed.pk]
    ended = client.post(url(f"standing/{standing[0]['id']}/end"))
    assert ended.status_code == 200
    assert ended.json()["active"] is False


def test_coordinator_signs_up_a_caller_at_another_address(world, api_as):
    client = api_as(world.coordinator)
    response = client.post(
        url(f"runs/{world.occurrence.pk}/signups"),
        {
            "passenger": world.residents[2].pk,
            "pickup": {
                "address": "Vårdcentralen Vansbro",
                "point": {"type": "Point", "coordinates": [14.25, 60.51]},
            },
        },
    )
    assert response.status_code == 201, response.content
    assert response.json()["pickup_address"] == "Vårdcentralen Vansbro"
    assert response.json()["signed_up_by"] == world.coordinator.pk


def test_full_run_is_409_and_the_waitlist_gets_the_freed_seat(settings, api_as):
    settings.ROUTER_URL = ""
    world = make_world(seats_per_vehicle=1, max_vehicles=1)
    first = api_as(world.residents[0]).post(url(f"runs/{world.occurrence.pk}/signups"), {})
    assert first.status_code == 201
    client = api_as(world.residents[1])
    error = error_of(client.post(url(f"runs/{world.occurrence.pk}/signups"), {}), 409)
    assert error["code"] == "run_full"
    assert "väntelistan" in error["message"]
    assert not RunSignup.objects.filter(passenger=world.residents[1]).exists()
    waiting = client.post(url(f"runs/{world.occurrence.pk}/signups"), {"waitlist": True})
    assert waiting.json()["state"] == "waitlisted"
    assert waiting.json()["waitlist_position"] == 1
    cancelled = api_as(world.residents[0]).post(url(f"signups/{first.json()['id']}/cancel"))
    assert cancelled.json()["state"] == "cancelled"
    accepted = client.post(url(f"signups/{waiting.json()['id']}/accept-seat"))
    assert accepted.status_code == 200, accepted.content
    assert accepted.json()["state"] == "confirmed"


def test_after_the_deadline_the_resident_gets_a_clear_409(world, api_as):
    RunOccurrence.objects.filter(pk=world.occurrence.pk).update(
        signup_deadline=timezone.now() - datetime.timedelta(hours=1)
    )
    error = error_of(
        api_as(world.residents[0]).post(url(f"runs/{world.occurrence.pk}/signups"), {}), 409
    )
    assert error["code"] == "signup_deadline_passed"
    assert "Call the association" in error["message"] or "Ring föreningen" in error["message"]
    assert not RunSignup.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"needs": ["jetpack"]}, "needs.0", id="unknown-need"),
        pytest.param({"needs": "walker"}, "needs", id="needs-not-a-list"),
        pytest.param(
            {"pickup": {"address": "x", "point": {"type": "Point"}}},
            "pickup.point",
            id="point-shape",
        ),
        pytest.param(
            {"pickup": {"address": "x", "point": {"type": "Point", "coordinates": [200, 95]}}},
            "pickup.point",
            id="point-range",
        ),
        pytest.param({"standing": "often"}, "standing", id="standing-not-boolean"),
        pytest.param({"note": "x" * 501}, "note", id="note-too-long"),
        pytest.param(
            {
                "pickup": {
                    "address": "Stockholm",
                    "point": {"type": "Point", "coordinates": [18.07, 59.33]},
                }
            },
            "pickup",
            id="outside-area",
        ),
    ],
)
def test_bad_signups_are_400_and_nothing_is_written(world, api_as, body, field):
    error = error_of(
        api_as(world.residents[0]).post(
            url(f"runs/{world.occurrence.pk}/signups"), body, format="json"
        ),
        400,
    )
    assert field in error["fields"], error
    assert not RunSignup.objects.exists()
    assert RunOccurrence.objects.get(pk=world.occurrence.pk).seats_taken == 0


def test_signing_up_someone_you_do_not_book_for_is_404(world, api_as):
    response = api_as(world.residents[0]).post(
        url(f"runs/{world.occurrence.pk}/signups"), {"passenger": world.residents[1].pk}
    )
    error_of(response, 404)
    assert not RunSignup.objects.exists()


# --- Coordinators -------------------------------------------------------------------------


def test_coordinator_sets_up_a_run(world, api_as):
    response = api_as(world.coordinator).post(
        url("schedules/"),
        {
            "association": world.association.pk,
            "name": "Fredagshandling",
            "rrule": "FREQ=WEEKLY;BYDAY=FR",
            "starts_on": timezone.localdate().isoformat(),
            "arrive_at": "10:00",
            "leave_at": "11:30",
            "destination": {"type": "Point", "coordinates": [SHOP.x, SHOP.y]},
            "destination_name": "Coop Vansbro",
            "villages": [world.villages[0].pk],
            "deadline_time": "18:00",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    schedule = RunSchedule.objects.get(pk=response.json()["id"])
    assert schedule.occurrences.count() >= 4
    assert response.json()["villages"] == [{"id": world.villages[0].pk, "name": "Vansbro"}]


@pytest.mark.parametrize(
    ("changes", "status", "code"),
    [
        pytest.param({"rrule": "every thursday"}, 400, "rrule_invalid", id="bad-rrule"),
        pytest.param(
            {"rrule": "FREQ=WEEKLY;BYDAY=FR;COUNT=4;UNTIL=20991231"},
            400,
            "rrule_invalid",
            id="count-and-until",
        ),
        pytest.param({"leave_at": "09:00"}, 400, "run_times_invalid", id="leaves-first"),
        pytest.param({"arrive_at": "25:00"}, 400, "invalid", id="bad-time"),
        pytest.param({"villages": [999999]}, 400, "run_value_invalid", id="unknown-village"),
        pytest.param({"seats_per_vehicle": 20}, 400, "run_value_invalid", id="bus"),
        pytest.param({"association": 999999}, 400, "invalid", id="unknown-association"),
    ],
)
def test_bad_schedules_are_refused(world, api_as, changes, status, code):
    body = {
        "association": world.association.pk,
        "name": "Fredagshandling",
        "rrule": "FREQ=WEEKLY;BYDAY=FR",
        "starts_on": timezone.localdate().isoformat(),
        "arrive_at": "10:00",
        "leave_at": "11:30",
        "destination": {"type": "Point", "coordinates": [SHOP.x, SHOP.y]},
        "destination_name": "Coop Vansbro",
        "deadline_time": "18:00",
        **changes,
    }
    error = error_of(api_as(world.coordinator).post(url("schedules/"), body, format="json"), status)
    assert error["code"] == code
    assert RunSchedule.objects.count() == 1


def test_residents_cannot_set_up_runs(world, api_as):
    response = api_as(world.residents[0]).post(
        url("schedules/"),
        {
            "association": world.association.pk,
            "name": "x",
            "rrule": "FREQ=WEEKLY;BYDAY=FR",
            "starts_on": timezone.localdate().isoformat(),
            "arrive_at": "10:00",
            "leave_at": "11:30",
            "destination": {"type": "Point", "coordinates": [SHOP.x, SHOP.y]},
            "destination_name": "Coop",
            "deadline_time": "18:00",
        },
        format="json",
    )
    assert error_of(response, 403)["code"] == "run_not_allowed"


def test_coordinators_run_list(world, api_as, django_assert_num_queries):
    planned_world(world)
    signup_create(
        actor=world.coordinator, occurrence=world.occurrence, passenger=world.residents[4]
    )
    client = api_as(world.coordinator)
    with django_assert_num_queries(4):  # a first page that is not full is not counted
        response = client.get(url(f"associations/{world.association.pk}/runs/"))
    assert response.status_code == 200, response.content
    first = response.json()["results"][0]
    assert first["seats_taken"] == 5
    assert first["waitlisted"] == 0
    assert [car["driver"] for car in first["cars"]] == ["Erik Olsson"]
    signups = client.get(url(f"runs/{world.occurrence.pk}/signups")).json()
    assert len(signups) == 5
    assert {row["state"] for row in signups} == {"confirmed"}


def test_coordinator_moves_a_run_and_everyone_is_told(
    world, api_as, django_capture_on_commit_callbacks
):
    planned_world(world)
    arrive = world.occurrence.arrive_at + datetime.timedelta(days=1)
    response = api_as(world.coordinator).post(
        url(f"runs/{world.occurrence.pk}/move"),
        {
            "arrive_at": arrive.isoformat(),
            "leave_at": (arrive + datetime.timedelta(hours=1)).isoformat(),
        },
    )
    assert response.status_code == 200, response.content
    told = set(
        Notification.objects.filter(kind="shuttle.run_moved").values_list("recipient_id", flat=True)
    )
    assert {p.pk for p in world.residents[:3]} | {
        world.managed.pk,
        world.daughter.pk,
        world.driver_user(0).pk,
    } == told


def test_move_with_reversed_times_is_400_and_nothing_changes(world, api_as):
    arrive = world.occurrence.arrive_at
    error = error_of(
        api_as(world.coordinator).post(
            url(f"runs/{world.occurrence.pk}/move"),
            {
                "arrive_at": arrive.isoformat(),
                "leave_at": (arrive - datetime.timedelta(hours=1)).isoformat(),
            },
        ),
        400,
    )
    assert error["code"] == "run_times_invalid"
    assert RunOccurrence.objects.get(pk=world.occurrence.pk).moved_at is None


def test_plan_now_explains_an_infeasible_run(world, api_as):
    planned_world(world)
    RunSignup.objects.filter(passenger=world.residents[0]).update(needs=["wheelchair"])
    error = error_of(api_as(world.coordinator).post(url(f"runs/{world.occurrence.pk}/plan")), 409)
    assert error["code"] == "plan_infeasible"
    assert world.residents[0].full_name in error["message"]


def test_assign_unknown_driver_is_400(world, api_as):
    error = error_of(
        api_as(world.coordinator).post(
            url(f"runs/{world.occurrence.pk}/assign"), {"driver": 999999}
        ),
        400,
    )
    assert error["fields"] == {"driver": ["Unknown driver."]} or "driver" in error["fields"]
    assert not RunVehicle.objects.exists()


# --- The run sheet and drivers ------------------------------------------------------------


def test_run_sheet_for_the_coordinator_in_pickup_order(world, api_as, django_assert_num_queries):
    planned_world(world)
    client = api_as(world.coordinator)
    # Six: the accepted proxies of passengers without a phone come with their proxy in one.
    with django_assert_num_queries(6):
        response = client.get(url(f"runs/{world.occurrence.pk}/sheet"))
    assert response.status_code == 200, response.content
    sheet = response.json()
    assert len(sheet["cars"]) == 1
    car = sheet["cars"][0]
    assert car["driver_name"] == "Erik Olsson"
    assert [stop["order"] for stop in car["stops"]] == [1, 2, 3, 4]
    times = [stop["estimated_pickup"] for stop in car["stops"]]
    assert times == sorted(times)
    greta = next(stop for stop in car["stops"] if stop["name"] == "Greta Andersson")
    assert greta["phone"] == world.daughter.phone  # she has none: her daughter's
    assert greta["address"] == "Gretas väg 9"
    assert sheet["unplanned"] == []


def test_driver_sees_their_car_and_marks_stops(world, api_as):
    planned_world(world)
    client = api_as(world.driver_user(0))
    sheet = client.get(url(f"runs/{world.occurrence.pk}/sheet")).json()
    stop = sheet["cars"][0]["stops"][0]
    marked = client.post(url(f"signups/{stop['signup']}/outcome"), {"outcome": "picked_up"})
    assert marked.status_code == 204
    assert RunSignup.objects.get(pk=stop["signup"]).outcome == "picked_up"
    bad = error_of(client.post(url(f"signups/{stop['signup']}/outcome"), {"outcome": "lost"}), 400)
    assert "outcome" in bad["fields"]
    # Another driver of the association cannot mark it.
    other = api_as(world.driver_user(1)).post(
        url(f"signups/{stop['signup']}/outcome"), {"outcome": "not_home"}
    )
    error_of(other, 404)
    assert RunSignup.objects.get(pk=stop["signup"]).outcome == "picked_up"


def test_driver_takes_an_offered_run(world, api_as):
    for person in world.residents[:2]:
        signup_create(actor=person, occurrence=world.occurrence, passenger=person)
    offered = api_as(world.coordinator).post(url(f"runs/{world.occurrence.pk}/offer-drivers"))
    assert offered.status_code == 200, offered.content
    assert len(offered.json()) == 2
    client = api_as(world.driver_user(1))
    offers = client.get(url("offers/")).json()["results"]
    assert len(offers) == 1
    assert set(offers[0]) == {"id", "run", "state", "arrive_at", "leave_at", "shop", "passengers"}
    taken = client.post(url(f"offers/{offers[0]['id']}/accept"))
    assert taken.status_code == 200, taken.content
    other = RunOffer.objects.get(driver=world.drivers[0])
    late = api_as(world.driver_user(0)).post(url(f"offers/{other.pk}/accept"))
    assert error_of(late, 409)["code"] == "run_offer_closed"
    # Someone else's offer is not theirs to answer.
    error_of(api_as(world.residents[0]).post(url(f"offers/{other.pk}/decline")), 404)


ROLES = ["coordinator", "driver_on_run", "other_driver", "resident", "proxy", "analyst", "outsider"]


def _as_role(world, role):
    if role == "coordinator":
        return world.coordinator
    if role == "driver_on_run":
        return world.driver_user(0)
    if role == "other_driver":
        return world.driver_user(1)
    if role == "resident":
        return world.residents[0]
    if role == "proxy":
        return world.daughter
    if role == "outsider":
        return world.outsider
    analyst = world.extra.get("analyst")
    if analyst is None:
        from tests.factories import UserFactory

        analyst = UserFactory(full_name="Kommunanalytiker")
        MunicipalityAnalyst.objects.create(
            user=analyst, municipality=world.association.municipality
        )
        world.extra["analyst"] = analyst
    return analyst


@pytest.mark.parametrize(
    ("role", "sheet", "run", "signups", "coordinator_list", "cancel"),
    [
        ("coordinator", 200, 200, 200, 200, 200),
        ("driver_on_run", 200, 200, 403, 403, 403),
        ("other_driver", 403, 200, 403, 403, 403),
        ("resident", 403, 200, 403, 403, 403),
        ("proxy", 403, 200, 403, 403, 403),
        ("analyst", 404, 404, 404, 403, 404),
        ("outsider", 404, 404, 404, 403, 404),
    ],
)
def test_who_sees_and_does_what(world, api_as, role, sheet, run, signups, coordinator_list, cancel):
    planned_world(world)
    client = api_as(_as_role(world, role))
    pk = world.occurrence.pk
    assert client.get(url(f"runs/{pk}/sheet")).status_code == sheet
    assert client.get(url(f"runs/{pk}")).status_code == run
    assert client.get(url(f"runs/{pk}/signups")).status_code == signups
    assert (
        client.get(url(f"associations/{world.association.pk}/runs/")).status_code
        == coordinator_list
    )
    if role != "coordinator":
        assert client.post(url(f"runs/{pk}/cancel"), {"reason": "x"}).status_code == cancel
        assert RunOccurrence.objects.get(pk=pk).state == "scheduled"
    if sheet == 200 and role == "driver_on_run":
        cars = client.get(url(f"runs/{pk}/sheet")).json()["cars"]
        assert [car["driver_name"] for car in cars] == ["Erik Olsson"]


def test_a_proxy_sees_and_cancels_her_mothers_signup_but_not_others(world, api_as):
    planned_world(world)
    client = api_as(world.daughter)
    listed = client.get(url("signups/")).json()["results"]
    assert [row["passenger"]["id"] for row in listed] == [world.managed.pk]
    assert listed[0]["estimated_pickup"] is not None
    someone_else = RunSignup.objects.get(passenger=world.residents[0])
    error_of(client.post(url(f"signups/{someone_else.pk}/cancel")), 404)
    mine = client.post(url(f"signups/{listed[0]['id']}/cancel"))
    assert mine.json()["state"] == SignupState.CANCELLED


def test_anonymous_is_refused(world, api):
    for path in ["runs/", f"runs/{world.occurrence.pk}/sheet", "signups/", "offers/"]:
        assert error_of(api.get(url(path)), 403)["code"] == "not_authenticated"
    assert api.post(url(f"runs/{world.occurrence.pk}/signups"), {}).status_code == 403
    assert not RunSignup.objects.exists()


# --- The printable page -------------------------------------------------------------------


def test_printable_run_sheet_page_for_the_driver(world, client):
    planned_world(world)
    page = f"/shuttle/runs/{world.occurrence.pk}/sheet"
    assert client.get(page).status_code == 401
    client.force_login(world.driver_user(0))
    response = client.get(page, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    html = response.content.decode()
    assert "@media print" in html
    for signup in RunSignup.objects.filter(occurrence=world.occurrence):
        assert signup.pickup_address in html
        assert f"stop-{signup.pk}" in html
    assert world.daughter.phone in html
    stop = RunSignup.objects.filter(occurrence=world.occurrence).order_by("stop_order").first()
    marked = client.post(page, {"signup": stop.pk, "outcome": "not_home"})
    assert marked.status_code == 302
    assert RunSignup.objects.get(pk=stop.pk).outcome == "not_home"
    refused = client.post(page, {"signup": stop.pk, "outcome": "lost"})
    assert refused.status_code == 400
    assert RunSignup.objects.get(pk=stop.pk).outcome == "not_home"
    client.force_login(world.residents[0])
    assert client.get(page).status_code == 404

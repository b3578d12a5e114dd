"""The console's shop runs, set up and changed on the web: a new recurring run with its
dates, one date cancelled or moved (everyone signed up is told), a recurring run
stopped; bad input writes nothing; another association's runs are a 404, and a member
who is no coordinator gets a 403."""

import datetime as dt
from collections import Counter

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.utils import timezone

from backend.community.models import Role
from backend.errors import ApplicationError
from backend.notifications.models import Notification
from backend.shuttle.models import OccurrenceState, RunOccurrence, RunSchedule
from backend.shuttle.services import occurrences_materialise, schedule_stop, signup_create
from tests.factories import MembershipFactory
from tests.fakes.geocoder import FakeNominatim
from tests.shuttle_world import SHOP, WEEKDAYS, make_world
from tests.webapp.test_console_runs import _Ids

pytestmark = pytest.mark.django_db

NEW = "/console/runs/new"
RUNS = "/console/runs/"


@pytest.fixture
def runs(settings):
    settings.ROUTER_URL = ""
    settings.GEOCODER_URL = ""
    settings.SHUTTLE_HORIZON_DAYS = 28
    return make_world()


def client_of(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.cookies["django_language"] = "en"
    client.force_login(user)
    return client


def in_days(days: int) -> dt.date:
    return timezone.localdate() + dt.timedelta(days=days)


def schedule_form(**changes) -> dict:
    """A weekly Friday-or-so run (the weekday two days from now) at ICA, by coordinates."""
    form = {
        "name": "Fredagshandling",
        "destination_name": "Coop Vansbro",
        "destination_address": "",
        "destination_lon": SHOP.x,
        "destination_lat": SHOP.y,
        "weekdays": [WEEKDAYS[in_days(2).weekday()]],
        "repeat": "weekly",
        "starts_on": timezone.localdate().isoformat(),
        "ends_on": "",
        "arrive_at": "13:00",
        "leave_at": "14:15",
        "seats_per_vehicle": "3",
        "max_vehicles": "2",
        "deadline_days": "1",
        "deadline_time": "16:00",
    }
    form.update(changes)
    return form


def written() -> tuple[int, int]:
    return RunSchedule.objects.count(), RunOccurrence.objects.count()


def shown(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def signed_up(runs, person):
    return signup_create(actor=person, occurrence=runs.occurrence, passenger=person)


# --- A new recurring run -----------------------------------------------------------------


def test_the_new_run_page_asks_everything_the_run_needs(runs):
    response = client_of(runs.coordinator).get(NEW)
    assert response.status_code == 200
    page = response.content.decode()
    for label in (
        "Name of the run",
        "Which shop?",
        "The shop&#x27;s address",
        "Which day of the week?",
        "Every other week",
        "First day",
        "Arrives at the shop at",
        "Leaves the shop at",
        "Villages it picks up in",
        "Seats per car",
        "Cars at most",
        "Sign-up closes at",
    ):
        assert label in page, label
    assert 'value="Dala-Järna"' not in page  # villages are ticked by id
    assert "Dala-Järna" in page and "Vansbro" in page
    parsed = _Ids()
    parsed.feed(page)
    ids = [name for name, _form in parsed.ids]
    assert [name for name, count in Counter(ids).items() if count > 1] == []
    assert {target for target, _form in parsed.labels} <= set(ids)


def test_a_run_set_up_on_the_page_gets_its_dates_at_once(runs, django_capture_on_commit_callbacks):
    vansbro = runs.villages[0]
    client = client_of(runs.coordinator)
    with django_capture_on_commit_callbacks():
        response = client.post(NEW, schedule_form(villages=[vansbro.pk]))
    assert response.status_code == 302
    assert response["Location"] == f"{RUNS}?association={runs.association.pk}"
    schedule = RunSchedule.objects.get(name="Fredagshandling")
    weekday = WEEKDAYS[in_days(2).weekday()]
    assert (
        schedule.association,
        schedule.rrule,
        schedule.starts_on,
        schedule.ends_on,
        schedule.arrive_at,
        schedule.leave_at,
        schedule.destination_name,
        (schedule.destination.x, schedule.destination.y),
        schedule.seats_per_vehicle,
        schedule.max_vehicles,
        schedule.deadline_days,
        schedule.deadline_time,
        schedule.created_by,
        list(schedule.villages.all()),
    ) == (
        runs.association,
        f"FREQ=WEEKLY;BYDAY={weekday}",
        timezone.localdate(),
        None,
        dt.time(13, 0),
        dt.time(14, 15),
        "Coop Vansbro",
        (SHOP.x, SHOP.y),
        3,
        2,
        1,
        dt.time(16, 0),
        runs.coordinator,
        [vansbro],
    )
    # Two days ahead, then every week within the 28 days made at once.
    dates = list(schedule.occurrences.order_by("arrive_at"))
    assert [run.rule_date for run in dates] == [in_days(2), in_days(9), in_days(16), in_days(23)]
    first = dates[0]
    assert timezone.localtime(first.arrive_at).time() == dt.time(13, 0)
    assert timezone.localtime(first.signup_deadline) == timezone.localtime(first.arrive_at).replace(
        hour=16, minute=0
    ) - dt.timedelta(days=1)
    assert (first.capacity, first.state) == (6, OccurrenceState.SCHEDULED)
    assert shown(response) == [
        "Fredagshandling is set up with 4 dates, the first on "
        f"{first.arrive_at.astimezone(timezone.get_current_timezone()):%A} "
        f"{in_days(2).day} {in_days(2):%B} 13:00. Members can sign up now."
    ]
    page = client.get(RUNS).content.decode()
    assert page.count("Fredagshandling ·") == 4
    assert f'id="cancel-reason-{first.pk}"' in page


def test_every_other_week_from_an_address_the_geocoder_finds(runs, settings):
    weekday = WEEKDAYS[in_days(1).weekday()]
    with FakeNominatim({"Storgatan 5, Vansbro": (14.2299, 60.5107)}) as geocoder:
        settings.GEOCODER_URL = geocoder.url
        response = client_of(runs.coordinator).post(
            NEW,
            schedule_form(
                destination_address="Storgatan 5, Vansbro",
                destination_lon="",
                destination_lat="",
                weekdays=[weekday],
                repeat="every_other_week",
                starts_on=in_days(1).isoformat(),
            ),
        )
    assert response.status_code == 302
    schedule = RunSchedule.objects.get(name="Fredagshandling")
    assert schedule.rrule == f"FREQ=WEEKLY;INTERVAL=2;BYDAY={weekday}"
    assert (schedule.destination.x, schedule.destination.y) == (14.2299, 60.5107)
    assert [run.rule_date for run in schedule.occurrences.order_by("arrive_at")] == [
        in_days(1),
        in_days(15),
    ]
    # No village ticked: the run serves all of the association's.
    assert not schedule.villages.exists()


def test_once_a_month_on_two_weekdays(runs):
    response = client_of(runs.coordinator).post(
        NEW, schedule_form(weekdays=["TH", "MO"], repeat="monthly")
    )
    assert response.status_code == 302
    schedule = RunSchedule.objects.get(name="Fredagshandling")
    assert schedule.rrule == "FREQ=MONTHLY;BYDAY=1MO,1TH"
    for run in schedule.occurrences.all():
        assert run.rule_date.day <= 7 and run.rule_date.weekday() in (0, 3)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"destination_lon": "", "destination_lat": ""},
            "Give the shop&#x27;s address, or pick the shop on the map.",
        ),
        (
            {"destination_address": "Storgatan 5", "destination_lon": "", "destination_lat": ""},
            "Addresses cannot be looked up here. Pick the place on the map instead.",
        ),
        ({"destination_lon": "18.0686", "destination_lat": "59.3293"}, "The shop is outside"),
        (
            {"starts_on": (timezone.localdate() - dt.timedelta(days=1)).isoformat()},
            "The first day has passed.",
        ),
        ({"arrive_at": "25:00"}, "Enter a valid time."),
        (
            {"arrive_at": "14:00", "leave_at": "13:00"},
            "The run must leave the shop after it arrives. Swap the two times.",
        ),
        ({"weekdays": []}, "This field is required."),
        ({"name": ""}, "This field is required."),
        ({"ends_on": "2001-01-01"}, "The last day is before the first day."),
        ({"seats_per_vehicle": "9"}, "Select a valid choice."),
    ],
    ids=[
        "no shop place",
        "address without a geocoder",
        "shop in another municipality",
        "first day passed",
        "no such time",
        "leaves before it arrives",
        "no weekday",
        "no name",
        "ends before it starts",
        "too many seats",
    ],
)
def test_bad_input_shows_the_form_again_and_writes_nothing(runs, changes, message):
    before = written()
    response = client_of(runs.coordinator).post(NEW, schedule_form(**changes))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert written() == before


# --- One date cancelled or moved ----------------------------------------------------------


def test_cancelling_a_date_tells_the_people_signed_up_and_they_see_it(
    runs, django_capture_on_commit_callbacks
):
    resident = runs.residents[0]
    signed_up(runs, resident)
    run = runs.occurrence
    with django_capture_on_commit_callbacks():
        response = client_of(runs.coordinator).post(
            f"/console/runs/{run.pk}/cancel", {"reason": "Vägen är avstängd."}
        )
    assert response.status_code == 302
    run.refresh_from_db()
    assert (run.state, run.state_reason) == (OccurrenceState.CANCELLED, "Vägen är avstängd.")
    assert shown(response)[0].startswith("The shop run on ")
    told = Notification.objects.get(recipient=resident, kind="shuttle.run_cancelled")
    assert (told.payload["reason"], told.payload["run"], told.urgent) == (
        "Vägen är avstängd.",
        run.pk,
        True,
    )
    page = client_of(resident).get("/shop-runs/").content.decode()
    assert "This run is cancelled." in page and "Vägen är avstängd." in page
    # The console shows it cancelled, without the forms to change it.
    console = client_of(runs.coordinator).get(RUNS).content.decode()
    assert "Cancelled: Vägen är avstängd." in console
    assert f'id="cancel-reason-{run.pk}"' not in console


@pytest.mark.parametrize(
    ("prepare", "message"),
    [
        ("none", "Why? (everyone signed up is told): Say why the run is cancelled"),
        ("cancelled", "This run is already cancelled or done."),
        ("started", "This run has already started."),
    ],
    ids=["no reason", "already cancelled", "already started"],
)
def test_a_date_that_cannot_be_cancelled_says_why_and_nobody_is_told(runs, prepare, message):
    signed_up(runs, runs.residents[0])
    run = runs.occurrence
    now = timezone.now()
    if prepare == "cancelled":
        RunOccurrence.objects.filter(pk=run.pk).update(state=OccurrenceState.CANCELLED)
    if prepare == "started":
        RunOccurrence.objects.filter(pk=run.pk).update(
            arrive_at=now - dt.timedelta(minutes=10), leave_at=now + dt.timedelta(minutes=50)
        )
    before = RunOccurrence.objects.values().get(pk=run.pk)
    reason = "" if prepare == "none" else "Snöstorm"
    response = client_of(runs.coordinator).post(
        f"/console/runs/{run.pk}/cancel", {"reason": reason}
    )
    assert response.status_code == 302
    assert any(text.startswith(message) for text in shown(response)), shown(response)
    assert RunOccurrence.objects.values().get(pk=run.pk) == before
    assert not Notification.objects.filter(kind="shuttle.run_cancelled").exists()


def test_moving_a_date_tells_the_people_signed_up(runs, django_capture_on_commit_callbacks):
    resident = runs.residents[0]
    signed_up(runs, resident)
    run = runs.occurrence
    day = run.rule_date + dt.timedelta(days=1)
    with django_capture_on_commit_callbacks():
        response = client_of(runs.coordinator).post(
            f"/console/runs/{run.pk}/move",
            {"day": day.isoformat(), "arrive_at": "11:00", "leave_at": "12:30"},
        )
    assert response.status_code == 302
    run.refresh_from_db()
    zone = timezone.get_current_timezone()
    assert (run.arrive_at, run.leave_at, run.rule_date, run.state) == (
        dt.datetime.combine(day, dt.time(11, 0), tzinfo=zone),
        dt.datetime.combine(day, dt.time(12, 30), tzinfo=zone),
        runs.occurrence.rule_date,
        OccurrenceState.SCHEDULED,
    )
    assert run.moved_at is not None
    assert run.signup_deadline == dt.datetime.combine(
        day - dt.timedelta(days=1), dt.time(18, 0), tzinfo=zone
    )
    told = Notification.objects.get(recipient=resident, kind="shuttle.run_moved")
    assert told.payload["when"] == f"{day.isoformat()} 11:00"
    assert "is moved to" in shown(response)[0]
    page = client_of(resident).get("/shop-runs/").content.decode()
    assert "11:00\N{EN DASH}12:30" in page


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"day": "2001-01-01", "arrive_at": "10:00", "leave_at": "11:00"},
            "The new time has passed. Choose a later one.",
        ),
        ({"day": "", "arrive_at": "10:00", "leave_at": "11:00"}, "New day: This field is"),
        ({"day": "today", "arrive_at": "10:61", "leave_at": "11:00"}, "Arrives at the shop at:"),
        (
            {"day": "today", "arrive_at": "12:00", "leave_at": "11:00"},
            "The run must leave the shop after it arrives.",
        ),
    ],
    ids=["in the past", "no day", "no such time", "leaves before it arrives"],
)
def test_a_move_refused_says_why_and_changes_nothing(runs, body, message):
    signed_up(runs, runs.residents[0])
    run = runs.occurrence
    if body["day"] == "today":
        body = {**body, "day": run.rule_date.isoformat()}
    before = RunOccurrence.objects.values().get(pk=run.pk)
    response = client_of(runs.coordinator).post(f"/console/runs/{run.pk}/move", body)
    assert response.status_code == 302
    assert any(text.startswith(message) for text in shown(response)), shown(response)
    assert RunOccurrence.objects.values().get(pk=run.pk) == before
    assert not Notification.objects.filter(kind="shuttle.run_moved").exists()


def test_each_run_has_its_own_form_ids_on_the_runs_page(runs):
    page = client_of(runs.coordinator).get(RUNS)
    parsed = _Ids()
    parsed.feed(page.content.decode())
    ids = [name for name, _form in parsed.ids]
    assert [name for name, count in Counter(ids).items() if count > 1] == []
    upcoming = list(runs.schedule.occurrences.all())
    assert len(upcoming) > 1
    for run in upcoming:
        assert {f"cancel-reason-{run.pk}", f"move-day-{run.pk}", f"move-arrive-{run.pk}"} <= set(
            ids
        )
    form_of = dict(parsed.ids)
    for target, form in parsed.labels:
        assert form_of[target] == form, target


# --- A recurring run stopped --------------------------------------------------------------


def test_stopping_a_recurring_run_makes_no_new_dates(runs):
    schedule = runs.schedule
    dates = set(schedule.occurrences.values_list("pk", flat=True))
    client = client_of(runs.coordinator)
    response = client.post(f"/console/runs/schedules/{schedule.pk}/stop")
    assert response.status_code == 302
    schedule.refresh_from_db()
    assert schedule.active is False
    assert occurrences_materialise(schedule=schedule, today=in_days(14)) == []
    # The dates already made stay, to be cancelled one by one.
    assert set(schedule.occurrences.values_list("pk", flat=True)) == dates
    assert f'id="schedule-{schedule.pk}"' not in client.get(RUNS).content.decode()
    again = client.post(f"/console/runs/schedules/{schedule.pk}/stop")
    assert shown(again) == ["This shop run is already stopped."]


def test_only_a_coordinator_stops_a_recurring_run(runs):
    with pytest.raises(ApplicationError) as error:
        schedule_stop(actor=runs.residents[0], schedule=runs.schedule)
    assert error.value.code == "run_not_allowed"
    runs.schedule.refresh_from_db()
    assert runs.schedule.active


def test_the_pages_speak_swedish(runs):
    client = client_of(runs.coordinator)
    client.cookies["django_language"] = "sv"
    new = client.get(NEW, HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    assert "Ny handlarskjuts" in new and "Varannan vecka" in new and "1 dag före" in new
    page = client.get(RUNS, HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    assert "Ställ in det här datumet" in page and "Stoppa turen" in page


# --- Who may -------------------------------------------------------------------------------


def test_a_coordinator_of_another_association_gets_404_and_nothing_changes(runs):
    signed_up(runs, runs.residents[0])
    elsewhere = MembershipFactory(
        association=runs.other_association, roles=[Role.MEMBER, Role.COORDINATOR]
    ).user
    client = client_of(elsewhere)
    run = runs.occurrence
    before = RunOccurrence.objects.values().get(pk=run.pk)
    assert client.post(f"/console/runs/{run.pk}/cancel", {"reason": "x"}).status_code == 404
    day = run.rule_date.isoformat()
    move = {"day": day, "arrive_at": "11:00", "leave_at": "12:00"}
    assert client.post(f"/console/runs/{run.pk}/move", move).status_code == 404
    assert client.post(f"/console/runs/schedules/{runs.schedule.pk}/stop").status_code == 404
    assert RunOccurrence.objects.values().get(pk=run.pk) == before
    runs.schedule.refresh_from_db()
    assert runs.schedule.active
    assert not Notification.objects.filter(kind__startswith="shuttle.run_").exists()
    # A run set up by them is their own association's.
    response = client.post(NEW, schedule_form(name="Äppelbohandling"))
    assert response.status_code in (302, 400)
    assert not RunSchedule.objects.filter(
        name="Äppelbohandling", association=runs.association
    ).exists()


def test_a_plain_member_gets_403_everywhere(runs):
    client = client_of(runs.residents[0])
    run = runs.occurrence
    before = written(), RunOccurrence.objects.values().get(pk=run.pk)
    assert client.get(NEW).status_code == 403
    assert client.post(NEW, schedule_form()).status_code == 403
    assert client.post(f"/console/runs/{run.pk}/cancel", {"reason": "x"}).status_code == 403
    move = {"day": run.rule_date.isoformat(), "arrive_at": "11:00", "leave_at": "12:00"}
    assert client.post(f"/console/runs/{run.pk}/move", move).status_code == 403
    assert client.post(f"/console/runs/schedules/{runs.schedule.pk}/stop").status_code == 403
    assert (written(), RunOccurrence.objects.values().get(pk=run.pk)) == before
    runs.schedule.refresh_from_db()
    assert runs.schedule.active

"""Driver mode on the web pages: duty, offers, the ride's status buttons, weekly times
and kilometres. Each role sees only what is theirs; a refusal changes nothing."""

from datetime import date, datetime, time, timedelta

import pytest
from django.utils import timezone

from backend.rides.models import (
    AvailabilityException,
    AvailabilitySlot,
    Offer,
    OfferState,
    RideRequest,
    RideState,
)
from tests.factories import STOCKHOLM, AvailabilityExceptionFactory, ride_due
from tests.webapp.conftest import ROLES, snapshot

pytestmark = pytest.mark.django_db

DRIVER_HOME = dict.fromkeys(ROLES, 403) | {
    "offered_driver": 200,
    "holding_driver": 200,
    "anonymous": 302,
}


@pytest.mark.parametrize("role", ROLES)
def test_only_drivers_have_a_driver_mode(world, role):
    response = world.client(role).get("/driver/")
    assert response.status_code == DRIVER_HOME[role]


def test_an_offer_shows_the_area_not_the_address(world):
    page = world.client("offered_driver").get("/driver/").content.decode()
    assert f'data-offer="{Offer.objects.get(ride=world.open).pk}"' in page
    assert "Järnvägsgatan" not in page
    assert "Anna Eriksson" not in page
    assert "Portkod" not in page


def test_accepting_an_offer_gives_the_ride_and_then_the_address(world):
    offer = Offer.objects.get(ride=world.open)
    client = world.client("offered_driver")
    response = client.post(f"/driver/offers/{offer.pk}/accept")
    assert response["Location"] == f"/driver/rides/{world.open.pk}/"
    world.open.refresh_from_db()
    assert (world.open.state, world.open.driver) == (
        RideState.ACCEPTED,
        world.drivers["offered_driver"],
    )
    page = client.get(response["Location"]).content.decode()
    assert "Järnvägsgatan 4, Vansbro" in page and "Portkod 1234" in page


def test_declining_an_offer(world):
    offer = Offer.objects.get(ride=world.open)
    response = world.client("offered_driver").post(f"/driver/offers/{offer.pk}/decline")
    assert response["Location"] == "/driver/"
    offer.refresh_from_db()
    assert offer.state == OfferState.DECLINED


@pytest.mark.parametrize("answer", ["accept", "decline"])
def test_another_drivers_offer_cannot_be_answered(world, answer):
    offer = Offer.objects.get(ride=world.open)
    before = snapshot()
    client = world.client("holding_driver")
    response = client.post(f"/driver/offers/{offer.pk}/{answer}", follow=True)
    assert "There is no such offer for you" in response.content.decode()
    assert snapshot() == before


def test_an_unknown_answer_is_404(world):
    offer = Offer.objects.get(ride=world.open)
    assert (
        world.client("offered_driver").post(f"/driver/offers/{offer.pk}/maybe").status_code == 404
    )


def test_the_status_buttons_move_the_ride_on(world):
    ride_due(world.held)
    client = world.client("holding_driver")
    base = f"/driver/rides/{world.held.pk}/"
    assert client.post(base + "start").status_code == 302
    world.held.refresh_from_db()
    assert world.held.state == RideState.EN_ROUTE
    client.post(base + "picked-up")
    world.held.refresh_from_db()
    assert world.held.state == RideState.PICKED_UP
    response = client.post(base + "complete", {"km": "12.5"})
    assert response["Location"] == "/driver/"
    world.held.refresh_from_db()
    assert (world.held.state, world.held.driven_m) == (RideState.COMPLETED, 12_500)


def test_a_step_out_of_order_says_why_and_changes_nothing(world):
    before = snapshot()
    client = world.client("holding_driver")
    response = client.post(f"/driver/rides/{world.held.pk}/complete", follow=True)
    assert "cannot be changed that way" in response.content.decode()
    assert snapshot() == before


def test_bad_kilometres_change_nothing(world):
    ride_due(world.held)
    client = world.client("holding_driver")
    client.post(f"/driver/rides/{world.held.pk}/picked-up")
    before = snapshot()
    response = client.post(f"/driver/rides/{world.held.pk}/complete", {"km": "-3"}, follow=True)
    assert "Give the kilometres as a number" in response.content.decode()
    assert snapshot() == before


def test_giving_a_ride_back_needs_a_reason(world):
    before = snapshot()
    client = world.client("holding_driver")
    response = client.post(f"/driver/rides/{world.held.pk}/withdraw", {"reason": ""}, follow=True)
    assert "Say why you cannot drive" in response.content.decode()
    assert snapshot() == before
    client.post(f"/driver/rides/{world.held.pk}/withdraw", {"reason": "Bilen är trasig"})
    world.held.refresh_from_db()
    assert (world.held.state, world.held.driver) == (RideState.REQUESTED, None)


@pytest.mark.parametrize("role", ["offered_driver", "rider", "coordinator", "analyst"])
def test_only_the_holding_driver_sees_and_moves_the_ride(world, role):
    before = snapshot()
    client = world.client(role)
    assert client.get(f"/driver/rides/{world.held.pk}/").status_code in (403, 404)
    assert client.post(f"/driver/rides/{world.held.pk}/start").status_code in (403, 404)
    assert snapshot() == before


def test_going_on_duty_and_sharing_the_position(world):
    client = world.client("holding_driver")
    driver = world.drivers["holding_driver"]
    refused = client.post("/driver/position", {"lon": "14.23", "lat": "60.51"})
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "ride_wrong_state"
    client.post("/driver/duty", {"on_duty": "1"})
    driver.refresh_from_db()
    assert driver.on_duty
    assert client.post("/driver/position", {"lon": "14.23", "lat": "60.51"}).json() == {
        "sent_to": 0
    }
    driver.refresh_from_db()
    assert (driver.position.x, driver.position.y) == (14.23, 60.51)
    bad = client.post("/driver/position", {"lon": "200", "lat": "60.51"})
    assert bad.status_code == 400
    client.post("/driver/duty", {"on_duty": "0"})
    driver.refresh_from_db()
    assert (driver.on_duty, driver.position) == (False, None)


def week_form(driver, *, delete_all: bool, new: dict) -> dict:
    """The form as the page sends it: the current times (kept or ticked for removal) and
    one new row."""
    slots = list(driver.slots.all())
    data = {"slots-TOTAL_FORMS": str(len(slots) + 1), "slots-INITIAL_FORMS": str(len(slots))}
    for index, slot in enumerate(slots):
        data |= {
            f"slots-{index}-weekday": str(slot.weekday),
            f"slots-{index}-start": slot.start.strftime("%H:%M"),
            f"slots-{index}-end": slot.end.strftime("%H:%M"),
        }
        if delete_all:
            data[f"slots-{index}-DELETE"] = "on"
    return data | {f"slots-{len(slots)}-{name}": value for name, value in new.items()}


def test_weekly_times_are_replaced(world):
    driver = world.drivers["holding_driver"]
    data = week_form(
        driver, delete_all=True, new={"weekday": "1", "start": "09:00", "end": "12:00"}
    )
    response = world.client("holding_driver").post("/driver/availability", data)
    assert response.status_code == 302
    assert list(AvailabilitySlot.objects.filter(driver=driver).values_list("weekday", "start")) == [
        (1, time(9))
    ]


def test_a_time_that_ends_before_it_starts_changes_nothing(world):
    driver = world.drivers["holding_driver"]
    before = list(AvailabilitySlot.objects.filter(driver=driver).values_list("pk", flat=True))
    data = week_form(
        driver, delete_all=True, new={"weekday": "1", "start": "12:00", "end": "09:00"}
    )
    response = world.client("holding_driver").post("/driver/availability", data)
    assert response.status_code == 400
    assert "The end must be after the start" in response.content.decode()
    assert (
        list(AvailabilitySlot.objects.filter(driver=driver).values_list("pk", flat=True)) == before
    )


def test_a_day_away_in_the_past_is_refused(world):
    driver = world.drivers["holding_driver"]
    yesterday = timezone.localdate() - timedelta(days=1)
    client = world.client("holding_driver")
    response = client.post(
        "/driver/availability/exception", {"date": yesterday.isoformat(), "kind": "away"}
    )
    assert response.status_code == 400
    assert "The day has passed" in response.content.decode()
    assert not driver.exceptions.exists()
    tomorrow = timezone.localdate() + timedelta(days=1)
    client.post("/driver/availability/exception", {"date": tomorrow.isoformat(), "kind": "away"})
    assert driver.exceptions.get().date == tomorrow


def test_my_kilometres(world):
    ride_due(world.held)
    client = world.client("holding_driver")
    base = f"/driver/rides/{world.held.pk}/"
    client.post(base + "picked-up")
    client.post(base + "complete", {"km": "12.5"})
    page = client.get("/driver/km").content.decode()
    assert "<td>1</td><td>12.5</td><td>31</td>" in page.replace("12,5", "12.5")


def test_driver_home_has_a_pinned_query_count(world, django_assert_num_queries):
    client = world.client("offered_driver")
    client.get("/driver/")
    # session, user, shell (1), profile, offers, held rides, several-associations check
    with django_assert_num_queries(7):
        assert client.get("/driver/").status_code == 200


# --- Not before the ride, and not more kilometres than it can take ------------------------


def test_on_my_way_days_before_the_ride_says_from_when_and_changes_nothing(world):
    before = snapshot()
    response = world.client("holding_driver").post(
        f"/driver/rides/{world.held.pk}/start", follow=True
    )
    tuesday = timezone.localtime(world.held.planned_pickup)
    assert (
        f"This ride starts at 10:00 on Tuesday {tuesday.day} {tuesday:%B}; "
        "you can say you are on your way from 08:00."
    ) in response.content.decode()
    assert snapshot() == before


def test_a_thousand_kilometres_for_a_short_ride_without_why_is_refused_and_nothing_is_paid(
    world,
):
    ride_due(world.held)
    client = world.client("holding_driver")
    client.post(f"/driver/rides/{world.held.pk}/picked-up")
    before = snapshot()
    response = client.post(f"/driver/rides/{world.held.pk}/complete", {"km": "1e3"})
    assert response.status_code == 400
    assert (
        "You can claim at most 77 km for this ride without a coordinator&#x27;s approval "
        "(from your home to the pickup, the trip, and back). If you really drove further, "
        "say why (a detour, a closed road) and a coordinator will look at it."
    ) in response.content.decode()
    assert snapshot() == before
    world.held.refresh_from_db()
    assert (world.held.state, world.held.driven_m) == (RideState.PICKED_UP, None)


def test_the_logbook_dates_a_ride_by_its_day_and_says_which_month_pays_it(world):
    # Picked up on the evening of 31 January, marked completed after midnight: the
    # mileage months (like the coordinator's report and the payouts) count it in
    # February, and the logbook says so.
    picked = datetime(2026, 1, 31, 22, 30, tzinfo=STOCKHOLM)
    RideRequest.objects.filter(pk=world.held.pk).update(
        state=RideState.COMPLETED,
        planned_pickup=picked,
        closed_at=picked + timedelta(hours=2),
        driven_m=12_500,
    )
    page = world.client("holding_driver").get("/driver/km").content.decode()
    assert "<td>31 Jan 2026 (counted in February, when it was completed)</td>" in page
    assert '<th scope="row">February 2026</th>' in page


# --- Giving a ride back, or a passenger who did not come: the reason ---------------------


@pytest.mark.parametrize("action", ["withdraw", "no-show"])
def test_a_reason_over_300_characters_is_refused_and_nothing_is_written(world, action):
    before = snapshot()
    response = world.client("holding_driver").post(
        f"/driver/rides/{world.held.pk}/{action}", {"reason": "x" * 301}
    )
    assert response.status_code == 400
    assert "Ensure this value has at most 300 characters (it has 301)." in response.content.decode()
    assert snapshot() == before


# --- Weekly times: the two add-a-time blocks left empty ----------------------------------


def page_form(driver, *, remove=(), new: dict | None = None) -> dict:
    """The weekly times form as the browser sends it: each current time (ticked for
    removal when its index is in `remove`) and the two add-a-time blocks, whose day list
    always sends a day; the first filled in with `new`."""
    slots = list(driver.slots.order_by("weekday", "start"))
    data = {"slots-TOTAL_FORMS": str(len(slots) + 2), "slots-INITIAL_FORMS": str(len(slots))}
    for index, slot in enumerate(slots):
        data |= {
            f"slots-{index}-weekday": str(slot.weekday),
            f"slots-{index}-start": slot.start.strftime("%H:%M"),
            f"slots-{index}-end": slot.end.strftime("%H:%M"),
        }
        if index in remove:
            data[f"slots-{index}-DELETE"] = "on"
    for extra in (len(slots), len(slots) + 1):
        data |= {
            f"slots-{extra}-weekday": "0",
            f"slots-{extra}-start": "",
            f"slots-{extra}-end": "",
        }
    first = len(slots)
    return data | {f"slots-{first}-{name}": value for name, value in (new or {}).items()}


def week(driver) -> list[tuple]:
    return list(driver.slots.order_by("weekday", "start").values_list("weekday", "start", "end"))


def test_saving_the_week_unchanged_keeps_it(world):
    driver = world.drivers["holding_driver"]
    before = week(driver)
    response = world.client("holding_driver").post("/driver/availability", page_form(driver))
    assert response.status_code == 302
    assert week(driver) == before


def test_removing_one_time_keeps_the_others(world):
    driver = world.drivers["holding_driver"]
    before = week(driver)
    response = world.client("holding_driver").post(
        "/driver/availability", page_form(driver, remove={2})
    )
    assert response.status_code == 302
    assert week(driver) == before[:2] + before[3:]


def test_adding_one_time_with_the_other_block_empty(world):
    driver = world.drivers["holding_driver"]
    before = week(driver)
    response = world.client("holding_driver").post(
        "/driver/availability",
        page_form(driver, new={"weekday": "6", "start": "18:00", "end": "20:00"}),
    )
    assert response.status_code == 302
    assert week(driver) == [*before, (6, time(18), time(20))]


def test_an_add_a_time_block_with_only_one_time_asks_for_the_other(world):
    driver = world.drivers["holding_driver"]
    before = week(driver)
    response = world.client("holding_driver").post(
        "/driver/availability", page_form(driver, new={"weekday": "6", "start": "18:00"})
    )
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert week(driver) == before


# --- A day away, or extra time ------------------------------------------------------------


def add_exception(client, day, kind="away", start="", end=""):
    return client.post(
        "/driver/availability/exception",
        {"date": day.isoformat(), "kind": kind, "start": start, "end": end},
    )


def test_a_day_more_than_a_year_ahead_is_refused(world):
    client = world.client("holding_driver")
    response = add_exception(client, date(9999, 12, 31))
    assert response.status_code == 400
    assert "You can plan changes at most a year ahead." in response.content.decode()
    assert not world.drivers["holding_driver"].exceptions.exists()


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (("away", "", ""), ("away", "", "")),
        (("away", "", ""), ("extra", "18:00", "20:00")),
        (("extra", "18:00", "20:00"), ("away", "19:00", "21:00")),
        (("extra", "18:00", "20:00"), ("extra", "18:00", "20:00")),
    ],
    ids=["away-twice", "away-all-day-and-extra", "extra-and-away-overlapping", "extra-twice"],
)
def test_a_second_change_at_the_same_time_of_a_day_is_refused(world, first, second):
    driver = world.drivers["holding_driver"]
    client = world.client("holding_driver")
    day = timezone.localdate() + timedelta(days=3)
    assert add_exception(client, day, *first).status_code == 302
    response = add_exception(client, day, *second)
    assert response.status_code == 400
    assert "already has a change at that time" in response.content.decode()
    assert driver.exceptions.count() == 1


def test_away_in_the_morning_and_extra_in_the_evening_of_one_day(world):
    driver = world.drivers["holding_driver"]
    client = world.client("holding_driver")
    day = timezone.localdate() + timedelta(days=3)
    assert add_exception(client, day, "away", "08:00", "12:00").status_code == 302
    assert add_exception(client, day, "extra", "18:00", "20:00").status_code == 302
    assert driver.exceptions.count() == 2


def test_a_driver_removes_their_own_change_and_not_another_drivers(world):
    mine = AvailabilityExceptionFactory(driver=world.drivers["holding_driver"])
    theirs = AvailabilityExceptionFactory(driver=world.drivers["offered_driver"])
    client = world.client("holding_driver")
    page = client.get("/driver/availability").content.decode()
    assert f'action="/driver/availability/exception/{mine.pk}/remove"' in page
    response = client.post(f"/driver/availability/exception/{theirs.pk}/remove", follow=True)
    assert "This change is already removed." in response.content.decode()
    assert AvailabilityException.objects.filter(pk=theirs.pk).exists()
    assert client.get(f"/driver/availability/exception/{mine.pk}/remove").status_code == 405
    response = client.post(f"/driver/availability/exception/{mine.pk}/remove")
    assert response["Location"] == "/driver/availability"
    assert not AvailabilityException.objects.filter(pk=mine.pk).exists()


def test_past_changes_are_not_listed(world):
    driver = world.drivers["holding_driver"]
    past = AvailabilityExceptionFactory(
        driver=driver, date=timezone.localdate() - timedelta(days=2)
    )
    coming = AvailabilityExceptionFactory(driver=driver)
    page = world.client("holding_driver").get("/driver/availability").content.decode()
    assert f"/driver/availability/exception/{coming.pk}/remove" in page
    assert f"/driver/availability/exception/{past.pk}/remove" not in page

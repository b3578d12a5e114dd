"""Driver mode on the web pages: duty, offers, the ride's status buttons, weekly times
and kilometres. Each role sees only what is theirs; a refusal changes nothing."""

from datetime import time, timedelta

import pytest
from django.utils import timezone

from backend.rides.models import AvailabilitySlot, Offer, OfferState, RideState
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

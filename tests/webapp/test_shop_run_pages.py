"""Shop runs on the web pages without JavaScript: the coming runs, signing up oneself
or as a relative, the waitlist and a seat offered from it, cancelling, every week. Each
role sees and changes only what is theirs; bad input writes nothing."""

import datetime
import re

import pytest
from django.test import Client
from django.utils import timezone

from backend.shuttle.models import RunOccurrence, RunSignup, SignupState, StandingSignup
from backend.shuttle.services import occurrence_cancel
from tests.shuttle_world import World, make_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(settings) -> World:
    settings.ROUTER_URL = ""
    settings.GEOCODER_URL = ""
    return make_world(seats_per_vehicle=1, max_vehicles=1)


def client_for(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.cookies["django_language"] = "en"
    if user is not None:
        client.force_login(user)
    return client


def snapshot() -> list[tuple]:
    return [
        *RunSignup.objects.order_by("pk").values_list("pk", "state", "passenger_id", "pickup"),
        *RunOccurrence.objects.order_by("pk").values_list("pk", "seats_taken"),
        *StandingSignup.objects.order_by("pk").values_list("pk", "active"),
    ]


def sign_up(shop: World, who, data: dict | None = None) -> RunSignup:
    response = client_for(who).post(
        f"/shop-runs/{shop.occurrence.pk}/sign-up", {"waitlist": "on", **(data or {})}
    )
    assert response.status_code == 302, response.content.decode()[:800]
    assert response["Location"] == "/shop-runs/"
    return RunSignup.objects.latest("pk")


def test_anonymous_is_sent_to_sign_in(shop):
    for path in ["/shop-runs/", f"/shop-runs/{shop.occurrence.pk}/sign-up"]:
        response = client_for(None).get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/sign-in?next=")
    before = snapshot()
    client_for(None).post(f"/shop-runs/{shop.occurrence.pk}/sign-up", {})
    assert snapshot() == before


def test_resident_sees_the_coming_runs(shop):
    page = client_for(shop.residents[0]).get("/shop-runs/").content.decode()
    assert "ICA Nära Vansbro" in page
    assert "Västerdalarnas byaskjuts" in page
    assert f"/shop-runs/{shop.occurrence.pk}/sign-up" in page
    assert "Not signed up for any run." in page


def test_resident_signs_up_and_is_picked_up_at_home(shop):
    resident = shop.residents[0]
    signup = sign_up(shop, resident, {"passenger": resident.pk, "needs": ["bags"]})
    assert (signup.passenger, signup.signed_up_by, signup.state) == (
        resident,
        resident,
        SignupState.CONFIRMED,
    )
    assert signup.pickup == resident.home_location
    assert signup.needs == ["bags"]
    page = client_for(resident).get("/shop-runs/").content.decode()
    assert "Has a seat" in page
    assert "help with bags" in page
    assert "The time is set when the drivers' route is planned." in page


def test_the_estimated_pickup_time_is_shown_once_planned(shop):
    resident = shop.residents[0]
    signup = sign_up(shop, resident, {"passenger": resident.pk})
    pickup = shop.occurrence.arrive_at - datetime.timedelta(minutes=25)
    RunSignup.objects.filter(pk=signup.pk).update(estimated_pickup=pickup)
    expected = timezone.localtime(pickup).strftime("%H:%M")
    assert f"about {expected}" in client_for(resident).get("/shop-runs/").content.decode()
    assert f"Pickup about {expected}" in client_for(resident).get("/").content.decode()


def test_resident_signs_up_at_another_address(shop):
    resident = shop.residents[1]
    signup = sign_up(
        shop,
        resident,
        {
            "passenger": resident.pk,
            "pickup_address": "Vårdcentralen",
            "pickup_lon": "14.2300",
            "pickup_lat": "60.5110",
        },
    )
    assert (signup.pickup.x, signup.pickup.y, signup.pickup_address) == (
        14.23,
        60.511,
        "Vårdcentralen",
    )


def test_daughter_signs_her_mother_up_every_week(shop):
    page = client_for(shop.daughter).get(f"/shop-runs/{shop.occurrence.pk}/sign-up")
    assert "Greta Andersson" in page.content.decode()
    signup = sign_up(
        shop,
        shop.daughter,
        {"passenger": shop.managed.pk, "needs": ["walker"], "every_week": "on"},
    )
    assert (signup.passenger, signup.signed_up_by) == (shop.managed, shop.daughter)
    assert signup.standing is not None and signup.standing.active
    page = client_for(shop.daughter).get("/shop-runs/").content.decode()
    assert "Greta Andersson comes along every week" in page
    response = client_for(shop.daughter).post(f"/shop-runs/standing/{signup.standing.pk}/stop")
    assert response.status_code == 302
    signup.standing.refresh_from_db()
    assert not signup.standing.active


def test_driver_sees_runs_and_may_come_along_as_a_passenger(shop):
    driver = shop.driver_user(0)
    assert "ICA Nära Vansbro" in client_for(driver).get("/shop-runs/").content.decode()
    signup = sign_up(shop, driver, {"passenger": driver.pk})
    assert signup.passenger == driver


def test_a_full_run_puts_the_next_on_the_waitlist_and_offers_the_freed_seat(shop):
    first, second = shop.residents[0], shop.residents[1]
    sign_up(shop, first, {"passenger": first.pk})
    waiting = sign_up(shop, second, {"passenger": second.pk})
    assert waiting.state == SignupState.WAITLISTED
    page = client_for(second).get("/shop-runs/").content.decode()
    assert "On the waitlist" in page and "number 1 in line" in page
    assert "Full: waitlist" in page
    home = client_for(second).get("/").content.decode()
    assert "On the waitlist</span> · number 1 in line" in home
    mine = RunSignup.objects.get(passenger=first)
    assert client_for(first).post(f"/shop-runs/sign-ups/{mine.pk}/cancel").status_code == 302
    waiting.refresh_from_db()
    assert waiting.state == SignupState.OFFERED
    page = client_for(second).get("/shop-runs/").content.decode()
    assert "Take the seat" in page
    client_for(second).post(f"/shop-runs/sign-ups/{waiting.pk}/seat/accept")
    waiting.refresh_from_db()
    assert waiting.state == SignupState.CONFIRMED


def test_a_full_run_without_the_waitlist_says_so_and_writes_nothing(shop):
    first, second = shop.residents[0], shop.residents[1]
    sign_up(shop, first, {"passenger": first.pk})
    before = snapshot()
    response = client_for(second).post(
        f"/shop-runs/{shop.occurrence.pk}/sign-up", {"passenger": second.pk}
    )
    assert response.status_code == 400
    assert snapshot() == before


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"pickup_lon": "14.2300"}, "Give both longitude and latitude"),
        ({"pickup_lon": "14.2", "pickup_lat": "60.5"}, "Give the address too"),
        (
            {"pickup_address": "Stockholm", "pickup_lon": "18.07", "pickup_lat": "59.33"},
            "This place is outside",
        ),
        ({"pickup_address": "Storgatan 1"}, "Pick the place on the map"),
        ({"needs": ["jetpack"]}, "Select a valid choice"),
        ({"note": "x" * 501}, "at most 500 characters"),
    ],
)
def test_bad_input_says_what_to_change_and_writes_nothing(shop, data, message):
    resident = shop.residents[0]
    before = snapshot()
    response = client_for(resident).post(
        f"/shop-runs/{shop.occurrence.pk}/sign-up", {"passenger": resident.pk, **data}
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert snapshot() == before


def test_nobody_signs_up_someone_they_do_not_book_for(shop):
    before = snapshot()
    response = client_for(shop.residents[0]).post(
        f"/shop-runs/{shop.occurrence.pk}/sign-up", {"passenger": shop.managed.pk}
    )
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert snapshot() == before


def test_a_resident_of_another_association_sees_no_runs(shop):
    client = client_for(shop.outsider)
    assert "ICA Nära Vansbro" not in client.get("/shop-runs/").content.decode()
    assert client.get(f"/shop-runs/{shop.occurrence.pk}/sign-up").status_code == 404
    before = snapshot()
    response = client.post(
        f"/shop-runs/{shop.occurrence.pk}/sign-up", {"passenger": shop.outsider.pk}
    )
    assert response.status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize("role", ["other_resident", "outsider", "driver"])
def test_others_cannot_cancel_or_answer_for_my_sign_up(shop, role):
    resident = shop.residents[0]
    signup = sign_up(shop, resident, {"passenger": resident.pk})
    other = {
        "other_resident": shop.residents[1],
        "outsider": shop.outsider,
        "driver": shop.driver_user(0),
    }[role]
    before = snapshot()
    client = client_for(other)
    assert client.post(f"/shop-runs/sign-ups/{signup.pk}/cancel").status_code == 404
    assert client.post(f"/shop-runs/sign-ups/{signup.pk}/seat/accept").status_code == 404
    assert snapshot() == before


def test_an_unknown_seat_answer_writes_nothing(shop):
    resident = shop.residents[0]
    signup = sign_up(shop, resident, {"passenger": resident.pk})
    before = snapshot()
    client = client_for(resident)
    client.post(f"/shop-runs/sign-ups/{signup.pk}/seat/maybe")
    assert snapshot() == before
    assert "Choose accept or decline" in client.get("/shop-runs/").content.decode()


def test_the_list_button_only_leads_to_the_question(shop):
    daughter, mother = shop.daughter, shop.managed
    signup = sign_up(shop, daughter, {"passenger": mother.pk})
    client = client_for(daughter)
    url = f"/shop-runs/sign-ups/{signup.pk}/cancel"
    page = client.get("/shop-runs/").content.decode()
    assert f'<a class="button secondary" href="{url}">' in page
    assert f'action="{url}"' not in page
    before = snapshot()
    html = client.get(url).content.decode()
    assert "Cancel Greta Andersson's seat on the shop run to ICA Nära Vansbro on " in html
    assert f'action="{url}"' in html and "Yes, cancel the seat" in html
    assert snapshot() == before
    client.post(url)
    assert "This seat can no longer be cancelled." in client.get(url, follow=True).content.decode()


def test_cancelling_twice_says_it_is_already_cancelled(shop):
    resident = shop.residents[0]
    signup = sign_up(shop, resident, {"passenger": resident.pk})
    client = client_for(resident)
    client.post(f"/shop-runs/sign-ups/{signup.pk}/cancel")
    before = snapshot()
    client.post(f"/shop-runs/sign-ups/{signup.pk}/cancel")
    assert snapshot() == before
    assert "already cancelled" in client.get("/shop-runs/").content.decode()


def test_run_list_query_count_is_fixed(shop, django_assert_num_queries):
    daughter = shop.daughter
    sign_up(shop, daughter, {"passenger": shop.managed.pk, "every_week": "on"})
    client = client_for(daughter)
    client.get("/shop-runs/")
    # session, user, shell (1), sign-ups with waitlist places, runs, weekly sign-ups:
    # the same however many runs and sign-ups (every week fills the later runs).
    with django_assert_num_queries(6):
        page = client.get("/shop-runs/").content.decode()
    assert page.count("Cancel for Greta") == RunSignup.objects.count() > 1


def test_each_checkbox_of_the_sign_up_form_sits_in_its_own_label(shop):
    # As a field group the box stood on a line of its own under its label, and with
    # two in a row it was not clear which box was which.
    page = client_for(shop.residents[0]).get(f"/shop-runs/{shop.occurrence.pk}/sign-up")
    html = page.content.decode()
    for name, label in [
        ("every_week", "Every week until I stop it"),
        ("waitlist", "If the run is full, put me on the waitlist"),
    ]:
        box = re.search(rf'<label class="choice"><input type="checkbox" name="{name}"[^>]*> ', html)
        assert box, name
        assert html[box.end() :].startswith(label)
    assert 'aria-describedby="id_every_week_helptext"' in html
    assert 'id="id_every_week_helptext"' in html


def test_a_cancelled_run_is_shown_cancelled_on_the_start_page(shop):
    resident = shop.residents[0]
    sign_up(shop, resident, {"passenger": resident.pk})
    occurrence_cancel(
        actor=shop.coordinator, occurrence=shop.occurrence, reason="Vägen är avstängd."
    )
    home = client_for(resident).get("/").content.decode()
    section = re.search(r'aria-labelledby="next-shop-runs">(.*?)</section>', home, re.DOTALL)[1]
    assert "This run is cancelled." in section and "Vägen är avstängd." in section
    assert "Has a seat" not in section

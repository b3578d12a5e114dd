"""The roster's "Give rides back": a coordinator gives all the rides a driver holds back to
dispatch at once, on a page that asks first and names them, with a reason the driver is
told. A ride with the passenger on board stays. The refusal to take the driver role (or
to suspend) from someone holding rides links to it. Bad input shows the page again and
changes nothing; another association's coordinator finds nothing; nobody else may."""

import re
from datetime import timedelta

import pytest
from django.utils import formats, timezone, translation

from backend.community.models import Membership, Role
from backend.notifications.models import Notification
from backend.rides.models import RideRequest, RideState
from backend.rides.services import busy_range, local_time
from tests.factories import RideRequestFactory
from tests.webapp.conftest import snapshot

pytestmark = pytest.mark.django_db

ROSTER = "/console/roster/"
REASON = "Erik är sjuk resten av veckan."


def membership(world, role: str) -> Membership:
    return Membership.objects.get(user=world.people[role], association=world.a)


def url(world, role: str = "holding_driver") -> str:
    return f"{ROSTER}{membership(world, role).pk}/release-rides"


def everything() -> list:
    """What a refused request must leave as it was."""
    return [
        *snapshot(),
        *Membership.objects.order_by("pk").values_list("pk", "roles", "state"),
        ("notifications", Notification.objects.count()),
    ]


def row(page: str, target: Membership) -> str:
    found = re.search(rf'<tr data-membership="{target.pk}">(.*?)</tr>', page, re.S)
    assert found, f"no row for membership {target.pk}"
    return found.group(1)


def second_ride(world, state=RideState.EN_ROUTE, days: int = 1) -> RideRequest:
    """Another ride Erik holds, a day after the first."""
    at = world.held.planned_pickup + timedelta(days=days)
    ride = RideRequestFactory(
        rider=world.people["other_resident"],
        association=world.a,
        earliest_pickup=at,
        latest_pickup=at,
        destination_address="Apoteket, Vansbro",
    )
    ride.state, ride.driver, ride.planned_pickup = state, world.drivers["holding_driver"], at
    ride.busy = busy_range(ride, at)
    ride.save()
    return ride


def day_and_time(moment) -> str:
    """As the page writes a ride's time: "Tuesday 8 December 10:00"."""
    local = timezone.localtime(moment)
    return f"{formats.date_format(local.date(), 'l j F')} {local:%H:%M}"


# --- The roster leads there ------------------------------------------------------------------


def test_a_driver_holding_rides_has_a_give_back_link_on_the_roster(world):
    second_ride(world)
    page = world.client("coordinator").get(ROSTER).content.decode()
    erik = row(page, membership(world, "holding_driver"))
    assert (
        f'<a class="button secondary" href="{url(world)}?association={world.a.pk}">'
        "Give 2 rides back</a>" in erik
    )
    assert "release-rides" not in row(page, membership(world, "offered_driver"))
    assert "release-rides" not in row(page, membership(world, "other_resident"))


def test_a_ride_on_board_is_not_counted_on_the_roster(world):
    RideRequest.objects.filter(pk=world.held.pk).update(state=RideState.PICKED_UP)
    page = world.client("coordinator").get(ROSTER).content.decode()
    assert "release-rides" not in row(page, membership(world, "holding_driver"))


@pytest.mark.parametrize("action", ["driver", "suspend"])
def test_the_refusal_to_take_the_role_or_suspend_links_to_it(world, action):
    client = world.client("coordinator")
    data = {"association": world.a.pk, "driver": "take", "reason": "Flyttar."}
    erik = membership(world, "holding_driver")
    response = client.post(f"{ROSTER}{erik.pk}/{action}", data, follow=True)
    page = response.content.decode()
    assert "Erik Olsson holds 1 ride: give it to another driver first" in page
    assert (
        f'<a href="{url(world)}?association={world.a.pk}">'
        "Give Erik Olsson&#x27;s rides back to dispatch</a>" in page
    )


# --- The page asks first ---------------------------------------------------------------------


def test_the_page_asks_first_naming_the_rides(world):
    later = second_ride(world)
    before = everything()
    response = world.client("coordinator").get(f"{url(world)}?association={world.a.pk}")
    page = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Give Erik Olsson's 2 rides back to dispatch?</h1>" in page
    first = page.index(f"<h2>{day_and_time(world.held.planned_pickup)} Vårdcentralen, Dala-Järna")
    assert first < page.index(f"<h2>{day_and_time(later.planned_pickup)} Apoteket, Vansbro</h2>")
    assert "Anna Eriksson: Järnvägsgatan 4, Vansbro → Vårdcentralen, Dala-Järna" in page
    assert "Johan Persson: Järnvägsgatan 4, Vansbro → Apoteket, Vansbro" in page
    assert "Erik Olsson gets one message listing the times, with your reason." in page
    assert '<textarea name="reason"' in page
    assert "Yes, give them back</button>" in page
    assert f'href="{ROSTER}?association={world.a.pk}">No</a>' in page
    assert everything() == before


def test_one_ride_is_asked_about_in_the_singular(world):
    page = world.client("coordinator").get(url(world)).content.decode()
    assert "<h1>Give Erik Olsson's ride back to dispatch?</h1>" in page
    assert "Yes, give it back</button>" in page


def test_the_page_in_swedish(world):
    client = world.client("coordinator")
    client.cookies["django_language"] = "sv"
    with translation.override("sv"):
        when = day_and_time(world.held.planned_pickup)
    page = client.get(url(world), HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    assert "<h1>Vill du ta tillbaka Erik Olssons resa och erbjuda den till andra förare?</h1>" in (
        page
    )
    assert f"<h2>{when} Vårdcentralen, Dala-Järna</h2>" in page
    assert "Ja, ta tillbaka den</button>" in page
    roster = client.get(ROSTER, HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    assert ">Ta tillbaka 1 resa</a>" in row(roster, membership(world, "holding_driver"))


def test_a_ride_on_board_is_named_as_staying(world):
    aboard = second_ride(world, RideState.PICKED_UP)
    page = world.client("coordinator").get(url(world)).content.decode()
    assert "<h1>Give Erik Olsson's ride back to dispatch?</h1>" in page
    assert (
        "A ride with the passenger on board stays with Erik Olsson until it is completed:"
        f"\n  {day_and_time(aboard.planned_pickup)} Apoteket, Vansbro." in page
    )


def test_a_driver_with_nothing_to_give_back(world):
    page = world.client("coordinator").get(url(world, "offered_driver")).content.decode()
    assert "Sven Holm holds no rides to give back." in page
    assert 'name="reason"' not in page


# --- Yes, give them back -----------------------------------------------------------------------


def test_yes_gives_them_back_and_the_role_can_go_after(world):
    later = second_ride(world)
    client = world.client("coordinator")
    response = client.post(url(world), {"association": world.a.pk, "reason": REASON})
    assert response.status_code == 302
    assert response["Location"] == f"{ROSTER}?association={world.a.pk}"
    page = client.get(response["Location"]).content.decode()
    assert (
        "Erik Olsson&#x27;s 2 rides go back to dispatch: other drivers are asked, and the "
        "riders and Erik Olsson are told." in page
    )
    assert "release-rides" not in row(page, membership(world, "holding_driver"))
    assert list(
        RideRequest.objects.filter(pk__in=[world.held.pk, later.pk])
        .order_by("earliest_pickup")
        .values_list("state", "driver")
    ) == [(RideState.REQUESTED, None), (RideState.REQUESTED, None)]
    erik = world.people["holding_driver"]
    assert list(Notification.objects.filter(recipient=erik).values_list("kind", "payload")) == [
        (
            "ride.released_to_dispatch",
            {
                "rides": f"{local_time(world.held.planned_pickup)}, "
                f"{local_time(later.planned_pickup)}",
                "reason": REASON,
                "association": world.a.pk,
            },
        )
    ]
    assert Notification.objects.filter(
        recipient=world.people["rider"], kind="ride.driver_withdrew"
    ).exists()
    # Now the roster's button takes the role.
    client.post(f"{ROSTER}{membership(world, 'holding_driver').pk}/driver", {"driver": "take"})
    assert membership(world, "holding_driver").roles == [Role.MEMBER]


def test_the_message_opens_driver_mode(world):
    world.client("coordinator").post(url(world), {"reason": REASON})
    note = Notification.objects.get(recipient=world.people["holding_driver"])
    response = world.client("holding_driver").get(f"/notifications/{note.pk}/open")
    assert response["Location"] == f"/driver/?association={world.a.pk}"


def test_a_ride_on_board_stays_with_the_driver(world):
    aboard = second_ride(world, RideState.PICKED_UP)
    world.client("coordinator").post(url(world), {"reason": REASON})
    aboard.refresh_from_db()
    world.held.refresh_from_db()
    assert (aboard.state, aboard.driver) == (RideState.PICKED_UP, world.drivers["holding_driver"])
    assert (world.held.state, world.held.driver) == (RideState.REQUESTED, None)


def test_giving_back_twice_changes_nothing_the_second_time(world):
    client = world.client("coordinator")
    client.post(url(world), {"reason": REASON})
    before = everything()
    response = client.post(url(world), {"reason": REASON}, follow=True)
    assert response.status_code == 200
    assert "Erik Olsson holds no rides to give back." in response.content.decode()
    assert everything() == before


# --- Bad input, and who may --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        ("", "Say why the rides go back to dispatch; the driver will see it."),
        ("  ", "Say why the rides go back to dispatch; the driver will see it."),
        ("x" * 301, "Ensure this value has at most 300 characters (it has 301)."),
    ],
    ids=["empty", "blank", "too-long"],
)
def test_bad_input_shows_the_page_again_and_changes_nothing(world, reason, message):
    before = everything()
    response = world.client("coordinator").post(url(world), {"reason": reason})
    page = response.content.decode()
    assert response.status_code == 400
    assert message in page
    assert "<h1>Give Erik Olsson's ride back to dispatch?</h1>" in page
    assert everything() == before


def test_another_associations_coordinator_finds_nothing(world):
    before = everything()
    client = world.client("coordinator_elsewhere")
    assert client.get(url(world)).status_code == 404
    assert client.post(url(world), {"reason": REASON}).status_code == 404
    assert everything() == before


@pytest.mark.parametrize("who", ["holding_driver", "offered_driver", "rider", "proxy", "analyst"])
def test_nobody_else_gives_rides_back(world, who):
    before = everything()
    client = world.client(who)
    assert client.get(url(world)).status_code == 403
    assert client.post(url(world), {"reason": REASON}).status_code == 403
    assert everything() == before


def test_anonymous_is_sent_to_sign_in(world):
    before = everything()
    response = world.client("anonymous").post(url(world), {"reason": REASON})
    assert response.status_code == 302
    assert response["Location"].startswith("/sign-in")
    assert everything() == before

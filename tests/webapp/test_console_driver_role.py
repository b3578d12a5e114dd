"""The roster's "Make volunteer driver" / "No longer a driver": a coordinator gives an
active member the driver role or takes it away, keeping their other roles. The new
driver is told how to start; taking the role from someone who still holds rides is
refused, naming how many; nobody else changes a role, and bad input writes nothing."""

import re

import pytest

from backend.audit.models import AuditEntry
from backend.community.models import Membership, MembershipState, Role
from backend.notifications.models import Notification
from backend.rides.models import DriverProfile, RideRequest, RideState
from backend.rides.services import busy_range
from tests.factories import MembershipFactory, RideRequestFactory, next_weekday_at
from tests.webapp.conftest import snapshot

pytestmark = pytest.mark.django_db

ROSTER = "/console/roster/"


def membership(world, role: str) -> Membership:
    return Membership.objects.get(user=world.people[role], association=world.a)


def post(world, who, target: Membership, data: dict):
    """`who`: a role, or a client already signed in (to read its messages after)."""
    client = world.client(who) if isinstance(who, str) else who
    return client.post(f"{ROSTER}{target.pk}/driver", data)


def give(world, target: Membership, who="coordinator"):
    return post(world, who, target, {"association": world.a.pk, "driver": "give"})


def take(world, target: Membership, who="coordinator"):
    return post(world, who, target, {"association": world.a.pk, "driver": "take"})


def row(page: str, target: Membership) -> str:
    """The member's row of the roster's members table."""
    found = re.search(rf'<tr data-membership="{target.pk}">(.*?)</tr>', page, re.S)
    assert found, f"no row for membership {target.pk}"
    return found.group(1)


def everything() -> list:
    """What a refused request must leave as it was."""
    return [
        *snapshot(),
        *Membership.objects.order_by("pk").values_list("pk", "roles", "state"),
        *DriverProfile.objects.order_by("pk").values_list("pk", "active"),
        ("notifications", Notification.objects.count()),
        ("audit", AuditEntry.objects.filter(action="membership.roles").count()),
    ]


def driver_role_notes(person) -> list[dict]:
    return list(
        Notification.objects.filter(recipient=person, kind="membership.driver_role").values_list(
            "payload", flat=True
        )
    )


# --- Giving the role -----------------------------------------------------------------------


def test_an_active_members_row_offers_the_role_and_a_drivers_row_taking_it(world):
    page = world.client("coordinator").get(ROSTER).content.decode()
    johan = row(page, membership(world, "other_resident"))
    assert f'action="/console/roster/{membership(world, "other_resident").pk}/driver"' in johan
    assert '<input type="hidden" name="driver" value="give">' in johan
    assert "Make volunteer driver" in johan and "No longer a driver" not in johan
    erik = row(page, membership(world, "holding_driver"))
    assert '<input type="hidden" name="driver" value="take">' in erik
    assert "No longer a driver" in erik and "Make volunteer driver" not in erik


def test_a_member_waiting_for_approval_gets_no_driver_form(world):
    pending = MembershipFactory(association=world.a, state=MembershipState.PENDING)
    page = world.client("coordinator").get(ROSTER).content.decode()
    assert "/driver" not in row(page, pending)


def test_giving_the_role_makes_a_driver_and_tells_them(world):
    johan = membership(world, "other_resident")
    client = world.client("coordinator")
    response = give(world, johan, client)
    assert response.status_code == 302
    assert response["Location"] == f"{ROSTER}?association={world.a.pk}"
    johan.refresh_from_db()
    assert johan.roles == [Role.MEMBER, Role.DRIVER]
    assert driver_role_notes(world.people["other_resident"]) == [
        {"association": "Äppelbo byalag", "association_id": world.a.pk}
    ]
    page = client.get(response["Location"]).content.decode()
    assert "Johan Persson is now a volunteer driver." in page
    assert "No longer a driver" in row(page, johan)
    assert "member, volunteer driver" in row(page, johan)
    entry = AuditEntry.objects.get(action="membership.roles")
    assert entry.actor == world.people["coordinator"]
    assert entry.detail["roles"] == ["member", "driver"]


def test_the_message_opens_the_first_setup_of_driver_mode(world):
    give(world, membership(world, "other_resident"))
    note = Notification.objects.get(
        recipient=world.people["other_resident"], kind="membership.driver_role"
    )
    client = world.client("other_resident")
    response = client.get(f"/notifications/{note.pk}/open")
    assert response.status_code == 302
    assert response["Location"] == f"/driver/profile?association={world.a.pk}"
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "Start driving" in page.content.decode()


def test_the_message_opens_the_messages_page_once_the_role_is_gone(world):
    johan = membership(world, "other_resident")
    give(world, johan)
    take(world, johan)
    note = Notification.objects.get(
        recipient=world.people["other_resident"], kind="membership.driver_role"
    )
    response = world.client("other_resident").get(f"/notifications/{note.pk}/open")
    assert response.status_code == 302
    assert not response["Location"].startswith("/driver")


def test_giving_the_role_again_tells_nobody_twice(world):
    johan = membership(world, "other_resident")
    give(world, johan)
    give(world, johan)
    johan.refresh_from_db()
    assert johan.roles == [Role.MEMBER, Role.DRIVER]
    assert len(driver_role_notes(world.people["other_resident"])) == 1


def test_a_coordinator_keeps_the_coordinator_role(world):
    karin = membership(world, "coordinator")
    assert give(world, karin).status_code == 302
    karin.refresh_from_db()
    assert karin.roles == [Role.MEMBER, Role.DRIVER, Role.COORDINATOR]
    assert take(world, karin).status_code == 302
    karin.refresh_from_db()
    assert karin.roles == [Role.MEMBER, Role.COORDINATOR]


# --- Taking it away ------------------------------------------------------------------------


def test_taking_the_role_from_a_driver_without_rides(world):
    sven = membership(world, "offered_driver")
    profile = world.drivers["offered_driver"]
    client = world.client("coordinator")
    response = take(world, sven, client)
    assert response.status_code == 302
    sven.refresh_from_db()
    assert sven.roles == [Role.MEMBER]
    page = client.get(response["Location"]).content.decode()
    assert "Sven Holm is no longer a driver." in page
    assert "Make volunteer driver" in row(page, sven)
    # The profile rests (giving the role back brings back the car), out of driver mode.
    assert DriverProfile.objects.filter(pk=profile.pk).exists()
    driver_page = world.client("offered_driver").get("/driver/")
    assert driver_page.status_code == 403
    assert "You are not a volunteer driver yet." in driver_page.content.decode()
    # Nobody is told a role was taken away.
    assert not Notification.objects.filter(
        recipient=world.people["offered_driver"], kind="membership.driver_role"
    ).exists()


def test_a_driver_holding_a_ride_keeps_the_role_until_it_is_given_away(world):
    erik = membership(world, "holding_driver")
    before = everything()
    client = world.client("coordinator")
    response = take(world, erik, client)
    assert response.status_code == 302
    assert everything() == before
    page = client.get(response["Location"]).content.decode()
    assert (
        "Erik Olsson holds 1 ride: give it to another driver first, then take the driver "
        "role away." in page
    )
    assert "No longer a driver" in row(page, erik)
    # Driver mode still opens the ride for him.
    assert world.client("holding_driver").get(f"/driver/rides/{world.held.pk}/").status_code == 200


def test_the_refusal_counts_every_ride_held(world):
    erik = world.drivers["holding_driver"]
    second = RideRequestFactory(
        rider=world.people["rider"], association=world.a, earliest_pickup=next_weekday_at(3, 14)
    )
    second.state, second.driver = RideState.EN_ROUTE, erik
    second.planned_pickup = second.earliest_pickup
    second.busy = busy_range(second, second.earliest_pickup)
    second.save()
    client = world.client("coordinator")
    response = take(world, membership(world, "holding_driver"), client)
    page = client.get(response["Location"]).content.decode()
    assert "Erik Olsson holds 2 rides: give them to other drivers first" in page
    assert Role.DRIVER in membership(world, "holding_driver").roles


def test_once_the_ride_is_done_the_role_can_go(world):
    RideRequest.objects.filter(pk=world.held.pk).update(state=RideState.COMPLETED)
    erik = membership(world, "holding_driver")
    assert take(world, erik).status_code == 302
    erik.refresh_from_db()
    assert erik.roles == [Role.MEMBER]


# --- Who may, and bad input ----------------------------------------------------------------


def test_a_coordinator_elsewhere_does_not_find_the_member(world):
    johan = membership(world, "other_resident")
    before = everything()
    response = post(
        world, "coordinator_elsewhere", johan, {"association": world.a.pk, "driver": "give"}
    )
    assert response.status_code == 404
    assert everything() == before


@pytest.mark.parametrize("who", ["holding_driver", "offered_driver", "rider", "other_resident"])
@pytest.mark.parametrize("value", ["give", "take"])
def test_members_and_drivers_cannot_change_roles(world, who, value):
    target = membership(world, "offered_driver" if value == "take" else "other_resident")
    before = everything()
    response = post(world, who, target, {"association": world.a.pk, "driver": value})
    assert response.status_code == 403
    assert everything() == before


def test_anonymous_is_sent_to_sign_in(world):
    before = everything()
    response = give(world, membership(world, "other_resident"), who="anonymous")
    assert response.status_code == 302
    assert response["Location"].startswith("/sign-in")
    assert everything() == before


@pytest.mark.parametrize(
    "data",
    [{"driver": "maybe"}, {"driver": ""}, {}, {"driver": "coordinator"}],
    ids=["unknown-value", "empty", "missing", "another-role"],
)
def test_a_bad_hidden_value_is_a_400_that_writes_nothing(world, data):
    johan = membership(world, "other_resident")
    before = everything()
    response = post(world, "coordinator", johan, {"association": world.a.pk, **data})
    assert response.status_code == 400
    assert "Choose whether to give or take away the driver role." in response.content.decode()
    assert everything() == before

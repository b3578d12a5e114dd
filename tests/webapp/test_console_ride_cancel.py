"""A coordinator cancels a ride for a member from the console (she phoned in ill): the
ride, and its return trip when asked, are closed; the member, whoever booked for her and
the driver who held it are told; waiting offers are withdrawn. Nobody else can, and a
ride that is over says why and stays as it was."""

from datetime import timedelta

import pytest

from backend.notifications.models import Notification
from backend.notifications.selectors import notification_message
from backend.rides.models import Offer, OfferState, RideEvent, RideRequest, RideState
from backend.rides.services import local_time
from tests.factories import DALA_JARNA, VANSBRO, RideRequestFactory
from tests.webapp.conftest import ROLES
from tests.webapp.test_console_pages import everything

pytestmark = pytest.mark.django_db


def cancel_url(ride: RideRequest) -> str:
    return f"/console/rides/{ride.pk}/cancel"


def told(person, kind: str) -> list[Notification]:
    return list(Notification.objects.filter(recipient=person, kind=kind))


def return_trip(world, ride: RideRequest, **fields) -> RideRequest:
    return RideRequestFactory(
        rider=world.people["rider"],
        association=world.a,
        pickup=DALA_JARNA,
        pickup_address="Vårdcentralen, Dala-Järna",
        destination=VANSBRO,
        destination_address="Järnvägsgatan 4, Vansbro",
        earliest_pickup=ride.earliest_pickup + timedelta(hours=4),
        return_of=ride,
        **fields,
    )


def test_the_ride_page_offers_to_cancel(world):
    page = world.client("coordinator").get(f"/console/rides/{world.held.pk}/").content.decode()
    assert f'action="/console/rides/{world.held.pk}/cancel"' in page
    assert "Cancel the ride</button>" in page
    assert "with_return" not in page  # no return trip


def test_a_coordinator_cancels_a_held_ride_and_the_member_and_driver_are_told(world):
    rider, coordinator = world.people["rider"], world.people["coordinator"]
    driver = world.people["holding_driver"]
    client = world.client("coordinator")
    response = client.post(
        cancel_url(world.held), {"reason": "Anna är sjuk", "association": world.a.pk}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/console/rides/{world.held.pk}/?association={world.a.pk}"
    world.held.refresh_from_db()
    assert (world.held.state, world.held.busy) == (RideState.CANCELLED, None)
    event = RideEvent.objects.get(ride=world.held, to_state=RideState.CANCELLED)
    assert (event.actor, event.reason) == (coordinator, "Anna är sjuk")
    [member_told] = told(rider, "ride.cancelled_by_association")
    assert member_told.payload["reason"] == "Anna är sjuk"
    assert member_told.payload["ride"] == world.held.pk
    body = notification_message(member_told, language="en")["body"]
    assert body.startswith("Äppelbo byalag has cancelled your ride ")
    assert body.endswith(". Anna är sjuk")
    [driver_told] = told(driver, "ride.cancelled")
    assert (driver_told.payload["reason"], driver_told.urgent) == ("Anna är sjuk", True)
    # The coordinator is not told what she did herself.
    assert not Notification.objects.filter(recipient=coordinator).exists()
    page = client.get(response["Location"]).content.decode()
    assert "The ride is cancelled. Anna Eriksson has been told." in page
    assert "Cancel the ride</button>" not in page  # nothing left to cancel


def test_cancelling_an_open_ride_withdraws_the_offer_waiting_for_a_driver(world):
    response = world.client("coordinator").post(cancel_url(world.open), {"reason": ""})
    assert response.status_code == 302
    world.open.refresh_from_db()
    assert world.open.state == RideState.CANCELLED
    assert Offer.objects.get(ride=world.open).state == OfferState.WITHDRAWN
    assert len(told(world.people["offered_driver"], "ride.offer_closed")) == 1
    # No driver held it; the member is told, without a reason.
    [member_told] = told(world.people["rider"], "ride.cancelled_by_association")
    assert member_told.payload["reason"] == ""


def test_whoever_booked_for_the_member_is_told_too(world):
    RideRequest.objects.filter(pk=world.held.pk).update(requested_by=world.people["proxy"])
    world.client("coordinator").post(cancel_url(world.held), {"reason": "Sjuk"})
    assert len(told(world.people["rider"], "ride.cancelled_by_association")) == 1
    assert len(told(world.people["proxy"], "ride.cancelled_by_association")) == 1


def test_a_member_who_cancels_herself_gets_no_message_about_it(world):
    world.client("rider").post(f"/rides/{world.held.pk}/cancel", {"reason": "Sjuk"})
    world.held.refresh_from_db()
    assert world.held.state == RideState.CANCELLED
    assert told(world.people["rider"], "ride.cancelled_by_association") == []
    assert len(told(world.people["holding_driver"], "ride.cancelled")) == 1


def test_with_the_box_ticked_the_return_trip_is_cancelled_too(world):
    back = return_trip(world, world.held)
    client = world.client("coordinator")
    page = client.get(f"/console/rides/{world.held.pk}/").content.decode()
    assert '<input type="checkbox" name="with_return" id="id_with_return" checked>' in page
    response = client.post(
        cancel_url(world.held), {"reason": "Sjuk", "with_return": "on"}, follow=True
    )
    assert (
        "The ride and its return trip are cancelled. Anna Eriksson has been told."
        in response.content.decode()
    )
    states = RideRequest.objects.filter(pk__in=[world.held.pk, back.pk]).values_list("pk", "state")
    assert dict(states) == {world.held.pk: RideState.CANCELLED, back.pk: RideState.CANCELLED}
    # One message naming both rides, opening the ride there.
    [member_told] = told(world.people["rider"], "ride.cancelled_by_association")
    assert member_told.payload["ride"] == world.held.pk
    assert member_told.payload["return_when"] == local_time(back.earliest_pickup)
    body = notification_message(member_told, language="en")["body"]
    assert " and its return trip " in body
    body = notification_message(member_told, language="sv")["body"]
    assert " och returresan " in body


def test_without_the_box_the_return_trip_stays_booked(world):
    back = return_trip(world, world.held)
    response = world.client("coordinator").post(
        cancel_url(world.held), {"reason": "Sjuk"}, follow=True
    )
    assert (
        "The ride is cancelled; its return trip is still booked. Anna Eriksson has been told."
        in response.content.decode()
    )
    back.refresh_from_db()
    assert back.state == RideState.OFFERING
    world.held.refresh_from_db()
    assert world.held.state == RideState.CANCELLED


@pytest.mark.parametrize(
    ("changes", "label"),
    [
        ({"state": RideState.COMPLETED}, "completed"),
        ({"state": RideState.CANCELLED, "busy": None}, "cancelled"),
    ],
    ids=["completed", "cancelled"],
)
def test_a_ride_that_is_over_says_why_and_nothing_changes(world, changes, label):
    RideRequest.objects.filter(pk=world.held.pk).update(**changes)
    page = world.client("coordinator").get(f"/console/rides/{world.held.pk}/").content.decode()
    assert "Cancel the ride</button>" not in page
    before = everything()
    notifications = Notification.objects.count()
    response = world.client("coordinator").post(cancel_url(world.held), {"reason": "Sjuk"})
    assert response.status_code == 409
    assert (
        f"This ride&#x27;s status is “{label}”, so it cannot be changed that way."
        in response.content.decode()
    )
    assert everything() == before
    assert Notification.objects.count() == notifications


def test_a_reason_over_300_characters_is_refused_and_nothing_is_written(world):
    before = everything()
    response = world.client("coordinator").post(cancel_url(world.held), {"reason": "x" * 301})
    assert response.status_code == 400
    assert "Ensure this value has at most 300 characters (it has 301)." in (
        response.content.decode()
    )
    assert everything() == before
    assert not Notification.objects.exists()


def test_a_coordinator_of_another_association_gets_a_404(world):
    before = everything()
    response = world.client("coordinator_elsewhere").post(
        cancel_url(world.held), {"reason": "Sjuk", "association": world.a.pk}
    )
    assert response.status_code == 404
    assert everything() == before
    assert not Notification.objects.exists()


@pytest.mark.parametrize(
    "role", [role for role in ROLES if role not in ("coordinator", "coordinator_elsewhere")]
)
def test_members_drivers_and_others_are_refused(world, role):
    before = everything()
    response = world.client(role).post(cancel_url(world.held), {"reason": "Sjuk"})
    if role == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith("/sign-in")
    else:
        assert response.status_code == 403
        assert "The console is for the coordinators" in response.content.decode()
    assert everything() == before
    assert not Notification.objects.exists()

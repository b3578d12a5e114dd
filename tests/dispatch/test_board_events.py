"""The coordinators' board follows the association's rides live: a driver accepting an
offer reaches the coordinator's websocket (real Redis channel layer), and nobody of
another association hears of it."""

import pytest
from asgiref.sync import sync_to_async
from channels.testing.websocket import WebsocketCommunicator
from rest_framework.authtoken.models import Token

from backend.asgi import application
from backend.rides.models import Offer
from dispatch.offers import offer_accept
from tests.factories import AssociationFactory, RideRequestFactory, coordinator_of

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def open_socket(user) -> WebsocketCommunicator:
    token = await sync_to_async(lambda: Token.objects.get_or_create(user=user)[0].key)()
    socket = WebsocketCommunicator(
        application, f"/ws/?token={token}", headers=[(b"origin", b"http://127.0.0.1")]
    )
    connected, _ = await socket.connect()
    assert connected
    return socket


def _offered(association, coordinator, rider, driver) -> Offer:
    ride = RideRequestFactory(rider=rider, association=association)
    return Offer.objects.create(
        ride=ride, driver=driver, wave=1, rank=1, distance_m=1000, pickup_at=ride.earliest_pickup
    )


async def test_an_accepted_offer_reaches_the_coordinators_board(
    association, coordinator, rider, driver
):
    offer = await sync_to_async(_offered)(association, coordinator, rider, driver)
    elsewhere = await sync_to_async(lambda: coordinator_of(AssociationFactory()))()
    mine, theirs = await open_socket(coordinator), await open_socket(elsewhere)
    await sync_to_async(offer_accept)(offer_id=offer.pk, actor=driver.membership.user)
    assert await mine.receive_json_from(timeout=5) == {
        "type": "board.ride",
        "ride": offer.ride_id,
        "state": "accepted",
    }
    assert await theirs.receive_nothing(timeout=0.5)
    await mine.disconnect()
    await theirs.disconnect()

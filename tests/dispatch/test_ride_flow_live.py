"""A ride from request to completion as the phones see it: every step arrives over the
websocket (real ASGI app, Redis channel layer)."""

from datetime import time

import pytest
from asgiref.sync import sync_to_async
from channels.testing.websocket import WebsocketCommunicator
from django.contrib.gis.geos import Point
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from backend.asgi import application
from backend.rides import services as rides
from backend.rides.drivers import driver_position_update, driver_set_duty
from backend.rides.models import Offer, RideRequest
from backend.rides.services import RideTime
from dispatch.offers import offer_accept, offer_wave
from dispatch.services import ride_request_submit
from tests.factories import (
    DALA_JARNA,
    VANSBRO,
    AvailabilitySlotFactory,
    DriverProfileFactory,
    next_weekday_at,
    ride_due,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def socket_for(user) -> WebsocketCommunicator:
    token = await sync_to_async(lambda: Token.objects.get_or_create(user=user)[0].key)()
    socket = WebsocketCommunicator(
        application, f"/ws/?token={token}", headers=[(b"origin", b"http://127.0.0.1")]
    )
    connected, _ = await socket.connect()
    assert connected
    return socket


async def next_of(socket, kind: str) -> dict:
    """The next message of that kind (notifications by `kind`, other events by `type`)."""
    for _ in range(10):
        message = await socket.receive_json_from(timeout=5)
        if message.get("kind") == kind or message.get("type") == kind:
            return message
    raise AssertionError(f"no {kind} message")


async def test_request_offer_accept_ride_and_live_position(rider, association):

    def two_drivers():
        drivers = []
        for name, lon in [("Erik Olsson", 14.23), ("Maria Berg", 14.26)]:
            driver = DriverProfileFactory(
                membership__association=association,
                membership__user__full_name=name,
                home_base=Point(lon, 60.509, srid=4326),
                vehicle_description="Röd Volvo V70",
            )
            AvailabilitySlotFactory(driver=driver, weekday=0, start=time(8), end=time(17))
            drivers.append(driver)
        return drivers

    erik, maria = await sync_to_async(two_drivers)()
    erik_user = await sync_to_async(lambda: erik.membership.user)()
    maria_user = await sync_to_async(lambda: maria.membership.user)()
    rider_socket = await socket_for(rider)
    erik_socket, maria_socket = await socket_for(erik_user), await socket_for(maria_user)

    ride = await sync_to_async(ride_request_submit)(
        requested_by=rider,
        rider=rider,
        association=association,
        pickup=VANSBRO,
        pickup_address="Järnvägsgatan 4, Vansbro",
        destination=DALA_JARNA,
        destination_address="Vårdcentralen, Dala-Järna",
        when=RideTime(kind="pickup_at", at=next_weekday_at(0, 10)),
    )
    assert (await next_of(rider_socket, "ride.requested"))["payload"]["when"]

    # What the run_dispatch task queued on commit does (run here, not by a worker, so the
    # wave's timeout does not fire at once as it would with eager tasks).
    await sync_to_async(offer_wave)(ride_id=ride.pk)
    offered = await next_of(erik_socket, "ride.offered")
    assert (await next_of(maria_socket, "ride.offered"))["payload"]["ride"] == ride.pk
    assert "Järnvägsgatan" not in str(offered)  # no address before accepting

    offer = await sync_to_async(Offer.objects.get)(pk=offered["payload"]["offer"])
    await sync_to_async(offer_accept)(offer_id=offer.pk, actor=erik_user)
    accepted = await next_of(rider_socket, "ride.accepted")
    assert accepted["payload"]["driver"] == "Erik Olsson"
    withdrawn = await next_of(maria_socket, "offer.withdrawn")
    assert withdrawn["offer"] != offer.pk

    ride = await sync_to_async(RideRequest.objects.get)(pk=ride.pk)
    ride = await sync_to_async(ride_due)(ride)  # the day of the ride has come
    ride = await sync_to_async(rides.ride_start)(ride=ride, actor=erik_user)
    assert (await next_of(rider_socket, "ride.en_route"))["payload"]["driver"] == "Erik Olsson"
    await sync_to_async(driver_set_duty)(actor=erik_user, driver=erik, on_duty=True)
    await sync_to_async(driver_position_update)(
        actor=erik_user, driver=erik, point=Point(14.25, 60.51, srid=4326)
    )
    position = await next_of(rider_socket, "driver.position")
    assert (position["ride"], position["position"]) == (ride.pk, [14.25, 60.51])
    assert await maria_socket.receive_nothing(timeout=0.3)

    ride = await sync_to_async(rides.ride_pick_up)(ride=ride, actor=erik_user)
    ride = await sync_to_async(rides.ride_complete)(ride=ride, actor=erik_user)
    assert ride.state == "completed"
    for socket in (rider_socket, erik_socket, maria_socket):
        await socket.disconnect()


async def test_the_whole_flow_through_the_http_api_with_every_step_live(rider, association):
    """The same way, every action a person takes through /api/v1/ (as the apps do) and
    every step they should see arriving on their sockets."""

    def setup():
        drivers = []
        for name, lon in [("Erik Olsson", 14.23), ("Maria Berg", 14.26)]:
            driver = DriverProfileFactory(
                membership__association=association,
                membership__user__full_name=name,
                home_base=Point(lon, 60.509, srid=4326),
            )
            AvailabilitySlotFactory(driver=driver, weekday=0, start=time(8), end=time(17))
            drivers.append(driver.membership.user)
        return drivers

    def client(user) -> APIClient:
        api = APIClient()
        api.force_authenticate(user)
        return api

    def call(user, method: str, path: str, body: dict | None = None):
        response = getattr(client(user), method)(f"/api/v1/{path}", body or {}, format="json")
        assert response.status_code in (200, 201, 204), (path, response.content)
        return response.json() if response.content else None

    erik, maria = await sync_to_async(setup)()
    rider_socket, erik_socket, maria_socket = [
        await socket_for(user) for user in (rider, erik, maria)
    ]
    pickup_at = next_weekday_at(0, 10)
    body = {
        "pickup": {
            "address": "Järnvägsgatan 4, Vansbro",
            "point": {"type": "Point", "coordinates": [VANSBRO.x, VANSBRO.y]},
        },
        "destination": {
            "address": "Vårdcentralen, Dala-Järna",
            "point": {"type": "Point", "coordinates": [DALA_JARNA.x, DALA_JARNA.y]},
        },
        "time": {"kind": "pickup_at", "at": pickup_at.isoformat()},
    }

    ride = await sync_to_async(call)(rider, "post", "rides/", body)
    assert (ride["state"], ride["view"]) == ("requested", "full")
    assert (await next_of(rider_socket, "ride.requested"))["payload"]["when"]
    # What the run_dispatch task queued on commit does (run here: with eager tasks the
    # wave's timeout would fire at once).
    await sync_to_async(offer_wave)(ride_id=ride["id"])
    offered = await next_of(erik_socket, "ride.offered")
    await next_of(maria_socket, "ride.offered")
    [listed] = (await sync_to_async(call)(erik, "get", "offers/"))["results"]
    assert listed["offer"] == offered["payload"]["offer"]
    assert "Järnvägsgatan" not in str(listed) + str(offered)

    held = await sync_to_async(call)(erik, "post", f"offers/{listed['offer']}/accept")
    assert (held["view"], held["pickup_address"]) == ("driver", "Järnvägsgatan 4, Vansbro")
    assert (await next_of(rider_socket, "ride.accepted"))["payload"]["driver"] == "Erik Olsson"
    withdrawn = await next_of(maria_socket, "offer.withdrawn")
    assert (withdrawn["ride"], withdrawn["reason"]) == (ride["id"], "taken")
    assert (await sync_to_async(call)(maria, "get", "offers/"))["results"] == []

    [mine] = (await sync_to_async(call)(erik, "get", "driver/rides?upcoming=true"))["results"]
    assert (mine["id"], mine["next_steps"][0]) == (ride["id"], "start")
    # The day of the ride has come.
    await sync_to_async(lambda: ride_due(RideRequest.objects.get(pk=ride["id"])))()
    await sync_to_async(call)(erik, "post", f"rides/{ride['id']}/start")
    assert (await next_of(rider_socket, "ride.en_route"))["payload"]["driver"] == "Erik Olsson"
    await sync_to_async(call)(erik, "post", "driver/duty", {"on_duty": True})
    point = {"type": "Point", "coordinates": [14.25, 60.51]}
    assert (await sync_to_async(call)(erik, "post", "driver/position", {"point": point})) == {
        "sent_to": 1
    }
    position = await next_of(rider_socket, "driver.position")
    assert (position["ride"], position["position"]) == (ride["id"], [14.25, 60.51])
    assert await maria_socket.receive_nothing(timeout=0.3)

    await sync_to_async(call)(erik, "post", f"rides/{ride['id']}/picked-up")
    done = await sync_to_async(call)(
        erik, "post", f"rides/{ride['id']}/complete", {"driven_m": 11_800}
    )
    assert (done["state"], done["view"]) == ("completed", "driver_past")
    seen = await sync_to_async(call)(rider, "get", f"rides/{ride['id']}")
    assert (seen["state"], seen["driven_m"], seen["driver"]["full_name"]) == (
        "completed",
        11_800,
        "Erik Olsson",
    )
    [logged] = (await sync_to_async(call)(erik, "get", "driver/logbook"))["results"]
    assert (logged["ride"], logged["km"]) == (ride["id"], 11.8)
    for socket in (rider_socket, erik_socket, maria_socket):
        await socket.disconnect()

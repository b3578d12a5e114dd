"""Shared things for the web page tests, on top of tests/webapp/conftest.py's world:
association A's car (members book at once) and Lars's trailer (he lends it; he is a
member of A)."""

import datetime

from django.utils import timezone

from backend.sharing.models import (
    ApprovalMode,
    Booking,
    ConditionPhoto,
    ProblemReport,
    Resource,
    ResourceKind,
)
from tests.factories import VANSBRO
from tests.sharing_fixtures import ResourceFactory
from tests.webapp.conftest import World, person


def add_sharing(world: World) -> World:
    owner = person("Lars Släp", "+46701740640", world.a)
    world.people["owner"] = owner
    world.car = ResourceFactory(
        association=world.a,
        kind=ResourceKind.CAR,
        category="car",
        title="Byabilen",
        description="Elbil med fem platser.",
        rules="Ladda till minst 50 %.",
        approval_mode=ApprovalMode.MEMBERS,
        seats=5,
        fuel="electric",
        odometer_km=12_000,
        key_location="Nyckelskåp vid affären, kod 1234",
        pickup_instructions="Parkeringen bakom ICA",
        price_per_hour_ore=3_000,
        price_per_km_ore=150,
        buffer_minutes=30,
        location=VANSBRO,
    )
    world.trailer = ResourceFactory(
        association=world.a,
        owner=owner,
        category="trailer",
        title="Lars släpvagn",
        pickup_instructions="Storgatan 12, vid garaget",
        location=VANSBRO,
    )
    return world


def tomorrow_at(hour: int, minute: int = 0) -> datetime.datetime:
    local = timezone.localtime() + datetime.timedelta(days=1)
    return local.replace(hour=hour, minute=minute, second=0, microsecond=0)


def local(moment: datetime.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def book_form(booker, start: datetime.datetime, hours: float = 2, **changes) -> dict:
    values = {
        "starts_at": local(start),
        "ends_at": local(start + datetime.timedelta(hours=hours)),
        "booker": booker.pk,
        "note": "",
    }
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None}


def sharing_snapshot() -> list[tuple]:
    """Everything a refused request must leave as it was."""
    bookings = Booking.objects.order_by("pk").values_list(
        "pk", "status", "booker_id", "starts_at", "ends_at", "odometer_out", "odometer_in"
    )
    resources = Resource.objects.order_by("pk").values_list("pk", "odometer_km", "out_of_service")
    return [
        *bookings,
        *resources,
        ("photos", ConditionPhoto.objects.count()),
        ("problems", ProblemReport.objects.count()),
    ]


def add_sharing_with_bookings(world: World) -> None:
    """The things of `add_sharing`, Anna's car booking tomorrow and Johan's trailer
    booking, for the every-page check."""
    from backend.sharing.services import booking_request

    add_sharing(world)
    start = tomorrow_at(10)
    booking_request(
        actor=world.people["rider"],
        resource=world.car,
        starts_at=start,
        ends_at=start + datetime.timedelta(hours=3),
    )
    booking_request(
        actor=world.people["other_resident"],
        resource=world.car,
        starts_at=start + datetime.timedelta(days=2),
        ends_at=start + datetime.timedelta(days=2, hours=4),
    )

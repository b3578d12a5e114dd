"""Demo data for shared cars, tools and rooms, on top of the community demo: the
association's electric car (members only, gated), the community hall (the coordinator
approves), a wood splitter, and Johan Persson's trailer; two bookings ahead. Safe to run
again."""

from datetime import datetime, time, timedelta

from django.contrib.gis.geos import Point
from django.db import transaction
from django.utils import timezone

from backend.community.models import Association, Membership, Role
from backend.sharing.models import ApprovalMode, Booking, Clearance, Resource, ResourceKind
from backend.sharing.services import booking_request

VANSBRO = Point(14.22458, 60.50893, srid=4326)
DALA_JARNA = Point(14.36667, 60.53333, srid=4326)

RESOURCES = [
    {
        "title": "Byabilen (Renault Zoe)",
        "kind": ResourceKind.CAR,
        "category": "car",
        "description": "Elbil med fem platser. Laddas vid affären.",
        "location": VANSBRO,
        "pickup_instructions": "Laddplatsen bakom ICA Nära, Vansbro",
        "rules": "Lämna bilen laddad till minst 50 %. Ingen rökning.",
        "deposit_ore": 0,
        "price_per_hour_ore": 3_000,
        "price_per_day_ore": 25_000,
        "price_per_km_ore": 150,
        "approval_mode": ApprovalMode.MEMBERS,
        "requires_clearance": True,
        "buffer_minutes": 30,
        "seats": 5,
        "fuel": "electric",
        "odometer_km": 23_410,
        "key_location": "Nyckelskåpet vid kassan, kod 4711",
    },
    {
        "title": "Bygdegården i Dala-Järna",
        "kind": ResourceKind.ROOM,
        "category": "hall",
        "description": "Stor sal för 60 personer, kök med diskmaskin.",
        "location": DALA_JARNA,
        "pickup_instructions": "Nyckel hos Karin, Storgatan 2",
        "rules": "Städa efter er. Tyst efter 23.",
        "deposit_ore": 50_000,
        "price_per_day_ore": 60_000,
        "approval_mode": ApprovalMode.OWNER,
        "min_minutes": 120,
        "max_minutes": 3 * 24 * 60,
        "buffer_minutes": 120,
    },
    {
        "title": "Vedklyv 8 ton",
        "kind": ResourceKind.TOOL,
        "category": "wood splitter",
        "description": "Elektrisk vedklyv, 8 ton.",
        "location": VANSBRO,
        "pickup_instructions": "Föreningens förråd, Järnvägsgatan 10",
        "price_per_day_ore": 10_000,
        "approval_mode": ApprovalMode.MEMBERS,
        "min_minutes": 240,
    },
]
TRAILER = {
    "title": "Släpvagn 750 kg",
    "kind": ResourceKind.TOOL,
    "category": "trailer",
    "description": "Öppet släp med kapell.",
    "location": Point(14.36, 60.531, srid=4326),
    "pickup_instructions": "Storgatan 12, vid garaget",
    "rules": "Kräver B-körkort och dragkrok.",
    "approval_mode": ApprovalMode.AUTOMATIC,
}


@transaction.atomic
def seed_sharing_demo(*, association: Association) -> None:
    memberships = {
        m.user.full_name: m
        for m in Membership.objects.filter(association=association).select_related("user")
    }
    coordinator = next(m.user for m in memberships.values() if Role.COORDINATOR in m.roles)
    for values in RESOURCES:
        Resource.objects.update_or_create(
            association=association, title=values["title"], defaults=values
        )
    lender = memberships["Johan Persson"].user
    Resource.objects.update_or_create(
        association=association, title=TRAILER["title"], defaults={**TRAILER, "owner": lender}
    )
    car = Resource.objects.get(association=association, title=RESOURCES[0]["title"])
    for name in ("Anna Eriksson", "Erik Olsson"):
        Clearance.objects.get_or_create(
            resource=car,
            user=memberships[name].user,
            defaults={"granted_by": coordinator, "note": "Körkort kontrollerat"},
        )
    if not Booking.objects.filter(resource__association=association).exists():
        day = timezone.localdate() + timedelta(days=2)
        start = timezone.make_aware(datetime.combine(day, time(10)))
        booking_request(
            actor=memberships["Anna Eriksson"].user,
            resource=car,
            starts_at=start,
            ends_at=start + timedelta(hours=3),
        )
        hall = Resource.objects.get(association=association, title=RESOURCES[1]["title"])
        booking_request(
            actor=memberships["Nils Gustafsson"].user,
            resource=hall,
            starts_at=start + timedelta(days=3),
            ends_at=start + timedelta(days=3, hours=6),
            note="Släktkalas",
        )

"""The demo villages: Vansbro municipality in Dalarna, with real coordinates.

Phone numbers are from the series Swedish regulator PTS keeps for fiction
(070-174 06 05 … 070-174 06 99): they reach no one.
"""

import functools
from dataclasses import dataclass

from django.contrib.auth.hashers import make_password
from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.db import transaction
from django.utils import timezone

from backend.accounts.models import User
from backend.community.models import (
    Association,
    Membership,
    MembershipState,
    Municipality,
    MunicipalityAnalyst,
    Role,
    Village,
)

DEMO_PASSWORD = "samby-demo"  # noqa: S105 - published demo logins

# Approximate outline of Vansbro municipality (kommunkod 2021), drawn around its
# villages; replace with Lantmäteriet's boundary for real use.
VANSBRO_OUTLINE = [
    (13.45, 60.62),
    (13.62, 60.90),
    (14.05, 61.02),
    (14.50, 60.88),
    (14.62, 60.62),
    (14.55, 60.38),
    (14.15, 60.28),
    (13.70, 60.33),
    (13.45, 60.62),
]

VILLAGES = {
    "Vansbro": (14.22458, 60.50893),
    "Dala-Järna": (14.36667, 60.53333),
    "Äppelbo": (14.00056, 60.49389),
}


@dataclass(frozen=True)
class DemoPerson:
    name: str
    phone: str
    village: str
    roles: tuple[str, ...] = ()
    managed: bool = False
    birth_year: int | None = None
    address: str = ""


PEOPLE = [
    DemoPerson("Karin Lindqvist", "+46701740605", "Vansbro", roles=("coordinator",)),
    DemoPerson("Erik Olsson", "+46701740610", "Vansbro", roles=("driver",)),
    DemoPerson("Maria Berg", "+46701740611", "Dala-Järna", roles=("driver",)),
    DemoPerson("Lars Nilsson", "+46701740612", "Äppelbo", roles=("driver",)),
    DemoPerson("Sofia Holm", "+46701740613", "Dala-Järna", roles=("driver",)),
    DemoPerson("Anna Eriksson", "+46701740620", "Vansbro", address="Järnvägsgatan 4, Vansbro"),
    DemoPerson("Johan Persson", "+46701740621", "Dala-Järna", address="Storgatan 12, Dala-Järna"),
    DemoPerson("Ingrid Svensson", "+46701740622", "Äppelbo", birth_year=1941),
    DemoPerson("Nils Gustafsson", "+46701740623", "Vansbro", birth_year=1958),
    DemoPerson(
        "Greta Andersson",
        "",
        "Äppelbo",
        managed=True,
        birth_year=1936,
        address="Äppelbo bygata 7, Äppelbo",
    ),
    DemoPerson(
        "Sven Jansson",
        "+46701740625",
        "Dala-Järna",
        managed=True,
        birth_year=1939,
        address="Kyrkvägen 3, Dala-Järna",
    ),
]
ANALYST = DemoPerson("Helena Ström", "+46701740690", "Vansbro")
RELATIVE_OF_GRETA = "Anna Eriksson"


@dataclass(frozen=True)
class DemoLogin:
    role: str
    name: str
    phone: str


@transaction.atomic
def seed_demo() -> list[DemoLogin]:
    """Create or update the demo data. Safe to run any number of times."""
    municipality, _ = Municipality.objects.update_or_create(
        code="2021",
        defaults={
            "name": "Vansbro",
            "boundary": MultiPolygon(Polygon(VANSBRO_OUTLINE), srid=4326),
        },
    )
    villages = {
        name: Village.objects.update_or_create(
            municipality=municipality,
            name=name,
            defaults={"location": Point(lon, lat, srid=4326)},
        )[0]
        for name, (lon, lat) in VILLAGES.items()
    }
    association, _ = Association.objects.update_or_create(
        municipality=municipality,
        name="Västerdalarnas byaskjuts",
        defaults={"phone": "+46701740605", "email": "skjuts@example.se"},
    )
    association.villages.set(villages.values())

    logins = []
    people = {}
    for person in PEOPLE:
        user = _person(person, villages[person.village])
        people[person.name] = user
        roles = [Role.MEMBER, *person.roles]
        Membership.objects.update_or_create(
            user=user,
            association=association,
            defaults={"roles": roles, "state": MembershipState.ACTIVE},
        )
        if not person.managed:
            role = person.roles[0] if person.roles else "resident"
            logins.append(DemoLogin(role, person.name, person.phone))

    greta = people["Greta Andersson"]
    greta.proxy_links.update_or_create(
        proxy=people[RELATIVE_OF_GRETA],
        defaults={
            "relationship": "dotter",
            "receives_sms_for_resident": True,
            "accepted_at": timezone.now(),
        },
    )

    analyst = _person(ANALYST, villages[ANALYST.village])
    MunicipalityAnalyst.objects.get_or_create(user=analyst, municipality=municipality)
    logins.append(DemoLogin("analyst", ANALYST.name, ANALYST.phone))
    return logins


@functools.cache
def _demo_password_hash() -> str:
    # Hashing is deliberately slow; one hash shared by every demo login keeps a re-run quick.
    return make_password(DEMO_PASSWORD)


def _person(person: DemoPerson, village: Village) -> User:
    # Managed profiles have no login, so they are found by name rather than phone.
    lookup = (
        {"full_name": person.name, "is_managed": True}
        if person.managed
        else {"phone": person.phone, "is_managed": False}
    )
    user = User.objects.filter(**lookup).first() or User(**lookup)
    user.full_name = person.name
    user.phone = person.phone
    user.home_address = person.address or f"{person.village}"
    user.home_location = village.location
    user.birth_year = person.birth_year
    if person.managed:
        user.set_unusable_password()
    else:
        user.password = _demo_password_hash()
        # The demo numbers stand for people whose numbers were confirmed long ago.
        user.phone_confirmed_at = user.phone_confirmed_at or user.date_joined
    user.save()
    return user

"""The people of the fault tests, made in the private database by a separate process:
`python -m tests.faults.world` with DATABASE_URL pointing at it. Prints them as JSON.

An association serving Vansbro, its coordinator, an approved rider and three drivers
free at any hour of any day (so a ride at any time the suite runs finds them), each
with an API token; the rider also with a signed-in session, for pages."""

import json
import os
from datetime import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
django.setup()

from django.contrib.gis.geos import Point  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

from backend.rides.models import RiderApproval  # noqa: E402
from tests.factories import (  # noqa: E402
    VANSBRO,
    AssociationFactory,
    AvailabilitySlotFactory,
    DriverProfileFactory,
    MembershipFactory,
    VillageFactory,
    coordinator_of,
)
from tests.perf.load_world import signed_in_session  # noqa: E402


def token(user) -> str:
    return Token.objects.get_or_create(user=user)[0].key


def main() -> None:
    association = AssociationFactory(name="Byaskjutsen")
    association.villages.add(
        VillageFactory(name="Vansbro", municipality=association.municipality, location=VANSBRO)
    )
    coordinator = coordinator_of(association)
    rider = MembershipFactory(association=association, user__full_name="Ingrid Svensson")
    RiderApproval.objects.create(membership=rider, approved_by=coordinator)
    drivers = []
    for n, lon in enumerate([14.23, 14.26, 14.30]):
        driver = DriverProfileFactory(
            membership__association=association,
            membership__user__full_name=f"Förare {n + 1}",
            home_base=Point(lon, 60.50893, srid=4326),
            service_radius_m=30_000,
        )
        for weekday in range(7):
            AvailabilitySlotFactory(driver=driver, weekday=weekday, start=time(0), end=time(23, 59))
        user = driver.membership.user
        drivers.append({"id": user.pk, "token": token(user), "profile": driver.pk})
    print(
        json.dumps(
            {
                "association": association.pk,
                "coordinator": {"id": coordinator.pk, "token": token(coordinator)},
                "rider": {
                    "id": rider.user_id,
                    "token": token(rider.user),
                    "session": signed_in_session(rider.user),
                },
                "drivers": drivers,
            }
        )
    )


if __name__ == "__main__":
    main()

"""Demo history for the statistics dashboard: a year of past volunteer rides in the
Vansbro demo, so that the analyst (Helena Ström) sees figures, charts and the map.

Thirty residents without the app (managed profiles, as a coordinator books for them),
ten per village, approved as riders, with about 360 rides over the last twelve months
in every closed state; then the summary is rebuilt. Seeded, and safe to run again."""

import random
from datetime import timedelta

from django.db import transaction
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.utils import timezone

from backend.accounts.models import User
from backend.community.models import Association, Membership, MembershipState, Role
from backend.rides.models import DriverProfile, RideEvent, RiderApproval, RideRequest, RideState
from backend.stats.refresh import stats_refresh

MARKER = "Statistikdemo"  # in the names of the demo history's people
FIRST_NAMES = ["Astrid", "Bertil", "Dagny", "Gunnar", "Hjördis", "Ivar", "Margit", "Olle"]
OUTCOMES = [RideState.COMPLETED] * 14 + [RideState.UNFULFILLED] * 2 + [RideState.CANCELLED] * 3
OUTCOMES += [RideState.NO_SHOW]


@transaction.atomic
def seed_stats_demo(*, association: Association) -> None:
    rng = random.Random(2021)  # noqa: S311 - demo data, not security
    drivers = list(DriverProfile.objects.filter(membership__association=association))
    coordinator = (
        Membership.objects.filter(association=association, roles__contains=[Role.COORDINATOR])
        .select_related("user")
        .first()
    )
    if not drivers or coordinator is None:
        return
    if not User.objects.filter(full_name__contains=MARKER).exists():
        _add_history(association, drivers, coordinator.user, rng)
    stats_refresh(full=True)


def _add_history(association, drivers, coordinator, rng: random.Random) -> None:
    now = timezone.now()
    villages = list(association.villages.all())
    riders = []
    for n in range(30):
        village = villages[n % len(villages)]
        person = User.objects.create(
            full_name=f"{FIRST_NAMES[n % len(FIRST_NAMES)]} ({MARKER} {n + 1})",
            is_managed=True,
            password="!demo",  # noqa: S106 - the unusable-password marker
            birth_year=rng.choice([1931, 1938, 1944, 1949, 1953, 1958, 1966, 1975]),
            home_location=village.location,
        )
        membership = Membership.objects.create(
            user=person, association=association, roles=[Role.MEMBER],
            state=MembershipState.ACTIVE,
        )  # fmt: skip
        RiderApproval.objects.create(membership=membership, approved_by=coordinator)
        riders.append((person, village))
    for _ in range(360):
        person, village = rng.choice(riders)
        day = now - timedelta(days=rng.randint(3, 365))
        at = day.replace(hour=rng.choice([9, 10, 11, 13, 14]), minute=0, second=0, microsecond=0)
        state = rng.choice(OUTCOMES)
        created = at - timedelta(days=rng.randint(1, 5))
        distance = rng.randint(3_000, 40_000)
        driver = rng.choice(drivers) if state in {RideState.COMPLETED, RideState.NO_SHOW} else None
        accepted = created + timedelta(minutes=rng.randint(2, 300)) if driver else None
        ride = RideRequest.objects.create(
            rider=person, requested_by=coordinator, association=association, village=village,
            pickup=village.location, destination=rng.choice(drivers).home_base,
            time_kind="pickup_at", earliest_pickup=at, latest_pickup=at,
            passengers=1 + (rng.random() < 0.15), distance_m=distance, duration_s=distance // 12,
            state=state, driver=driver, planned_pickup=at if driver else None,
            busy=DateTimeTZRange(at, at + timedelta(seconds=distance // 12 + 300))
            if state == RideState.COMPLETED else None,
            created_at=created, accepted_at=accepted, closed_at=at + timedelta(minutes=45),
            driven_m=distance + rng.randint(0, 4_000) if state == RideState.COMPLETED else None,
        )  # fmt: skip
        events = [RideEvent(ride=ride, to_state=RideState.REQUESTED, at=created)]
        if accepted:
            events.append(RideEvent(ride=ride, to_state=RideState.ACCEPTED, at=accepted))
        events.append(RideEvent(ride=ride, to_state=state, at=ride.closed_at))
        RideEvent.objects.bulk_create(events)

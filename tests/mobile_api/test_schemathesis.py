"""Every operation of the published OpenAPI schema, fuzzed by Schemathesis, as every kind
of person: no answer is a server error, and every answer is what the schema says (status
code, content type and body).

The app runs in-process over WSGI against the test database, which holds a small world
(an association with residents, a proxy, drivers, a coordinator, rides, shuttle runs,
carpool trips, shared things and their bookings). Path ids are drawn mostly from the ids
of real objects, so the fuzzer reaches past the 404s into the views' real work.

Stateless: each case is one request, and what it changed is rolled back before the next,
so every case meets the same world.

The number of generated cases per operation and person is SAMBY_FUZZ_EXAMPLES (default 15:
about 14,000 requests, a few minutes on a quiet 2-core machine); a nightly run sets it
higher, e.g. `SAMBY_FUZZ_EXAMPLES=60 python -m pytest tests/mobile_api/test_schemathesis.py`,
and SAMBY_FUZZ_SEED to explore other cases than the fixed ones of the normal run.
"""

from __future__ import annotations

import datetime
import os
from collections import Counter
from dataclasses import dataclass, field

import pytest
import schemathesis
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from backend.accounts.models import User
from backend.carpool.models import Booking as CarpoolBooking
from backend.carpool.models import SavedSearch, Trip, TripOccurrence
from backend.community.models import Association, Membership, Municipality, MunicipalityAnalyst
from backend.rides.models import (
    AssignmentPlan,
    MileageClaim,
    Offer,
    RiderApproval,
    RideRequest,
    RideState,
)
from backend.rides.services import busy_range
from backend.sharing.models import (
    ApprovalMode,
    BookingStatus,
    CalendarFeed,
    Resource,
    ResourceKind,
    ResourcePhoto,
)
from backend.sharing.models import Booking as SharingBooking
from backend.shuttle.models import RunOccurrence, RunOffer, RunSignup, RunVehicle, StandingSignup
from backend.shuttle.services import signup_create
from dispatch import carpool
from tests.carpool_fixtures import EAST, WEST
from tests.factories import RideRequestFactory, UserFactory, next_weekday_at
from tests.fakes.geocoder import FakeNominatim
from tests.mobile_api.test_carpool_api import booking_body
from tests.sharing_fixtures import BookingFactory, ResourceFactory
from tests.shuttle_world import make_world

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

EXAMPLES = int(os.environ.get("SAMBY_FUZZ_EXAMPLES", "15"))
SEED = int(os.environ.get("SAMBY_FUZZ_SEED", "0"))
# In-process, never over the network: a case that reached a server on this machine would
# test that server, not this checkout.
APP = WSGIHandler()
# Valid requests, and requests that break the schema on purpose (must be a 4xx).
MODES = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
ROLES = ["anonymous", "resident", "proxy", "driver", "coordinator", "analyst", "staff"]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

# Operations that are not fuzzed, and why. None at present: the SMS provider's inbound
# webhook (/api/v1/sms/inbound/<provider>, signed by the provider) is left out of the
# schema itself, and the calendar feeds (text/calendar) and CSV tables are fuzzed like
# the rest.
EXCLUDED: dict[str, str] = {}

# Which objects a path's ids name: the first matching prefix wins.
ID_SOURCES: list[tuple[str, str, object]] = [
    ("/api/v1/associations/{id}", "id", Association),
    ("/api/v1/memberships/{id}", "id", Membership),
    ("/api/v1/rides/{id}", "id", RideRequest),
    ("/api/v1/offers/{id}", "id", Offer),
    ("/api/v1/plans/{id}", "id", AssignmentPlan),
    ("/api/v1/mileage-claims/{id}", "id", MileageClaim),
    ("/api/v1/carpool/bookings/{id}", "id", CarpoolBooking),
    ("/api/v1/carpool/departures/{id}", "id", TripOccurrence),
    ("/api/v1/carpool/saved-searches/{id}", "id", SavedSearch),
    ("/api/v1/carpool/trips/{id}", "id", Trip),
    ("/api/v1/gbfs/v3/{association_id}", "association_id", Association),
    ("/api/v1/proxy-links/{resident_id}", "resident_id", User),
    ("/api/v1/proxy-links/{resident_id}/{proxy_id}", "proxy_id", User),
    ("/api/v1/sharing/bookings/{id}", "id", SharingBooking),
    ("/api/v1/sharing/photos/{id}", "id", ResourcePhoto),
    ("/api/v1/sharing/resources/{id}", "id", Resource),
    ("/api/v1/sharing/feeds/{token}", "token", CalendarFeed),
    ("/api/v1/shuttle/associations/{id}", "id", Association),
    ("/api/v1/shuttle/offers/{id}", "id", RunOffer),
    ("/api/v1/shuttle/runs/{id}", "id", RunOccurrence),
    ("/api/v1/shuttle/signups/{id}", "id", RunSignup),
    ("/api/v1/shuttle/standing/{id}", "id", StandingSignup),
    ("/api/v1/shuttle/vehicles/{id}", "id", RunVehicle),
    ("/api/v1/stats/municipalities/{id}", "id", Municipality),
]


@dataclass
class Tally:
    """Cases run and failures found, per person; printed at the end of the session."""

    cases: Counter = field(default_factory=Counter)
    statuses: dict[str, Counter] = field(default_factory=dict)
    failures: dict[str, list[str]] = field(default_factory=dict)

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if not self.cases:
            return
        terminalreporter.section("schemathesis")
        for role in ROLES:
            if role not in self.cases:
                continue
            statuses = ", ".join(f"{code}: {n}" for code, n in sorted(self.statuses[role].items()))
            terminalreporter.write_line(
                f"{role:12} {self.cases[role]:6} cases, "
                f"{len(self.failures.get(role, []))} failures ({statuses})"
            )
        terminalreporter.write_line(f"{'total':12} {sum(self.cases.values()):6} cases")


@pytest.fixture(scope="session")
def tally(pytestconfig) -> Tally:
    tally = Tally()
    pytestconfig.pluginmanager.register(tally, "samby-schemathesis-tally")
    return tally


@pytest.fixture(scope="module")
def schema():
    """The schema as /api/schema/ publishes it, generated in-process."""
    document = SchemaGenerator().get_schema(request=None, public=True)
    # Through JSON: the generator's dict holds lazy translation strings.
    import json

    from rest_framework.utils.encoders import JSONEncoder

    document = json.loads(json.dumps(document, cls=JSONEncoder))
    return schemathesis.openapi.from_dict(document)


@pytest.fixture
def wsgi_in_test_transaction():
    """Requests through the WSGI handler run inside the test's transaction. The handler
    closes "old" connections at the start and end of each request, which would close the
    test's: Django's test client disconnects the same two receivers."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def geocoder(settings):
    """Addresses are looked up in the fake geocoder on loopback, which knows none: never
    the real one."""
    with FakeNominatim() as fake:
        settings.GEOCODER_URL = fake.url
        yield fake


@pytest.fixture
def people(settings, geocoder) -> dict[str, User]:
    """The shuttle world, plus rides, carpool, shared things; one person per role."""
    settings.ROUTER_URL = ""
    world = make_world()
    association = world.association
    resident = world.residents[0]
    RiderApproval.objects.create(
        membership=Membership.objects.get(user=resident, association=association)
    )
    driver = world.drivers[0]
    analyst = UserFactory(full_name="Per Ek")
    MunicipalityAnalyst.objects.create(user=analyst, municipality=association.municipality)
    staff = UserFactory(full_name="Sam Admin", is_staff=True, is_superuser=True)

    # Volunteer rides: one offered to the driver, one the driver holds.
    open_ride = RideRequestFactory(rider=resident, association=association)
    Offer.objects.create(
        ride=open_ride,
        driver=driver,
        wave=1,
        rank=1,
        distance_m=1_500,
        pickup_at=open_ride.earliest_pickup,
    )
    held = RideRequestFactory(
        rider=world.managed,
        requested_by=world.daughter,
        association=association,
        earliest_pickup=next_weekday_at(1, 10),
    )
    held.state, held.driver, held.planned_pickup = RideState.ACCEPTED, driver, held.earliest_pickup
    held.busy = busy_range(held, held.earliest_pickup)
    held.save()
    done = RideRequestFactory(
        rider=resident, association=association, earliest_pickup=next_weekday_at(3, 10)
    )
    done.state, done.driver, done.planned_pickup = RideState.COMPLETED, driver, done.earliest_pickup
    done.busy = busy_range(done, done.earliest_pickup)
    done.save()
    # Kilometres beyond what the completed ride can take, waiting for the coordinator.
    MileageClaim.objects.create(
        ride=done,
        claimed_m=done.distance_m + 20_000,
        allowed_m=done.distance_m,
        explanation="Omväg.",
    )

    # Shuttle: the resident and the managed profile signed up for the first run.
    occurrence = world.occurrence
    signup_create(actor=resident, occurrence=occurrence, passenger=resident)
    signup_create(actor=world.daughter, occurrence=occurrence, passenger=world.managed)

    # Carpool: a trip by the driver, a booking and a saved search by the resident.
    trip = carpool.trip_publish(
        driver=world.driver_user(),
        origin=WEST,
        origin_address="Storgatan 1, Väst",
        destination=EAST,
        destination_address="Torget 2, Öst",
        first_departure=next_weekday_at(0, 7, 0),
        seats=3,
    )
    client = APIClient()
    client.force_authenticate(resident)
    response = client.post("/api/v1/carpool/bookings/", booking_body(trip.occurrences.first()))
    assert response.status_code == 201, response.content

    # Shared things: the association's trailer and the resident's booking of it.
    trailer = ResourceFactory(association=association, owner=world.coordinator)
    BookingFactory(resource=trailer, booker=resident)
    hall = ResourceFactory(
        association=association,
        kind=ResourceKind.ROOM,
        category="hall",
        approval_mode=ApprovalMode.OWNER,
        owner=world.coordinator,
    )
    BookingFactory(
        resource=hall,
        booker=world.managed,
        booked_by=world.daughter,
        status=BookingStatus.REQUESTED,
    )
    BookingFactory(
        resource=trailer,
        booker=resident,
        starts_at=timezone.now() - datetime.timedelta(hours=1),
        ends_at=timezone.now() + datetime.timedelta(hours=1),
        status=BookingStatus.CHECKED_OUT,
    )
    CalendarFeed.objects.create(user=resident)
    CalendarFeed.objects.create(resource=trailer)

    return {
        "resident": resident,
        "proxy": world.daughter,
        "driver": world.driver_user(),
        "coordinator": world.coordinator,
        "analyst": analyst,
        "staff": staff,
    }


def id_pools() -> dict[tuple[str, str], list]:
    pools = {}
    for prefix, name, model in ID_SOURCES:
        column = "token" if model is CalendarFeed else "pk"
        pools[(prefix, name)] = list(model.objects.values_list(column, flat=True)[:20])
    return pools


def real_path_parameters(path: str, pools: dict) -> dict[str, list]:
    """For each path parameter, the real values it may take (none: only generated)."""
    found: dict[str, list] = {}
    for (prefix, name), values in pools.items():
        if values and name not in found and path.startswith(prefix):
            found[name] = values
    return found


def fuzz_operation(operation, role: str, headers: dict, pools: dict, tally: Tally) -> None:
    real = real_path_parameters(operation.path, pools)

    @seed(SEED)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=SEED == 0,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def run(data) -> None:
        mode = data.draw(st.sampled_from(MODES), label="mode")
        fixed = {
            name: data.draw(st.sampled_from(values), label=name)
            for name, values in real.items()
            if data.draw(st.integers(0, 4), label=f"real {name}") < 4
        }
        strategy = operation.as_strategy(generation_mode=mode, path_parameters=fixed or None)
        case = data.draw(strategy, label="case")
        # The person is the role's, not one the generator made up from the security
        # schemes (a random token or session cookie).
        case.headers = {
            name: value
            for name, value in (case.headers or {}).items()
            if name.lower() not in {"authorization", "cookie"}
        } | headers
        case.cookies = {}
        # Throttles count in the cache: a burst of fuzz cases is not an attack.
        cache.clear()
        # Each case sees the same world: undone after the answer (a logout would delete
        # the token the next cases use, a role change would leave a coordinator without).
        with transaction.atomic():
            response = case.call(app=APP)
            transaction.set_rollback(True)
        tally.cases[role] += 1
        tally.statuses.setdefault(role, Counter())[response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except FailureGroup as group:
            for failure in group.exceptions:
                tally.failures.setdefault(role, []).append(
                    f"{operation.label} [{mode.value}] {response.status_code}: "
                    f"{failure.title}\n    {case.as_curl_command()[:1500]}\n"
                    f"    {str(failure.message)[:600]}\n    body: {response.text[:400]}"
                )

    run()


@pytest.mark.parametrize("role", ROLES)
def test_every_operation_as(role, schema, people, tally, wsgi_in_test_transaction):
    headers = {}
    if role != "anonymous":
        token, _ = Token.objects.get_or_create(user=people[role])
        headers = {"Authorization": f"Token {token.key}"}
    pools = id_pools()
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 100

    for operation in operations:
        if operation.label in EXCLUDED:
            continue
        fuzz_operation(operation, role, headers, pools, tally)

    failures = list(dict.fromkeys(tally.failures.get(role, [])))
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures)
    statuses = tally.statuses[role]
    # The world and the token work: people get past the door and reach real objects.
    if role != "anonymous":
        assert sum(n for code, n in statuses.items() if 200 <= code < 300) > 50, statuses

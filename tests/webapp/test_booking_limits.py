"""Bookings are limited per person (THROTTLE_BOOKING), on one counter for the API and the
web pages and for every kind of booking: a ride, a carpool seat, a shared thing, a
shop-run seat. What counts is what was booked: a request refused for bad input (400), a
conflict (409) or a thing that is not there (404) costs nothing, so typos and an app's
retries lock nobody out. A request over the limit is not handled at all. Reading (GET) is
not counted."""

import datetime as dt
from dataclasses import dataclass

import pytest
import rest_framework.throttling  # noqa: F401 - binds DRF's rates before a test changes them
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from backend.accounts.models import User
from backend.carpool.models import Booking as CarpoolBooking
from backend.carpool.models import TripOccurrence
from backend.community.models import Membership
from backend.rides.models import RiderApproval, RideRequest
from backend.sharing.models import Booking as SharingBooking
from backend.sharing.models import Resource
from backend.shuttle.models import RunSignup
from dispatch import carpool
from tests.carpool_fixtures import EAST, WEST, along
from tests.factories import DALA_JARNA, VANSBRO, next_weekday_at
from tests.sharing_fixtures import ResourceFactory
from tests.shuttle_world import World, make_world

pytestmark = pytest.mark.django_db

KINDS = ["ride", "carpool", "sharing", "shop_run"]
MISSING = 999_999


@pytest.fixture
def booking_rate(settings):
    def set_rate(rate: str) -> None:
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {
                **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
                "booking": rate,
            },
        }

    return set_rate


def point(p) -> dict:
    return {"type": "Point", "coordinates": [p.x, p.y]}


def local(moment: dt.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


@dataclass
class Booker:
    """A resident of the shop-run world who may book every kind: an approved rider, a
    member whose association's driver offers a carpool departure and lends a trailer."""

    person: User
    departure: TripOccurrence
    trailer: Resource
    run: int
    api: APIClient
    web: Client

    def url(self, kind: str, channel: str) -> str:
        return {
            ("ride", "api"): "/api/v1/rides/",
            ("carpool", "api"): "/api/v1/carpool/bookings/",
            ("sharing", "api"): f"/api/v1/sharing/resources/{self.trailer.pk}/bookings",
            ("shop_run", "api"): f"/api/v1/shuttle/runs/{self.run}/signups",
            ("ride", "web"): "/rides/new",
            ("carpool", "web"): "/carpool/book",
            ("sharing", "web"): f"/sharing/{self.trailer.pk}/book",
            ("shop_run", "web"): f"/shop-runs/{self.run}/sign-up",
        }[kind, channel]

    def book(self, kind: str, channel: str, *, day: int = 0) -> int:
        """A booking that goes through (its status), `day` days after the first one."""
        if channel == "api":
            body = self._api_body(kind, day)
            return self.api.post(self.url(kind, "api"), body, format="json").status_code
        return self.web.post(self.url(kind, "web"), self._form(kind, day)).status_code

    def bad(self, kind: str, channel: str) -> int:
        """A request refused for its input: a form left empty, or (a shop run, where an
        empty form signs oneself up) a passenger that is nobody."""
        data = {"passenger": "nobody"} if kind == "shop_run" else {}
        if channel == "api":
            return self.api.post(self.url(kind, "api"), data, format="json").status_code
        return self.web.post(self.url(kind, "web"), data).status_code

    def _api_body(self, kind: str, day: int) -> dict:
        start = next_weekday_at(0, 10) + dt.timedelta(days=day)
        return {
            "ride": {
                "pickup": {"address": "Järnvägsgatan 4, Vansbro", "point": point(VANSBRO)},
                "destination": {"address": "Vårdcentralen, Dala-Järna", "point": point(DALA_JARNA)},
                "time": {"kind": "pickup_at", "at": start.isoformat()},
            },
            "carpool": {
                "departure": self.departure.pk,
                "pickup": point(along(0.1, 300)),
                "pickup_address": "Byvägen 3, Mellanby",
                "dropoff": point(along(0.9)),
                "dropoff_address": "Skolan, Öst",
            },
            "sharing": {
                "starts_at": start.isoformat(),
                "ends_at": (start + dt.timedelta(hours=2)).isoformat(),
            },
            "shop_run": {},
        }[kind]

    def _form(self, kind: str, day: int) -> dict:
        start = next_weekday_at(0, 10) + dt.timedelta(days=day)
        return {
            "ride": {
                "rider": self.person.pk,
                "pickup_address": "Järnvägsgatan 4, Vansbro",
                "pickup_lon": f"{VANSBRO.x}",
                "pickup_lat": f"{VANSBRO.y}",
                "destination_address": "Vårdcentralen, Dala-Järna",
                "destination_lon": f"{DALA_JARNA.x}",
                "destination_lat": f"{DALA_JARNA.y}",
                "time_kind": "pickup_at",
                "at": local(start),
                "passengers": "1",
            },
            "carpool": {
                "departure": self.departure.pk,
                "pickup_address": "Byvägen 3",
                "pickup_lon": f"{along(0.2).x}",
                "pickup_lat": f"{along(0.2).y}",
                "dropoff_address": "Skolgatan 9",
                "dropoff_lon": f"{along(0.8).x}",
                "dropoff_lat": f"{along(0.8).y}",
                "seats": "1",
                "passenger": self.person.pk,
            },
            "sharing": {
                "starts_at": local(start),
                "ends_at": local(start + dt.timedelta(hours=2)),
                "booker": self.person.pk,
                "note": "",
            },
            "shop_run": {"passenger": self.person.pk},
        }[kind]


def booker_in(shop: World, person: User) -> Booker:
    person.preferred_language = "en"
    person.save(update_fields=["preferred_language"])
    RiderApproval.objects.create(
        membership=Membership.objects.get(user=person, association=shop.association)
    )
    trip = carpool.trip_publish(
        driver=shop.driver_user(0),
        origin=WEST,
        origin_address="Storgatan 1, Väst",
        destination=EAST,
        destination_address="Torget 2, Öst",
        first_departure=next_weekday_at(0, 7, 0),
        seats=3,
    )
    trailer = ResourceFactory(association=shop.association, owner=shop.driver_user(1))
    api = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    api.force_authenticate(person)
    web = Client(HTTP_ACCEPT_LANGUAGE="en")
    web.force_login(person)
    web.cookies["django_language"] = "en"
    return Booker(
        person=person,
        departure=trip.occurrences.get(),
        trailer=trailer,
        run=shop.occurrence.pk,
        api=api,
        web=web,
    )


@pytest.fixture
def shop(settings) -> World:
    settings.ROUTER_URL = ""
    settings.GEOCODER_URL = ""
    return make_world()


@pytest.fixture
def booker(shop) -> Booker:
    return booker_in(shop, shop.residents[0])


def booked() -> dict[str, int]:
    return {
        "ride": RideRequest.objects.count(),
        "carpool": CarpoolBooking.objects.count(),
        "sharing": SharingBooking.objects.count(),
        "shop_run": RunSignup.objects.count(),
    }


def test_thirty_requests_that_book_nothing_lock_nobody_out(booking_rate, booker):
    booking_rate("30/hour")
    assert booker.book("sharing", "api") == 201
    bad = [
        booker.bad(kind, channel) for kind in KINDS for channel in ("api", "web") for _ in range(3)
    ]
    # The same period of the trailer again: taken (409), six times.
    bad += [booker.book("sharing", "api") for _ in range(6)]
    assert len(bad) == 30
    assert 429 not in bad
    assert set(bad) <= {302, 400, 409}  # the carpool page sends back to the search
    before = booked()

    assert booker.book("ride", "api") == 201
    assert booker.book("carpool", "web") == 302
    assert booker.book("sharing", "web", day=1) == 302
    assert booker.book("shop_run", "api") == 201
    assert booked() == {kind: count + 1 for kind, count in before.items()}


def test_alternating_api_and_web_bookings_of_every_kind_share_one_limit(booking_rate, shop, booker):
    booking_rate("4/hour")
    assert [
        booker.book("ride", "api"),
        booker.book("carpool", "web"),
        booker.book("sharing", "api"),
        booker.book("shop_run", "web"),
    ] == [201, 302, 201, 302]
    before = booked()

    for kind in KINDS:
        refused = booker.api.post(booker.url(kind, "api"), {}, format="json")
        assert refused.status_code == 429, kind
        assert refused.json()["error"]["code"] == "throttled"
        assert int(refused.headers["Retry-After"]) > 0
    for kind in KINDS:
        page = booker.web.post(booker.url(kind, "web"), booker._form(kind, 1))
        assert page.status_code == 429, kind
        assert int(page.headers["Retry-After"]) > 0
        assert "You have made many bookings in a short time." in page.content.decode()
    assert booked() == before

    # Reading goes on; someone else books as before.
    assert booker.api.get("/api/v1/rides/").status_code == 200
    assert booker.web.get("/rides/new").status_code == 200
    other = booker_in(shop, shop.residents[1])
    assert other.book("sharing", "api", day=1) == 201
    assert other.book("shop_run", "web") == 302


@pytest.mark.parametrize("channel", ["api", "web"])
@pytest.mark.parametrize("kind", KINDS)
def test_a_booking_of_each_kind_counts_and_bad_requests_do_not(booking_rate, booker, kind, channel):
    booking_rate("1/hour")
    assert [booker.bad(kind, channel) for _ in range(3)].count(429) == 0
    assert booker.book(kind, channel) in (201, 302)
    before = booked()

    assert booker.book("sharing", "api", day=2) == 429
    assert booker.book("sharing", "web", day=2) == 429
    assert booked() == before


@pytest.mark.parametrize("channel", ["api", "web"])
def test_a_thing_that_is_not_there_costs_nothing(booking_rate, booker, channel):
    booking_rate("1/hour")
    for _ in range(3):
        if channel == "api":
            missing = booker.api.post(
                f"/api/v1/sharing/resources/{MISSING}/bookings", {}, format="json"
            )
        else:
            missing = booker.web.post(f"/sharing/{MISSING}/book", {})
        assert missing.status_code == 404
    assert booker.book("sharing", channel) in (201, 302)


@pytest.mark.parametrize(
    ("language", "sentence"),
    [
        (
            "sv",
            "Du har gjort många bokningar på kort tid. Vänta {} minuter och försök igen, "
            "eller ring din förening.",
        ),
        (
            "en",
            "You have made many bookings in a short time. Wait {} minutes and try again, "
            "or call your association.",
        ),
    ],
    ids=["sv", "en"],
)
def test_the_api_says_in_the_language_asked_how_many_minutes_to_wait(
    booking_rate, booker, rate_limits_clock, language, sentence
):
    booking_rate("1/hour")
    rate_limits_clock.now += 10 * 60
    assert booker.book("sharing", "api") == 201

    refused = booker.api.post(
        booker.url("ride", "api"), {}, format="json", HTTP_ACCEPT_LANGUAGE=language
    )

    # The hour's window is full: the wait runs to the end of the next one (50 + 60 minutes).
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == str(110 * 60)
    assert refused.json()["error"] == {
        "code": "throttled",
        "message": sentence.format(110),
        "fields": {},
    }
    # The web page words it the same.
    booker.web.cookies["django_language"] = language
    page = booker.web.post(booker.url("ride", "web"), {}, HTTP_ACCEPT_LANGUAGE=language)
    assert page.status_code == 429
    assert sentence.format(110) in " ".join(page.content.decode().split())


@pytest.fixture
def redis_down(settings):
    """The cache (the limits' counters) pointed at a port where nothing listens."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }


def test_bookings_go_through_uncounted_while_redis_is_down(
    booking_rate, booker, redis_down, caplog
):
    booking_rate("1/hour")
    assert booker.book("sharing", "api") == 201
    assert booker.book("sharing", "web", day=1) == 302
    assert booker.book("shop_run", "api") == 201
    assert booker.bad("ride", "web") == 400
    assert "bookings not counted: Redis unreachable" in caplog.text

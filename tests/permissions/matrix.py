"""The permission matrix's rows: one per endpoint (URL name and method), each saying
which object of the world it is called on, with what body, and what every role gets.

Outcomes: an HTTP status, or LOGIN (a redirect to the sign-in page). The API answers a
request without credentials with 403 `not_authenticated` (session authentication comes
first, so there is no WWW-Authenticate challenge and DRF does not use 401)."""

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from backend.accounts.email_confirmation import email_link_token
from dispatch.routing import websocket_urlpatterns
from tests.factories import PASSWORD, STOCKHOLM
from tests.permissions import world as w
from tests.permissions.world import ROLES, World

LOGIN = "login"
# A redirect after a form that wrote nothing: refused with a message on the next page, or
# nothing to do (a form answer is never a 4xx page when the page it came from says why).
UNCHANGED = "302, nothing written"

# Who may read what (any other role must not find it in a page or response it may read).
OWN_SIDE = {"resident", "proxy", "coordinator"}
SECRETS = {
    "pickup address": (w.PICKUP_ADDRESS, OWN_SIDE | {"driver_assigned"}),
    "door code": (w.DOOR_CODE, OWN_SIDE | {"driver_assigned"}),
    "phone": (w.RESIDENT_PHONE, OWN_SIDE | {"driver_assigned"}),
    "home address": ("Annas väg 1", OWN_SIDE | {"driver_assigned"}),
    "key box": (w.KEY_CODE, OWN_SIDE),
    "name": (w.RESIDENT_NAME, OWN_SIDE | {"driver_assigned"}),
    "other driver's name": ("Olle Berg", {"driver_other", "coordinator"}),
    "neighbour's name": ("Johan Persson", {"other_resident", "coordinator"}),
    "other association's driver": (w.ELSEWHERE_DRIVER, {"coordinator_other"}),
    # Why the assigned driver drove further: his own words (in his export), for his
    # association's coordinators to decide on.
    "mileage claim's explanation": (w.CLAIM_EXPLANATION, {"coordinator", "driver_assigned"}),
}


@dataclass(frozen=True)
class Row:
    name: str
    method: str
    expect: dict[str, Any]
    kwargs: Callable[[World], dict] = lambda world: {}
    body: Any = None
    query: str | Callable[[World], str] = ""
    label: str = ""  # tells apart rows of one endpoint called another way
    # Whose details the response may show when it is not the caller's (signing in).
    acts_as: str = ""

    @property
    def kind(self) -> str:
        return (
            "api"
            if not self.name.startswith(("webapp:", "admin:"))
            and self.name
            not in {
                "healthz",
                "api-schema",
                "api-docs",
                "set_language",
            }
            else "web"
        )

    def url(self, world: World) -> str:
        query = self.query(world) if callable(self.query) else self.query
        return reverse(self.name, kwargs=self.kwargs(world)) + (f"?{query}" if query else "")


def row_id(row: Row) -> str:
    return f"{row.name}.{row.method}" + (f".{row.label}" if row.label else "")


# --- Walking the URL conf -----------------------------------------------------------------

# Function views without a method decorator: the methods they serve.
UNDECORATED = {"healthz": {"GET"}, "set_language": {"POST"}}


def _declared_methods(callback) -> set[str] | None:
    """The methods of a DRF view, or of a function view decorated with Django's
    require_http_methods (and require_GET/POST/safe), read from the decorator's closure."""
    view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if view_class is not None:
        return {
            m.upper() for m in ("get", "post", "put", "patch", "delete") if hasattr(view_class, m)
        }
    function = callback
    while function is not None:
        for cell in function.__closure__ or ():
            value = cell.cell_contents
            if (
                isinstance(value, list)
                and value
                and all(isinstance(m, str) and m.isupper() for m in value)
            ):
                return set(value) - {"HEAD", "OPTIONS"}
        function = getattr(function, "__wrapped__", None)
    return None


def _walk(resolver: URLResolver, namespace: str = ""):
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _walk(pattern, inner)
        elif isinstance(pattern, URLPattern):
            yield f"{namespace}{pattern.name}", pattern.callback, pattern


def enumerate_endpoints() -> set[tuple[str, str]]:
    """Every (URL name, method) served. Django's admin is one row: its own staff check
    guards every admin page."""
    endpoints = set()
    for name, callback, _pattern in _walk(get_resolver()):
        if name.startswith("admin:") and name != "admin:index":
            continue
        methods = UNDECORATED.get(name) or _declared_methods(callback)
        if name == "admin:index":
            methods = {"GET"}
        assert methods, f"cannot tell the methods of {name}: decorate it or add it to UNDECORATED"
        endpoints |= {(name, method) for method in methods}
    return endpoints


# --- Websocket routes (dispatch/routing.py) ------------------------------------------------

ACCEPTED = "accepted"


def enumerate_websockets() -> set[str]:
    return {f"ws:{pattern.pattern}" for pattern in websocket_urlpatterns}


# The one socket carries only the person's own notifications (their group, their replay):
# every signed-in role is accepted and sees its own inbox only; anonymous is closed 4401.
WS_ROWS: dict[str, dict[str, Any]] = {
    "ws:ws/": dict.fromkeys(ROLES, ACCEPTED) | {"anonymous": 4401},
}


# --- Objects the patterns take -------------------------------------------------------------


def pk(key: str, **extra) -> Callable[[World], dict]:
    return lambda world: {"pk": world.pk(key), **extra}


ARGS: dict[str, Callable[[World], dict]] = {}
for prefix, key in [
    ("association-", "association"),
    ("shuttle-association-runs", "association"),
    ("membership-", "membership"),
    ("ride-", "ride"),
    ("offer-", "offer"),
    ("plan-", "plan"),
    ("mileage-claim-", "mileage_claim"),
    ("shuttle-run", "run"),
    ("shuttle-signup-", "signup"),
    ("shuttle-standing-end", "standing"),
    ("shuttle-offer-", "run_offer"),
    ("shuttle-vehicle-", "vehicle"),
    ("carpool-trip-", "trip"),
    ("carpool-departure-", "departure"),
    ("carpool-booking", "carpool_booking"),
    ("carpool-rating", "carpool_booking"),
    ("carpool-report", "carpool_booking"),
    ("carpool-saved-search", "saved_search"),
    ("stats-", "municipality"),
    ("sharing-resource-", "resource"),
    ("sharing-photo-", "photo"),
    ("sharing-booking-", "sharing_booking"),
]:
    ARGS[prefix] = pk(key)

WEB_ARGS = {
    "webapp:ride": pk("ride"),
    "webapp:ride-cancel": pk("ride"),
    "webapp:driver-offer": pk("offer", answer="accept"),
    "webapp:driver-ride": pk("ride"),
    "webapp:driver-ride-action": pk("ride", action="start"),
    # The assigned driver's day away: he removes it, another driver's remove changes nothing.
    "webapp:driver-availability-exception-remove": pk("availability_exception"),
    "webapp:shuttle-run-sheet": pk("run"),
    "webapp:carpool-booking-cancel": pk("carpool_booking"),
    "webapp:carpool-trip-cancel": pk("trip"),
    "webapp:carpool-departure-cancel": pk("departure"),
    "webapp:carpool-departure-move": pk("departure"),
    "webapp:carpool-request": pk("carpool_booking", answer="accept"),
    "webapp:carpool-alert-delete": pk("saved_search"),
    "webapp:carpool-after-trip": pk("carpool_booking"),
    "webapp:carpool-trip-edit": pk("trip"),
    "webapp:shop-run-signup": pk("run"),
    "webapp:shop-run-cancel": pk("signup"),
    "webapp:shop-run-seat": pk("signup", answer="accept"),
    "webapp:shop-run-standing-stop": pk("standing"),
    "webapp:console-ride": pk("ride"),
    "webapp:console-assign": pk("open_ride"),
    "webapp:console-reassign": pk("ride"),
    "webapp:console-ride-cancel": pk("ride"),
    "webapp:console-book": lambda world: {"pk": world.people["resident"].pk},
    "webapp:console-seat-cancel": pk("signup"),
    "webapp:console-item-cancel": pk("sharing_booking"),
    "webapp:console-membership": pk("membership", action="approve"),
    # The assigned driver's membership: he holds the resident's ride.
    "webapp:console-release-rides": lambda world: {
        "pk": world.drivers["driver_assigned"].membership_id
    },
    # Another resident's membership, active: A's coordinator may make her a coordinator.
    "webapp:console-coordinator-role": pk("membership"),
    "webapp:console-mileage-claim-approve": pk("mileage_claim"),
    "webapp:console-mileage-claim-decline": pk("mileage_claim"),
    "webapp:association-join": pk("association"),
    # Another resident's membership: one's own only (and only while it waits).
    "webapp:association-withdraw": pk("membership"),
    "webapp:console-run-assign": pk("run"),
    "webapp:console-run-cancel": pk("run"),
    "webapp:console-run-move": pk("run"),
    "webapp:console-run-schedule-stop": pk("schedule"),
    "webapp:notification-open": pk("notification"),
    "webapp:sharing-resource": pk("resource"),
    "webapp:sharing-book": pk("resource"),
    "webapp:sharing-problem": pk("resource"),
    "webapp:sharing-booking-cancel": pk("sharing_booking"),
    "webapp:sharing-check-out": pk("sharing_booking"),
    "webapp:sharing-check-in": pk("sharing_booking"),
    "webapp:console-sharing-approve": pk("sharing_booking"),
    "webapp:console-sharing-decline": pk("sharing_booking"),
    "webapp:console-sharing-out": pk("resource"),
    "webapp:console-sharing-in": pk("resource"),
    "webapp:sharing-edit": pk("lent_thing"),
    "webapp:sharing-approve": pk("lent_thing"),
    "webapp:sharing-decline": pk("lent_thing"),
    "webapp:sharing-out": pk("lent_thing"),
    "webapp:sharing-in": pk("lent_thing"),
    "webapp:sharing-photo-delete": pk("lent_thing"),
}
SPECIAL_ARGS = {
    "driver-exception": pk("availability_exception"),
    "proxy-link-delete": lambda world: {
        "resident_id": world.people["resident"].pk,
        "proxy_id": world.people["proxy"].pk,
    },
    "proxy-link-accept": lambda world: {
        "resident_id": world.people["resident"].pk,
        "proxy_id": world.people["proxy"].pk,
    },
    "webapp:proxy-accept": lambda world: {"pk": world.people["resident"].pk},
    "webapp:proxy-decline": lambda world: {"pk": world.people["resident"].pk},
    "sms-inbound": lambda world: {"provider": "elks"},
    "person-export": lambda world: {"pk": world.people["resident"].pk},
    "person-erase": lambda world: {"pk": world.people["resident"].pk},
    "webapp:person-export": lambda world: {"pk": world.people["resident"].pk},
    "webapp:person-erase": lambda world: {"pk": world.people["resident"].pk},
    "sharing-ical": lambda world: {"token": world.objects["feed"].token},
    "webapp:email-confirm": lambda world: {
        "token": email_link_token(world.objects["email_unconfirmed"])
    },
    "ride-suggestions": pk("open_ride"),
    "membership-release-rides": lambda world: {
        "pk": world.drivers["driver_assigned"].membership_id
    },
    "ride-assign": pk("open_ride"),
    "ride-unfulfilled": pk("open_ride"),
    "shuttle-runs": lambda world: {},
    "shuttle-signups": lambda world: {},
    "shuttle-schedules": lambda world: {},
    "carpool-booking-list": lambda world: {},
    "carpool-saved-search-list": lambda world: {},
    "carpool-trip-list": lambda world: {},
    "carpool-departure-list": lambda world: {},
    "sharing-resource-list": lambda world: {},
    "sharing-booking-list": lambda world: {},
    "stats-municipalities": lambda world: {},
    "ride-list": lambda world: {},
    "association-list": lambda world: {},
}


def _parameters() -> dict[str, set[str]]:
    return {name: set(pattern.pattern.converters) for name, _, pattern in _walk(get_resolver())}


def kwargs_for(name: str) -> Callable[[World], dict]:
    if not _parameters().get(name):
        return lambda world: {}
    if name in SPECIAL_ARGS:
        return SPECIAL_ARGS[name]
    if name in WEB_ARGS:
        return WEB_ARGS[name]
    if name.startswith(("gbfs-", "gbfs31-", "gtfs-")):
        return lambda world: {"association_id": world.pk("association")}
    for prefix, args in ARGS.items():
        if name.startswith(prefix):
            return args
    return lambda world: {}


# --- Bodies: valid input, so an allowed write really writes ---------------------------------


def _point(lon: float, lat: float) -> dict:
    return {"type": "Point", "coordinates": [lon, lat]}


def _later(moment: dt.datetime) -> dt.datetime:
    """A departure's time a quarter of an hour later: a move the driver may make."""
    return moment + dt.timedelta(minutes=15)


def _at(days: int, hour: int) -> str:
    day = timezone.localdate() + dt.timedelta(days=days)
    return dt.datetime.combine(day, dt.time(hour), tzinfo=STOCKHOLM).isoformat()


def _local(days: int, hour: int) -> str:
    return (timezone.localdate() + dt.timedelta(days=days)).isoformat() + f" {hour:02d}:00"


VANSBRO = _point(14.22458, 60.50893)
JARNA = _point(14.36667, 60.53333)
PICKUP = {"type": "Point", "coordinates": [13.96, 60.60]}  # along the carpool trip
DROPOFF = {"type": "Point", "coordinates": [14.44, 60.60]}


def _ids(world: World) -> dict:
    return {
        "resident": world.people["resident"].pk,
        "other": world.people["other_resident"].pk,
        "association": world.pk("association"),
        "driver_other": world.drivers["driver_other"].pk,
    }


BODIES: dict[tuple[str, str], Callable[[World], Any]] = {
    ("association-message", "POST"): lambda world: {"text": "Skjutsen är inställd i dag."},
    ("association-plans", "POST"): lambda world: {"day": _at(5, 0)[:10]},
    ("auth-login", "POST"): lambda world: {
        "identifier": w.RESIDENT_PHONE,
        "password": PASSWORD,
    },
    # A number nobody in the world has: the same 204 as for a login's own, without an SMS.
    ("auth-login-code", "POST"): lambda world: {"phone": "+46701749991"},
    ("auth-login-code-verify", "POST"): lambda world: {
        "phone": w.RESIDENT_PHONE,
        "code": "123456",
    },
    ("auth-me", "PATCH"): lambda world: {"full_name": "Nytt Namn"},
    ("auth-email-confirm", "POST"): lambda world: {"token": "not-a-link"},
    ("auth-password", "POST"): lambda world: {
        "current_password": "inte rätt",
        "new_password": "ett långt lösenord 42",
    },
    ("auth-phone-confirm", "POST"): lambda world: {"code": "123456"},
    ("auth-register", "POST"): lambda world: {
        "full_name": "Ny Granne",
        "phone": "+46701749990",
        "password": "ett långt lösenord 42",
    },
    ("carpool-booking-list", "POST"): lambda world: {
        "departure": world.pk("later_departure"),
        "passenger": world.people["resident"].pk,
        "pickup": PICKUP,
        "pickup_address": "Vid vägen",
        "dropoff": DROPOFF,
        "dropoff_address": "Torget",
    },
    ("carpool-rating", "POST"): lambda world: {"stars": 5},
    ("carpool-trip-detail", "PATCH"): lambda world: {"seats": 2, "note": "Ingen rökning."},
    ("carpool-departure-move", "POST"): lambda world: {
        "departure_at": _later(world.objects["departure"].departure_at).isoformat()
    },
    ("webapp:carpool-departure-move", "POST"): lambda world: {
        "day": timezone.localtime(_later(world.objects["departure"].departure_at)).date(),
        "time": timezone.localtime(_later(world.objects["departure"].departure_at)).time(),
    },
    ("person-erase", "POST"): lambda world: {"confirm": True},
    ("webapp:person-erase", "POST"): lambda world: {"confirm": "on"},
    ("webapp:carpool-trip-edit", "POST"): lambda world: {"seats": 2, "note": "Ingen rökning."},
    ("carpool-report", "POST"): lambda world: {"text": "Körde för fort."},
    ("carpool-saved-search-list", "POST"): lambda world: {
        "pickup": PICKUP,
        "dropoff": DROPOFF,
        "earliest": "06:00",
        "latest": "09:00",
        "weekdays": [0],
    },
    ("carpool-trip-list", "POST"): lambda world: {
        "origin": PICKUP,
        "origin_address": "Väst",
        "destination": DROPOFF,
        "destination_address": "Öst",
        "departure": _at(6, 15),
        "seats": 2,
    },
    ("driver-availability", "PUT"): lambda world: {
        "slots": [{"weekday": 0, "start": "08:00", "end": "12:00"}]
    },
    ("driver-duty", "POST"): lambda world: {"on_duty": True},
    ("driver-exceptions", "POST"): lambda world: {"date": _at(9, 0)[:10], "kind": "away"},
    ("driver-position", "POST"): lambda world: {"point": VANSBRO},
    ("driver-profile", "PUT"): lambda world: {"seats": 2},
    ("managed-profile-create", "POST"): lambda world: {
        "full_name": "Greta Andersson",
        "association": world.pk("association"),
        "relationship": "granne",
    },
    ("membership-roles", "PUT"): lambda world: {"roles": ["member", "driver"]},
    ("membership-suspend", "POST"): lambda world: {"reason": "Flyttat."},
    ("membership-release-rides", "POST"): lambda world: {"reason": "Sjuk."},
    # The answer names no one (the link waits for the proxy's yes); the number belongs to
    # the staff member here.
    ("proxy-link-create", "POST"): lambda world: {
        "resident": world.people["resident"].pk,
        "proxy_phone": "+46701740699",
        "relationship": "granne",
    },
    ("push-subscriptions", "POST"): lambda world: {
        "endpoint": "https://push.example.org/abc",
        "keys": {"p256dh": "B" * 87, "auth": "A" * 22},
    },
    ("push-subscriptions", "DELETE"): lambda world: {"endpoint": "https://push.example.org/abc"},
    ("ride-list", "POST"): lambda world: {
        "rider": world.people["resident"].pk,
        "association": world.pk("association"),
        "pickup": {"address": "Järnvägsgatan 4, Vansbro", "point": VANSBRO},
        "destination": {"address": "Vårdcentralen, Dala-Järna", "point": JARNA},
        "time": {"kind": "pickup_at", "at": _at(4, 13)},
    },
    ("ride-assign", "POST"): lambda world: {"driver": world.drivers["driver_other"].pk},
    ("ride-complete", "POST"): lambda world: {"driven_m": 11_000},
    ("webapp:console-mileage-claim-decline", "POST"): lambda world: {
        "reason": "Närmaste vägen var öppen."
    },
    ("mileage-claim-decline", "POST"): lambda world: {"reason": "Närmaste vägen var öppen."},
    ("ride-withdraw", "POST"): lambda world: {"reason": "Sjuk."},
    ("sharing-booking-check-in", "POST"): lambda world: {"odometer_km": 12_050},
    ("sharing-booking-check-out", "POST"): lambda world: {"odometer_km": 12_000},
    ("sharing-resource-list", "POST"): lambda world: {
        "association": world.pk("association"),
        "kind": "tool",
        "category": "drill",
        "title": "Slagborr",
        "location": VANSBRO,
    },
    ("sharing-resource-detail", "PATCH"): lambda world: {"title": "Byabilen 2"},
    # Ten days ahead: the world's own booking of the car is 2-8 days ahead (a weekday,
    # tests/permissions/world.py), so on some days of the week 8 met it.
    ("sharing-resource-book", "POST"): lambda world: {
        "starts_at": _at(10, 10),
        "ends_at": _at(10, 12),
        "booker": world.people["resident"].pk,
    },
    ("sharing-resource-clearances", "POST"): lambda world: {
        "user": world.people["other_resident"].pk
    },
    ("sharing-resource-photos", "POST"): lambda world: {"image": w.png()},
    ("sharing-resource-problems", "POST"): lambda world: {"kind": "note", "text": "Repa i lacken."},
    ("sharing-resource-waitlist", "POST"): lambda world: {
        "starts_at": world.objects["sharing_booking"].starts_at.isoformat(),
        "ends_at": world.objects["sharing_booking"].ends_at.isoformat(),
    },
    ("shuttle-run-assign", "POST"): lambda world: {"driver": world.drivers["driver_other"].pk},
    ("shuttle-run-move", "POST"): lambda world: {
        "arrive_at": world.objects["run"].arrive_at.isoformat(),
        "leave_at": (world.objects["run"].leave_at + dt.timedelta(minutes=15)).isoformat(),
    },
    ("shuttle-run-signups", "POST"): lambda world: {"passenger": world.people["resident"].pk},
    ("shuttle-schedules", "POST"): lambda world: {
        "association": world.pk("association"),
        "name": "Fredagshandling",
        "rrule": "FREQ=WEEKLY;BYDAY=FR",
        "starts_on": timezone.localdate().isoformat(),
        "arrive_at": "10:00",
        "leave_at": "11:00",
        "destination": VANSBRO,
        "destination_name": "ICA",
        "deadline_time": "18:00",
    },
    ("shuttle-signup-outcome", "POST"): lambda world: {"outcome": "picked_up"},
    # Web forms
    ("webapp:carpool-book", "POST"): lambda world: {
        "departure": world.pk("later_departure"),
        "passenger": world.people["resident"].pk,
        "pickup_address": "Vid vägen",
        "pickup_lon": 13.96,
        "pickup_lat": 60.60,
        "dropoff_address": "Torget",
        "dropoff_lon": 14.44,
        "dropoff_lat": 60.60,
        "seats": 1,
    },
    ("webapp:sharing-book", "POST"): lambda world: {  # ten days ahead: see above
        "starts_at": _local(10, 10),
        "ends_at": _local(10, 12),
        "booker": world.people["resident"].pk,
    },
    ("webapp:sharing-problem", "POST"): lambda world: {"kind": "note", "text": "Repa i lacken."},
    ("webapp:sharing-new", "POST"): lambda world: {
        "association": world.pk("association"),
        "title": "Borrmaskin",
        "kind": "tool",
        "category": "drill",
        "approval_mode": "owner",
        "min_minutes": 60,
        "max_minutes": 24 * 60,
        "buffer_minutes": 0,
        "place_lon": 14.23,
        "place_lat": 60.51,
    },
    ("webapp:sharing-edit", "POST"): lambda world: {
        "title": "Släpvagn att låna",
        "kind": "tool",
        "category": "trailer",
        "approval_mode": "owner",
        "price_per_day_kr": "100",
        "min_minutes": 60,
        "max_minutes": 7 * 24 * 60,
        "buffer_minutes": 0,
        "active": "on",
    },
    ("webapp:sharing-approve", "POST"): lambda world: {"booking": world.pk("lent_request")},
    ("webapp:sharing-decline", "POST"): lambda world: {
        "booking": world.pk("lent_request"),
        "reason": "Släpet är på service.",
    },
    ("webapp:sharing-out", "POST"): lambda world: {"text": "Punktering."},
    ("webapp:sharing-photo-delete", "POST"): lambda world: {"photo": world.pk("lent_photo")},
    ("webapp:shop-run-signup", "POST"): lambda world: {
        "passenger": world.people["resident"].pk,
    },
    ("webapp:console-assign", "POST"): lambda world: {"driver": world.drivers["driver_other"].pk},
    ("webapp:console-reassign", "POST"): lambda world: {
        "driver": world.drivers["driver_other"].pk,
        "reason": "Sjuk.",
    },
    ("webapp:console-run-assign", "POST"): lambda world: {
        "driver": world.drivers["driver_other"].pk
    },
    ("webapp:console-ride-cancel", "POST"): lambda world: {"reason": "Sjuk."},
    ("webapp:console-release-rides", "POST"): lambda world: {"reason": "Sjuk."},
    ("webapp:console-coordinator-role", "POST"): lambda world: {"coordinator": "give"},
    ("webapp:driver-profile", "POST"): lambda world: {
        "radius_km": "25",
        "seats": "3",
        "vehicle_description": "Röd Saab",
        "walker_space": "on",
    },
    ("webapp:console-run-cancel", "POST"): lambda world: {"reason": "Snöstorm."},
    # Coordinates: the caller's own home is moved without a geocoder.
    ("webapp:profile-home", "POST"): lambda world: {
        "home_address": "Byvägen 2",
        "home_lon": "14.2",
        "home_lat": "60.5",
    },
    ("webapp:console-run-move", "POST"): lambda world: {
        "day": timezone.localtime(world.objects["run"].arrive_at).date().isoformat(),
        "arrive_at": "10:15",
        "leave_at": "11:45",
    },
    ("webapp:console-sharing-decline", "POST"): lambda world: {"reason": "Bilen är på service."},
    ("webapp:association-join", "POST"): lambda world: {"driver": "on"},
    ("webapp:console-sharing-out", "POST"): lambda world: {"text": "Punktering."},
}
MULTIPART = {("sharing-resource-photos", "POST")}


# --- The rows -----------------------------------------------------------------------------


def R(name: str, method: str, default, query="", label="", body=None, acts_as="", **roles) -> Row:
    """A row: `default` for every signed-in role not named; anonymous gets 403 from the
    API and LOGIN from the pages unless named."""
    unknown = set(roles) - set(ROLES)
    assert not unknown, f"{name}: unknown roles {unknown}"
    web = Row(name, method, {}).kind == "web"
    expect = dict.fromkeys(ROLES, default)
    expect["anonymous"] = LOGIN if web else 403
    expect.update(roles)
    body = body or BODIES.get((name, method))
    return Row(
        name,
        method,
        expect,
        kwargs_for(name),
        body=body,
        query=query,
        label=label,
        acts_as=acts_as,
    )


ROWS: list[Row] = [
    R(
        "association-join",
        "POST",
        409,
        proxy=201,
        coordinator_other=201,
        analyst=201,
        analyst_other=201,
        staff=201,
    ),
    R("association-list", "GET", 200),
    R("association-memberships", "GET", 200),
    R("association-message", "GET", 200, anonymous=403),
    R("association-message", "POST", 403, coordinator=202),
    R("association-mileage", "GET", 403, coordinator=200),
    R("association-mileage-claims", "GET", 403, coordinator=200),
    R("association-plans", "GET", 403, coordinator=200),
    R("association-plans", "POST", 403, coordinator=201),
    R("association-rides", "GET", 403, coordinator=200),
    # Anyone with the resident's password signs in as her and sees her account.
    R("auth-login", "POST", 200, anonymous=200, acts_as="resident"),
    # Anyone may ask for a sign-in code; no code was texted, so none signs anyone in.
    R("auth-login-code", "POST", 204, anonymous=204),
    R("auth-login-code-verify", "POST", 400, anonymous=400),
    R("auth-logout", "POST", 204),
    R("auth-me", "GET", 200),
    R("auth-me", "PATCH", 200),
    # Everyone in the world confirmed their number; no code was sent to confirm with.
    # Nobody in the world has an e-mail address to confirm; a token from no link is a 400.
    R("auth-email-link", "POST", 400),
    R("auth-email-confirm", "POST", 400, anonymous=400),
    # The matrix gives no present password: refused, nothing changed.
    R("auth-password", "POST", 400),
    R("auth-phone-code", "POST", 409),
    R("auth-phone-confirm", "POST", 400),
    R("auth-register", "POST", 201, anonymous=201),
    R(
        "carpool-booking-accept",
        "POST",
        404,
        resident=403,
        proxy=403,
        driver_assigned=200,
        coordinator=403,
    ),
    R(
        "carpool-booking-cancel",
        "POST",
        404,
        resident=200,
        proxy=200,
        driver_assigned=200,
        coordinator=200,
    ),
    R(
        "carpool-booking-decline",
        "POST",
        404,
        resident=403,
        proxy=403,
        driver_assigned=200,
        coordinator=403,
    ),
    R("carpool-booking-list", "GET", 200),
    R("carpool-booking-list", "POST", 404, resident=201, proxy=201, coordinator=201),
    R("carpool-booking", "GET", 404, resident=200, proxy=200, driver_assigned=200, coordinator=200),
    R("carpool-departure-cancel", "POST", 404, driver_assigned=200, coordinator=200),
    R("carpool-departure-detail", "GET", 404, driver_assigned=200, coordinator=200),
    R("carpool-departure-move", "POST", 404, driver_assigned=200, coordinator=200),
    R("carpool-departure-list", "GET", 200),
    R("carpool-rating", "POST", 404, resident=409, proxy=403, driver_assigned=409, coordinator=403),
    R("carpool-report", "POST", 404, resident=201, proxy=403, driver_assigned=201, coordinator=403),
    R("carpool-saved-search-list", "GET", 200),
    R(
        "carpool-saved-search-list",
        "POST",
        201,
        proxy=403,
        analyst=403,
        analyst_other=403,
        staff=403,
    ),
    R("carpool-saved-search", "DELETE", 404, resident=204),
    R("carpool-search", "GET", 400, proxy=403, analyst=403, analyst_other=403, staff=403),
    R(
        "carpool-trip-cancel",
        "POST",
        403,
        proxy=404,
        driver_assigned=200,
        coordinator=200,
        analyst=404,
        analyst_other=404,
        staff=404,
    ),
    R("carpool-trip-detail", "GET", 200, proxy=404, analyst=404, analyst_other=404, staff=404),
    R("carpool-trip-list", "GET", 200),
    R("carpool-trip-list", "POST", 201, proxy=403, analyst=403, analyst_other=403, staff=403),
    R("driver-availability", "PUT", 404, driver_assigned=200, driver_other=200),
    R("driver-duty", "POST", 404, driver_assigned=200, driver_other=200),
    R("driver-exceptions", "POST", 404, driver_assigned=201, driver_other=201),
    # The assigned driver's day away: only he removes it; anyone else's answer is 404.
    R("driver-exception", "DELETE", 404, driver_assigned=204),
    R("driver-logbook", "GET", 404, driver_assigned=200, driver_other=200),
    R("driver-position", "POST", 404, driver_assigned=409, driver_other=409),
    R("driver-profile", "GET", 404, driver_assigned=200, driver_other=200),
    R("driver-profile", "PUT", 404, driver_assigned=200, driver_other=200),
    R("driver-rides", "GET", 200),
    R("gbfs-gbfs", "GET", 200, anonymous=200),
    R("gbfs-station-information", "GET", 200, anonymous=200),
    R("gbfs-station-status", "GET", 200, anonymous=200),
    R("gbfs-system-information", "GET", 200, anonymous=200),
    R("gbfs-system-pricing-plans", "GET", 200, anonymous=200),
    R("gbfs-vehicle-availability", "GET", 200, anonymous=200),
    R("gbfs-vehicle-types", "GET", 200, anonymous=200),
    R("managed-profile-create", "POST", 403, coordinator=201),
    R("membership-approve", "POST", 404, other_resident=403, coordinator=409),
    R("membership-rider-approval", "POST", 404, other_resident=403, coordinator=200),
    R("membership-roles", "PUT", 404, other_resident=403, coordinator=200),
    R("membership-suspend", "POST", 404, other_resident=403, coordinator=200),
    # The assigned driver's own membership: he sees it, and may not give his rides back.
    R("membership-release-rides", "POST", 404, driver_assigned=403, coordinator=200),
    R("municipality-list", "GET", 200),
    R("notification-list", "GET", 200),
    R("notification-preferences", "GET", 200),
    R("notification-preferences", "PUT", 200),
    R("notification-read", "POST", 200),
    R("offer-accept", "POST", 404, driver_assigned=200),
    R("offer-decline", "POST", 404, driver_assigned=200),
    R("offer-list", "GET", 200),
    R("people-list", "GET", 200),
    # The assigned driver's kilometres beyond what his ride can take: only A's coordinator
    # finds the claim (as the plans, a claim is looked up among the associations one
    # coordinates).
    R("mileage-claim-approve", "POST", 404, coordinator=200),
    R("mileage-claim-decline", "POST", 404, coordinator=200),
    R("plan-approve", "POST", 404, coordinator=200),
    R("plan-discard", "POST", 404, coordinator=200),
    R("proxy-link-create", "POST", 404, resident=201, proxy=403, coordinator=403),
    # A number nobody uses Samby with: the same outcome for every role as a known one.
    R(
        "proxy-link-create",
        "POST",
        404,
        resident=201,
        proxy=403,
        coordinator=403,
        body=lambda world: {
            "resident": world.people["resident"].pk,
            "proxy_phone": "070-174 06 98",
            "relationship": "granne",
        },
        label="unknown-number",
    ),
    # Each role's own requests to answer (the world's link is accepted: none waits).
    R("proxy-link-requests", "GET", 200),
    R("proxy-link-delete", "DELETE", 404, resident=204, proxy=204, coordinator=403),
    # The world's link is accepted already: the proxy gets 409; those who act for the
    # resident know of the link but may not answer for the proxy; anyone else: 404.
    R("proxy-link-accept", "POST", 404, resident=403, proxy=409, coordinator=403),
    R("push-key", "GET", 404, anonymous=404),
    R("push-subscriptions", "DELETE", 204),
    R("push-subscriptions", "POST", 400),
    R("ride-assign", "POST", 404, resident=403, proxy=403, driver_assigned=403, coordinator=200),
    # A driver profile of another association, by id: refused without naming the driver.
    R(
        "ride-assign",
        "POST",
        404,
        resident=403,
        proxy=403,
        driver_assigned=403,
        coordinator=400,
        body=lambda world: {"driver": world.pk("driver_elsewhere")},
        label="driver-of-another-association",
    ),
    R("ride-cancel", "POST", 404, resident=200, proxy=200, driver_assigned=403, coordinator=200),
    R("ride-complete", "POST", 404, resident=403, proxy=403, driver_assigned=409, coordinator=403),
    R("ride-detail", "GET", 404, resident=200, proxy=200, driver_assigned=200, coordinator=200),
    R("ride-events", "GET", 404, resident=403, proxy=403, driver_assigned=403, coordinator=200),
    R("ride-list", "GET", 200),
    # Known places: one's own for everyone; the resident's for her and her proxy, and for
    # her coordinator only naming the association (its rides' places only).
    R("ride-places", "GET", 200),
    R(
        "ride-places",
        "GET",
        404,
        resident=200,
        proxy=200,
        coordinator=400,
        query=lambda world: f"rider={world.people['resident'].pk}",
        label="of-the-resident",
    ),
    R(
        "ride-places",
        "GET",
        404,
        resident=200,
        proxy=200,
        coordinator=200,
        query=lambda world: f"rider={world.people['resident'].pk}&association={world.a.pk}",
        label="of-the-resident-naming-the-association",
    ),
    R("ride-list", "POST", 404, resident=201, proxy=201, coordinator=201),
    # The held ride is days ahead: the driver gets past every permission check to the
    # rule that these steps wait for the day of the ride (ride_too_early).
    R("ride-no-show", "POST", 404, resident=403, proxy=403, driver_assigned=409, coordinator=403),
    R("ride-picked-up", "POST", 404, resident=403, proxy=403, driver_assigned=409, coordinator=403),
    R("ride-start", "POST", 404, resident=403, proxy=403, driver_assigned=409, coordinator=403),
    R(
        "ride-suggestions",
        "GET",
        404,
        resident=403,
        proxy=403,
        driver_assigned=403,
        coordinator=200,
    ),
    R(
        "ride-unfulfilled",
        "POST",
        404,
        resident=403,
        proxy=403,
        driver_assigned=403,
        coordinator=200,
    ),
    R("ride-withdraw", "POST", 404, resident=403, proxy=403, driver_assigned=204, coordinator=403),
    R("sharing-approvals", "GET", 200),
    R("sharing-booking-approve", "POST", 404, resident=403, proxy=403, coordinator=409),
    R("sharing-booking-cancel", "POST", 404, resident=200, proxy=200, coordinator=200),
    R("sharing-booking-check-in", "POST", 404, resident=409, proxy=409, coordinator=409),
    R("sharing-booking-check-out", "POST", 404, resident=409, proxy=409, coordinator=409),
    R("sharing-booking-decline", "POST", 404, resident=403, proxy=403, coordinator=409),
    R("sharing-booking-detail", "GET", 404, resident=200, proxy=200, coordinator=200),
    R("sharing-booking-list", "GET", 200),
    R("sharing-feed", "GET", 200),
    R("sharing-feed", "POST", 200),
    R("sharing-ical", "GET", 200, anonymous=200),
    R("sharing-photo-delete", "DELETE", 403, coordinator=204),
    R("sharing-resource-back-in-service", "POST", 403, coordinator=409),
    R("sharing-resource-book", "POST", 404, resident=201, proxy=201, coordinator=201),
    R("sharing-resource-calendar", "GET", 200),
    R("sharing-resource-clearances", "POST", 403, coordinator=204),
    R("sharing-resource-detail", "GET", 200),
    R("sharing-resource-detail", "PATCH", 403, coordinator=200),
    R("sharing-resource-feed", "GET", 403, coordinator=200),
    R("sharing-resource-feed", "POST", 403, coordinator=200),
    R("sharing-resource-list", "GET", 400, resident=200, other_resident=200),
    R(
        "sharing-resource-list",
        "POST",
        201,
        proxy=403,
        coordinator_other=403,
        analyst=403,
        analyst_other=403,
        staff=403,
    ),
    R("sharing-resource-photos", "POST", 403, coordinator=201),
    R("sharing-resource-problems", "POST", 403, resident=201, coordinator=201),
    R(
        "sharing-resource-waitlist",
        "POST",
        201,
        proxy=403,
        coordinator_other=403,
        analyst=403,
        analyst_other=403,
        staff=403,
    ),
    R("shuttle-association-runs", "GET", 403, coordinator=200),
    R("shuttle-offer-accept", "POST", 404, driver_assigned=200),
    R("shuttle-offer-decline", "POST", 404, driver_assigned=200),
    R("shuttle-offers", "GET", 200),
    R(
        "shuttle-run-assign",
        "POST",
        403,
        coordinator=409,
        coordinator_other=404,
        analyst=404,
        analyst_other=404,
        staff=404,
    ),
    R(
        "shuttle-run-cancel",
        "POST",
        403,
        coordinator=200,
        coordinator_other=404,
        analyst=404,
        analyst_other=404,
        staff=404,
    ),
    R(
        "shuttle-run-move",
        "POST",
        403,
        coordinator=200,
        coordinator_other=404,
        analyst=404,
        analyst_other=404,
        staff=404,
    ),
    R(
        "shuttle-run-offer-drivers",
        "POST",
        403,
        coordinator=200,
        coordinator_other=404,
        analyst=404,
        analyst_other=404,
        staff=404,
    ),
    R(
        "shuttle-run-plan",
        "POST",
        403,
        coordinator=200,
        coordinator_other=404,
        analyst=404,
        analyst_other=404,
        staff=404,
    ),
    R(
        "shuttle-run-sheet",
        "GET",
        403,
        driver_assigned=200,
        coordinator=200,
        coordinator_other=404,
        analyst=404,
        analyst_other=404,
        staff=404,
    ),
    R(
        "shuttle-run-signups",
        "GET",
        403,
        coordinator=200,
        coordinator_other=404,
        analyst=404,
        analyst_other=404,
        staff=404,
    ),
    R("shuttle-run-signups", "POST", 404, resident=409, proxy=409, coordinator=409),
    R("shuttle-run", "GET", 200, coordinator_other=404, analyst=404, analyst_other=404, staff=404),
    R("shuttle-runs", "GET", 200),
    R("shuttle-schedules", "GET", 200),
    R("shuttle-schedules", "POST", 403, coordinator=201),
    R("shuttle-signup-accept-seat", "POST", 404, resident=409, proxy=409, coordinator=409),
    R("shuttle-signup-cancel", "POST", 404, resident=200, proxy=200, coordinator=200),
    R("shuttle-signup-decline-seat", "POST", 404, resident=409, proxy=409, coordinator=409),
    R("shuttle-signup-outcome", "POST", 404, coordinator=204),
    R("shuttle-signups", "GET", 200),
    R("shuttle-standing-end", "POST", 404, resident=200, proxy=200, coordinator=200),
    R("shuttle-standing", "GET", 200),
    R(
        "shuttle-vehicle-withdraw",
        "POST",
        403,
        driver_assigned=204,
        coordinator=204,
        coordinator_other=404,
        analyst=404,
        analyst_other=404,
        staff=404,
    ),
    R("sms-inbound", "POST", 403),
    R("stats-municipalities", "GET", 200),
    R("stats-summary", "GET", 404, analyst=200),
    R("stats-table", "GET", 404, analyst=200),
    # The exports: the same rule, whatever the format.
    R("stats-table", "GET", 404, analyst=200, query="format=csv", label="csv"),
    R("stats-unmet", "GET", 404, analyst=200),
    R("stats-unmet", "GET", 404, analyst=200, query="format=geojson", label="geojson"),
    R("village-list", "GET", 200),
    R("admin:index", "GET", 302, anonymous=302, staff=200),
    R("api-docs", "GET", 200, anonymous=200),
    R("api-schema", "GET", 200, anonymous=200),
    R("healthz", "GET", 200, anonymous=200),
    R("set_language", "POST", UNCHANGED, anonymous=UNCHANGED),
    R("webapp:carpool-alert-delete", "POST", 404, resident=302),
    R("webapp:carpool-alerts", "GET", 200, proxy=403, analyst=403, analyst_other=403, staff=403),
    R("webapp:carpool-alerts", "POST", 400, proxy=403, analyst=403, analyst_other=403, staff=403),
    R("webapp:carpool-book", "POST", UNCHANGED, resident=302, proxy=302, coordinator=302),
    R("webapp:carpool-booking-cancel", "GET", 404, resident=200, proxy=200, coordinator=200),
    R("webapp:carpool-booking-cancel", "POST", 404, resident=302, proxy=302, coordinator=302),
    R("webapp:carpool-bookings", "GET", 200),
    R("webapp:carpool-departure-cancel", "POST", 404, driver_assigned=302),
    R("webapp:carpool-departure-move", "GET", 404, driver_assigned=200),
    R("webapp:carpool-departure-move", "POST", 404, driver_assigned=302),
    R("webapp:carpool-offer", "GET", 200, proxy=403, analyst=403, analyst_other=403, staff=403),
    R("webapp:carpool-offer", "POST", 400, proxy=403, analyst=403, analyst_other=403, staff=403),
    R("webapp:carpool-request", "POST", 404, driver_assigned=302),
    R("webapp:carpool-trip-cancel", "POST", 404, driver_assigned=302),
    R("webapp:carpool-trips", "GET", 200),
    R("webapp:carpool", "GET", 200, analyst=403, analyst_other=403, staff=403),
    R("webapp:console-assign", "POST", 403, coordinator=302, coordinator_other=404),
    R("webapp:console-book", "GET", 403, coordinator=200, coordinator_other=404),
    R("webapp:console-book", "POST", 403, coordinator=400, coordinator_other=404),
    R("webapp:console-seat-cancel", "POST", 403, coordinator=302, coordinator_other=404),
    R("webapp:console-item-cancel", "POST", 403, coordinator=302, coordinator_other=404),
    R("webapp:console-membership", "POST", 403, coordinator=UNCHANGED, coordinator_other=404),
    # Declining an active membership: refused with a message (only a waiting request is).
    replace(
        R(
            "webapp:console-membership",
            "POST",
            403,
            coordinator=UNCHANGED,
            coordinator_other=404,
            label="decline",
        ),
        kwargs=lambda world: {"pk": world.pk("membership"), "action": "decline"},
        body={"reason": "Du bor i en annan kommun."},
    ),
    # Making an active member a volunteer driver (the roster's "Make volunteer driver").
    replace(
        R(
            "webapp:console-membership",
            "POST",
            403,
            coordinator=302,
            coordinator_other=404,
            label="driver",
        ),
        kwargs=lambda world: {"pk": world.pk("membership"), "action": "driver"},
        body={"driver": "give"},
    ),
    # The page asking before the coordinator role is given, and its "Yes".
    R("webapp:console-coordinator-role", "GET", 403, coordinator=200, coordinator_other=404),
    R("webapp:console-coordinator-role", "POST", 403, coordinator=302, coordinator_other=404),
    R("webapp:console-mileage-csv", "GET", 403, coordinator=200, coordinator_other=200),
    R("webapp:console-mileage-paid", "POST", 403, coordinator=400, coordinator_other=400),
    # The assigned driver's kilometres beyond what his ride can take: decided by A's
    # coordinator; another association's finds no such claim.
    R(
        "webapp:console-mileage-claim-approve",
        "POST",
        403,
        coordinator=302,
        coordinator_other=404,
    ),
    R(
        "webapp:console-mileage-claim-decline",
        "POST",
        403,
        coordinator=302,
        coordinator_other=404,
    ),
    R("webapp:console-messages", "GET", 403, coordinator=200, coordinator_other=200),
    # The matrix posts no text: refused, nothing sent (a coordinator of another association
    # would write to their own, never to this one).
    R("webapp:console-messages", "POST", 403, coordinator=400, coordinator_other=400),
    R("webapp:console-mileage", "GET", 403, coordinator=200, coordinator_other=200),
    R("webapp:console-person-new", "POST", 403, coordinator=400, coordinator_other=400),
    R("webapp:console-phone", "GET", 403, coordinator=200, coordinator_other=200),
    R("webapp:console-reassign", "POST", 403, coordinator=302, coordinator_other=404),
    R("webapp:console-release-rides", "GET", 403, coordinator=200, coordinator_other=404),
    R("webapp:console-release-rides", "POST", 403, coordinator=302, coordinator_other=404),
    R("webapp:console-ride", "GET", 403, coordinator=200, coordinator_other=404),
    R("webapp:console-ride-cancel", "POST", 403, coordinator=302, coordinator_other=404),
    R("webapp:console-roster", "GET", 403, coordinator=200, coordinator_other=200),
    R("webapp:console-run-assign", "POST", 403, coordinator=400, coordinator_other=404),
    R("webapp:console-run-cancel", "POST", 403, coordinator=302, coordinator_other=404),
    R("webapp:console-run-move", "POST", 403, coordinator=302, coordinator_other=404),
    R("webapp:console-run-new", "GET", 403, coordinator=200, coordinator_other=200),
    # The matrix posts no run: refused, nothing written.
    R("webapp:console-run-new", "POST", 403, coordinator=400, coordinator_other=400),
    R("webapp:console-run-schedule-stop", "POST", 403, coordinator=302, coordinator_other=404),
    R("webapp:console-runs", "GET", 403, coordinator=200, coordinator_other=200),
    R("webapp:console-sharing-approve", "POST", 403, coordinator=UNCHANGED, coordinator_other=404),
    R("webapp:console-sharing-decline", "POST", 403, coordinator=UNCHANGED, coordinator_other=404),
    R("webapp:console-sharing-in", "POST", 403, coordinator=UNCHANGED, coordinator_other=404),
    R("webapp:console-sharing-out", "POST", 403, coordinator=302, coordinator_other=404),
    R("webapp:console-sharing", "GET", 403, coordinator=200, coordinator_other=200),
    R("webapp:console", "GET", 403, coordinator=200, coordinator_other=200),
    R("webapp:driver-availability-exception", "POST", 403, driver_assigned=400, driver_other=400),
    R(
        "webapp:driver-availability-exception-remove",
        "POST",
        403,
        driver_assigned=302,
        driver_other=UNCHANGED,
    ),
    R("webapp:driver-availability", "GET", 403, driver_assigned=200, driver_other=200),
    R("webapp:driver-availability", "POST", 403, driver_assigned=400, driver_other=400),
    R("webapp:driver-duty", "POST", 403, driver_assigned=UNCHANGED, driver_other=UNCHANGED),
    R("webapp:driver-km", "GET", 403, driver_assigned=200, driver_other=200),
    R("webapp:driver-profile", "GET", 403, driver_assigned=200, driver_other=200),
    R("webapp:driver-profile", "POST", 403, driver_assigned=302, driver_other=302),
    # Someone else's offer: back to the driver page with "There is no such offer for you",
    # the same as for an id that does not exist (tests/webapp/test_driver_pages.py).
    # Someone else's offer: back to the driver page with "There is no such offer for you",
    # the same as for an id that does not exist (tests/webapp/test_driver_pages.py).
    R("webapp:driver-offer", "POST", 403, driver_assigned=302, driver_other=UNCHANGED),
    R("webapp:driver-position", "POST", 403, driver_assigned=400, driver_other=400),
    # "On my way" days before the ride: said so on the page, nothing written.
    R("webapp:driver-ride-action", "POST", 403, driver_assigned=UNCHANGED, driver_other=404),
    R("webapp:driver-ride", "GET", 403, driver_assigned=200, driver_other=404),
    R("webapp:driver", "GET", 403, driver_assigned=200, driver_other=200),
    R("webapp:erased", "GET", 200, anonymous=200),
    # Associations: every one for anyone signed in; asking to join one's own again is
    # refused with a message, anyone else asks (and its coordinator is told).
    R("webapp:associations", "GET", 200),
    R(
        "webapp:association-join",
        "POST",
        UNCHANGED,
        proxy=302,
        coordinator_other=302,
        analyst=302,
        analyst_other=302,
        staff=302,
    ),
    # The world's membership is the other resident's, and active: nothing to withdraw.
    R("webapp:association-withdraw", "POST", 404, other_resident=UNCHANGED),
    R("webapp:home", "GET", 200),
    R("webapp:language", "POST", UNCHANGED, anonymous=UNCHANGED),
    R("webapp:manifest", "GET", 200, anonymous=200),
    R("webapp:notifications-read", "POST", UNCHANGED),
    R("webapp:notifications", "GET", 200),
    # The resident's message: read, and on to where it leads; anyone else's is a 404.
    R("webapp:notification-open", "GET", 404, resident=302),
    R("webapp:offline", "GET", 200, anonymous=200),
    R("webapp:places", "GET", 200),
    R("webapp:profile-erase", "GET", 200),
    R("webapp:profile-erase", "POST", 400),
    R("webapp:profile-export", "GET", 200),
    R("webapp:profile", "GET", 200),
    R("webapp:profile", "POST", 400),
    R("webapp:profile-home", "POST", 302),
    # One's own calendar address: made on asking (the resident has one already, so asking
    # again writes nothing), and a new one for anyone who asks.
    R("webapp:calendar-feed", "POST", 302, resident=UNCHANGED),
    R("webapp:calendar-feed-new", "POST", 302),
    R("webapp:ride-cancel", "GET", 404, resident=200, proxy=200, coordinator=200),
    R("webapp:ride-cancel", "POST", 404, resident=302, proxy=302, coordinator=302),
    R("webapp:ride-new", "GET", 200),
    R("webapp:ride-new", "POST", 400),
    R("webapp:ride", "GET", 404, resident=200, proxy=200, coordinator=200),
    R("webapp:rides", "GET", 200),
    R("webapp:service-worker", "GET", 200, anonymous=200),
    R("webapp:sharing-book", "POST", 400, resident=302, proxy=302, coordinator=302),
    R("webapp:sharing-booking-cancel", "POST", 404, resident=302, proxy=302),
    R("webapp:sharing-bookings", "GET", 200),
    R("webapp:sharing-check-in", "POST", 404, resident=UNCHANGED, proxy=UNCHANGED),
    R("webapp:sharing-check-out", "POST", 404, resident=UNCHANGED, proxy=UNCHANGED),
    R("webapp:sharing-problem", "POST", UNCHANGED, resident=302, coordinator=302),
    R("webapp:sharing-resource", "GET", 200),
    # Things a resident lends: the pages of one's own things, 404 for anyone else's.
    R("webapp:sharing-mine", "GET", 200),
    R("webapp:sharing-new", "GET", 200, proxy=403, analyst=403, analyst_other=403, staff=403),
    # The body lists the thing with association A: its members list it, a member of
    # another association is told to choose one of theirs.
    R(
        "webapp:sharing-new",
        "POST",
        302,
        proxy=403,
        coordinator_other=400,
        analyst=403,
        analyst_other=403,
        staff=403,
    ),
    R("webapp:sharing-edit", "GET", 404, resident=200),
    R("webapp:sharing-edit", "POST", 404, resident=302),
    R("webapp:sharing-approve", "POST", 404, resident=302),
    R("webapp:sharing-decline", "POST", 404, resident=302),
    R("webapp:sharing-out", "POST", 404, resident=302),
    # It is in service: said so on the page, nothing written.
    R("webapp:sharing-in", "POST", 404, resident=400),
    R("webapp:sharing-photo-delete", "POST", 404, resident=302),
    R("webapp:sharing", "GET", 200),
    R("webapp:shop-run-cancel", "GET", 404, resident=200, proxy=200, coordinator=200),
    R("webapp:shop-run-cancel", "POST", 404, resident=302, proxy=302, coordinator=302),
    R(
        "webapp:shop-run-seat",
        "POST",
        404,
        resident=UNCHANGED,
        proxy=UNCHANGED,
        coordinator=UNCHANGED,
    ),
    R(
        "webapp:shop-run-signup",
        "GET",
        200,
        coordinator_other=404,
        analyst=404,
        analyst_other=404,
        staff=404,
    ),
    R(
        "webapp:shop-run-signup",
        "POST",
        400,
        coordinator_other=404,
        analyst=404,
        analyst_other=404,
        staff=404,
    ),
    R("webapp:shop-run-standing-stop", "POST", 404, resident=302, proxy=302, coordinator=302),
    R("webapp:shop-runs", "GET", 200),
    R("webapp:shuttle-run-sheet", "GET", 404, anonymous=401, driver_assigned=200, coordinator=200),
    R("webapp:shuttle-run-sheet", "POST", 404, anonymous=401, driver_assigned=400, coordinator=400),
    R("webapp:sign-in-code-verify", "GET", LOGIN),
    R("webapp:sign-in-code-verify", "POST", LOGIN),
    R("webapp:sign-in-code", "GET", 200, anonymous=200),
    R("webapp:sign-in-code", "POST", 400, anonymous=400),
    R("webapp:sign-in", "GET", 302, anonymous=200),
    R("webapp:sign-in", "POST", UNCHANGED, anonymous=400),
    # Asking for a sign-in link by e-mail: the page for anyone; the matrix posts no address.
    R("webapp:sign-in-email", "GET", 200, anonymous=200),
    R("webapp:sign-in-email", "POST", 400, anonymous=400),
    # A sign-in link that is not whole signs nobody in, whoever opens it.
    replace(
        R("webapp:sign-in-email-link", "GET", 400, anonymous=400),
        kwargs=lambda world: {"uid": "MQ", "token": "not-a-link"},
    ),
    replace(
        R("webapp:sign-in-email-link", "POST", 400, anonymous=400),
        kwargs=lambda world: {"uid": "MQ", "token": "not-a-link"},
    ),
    R("webapp:sign-out", "POST", LOGIN),
    # Joining is for people without an account: anyone signed in is sent home.
    R("webapp:join", "GET", 302, anonymous=200),
    R("webapp:join", "POST", UNCHANGED, anonymous=400),
    # Everyone in the world confirmed their number long ago: back to the profile page
    # with "confirmed already", and no code is sent.
    R("webapp:phone-confirm", "GET", 302),
    R("webapp:phone-confirm", "POST", UNCHANGED),
    R("webapp:phone-code", "POST", UNCHANGED),
    # One's own password, for anyone signed in; the matrix posts nothing to change it with.
    R("webapp:password-change", "GET", 200),
    R("webapp:password-change", "POST", 400),
    # The link e-mailed to an address answers whoever opens it, signed in or not: the
    # page shows the address, its button confirms it (and then shows it confirmed).
    R("webapp:email-confirm", "GET", 200, anonymous=200),
    R("webapp:email-confirm", "POST", 302, anonymous=302),
    # A link that is not whole is refused with its reason, and confirms nothing.
    replace(
        R("webapp:email-confirm", "GET", 400, anonymous=400, label="bad-link"),
        kwargs=lambda world: {"token": "not-a-link:from-us"},
    ),
    replace(
        R("webapp:email-confirm", "POST", 400, anonymous=400, label="bad-link"),
        kwargs=lambda world: {"token": "not-a-link:from-us"},
    ),
    # Nobody in the world has an e-mail address to confirm: back to the profile page with
    # the reason, and nothing is sent.
    R("webapp:email-link", "POST", UNCHANGED),
    R("webapp:stats:dashboard", "GET", 403, analyst=200, analyst_other=200),
    # Another municipality asked for by id: hidden from the analyst of Vansbro.
    R(
        "webapp:stats:dashboard",
        "GET",
        403,
        analyst=404,
        analyst_other=200,
        query=lambda world: f"municipality={world.other_municipality.pk}",
        label="other-municipality",
    ),
    # A person's file and erasure (docs/privacy.md): the person, their proxy, or staff;
    # what the answer shows is the resident's own file, whoever may fetch it.
    R(
        "carpool-trip-detail",
        "PATCH",
        403,
        proxy=404,
        driver_assigned=200,
        analyst=404,
        analyst_other=404,
        staff=404,
    ),
    R("gbfs31-gbfs-versions", "GET", 200, anonymous=200),
    R("gbfs31-gbfs", "GET", 200, anonymous=200),
    R("gbfs31-station-information", "GET", 200, anonymous=200),
    R("gbfs31-station-status", "GET", 200, anonymous=200),
    R("gbfs31-system-information", "GET", 200, anonymous=200),
    R("gbfs31-system-pricing-plans", "GET", 200, anonymous=200),
    R("gbfs31-vehicle-availability", "GET", 200, anonymous=200),
    R("gbfs31-vehicle-types", "GET", 200, anonymous=200),
    R("gtfs-flex-feed", "GET", 200, anonymous=200),
    R("person-erase", "GET", 404, resident=200, proxy=200, staff=200, acts_as="resident"),
    R("person-erase", "POST", 404, resident=200, proxy=200, staff=200),
    R("person-export", "GET", 404, resident=200, proxy=200, staff=200, acts_as="resident"),
    R("webapp:carpool-after-trip", "GET", 404, resident=200, driver_assigned=200),
    R("webapp:carpool-after-trip", "POST", 404, resident=400, driver_assigned=400),
    R("webapp:carpool-trip-edit", "GET", 404, driver_assigned=200),
    R("webapp:carpool-trip-edit", "POST", 404, driver_assigned=400),
    R("webapp:notification-choices", "GET", 200),
    R("webapp:notification-choices", "POST", UNCHANGED),
    R("webapp:person-erase", "GET", 404, resident=200, proxy=200, staff=200, acts_as="resident"),
    # Answering a request for help: only the person asked; the world's link is accepted
    # already, so the proxy is sent back to the profile page with a message.
    R("webapp:proxy-accept", "POST", 404, proxy=UNCHANGED),
    R("webapp:proxy-decline", "POST", 404, proxy=UNCHANGED),
    R("webapp:person-erase", "POST", 404, resident=302, proxy=302, staff=302),
    R("webapp:person-export", "GET", 404, resident=200, proxy=200, staff=200, acts_as="resident"),
]

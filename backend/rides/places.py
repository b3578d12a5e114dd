"""The places a rider knows: their home and the ends of their recent rides. The booking
forms offer them (the pickup starts at home), and a place chosen from them keeps the
point it had, so booking "from home" or "to the health centre again" needs neither the
map nor the geocoder."""

from dataclasses import dataclass

from django.contrib.gis.geos import Point

from backend.accounts.models import User
from backend.community.selectors import people_actable_everywhere_by, user_can_act_for_in
from backend.geocoding import geocode, normalise_query
from backend.rides.models import RideRequest

# Enough rides to find a handful of different places; older ones add little.
RECENT_RIDES = 30


@dataclass(frozen=True)
class KnownPlace:
    address: str
    point: Point
    is_home: bool = False


def known_places_of(
    *, rider: User, association_id: int | None = None, limit: int = 6
) -> list[KnownPlace]:
    """`rider`'s home (when it has a point), then the destinations and pickups of their
    latest rides, newest first, each address once. With `association_id`, only rides
    with that association: a coordinator sees a member's rides of their own association
    only. Rides whose addresses were removed (retention, erasure) offer nothing."""
    places: list[KnownPlace] = []
    seen: set[str] = set()

    def add(address: str, point: Point | None, *, is_home: bool = False) -> None:
        key = normalise_query(address)
        if key and point is not None and key not in seen:
            seen.add(key)
            places.append(KnownPlace(" ".join(address.split()), point, is_home))

    add(rider.home_address, rider.home_location, is_home=True)
    rides = RideRequest.objects.filter(rider=rider)
    if association_id is not None:
        rides = rides.filter(association_id=association_id)
    ends = rides.order_by("-created_at", "-pk").values_list(
        "destination_address", "destination", "pickup_address", "pickup"
    )
    for destination_address, destination, pickup_address, pickup in ends[:RECENT_RIDES]:
        add(destination_address, destination)
        add(pickup_address, pickup)
        if len(places) >= limit:
            break
    return places[:limit]


def known_places_seen_by(
    *, actor: User, rider: User, association_id: int | None = None
) -> list[KnownPlace] | None:
    """The known places of `rider` that `actor` may use when booking a ride with the
    association `association_id`: all of them for the rider and their proxies (who act
    for them everywhere), those of that association's rides for its coordinators (who
    act for its members there only); None when `actor` may not book for `rider` there."""
    if (
        actor.pk == rider.pk
        or people_actable_everywhere_by(actor=actor).filter(pk=rider.pk).exists()
    ):
        return known_places_of(rider=rider)
    if association_id is not None and user_can_act_for_in(
        actor=actor, resident=rider, association_id=association_id
    ):
        return known_places_of(rider=rider, association_id=association_id)
    return None


def place_point(
    *, address: str, point: Point | None, known: list[KnownPlace] | None, field: str
) -> Point:
    """Where a booking's place is: the point given (the map, coordinates), else that of
    `address` among the rider's `known` places, else the address looked up (an
    ApplicationError naming `field` when it cannot be found)."""
    if point is None:
        point = known_point(known or [], address)
    if point is None:
        point = geocode(address, field=field)
    return point


def known_point(places: list[KnownPlace], address: str) -> Point | None:
    """The point of `address` when it is one of `places` (spelt the same but for case
    and spaces), else None: the address is then looked up or picked on the map."""
    key = normalise_query(address)
    return next((place.point for place in places if normalise_query(place.address) == key), None)

"""What a seat costs: a share of the driver's cost, never more than the cost.

The driver's cost is the trip's kilometres times CARPOOL_COST_ORE_PER_KM. The suggested
price splits it evenly between the driver and a full car of passengers; the cap is the
cost split between the passengers only (CARPOOL_CAP_ORE_PER_KM), so that even a full car
never pays the driver more than the trip costs: what Swedish carpool groups do, and what
keeps it a shared cost rather than taxable income. Prices are whole kronor (öre / 100).
"""

from django.conf import settings


def _kronor_down(ore: float) -> int:
    return int(ore // 100) * 100


def price_suggested(*, distance_m: int, seats: int) -> int:
    cost = distance_m / 1000 * settings.CARPOOL_COST_ORE_PER_KM
    return min(_kronor_down(cost / (seats + 1)), price_cap(distance_m=distance_m, seats=seats))


def price_cap(*, distance_m: int, seats: int) -> int:
    return _kronor_down(distance_m / 1000 * settings.CARPOOL_CAP_ORE_PER_KM / seats)


def price_for_part(*, price_ore: int, shared_fraction: float, seats: int) -> int:
    """A passenger riding part of the way pays that part of the price (at least 1 kr a
    seat when the trip is not free), in whole kronor."""
    if price_ore == 0:
        return 0
    each = max(100, round(price_ore * min(shared_fraction, 1.0) / 100) * 100)
    return each * seats

"""What a booking costs, in öre. Pure functions, so every case is easy to test by hand.

Time is charged like a cooperative car pool does: whole hours at the hourly price, but a
day never costs more than the day price; with only a day price, every started day counts.
Cars add the kilometres driven at the km price.
"""

import math
from dataclasses import dataclass
from datetime import timedelta

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@dataclass(frozen=True)
class Prices:
    per_hour_ore: int = 0
    per_day_ore: int = 0
    per_km_ore: int = 0


def time_cost_ore(prices: Prices, length: timedelta) -> int:
    # Whole minutes: a return a few seconds past the hour does not start a new one.
    length = timedelta(minutes=length // timedelta(minutes=1))
    if length <= timedelta(0):
        return 0
    hourly, daily = prices.per_hour_ore, prices.per_day_ore
    if hourly and daily:
        days, rest = divmod(length, DAY)
        return days * daily + min(math.ceil(rest / HOUR) * hourly, daily)
    if daily:
        return math.ceil(length / DAY) * daily
    return math.ceil(length / HOUR) * hourly


def booking_cost_ore(prices: Prices, length: timedelta, km: int = 0) -> int:
    return time_cost_ore(prices, length) + max(km, 0) * prices.per_km_ore

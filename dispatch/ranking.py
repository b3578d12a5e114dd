"""The order in which drivers are offered a ride: near first, and fair among the near.

The rule
--------
Each candidate gets a score in metres::

    score = distance_m + RIDE_WEIGHT_M * min(recent_rides, RIDES_COUNTED)

with RIDE_WEIGHT_M = 1,000 and RIDES_COUNTED = 4: every ride a driver did or holds in the
last RIDES_FAIRNESS_DAYS days counts as one kilometre of extra distance, for at most four
rides. Lower scores come first; ties go to the nearer driver, then to the one with fewer
rides, then to the lower driver id, so the order never depends on the input order.

What it means in practice:

- Drivers who have had the same number of rides are ordered by distance alone.
- A driver with two fewer rides goes ahead of a nearer one who is less than 2 km closer:
  among drivers at a similar distance, the one who has driven less is asked first.
- Fairness never costs the rider more than 4 km of extra approach: a busy driver is moved
  back by at most 4 km, so a driver who lives next door is still asked before someone
  five kilometres away, however many rides the neighbour has had.

Why a score and not distance bands (e.g. "within each 2 km band, fewer rides first"):
bands put an edge at arbitrary distances. Drivers at 1.9 km and 2.1 km are at a similar
distance, but they would land in different bands and fairness would not apply between
them, while drivers at 2.1 km and 3.9 km would be compared by rides alone. The score
trades distance against rides at the same rate everywhere, and the cap bounds the detour.

The module is pure: it works on anything with `driver_id`, `distance_m` and
`recent_rides` (in practice `dispatch.matching.Candidate`), and only reorders.
"""

from collections.abc import Iterable
from typing import Protocol, TypeVar

RIDE_WEIGHT_M = 1_000
RIDES_COUNTED = 4


class Rankable(Protocol):
    @property
    def driver_id(self) -> int: ...

    @property
    def distance_m(self) -> int: ...

    @property
    def recent_rides(self) -> int: ...


R = TypeVar("R", bound=Rankable)


def score(candidate: Rankable) -> int:
    """The candidate's distance in metres plus the fairness penalty for recent rides."""
    return candidate.distance_m + RIDE_WEIGHT_M * min(candidate.recent_rides, RIDES_COUNTED)


def rank(candidates: Iterable[R]) -> list[R]:
    """The candidates best first (see the module docstring for the rule)."""
    return sorted(
        candidates,
        key=lambda c: (score(c), c.distance_m, c.recent_rides, c.driver_id),
    )

"""Where the statistics come from: one `Source` per service.

A service plugs into the statistics by adding one module here with a `SOURCE` and
listing it in `SOURCES`. The refresh (`backend.stats.refresh`) does the rest: it finds
the (association, day) pairs that changed, recomputes their summary rows in one
INSERT ... SELECT over `facts_sql`, and assigns the unserved requests to map cells.

`facts_sql` is a SELECT with one row per request (a ride request, a seat booking, a
loan, a shop-run sign-up) and exactly these columns:

| column | type | meaning |
|---|---|---|
| kind | text | resource kind (car, tool, room) for shared things, else '' |
| municipality_id, association_id | bigint | whose figures these are |
| village_id | bigint or NULL | the village the request belongs to |
| day | date | local date (Europe/Stockholm, `%(tz)s`) of the trip or booking |
| person_id | bigint | the person served (the rider, passenger, borrower) |
| elderly | boolean | that person was `%(elderly_age)s` or older in that year |
| managed | boolean | that person has a managed profile (no login of their own) |
| fulfilled, unfulfilled, cancelled, no_show | boolean | the outcome; at most one true |
| passengers | integer | people carried (counted when fulfilled) |
| vehicle_m, passenger_m | bigint | vehicle and passenger metres (when fulfilled) |
| volunteer_s, volunteer_m | bigint | volunteers' time and distance (when fulfilled), else 0 |
| usage_s | bigint | time a shared resource was in use (when fulfilled), else 0 |
| accept_delay_s | integer or NULL | seconds from request to acceptance, NULL if never |
| lon, lat | float | pickup point (used for unfulfilled requests: the map) |

How the coming services map onto it (the columns are the same, the words differ):
carpool: one row per seat booking, passengers = seats, vehicle_m = the driver's trip
(shared with other bookings of that trip: the source divides it by bookings),
volunteer_* = 0; shared things: one row per booking, kind = resource kind, usage_s =
checked-out time, vehicle_m from the odometer for cars; shop runs: one row per sign-up,
volunteer_* from the run divided by its passengers.

`changed_sql` returns the (association_id, day) pairs with any change at or after
`%(since)s`; a service whose tables have no change log of their own returns the pairs of
rows touched since then by an `updated_at` column.
"""

from dataclasses import dataclass

from django.utils.functional import Promise


@dataclass(frozen=True)
class Source:
    service: str
    label: Promise
    facts_sql: str
    changed_sql: str


def _sources() -> tuple[Source, ...]:
    from backend.stats.sources import carpool, rides, sharing, shuttle

    return (rides.SOURCE, carpool.SOURCE, shuttle.SOURCE, sharing.SOURCE)


SOURCES: tuple[Source, ...] = _sources()
SERVICES: dict[str, Source] = {source.service: source for source in SOURCES}

"""Materialised availability: each driver's weekly slots and dated exceptions turned into
concrete windows of time (`AvailabilityWindow`) for the dates of `AvailabilityHorizon`.

The candidate query (dispatch.matching) then finds the drivers free at a ride's time
with one GiST index on (association, during, home_base), instead of working out each
driver's week for every request.

A window is one weekly slot, or one `extra` period, on one local date, turned into
instants by `LocalDay.instant` (so DST nights follow the same rule as the query), minus
the `away` periods of that date. A whole-day `away` removes the date. Windows of one
driver may overlap or touch (a slot and an extra period); they are not joined, because a
trip must fit inside one slot or one extra period.

Keeping them right:

- `availability_windows_rebuild(driver_ids=...)`: after any change to a driver's slots,
  exceptions or home base (the services in backend.rides.drivers call it in their
  transaction);
- `availability_windows_roll()`: the Celery beat task `roll_availability_windows`, hourly,
  moves the horizon to [today, today + RIDES_AVAILABILITY_DAYS): drops past dates and
  builds the new ones (the first run builds everything). Safe to run twice.
- the association is copied from the profile and kept equal by a foreign key with
  ON UPDATE CASCADE (migration 0003).

Until the first build, or for a ride outside the horizon, the query works the week out
itself (the same answer, slower).
"""

import datetime as dt
from collections.abc import Collection

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from backend.rides.localtime import DAYS_SQL, day_arrays, instant_sql, local_day
from backend.rides.models import AvailabilityHorizon, ExceptionKind

ONE_DAY = dt.timedelta(days=1)

# Windows of the drivers selected by {drivers} on the dates of the `day` rows: each slot
# or extra period as a range, minus that date's away periods (closed ranges, so a trip
# may end when an away period starts and start when it ends, as in the query).
_BUILD = f"""
WITH day AS MATERIALIZED (SELECT * FROM {DAYS_SQL}),
driver AS MATERIALIZED (
    SELECT d.id, d.association_id, d.home_base FROM rides_driverprofile AS d
    WHERE {{drivers}}
),
period AS (
    SELECT slot.driver_id, day.date,
           tstzrange({instant_sql("day", "slot.start")}, {instant_sql("day", 'slot."end"')})
               AS during
    FROM day JOIN rides_availabilityslot AS slot ON slot.weekday = day.weekday
    WHERE slot.driver_id IN (SELECT id FROM driver)
    UNION ALL
    SELECT extra.driver_id, day.date,
           tstzrange({instant_sql("day", "extra.start")}, {instant_sql("day", 'extra."end"')})
    FROM day JOIN rides_availabilityexception AS extra ON extra.date = day.date
    WHERE extra.kind = '{ExceptionKind.EXTRA}' AND extra.driver_id IN (SELECT id FROM driver)
),
away AS (
    SELECT away.driver_id, day.date,
           bool_or(away.start IS NULL) AS all_day,
           coalesce(
               range_agg(tstzrange({instant_sql("day", "away.start")},
                                   {instant_sql("day", 'away."end"')}, '[]'))
                   FILTER (WHERE away.start IS NOT NULL),
               '{{}}'::tstzmultirange) AS blocked
    FROM day JOIN rides_availabilityexception AS away ON away.date = day.date
    WHERE away.kind = '{ExceptionKind.AWAY}' AND away.driver_id IN (SELECT id FROM driver)
    GROUP BY away.driver_id, day.date
)
INSERT INTO rides_availabilitywindow (driver_id, association_id, home_base, day, during)
SELECT period.driver_id, driver.association_id, driver.home_base, period.date,
       tstzrange(lower(piece), upper(piece))
FROM period
JOIN driver ON driver.id = period.driver_id
LEFT JOIN away ON away.driver_id = period.driver_id AND away.date = period.date
CROSS JOIN LATERAL unnest(
    tstzmultirange(period.during) - coalesce(away.blocked, '{{}}'::tstzmultirange)
) AS piece
WHERE away.all_day IS NOT TRUE AND lower(piece) < upper(piece)
"""  # noqa: S608 - only constants of this module are interpolated; values are parameters


def _build(*, first: dt.date, until: dt.date, driver_ids: Collection[int] | None) -> int:
    """Insert the windows of local dates [first, until) for the drivers (all when None).
    Returns how many windows were written."""
    days = []
    date = first
    while date < until:
        days.append(local_day(date))
        date += ONE_DAY
    if not days:
        return 0
    params = day_arrays(days)
    if driver_ids is None:
        drivers = "true"
    else:
        drivers = "d.id = ANY(%(drivers)s::bigint[])"
        params["drivers"] = list(driver_ids)
    with connection.cursor() as cursor:
        cursor.execute(_BUILD.replace("{drivers}", drivers), params)
        return cursor.rowcount


@transaction.atomic
def availability_windows_rebuild(*, driver_ids: Collection[int]) -> int:
    """Rebuild the windows of these drivers for the current horizon, after their slots,
    exceptions or home base changed. Call it in the transaction that made the change.

    Locks the horizon row FOR SHARE (so the beat task does not move the horizon under
    it) and the drivers' profile rows (so two rebuilds of one driver do not both
    insert). Returns how many windows were written; none before the first build."""
    ids = sorted(set(driver_ids))
    if not ids:
        return 0
    with connection.cursor() as cursor:
        cursor.execute("SELECT first, until FROM rides_availabilityhorizon WHERE id = 1 FOR SHARE")
        row = cursor.fetchone()
        if row is None or row[0] is None:
            return 0
        first, until = row
        cursor.execute(
            "SELECT id FROM rides_driverprofile WHERE id = ANY(%s::bigint[])"
            " ORDER BY id FOR NO KEY UPDATE",
            [ids],
        )
        cursor.execute(
            "DELETE FROM rides_availabilitywindow WHERE driver_id = ANY(%s::bigint[])", [ids]
        )
    return _build(first=first, until=until, driver_ids=ids)


@transaction.atomic
def availability_windows_roll(*, today: dt.date | None = None, days: int | None = None) -> int:
    """Move the horizon to [today, today + days): drop the windows of past dates, build
    the dates that are new (everything on the first run). Safe to run twice and
    concurrently (the horizon row is locked FOR UPDATE). Returns the windows written."""
    today = today or timezone.localdate()
    days = days if days is not None else settings.RIDES_AVAILABILITY_DAYS
    until = today + dt.timedelta(days=days)
    AvailabilityHorizon.objects.get_or_create(pk=1)
    horizon = AvailabilityHorizon.objects.select_for_update().get(pk=1)
    with connection.cursor() as cursor:
        if horizon.first is None or horizon.until <= today or horizon.first > today:
            # Nothing usable: build the whole horizon afresh.
            cursor.execute("DELETE FROM rides_availabilitywindow")
            written = _build(first=today, until=until, driver_ids=None)
        else:
            cursor.execute("DELETE FROM rides_availabilitywindow WHERE day < %s", [today])
            # Dates beyond the new end (the setting got smaller) go too.
            cursor.execute("DELETE FROM rides_availabilitywindow WHERE day >= %s", [until])
            written = _build(first=horizon.until, until=until, driver_ids=None)
    if (horizon.first, horizon.until) != (today, until) or written:
        horizon.first, horizon.until = today, until
        horizon.built_at = timezone.now()
        horizon.save(update_fields=["first", "until", "built_at"])
    return written

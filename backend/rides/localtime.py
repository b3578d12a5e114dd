"""Local (Europe/Stockholm) dates and the instants their wall-clock times stand for.

Slots and exceptions are wall-clock times of a local date. On the two nights a year when
the clocks change, a wall-clock time means the first moment the clock shows it (or a
later time):

- spring forward (last Sunday of March, 02:00 becomes 03:00): a time in the skipped hour,
  e.g. 02:30, means 03:00 summer time, the moment the clocks jump. A slot 01:00-05:00
  that night is three real hours long.
- fall back (last Sunday of October, 03:00 becomes 02:00 again): a time in the repeated
  hour means its first occurrence (summer time); 03:00 and later are winter time. A slot
  01:00-05:00 that night is five real hours long.

`LocalDay.instant` is the rule in Python; `instant_sql` is the same rule in SQL, given a
row with the day's `base`, `turn`, `shift` and `gap` (see `day_arrays`). Both the
candidate query (dispatch.matching) and the materialised availability windows
(backend.rides.availability) use them, so the two always agree.
"""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

from django.conf import settings

UTC = dt.UTC
ZERO = dt.timedelta(0)
ONE_DAY = dt.timedelta(days=1)


def local_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


@dataclass(frozen=True)
class LocalDay:
    """A local calendar date and how its wall-clock times map to instants.

    `base` is the instant local midnight would be at the day's first UTC offset; at the
    wall-clock time `turn` (24 h on days without a change) the clocks move by `shift`
    (+1 h in spring, -1 h in autumn).
    """

    date: dt.date
    base: dt.datetime
    turn: dt.timedelta
    shift: dt.timedelta

    @property
    def gap(self) -> dt.timedelta:
        """How long the skipped wall-clock interval is (spring forward), else zero."""
        return max(self.shift, ZERO)

    def instant(self, at: dt.time) -> dt.datetime:
        """The first moment the local clock shows `at` (or later) on this date, in UTC.

        `instant_sql` computes the same thing in SQL."""
        wall = dt.timedelta(
            hours=at.hour, minutes=at.minute, seconds=at.second, microseconds=at.microsecond
        )
        if wall < self.turn:
            return self.base + wall
        if wall < self.turn + self.gap:
            return self.base + self.turn
        return self.base + wall - self.shift

    @property
    def start(self) -> dt.datetime:
        return self.instant(dt.time(0))

    @property
    def end(self) -> dt.datetime:
        """Local midnight at the end of the day (the next day's start)."""
        return local_day(self.date + ONE_DAY).start


@lru_cache(maxsize=1024)
def local_day(date: dt.date) -> LocalDay:
    zone = local_zone()
    midnight = dt.datetime.combine(date, dt.time(0))
    before = dt.datetime.combine(date, dt.time(0), tzinfo=zone).utcoffset() or ZERO
    after = dt.datetime.combine(date + ONE_DAY, dt.time(0), tzinfo=zone).utcoffset() or ZERO
    base = (midnight - before).replace(tzinfo=UTC)
    if before == after:
        return LocalDay(date=date, base=base, turn=ONE_DAY, shift=ZERO)
    # The clocks change during the day: find the first second at the new offset.
    low, high = int(base.timestamp()), int((base + ONE_DAY).timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if dt.datetime.fromtimestamp(middle, tz=zone).utcoffset() == before:
            low = middle
        else:
            high = middle
    change = dt.datetime.fromtimestamp(high, tz=UTC)
    return LocalDay(date=date, base=base, turn=change - base, shift=after - before)


@dataclass(frozen=True)
class DayWindow:
    """The part of a ride's pickup window that falls on one local date."""

    day: LocalDay
    earliest: dt.datetime
    latest: dt.datetime


def local_days(earliest: dt.datetime, latest: dt.datetime) -> list[DayWindow]:
    """Cut the pickup window [earliest, latest] into local calendar days."""
    zone = local_zone()
    date = earliest.astimezone(zone).date()
    last = latest.astimezone(zone).date()
    windows = []
    while date <= last:
        day = local_day(date)
        low, high = max(earliest, day.start), min(latest, day.end)
        if low <= high:
            windows.append(DayWindow(day=day, earliest=low, latest=high))
        date += ONE_DAY
    return windows


def instant_sql(day: str, column: str) -> str:
    """SQL for LocalDay.instant: when the clock on `day` first shows `column` (a time)."""
    wall = f"{column}::interval"
    return (
        f"({day}.base + CASE WHEN {wall} < {day}.turn THEN {wall}"
        f" WHEN {wall} < {day}.turn + {day}.gap THEN {day}.turn"
        f" ELSE {wall} - {day}.shift END)"
    )


def day_arrays(days: Sequence[LocalDay]) -> dict[str, list]:
    """Query parameters describing `days`, for `unnest(...) AS day(date, weekday, base,
    turn, shift, gap)` (see DAYS_SQL)."""
    return {
        "dates": [d.date for d in days],
        "weekdays": [d.date.weekday() for d in days],
        "bases": [d.base for d in days],
        "turns": [d.turn for d in days],
        "shifts": [d.shift for d in days],
        "gaps": [d.gap for d in days],
    }


DAYS_SQL = """unnest(
        %(dates)s::date[], %(weekdays)s::smallint[], %(bases)s::timestamptz[],
        %(turns)s::interval[], %(shifts)s::interval[], %(gaps)s::interval[]
    ) AS day(date, weekday, base, turn, shift, gap)"""

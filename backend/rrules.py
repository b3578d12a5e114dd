"""Limits on the RFC 5545 rules people type (carpool trips, shop runs).

dateutil expands whatever it is given, and some rules never finish or fail half-way:
INTERVAL=0 never advances; BYMONTH=13, BYWEEKNO=60 or BYMONTHDAY=-40 make it search up
to the year 9999 for a date that cannot exist; BYDAY=+9MO raises IndexError while
expanding; a time-zoned UNTIL next to a local start fails at the first comparison. So a
rule is checked part by part before dateutil reads it (`rule_problem`), and expansion
always stops at the end of the period asked for (`occurrences`), whatever COUNT or UNTIL
the rule has. A rule may not have both (RFC 5545; dateutil warns it will refuse them).
"""

import datetime as dt
import re
import warnings
from itertools import islice

from dateutil.rrule import rrule, rrulestr
from django.utils.translation import gettext_lazy as _

WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
MAX_INTERVAL = 99
MAX_COUNT = 10_000
MAX_RULE_LENGTH = 300
# The numbers each part takes. Parts that set times (BYHOUR, BYMINUTE, BYSECOND: the time
# is the trip's or the run's) or are rarely meant (BYWEEKNO, BYYEARDAY, BYEASTER) are
# refused.
NUMBER_RANGES: dict[str, tuple[int, int]] = {
    "INTERVAL": (1, MAX_INTERVAL),
    "COUNT": (1, MAX_COUNT),
    "BYMONTH": (1, 12),
    "BYMONTHDAY": (-31, 31),
    "BYSETPOS": (-366, 366),
}
LIST_PARTS = {"BYMONTH", "BYMONTHDAY", "BYSETPOS"}
RULE_PARTS = {*NUMBER_RANGES, "UNTIL", "BYDAY", "WKST"}
_BYDAY = re.compile(r"^([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$")
_UNTIL = re.compile(r"^\d{8}(T\d{6})?$")


def rule_problem(body: str, *, frequencies: set[str]) -> str | None:
    """What is wrong with an RRULE value (without `RRULE:`), or None when it may be
    expanded. `frequencies` are the FREQ values the caller allows."""
    if not body or len(body) > MAX_RULE_LENGTH:
        return str(_("Give one RRULE of at most %(max)s characters.") % {"max": MAX_RULE_LENGTH})
    seen: dict[str, str] = {}
    for item in body.upper().split(";"):
        name, sign, value = item.partition("=")
        if not sign or not value:
            return str(_("Write each part as NAME=value, separated by semicolons."))
        if name in seen:
            return str(_("%(part)s is given twice.") % {"part": name})
        if name != "FREQ" and name not in RULE_PARTS:
            return str(_("%(part)s cannot be used here.") % {"part": name})
        seen[name] = value
    if "COUNT" in seen and "UNTIL" in seen:
        # RFC 5545 forbids both in one rule (dateutil warns it will refuse them).
        return str(_("Give COUNT or UNTIL, not both."))
    freq = seen.get("FREQ")
    if freq not in frequencies:
        return str(
            _("FREQ must be one of %(allowed)s.") % {"allowed": ", ".join(sorted(frequencies))}
        )
    for name, value in seen.items():
        problem = _part_problem(name, value, freq)
        if problem:
            return problem
    return _never_problem(seen, freq)


# Days in each month at most (February in a leap year).
MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _never_problem(parts: dict[str, str], freq: str) -> str | None:
    """Rules that can never give a date: dateutil would search for one, period by
    period, up to the year 9999 (seconds for a daily rule), whatever UNTIL says, since it
    only compares UNTIL with dates it finds."""
    if "BYSETPOS" in parts:
        if freq not in ("MONTHLY", "YEARLY") or not {"BYDAY", "BYMONTHDAY"} & set(parts):
            return str(
                _("BYSETPOS picks among the days of BYDAY or BYMONTHDAY, monthly or yearly.")
            )
        most = _dates_per_period(parts, freq)
        if any(abs(int(n)) > most for n in parts["BYSETPOS"].split(",")):
            return str(_("BYSETPOS asks for more days than the rule gives (%(most)s).")) % {
                "most": most
            }
    if "BYMONTHDAY" in parts and freq == "WEEKLY":
        return str(_("BYMONTHDAY cannot be used with FREQ=WEEKLY."))
    interval = int(parts.get("INTERVAL", "1"))
    if freq == "DAILY" and "BYDAY" in parts and interval % 7 == 0:
        return str(_("Every %(n)s weeks on given days: use FREQ=WEEKLY;INTERVAL=%(n)s.")) % {
            "n": interval // 7
        }
    if "BYMONTHDAY" in parts:
        months = [int(m) for m in parts.get("BYMONTH", "1,2,3,4,5,6,7,8,9,10,11,12").split(",")]
        days = [abs(int(d)) for d in parts["BYMONTHDAY"].split(",")]
        if not any(day <= MONTH_DAYS[month - 1] for month in months for day in days):
            return str(_("No month has that day: check BYMONTH and BYMONTHDAY."))
    return None


def _part_problem(name: str, value: str, freq: str) -> str | None:
    if name in NUMBER_RANGES:
        low, high = NUMBER_RANGES[name]
        numbers = value.split(",") if name in LIST_PARTS else [value]
        for number in numbers:
            if not re.fullmatch(r"[+-]?\d{1,6}", number) or not low <= int(number) <= high:
                return str(
                    _("%(part)s takes whole numbers from %(low)s to %(high)s.")
                    % {"part": name, "low": low, "high": high}
                )
            if int(number) == 0 and low < 0:
                return str(_("%(part)s cannot be 0.") % {"part": name})
    elif name == "BYDAY":
        # An ordinal (1MO: the first Monday) only within a month or a year.
        most = {"MONTHLY": 5, "YEARLY": 53}.get(freq, 0)
        for day in value.split(","):
            match = _BYDAY.match(day)
            if match is None:
                return str(_("BYDAY takes days like MO,TU or, monthly, 1MO or -1FR."))
            if match.group(1) is not None and not 1 <= abs(int(match.group(1))) <= most:
                return str(_("BYDAY takes days like MO,TU or, monthly, 1MO or -1FR."))
    elif name == "WKST":
        if value not in WEEKDAYS:
            return str(_("WKST is a day: MO, TU, WE, TH, FR, SA or SU."))
    elif name == "UNTIL" and not _UNTIL.match(value):
        return str(_("Give UNTIL as a local date and time without a time zone."))
    return None


def occurrences(
    rule: rrule, *, start: dt.datetime, end: dt.datetime, limit: int
) -> list[dt.datetime]:
    """The rule's moments in [start, end], at most `limit`. dateutil is told to stop at
    `end` (a rule that matches nothing then stops there too, not in the year 9999);
    COUNT is counted here from the rule's own start, as RFC 5545 says."""
    if end < start or end < rule._dtstart:
        return []
    count = rule._count
    until = end if rule._until is None else min(rule._until, end)
    found: list[dt.datetime] = []
    try:
        for index, moment in enumerate(rule.replace(count=None, until=until)):
            if count is not None and index >= count:
                break
            if moment >= start:
                found.append(moment)
                if len(found) >= limit:
                    break
    except ValueError:
        # dateutil looks at the days after the last one asked for in the same week or
        # month; at the end of the year 9999 there are none (date.fromordinal refuses).
        pass
    return found


def _dates_per_period(parts: dict[str, str], freq: str) -> int:
    """At most how many dates the rule gives in one month (MONTHLY) or year (YEARLY),
    the set BYSETPOS picks from."""
    months = len(parts["BYMONTH"].split(",")) if "BYMONTH" in parts else 12
    if "BYMONTHDAY" in parts:
        per_month = len(set(parts["BYMONTHDAY"].split(",")))
        return per_month if freq == "MONTHLY" else per_month * months
    days = parts["BYDAY"].split(",")
    if freq == "MONTHLY":
        return sum(1 if _BYDAY.match(d).group(1) else 5 for d in days)
    per_year = 5 * months if "BYMONTH" in parts else 53
    return sum(1 if _BYDAY.match(d).group(1) else per_year for d in days)


def with_one_bound(text: str, dtstart: dt.datetime) -> str:
    """A stored rule that has both COUNT and UNTIL (RFC 5545 forbids it; they were
    accepted before), rewritten with only the one that ends it first: the same dates.
    Any other rule, or one dateutil cannot read, comes back as it is."""
    prefix = text[: len("RRULE:")] if text.upper().startswith("RRULE:") else ""
    parts = text[len(prefix) :].split(";")
    names = [part.partition("=")[0].strip().upper() for part in parts]
    if "COUNT" not in names or "UNTIL" not in names:
        return text
    try:
        count = int(parts[names.index("COUNT")].partition("=")[2])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # dateutil's about both
            rule = rrulestr(";".join(parts), dtstart=dtstart)
            given = sum(1 for _moment in islice(rule, count))
    except (ValueError, TypeError, KeyError, IndexError):
        return text
    drop = "UNTIL" if given >= count else "COUNT"
    return prefix + ";".join(part for part, name in zip(parts, names, strict=True) if name != drop)

"""Recurring trips: RFC 5545 RRULEs (python-dateutil) over local wall-clock time.

The rule repeats the local time of the first departure: a commute at 07:10 leaves at
07:10 in winter and in summer, so its UTC time moves by an hour when the clocks change.
A local time that does not exist (02:30 on the night the clocks go forward) is read with
the offset before the change, i.e. it departs at 03:30 summer time; an ambiguous one
(02:30 on the night they go back) is its first occurrence (summer time).
"""

import datetime as dt
from zoneinfo import ZoneInfo

from dateutil.rrule import DAILY, MONTHLY, WEEKLY, rrule, rrulestr
from django.conf import settings

from backend.rrules import occurrences, rule_problem

ALLOWED_FREQUENCIES = {DAILY, WEEKLY, MONTHLY}
MAX_OCCURRENCES = 400


class InvalidRule(ValueError):
    pass


def _zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def _local_naive(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(_zone()).replace(tzinfo=None)


def _aware(naive: dt.datetime) -> dt.datetime:
    return naive.replace(tzinfo=_zone(), fold=0).astimezone(dt.UTC)


def parse_rule(text: str, *, first_departure: dt.datetime) -> rrule:
    """The rule anchored at the first departure, or InvalidRule with what is wrong."""
    body = text.strip().removeprefix("RRULE:")
    if not body or "\n" in body or "DTSTART" in body.upper():
        raise InvalidRule("Give one RRULE, e.g. FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR.")
    problem = rule_problem(body, frequencies={"DAILY", "WEEKLY", "MONTHLY"})
    if problem:
        raise InvalidRule(problem)
    try:
        rule = rrulestr(body, dtstart=_local_naive(first_departure))
    except (ValueError, TypeError) as error:
        raise InvalidRule(str(error)) from error
    if not isinstance(rule, rrule) or rule._freq not in ALLOWED_FREQUENCIES:
        raise InvalidRule("A trip repeats daily, weekly or monthly.")
    if rule._until is not None and rule._until.tzinfo is not None:
        raise InvalidRule("Give UNTIL as a local date and time without a time zone.")
    return rule


def departures_between(
    *, rule_text: str, first_departure: dt.datetime, start: dt.datetime, end: dt.datetime
) -> list[dt.datetime]:
    """The departures in [start, end], as UTC instants, at most MAX_OCCURRENCES."""
    if not rule_text:
        return [first_departure] if start <= first_departure <= end else []
    rule = parse_rule(rule_text, first_departure=first_departure)
    found = occurrences(
        rule, start=_local_naive(start), end=_local_naive(end), limit=MAX_OCCURRENCES
    )
    # The first departure keeps the instant the driver chose, also when its local time
    # comes twice (the night the clocks go back): _aware would read it as the first pass.
    first_local = _local_naive(first_departure)
    first = first_departure.astimezone(dt.UTC)
    instants = [first if local == first_local else _aware(local) for local in found]
    return [moment for moment in instants if start <= moment <= end]

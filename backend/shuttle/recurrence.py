"""The dates of a recurring run: RFC 5545 RRULE semantics through dateutil.

A schedule stores the RRULE value (`FREQ=WEEKLY;BYDAY=TH`, `FREQ=MONTHLY;BYDAY=1TU`,
`FREQ=WEEKLY;INTERVAL=2;BYDAY=MO`) and its first day; the rule yields dates, and the
run's local times are put on each date in Europe/Stockholm (so a Thursday 10:00 run is
at 10:00 in summer and in winter).
"""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import DAILY, MONTHLY, WEEKLY, YEARLY, rrule, rrulestr
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from backend.errors import ApplicationError
from backend.rrules import occurrences, rule_problem
from backend.shuttle.errors import ShuttleErrorCode

ALLOWED_FREQUENCIES = {DAILY, WEEKLY, MONTHLY, YEARLY}
MAX_RULE_LENGTH = 300


def _invalid(message) -> ApplicationError:
    return ApplicationError(ShuttleErrorCode.RRULE_INVALID, message, fields={"rrule": [message]})


def parse_rule(value: str, *, starts_on: date) -> rrule:
    """The rule, or a 400 naming what is wrong. Accepts the value with or without the
    `RRULE:` prefix; DTSTART comes from `starts_on`, not from the text."""
    text = value.strip()
    if text.upper().startswith("RRULE:"):
        text = text[len("RRULE:") :]
    if not text or len(text) > MAX_RULE_LENGTH or "\n" in text or "DTSTART" in text.upper():
        raise _invalid(_('Give the repetition as an RRULE, e.g. "FREQ=WEEKLY;BYDAY=TH".'))
    problem = rule_problem(text, frequencies={"DAILY", "WEEKLY", "MONTHLY", "YEARLY"})
    if problem:
        raise _invalid(problem)
    try:
        rule = rrulestr(text, dtstart=datetime.combine(starts_on, time(0)))
    except (ValueError, TypeError, KeyError, IndexError):
        raise _invalid(
            _('This repetition cannot be read. Use an RRULE such as "FREQ=WEEKLY;BYDAY=TH".')
        ) from None
    if not isinstance(rule, rrule) or rule._freq not in ALLOWED_FREQUENCIES:
        raise _invalid(_("A shop run repeats daily, weekly, monthly or yearly, not more often."))
    return rule


def rule_dates(rule: rrule, *, start: date, end: date) -> list[date]:
    """The dates the rule gives from `start` to `end`, both included."""
    # One run a day at most: a rule has no time parts (see backend.rrules), so each
    # moment is a distinct date; the limit is the number of days asked for.
    moments = occurrences(
        rule,
        start=datetime.combine(start, time(0)),
        end=datetime.combine(end, time(0)),
        limit=(end - start).days + 1,
    )
    return [moment.date() for moment in moments]


def local_moment(day: date, at: time) -> datetime:
    """`at` on `day` in local time (the first such moment when the clocks go back)."""
    return datetime.combine(day, at, tzinfo=ZoneInfo(settings.TIME_ZONE))


def deadline_for(day: date, *, days_before: int, at: time) -> datetime:
    return local_moment(day - timedelta(days=days_before), at)

"""Rules with both COUNT and UNTIL (RFC 5545 forbids them together): refused when typed
(tests/backend/test_rrules.py), and those stored before rewritten by a migration with
the one bound that ends them first, so they give the same dates."""

import datetime as dt
import importlib
import warnings

import pytest
from dateutil.rrule import rrulestr
from django.apps import apps
from django.contrib.gis.geos import Point

from backend.carpool.models import Trip
from backend.rrules import with_one_bound
from backend.shuttle.models import RunSchedule
from tests.factories import STOCKHOLM, next_weekday_at

# Rules are read in local time without a zone (carpool.recurrence, shuttle.recurrence).
MONDAY = dt.datetime(2027, 3, 1, 7, 10, tzinfo=STOCKHOLM).replace(tzinfo=None)


def dates(text: str, start: dt.datetime) -> list[dt.datetime]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return list(rrulestr(text.removeprefix("RRULE:"), dtstart=start))


@pytest.mark.parametrize(
    ("rule", "kept"),
    [
        ("FREQ=DAILY;COUNT=3;UNTIL=20271231", "FREQ=DAILY;COUNT=3"),
        ("FREQ=DAILY;UNTIL=20270303T235959;COUNT=10", "FREQ=DAILY;UNTIL=20270303T235959"),
        (
            "FREQ=WEEKLY;BYDAY=MO,TH;COUNT=4;UNTIL=20270311T235959",
            "FREQ=WEEKLY;BYDAY=MO,TH;COUNT=4",
        ),
        ("RRULE:FREQ=DAILY;count=2;until=20271231", "RRULE:FREQ=DAILY;count=2"),
    ],
    ids=["count-first", "until-first", "both-on-the-same-day", "prefix-and-lower-case"],
)
def test_a_rule_with_both_bounds_keeps_the_one_that_ends_it_first(rule, kept):
    assert with_one_bound(rule, MONDAY) == kept
    assert dates(kept, MONDAY) == dates(rule, MONDAY)


@pytest.mark.parametrize(
    "rule",
    ["FREQ=DAILY;COUNT=3", "FREQ=DAILY;UNTIL=20271231", "FREQ=DAILY;COUNT=x;UNTIL=2027"],
    ids=["count-only", "until-only", "unreadable"],
)
def test_other_rules_are_left_as_they_are(rule):
    assert with_one_bound(rule, MONDAY) == rule


def migration(app: str):
    return importlib.import_module(f"backend.{app}.migrations.0004_rrule_count_or_until")


@pytest.mark.django_db
def test_the_migration_rewrites_stored_trips_and_leaves_the_others(publish):
    first = next_weekday_at(0, 7, 0)
    tuesday = (first.astimezone(STOCKHOLM) + dt.timedelta(days=1)).strftime("%Y%m%dT235959")
    both = publish(first_departure=first, rrule="FREQ=DAILY;COUNT=3")
    Trip.objects.filter(pk=both.pk).update(rrule=f"FREQ=DAILY;UNTIL={tuesday};COUNT=5")
    plain = publish(first_departure=first, rrule="FREQ=WEEKLY;BYDAY=MO;COUNT=5")
    migration("carpool").keep_one_bound(apps, None)
    both.refresh_from_db()
    plain.refresh_from_db()
    assert both.rrule == f"FREQ=DAILY;UNTIL={tuesday}"  # Monday and Tuesday, as before
    assert plain.rrule == "FREQ=WEEKLY;BYDAY=MO;COUNT=5"


@pytest.mark.django_db
def test_the_migration_rewrites_stored_shop_run_schedules(association):
    schedule = RunSchedule.objects.create(
        association=association,
        name="Handla",
        rrule="FREQ=WEEKLY;BYDAY=TH;COUNT=2;UNTIL=20271231",
        starts_on=dt.date(2027, 3, 1),
        arrive_at=dt.time(10),
        leave_at=dt.time(11),
        destination=Point(14.0, 60.6, srid=4326),
        destination_name="ICA",
        deadline_time=dt.time(18),
    )
    migration("shuttle").keep_one_bound(apps, None)
    schedule.refresh_from_db()
    assert schedule.rrule == "FREQ=WEEKLY;BYDAY=TH;COUNT=2"

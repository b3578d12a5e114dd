"""Times in messages read as words in the reader's language, not as the payload stores
them ("2026-12-03 10:00")."""

import pytest
from django.utils import timezone, translation

from backend.notifications.kinds import get_kind, render, times_in_words


def this_year(month: int, day: int) -> str:
    return f"{timezone.localdate().year}-{month:02d}-{day:02d}"


@pytest.mark.parametrize(
    ("language", "weekdays", "expected"),
    [
        (
            "sv",
            ["måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag"],
            "Resan {weekday} 3 december 10:00 är inställd.",
        ),
        (
            "en",
            ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
            "The ride {weekday} 3 December 10:00 is cancelled.",
        ),
    ],
)
def test_a_ride_cancelled_names_the_day_and_time_in_words(language, weekdays, expected):
    day = timezone.localdate().replace(month=12, day=3)
    _title, body = render(
        get_kind("ride.cancelled"), {"when": f"{this_year(12, 3)} 10:00", "reason": ""}, language
    )
    assert body.strip() == expected.format(weekday=weekdays[day.weekday()])


def test_another_year_is_named_and_a_period_reads_as_one():
    with translation.override("en"):
        assert times_in_words("2031-01-02 09:05-11:00") == "Thursday 2 January 2031 09:05-11:00"
        assert times_in_words("Not a date: 2031-02-30 10:00") == "Not a date: 2031-02-30 10:00"

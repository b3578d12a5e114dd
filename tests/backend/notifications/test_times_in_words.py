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


@pytest.mark.parametrize(
    ("kind", "back", "language", "expected"),
    [
        (
            "ride.cancelled",
            "2031-01-02 15:00",
            "en",
            "The ride Thursday 2 January 2031 10:00 and its return trip at 15:00 are cancelled."
            " Sjuk",
        ),
        (
            "ride.cancelled",
            "2031-01-02 15:00",
            "sv",
            "Resan torsdag 2 januari 2031 10:00 och returresan kl. 15:00 är inställda. Sjuk",
        ),
        (
            "ride.cancelled",
            "2031-01-03 09:30",
            "en",
            "The ride Thursday 2 January 2031 10:00 and its return trip Friday 3 January 2031"
            " 09:30 are cancelled. Sjuk",
        ),
        (
            "ride.cancelled_by_association",
            "2031-01-02 15:00",
            "en",
            "Äppelbo byalag has cancelled your ride Thursday 2 January 2031 10:00 and its return"
            " trip at 15:00. Sjuk",
        ),
        (
            "ride.cancelled_by_association",
            "2031-01-03 09:30",
            "sv",
            "Äppelbo byalag har avbokat din resa torsdag 2 januari 2031 10:00 och returresan"
            " fredag 3 januari 2031 09:30. Sjuk",
        ),
    ],
    ids=["same-day-en", "same-day-sv", "next-day-en", "association-en", "association-next-day-sv"],
)
def test_a_ride_and_its_return_trip_cancelled_are_named_in_one_text(kind, back, language, expected):
    payload = {
        "when": "2031-01-02 10:00",
        "return_when": back,
        "reason": "Sjuk",
        "association": "Äppelbo byalag",
        "ride": 1,
    }
    _title, body = render(get_kind(kind), payload, language)
    assert body == expected


@pytest.mark.parametrize(
    ("language", "seats", "expected"),
    [
        ("sv", 1, "Anna ber om 1 plats "),
        ("sv", 2, "Anna ber om 2 platser "),
        ("en", 1, "Anna asks for 1 seat "),
        ("en", 3, "Anna asks for 3 seats "),
    ],
)
def test_a_seat_request_counts_seats_in_the_readers_language(language, seats, expected):
    payload = {"passenger": "Anna", "seats": seats, "when": "2031-01-02 07:30", "place": "Vansbro"}
    for kind in ("carpool.booking_requested", "carpool.booked"):
        _title, body = render(get_kind(kind), payload, language)
        assert "(s)" not in body and "(er)" not in body
    _title, body = render(get_kind("carpool.booking_requested"), payload, language)
    assert body.startswith(expected)

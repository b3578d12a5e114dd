"""When a message came, in words an elderly reader takes in at a glance: "today 14:05",
"yesterday 09:10", "3 December 14:05" (Swedish "i dag 14:05", "i går 09:10",
"3 december 14:05"), in Swedish local time, with the exact moment in a `<time>` element,
on the start page and the messages page."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone, translation

from backend.notifications.models import Notification
from backend.notifications.services import notify
from webapp.templatetags.times import when_words

pytestmark = pytest.mark.django_db

STOCKHOLM = ZoneInfo("Europe/Stockholm")
TODAY = dt.date(2024, 12, 3)


def at(day: int, hour: int, minute: int, month: int = 12, year: int = 2024) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=STOCKHOLM)


@pytest.mark.parametrize(
    ("moment", "en", "sv"),
    [
        (at(3, 14, 5), "today 14:05", "i dag 14:05"),
        (at(2, 9, 10), "yesterday 09:10", "i går 09:10"),
        (at(4, 7, 0), "tomorrow 07:00", "i morgon 07:00"),
        (at(1, 14, 5), "1 December 14:05", "1 december 14:05"),
        (at(28, 8, 0, month=11), "28 November 08:00", "28 november 08:00"),
        (at(30, 23, 59, month=12, year=2023), "30 December 2023 23:59", "30 december 2023 23:59"),
        # 23:30 UTC on the 2nd is half past midnight on the 3rd in Sweden: today.
        (dt.datetime(2024, 12, 2, 23, 30, tzinfo=dt.UTC), "today 00:30", "i dag 00:30"),
    ],
    ids=["today", "yesterday", "tomorrow", "this year", "last month", "last year", "utc"],
)
def test_a_moment_in_words(moment, en, sv):
    for language, expected in (("en", en), ("sv", sv)):
        with translation.override(language):
            assert when_words(moment, today=TODAY) == expected


def _message(world, created_at: dt.datetime) -> Notification:
    notify(
        world.people["rider"],
        "association.message",
        {"association": world.a.name, "text": "Byastämma i kväll."},
    )
    notification = Notification.objects.filter(recipient=world.people["rider"]).latest("pk")
    Notification.objects.filter(pk=notification.pk).update(created_at=created_at)
    return notification


@pytest.mark.parametrize("path", ["/", "/notifications/"], ids=["start page", "messages page"])
def test_the_lists_say_today_with_the_exact_moment_for_machines(world, path):
    now = timezone.localtime()
    moment = now.replace(second=0, microsecond=0)
    _message(world, moment)
    page = world.client("rider").get(path).content.decode()
    clock = moment.strftime("%H:%M")
    assert f'<time datetime="{moment.isoformat()}">today {clock}</time>' in page


@pytest.mark.parametrize("path", ["/", "/notifications/"], ids=["start page", "messages page"])
def test_swedish_readers_read_i_gar(world, path):
    moment = (timezone.localtime() - dt.timedelta(days=1)).replace(
        hour=9, minute=10, second=0, microsecond=0
    )
    _message(world, moment)
    client = world.client("rider")
    client.cookies["django_language"] = "sv"
    page = client.get(path, HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    assert f'<time datetime="{moment.isoformat()}">i går 09:10</time>' in page

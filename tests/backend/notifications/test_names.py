"""Every field of a message that shows a person's name says whose it is: the kinds
declare their name fields, notify() and reminders refuse a plain text in one and record
whose name each shows (`named`), so erasure can find the messages naming someone."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from backend.notifications.kinds import KINDS, get_kind, render
from backend.notifications.models import Notification, Reminder
from backend.notifications.names import PersonName, PlainNameError
from backend.notifications.reminders import reminder_schedule, reminders_send_due
from backend.notifications.services import notify, notify_many
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# The fields messages show that are no person's name. A new field is one or the other:
# a name goes in its kind's `names` (and the call site gives a PersonName), anything
# else here. `problem` holds places for names (`%(who_<sign-up>)s`), which are fields
# of their own (dispatch.shop_runs._problem_payload).
NOT_NAMES = {
    "address",  # the passenger's own pickup address, in their own reminder
    "association",
    "before",
    "car",
    "day",
    "destination",
    "due",
    "first",
    "km",
    "most",
    "needs",
    "old",
    "origin",
    "passengers",
    "period",
    "pickup",
    "place",
    "planned",
    "position",
    "previous",
    "problem",
    "reading",
    "reason",
    "resource",
    "return_when",
    "rides",
    "roles",
    "seats",
    "shop",
    "stops",
    "text",  # free text someone wrote (a coordinator's message, a problem report)
    "until",
    "url",
    "village",
    "villages",
    "when",
}
# Values the kinds' `words` need in their own shape.
SHAPED = {"km": 10.7, "needs": "", "roles": ["member"], "reason": "", "seats": 1}
WITH_NAMES = sorted(code for code, kind in KINDS.items() if kind.names)


def fields_shown(kind) -> set[str]:
    texts = [kind.title, kind.body, getattr(kind, "body_with_return", None)]
    return {f for text in texts if text for f in re.findall(r"%\((\w+)\)s", str(text))}


def test_every_field_a_message_shows_is_declared_a_name_or_known_not_to_be_one():
    unknown = {
        code: sorted(fields_shown(kind) - set(kind.names) - NOT_NAMES)
        for code, kind in KINDS.items()
    }
    assert {code: fields for code, fields in unknown.items() if fields} == {}
    # And every declared name is shown (a misspelt declaration would guard nothing).
    assert {code: set(KINDS[code].names) - fields_shown(KINDS[code]) for code in WITH_NAMES} == {
        code: set() for code in WITH_NAMES
    }


def payload_of(code: str, people: list) -> dict:
    """A payload for `code` with every field it shows, the names given by `people`."""
    kind = get_kind(code)
    payload = {field: SHAPED.get(field, "x") for field in fields_shown(kind)}
    payload.pop("return_when", None)
    for field, person in zip(kind.names, people, strict=False):
        payload[field] = PersonName.of(person)
    return payload


@pytest.mark.parametrize("code", WITH_NAMES)
def test_a_name_given_as_plain_text_is_refused_and_nothing_is_stored(code):
    payload = payload_of(code, [])
    payload.update(dict.fromkeys(get_kind(code).names, "Anna Svensson"))
    with pytest.raises(PlainNameError, match=f"{code}: the payload field"):
        notify(UserFactory(), code, payload)
    with pytest.raises(PlainNameError):
        notify_many([UserFactory()], code, payload)
    with pytest.raises(PlainNameError):
        reminder_schedule(
            key="k", recipient=UserFactory(), kind=code, payload=payload, due_at=timezone.now()
        )
    assert (Notification.objects.count(), Reminder.objects.count()) == (0, 0)


@pytest.mark.parametrize("code", WITH_NAMES)
def test_each_name_a_kind_shows_is_recorded_with_whose_it_is(code):
    anna, bo = UserFactory(full_name="Anna Svensson"), UserFactory(full_name="Bo Ek")
    names = get_kind(code).names
    notification = notify(UserFactory(), code, payload_of(code, [anna, bo]))
    expected: dict[str, list[str]] = {}
    for field, person in zip(names, [anna, bo], strict=False):
        expected.setdefault(str(person.pk), []).append(field)
    assert {pk: sorted(fields) for pk, fields in notification.named.items()} == {
        pk: sorted(fields) for pk, fields in expected.items()
    }
    assert notification.payload[names[0]] == "Anna Svensson"


def test_a_message_naming_nobody_records_nobody():
    notification = notify(UserFactory(), "membership.approved", {"association": "Byalaget"})
    assert notification.named == {}


def test_a_reminder_keeps_whose_names_it_shows_until_it_is_sent():
    lena, anna = UserFactory(), UserFactory(full_name="Anna Svensson")
    reminder = reminder_schedule(
        key="shop-run:1:anna",
        recipient=lena,
        kind="shuttle.signed_up",
        payload={"name": PersonName.of(anna), "when": "2026-12-10 10:00"},
        due_at=timezone.now() - timedelta(minutes=1),
    )
    reminder.refresh_from_db()
    assert (reminder.payload["name"], reminder.named) == ("Anna Svensson", {str(anna.pk): ["name"]})
    assert reminders_send_due() == 1
    sent = Reminder.objects.get(pk=reminder.pk).notification
    assert (sent.payload["name"], sent.named) == ("Anna Svensson", {str(anna.pk): ["name"]})


def test_a_shop_run_problem_puts_the_names_in_their_places():
    kind = get_kind("shuttle.plan_problem")
    payload = {
        "when": "2026-12-10 10:00",
        "problem": "%(who_7)s, %(who_9)s cannot be brought to the shop in time.",
        "who_7": "Anna Svensson",
        "who_9": "—",
    }
    assert render(kind, payload, "en")[1].endswith(
        ": Anna Svensson, — cannot be brought to the shop in time."
    )
    # A problem stored before had the names in the text: it reads as it did.
    old = {"when": "2026-12-10 10:00", "problem": "Anna Svensson needs a car."}
    assert render(kind, old, "en")[1].endswith(": Anna Svensson needs a car.")

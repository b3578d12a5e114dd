"""People's names in notification payloads, recorded with whose they are.

A payload keeps the texts its message shows, so a driver's "Anna Svensson asks for a
seat" would keep Anna's name after her account is erased, and a name alone cannot say
whose it is (two people may share one). So a call site puts `PersonName.of(person)` where
it puts a name, `notify()` and `reminder_schedule()` store next to the payload which of
its fields name whom (`named`: {"<person id>": [field, ...]}), and erasure replaces those
fields in every inbox and pending reminder at once
(`services.notifications_forget_person`).

A kind declares its name fields (`Kind.names`) and a plain text in one is refused, so a
new call site cannot forget to say whose name it shows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from backend.accounts.models import User
    from backend.notifications.kinds import Kind


class PersonName(str):
    """A person's name as a message shows it (or what stands in for it there: the number
    a resident typed for someone they asked to help), remembering whose it is. It is the
    text everywhere a str is: rendered, stored and sent as the name."""

    person_id: int

    def __new__(cls, text: str, *, person_id: int) -> PersonName:
        name = super().__new__(cls, text)
        name.person_id = person_id
        return name

    @classmethod
    def of(cls, person: User) -> PersonName:
        return cls(person.full_name, person_id=person.pk)

    def __repr__(self) -> str:
        return f"PersonName({str(self)!r}, person_id={self.person_id})"


class PlainNameError(TypeError):
    """A payload field that shows a person's name was given as plain text."""


def payload_names(kind: Kind, payload: dict) -> dict[str, list[str]]:
    """Whose name each field of `payload` shows: {"<person id>": [field, ...]}. Refuses
    a field the kind declares a name that is not a `PersonName`."""
    for field in kind.names:
        if not isinstance(payload.get(field), PersonName):
            raise PlainNameError(
                f"{kind.code}: the payload field {field!r} shows a person's name; "
                "give it as PersonName.of(person), so erasing them can take it out"
            )
    named: dict[str, list[str]] = {}
    for field, value in payload.items():
        if isinstance(value, PersonName):
            named.setdefault(str(value.person_id), []).append(field)
    return named


def payload_with_names(payload: dict, named: dict[str, list[str]]) -> dict:
    """A stored payload with its name fields as `PersonName` again (a reminder's, when
    it is sent)."""
    payload = dict(payload)
    for person_id, fields in named.items():
        for field in fields:
            payload[field] = PersonName(payload[field], person_id=int(person_id))
    return payload

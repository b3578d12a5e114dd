"""Every kind of notification, in one place: its texts (English here, Swedish in the
catalogue) and the channels it may use. Services add their kinds here.

Texts are %-format strings over the payload: `notify()` refuses a payload that lacks a
key a text needs, so a typo fails where it is made, not on a phone.
"""

from dataclasses import dataclass

from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from backend.notifications.models import Channel

ALL_CHANNELS = frozenset(Channel)
NO_SMS = frozenset({Channel.LIVE, Channel.PUSH, Channel.EMAIL})


@dataclass(frozen=True)
class Kind:
    code: str
    title: Promise
    body: Promise
    channels: frozenset[Channel]


KINDS: dict[str, Kind] = {
    kind.code: kind
    for kind in [
        Kind(
            "membership.approved",
            _("Welcome to %(association)s"),
            _("Your membership of %(association)s is approved."),
            NO_SMS,
        ),
        Kind(
            "membership.suspended",
            _("Membership suspended"),
            _("Your membership of %(association)s is suspended: %(reason)s"),
            ALL_CHANNELS,
        ),
        Kind(
            "proxy.added",
            _("You can now book for %(resident)s"),
            _("%(resident)s has made you their proxy in Samby."),
            NO_SMS,
        ),
        Kind(
            "association.message",
            _("Message from %(association)s"),
            _("%(text)s"),
            ALL_CHANNELS,
        ),
    ]
}


def get_kind(code: str) -> Kind:
    try:
        return KINDS[code]
    except KeyError:
        raise ValueError(f"unknown notification kind {code!r}; add it to kinds.py") from None


def render(kind: Kind, payload: dict, language: str) -> tuple[str, str]:
    """Title and body in `language`. Raises KeyError when the payload lacks a field."""
    with translation.override(language):
        return str(kind.title) % payload, str(kind.body) % payload

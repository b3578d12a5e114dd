"""What an SMS answer ("JA 4821", "NEJ") does. Each service that asks for a reply
registers one action by name; `notify(..., reply=ReplyRequest(action, object_id))`
puts the code in the SMS, and the inbound webhook calls the action with the answer."""

from collections.abc import Callable
from dataclasses import dataclass

from backend.accounts.models import User


@dataclass(frozen=True)
class ReplyContext:
    responder: User
    object_id: int
    accepted: bool  # JA / YES → True, NEJ / NO → False


# An action does the work and returns the SMS text to answer with.
ReplyAction = Callable[[ReplyContext], str]

REPLY_ACTIONS: dict[str, ReplyAction] = {}


def reply_action(name: str) -> Callable[[ReplyAction], ReplyAction]:
    def register(action: ReplyAction) -> ReplyAction:
        if name in REPLY_ACTIONS and REPLY_ACTIONS[name] is not action:
            raise ValueError(f"reply action {name!r} registered twice")
        REPLY_ACTIONS[name] = action
        return action

    return register

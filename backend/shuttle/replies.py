"""SMS answers to a freed seat: "JA 4821" takes it, "NEJ 4821" lets it go to the next."""

from django.utils.translation import gettext as _

from backend.errors import ApplicationError
from backend.notifications.replies import ReplyContext, reply_action
from backend.shuttle.models import RunSignup
from backend.shuttle.services import local_time, seat_offer_answer


@reply_action("shuttle.seat")
def answer_seat_offer(context: ReplyContext) -> str:
    signup = RunSignup.objects.select_related("occurrence").filter(pk=context.object_id).first()
    if signup is None:
        return _("This seat is no longer offered to you. You may still be on the waitlist.")
    try:
        seat_offer_answer(actor=context.responder, signup=signup, accept=context.accepted)
    except ApplicationError as error:
        return str(error.message)
    if context.accepted:
        return _("Thank you! The seat on the shop run %(when)s is yours.") % {
            "when": local_time(signup.occurrence.arrive_at)
        }
    return _("Thank you for answering. We offer the seat to the next person.")

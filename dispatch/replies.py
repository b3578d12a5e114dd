"""SMS answers to ride offers: "JA 4821" accepts, "NEJ 4821" declines."""

from django.utils.translation import gettext as _

from backend.errors import ApplicationError
from backend.notifications.replies import ReplyContext, reply_action
from backend.rides.services import local_time
from dispatch.offers import offer_accept, offer_decline


@reply_action("ride.offer")
def answer_ride_offer(context: ReplyContext) -> str:
    try:
        if context.accepted:
            ride = offer_accept(offer_id=context.object_id, actor=context.responder)
            return _("Thank you! The ride %(when)s is yours. Pickup: %(address)s.") % {
                "when": local_time(ride.planned_pickup),
                "address": ride.pickup_address,
            }
        offer_decline(offer_id=context.object_id, actor=context.responder)
        return _("Thank you for answering. We ask someone else.")
    except ApplicationError as error:
        return str(error.message)


# SMS answers to shop run offers are registered where the offers are made.
from dispatch import shop_runs  # noqa: E402, F401

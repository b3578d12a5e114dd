"""The coordinators' dispatch board follows the rides of their association live: every
change a dispatcher must see (a new request, offers sent, a driver taking it, a ride
left without a driver, a cancellation) is published to the association's active
coordinators after commit. The event carries no personal data; the board fetches itself
again and the server decides what to show."""

from django.db import transaction

from backend.community.selectors import association_coordinators
from backend.notifications.live import publish_to_user
from backend.rides.models import RideRequest


def board_changed(ride: RideRequest) -> None:
    """Tell the association's coordinators, once the change is committed."""
    association_id, ride_id, state = ride.association_id, ride.pk, ride.state

    def publish() -> None:
        coordinators = association_coordinators(association_id=association_id).values_list(
            "pk", flat=True
        )
        event = {"type": "board.ride", "ride": ride_id, "state": state}
        for user_id in coordinators:
            publish_to_user(user_id, event)

    transaction.on_commit(publish)

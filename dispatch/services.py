"""Entry points that start dispatch work after the domain change is committed."""

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from backend.accounts.models import User
from backend.community.models import Membership
from backend.community.selectors import user_is_coordinator
from backend.errors import ApplicationError, ErrorKind
from backend.notifications.services import notify
from backend.rides import services as rides
from backend.rides.errors import RideErrorCode
from backend.rides.models import RELEASABLE, RideRequest
from backend.task_queue import queue_or_leave_to_sweep
from dispatch.board import board_changed
from dispatch.offers import WithdrawReason, accepted_offers_withdraw, withdraw_pending_offers
from dispatch.tasks import run_dispatch


def _dispatch_on_commit(ride_id: int, wave: int) -> None:
    """Queue dispatch once the ride is committed. With the broker down the ride is saved
    all the same and the request succeeds: the beat sweep (dispatch_waiting_rides) picks
    up requests still waiting for their first wave."""
    transaction.on_commit(
        lambda: queue_or_leave_to_sweep(
            run_dispatch, ride_id, wave, what=f"dispatch of ride {ride_id}"
        )
    )


def ride_request_submit(**request) -> RideRequest:
    """Save the ride request (see backend.rides.services.ride_request_create for the
    arguments) and start looking for a driver once it is committed."""
    with transaction.atomic():
        ride = rides.ride_request_create(**request)
        board_changed(ride)
        returns = RideRequest.objects.filter(return_of=ride).values_list("pk", flat=True)
        for ride_id in [ride.pk, *returns]:
            _dispatch_on_commit(ride_id, 0)
    return ride


def ride_driver_withdraw(*, ride: RideRequest, actor: User, reason: str) -> RideRequest:
    """The driver gives the ride back; dispatch looks for another driver."""
    with transaction.atomic():
        ride = rides.ride_driver_withdraw(ride=ride, actor=actor, reason=reason)
        board_changed(ride)
        _dispatch_on_commit(ride.pk, ride.wave)
    return ride


def ride_cancel(
    *, ride: RideRequest, actor: User, reason: str, with_return: bool = False
) -> RideRequest:
    """The passenger's side cancels (see backend.rides.services.ride_cancel); with
    `with_return`, its return trip too when it can still be cancelled
    (`return_trip_cancellable`): both or neither. The offers still waiting for an answer
    are withdrawn and leave the drivers' offer lists live."""
    with transaction.atomic():
        back = rides.return_trip_cancellable(ride=ride) if with_return else None
        if back is None:
            cancelled = [rides.ride_cancel(ride=ride, actor=actor, reason=reason)]
        else:
            # One call, so that each person is told once about both rides.
            cancelled = list(
                rides.ride_cancel_with_return(
                    ride=ride, return_trip=back, actor=actor, reason=reason
                )
            )
        for each in cancelled:
            board_changed(each)
            withdraw_pending_offers(ride=each, reason=WithdrawReason.CANCELLED)
    return cancelled[0]


def ride_mark_unfulfilled(
    *, ride: RideRequest, actor: User | None, reason: str = ""
) -> RideRequest:
    """The ride is closed without a driver (see backend.rides.services.
    ride_mark_unfulfilled); the offers still waiting are withdrawn, live."""
    with transaction.atomic():
        ride = rides.ride_mark_unfulfilled(ride=ride, actor=actor, reason=reason)
        withdraw_pending_offers(ride=ride, reason=WithdrawReason.UNFULFILLED)
    return ride


# What a ride's history keeps of the reason (RideEvent.reason's max_length).
RELEASE_REASON_MAX_LENGTH = 300


def driver_rides_release_all(
    *, membership: Membership, actor: User, reason: str
) -> list[RideRequest]:
    """A coordinator gives back to dispatch every ride the member holds as a driver of
    the membership's association, accepted or on the way (a ride with the passenger on
    board stays theirs to finish): before taking the driver role away or suspending
    them, or when they fall ill. Each ride goes as one a coordinator takes back
    (`ride_release_by_coordinator`: back to requested, its history says who and why,
    the rider is told their driver cannot come), the driver's accepted offers are
    withdrawn, and a new wave of offers starts after the commit, as when a driver gives
    a ride back. The driver gets one message listing the rides' times, with the reason.

    Locks the membership row (as `membership_set_roles` and `offer_accept` do), then the
    rides it holds, by id: an offer accepted at the same instant is taken before (and
    given back with the others) or after. A ride the driver marks picked up at the same
    instant is either picked up first, and stays theirs (the lock waits for that update
    and then finds the ride on board), or given back first, and their step is refused.

    Returns the rides given back, soonest first; when there are none, nothing happens
    and nobody is told (a second click finds them gone)."""
    reason = reason.strip()
    with transaction.atomic():
        association = membership.association
        if not user_is_coordinator(user=actor, association=association):
            raise ApplicationError(
                RideErrorCode.NOT_ALLOWED,
                _("Only a coordinator of %(association)s can give a driver's rides back.")
                % {"association": association.name},
                kind=ErrorKind.FORBIDDEN,
            )
        if not reason:
            raise ApplicationError(
                RideErrorCode.REASON_MISSING,
                _("Say why the rides go back to dispatch; the driver will see it."),
                fields={"reason": [_("This field is required.")]},
            )
        if len(reason) > RELEASE_REASON_MAX_LENGTH:
            too_long = _("The reason is too long: at most %(count)s characters.") % {
                "count": RELEASE_REASON_MAX_LENGTH
            }
            raise ApplicationError(
                RideErrorCode.TEXT_TOO_LONG, too_long, fields={"reason": [too_long]}
            )
        locked = (
            Membership.objects.select_for_update(of=("self",))
            .select_related("user")
            .get(pk=membership.pk)
        )
        held = list(
            RideRequest.objects.select_for_update(of=("self",))
            .filter(driver__membership=locked, association=association, state__in=RELEASABLE)
            .select_related("association", "rider", "requested_by")
            .order_by("pk")
        )
        if not held:
            return []
        held.sort(key=lambda ride: (rides.ride_begins(ride), ride.pk))
        times = [rides.local_time(rides.ride_begins(ride)) for ride in held]
        driver_id = held[0].driver_id  # the membership's one driver profile
        released = []
        for ride in held:
            ride = rides.ride_release_by_coordinator(
                ride=ride, actor=actor, reason=reason, to_dispatch=True
            )
            board_changed(ride)
            _dispatch_on_commit(ride.pk, ride.wave)
            released.append(ride)
        accepted_offers_withdraw(ride_ids=[ride.pk for ride in released], driver_id=driver_id)
        notify(
            locked.user,
            "ride.released_to_dispatch",
            {"rides": ", ".join(times), "reason": reason, "association": association.pk},
            urgent=True,
        )
    return released

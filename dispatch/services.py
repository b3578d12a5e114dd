"""Entry points that start dispatch work after the domain change is committed."""

from django.db import transaction

from backend.accounts.models import User
from backend.rides import services as rides
from backend.rides.models import RideRequest
from backend.task_queue import queue_or_leave_to_sweep
from dispatch.board import board_changed
from dispatch.offers import WithdrawReason, withdraw_pending_offers
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
        cancelled = [rides.ride_cancel(ride=ride, actor=actor, reason=reason)]
        if back is not None:
            cancelled.append(rides.ride_cancel(ride=back, actor=actor, reason=reason))
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

"""Offering a ride to drivers in waves; the first to accept gets it.

A wave offers the ride to the best RIDES_OFFER_WAVE_SIZE drivers not asked before, within
their service radius times RIDES_WAVE_RADIUS_FACTOR ** (wave - 1). A wave that finds
nobody moves on at once; one that finds drivers waits RIDES_OFFER_TIMEOUT seconds (a
Celery countdown) before the next. After RIDES_OFFER_WAVES waves the association's
coordinators are alerted and the ride shows as unassigned.
"""

from datetime import timedelta
from enum import StrEnum

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.accounts.models import User
from backend.community.models import Membership, MembershipState, Role
from backend.community.selectors import association_coordinators, user_is_coordinator
from backend.errors import ApplicationError, ErrorKind
from backend.notifications.live import publish_to_user
from backend.notifications.services import ReplyRequest, notify
from backend.rides import services as rides
from backend.rides.errors import RideErrorCode
from backend.rides.models import DriverProfile, Offer, OfferState, RideRequest, RideState
from dispatch.board import board_changed
from dispatch.matching import Candidate, candidates

OFFERABLE = [RideState.REQUESTED, RideState.OFFERING]


def offer_wave(*, ride_id: int, after_wave: int | None = None) -> list[Offer]:
    """Send the next wave of offers for the ride, or alert the coordinators when the
    waves are used up. Locks the ride row, so two runs of the task cannot both send a
    wave. Returns the offers sent (empty when the ride no longer needs any).

    `after_wave` is the wave the caller saw when it decided a new wave was due: when the
    ride has moved past it (another run already sent the next wave), nothing happens. A
    task delivered twice (worker killed before its acknowledgement, a sweep overlapping
    the task queued on commit) thus sends one wave, not two."""
    with transaction.atomic():
        ride = RideRequest.objects.select_for_update().filter(pk=ride_id).first()
        if ride is None or ride.state not in OFFERABLE:
            return []
        if after_wave is not None and ride.wave != after_wave:
            return []
        now = timezone.now()
        Offer.objects.filter(ride=ride, state=OfferState.PENDING).update(
            state=OfferState.EXPIRED, answered_at=now
        )
        asked = set(Offer.objects.filter(ride=ride).values_list("driver_id", flat=True))
        wave, found = ride.wave, []
        while not found and wave < settings.RIDES_OFFER_WAVES:
            wave += 1
            found = candidates(
                ride,
                radius_factor=settings.RIDES_WAVE_RADIUS_FACTOR ** (wave - 1),
                exclude_driver_ids=asked,
                limit=settings.RIDES_OFFER_WAVE_SIZE,
            )
        if not found:
            _escalate(ride)
            return []
        ride = rides.ride_dispatch_started(ride=ride, wave=wave)
        board_changed(ride)
        drivers = _driver_users([candidate.driver_id for candidate in found])
        offers = [
            _offer(ride, candidate, drivers[candidate.driver_id], wave, rank)
            for rank, candidate in enumerate(found, 1)
        ]
    from dispatch.tasks import wave_timeout

    transaction.on_commit(
        lambda: wave_timeout.apply_async((ride_id, wave), countdown=settings.RIDES_OFFER_TIMEOUT)
    )
    return offers


def _driver_users(driver_ids: list[int]) -> dict[int, User]:
    """The person of each driver profile, in one query for the whole wave."""
    profiles = DriverProfile.objects.filter(pk__in=driver_ids).select_related("membership__user")
    return {profile.pk: profile.membership.user for profile in profiles}


def _offer(
    ride: RideRequest, candidate: Candidate, driver_user: User, wave: int, rank: int
) -> Offer:
    offer = Offer.objects.create(
        ride=ride,
        driver_id=candidate.driver_id,
        wave=wave,
        rank=rank,
        distance_m=candidate.distance_m,
        pickup_at=candidate.pickup_at,
    )
    notify(
        driver_user,
        "ride.offered",
        offer_payload(offer),
        urgent=True,
        reply=ReplyRequest("ride.offer", offer.pk, valid_for=timedelta(hours=12)),
    )
    return offer


def offer_payload(offer: Offer) -> dict:
    """What a driver learns before accepting: the village, the approximate area, the
    time, the distance and the needs. No address, no name, no phone number."""
    ride = offer.ride
    area = rides.pickup_area(ride)
    return {
        "offer": offer.pk,
        "ride": ride.pk,
        "when": rides.local_time(offer.pickup_at),
        "village": ride.village.name if ride.village else "",
        "area": [area.x, area.y],
        "km": round(ride.distance_m / 1000, 1),
        "needs": ", ".join(ride.needs),
        "passengers": ride.passengers,
    }


def _escalate(ride: RideRequest) -> None:
    ride = rides.ride_mark_unassigned(ride=ride)
    board_changed(ride)
    coordinators = association_coordinators(association_id=ride.association_id)
    payload = {
        "ride": ride.pk,
        "when": rides.local_time(ride.earliest_pickup),
        "village": ride.village.name if ride.village else "",
    }
    for coordinator in coordinators:
        notify(coordinator, "ride.unassigned", payload, urgent=True)


def _driver_offer(offer_id: int, actor: User) -> Offer:
    """The actor's own offer, with its ride row locked: every change to a ride's offers
    (a wave, an answer, a withdrawal) takes that lock first, so they happen one at a time.
    The offer's own columns may still be stale when the lock was waited for (PostgreSQL
    re-checks only the locked row), so the answers below are conditional updates."""
    offer = (
        Offer.objects.select_for_update(of=("ride",))
        .select_related("ride", "driver__membership__user")
        .filter(pk=offer_id, driver__membership__user=actor)
        .first()
    )
    if offer is None:
        raise ApplicationError(
            RideErrorCode.OFFER_NOT_FOUND,
            _("There is no such offer for you."),
            kind=ErrorKind.NOT_FOUND,
        )
    return offer


def _offer_closed(offer_id: int) -> ApplicationError:
    state = Offer.objects.filter(pk=offer_id).values_list("state", flat=True).get()
    if state == OfferState.ACCEPTED:
        message = _(
            "You have already accepted this ride. If you cannot drive after all, give the "
            "ride back from My rides and say why."
        )
    else:
        message = _("This offer is no longer open (%(state)s). There is nothing to answer.") % {
            "state": OfferState(state).label
        }
    return ApplicationError(RideErrorCode.OFFER_NOT_PENDING, message, kind=ErrorKind.CONFLICT)


@transaction.atomic
def offer_accept(*, offer_id: int, actor: User) -> RideRequest:
    """The driver takes the ride. Locks the ride row. Exactly one of several drivers
    accepting at the same instant wins (a conditional UPDATE on the ride); the others get
    a 409. A late answer to an expired offer still wins while the ride has no driver; an
    offer declined or withdrawn meanwhile cannot be accepted (conditional UPDATE on the
    offer). The driver must still be an active driver of the ride's association: the
    membership row is locked, so a coordinator taking the driver role away at the same
    instant either sees the ride held (and is refused) or comes first (and this is)."""
    offer = _driver_offer(offer_id, actor)
    membership = (
        Membership.objects.select_for_update(of=("self",))
        .filter(pk=offer.driver.membership_id)
        .first()
    )
    if (
        membership is None
        or membership.state != MembershipState.ACTIVE
        or Role.DRIVER not in membership.roles
    ):
        raise ApplicationError(
            RideErrorCode.NOT_DRIVER,
            _("You are no longer a volunteer driver of this association, so this offer is closed."),
            kind=ErrorKind.CONFLICT,
        )
    taken = Offer.objects.filter(
        pk=offer.pk, state__in=[OfferState.PENDING, OfferState.EXPIRED]
    ).update(state=OfferState.ACCEPTED, answered_at=timezone.now())
    if not taken:
        if offer.ride.driver_id is not None and offer.ride.driver_id != offer.driver_id:
            raise ApplicationError(
                RideErrorCode.ALREADY_ACCEPTED,
                _("Another driver has already taken this ride. Thank you for answering!"),
                kind=ErrorKind.CONFLICT,
            )
        raise _offer_closed(offer.pk)
    ride = rides.ride_assign(
        ride=offer.ride, driver=offer.driver, pickup_at=offer.pickup_at, actor=actor
    )
    withdraw_pending_offers(ride=ride, keep=offer.pk)
    board_changed(ride)
    return ride


@transaction.atomic
def offer_decline(*, offer_id: int, actor: User) -> Offer:
    """The driver says no. Locks the ride row; only a pending offer can be declined (a
    conditional UPDATE), so a decline racing an accept of the same offer either wins
    before it or gets a 409, never undoing the acceptance."""
    offer = _driver_offer(offer_id, actor)
    declined = Offer.objects.filter(pk=offer.pk, state=OfferState.PENDING).update(
        state=OfferState.DECLINED, answered_at=timezone.now()
    )
    if not declined:
        raise _offer_closed(offer.pk)
    offer.refresh_from_db()
    still_waiting = Offer.objects.filter(ride=offer.ride, state=OfferState.PENDING).exists()
    if not still_waiting and offer.ride.state == RideState.OFFERING:
        # Everyone in this wave said no: no reason to wait for the timeout.
        from dispatch.tasks import run_dispatch

        ride_id, wave = offer.ride_id, offer.ride.wave
        transaction.on_commit(lambda: run_dispatch.delay(ride_id, wave))
    return offer


class WithdrawReason(StrEnum):
    TAKEN = "taken"  # another driver has it (accepted, assigned by hand, or planned)
    CANCELLED = "cancelled"  # the passenger's side cancelled the ride
    UNFULFILLED = "unfulfilled"  # the coordinators closed it without a driver


def withdraw_pending_offers(
    *, ride: RideRequest, keep: int | None = None, reason: WithdrawReason = WithdrawReason.TAKEN
) -> list[Offer]:
    """Withdraw every pending offer of the ride (except `keep`), tell each driver, and,
    after commit, remove the offer from their live offer list (`offer.withdrawn` event).

    The caller holds the ride row (locked, or updated in this transaction): answers and
    waves take that lock too, so no offer turns pending or accepted underneath. Returns
    the offers withdrawn."""
    pending = list(
        # Only the offers: the drivers' accounts, joined for their names, locked too made
        # an accept wait for (and deadlock with) whatever referred to those drivers.
        Offer.objects.select_for_update(of=("self",))
        .filter(ride=ride, state=OfferState.PENDING)
        .exclude(pk=keep)
        .select_related("driver__membership__user")
    )
    Offer.objects.filter(pk__in=[o.pk for o in pending], state=OfferState.PENDING).update(
        state=OfferState.WITHDRAWN, answered_at=timezone.now()
    )
    kind = "ride.offer_withdrawn" if reason == WithdrawReason.TAKEN else "ride.offer_closed"
    for offer in pending:
        offer.state = OfferState.WITHDRAWN
        user = offer.driver.membership.user
        notify(user, kind, {"when": rides.local_time(offer.pickup_at)})
        event = {"type": "offer.withdrawn", "offer": offer.pk, "ride": ride.pk, "reason": reason}
        transaction.on_commit(lambda user_id=user.pk, event=event: publish_to_user(user_id, event))
    return pending


@transaction.atomic
def ride_assign_by_coordinator(*, ride_id: int, driver: DriverProfile, actor: User) -> RideRequest:
    """A coordinator gives the ride to a driver by hand. The driver is told and can still
    say no (which puts the ride back to dispatch)."""
    ride = RideRequest.objects.select_for_update().get(pk=ride_id)
    if not user_is_coordinator(user=actor, association=ride.association):
        raise ApplicationError(
            RideErrorCode.NOT_ALLOWED,
            _("Only a coordinator of the association can assign drivers."),
            kind=ErrorKind.FORBIDDEN,
        )
    membership = driver.membership
    if membership.association_id != ride.association_id:
        # Another association's driver is nobody the coordinator may see: no name.
        raise ApplicationError(
            RideErrorCode.NOT_DRIVER,
            _("There is no such driver."),
            fields={"driver": [_("Unknown driver.")]},
        )
    if (
        membership.state != MembershipState.ACTIVE
        or Role.DRIVER not in membership.roles
        or not driver.active
    ):
        raise ApplicationError(
            RideErrorCode.NOT_DRIVER,
            _("%(name)s is not an active driver of this association.")
            % {"name": membership.user.full_name},
            fields={"driver": [_("Not an active driver here.")]},
        )
    ride = rides.ride_assign(ride=ride, driver=driver, pickup_at=ride.earliest_pickup, actor=actor)
    Offer.objects.update_or_create(
        ride=ride,
        driver=driver,
        defaults={
            "wave": ride.wave,
            "rank": 0,
            "distance_m": 0,
            "pickup_at": ride.planned_pickup,
            "state": OfferState.ACCEPTED,
            "manual": True,
            "answered_at": timezone.now(),
        },
    )
    withdraw_pending_offers(ride=ride)
    board_changed(ride)
    notify(
        membership.user,
        "ride.assigned",
        {
            "ride": ride.pk,
            "when": rides.local_time(ride.planned_pickup),
            "village": ride.village.name if ride.village else "",
        },
        urgent=True,
    )
    return ride


@transaction.atomic
def ride_reassign_by_coordinator(
    *, ride_id: int, driver: DriverProfile, actor: User, reason: str
) -> RideRequest:
    """A coordinator gives an accepted ride to another driver: the first driver is told
    why and let go, the new one gets it as by `ride_assign_by_coordinator`. One
    transaction with the ride row locked: when the new driver cannot take it (busy at
    that time, not a driver here), the first driver keeps the ride."""
    ride = RideRequest.objects.select_for_update().get(pk=ride_id)
    if ride.driver_id == driver.pk:
        raise ApplicationError(
            RideErrorCode.WRONG_STATE,
            _("%(name)s already drives this ride.") % {"name": driver.membership.user.full_name},
            kind=ErrorKind.CONFLICT,
            fields={"driver": [_("Choose another driver.")]},
        )
    previous = ride.driver_id
    rides.ride_release_by_coordinator(ride=ride, actor=actor, reason=reason)
    accepted_offers_withdraw(ride_ids=[ride.pk], driver_id=previous)
    return ride_assign_by_coordinator(ride_id=ride.pk, driver=driver, actor=actor)


def accepted_offers_withdraw(*, ride_ids: list[int], driver_id: int | None) -> int:
    """The accepted offers of a driver a coordinator took the rides from: withdrawn, as
    the rides are no longer theirs. Having been asked, they are not asked again by the
    rides' next waves (`offer_wave` asks nobody asked before). Returns how many."""
    return Offer.objects.filter(
        ride_id__in=ride_ids, driver_id=driver_id, state=OfferState.ACCEPTED
    ).update(state=OfferState.WITHDRAWN, answered_at=timezone.now())

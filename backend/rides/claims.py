"""Deciding on a mileage claim: kilometres a driver claimed beyond what the ride can take
(`services.ride_complete` makes the claim and tells the coordinators), approved or
declined by a coordinator of the ride's association."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.accounts.models import User
from backend.audit.services import audit_record
from backend.community.selectors import user_is_coordinator
from backend.errors import ApplicationError, ErrorKind
from backend.notifications.services import notify
from backend.rides.errors import RideErrorCode
from backend.rides.models import ClaimState, MileageClaim, RideRequest
from backend.rides.services import local_time, ride_begins

DECLINE_REASON_MAX_LENGTH = 300


@transaction.atomic
def mileage_claim_approve(*, claim: MileageClaim, actor: User) -> MileageClaim:
    """A coordinator of the ride's association approves the kilometres claimed: the ride
    counts them from now on (its month's mileage report, the driver's months). The driver
    is told. Locks: see `_mileage_claim_decide`."""
    return _mileage_claim_decide(claim=claim, actor=actor, state=ClaimState.APPROVED)


@transaction.atomic
def mileage_claim_decline(*, claim: MileageClaim, actor: User, reason: str) -> MileageClaim:
    """A coordinator of the ride's association declines the kilometres claimed, saying
    why: the ride keeps counting what it can take (`allowed_m`). The driver is told the
    reason. Locks: see `_mileage_claim_decide`."""
    reason = reason.strip()
    if not reason:
        missing = _("Say why the kilometres are not approved; the driver will see it.")
        raise ApplicationError(RideErrorCode.REASON_MISSING, missing, fields={"reason": [missing]})
    if len(reason) > DECLINE_REASON_MAX_LENGTH:
        too_long = _("Say why in at most %(count)s characters.") % {
            "count": DECLINE_REASON_MAX_LENGTH
        }
        raise ApplicationError(RideErrorCode.TEXT_TOO_LONG, too_long, fields={"reason": [too_long]})
    return _mileage_claim_decide(claim=claim, actor=actor, state=ClaimState.DECLINED, reason=reason)


def mileage_claim_decision_audit(*, claim: MileageClaim, actor: User, action: str) -> None:
    """A coordinator's decision (`action`: "approve" or "decline") about a driver's
    kilometres, in the audit log: the driver's claim is theirs, and so is what was decided
    about it. Called by the console and the API once the decision is made (the audit log
    is written by the HTTP layer, which knows who asked; both write the same entry)."""
    driver = claim.ride.driver
    audit_record(
        actor=actor,
        action=f"mileage_claim.{action}",
        subject=driver.membership.user if driver else None,
        detail={
            "claim": claim.pk,
            "ride": claim.ride_id,
            "association": claim.ride.association_id,
        },
    )


def _mileage_claim_decide(
    *, claim: MileageClaim, actor: User, state: ClaimState, reason: str = ""
) -> MileageClaim:
    """The first decision wins: a conditional UPDATE of the claim while it waits. It holds
    the claim's row until the commit, so a second coordinator deciding at the same moment
    waits, then finds it decided (a conflict that says how), and marking the month paid
    (`payouts.mileage_payout_mark_paid`, which locks the month's waiting claims) waits
    for the decision and then pays what it decided."""
    ride = claim.ride
    if not user_is_coordinator(user=actor, association=ride.association):
        raise ApplicationError(
            RideErrorCode.NOT_ALLOWED,
            _("Only a coordinator of the ride's association can decide on kilometres claimed."),
            kind=ErrorKind.FORBIDDEN,
        )
    driver_user = ride.driver.membership.user if ride.driver else None
    if driver_user is not None and driver_user.pk == actor.pk:
        raise ApplicationError(
            RideErrorCode.NOT_ALLOWED,
            _("Another coordinator of the association decides on your own kilometres."),
            kind=ErrorKind.FORBIDDEN,
        )
    decided = MileageClaim.objects.filter(pk=claim.pk, state=ClaimState.PENDING).update(
        state=state, decided_by=actor, decided_at=timezone.now(), decline_reason=reason
    )
    if not decided:
        claim.refresh_from_db()
        raise ApplicationError(
            RideErrorCode.CLAIM_ALREADY_DECIDED,
            _("This claim is already approved: the ride counts the kilometres claimed.")
            if claim.state == ClaimState.APPROVED
            else _("This claim is already declined: the ride counts what it can take."),
            kind=ErrorKind.CONFLICT,
        )
    if state == ClaimState.APPROVED:
        RideRequest.objects.filter(pk=ride.pk).update(driven_m=claim.claimed_m)
    claim.refresh_from_db()
    if driver_user is not None:
        payload = {
            "km": claim.claimed_m / 1000,
            "when": local_time(ride_begins(ride)),
            # Which driver mode's kilometres to open, for someone who drives for several.
            "association": ride.association_id,
        }
        if state == ClaimState.APPROVED:
            notify(driver_user, "mileage.claim_approved", payload)
        else:
            notify(
                driver_user,
                "mileage.claim_declined",
                {**payload, "most": claim.allowed_m // 1000, "reason": reason},
            )
    return claim

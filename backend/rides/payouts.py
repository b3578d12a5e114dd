"""Mileage payouts: the treasurer's record that a driver's kilometres of a month have been
paid. The amount is the month's mileage report at the rate in force when it is marked;
a month is paid once (a unique constraint, so two coordinators marking at the same
moment cannot both pay), and not while a claim of kilometres of that month waits for a
coordinator's decision (which would change what is owed)."""

from datetime import date

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from backend.accounts.models import User
from backend.community.models import Association
from backend.community.selectors import user_is_coordinator
from backend.errors import ApplicationError, ErrorKind
from backend.rides.errors import RideErrorCode
from backend.rides.models import ClaimState, DriverProfile, MileageClaim, MileagePayout, RideState
from backend.rides.selectors import mileage_report, month_bounds

PAYOUT_EXISTS = "mileage_already_paid"
MONTH_OPEN = "mileage_month_open"
NOTHING_TO_PAY = "mileage_nothing_to_pay"
CLAIM_WAITING = "mileage_claim_waiting"


def payouts_of_month(*, association: Association, month: date) -> QuerySet[MileagePayout]:
    return MileagePayout.objects.filter(association=association, month=month).select_related(
        "paid_by"
    )


@transaction.atomic
def mileage_payout_mark_paid(
    *, actor: User, association: Association, driver: DriverProfile, month: date
) -> MileagePayout:
    """Record that `driver`'s mileage of `month` (its first day) is paid. Refused for
    someone who does not coordinate the association, a driver of another association, a
    month not over yet (its kilometres can still grow), a month with a claim of
    kilometres still waiting for a decision, a month without completed rides, and a
    month already paid.

    Locks: the driver's waiting claims of the month (`SELECT … FOR UPDATE`), so a claim
    being decided at this moment is waited for and then seen decided, and the report
    read after it includes what was approved."""
    if not user_is_coordinator(user=actor, association=association):
        raise ApplicationError(
            RideErrorCode.NOT_ALLOWED,
            _("Only a coordinator of the association can mark mileage as paid."),
            kind=ErrorKind.FORBIDDEN,
        )
    if driver.membership.association_id != association.pk:
        raise ApplicationError(
            RideErrorCode.NOT_DRIVER,
            _("This driver does not drive for %(association)s.")
            % {"association": association.name},
            fields={"driver": [_("Not a driver here.")]},
        )
    if month >= timezone.localdate().replace(day=1):
        raise ApplicationError(
            MONTH_OPEN,
            _("%(month)s is not over yet. Mark it as paid once the month has ended.")
            % {"month": f"{month:%Y-%m}"},
            kind=ErrorKind.CONFLICT,
            fields={"month": [_("The month is not over.")]},
        )
    start, end = month_bounds(year=month.year, month=month.month)
    waiting = (
        MileageClaim.objects.select_for_update(of=("self",))
        .filter(
            state=ClaimState.PENDING,
            ride__driver=driver,
            ride__state=RideState.COMPLETED,
            ride__closed_at__gte=start,
            ride__closed_at__lt=end,
        )
        .values_list("pk", flat=True)
    )
    if list(waiting):
        raise ApplicationError(
            CLAIM_WAITING,
            _(
                "%(name)s has kilometres for %(month)s that wait for a coordinator's "
                "decision. Approve or decline them first, then mark the month as paid."
            )
            % {"name": driver.membership.user.full_name, "month": f"{month:%Y-%m}"},
            kind=ErrorKind.CONFLICT,
        )
    row = next(
        (
            row
            for row in mileage_report(association=association, year=month.year, month=month.month)
            if row.driver_id == driver.pk
        ),
        None,
    )
    if row is None:
        raise ApplicationError(
            NOTHING_TO_PAY,
            _("%(name)s drove no completed rides in %(month)s: there is nothing to pay.")
            % {"name": driver.membership.user.full_name, "month": f"{month:%Y-%m}"},
            kind=ErrorKind.CONFLICT,
        )
    try:
        with transaction.atomic():
            return MileagePayout.objects.create(
                association=association,
                driver=driver,
                month=month,
                rides=row.rides,
                metres=row.metres,
                rate_ore_per_km=settings.MILEAGE_RATE_ORE_PER_KM,
                amount_ore=row.amount_ore,
                paid_by=actor,
            )
    except IntegrityError as error:
        raise ApplicationError(
            PAYOUT_EXISTS,
            _("%(name)s's mileage for %(month)s is already marked as paid.")
            % {"name": driver.membership.user.full_name, "month": f"{month:%Y-%m}"},
            kind=ErrorKind.CONFLICT,
        ) from error

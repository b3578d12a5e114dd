from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.gis.db.models.functions import Distance
from django.contrib.gis.geos import Point
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth

from backend.accounts.models import User
from backend.community.models import Association, Membership, MembershipState, Role, Village
from backend.community.selectors import coordinated_association_ids, people_actable_by
from backend.rides.models import DriverProfile, RideRequest, RideState

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def village_nearest(*, association: Association, point: Point) -> Village | None:
    """The association's village closest to `point`: where the ride 'belongs'."""
    return (
        association.villages.annotate(distance=Distance("location", point))
        .order_by("distance")
        .first()
    )


def rider_membership(*, rider: User, association: Association) -> Membership | None:
    """The rider's active membership, if the association approved them as a rider."""
    return Membership.objects.filter(
        user=rider,
        association=association,
        state=MembershipState.ACTIVE,
        rider_approval__isnull=False,
    ).first()


def driver_profiles_of(*, user: User) -> QuerySet[DriverProfile]:
    return DriverProfile.objects.filter(
        membership__user=user,
        membership__state=MembershipState.ACTIVE,
        membership__roles__contains=[Role.DRIVER],
    ).select_related("membership__association")


def rides_visible_to(*, user: User) -> QuerySet[RideRequest]:
    """Rides a person may see: as rider or for someone they act for, as the driver who
    holds or held it, and all rides of the associations they coordinate. Drivers with a
    pending offer see the ride through the offer (approximate data only)."""
    return RideRequest.objects.filter(
        Q(rider__in=people_actable_by(actor=user))
        | Q(driver__membership__user=user)
        | Q(association_id__in=coordinated_association_ids(user=user))
        | Q(offers__driver__membership__user=user)
    ).distinct()


def rides_of_rider(*, actor: User) -> QuerySet[RideRequest]:
    """Rides of the people `actor` books for (themself included), newest first."""
    return (
        RideRequest.objects.filter(rider__in=people_actable_by(actor=actor))
        .select_related("rider", "driver__membership__user")
        .order_by("-earliest_pickup")
    )


def user_coordinates(*, user: User, association: Association) -> bool:
    return coordinated_association_ids(user=user).filter(association_id=association.pk).exists()


@dataclass(frozen=True)
class MileageRow:
    driver_id: int
    driver_name: str
    rides: int
    metres: int
    amount_ore: int

    @property
    def km(self) -> float:
        return round(self.metres / 1000, 1)


def mileage_report(*, association: Association, year: int, month: int) -> list[MileageRow]:
    """Per driver: completed rides and kilometres in the month (local time), and the
    reimbursement at MILEAGE_RATE_ORE_PER_KM. One aggregate query."""
    start = datetime(year, month, 1, tzinfo=STOCKHOLM)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=STOCKHOLM)
    rows = (
        RideRequest.objects.filter(
            association=association,
            state=RideState.COMPLETED,
            closed_at__gte=start,
            closed_at__lt=end,
        )
        .values("driver_id", "driver__membership__user__full_name")
        .annotate(rides=Count("pk"), metres=Sum("driven_m"))
        .order_by("driver__membership__user__full_name")
    )
    rate = settings.MILEAGE_RATE_ORE_PER_KM
    return [
        MileageRow(
            driver_id=row["driver_id"],
            driver_name=row["driver__membership__user__full_name"],
            rides=row["rides"],
            metres=row["metres"] or 0,
            amount_ore=round((row["metres"] or 0) / 1000 * rate),
        )
        for row in rows
    ]


def driver_logbook(*, driver: DriverProfile) -> QuerySet[RideRequest]:
    """The driver's completed rides, newest first: the basis of their mileage claim."""
    return RideRequest.objects.filter(driver=driver, state=RideState.COMPLETED).order_by(
        "-closed_at"
    )


@dataclass(frozen=True)
class MonthKm:
    month: date
    rides: int
    metres: int
    amount_ore: int

    @property
    def km(self) -> float:
        return round(self.metres / 1000, 1)


def driver_km_by_month(*, driver: DriverProfile, months: int = 12) -> list[MonthKm]:
    """The driver's completed rides and kilometres per month (local time), newest month
    first, with the reimbursement at MILEAGE_RATE_ORE_PER_KM. One aggregate query."""
    rows = (
        driver_logbook(driver=driver)
        .annotate(month=TruncMonth("closed_at", tzinfo=STOCKHOLM))
        .values("month")
        .annotate(rides=Count("pk"), metres=Sum("driven_m"))
        .order_by("-month")[:months]
    )
    rate = settings.MILEAGE_RATE_ORE_PER_KM
    return [
        MonthKm(
            month=row["month"].date(),
            rides=row["rides"],
            metres=row["metres"] or 0,
            amount_ore=round((row["metres"] or 0) / 1000 * rate),
        )
        for row in rows
    ]

"""factory_boy factories. Places are real (Vansbro municipality)."""

import datetime
from zoneinfo import ZoneInfo

import factory
from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.utils import timezone

from backend.accounts.login_codes import _hash
from backend.accounts.models import LoginCode, User
from backend.community.models import (
    Association,
    Membership,
    MembershipState,
    Municipality,
    Role,
    Village,
)
from backend.rides.availability import availability_windows_rebuild, availability_windows_roll
from backend.rides.models import RideRequest
from backend.rides.services import busy_range

PASSWORD = "correct horse battery"
STOCKHOLM = ZoneInfo("Europe/Stockholm")
VANSBRO = Point(14.22458, 60.50893, srid=4326)
DALA_JARNA = Point(14.36667, 60.53333, srid=4326)
# A box around Vansbro municipality; enough for point-in-municipality tests.
VANSBRO_BOX = MultiPolygon(Polygon.from_bbox((13.4, 60.25, 14.65, 61.05)), srid=4326)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    full_name = factory.Faker("name", locale="sv_SE")
    phone = factory.Sequence(lambda n: f"+46701{n:06d}")
    email = ""
    is_managed = False
    # Most people in tests confirmed their number long ago; pass None for one who has not.
    phone_confirmed_at = factory.LazyAttribute(
        lambda person: timezone.now() if person.phone and not person.is_managed else None
    )
    # The same for an e-mail address given here.
    email_confirmed_at = factory.LazyAttribute(
        lambda person: timezone.now() if person.email and not person.is_managed else None
    )
    password = factory.django.Password(PASSWORD)


class ManagedProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    full_name = factory.Faker("name", locale="sv_SE")
    phone = ""
    is_managed = True
    password = "!managed"


class MunicipalityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Municipality
        django_get_or_create = ["code"]

    name = "Vansbro"
    code = "2021"
    boundary = VANSBRO_BOX


class VillageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Village

    name = factory.Sequence(lambda n: f"By {n}")
    municipality = factory.SubFactory(MunicipalityFactory)
    location = VANSBRO


class AssociationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Association

    name = factory.Sequence(lambda n: f"Byalaget {n}")
    municipality = factory.SubFactory(MunicipalityFactory)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    association = factory.SubFactory(AssociationFactory)
    roles = [Role.MEMBER]
    state = MembershipState.ACTIVE


def coordinator_of(association: Association) -> User:
    return MembershipFactory(association=association, roles=[Role.MEMBER, Role.COORDINATOR]).user


# --- Volunteer rides ------------------------------------------------------------------


class DriverProfileFactory(factory.django.DjangoModelFactory):
    """A volunteer driver in Vansbro, available by default on no day (add slots)."""

    class Meta:
        model = "rides.DriverProfile"

    membership = factory.SubFactory(MembershipFactory, roles=[Role.MEMBER, Role.DRIVER])
    home_base = VANSBRO
    service_radius_m = 20_000
    seats = 3


class AvailabilitySlotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "rides.AvailabilitySlot"
        skip_postgeneration_save = True

    driver = factory.SubFactory(DriverProfileFactory)
    weekday = 0
    start = datetime.time(8, 0)
    end = datetime.time(17, 0)

    @factory.post_generation
    def windows(obj, create, extracted, **kwargs):
        """What the availability services do after a change: build the driver's windows
        (and the horizon, the first time)."""
        if create:
            availability_windows_roll()
            availability_windows_rebuild(driver_ids=[obj.driver_id])


class AvailabilityExceptionFactory(factory.django.DjangoModelFactory):
    """An away day by default; `kind="extra"` with start and end for extra time."""

    class Meta:
        model = "rides.AvailabilityException"
        skip_postgeneration_save = True

    driver = factory.SubFactory(DriverProfileFactory)
    date = factory.LazyFunction(lambda: timezone.localdate() + datetime.timedelta(days=1))
    kind = "away"

    windows = AvailabilitySlotFactory.windows


class RideRequestFactory(factory.django.DjangoModelFactory):
    """A ride from Vansbro to Dala-Järna next Monday 10:00 (about 10 km)."""

    class Meta:
        model = "rides.RideRequest"

    rider = factory.SubFactory(UserFactory)
    requested_by = factory.SelfAttribute("rider")
    association = factory.SubFactory(AssociationFactory)
    pickup = VANSBRO
    pickup_address = "Järnvägsgatan 4, Vansbro"
    destination = DALA_JARNA
    destination_address = "Vårdcentralen, Dala-Järna"
    time_kind = "pickup_at"
    earliest_pickup = factory.LazyFunction(lambda: next_weekday_at(0, 10, 0))
    latest_pickup = factory.SelfAttribute("earliest_pickup")
    distance_m = 11_000
    duration_s = 900
    state = "offering"


def next_weekday_at(weekday: int, hour: int, minute: int = 0) -> datetime.datetime:
    """The next `weekday` (0 = Monday) at least two days ahead, at local `hour:minute`.

    Two days, so that "the day before" is still in the future whatever day the suite runs.
    """
    today = timezone.localdate()
    days = (weekday - today.weekday()) % 7
    if days < 2:
        days += 7
    day = today + datetime.timedelta(days=days)
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=STOCKHOLM)


def ride_due(ride: RideRequest, minutes: int = 0) -> RideRequest:
    """The ride's pickup (window, planned pickup and the driver's busy time) moved to
    `minutes` from now, as when the day of the ride has come: a driver cannot say they
    are on their way, picked up or done long before the pickup. Returns the ride, read
    again."""
    at = timezone.now() + datetime.timedelta(minutes=minutes)
    changes = {"earliest_pickup": at, "latest_pickup": at}
    if ride.planned_pickup is not None:
        changes |= {"planned_pickup": at, "busy": busy_range(ride, at)}
    RideRequest.objects.filter(pk=ride.pk).update(**changes)
    ride.refresh_from_db()
    return ride


def code_texted(user: User, code: str = "123456") -> None:
    """`user`'s open sign-in or confirmation code is `code`, as if just texted to them."""
    now = timezone.now()
    LoginCode.objects.filter(user=user, used_at__isnull=True).update(used_at=now)
    LoginCode.objects.create(
        user=user,
        code_hash=_hash(user.pk, code),
        created_at=now,
        expires_at=now + datetime.timedelta(minutes=10),
    )

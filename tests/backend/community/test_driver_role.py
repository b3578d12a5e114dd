"""`membership_set_roles` and the driver role: an active member made a driver is told
once; the role is not taken from someone who still holds rides (409, nothing written);
without rides held it goes and the driver profile rests."""

import pytest
from django.utils import translation

from backend.community.models import MembershipState, Role
from backend.community.services import membership_set_roles
from backend.errors import ApplicationError, ErrorKind
from backend.notifications.models import Notification
from backend.rides.models import DriverProfile, RideState
from backend.rides.selectors import driver_profiles_of
from backend.rides.services import busy_range
from tests.factories import (
    AssociationFactory,
    DriverProfileFactory,
    MembershipFactory,
    RideRequestFactory,
    coordinator_of,
    next_weekday_at,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def association():
    return AssociationFactory(name="Äppelbo byalag")


def told(membership) -> list[dict]:
    return list(
        Notification.objects.filter(
            recipient=membership.user, kind="membership.driver_role"
        ).values_list("payload", flat=True)
    )


def test_an_active_member_made_a_driver_is_told_once(association):
    coordinator = coordinator_of(association)
    member = MembershipFactory(association=association)
    membership_set_roles(actor=coordinator, membership=member, roles=["member", "driver"])
    membership_set_roles(actor=coordinator, membership=member, roles=["member", "driver"])
    member.refresh_from_db()
    assert member.roles == [Role.MEMBER, Role.DRIVER]
    assert told(member) == [{"association": "Äppelbo byalag", "association_id": association.pk}]


@pytest.mark.parametrize("state", [MembershipState.PENDING, MembershipState.SUSPENDED])
def test_a_member_who_is_not_active_is_not_told_yet(association, state):
    member = MembershipFactory(association=association, state=state)
    membership_set_roles(
        actor=coordinator_of(association), membership=member, roles=["member", "driver"]
    )
    member.refresh_from_db()
    assert member.roles == [Role.MEMBER, Role.DRIVER]
    assert told(member) == []


def _held_ride(driver: DriverProfile, weekday: int):
    ride = RideRequestFactory(
        association=driver.membership.association, earliest_pickup=next_weekday_at(weekday, 10)
    )
    ride.state, ride.driver = RideState.PICKED_UP, driver
    ride.planned_pickup = ride.earliest_pickup
    ride.busy = busy_range(ride, ride.earliest_pickup)
    ride.save()
    return ride


def test_the_role_stays_with_a_driver_holding_rides(association):
    driver = DriverProfileFactory(membership__association=association)
    driver.membership.user.full_name = "Erik Olsson"
    driver.membership.user.save(update_fields=["full_name"])
    _held_ride(driver, 1)
    _held_ride(driver, 2)
    with pytest.raises(ApplicationError) as refused, translation.override("en"):
        membership_set_roles(
            actor=coordinator_of(association), membership=driver.membership, roles=["member"]
        )
    assert refused.value.code == "driver_holds_rides"
    assert refused.value.kind == ErrorKind.CONFLICT
    assert str(refused.value.message) == (
        "Erik Olsson holds 2 rides: give them to other drivers first, then take the driver "
        "role away."
    )
    with pytest.raises(ApplicationError) as refused, translation.override("sv"):
        membership_set_roles(
            actor=coordinator_of(association), membership=driver.membership, roles=["member"]
        )
    assert str(refused.value.message) == (
        "Erik Olsson har 2 resor. Ge dem till andra förare först. Ta sedan bort förarrollen."
    )
    driver.membership.refresh_from_db()
    assert driver.membership.roles == [Role.MEMBER, Role.DRIVER]


def test_without_rides_held_the_role_goes_and_the_profile_rests(association):
    driver = DriverProfileFactory(membership__association=association)
    ride = _held_ride(driver, 1)
    ride.state = RideState.COMPLETED
    ride.save(update_fields=["state"])
    membership_set_roles(
        actor=coordinator_of(association), membership=driver.membership, roles=["member"]
    )
    driver.membership.refresh_from_db()
    assert driver.membership.roles == [Role.MEMBER]
    assert DriverProfile.objects.filter(pk=driver.pk).exists()
    assert list(driver_profiles_of(user=driver.membership.user)) == []

"""Shared cars, tools and rooms: factories and fixtures. The association's car (members
only, gated), its hall (the owner approves) and a resident's trailer (open to all)."""

import datetime

import factory
import pytest

from backend.community.models import Role
from backend.sharing.models import ApprovalMode, Booking, BookingStatus, Resource, ResourceKind
from tests.factories import (
    DALA_JARNA,
    VANSBRO,
    AssociationFactory,
    MembershipFactory,
    UserFactory,
    next_weekday_at,
)


class ResourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Resource

    association = factory.SubFactory(AssociationFactory)
    kind = ResourceKind.TOOL
    category = "trailer"
    title = factory.Sequence(lambda n: f"Släpvagn {n}")
    location = VANSBRO
    min_minutes = 60
    max_minutes = 7 * 24 * 60


class BookingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Booking

    resource = factory.SubFactory(ResourceFactory)
    booker = factory.SubFactory(UserFactory)
    booked_by = factory.SelfAttribute("booker")
    starts_at = factory.LazyFunction(lambda: next_weekday_at(2, 10))
    ends_at = factory.LazyAttribute(lambda b: b.starts_at + datetime.timedelta(hours=2))
    blocked_until = factory.SelfAttribute("ends_at")
    status = BookingStatus.CONFIRMED


def wednesday(hour: int, minute: int = 0) -> datetime.datetime:
    return next_weekday_at(2, hour, minute)


@pytest.fixture
def member(association):
    return MembershipFactory(association=association, user__full_name="Anna Berg").user


@pytest.fixture
def outsider():
    """Logged in, member of another association."""
    return MembershipFactory(user__full_name="Olle Utsocken").user


@pytest.fixture
def other_coordinator():
    other = AssociationFactory(name="Grannbyns byalag")
    return MembershipFactory(association=other, roles=[Role.MEMBER, Role.COORDINATOR]).user


@pytest.fixture
def car(association):
    return ResourceFactory(
        association=association,
        kind=ResourceKind.CAR,
        category="car",
        title="Byabilen",
        approval_mode=ApprovalMode.MEMBERS,
        requires_clearance=False,
        seats=5,
        fuel="electric",
        odometer_km=12_000,
        key_location="Nyckelskåp vid affären, kod 1234",
        pickup_instructions="Parkeringen bakom ICA",
        price_per_hour_ore=3_000,
        price_per_day_ore=25_000,
        price_per_km_ore=150,
        buffer_minutes=30,
    )


@pytest.fixture
def hall(association):
    return ResourceFactory(
        association=association,
        kind=ResourceKind.ROOM,
        category="hall",
        title="Bygdegården",
        approval_mode=ApprovalMode.OWNER,
        price_per_day_ore=50_000,
        location=DALA_JARNA,
    )


@pytest.fixture
def lender(association):
    return MembershipFactory(association=association, user__full_name="Lars Släp").user


@pytest.fixture
def trailer(association, lender):
    return ResourceFactory(
        association=association,
        owner=lender,
        title="Lars släpvagn",
        pickup_instructions="Storgatan 12, vid garaget",
    )

"""Shared fixtures for volunteer rides: an association serving Vansbro, its coordinator,
an approved rider and a driver. Loaded for every test by tests/conftest.py."""

import pytest

from backend.rides.models import RiderApproval
from tests.factories import (
    VANSBRO,
    AssociationFactory,
    DriverProfileFactory,
    MembershipFactory,
    VillageFactory,
    coordinator_of,
)


@pytest.fixture
def association():
    association = AssociationFactory(name="Västerdalarnas byaskjuts")
    association.villages.add(
        VillageFactory(name="Vansbro", municipality=association.municipality, location=VANSBRO)
    )
    return association


@pytest.fixture
def coordinator(association):
    return coordinator_of(association)


@pytest.fixture
def rider(association, coordinator):
    membership = MembershipFactory(association=association, user__full_name="Ingrid Svensson")
    RiderApproval.objects.create(membership=membership, approved_by=coordinator)
    return membership.user


@pytest.fixture
def driver(association):
    return DriverProfileFactory(
        membership__association=association,
        membership__user__full_name="Erik Olsson",
        vehicle_description="Röd Volvo V70",
    )

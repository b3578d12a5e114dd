"""A new driver's first save twice at once (a double tap on the setup page), on real
concurrent transactions: the second waits for the first and changes the profile it made;
there is one profile and no error."""

import threading
import time

import pytest
from django.db import connection, transaction

from backend.community.models import Role
from backend.rides.drivers import driver_profile_save
from backend.rides.models import DriverProfile
from tests.factories import VANSBRO, AssociationFactory, MembershipFactory
from tests.locks import Beside, sessions_waiting_on_a_lock

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_second_of_two_first_saves_waits_and_changes_the_same_profile():
    membership = MembershipFactory(
        association=AssociationFactory(), roles=[Role.MEMBER, Role.DRIVER]
    )
    user = membership.user
    first_saved, second_done = threading.Event(), threading.Event()

    def first() -> bool:
        try:
            with transaction.atomic():
                driver_profile_save(
                    actor=user, membership=membership, values={"home_base": VANSBRO, "seats": 2}
                )
                first_saved.set()
                deadline = time.monotonic() + 10
                while not (sessions_waiting_on_a_lock() or second_done.is_set()):
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.02)
                return sessions_waiting_on_a_lock() > 0
        finally:
            first_saved.set()

    def second() -> int:
        try:
            first_saved.wait(timeout=10)
            return driver_profile_save(
                actor=user, membership=membership, values={"home_base": VANSBRO, "seats": 4}
            ).seats
        finally:
            second_done.set()

    firsts, seconds = Beside(first), Beside(second)
    assert firsts.result() is True  # the second was waiting for the first
    assert seconds.result() == 4
    connection.close()
    assert list(DriverProfile.objects.filter(membership=membership).values_list("seats")) == [(4,)]

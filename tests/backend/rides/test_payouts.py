"""Mileage payouts: the month's report at the rate of the day, paid once per driver and
month (the database refuses a second row, also when two coordinators mark at once)."""

import threading
from datetime import timedelta

import pytest
from django.db import IntegrityError, connection
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.utils import timezone

from backend.errors import ApplicationError
from backend.rides.models import MileagePayout, RideState
from backend.rides.payouts import mileage_payout_mark_paid
from tests.factories import AssociationFactory, RideRequestFactory, coordinator_of


def _last_month():
    return (timezone.localdate().replace(day=1) - timedelta(days=1)).replace(day=1)


def _drove_last_month(association, rider, driver, km: int):
    closed = timezone.localtime().replace(day=1) - timedelta(days=2, hours=km)
    return RideRequestFactory(
        rider=rider,
        association=association,
        driver=driver,
        state=RideState.COMPLETED,
        closed_at=closed,
        driven_m=km * 1000,
        busy=DateTimeTZRange(closed - timedelta(minutes=30), closed),
    )


@pytest.mark.django_db
def test_the_payout_keeps_what_was_paid(association, coordinator, rider, driver, settings):
    settings.MILEAGE_RATE_ORE_PER_KM = 250
    _drove_last_month(association, rider, driver, 10)
    _drove_last_month(association, rider, driver, 3)
    payout = mileage_payout_mark_paid(
        actor=coordinator, association=association, driver=driver, month=_last_month()
    )
    assert (payout.rides, payout.metres, payout.rate_ore_per_km, payout.amount_ore) == (
        2,
        13_000,
        250,
        3250,
    )


@pytest.mark.django_db
def test_refusals(association, coordinator, rider, driver):
    _drove_last_month(association, rider, driver, 10)
    elsewhere = coordinator_of(AssociationFactory())
    cases = [
        (elsewhere, _last_month(), "ride_not_allowed"),
        (coordinator, timezone.localdate().replace(day=1), "mileage_month_open"),
        (coordinator, _last_month() - timedelta(days=40), "mileage_nothing_to_pay"),
    ]
    for actor, month, code in cases:
        with pytest.raises(ApplicationError) as error:
            mileage_payout_mark_paid(
                actor=actor, association=association, driver=driver, month=month.replace(day=1)
            )
        assert error.value.code == code
    assert not MileagePayout.objects.exists()


@pytest.mark.django_db
def test_the_database_refuses_a_month_not_starting_on_the_first(association, driver):
    with pytest.raises(IntegrityError):
        MileagePayout.objects.create(
            association=association,
            driver=driver,
            month=_last_month() + timedelta(days=3),
            rides=1,
            metres=1000,
            rate_ore_per_km=250,
            amount_ore=250,
        )


@pytest.mark.django_db(transaction=True)
def test_two_coordinators_marking_at_once_pay_once(association, coordinator, rider, driver):
    _drove_last_month(association, rider, driver, 10)
    second = coordinator_of(association)
    barrier = threading.Barrier(2)
    outcomes = []

    def mark(actor):
        try:
            barrier.wait()
            mileage_payout_mark_paid(
                actor=actor, association=association, driver=driver, month=_last_month()
            )
            outcomes.append("paid")
        except ApplicationError as error:
            outcomes.append(error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=mark, args=(actor,)) for actor in (coordinator, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["mileage_already_paid", "paid"]
    assert MileagePayout.objects.count() == 1

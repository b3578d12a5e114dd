"""The summary is kept up to date incrementally in SQL, and equals a full rebuild."""

import datetime as dt
import threading

import pytest
from django.conf import settings
from django.db import IntegrityError, connection, transaction

from backend.rides.services import ride_mark_unfulfilled
from backend.stats.models import DailyFigures, MonthlyPeople, RefreshState, UnmetDemand
from backend.stats.refresh import stats_refresh
from backend.stats.tasks import rebuild_statistics, refresh_statistics
from tests.stats_data import add_ride, build_world, pickup

FIELDS = [f.name for f in DailyFigures._meta.get_fields() if f.name not in {"id", "refreshed_at"}]


def snapshot():
    daily = sorted(tuple(str(v) for v in row) for row in DailyFigures.objects.values_list(*FIELDS))
    unmet = sorted(
        tuple(str(v) for v in row)
        for row in UnmetDemand.objects.values_list(
            "service", "day", "association", "village", "cell", "requests", "requesters"
        )
    )
    people = sorted(
        tuple(str(v) for v in row)
        for row in MonthlyPeople.objects.values_list(
            "service",
            "month",
            "association",
            "village",
            "person_id",
            "served",
            "elderly",
            "managed",
        )
    )
    return daily, unmet, people


@pytest.mark.django_db
def test_first_refresh_is_full_and_a_second_without_changes_does_nothing():
    build_world()
    first, *others = stats_refresh()
    assert [other.rows for other in others] == [0, 0, 0]  # no carpool, shop runs, loans
    assert first.service == "rides" and first.full and first.rows == 16  # 15 ride days in A, 1 in B
    before = snapshot()
    second = stats_refresh()[0]
    assert not second.full and second.keys == 0 and second.rows == 0
    assert snapshot() == before


@pytest.mark.django_db
def test_incremental_refresh_picks_up_changes_and_equals_a_full_rebuild():
    world = build_world()
    stats_refresh()
    # A new request for 15 January (a day that has a row) and one for 1 March (a new
    # day), recorded now; then the March one is closed as unfulfilled.
    jan = add_ride(world, "P2", world.byaskjutsen, world.vansbro, pickup(1, 15), "offering")
    march = add_ride(world, "P5", world.byaskjutsen, world.vansbro, pickup(3, 1), "offering")
    for ride in (jan, march):
        ride.events.update(at=dt.datetime.now(dt.UTC))
    world_rides = DailyFigures.objects.get(day=dt.date(2026, 1, 15))
    assert world_rides.requests == 1

    result = stats_refresh()[0]
    assert not result.full and result.keys == 2
    jan15 = DailyFigures.objects.get(day=dt.date(2026, 1, 15))
    assert jan15.requests == 2 and jan15.unfulfilled == 1
    assert jan15.requesters == sorted([world.people["P2"].pk, world.people["P3"].pk])
    assert DailyFigures.objects.get(day=dt.date(2026, 3, 1)).unfulfilled == 0

    ride_mark_unfulfilled(ride=march)
    stats_refresh()
    assert DailyFigures.objects.get(day=dt.date(2026, 3, 1)).unfulfilled == 1
    assert UnmetDemand.objects.filter(day=dt.date(2026, 3, 1)).get().requests == 1

    incremental = snapshot()
    assert MonthlyPeople.objects.filter(month=dt.date(2026, 3, 1), served=False).count() == 1
    stats_refresh(full=True)
    assert snapshot() == incremental


@pytest.mark.django_db
def test_changes_older_than_the_overlap_are_left_to_the_nightly_rebuild():
    world = build_world()
    stats_refresh()
    ride = add_ride(world, "P2", world.byaskjutsen, world.vansbro, pickup(1, 15), "offering")
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=settings.STATS_REFRESH_OVERLAP + 60)
    ride.events.update(at=long_ago - dt.timedelta(days=1))
    assert refresh_statistics() == 0
    assert DailyFigures.objects.get(day=dt.date(2026, 1, 15)).requests == 1
    assert rebuild_statistics() == 16
    assert DailyFigures.objects.get(day=dt.date(2026, 1, 15)).requests == 2
    assert RefreshState.objects.get(service="rides").full_rebuild_at is not None


def test_beat_runs_the_refresh_and_the_nightly_rebuild():
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert schedule["stats-refresh"]["task"] == "backend.stats.tasks.refresh_statistics"
    assert schedule["stats-refresh"]["schedule"] == settings.STATS_REFRESH_SECONDS
    assert schedule["stats-rebuild"]["task"] == "backend.stats.tasks.rebuild_statistics"


@pytest.mark.django_db(transaction=True)
def test_two_refreshes_at_once_take_turns():
    """Two refreshes in two connections at the same time: the advisory lock makes the
    second wait, and the summary is the same as after one."""
    build_world()
    stats_refresh(full=True)
    expected = snapshot()
    barrier = threading.Barrier(2)
    errors = []

    def run():
        try:
            barrier.wait()
            stats_refresh(full=True)
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert snapshot() == expected


def _row(**changes) -> dict:
    world = build_world()
    base = {
        "service": "rides",
        "day": dt.date(2026, 5, 1),
        "municipality": world.a,
        "association": world.byaskjutsen,
        "village": None,
        "requests": 2,
        "requesters": [1, 2],
        "served": [1],
    }
    return base | changes


@pytest.mark.django_db
@pytest.mark.parametrize(
    "changes",
    [
        {"fulfilled": 2, "unfulfilled": 1},
        {"served": [3]},
        {"served_elderly": [2]},
        {"served_managed": [2]},
        {"accept_delays_s": [1, 2, 3]},
        {"vehicle_m": -1},
    ],
    ids=[
        "outcomes-above-requests",
        "served-not-a-requester",
        "elderly-not-served",
        "managed-not-served",
        "more-delays-than-requests",
        "negative-distance",
    ],
)
def test_the_database_refuses_an_impossible_row(changes):
    row = _row(**changes)
    with pytest.raises(IntegrityError), transaction.atomic():
        DailyFigures.objects.create(**row)


@pytest.mark.django_db
def test_one_row_per_key_also_without_a_village():
    row = _row()
    DailyFigures.objects.create(**row)
    with pytest.raises(IntegrityError), transaction.atomic():
        DailyFigures.objects.create(**row)


@pytest.mark.django_db
def test_the_rebuild_warms_the_default_dashboards(django_assert_num_queries):
    from backend.stats.selectors import stats_dashboard, stats_query

    world = build_world()
    rebuild_statistics()
    query = stats_query(municipality=world.a, start=None, end=None)
    # From the cache: the summary's version only.
    with django_assert_num_queries(1):
        stats_dashboard(query=query)

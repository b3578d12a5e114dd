"""Every published figure against the hand-built world of tests/stats_data.py."""

import datetime as dt

import h3
import pytest

from backend.stats.models import DailyFigures
from backend.stats.refresh import stats_refresh
from backend.stats.selectors import stats_query, stats_table, stats_tables, stats_unmet
from tests.stats_data import X, build_world

pytestmark = pytest.mark.django_db

JAN_FEB = {"start": dt.date(2026, 1, 1), "end": dt.date(2026, 2, 28)}


@pytest.fixture
def world(settings):
    settings.STATS_CO2_VEHICLE_G_PER_KM = 120
    settings.STATS_CO2_ALTERNATIVE_G_PER_PKM = {"rides": 150}
    world = build_world()
    stats_refresh()
    return world


def query(world, **kwargs):
    return stats_query(municipality=world.a, **{**JAN_FEB, **kwargs})


def test_municipality_totals(world):
    total = stats_table(query=query(world), dimension="village").total.figures
    assert total == {
        "requests": 15,
        "fulfilled": 11,
        "unfulfilled": 2,
        "cancelled": 1,
        "no_show": 1,
        "people_requesting": 14,
        "people_served": 10,
        "people_served_elderly": 5,  # P1, P2, P7, P9 (born 1961), P10
        "people_served_managed": None,  # only P1: fewer than k = 5
        "passengers": 12,
        "vehicle_km": 118.0,
        "passenger_km": 119.0,
        # 119 pkm x 150 g - 118 km x 120 g = 3,690 g
        "co2_avoided_kg": 3.7,
        # 40 + 15 + 60 + 60 (Vansbro) + 40 + 15 (Dala-Järna) + 5 x 40 (Äppelbo) = 430 min
        "volunteer_hours": 7.2,
        "volunteer_km": 118.0,
        "usage_hours": 0.0,
        # 5, 10, 15, 20, 25 x 5, 30, 45, 60: the middle two are 25 and 25
        "median_minutes_to_accept": 25.0,
    }


def test_village_rows_with_small_villages_withheld(world):
    rows = {row.label: row for row in stats_table(query=query(world), dimension="village").rows}
    assert rows["Vansbro"].figures == {
        "requests": 7,
        "fulfilled": 4,
        "unfulfilled": 1,
        "cancelled": 1,
        "no_show": 1,
        "people_requesting": 6,
        # 3 served, 2 elderly, 1 managed: each fewer than 5 people
        "people_served": None,
        "people_served_elderly": None,
        "people_served_managed": None,
        "passengers": 5,
        "vehicle_km": 47.0,
        "passenger_km": 48.0,
        "co2_avoided_kg": round((48 * 150 - 47 * 120) / 1000, 1),
        "volunteer_hours": round(175 / 60, 1),
        "volunteer_km": 47.0,
        "usage_hours": 0.0,
        "median_minutes_to_accept": 20.0,  # 5, 10, 20, 30, 60
    }
    # Dala-Järna has 3 people: withheld; Äppelbo (5) is withheld with it, so that the
    # total minus Vansbro gives only the two together (8 people).
    assert rows["Dala-Järna"].suppressed
    assert rows["Äppelbo"].suppressed


def test_every_figure_with_a_small_k(world, settings):
    settings.STATS_K_ANONYMITY = 2
    tables = stats_tables(
        query=query(world, granularity="month"), dimensions=["village", "association", "period"]
    )
    villages = {row.label: row.figures for row in tables["village"].rows}
    assert villages["Dala-Järna"] | {} == {
        "requests": 3,
        "fulfilled": 2,
        "unfulfilled": 1,
        "cancelled": 0,
        "no_show": 0,
        "people_requesting": 3,
        "people_served": 2,
        # elderly: Äppelbo has 1 (P10): withheld; the complement is the first row of
        # the fewest (2): Dala-Järna, before Vansbro in the table
        "people_served_elderly": None,
        # one managed person in the whole table (P1): fewer than k, withheld everywhere
        "people_served_managed": None,
        "passengers": 2,
        "vehicle_km": 21.0,
        "passenger_km": 21.0,
        "co2_avoided_kg": round((21 * 150 - 21 * 120) / 1000, 1),
        "volunteer_hours": round(55 / 60, 1),
        "volunteer_km": 21.0,
        "usage_hours": 0.0,
        "median_minutes_to_accept": 30.0,  # 15 and 45
    }
    assert villages["Äppelbo"]["people_served_elderly"] is None  # 1 person (P10)
    assert villages["Vansbro"]["people_served_elderly"] == 2  # P1, P2
    associations = {row.label: row.figures for row in tables["association"].rows}
    assert associations["Byaskjutsen"]["requests"] == 10
    assert associations["Byaskjutsen"]["people_requesting"] == 9
    assert associations["Byaskjutsen"]["vehicle_km"] == 68.0
    assert associations["PRO Äppelbo"]["requests"] == 5
    assert associations["PRO Äppelbo"]["passenger_km"] == 50.0
    months = {row.label: row.figures for row in tables["period"].rows}
    assert set(months) == {"2026-01", "2026-02"}
    assert months["2026-01"]["requests"] == 11
    assert months["2026-02"]["requests"] == 4
    assert months["2026-02"]["fulfilled"] == 3  # P1 on 3 Feb, P9 on 5 Feb, P5 on 10 Feb
    assert months["2026-02"]["people_requesting"] == 4


def test_a_people_figure_of_a_shown_row_is_withheld_with_a_complement(world, settings):
    settings.STATS_K_ANONYMITY = 2
    villages = {row.label: row for row in stats_table(query=query(world), dimension="village").rows}
    # Managed profiles served: Vansbro 1 (P1) is withheld; Dala-Järna 0 stays; the total
    # (1) is itself below k, so the figure goes everywhere.
    assert villages["Vansbro"].figures["people_served_managed"] is None
    assert "people_served_managed" in villages["Vansbro"].withheld


def test_day_and_week_series(world, settings):
    settings.STATS_K_ANONYMITY = 2
    weeks = stats_table(query=query(world, granularity="week"), dimension="period")
    assert weeks.rows[0].label == "2026-W01"  # Monday 29 December 2025 starts it
    by_label = {row.label: row.figures for row in weeks.rows}
    # 10, 11 and 12 January: ISO week 2 (Sat, Sun) and week 3 (Mon)
    assert by_label["2026-W02"]["requests"] == 2  # P1 on the 10th, P7 on the 11th
    days = stats_table(
        query=query(world, start=dt.date(2026, 1, 10), end=dt.date(2026, 1, 12)),
        dimension="period",
    )
    assert [row.label for row in days.rows] == ["2026-01-10", "2026-01-11", "2026-01-12"]


def test_unmet_demand_cells(world, settings):
    settings.STATS_K_ANONYMITY = 2
    unmet = stats_unmet(query=query(world))
    cell = h3.latlng_to_cell(X.y, X.x, settings.STATS_H3_RESOLUTION)
    assert [f["properties"] for f in unmet.features] == [{"cell": cell, "requests": 2, "people": 2}]
    ring = unmet.features[0]["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1] and len(ring) == 7
    assert 14.1 < ring[0][0] < 14.4 and 60.4 < ring[0][1] < 60.6  # (lon, lat)


def test_unmet_demand_of_fewer_than_k_people_is_not_shown(world):
    assert stats_unmet(query=query(world)).features == []


def test_other_municipalities_never_count(world):
    total = stats_table(query=stats_query(municipality=world.b, **JAN_FEB), dimension="service")
    assert total.total.figures is None  # one person in Leksand
    assert stats_table(query=query(world), dimension="village").total.figures["requests"] == 15


def test_summary_rows_hold_their_invariants(world):
    assert DailyFigures.objects.filter(municipality=world.a).count() == 15  # one ride a day
    row = DailyFigures.objects.get(day=dt.date(2026, 1, 10), municipality=world.a)
    assert row.requesters == row.served == [world.people["P1"].pk]
    assert row.served_managed == row.served_elderly == [world.people["P1"].pk]
    assert row.accept_delays_s == [600]

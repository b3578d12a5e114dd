"""The privacy rule (backend/stats/privacy.py, docs/privacy-statistics.md): small rows
are withheld, and no withheld row can be worked out from what is shown."""

import datetime as dt

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.stats.privacy import linked_withheld, suppress
from backend.stats.refresh import stats_refresh
from backend.stats.selectors import stats_dashboard, stats_query, stats_tables
from tests.stats_data import build_world


def people_sets(rows: dict[str, set[int]]):
    counts = [(key, len(people)) for key, people in rows.items()]
    total = len(set().union(*rows.values()))

    def union_size(keys):
        return len(set().union(*(rows[key] for key in keys)))

    return counts, total, union_size


def test_a_cell_of_three_is_not_recoverable_from_the_total_and_the_other_cells():
    rows = {"A": set(range(0, 20)), "B": set(range(20, 23)), "C": set(range(23, 30))}
    counts, total, union_size = people_sets(rows)
    rule = suppress(counts, total=total, k=5, union_size=union_size)
    # B (3) is withheld; C, the smallest other row, with it: total - A = B + C (10).
    assert rule.withheld == {"B", "C"}
    assert not rule.total_withheld
    shown = [key for key in rows if rule.shows(key)]
    assert shown == ["A"]


def test_complements_are_added_until_the_withheld_rows_hold_k_people():
    # Two small rows of 1 and 2 people hold 3 together: still fewer than 5, so the
    # smallest shown row (6 people) joins them.
    rows = {"A": {1}, "B": {2, 3}, "C": set(range(10, 16)), "D": set(range(20, 40))}
    counts, total, union_size = people_sets(rows)
    assert suppress(counts, total=total, k=5, union_size=union_size).withheld == {"A", "B", "C"}


def test_people_in_two_withheld_rows_are_counted_once():
    # B and C share their people: together they are 3 people, not 6.
    rows = {"A": set(range(10)), "B": {1, 2, 3}, "C": {1, 2, 3}, "D": set(range(20, 27))}
    counts, total, union_size = people_sets(rows)
    assert suppress(counts, total=total, k=5, union_size=union_size).withheld == {"B", "C", "D"}


def test_a_table_of_fewer_than_k_people_is_withheld_whole():
    rows = {"A": {1, 2}, "B": {3}, "C": set()}
    counts, total, union_size = people_sets(rows)
    rule = suppress(counts, total=total, k=5, union_size=union_size)
    assert rule.total_withheld and not any(rule.shows(key) for key in rows)


def test_rows_of_nobody_are_shown_and_never_used_as_a_complement():
    rows = {"A": set(range(10)), "B": {11, 12}, "C": set(), "D": set(range(20, 26))}
    counts, total, union_size = people_sets(rows)
    rule = suppress(counts, total=total, k=5, union_size=union_size)
    assert rule.shows("C") and rule.withheld == {"B", "D"}


@given(
    st.lists(st.integers(min_value=0, max_value=12), min_size=1, max_size=8),
    st.integers(min_value=2, max_value=6),
)
def test_no_withheld_row_can_be_differenced(sizes, k):
    """For any table of disjoint rows: either the whole table is withheld, or every row
    with 1 to k-1 people is withheld together with others, and what the total minus the
    shown rows gives (the withheld rows together) holds at least k people."""
    rows, start = {}, 0
    for position, size in enumerate(sizes):
        rows[position] = set(range(start, start + size))
        start += size
    counts, total, union_size = people_sets(rows)
    rule = suppress(counts, total=total, k=k, union_size=union_size)
    if rule.total_withheld:
        assert 0 < total < k
        return
    for key, people in rows.items():
        if 0 < len(people) < k:
            assert key in rule.withheld
    if rule.withheld:
        assert union_size(rule.withheld) >= k


def _solvable(rows, published, target) -> bool:
    """Can `target` (a set of inner cells) be computed from the published rows?"""
    cells = sorted(set().union(*rows.values()))

    def vector(members):
        return np.array([1.0 if cell in members else 0.0 for cell in cells])

    matrix = np.vstack([vector(set(cells)), *(vector(rows[key]) for key in published)])
    extended = np.vstack([matrix, vector(target)])
    return np.linalg.matrix_rank(matrix) == np.linalg.matrix_rank(extended)


def test_an_association_serving_one_small_village_does_not_give_it_away():
    # Villages V (6 people), D (3), Ä (5); association X serves V and D, Y serves Ä.
    cells = [("V", "X"), ("D", "X"), ("Ä", "Y")]
    rows = {("village", v): frozenset(c for c in cells if c[0] == v) for v in "VDÄ"}
    rows |= {("association", a): frozenset(c for c in cells if c[1] == a) for a in "XY"}
    people = {("village", "V"): 6, ("village", "D"): 3, ("village", "Ä"): 5}
    people |= {("association", "X"): 9, ("association", "Y"): 5}
    first = frozenset({("village", "D"), ("village", "Ä")})  # the village table's own rule
    assert _solvable(rows, [key for key in rows if key not in first], rows[("village", "D")])

    withheld = linked_withheld(rows, people, first, k=5)

    shown = [key for key in rows if key not in withheld]
    assert not _solvable(rows, shown, rows[("village", "D")])
    assert shown == [("village", "V")]


@pytest.mark.django_db
def test_the_published_tables_never_give_back_the_village_of_three():
    """Dala-Järna has 3 people. From everything the dashboard and the API publish for
    the same range (village, association, service and month tables, with their totals),
    its requests cannot be worked out."""
    world = build_world()
    stats_refresh()
    query = stats_query(
        municipality=world.a,
        start=dt.date(2026, 1, 1),
        end=dt.date(2026, 2, 28),
        granularity="month",
    )
    tables = stats_tables(query=query, dimensions=["village", "association", "service"])
    shown = {
        (name, row.key): row.figures["requests"]
        for name, table in tables.items()
        for row in table.rows
        if not row.suppressed
    }
    total = tables["village"].total.figures["requests"]
    assert total == 15
    villages = {row.key: row for row in tables["village"].rows}
    assert villages[world.dala_jarna.pk].suppressed
    assert villages[world.appelbo.pk].suppressed
    assert shown == {("village", world.vansbro.pk): 7, ("service", "rides"): 15}
    # What remains is total - Vansbro = Dala-Järna + Äppelbo = 8: 8 people, not 3.
    assert total - shown[("village", world.vansbro.pk)] == 3 + 5


@pytest.mark.django_db
def test_a_village_filter_cannot_select_a_withheld_village():
    world = build_world()
    stats_refresh()
    common = {"start": dt.date(2026, 1, 1), "end": dt.date(2026, 2, 28)}
    dashboard = stats_dashboard(
        query=stats_query(municipality=world.a, villages=[world.dala_jarna.pk], **common)
    )
    assert dashboard.filter_withheld
    assert dashboard.total.figures is None
    assert all(row.suppressed for row in dashboard.series.rows)
    # Vansbro alone is shown (6 people).
    vansbro = stats_dashboard(
        query=stats_query(municipality=world.a, villages=[world.vansbro.pk], **common)
    )
    assert not vansbro.filter_withheld
    assert vansbro.total.figures["requests"] == 7

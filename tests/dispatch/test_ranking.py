"""The ranking rule on hand-built candidates (no database): metres + 1 km per recent
ride, at most 4 rides counted; ties to the nearer, then fewer rides, then lower id."""

import datetime as dt

import pytest

from dispatch.matching import Candidate
from dispatch.ranking import RIDE_WEIGHT_M, RIDES_COUNTED, rank, score

AT = dt.datetime(2026, 5, 4, 8, 0, tzinfo=dt.UTC)


def c(driver_id: int, km: float, rides: int = 0) -> Candidate:
    return Candidate(
        driver_id=driver_id, distance_m=round(km * 1000), pickup_at=AT, recent_rides=rides
    )


def order(*candidates: Candidate) -> list[int]:
    return [x.driver_id for x in rank(candidates)]


def test_the_rule_constants_are_the_documented_ones():
    assert (RIDE_WEIGHT_M, RIDES_COUNTED) == (1_000, 4)
    assert score(c(1, 2.5, 3)) == 5_500
    assert score(c(1, 2.5, 12)) == 6_500


@pytest.mark.parametrize(
    ("candidates", "expected"),
    [
        pytest.param([], [], id="nobody"),
        pytest.param([c(1, 5), c(2, 1), c(3, 3)], [2, 3, 1], id="same rides: by distance"),
        pytest.param(
            [c(1, 1.0, 2), c(2, 2.5, 0)],
            [2, 1],
            id="similar distance: the one who drove less first",
        ),
        pytest.param(
            [c(1, 1.0, 2), c(2, 3.5, 0)],
            [1, 2],
            id="two rides do not outweigh 2.5 km",
        ),
        pytest.param(
            [c(1, 1.0, 2), c(2, 3.0, 0)],
            [1, 2],
            id="equal score: the nearer first",
        ),
        pytest.param(
            [c(1, 0.5, 20), c(2, 4.0, 0), c(3, 5.0, 0)],
            [2, 1, 3],
            id="a very busy neighbour is moved back at most 4 km",
        ),
        pytest.param(
            [c(7, 2.0, 1), c(3, 2.0, 1)],
            [3, 7],
            id="same distance and rides: lower driver id",
        ),
        pytest.param(
            [c(1, 1.9, 2), c(2, 2.1, 0)],
            [2, 1],
            id="no band edge: 1.9 km and 2.1 km are compared fairly",
        ),
        pytest.param(
            [c(2, 0.2, 5), c(1, 0.2, 4), c(3, 4.3, 0)],
            [1, 2, 3],
            id="beyond the cap, more rides only break ties",
        ),
    ],
)
def test_rank(candidates, expected):
    assert order(*candidates) == expected


def test_rank_does_not_depend_on_input_order():
    people = [c(1, 1.0, 2), c(2, 2.5, 0), c(3, 3.0, 1), c(4, 0.5, 9), c(5, 2.5, 0)]
    expected = order(*people)
    assert order(*reversed(people)) == expected
    assert order(*people[2:], *people[:2]) == expected


def test_rank_returns_the_same_objects_and_leaves_the_input_alone():
    people = [c(1, 5), c(2, 1)]
    ranked = rank(people)
    assert ranked[0] is people[1]
    assert [x.driver_id for x in people] == [1, 2]

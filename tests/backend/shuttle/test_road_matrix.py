"""The distance matrix for the pickup order: one OSRM `table` request when a router is
configured (a fake one on loopback here), else geodesic x road factor, also when the
router is down."""

import pytest
from django.contrib.gis.geos import Point

from backend.geo import geodesic_m, road_matrix
from tests.fakes.router import FakeOsrm

POINTS = [
    Point(14.23, 60.511, srid=4326),
    Point(14.26, 60.52, srid=4326),
    Point(14.19, 60.50, srid=4326),
]


def test_matrix_comes_from_the_router_in_one_request(settings):
    with FakeOsrm(metres_per_degree=100_000, speed_m_s=10) as router:
        settings.ROUTER_URL = router.url
        distances, durations = road_matrix(POINTS)
    assert router.paths == ["/table/v1/driving/14.23,60.511;14.26,60.52;14.19,60.5"]
    assert distances[0][0] == 0
    assert distances[0][1] == round(((0.03**2 + 0.009**2) ** 0.5) * 100_000)
    assert durations[0][1] == round(distances[0][1] / 10)


@pytest.mark.parametrize("router", ["down", "none"])
def test_without_a_working_router_it_is_geodesic_times_the_road_factor(settings, router):
    settings.ROAD_FACTOR = 1.3
    settings.AVERAGE_SPEED_KMH = 50
    if router == "down":
        with FakeOsrm() as fake:
            fake.fail = True
            settings.ROUTER_URL = fake.url
            distances, durations = road_matrix(POINTS)
        assert len(fake.paths) == 1
    else:
        settings.ROUTER_URL = ""
        distances, durations = road_matrix(POINTS)
    expected = round(geodesic_m(POINTS[1], POINTS[2]) * 1.3)
    assert distances[1][2] == expected
    assert durations[1][2] == round(expected / (50 / 3.6))
    assert [distances[i][i] for i in range(3)] == [0, 0, 0]

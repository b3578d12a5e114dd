"""/api/v1/stats/...: analysts read their own municipality's published figures, as
JSON, CSV and GeoJSON; everyone else gets nothing; bad input a 400 that says why."""

import csv
import datetime as dt
import io
import json

import pytest

from backend.community.models import Role
from backend.stats.models import DailyFigures
from backend.stats.refresh import stats_refresh
from backend.stats.selectors import FIGURES
from tests.factories import MembershipFactory
from tests.stats_data import add_ride, build_world, pickup

pytestmark = pytest.mark.django_db

RANGE = {"start": "2026-01-01", "end": "2026-02-28"}


@pytest.fixture
def world():
    world = build_world()
    stats_refresh()
    return world


def url(world, what: str, municipality=None) -> str:
    return f"/api/v1/stats/municipalities/{(municipality or world.a).pk}/{what}"


def test_a_municipality_without_any_request_shows_zeros(world, api_as):
    """A new municipality: no request in the range, so people are counted (none) and no
    sums exist; the dashboard answers (the total, of fewer than k people, withheld)."""
    response = api_as(world.analyst_b).get(url(world, "summary", world.b), RANGE)
    assert response.status_code == 200
    assert response.json()["total"]["suppressed"] is True
    assert response.json()["villages"]["rows"] == [] or all(
        row["suppressed"] for row in response.json()["villages"]["rows"]
    )


def test_analyst_lists_only_their_municipality(world, api_as):
    response = api_as(world.analyst_a).get("/api/v1/stats/municipalities/")
    assert response.status_code == 200
    assert response.json() == [{"id": world.a.pk, "name": "Vansbro", "code": "2021"}]


def test_summary(world, api_as):
    response = api_as(world.analyst_a).get(url(world, "summary"), RANGE)
    assert response.status_code == 200
    data = response.json()
    assert data["total"]["figures"]["requests"] == 15
    assert data["total"]["figures"]["people_served"] == 10
    assert data["total"]["figures"]["people_served_managed"] is None
    assert data["granularity"] == "day"  # 58 days
    villages = {row["label"]: row for row in data["villages"]["rows"]}
    assert villages["Vansbro"]["figures"]["requests"] == 7
    assert villages["Dala-Järna"] == {
        "key": str(world.dala_jarna.pk),
        "label": "Dala-Järna",
        "suppressed": True,
        "figures": None,
    }
    assert [row["suppressed"] for row in data["associations"]["rows"]] == [True, True]
    assert data["services"]["rows"][0]["figures"]["requests"] == 15
    assert data["unmet_cells"] == 0 and data["unmet_cells_withheld"] == 1
    assert data["villages"]["k"] == 5


def test_table_as_csv_parses_and_matches_the_json(world, api_as):
    client = api_as(world.analyst_a)
    params = {**RANGE, "group_by": "village"}
    as_json = client.get(url(world, "table"), params).json()
    response = client.get(url(world, "table"), {**params, "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    assert [row["label"] for row in rows] == ["Dala-Järna", "Vansbro", "Äppelbo", "Totalt"]
    assert list(rows[0])[3:] == list(FIGURES)
    by_label = {row["label"]: row for row in rows}
    assert by_label["Dala-Järna"]["withheld"] == "yes"
    assert by_label["Dala-Järna"]["requests"] == ""
    assert by_label["Vansbro"]["requests"] == "7"
    assert by_label["Vansbro"]["people_served"] == ""  # 3 people
    assert by_label["Totalt"]["vehicle_km"] == "118.0"
    assert by_label["Totalt"]["requests"] == str(as_json["total"]["figures"]["requests"])


def test_time_series_by_month(world, api_as, settings):
    settings.STATS_K_ANONYMITY = 3
    response = api_as(world.analyst_a).get(
        url(world, "table"), {**RANGE, "group_by": "period", "granularity": "month"}
    )
    rows = response.json()["rows"]
    assert [(row["key"], row["label"]) for row in rows] == [
        ("2026-01-01", "2026-01"),
        ("2026-02-01", "2026-02"),
    ]
    assert [row["figures"]["requests"] for row in rows] == [11, 4]


def test_unmet_geojson_parses(world, api_as, settings):
    settings.STATS_K_ANONYMITY = 2
    response = api_as(world.analyst_a).get(url(world, "unmet"), RANGE)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/geo+json")
    data = json.loads(response.content)
    assert data["type"] == "FeatureCollection"
    [feature] = data["features"]
    assert feature["type"] == "Feature"
    assert feature["geometry"]["type"] == "Polygon"
    assert feature["properties"]["requests"] == 2
    lon, lat = feature["geometry"]["coordinates"][0][0]
    assert 14 < lon < 15 and 60 < lat < 61


@pytest.mark.parametrize("what", ["summary", "table", "unmet"])
def test_analyst_of_another_municipality_cannot_read(world, api_as, what):
    response = api_as(world.analyst_b).get(url(world, what), RANGE)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("role", ["resident", "driver", "coordinator", "proxy", "staff"])
def test_people_who_are_not_analysts_get_nothing(world, api_as, role):
    person = {
        "resident": lambda: world.people["P2"],
        "driver": lambda: world.drivers[world.byaskjutsen.pk].membership.user,
        "coordinator": lambda: (
            MembershipFactory(
                association=world.byaskjutsen, roles=[Role.MEMBER, Role.COORDINATOR]
            ).user
        ),
        "proxy": lambda: world.people["P5"],
        "staff": lambda: MembershipFactory(user__is_staff=True, user__is_superuser=True).user,
    }[role]()
    client = api_as(person)
    assert client.get("/api/v1/stats/municipalities/").json() == []
    assert client.get(url(world, "summary"), RANGE).status_code == 404
    assert client.get(url(world, "unmet"), RANGE).status_code == 404


def test_anonymous_is_refused(world, api):
    for what in ("summary", "table", "unmet"):
        response = api.get(url(world, what), RANGE)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize(
    ("params", "code", "field"),
    [
        ({"start": "2026-03-01", "end": "2026-01-01"}, "stats_range_reversed", "start"),
        ({"start": "2020-01-01", "end": "2026-01-01"}, "stats_range_too_long", "start"),
        ({"start": "1 januari"}, "invalid_date", "start"),
        ({"end": "2026-02-30"}, "invalid_date", "end"),
        ({"village": "Vansbro"}, "invalid_village", "village"),
        ({"service": "taxi"}, "stats_unknown_service", "service"),
        ({"granularity": "year"}, "stats_unknown_granularity", "granularity"),
        ({"group_by": "person"}, "stats_unknown_dimension", "group_by"),
    ],
    ids=[
        "range-reversed",
        "range-too-long",
        "not-a-date",
        "no-such-day",
        "village-not-a-number",
        "unknown-service",
        "unknown-granularity",
        "unknown-grouping",
    ],
)
def test_bad_input_is_a_400_that_says_why(world, api_as, params, code, field):
    before = DailyFigures.objects.count()
    for fmt in ("json", "csv"):
        response = api_as(world.analyst_a).get(url(world, "table"), {**params, "format": fmt})
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["code"] == code
        assert field in error["fields"]
        assert error["message"]
    assert DailyFigures.objects.count() == before


@pytest.mark.parametrize(
    ("what", "params", "field"),
    [
        ("summary", {"start": "9999-12-31", "end": "9999-12-31"}, "start"),
        ("summary", {"end": "9999-12-31"}, "end"),
        ("summary", {"end": "0001-01-15"}, "end"),
        ("table", {"group_by": "period", "granularity": "day", "start": "9999-12-01"}, "start"),
        ("table", {"group_by": "period", "granularity": "week", "start": "9999-12-01"}, "start"),
        ("table", {"group_by": "period", "granularity": "month", "start": "9999-12-01"}, "start"),
    ],
    ids=["summary-last-day", "summary-end-only", "year-one", "by-day", "by-week", "by-month"],
)
def test_dates_far_ahead_or_long_ago_are_a_400_that_says_which(world, api_as, what, params, field):
    params = {"end": "9999-12-31", **params} if "start" in params else params
    response = api_as(world.analyst_a).get(url(world, what), params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "stats_date_out_of_range"
    assert list(error["fields"]) == [field]
    assert "2000-01-01" in error["message"]


def test_a_date_a_year_ahead_is_still_answered(world, api_as):
    ahead = (dt.date.today() + dt.timedelta(days=366)).isoformat()  # noqa: DTZ011
    response = api_as(world.analyst_a).get(url(world, "summary"), {"end": ahead})
    assert response.status_code == 200


def test_a_village_of_another_municipality_is_refused(world, api_as):
    leksand = world.b.villages.get()
    response = api_as(world.analyst_a).get(url(world, "summary"), {"village": leksand.pk})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "stats_unknown_village"


def test_a_filter_on_a_withheld_village_shows_nothing(world, api_as):
    response = api_as(world.analyst_a).get(
        url(world, "table"), {**RANGE, "group_by": "period", "village": world.dala_jarna.pk}
    )
    assert response.status_code == 200
    data = response.json()
    assert data["total"]["suppressed"] and all(row["suppressed"] for row in data["rows"])


def test_table_query_count(world, api_as, django_assert_num_queries):
    """Computed: the municipality, the summary's version, the villages and names, three
    statements for the linked tables (the finest rows, which also give their inner
    cells; the key bits; the people), the people of the withheld rows together; fixed,
    whatever the number of rows or days. Then from the cache: the municipality and the
    version."""
    client = api_as(world.analyst_a)
    params = {**RANGE, "group_by": "village"}
    with django_assert_num_queries(15):
        first = client.get(url(world, "table"), params).json()
    with django_assert_num_queries(2):
        assert client.get(url(world, "table"), params).json() == first


def test_a_refresh_replaces_cached_figures(world, api_as):
    client = api_as(world.analyst_a)
    before = client.get(url(world, "summary"), RANGE).json()["total"]["figures"]["requests"]
    add_ride(world, "P2", world.byaskjutsen, world.vansbro, pickup(1, 15), "offering")
    stats_refresh(full=True)
    after = client.get(url(world, "summary"), RANGE).json()["total"]["figures"]["requests"]
    assert (before, after) == (15, 16)


def test_stats_endpoints_are_in_the_openapi_schema(api):
    schema = api.get("/api/schema/", {"format": "json"}).json()
    assert {
        "/api/v1/stats/municipalities/",
        "/api/v1/stats/municipalities/{id}/summary",
        "/api/v1/stats/municipalities/{id}/table",
        "/api/v1/stats/municipalities/{id}/unmet",
    } <= set(schema["paths"])
    table = schema["paths"]["/api/v1/stats/municipalities/{id}/table"]["get"]
    assert {"text/csv", "application/json"} <= set(table["responses"]["200"]["content"])
    parameters = {p["name"] for p in table["parameters"]}
    assert {"start", "end", "village", "service", "granularity", "group_by"} <= parameters


def test_unmet_as_plain_json_is_documented(world, api_as, api):
    """The hexagons come as application/geo+json, or as application/json for clients that
    ask for it; the schema names both."""
    response = api_as(world.analyst_a).get(url(world, "unmet"), {**RANGE, "format": "json"})

    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    assert response.json()["type"] == "FeatureCollection"
    schema = api.get("/api/schema/", {"format": "json"}).json()
    unmet = schema["paths"]["/api/v1/stats/municipalities/{id}/unmet"]["get"]
    assert set(unmet["responses"]["200"]["content"]) == {"application/geo+json", "application/json"}

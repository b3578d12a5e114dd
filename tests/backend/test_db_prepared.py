"""Hand-written SQL runs as prepared statements, one per connection (backend/db.py)."""

import datetime
import threading
from decimal import Decimal

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from backend.accounts.models import User
from backend.db import _reading, fetch_dicts, fetch_instances, prepared, sql_type
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

_SQL = "SELECT id, full_name FROM accounts_user WHERE id = ANY(%(ids)s) ORDER BY id"


def _statement(sql: str, params) -> dict | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, generic_plans, custom_plans FROM pg_prepared_statements WHERE name = %s",
            [prepared(sql, params).name],
        )
        row = cursor.fetchone()
    return None if row is None else dict(zip(("name", "generic", "custom"), row, strict=True))


def test_a_statement_is_prepared_once_and_then_only_executed_with_one_generic_plan():
    people = UserFactory.create_batch(3)
    ids = sorted(person.pk for person in people)
    with CaptureQueriesContext(connection) as first:
        rows = fetch_dicts(_SQL, {"ids": ids})
    assert [row["id"] for row in rows] == ids
    assert [row["full_name"] for row in rows] == [User.objects.get(pk=i).full_name for i in ids]
    with CaptureQueriesContext(connection) as again:
        assert fetch_dicts(_SQL, {"ids": ids[:1]}) == rows[:1]

    # One query each in Django's count: the first prepares and executes in one message.
    [sent_first] = [q["sql"] for q in first]
    [sent_again] = [q["sql"] for q in again]
    assert sent_first.startswith("PREPARE samby_")
    assert sent_again.startswith("EXECUTE samby_")
    # plan_cache_mode=force_generic_plan: PostgreSQL planned it once, for any values.
    assert _statement(_SQL, {"ids": ids}) | {"name": None} == {
        "name": None,
        "generic": 2,
        "custom": 0,
    }


def test_after_an_error_the_connection_drops_its_statements_and_prepares_again():
    person = UserFactory()
    fetch_dicts(_SQL, {"ids": [person.pk]})
    failing = "SELECT 1 / %(zero)s AS n"
    with pytest.raises(DatabaseError), transaction.atomic():
        fetch_dicts(failing, {"zero": 0})
    # Nobody knows now which of the failed message's statements exist: the next message
    # drops them all and prepares its own.
    with CaptureQueriesContext(connection) as queries:
        assert fetch_dicts(failing, {"zero": 1}) == [{"n": 1}]
    assert queries[0]["sql"].startswith("DEALLOCATE ALL; PREPARE samby_")
    assert _statement(_SQL, {"ids": [person.pk]}) is None
    assert fetch_dicts(_SQL, {"ids": [person.pk]}) == [
        {"id": person.pk, "full_name": person.full_name}
    ]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, "boolean"),
        (7, "bigint"),
        (0.5, "float8"),
        (Decimal("1.5"), "numeric"),
        (datetime.datetime(2026, 12, 1, 8, tzinfo=datetime.UTC), "timestamptz"),
        (datetime.datetime(2026, 12, 1, 8), "timestamp"),  # noqa: DTZ001 - the naive case
        (datetime.date(2026, 12, 1), "date"),
        (datetime.time(8, 30), "time"),
        (datetime.timedelta(minutes=15), "interval"),
        (b"\x00", "bytea"),
        ([1, 2], "bigint[]"),
        ([None, datetime.date(2026, 12, 1)], "date[]"),
        # Strings are left for PostgreSQL to type from where they are used (a varchar
        # column, a varchar[] column, a geography cast).
        ("text", "unknown"),
        (["driver"], "unknown"),
        ([], "unknown"),
        (None, "unknown"),
    ],
)
def test_parameters_are_declared_by_the_type_of_their_value(value, expected):
    assert sql_type(value) == expected


def test_different_types_of_value_make_different_statements():
    named = "SELECT %(a)s AS a"
    assert prepared(named, {"a": 1}).name != prepared(named, {"a": 1.5}).name
    assert prepared(named, {"a": 1}).name == prepared(named, {"a": 2}).name
    positional = prepared("SELECT %s AS a, %s AS b", [1, "x"])
    assert positional.prepare.endswith("(bigint, unknown) AS SELECT $1 AS a, $2 AS b")
    assert positional.execute == f"EXECUTE {positional.name}(%s, %s)"


def test_instances_are_built_as_the_orms_raw_query_builds_them():
    person = UserFactory(full_name="Greta Holm")
    sql = "SELECT u.*, upper(u.full_name) AS shouting FROM accounts_user AS u WHERE u.id = %s"
    [ours] = fetch_instances(User, sql, [person.pk])
    [raw] = User.objects.raw(sql, [person.pk])
    for field in User._meta.concrete_fields:
        assert getattr(ours, field.attname) == getattr(raw, field.attname), field.name
    assert ours.shouting == raw.shouting == "GRETA HOLM"
    assert ours._state.adding is False and ours._state.db == "default"


def test_each_thread_reads_geometries_with_its_own_converters():
    """fetch_instances keeps its column mappings per thread: a geometry field's converter
    holds GEOS's reader of the thread that made it, which two threads must not share."""
    names = tuple(field.column for field in User._meta.concrete_fields)
    here = _reading(User, names)
    assert _reading(User, names) is here  # worked out once in a thread
    elsewhere = []
    worker = threading.Thread(target=lambda: elsewhere.append(_reading(User, names)))
    worker.start()
    worker.join()
    [there] = elsewhere
    location = [field.attname for field in User._meta.concrete_fields].index("home_location")
    [(convert_here, _column)] = here[2][location]
    [(convert_there, _column)] = there[2][location]
    assert convert_here is not convert_there

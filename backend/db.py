"""Reading rows with hand-written SQL, for the few reads on every page view and API poll.

Building and compiling an ORM query costs 0.5 to 1 ms of Python per statement; executing
the same SQL costs about 0.1 ms. Reads that run on every start page (and would otherwise
dominate its CPU) are therefore written as SQL in their app's selectors, each next to
the ORM selector whose rule it repeats, and tested through the pages that show them.

They run as prepared statements, made once per database connection. Planning them cost
PostgreSQL more than running them: in the load test (docs/performance.md) it spent 44 s
planning against 15 s executing, and the apps' ride list, a seven-table join, took 3.8
ms to plan and 0.6 ms to run. Connections use plan_cache_mode=force_generic_plan
(backend/database/base.py), so each statement is planned once, without its values:
SQL whose good plan depends on the values must be written so it does not.

Why by hand: psycopg prepares statements only for cursors that bind their parameters
on the server, which Django's do not, and it deallocates all of a connection's
statements after every rollback; these are ordinary SQL PREPARE and EXECUTE, sent in
the same message as the statement (one round trip, one query in Django's count)."""

import hashlib
import re
import threading
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import TypeVar

from django.db import connection
from django.db.models import Model

M = TypeVar("M", bound=Model)

_NAMED = re.compile(r"%\((\w+)\)s")
_POSITIONAL = re.compile(r"%s")
# A connection keeps at most this many statements (each holds its plan in the server
# process); SQL past them runs unprepared.
MAX_PREPARED = 100

# The statements prepared on each database connection, by the driver's connection
# object (a new connection prepares again). None after an error: PREPARE is not undone
# when the transaction fails, so nobody knows which of the message's statements
# exist; the next prepared statement sent on that connection first drops them all.
_prepared: "weakref.WeakKeyDictionary[object, set[str] | None]" = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class Prepared:
    """`sql` as a prepared statement: PREPARE and EXECUTE texts (EXECUTE's arguments are
    still the %s or %(name)s parameters of `sql`)."""

    name: str
    prepare: str
    execute: str


def prepared(
    sql: str, params: Sequence | Mapping = (), types: Mapping[str, str] | None = None
) -> Prepared:
    """The parameters' types are declared: from `types` (parameter name: SQL type) where
    it names them, else from the Python type of their value in `params` (sql_type). A
    string, a list of strings or None is declared `unknown`: PostgreSQL infers its type
    from where it is used, as it does for a string sent by the client (a list of strings
    may be compared with a column of varchar[], for which text[] has no operators)."""
    named = isinstance(params, Mapping)
    keys, body, arguments = _numbered(sql, named, 0 if named else len(params))
    types = types or {}
    declared = ", ".join(types.get(key) or sql_type(params[key]) for key in keys)
    return _statement(body, arguments, declared if keys else None)


# The same few statements run on every request: their texts are made once per process.
@lru_cache(maxsize=512)
def _numbered(sql: str, named: bool, count: int) -> tuple[tuple, str, str]:
    """The parameters' keys, `sql` with $1, $2... for its parameters, and EXECUTE's
    argument list."""
    if named:
        keys: tuple = tuple(dict.fromkeys(_NAMED.findall(sql)))
        body = _NAMED.sub(lambda match: f"${keys.index(match.group(1)) + 1}", sql)
        return keys, body, ", ".join(f"%({key})s" for key in keys)
    numbers = iter(range(1, count + 1))
    body = _POSITIONAL.sub(lambda _match: f"${next(numbers)}", sql)
    return tuple(range(count)), body, ", ".join("%s" for _ in range(count))


@lru_cache(maxsize=512)
def _statement(body: str, arguments: str, declared: str | None) -> Prepared:
    signature = f"({declared}) AS {body}" if declared is not None else f"AS {body}"
    digest = hashlib.sha1(signature.encode(), usedforsecurity=False).hexdigest()[:16]
    name = f"samby_{digest}"
    return Prepared(
        name=name,
        prepare=f"PREPARE {name} {signature}",
        execute=f"EXECUTE {name}({arguments})" if arguments else f"EXECUTE {name}",
    )


# Checked in order: bool before int (a bool is an int), datetime before date.
_SQL_TYPES = (
    (bool, "boolean"),
    (int, "bigint"),
    (float, "float8"),
    (Decimal, "numeric"),
    (datetime, "timestamptz"),
    (date, "date"),
    (time, "time"),
    (timedelta, "interval"),
    (bytes, "bytea"),
)


def sql_type(value: object) -> str:
    """The SQL type a prepared statement declares for a parameter of this value."""
    if isinstance(value, list | tuple):
        element = next((item for item in value if item is not None), None)
        inner = "unknown" if element is None else sql_type(element)
        return "unknown" if inner == "unknown" else f"{inner}[]"
    if isinstance(value, datetime) and value.tzinfo is None:
        return "timestamp"
    for python_type, name in _SQL_TYPES:
        if isinstance(value, python_type):
            return name
    return "unknown"


def _text_to_send(statement: Prepared) -> tuple[str, int] | None:
    """The text that runs `statement` on this connection, and how many statements in it
    come before the EXECUTE; None when this connection holds MAX_PREPARED already."""
    raw = connection.connection
    known = _prepared.get(raw, set())
    if known is None:
        _prepared[raw] = {statement.name}
        return f"DEALLOCATE ALL; {statement.prepare}; {statement.execute}", 2
    if statement.name in known:
        return statement.execute, 0
    if len(known) >= MAX_PREPARED:
        return None
    _prepared[raw] = known | {statement.name}
    return f"{statement.prepare}; {statement.execute}", 1


def execute_prepared(
    cursor,
    sql: str,
    params: Sequence | Mapping,
    *,
    types: Mapping[str, str] | None = None,
    before: str = "",
    after: str = "",
) -> None:
    """Run `sql` on `cursor` as this connection's prepared statement, in one message
    with the statements of `before` and `after` (ending, and starting, with "; "), and
    leave the cursor on the statement's result."""
    statement = prepared(sql, params, types)
    sent = _text_to_send(statement)
    text, preparing = sent if sent is not None else (sql, 0)
    try:
        cursor.execute(before + text + after, params)
    except Exception:
        if sent is not None:
            _prepared[connection.connection] = None
        raise
    for _result in range(before.count(";") + preparing):
        cursor.nextset()


def fetch_dicts(sql: str, params: Sequence | Mapping) -> list[dict]:
    """The rows of `sql` as dicts keyed by column name."""
    with connection.cursor() as cursor:
        execute_prepared(cursor, sql, params)
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def fetch_instances(model: type[M], sql: str, params: Sequence | Mapping) -> list[M]:
    """The rows of `sql` (all of `model`'s columns, and any others) as instances of
    `model`, as `model.objects.raw(sql, params)` builds them: a column that is not one of
    the model's becomes an attribute of that name."""
    with connection.cursor() as cursor:
        execute_prepared(cursor, sql, params)
        names = [column.name for column in cursor.description]
        rows = cursor.fetchall()
    where, attnames, converters, extras = _reading(model, tuple(names))
    instances = []
    for row in rows:
        values = []
        for index, field_converters in zip(where, converters, strict=True):
            value = row[index]
            for convert, column in field_converters:
                value = convert(value, column, connection)
            values.append(value)
        instance = model.from_db(connection.alias, attnames, values)
        for index, name in extras:
            setattr(instance, name, row[index])
        instances.append(instance)
    return instances


# fetch_instances' column mappings, per thread: the converters of a geometry field hold
# GEOS's reader of the thread that made them, which is not safe to share between threads.
_readings = threading.local()


def _reading(model: type[Model], names: tuple[str, ...]) -> tuple:
    """How `fetch_instances` turns rows with the columns `names` into `model`s: where
    each field's value is, the fields' attribute names and converters, and the other
    columns (index, name). Worked out once per statement's columns and thread: it runs
    with every token and session read."""
    cache = getattr(_readings, "cache", None)
    if cache is None:
        cache = _readings.cache = {}
    reading = cache.get((model, names))
    if reading is None:
        fields = model._meta.concrete_fields
        where = [names.index(field.column) for field in fields]
        attnames = [field.attname for field in fields]
        converters = [_converters(field) for field in fields]
        extras = [(index, name) for index, name in enumerate(names) if index not in where]
        reading = cache[(model, names)] = (where, attnames, converters, extras)
    return reading


def _converters(field) -> list[tuple]:
    """What the ORM applies to the field's value as read (a JSON field's text parsed,
    for instance): the backend's converters, then the field's own."""
    column = field.get_col(field.model._meta.db_table)
    found = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
    return [(convert, column) for convert in found]

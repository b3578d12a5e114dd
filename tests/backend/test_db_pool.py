"""The pool's connection check (backend/database/base.py), on the real PostgreSQL: it finds a
connection the server has closed without asking the server anything."""

import time

import psycopg
import pytest
from django.contrib.gis.db.backends.postgis.base import DatabaseWrapper as PostGISWrapper
from django.contrib.gis.geos import GEOSGeometry, Point
from django.db import connection
from psycopg_pool import ConnectionPool

from backend.database.base import DatabaseWrapper, check_connection_unread

pytestmark = pytest.mark.django_db(transaction=True)


def _connect() -> psycopg.Connection:
    return psycopg.connect(**connection.get_connection_params(), autocommit=True)


def _backend_pid(conn: psycopg.Connection) -> int:
    return conn.execute("SELECT pg_backend_pid()").fetchone()[0]


def _terminate(pid: int) -> None:
    with _connect() as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0]


def _until_refused(conn: psycopg.Connection) -> None:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            check_connection_unread(conn)
        except psycopg.OperationalError:
            return
        time.sleep(0.02)
    pytest.fail("the check still passed a connection the server had closed")


def test_a_live_idle_connection_passes_without_a_round_trip(tmp_path):
    with _connect() as conn:
        _backend_pid(conn)
        trace = tmp_path / "libpq-trace.txt"
        with trace.open("w") as out:
            conn.pgconn.trace(out.fileno())  # libpq logs every message sent or read
            check_connection_unread(conn)
            check_connection_unread(conn)
            conn.pgconn.untrace()
        assert trace.read_text() == ""
        # psycopg's own check is a round trip, seen in the same trace.
        with trace.open("w") as out:
            conn.pgconn.trace(out.fileno())
            ConnectionPool.check_connection(conn)
            conn.pgconn.untrace()
        assert "Query" in trace.read_text()
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_a_connection_the_server_terminated_is_refused():
    with _connect() as conn:
        _terminate(_backend_pid(conn))
        _until_refused(conn)


def test_a_closed_connection_is_refused():
    conn = _connect()
    conn.close()
    with pytest.raises(psycopg.OperationalError):
        check_connection_unread(conn)


def _pooled_engine() -> DatabaseWrapper:
    """The engine with a pool of one connection, as a production web process has one."""
    settings_dict = {
        **connection.settings_dict,
        "CONN_MAX_AGE": 0,
        "OPTIONS": {
            **connection.settings_dict["OPTIONS"],
            "pool": {"min_size": 1, "max_size": 1, "timeout": 10},
        },
    }
    # The alias of the test database: signal receivers look the connection up by it.
    return DatabaseWrapper(settings_dict, alias="default")


def test_the_pool_replaces_a_terminated_connection_before_handing_it_out():
    """Through the engine, as a production web process uses it: Django's pool with the
    check above, not Django's own (which would send an empty query)."""
    database = _pooled_engine()
    try:
        assert database.pool._check is check_connection_unread
        database.connect()
        first = _backend_pid(database.connection)
        database.close()  # back to the pool
        _terminate(first)
        time.sleep(0.2)  # the server's goodbye reaches the socket
        database.connect()
        # Without the check this query would fail on the dead connection.
        second = _backend_pid(database.connection)
        database.close()
        assert second != first
    finally:
        database.close_pool()


def test_a_pooled_connection_keeps_its_geometry_adapters_from_one_request_to_the_next():
    """Django's PostGIS engine registers its types on every connect(); a connection back
    from the pool already has them, and geometries still go both ways on it."""
    database = _pooled_engine()
    registered = []
    register = PostGISWrapper.register_geometry_adapters

    def counting(self, pg_connection, clear_caches=False):
        registered.append(pg_connection)
        return register(self, pg_connection, clear_caches)

    point = Point(14.6, 63.2, srid=4326)
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(PostGISWrapper, "register_geometry_adapters", counting)
            for _ in range(3):
                database.connect()
                with database.cursor() as cursor:
                    cursor.execute("SELECT %s::geometry", [database.ops.Adapter(point)])
                    [raw] = cursor.fetchone()
                database.close()  # back to the pool
                assert GEOSGeometry(raw).equals(point)
        assert len(registered) == 1
        assert len({id(c) for c in registered}) == 1
    finally:
        database.close_pool()

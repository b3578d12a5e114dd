"""The database engine: Django's PostGIS backend, whose connection pool (production, see
DATABASE_POOL_MAX_SIZE in settings) checks each connection without a round trip.

psycopg's own check (`ConnectionPool.check_connection`, Django's default with
CONN_HEALTH_CHECKS) sends an empty query and waits for the answer: a round trip to
PostgreSQL before every request, which cost the web processes and PostgreSQL CPU on
every one of them. A connection the server has closed (a restart, an administrator's
`pg_terminate_backend`, `idle_session_timeout`) has something to read on its socket:
the server's goodbye, or the end of the stream. Looking for that costs no round trip
and finds the same dead connections; the pool then takes another or opens a new one."""

import select
import weakref

import psycopg
from django.contrib.gis.db.backends.postgis.base import DatabaseWrapper as PostGISWrapper


def check_connection_unread(conn: psycopg.Connection) -> None:
    """Raise when `conn` is closed, broken, or has data nobody asked for waiting on its
    socket (an idle connection in the pool has none unless the server is leaving).
    Such a connection is closed, so the pool replaces it."""
    if conn.closed or conn.broken:
        raise psycopg.OperationalError("the connection is closed")
    # poll(), not select(): a web process holding many websockets has descriptors past
    # select()'s limit of 1024.
    poller = select.poll()
    poller.register(conn.fileno(), select.POLLIN | select.POLLPRI)
    if poller.poll(0):
        # Closed here, the pool sees it broken and opens another; left open, libpq
        # still thinks it idle and the pool would hand it out again.
        conn.close()
        raise psycopg.OperationalError("the server closed the connection")


# Connections (from the pool) that already have PostGIS's types and adapters.
_GEOMETRY_REGISTERED: weakref.WeakSet = weakref.WeakSet()


class DatabaseWrapper(PostGISWrapper):
    def get_connection_params(self) -> dict:
        params = super().get_connection_params()
        # Prepared statements (backend/db.py) keep one generic plan, instead of PostgreSQL
        # planning each run anew whenever it guesses that the values might change the
        # plan: the planning is what preparing them saves. Statements that are not
        # prepared (the ORM's) are planned on every run whatever this says.
        options = params.get("options", "")
        params["options"] = f"{options} -c plan_cache_mode=force_generic_plan".strip()
        return params

    @property
    def pool(self):
        pool = super().pool
        # Django builds the pool with its own check (or none), and psycopg_pool takes the
        # check only when the pool is made; tests/backend/test_db_pool.py pins this.
        if pool is not None and pool._check is not check_connection_unread:
            pool._check = check_connection_unread
        return pool

    def register_geometry_adapters(self, pg_connection, clear_caches: bool = False) -> None:
        # Django registers them on every connect(), and with the pool every request
        # connects: that built two dumper classes and copied the connection's adapters
        # each time. A pooled connection keeps what it was given the first time. Only
        # once PostGIS is installed (its types found), else they are looked for again.
        if not clear_caches and pg_connection in _GEOMETRY_REGISTERED:
            return
        super().register_geometry_adapters(pg_connection, clear_caches)
        if self._type_infos["geometry"].get(self.alias):
            _GEOMETRY_REGISTERED.add(pg_connection)

"""Reading rows with hand-written SQL, for the few reads on every page view.

Building and compiling an ORM query costs 0.5 to 1 ms of Python per statement; executing
the same SQL costs about 0.1 ms. Reads that run on every start page (and would otherwise
dominate its CPU) are therefore written as SQL in their app's selectors, each next to
the ORM selector whose rule it repeats, and tested through the pages that show them."""

from collections.abc import Sequence

from django.db import connection


def fetch_dicts(sql: str, params: Sequence | dict) -> list[dict]:
    """The rows of `sql` as dicts keyed by column name."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

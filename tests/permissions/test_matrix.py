"""The permission matrix: every URL pattern of the API, the web pages and the websocket,
against every role, with the exact outcome. The rows are in `matrix.py`; the list of
endpoints is walked from the URL conf, so a new endpoint without a row fails
`test_every_endpoint_has_a_row` (and a row for a removed endpoint fails it too).

A refused write changes nothing (the transaction's own row counters, all tables but the
session's, are the same before and after), and an allowed read shows the resident's
private details (address, door code, phone, names, the car's key box) only to the people
who may see them, in any answer (an error message included)."""

import json
import os
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.test import Client, override_settings
from rest_framework.test import APIClient

from tests.permissions.matrix import (
    LOGIN,
    MULTIPART,
    ROWS,
    SECRETS,
    UNCHANGED,
    WS_ROWS,
    Row,
    enumerate_endpoints,
    enumerate_websockets,
    row_id,
)
from tests.permissions.world import ROLES, World, build_world

CASES = [(row, role) for row in ROWS for role in ROLES]
OBSERVE = os.environ.get("PERMISSION_MATRIX_OBSERVE")  # path: write what happens there


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    """Built once for the module inside a transaction that is rolled back at the end;
    each test runs in a savepoint inside it."""
    with (
        django_db_blocker.unblock(),
        override_settings(ROUTER_URL="", MEDIA_ROOT=tmp_path_factory.mktemp("media")),
    ):
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            built = build_world()
            built.sessions = {}
            for role in ROLES:
                if role != "anonymous":
                    client = Client()
                    client.force_login(built.people[role])
                    built.sessions[role] = client.cookies[settings.SESSION_COOKIE_NAME].value
            yield built
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def writes_so_far() -> int:
    """Rows this transaction has inserted, updated or deleted, sessions aside."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0)"
            " FROM pg_stat_xact_user_tables WHERE relname <> 'django_session'"
        )
        return int(cursor.fetchone()[0])


def client_for(world: World, row: Row, role: str):
    if row.kind == "api":
        client = APIClient()
        if role != "anonymous":
            client.force_authenticate(world.people[role])
        return client
    client = Client()
    if role != "anonymous":
        client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[role]
    return client


def send(world: World, row: Row, role: str):
    client = client_for(world, row, role)
    url = row.url(world)
    body = row.body(world) if callable(row.body) else row.body
    method = getattr(client, row.method.lower())
    if row.kind == "api" and row.method != "GET":
        multipart = (row.name, row.method) in MULTIPART
        return method(url, body, format="multipart" if multipart else "json")
    return method(url, body or {})


# A moment written in UTC ("2026-12-03T09:00:00Z"), not with the local offset.
UTC_TIME = re.compile(r'"\d{4}-\d\d-\d\dT[\d:.]+Z"')


def outcome(response, row: Row, wrote: bool) -> int | str:
    if response.status_code in (301, 302) and "/sign-in" in response.get("Location", ""):
        return LOGIN
    if response.status_code == 302 and row.method != "GET" and not wrote:
        return UNCHANGED
    return response.status_code


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("row", "role"), CASES, ids=[f"{row_id(row)}[{role}]" for row, role in CASES]
)
def test_permission(world, row: Row, role: str):
    before = writes_so_far()
    response = send(world, row, role)
    wrote = writes_so_far() != before
    got = outcome(response, row, wrote)
    if OBSERVE:
        with Path(OBSERVE).open("a") as out:
            text = response.content.decode(errors="replace") if not response.streaming else ""
            seen = sorted(name for name, (secret, _) in SECRETS.items() if secret in text)
            out.write(json.dumps([row_id(row), role, got, seen, writes_so_far() - before]) + "\n")
        return
    expected = row.expect[role]
    assert got == expected, f"{row_id(row)} as {role}: {got}, expected {expected}"
    if row.method != "GET" and not (200 <= response.status_code < 400):
        assert not wrote, f"refused {row_id(row)} as {role} wrote rows"
    if not response.streaming:
        # Whatever the answer (a page, a list, an error message), no detail for a role
        # that may not read it.
        text = response.content.decode(errors="replace")
        viewer = row.acts_as or role
        for name, (secret, readers) in SECRETS.items():
            if viewer not in readers:
                assert secret not in text, f"{row_id(row)} shows {role} the {name}"
        if row.kind == "api":
            # One way to write a moment in every answer: with the local offset.
            assert not UTC_TIME.search(text), f"{row_id(row)} gives {role} a time in UTC"


def test_every_endpoint_has_a_row():
    """The URL conf and the matrix list the same endpoints (name and method)."""
    endpoints = enumerate_endpoints()
    rows = {(row.name, row.method) for row in ROWS}
    missing = sorted(endpoints - rows)
    stale = sorted(rows - endpoints)
    assert not missing, f"endpoints without a row in tests/permissions/matrix.py: {missing}"
    assert not stale, f"rows for endpoints that no longer exist: {stale}"
    sockets = enumerate_websockets()
    assert sockets == set(WS_ROWS), (
        f"websocket routes without a row: {sorted(sockets - set(WS_ROWS))};"
        f" stale: {sorted(set(WS_ROWS) - sockets)}"
    )
    ids = [row_id(row) for row in ROWS]
    assert len(set(ids)) == len(ids), "two rows of one endpoint need different labels"
    assert len(CASES) == len(ROWS) * len(ROLES)
    print(
        f"\npermission matrix: {len(rows)} HTTP endpoints ({len(ROWS)} rows) x {len(ROLES)}"
        f" roles = {len(CASES)} cases; {len(sockets)} websocket route(s) x {len(ROLES)} roles"
    )

"""Concurrent transactions for the lock tests: another session that refers to people's
accounts (as every insert with a foreign key to them does) while the test runs a service
beside it. Real PostgreSQL, real row locks."""

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.db import connection, connections, transaction

from backend.accounts.models import User


class Beside:
    """`work` run on a thread of its own, with its own database connection."""

    def __init__(self, work: Callable[[], object]) -> None:
        self._outcome: list[object] = []
        self._thread = threading.Thread(target=self._run, args=(work,))
        self._thread.start()

    def _run(self, work: Callable[[], object]) -> None:
        try:
            self._outcome.append(work())
        except BaseException as error:
            self._outcome.append(error)
        finally:
            connection.close()

    def done_within(self, seconds: float) -> bool:
        self._thread.join(timeout=seconds)
        return not self._thread.is_alive()

    def result(self) -> object:
        """Its result, once it has ended; what it raised is raised here."""
        self._thread.join(timeout=60)
        assert not self._thread.is_alive(), "still waiting after a minute"
        [outcome] = self._outcome
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


def sessions_waiting_on_a_lock() -> int:
    """How many sessions of the test database wait for a lock (a row's, or an advisory
    one) at this moment, as pg_stat_activity shows them."""
    with connections["default"].cursor() as cursor:
        # Statistics views are a snapshot per transaction: take a fresh one.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database()"
        )
        return cursor.fetchone()[0]


@contextmanager
def referred_to_meanwhile(people: list[User]) -> Iterator[None]:
    """Another transaction is checking rows that refer to `people` (a coordinator's
    roster written to the audit log, a notification to each): PostgreSQL's foreign key
    check holds a FOR KEY SHARE lock on each person's account row while it runs. Django's
    foreign keys are checked when the transaction commits, which for a statement in
    autocommit is at its end; the check is held open here, with the same lock, until the
    block ends."""
    holding, release = threading.Event(), threading.Event()

    def check() -> None:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    "SELECT 1 FROM accounts_user WHERE id = ANY(%s) FOR KEY SHARE",
                    [[person.pk for person in people]],
                )
                holding.set()
                release.wait(timeout=30)
        finally:
            holding.set()  # also when it failed: the test goes on, and hears of it below

    checking = Beside(check)
    holding.wait(timeout=10)
    try:
        yield
    finally:
        release.set()
        checking.result()

"""Sessions in the database, as Django's `db` engine keeps them, read with one
written-out statement.

Every signed-in page loads its session first; Django builds that query with the ORM,
which costs more CPU than running it (docs/performance.md, "Load test"). Here it is a
prepared statement (backend/db.py), like the person's row that is read next
(backend/accounts/auth.py). Everything else (saving, expiry, clearing) is Django's."""

from django.contrib.sessions.backends import db
from django.contrib.sessions.models import Session
from django.utils import timezone

from backend.db import fetch_instances

_SESSION = (
    f"SELECT * FROM {Session._meta.db_table}"  # noqa: S608 - a table name, no input
    " WHERE session_key = %s AND expire_date > %s"
)


class SessionStore(db.SessionStore):
    def _get_session_from_db(self) -> Session | None:
        """Django's answer (the unexpired session of this key, else None and the key
        forgotten), read with one written-out statement."""
        sessions = fetch_instances(Session, _SESSION, [self.session_key, timezone.now()])
        if not sessions:
            self._session_key = None
            return None
        return sessions[0]

"""The session engine (backend/accounts/sessions.py): Django's database sessions, read
with one prepared statement."""

import datetime

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore as DjangoStore
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backend.accounts.sessions import SessionStore
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_site_uses_this_engine():
    assert settings.SESSION_ENGINE == "backend.accounts.sessions"


def test_a_session_loads_as_djangos_store_loads_it_in_one_prepared_statement():
    saved = SessionStore()
    saved["_auth_user_id"] = "42"
    saved["language"] = "sv"
    saved.create()
    ours = SessionStore(session_key=saved.session_key)
    with CaptureQueriesContext(connection) as queries:
        data = dict(ours.items())
    assert data == dict(DjangoStore(session_key=saved.session_key).items())
    assert data == {"_auth_user_id": "42", "language": "sv"}
    [query] = queries
    assert "samby_" in query["sql"] and "django_session" not in query["sql"].split("EXECUTE")[-1]


def test_an_expired_or_unknown_session_loads_empty_and_forgets_its_key():
    saved = SessionStore()
    saved["_auth_user_id"] = "42"
    saved.create()
    Session.objects.filter(session_key=saved.session_key).update(
        expire_date=timezone.now() - datetime.timedelta(seconds=1)
    )
    for key in (saved.session_key, "x" * 32):
        store = SessionStore(session_key=key)
        assert dict(store.items()) == {}
        assert store.session_key is None


def test_a_signed_in_page_still_knows_its_person(client):
    person = UserFactory()
    client.force_login(person)
    response = client.get("/")
    assert response.status_code == 200
    assert response.wsgi_request.user == person

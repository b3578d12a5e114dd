"""What a person sees when a page cannot be shown: a page in their language that says
what happened and what to do, with a way back to the start page; never Django's
technical text. The API answers the same failures in its JSON error shape."""

import threading

import psycopg
import pytest
from django.db import OperationalError, connection, transaction
from django.test import Client, override_settings
from django.utils import translation

from backend.accounts.models import User
from backend.rides.models import RideRequest
from mobile_api.errors import database_unavailable
from tests.factories import UserFactory
from tests.locks import Beside

pytestmark = pytest.mark.django_db

BUGS = "tests.webapp.error_urls"


def client_for(user: User | None = None, **kwargs) -> Client:
    client = Client(raise_request_exception=False, **kwargs)
    if user is not None:
        client.force_login(user)
    return client


def text(response) -> str:
    return response.content.decode()


@pytest.mark.parametrize(
    ("language", "heading", "home"),
    [
        ("sv", "Sidan finns inte", "Gå till startsidan"),
        ("en", "Page not found", "Go to the start page"),
    ],
)
def test_an_address_with_no_page_says_so_in_the_language_asked_for(language, heading, home):
    response = client_for().get("/no-such-page", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 404
    page = text(response)
    assert f'<html lang="{language}">' in page
    assert f"<h1>{heading}</h1>" in page
    assert f'<a class="button" href="/">{home}</a>' in page
    assert "requested resource" not in page


def test_a_ride_that_is_not_yours_is_not_found_with_the_page():
    response = client_for(UserFactory()).get("/rides/999999/", HTTP_ACCEPT_LANGUAGE="sv")
    assert response.status_code == 404
    assert "<h1>Sidan finns inte</h1>" in text(response)


def test_a_form_refused_by_the_forgery_check_says_nothing_was_sent_and_what_to_do():
    client = client_for(UserFactory(), enforce_csrf_checks=True)
    before = RideRequest.objects.count()
    response = client.post(
        "/rides/new",
        {"pickup_address": "Byvägen 3"},
        HTTP_ACCEPT_LANGUAGE="sv",
        HTTP_REFERER="http://testserver/rides/new",
    )
    assert response.status_code == 403
    page = text(response)
    assert "<h1>Formuläret var för gammalt</h1>" in page
    assert "Ingenting skickades." in page
    assert '<a class="button" href="http://testserver/rides/new">Öppna sidan igen</a>' in page
    assert "CSRF" not in page
    assert RideRequest.objects.count() == before


def test_the_refused_form_page_does_not_link_to_another_site():
    client = client_for(UserFactory(), enforce_csrf_checks=True)
    response = client.post(
        "/rides/new", {}, HTTP_ACCEPT_LANGUAGE="en", HTTP_REFERER="https://evil.example/form"
    )
    assert response.status_code == 403
    page = text(response)
    assert "<h1>The form was out of date</h1>" in page
    assert "evil.example" not in page
    assert ">Open the page again</a>" not in page


def test_a_request_for_another_host_gets_the_page_that_it_could_not_be_read():
    response = client_for().get("/", HTTP_HOST="evil.example", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "<h1>Samby could not read this</h1>" in text(response)


@override_settings(ROOT_URLCONF=BUGS)
def test_a_bug_in_a_page_shows_the_error_page_and_is_logged(caplog):
    response = client_for().get("/with-a-bug", HTTP_ACCEPT_LANGUAGE="sv")
    assert response.status_code == 500
    page = text(response)
    assert "<h1>Något gick fel</h1>" in page
    assert "Ring din förening om det fortsätter att hända." in page
    assert "a bug in a page" not in page  # nothing of the code shown
    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.levelname == "ERROR"
    assert record.exc_info[1].args == ("a bug in a page",)


@override_settings(ROOT_URLCONF=BUGS)
def test_a_bug_in_the_api_answers_in_the_api_error_shape():
    response = client_for().get("/api/v1/with-a-bug", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 500
    assert response.json() == {
        "error": {
            "code": "server_error",
            "message": "Samby could not finish this. The error has been logged; try again later.",
            "fields": {},
        }
    }


@pytest.mark.django_db(transaction=True)
def test_a_page_while_the_database_is_out_of_reach_says_when_to_try_again():
    client = client_for(UserFactory())
    # The server ends this process's connection, as a restart of PostgreSQL does.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        [pid] = cursor.fetchone()
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as admin:
        # Waits (up to 5 s) until the connection's server process has gone.
        admin.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])
    try:
        response = client.get("/rides/", HTTP_ACCEPT_LANGUAGE="sv")
    finally:
        connection.close()
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    page = text(response)
    assert "<h1>Samby går inte att nå just nu</h1>" in page
    assert "Samby når inte sin databas just nu. Försök igen om en minut." in page
    assert '<a class="button" href="/rides/">Försök igen</a>' in page


@pytest.mark.django_db(transaction=True)
def test_a_deadlock_is_answered_as_busy_for_a_moment_not_as_the_database_out_of_reach():
    first, second = UserFactory(), UserFactory()
    both_hold_one = threading.Barrier(2, timeout=10)

    def rename(one: User, other: User) -> None:
        with transaction.atomic():
            User.objects.filter(pk=one.pk).update(full_name="A")
            both_hold_one.wait()
            User.objects.filter(pk=other.pk).update(full_name="B")

    both = [Beside(lambda: rename(first, second)), Beside(lambda: rename(second, first))]
    errors = []
    for renaming in both:
        try:
            renaming.result()
        except OperationalError as error:
            errors.append(error)
    [error] = errors  # PostgreSQL chose one of the two; the other went through
    with translation.override("en"):
        unavailable = database_unavailable(error)
    assert unavailable.retry_after == 1
    assert unavailable.message == (
        "Samby was too busy to finish this just now. Try again in a moment."
    )
    assert database_unavailable(RuntimeError("not the database")) is None


def test_a_button_address_opened_as_a_page_says_nothing_was_done():
    # From a bookmark, say: Django's answer was an empty 405.
    rider = UserFactory()
    response = client_for(rider).get("/carpool/alerts/5/delete", HTTP_ACCEPT_LANGUAGE="sv")
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    page = text(response)
    assert "<h1>Den här adressen är till för en knapp</h1>" in page
    assert "Ingenting gjordes." in page
    assert '<a class="button" href="/">Gå till startsidan</a>' in page


def test_the_api_answers_a_wrong_method_in_its_error_shape():
    response = client_for(UserFactory()).get("/api/v1/offers/5/accept")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"

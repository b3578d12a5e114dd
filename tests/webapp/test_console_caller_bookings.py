"""The console's page of a caller lists what they have booked with the association (rides,
shop-run seats, shared things) and cancels a seat or a thing for them on the phone; the
caller is told. Nothing of another association's is listed or cancelled."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from backend.notifications.models import Notification
from backend.sharing.models import Booking, BookingStatus
from backend.shuttle.models import RunSignup, SignupState
from tests.sharing_fixtures import ResourceFactory
from tests.shuttle_world import make_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def runs(settings):
    settings.ROUTER_URL = ""
    settings.GEOCODER_URL = ""
    return make_world()


def client_of(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.cookies["django_language"] = "en"
    client.force_login(user)
    return client


def _book_seat_and_trailer(runs, client: Client, capture) -> tuple[RunSignup, Booking]:
    trailer = ResourceFactory(association=runs.association, title="Byasläpet")
    start = (timezone.localtime() + timedelta(days=2)).replace(hour=10, minute=0)
    with capture():
        client.post(
            f"/console/phone/{runs.managed.pk}/", {"what": "seat", "occurrence": runs.occurrence.pk}
        )
        client.post(
            f"/console/phone/{runs.managed.pk}/",
            {
                "what": "item",
                "resource": trailer.pk,
                "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
                "ends_at": (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
            },
        )
    return RunSignup.objects.get(passenger=runs.managed), Booking.objects.get(resource=trailer)


def test_the_callers_page_lists_what_they_have_booked(runs, django_capture_on_commit_callbacks):
    client = client_of(runs.coordinator)
    signup, booking = _book_seat_and_trailer(runs, client, django_capture_on_commit_callbacks)
    page = client.get(f"/console/phone/{runs.managed.pk}/").content.decode()
    assert "What Greta Andersson has booked" in page
    assert f'data-signup="{signup.pk}"' in page and "Torsdagshandling" in page
    assert f'data-booking="{booking.pk}"' in page and "Byasläpet" in page
    assert f"/console/phone/seats/{signup.pk}/cancel" in page
    assert f"/console/phone/things/{booking.pk}/cancel" in page


def test_someone_with_nothing_booked_is_said_so(runs):
    page = client_of(runs.coordinator).get(f"/console/phone/{runs.managed.pk}/").content.decode()
    assert "Nothing booked with the association yet." in page


def test_cancelling_a_seat_for_a_caller_frees_it_and_tells_them(
    runs, django_capture_on_commit_callbacks
):
    client = client_of(runs.coordinator)
    signup, _booking = _book_seat_and_trailer(runs, client, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/console/phone/seats/{signup.pk}/cancel")
    assert response.status_code == 302
    assert response["Location"].startswith(f"/console/phone/{runs.managed.pk}/")
    signup.refresh_from_db()
    runs.occurrence.refresh_from_db()
    assert signup.state == SignupState.CANCELLED
    assert runs.occurrence.seats_taken == 0
    told = Notification.objects.get(recipient=runs.managed, kind="shuttle.signup_cancelled")
    assert told.payload["name"] == "Greta Andersson"
    page = client.get(response["Location"]).content.decode()
    assert "Greta Andersson no longer comes along on the shop run" in page
    assert f'data-signup="{signup.pk}"' not in page


def test_a_seat_cancelled_twice_says_so_and_changes_nothing(
    runs, django_capture_on_commit_callbacks
):
    client = client_of(runs.coordinator)
    signup, _booking = _book_seat_and_trailer(runs, client, django_capture_on_commit_callbacks)
    client.post(f"/console/phone/seats/{signup.pk}/cancel")
    told = Notification.objects.filter(kind="shuttle.signup_cancelled").count()
    response = client.post(f"/console/phone/seats/{signup.pk}/cancel", follow=True)
    assert "already cancelled" in response.content.decode()
    assert Notification.objects.filter(kind="shuttle.signup_cancelled").count() == told


def test_cancelling_a_thing_for_a_caller_tells_them_the_reason(
    runs, django_capture_on_commit_callbacks
):
    client = client_of(runs.coordinator)
    _signup, booking = _book_seat_and_trailer(runs, client, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/console/phone/things/{booking.pk}/cancel", {"reason": "Greta är sjuk."}
        )
    assert response.status_code == 302
    booking.refresh_from_db()
    assert (booking.status, booking.reason) == (BookingStatus.CANCELLED, "Greta är sjuk.")
    told = Notification.objects.get(recipient=runs.managed, kind="sharing.booking_cancelled")
    assert told.payload["reason"] == "Greta är sjuk."


def test_a_reason_too_long_cancels_nothing(runs, django_capture_on_commit_callbacks):
    client = client_of(runs.coordinator)
    _signup, booking = _book_seat_and_trailer(runs, client, django_capture_on_commit_callbacks)
    response = client.post(
        f"/console/phone/things/{booking.pk}/cancel", {"reason": "x" * 301}, follow=True
    )
    assert "at most 300 characters" in response.content.decode()
    booking.refresh_from_db()
    assert booking.status != BookingStatus.CANCELLED


def test_a_coordinator_elsewhere_cannot_cancel(runs, django_capture_on_commit_callbacks):
    client = client_of(runs.coordinator)
    signup, booking = _book_seat_and_trailer(runs, client, django_capture_on_commit_callbacks)
    elsewhere = runs.outsider
    membership = elsewhere.memberships.get()
    membership.roles = ["member", "coordinator"]
    membership.save()
    other = client_of(elsewhere)
    assert other.post(f"/console/phone/seats/{signup.pk}/cancel").status_code == 404
    assert other.post(f"/console/phone/things/{booking.pk}/cancel").status_code == 404
    signup.refresh_from_db()
    booking.refresh_from_db()
    assert signup.state == SignupState.CONFIRMED
    assert booking.status != BookingStatus.CANCELLED

"""The console's shop runs: the coming runs with who is signed up, a seat booked over
the phone for a managed profile, a driver put on a run; nothing of another
association's runs."""

from collections import Counter
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.utils import timezone

from backend.community.models import Role
from backend.sharing.models import Booking
from backend.shuttle.models import RunSignup, RunVehicle, SignupState
from tests.factories import MembershipFactory
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


def test_the_runs_page_lists_occurrences_cars_and_sign_ups(runs):
    RunSignup.objects.create(
        occurrence=runs.occurrence,
        passenger=runs.residents[0],
        signed_up_by=runs.residents[0],
        pickup=runs.residents[0].home_location,
        pickup_address="Boendes väg 1",
        state=SignupState.CONFIRMED,
    )
    page = client_of(runs.coordinator).get("/console/runs/").content.decode()
    assert "Torsdagshandling" in page
    assert "Boende 0 Svensson" in page
    assert f"/shuttle/runs/{runs.occurrence.pk}/sheet" in page


def test_a_seat_booked_on_the_phone_for_a_managed_profile(runs, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        response = client_of(runs.coordinator).post(
            f"/console/phone/{runs.managed.pk}/",
            {"what": "seat", "occurrence": runs.occurrence.pk},
        )
    assert response.status_code == 302
    signup = RunSignup.objects.get(passenger=runs.managed)
    assert (signup.state, signup.signed_up_by) == (SignupState.CONFIRMED, runs.coordinator)
    assert signup.pickup_address == "Gretas väg 9"


def test_a_seat_on_an_unknown_run_writes_nothing(runs):
    response = client_of(runs.coordinator).post(
        f"/console/phone/{runs.managed.pk}/", {"what": "seat", "occurrence": "999999"}
    )
    assert response.status_code == 400
    assert not RunSignup.objects.exists()


def test_putting_a_driver_on_a_run(runs, django_capture_on_commit_callbacks):
    driver = runs.drivers[0]
    with django_capture_on_commit_callbacks():
        response = client_of(runs.coordinator).post(
            f"/console/runs/{runs.occurrence.pk}/assign", {"driver": driver.pk}
        )
    assert response.status_code == 302
    assert RunVehicle.objects.filter(occurrence=runs.occurrence, driver=driver).exists()


def test_a_coordinator_elsewhere_cannot_see_or_staff_the_run(runs):
    elsewhere = MembershipFactory(
        association=runs.other_association, roles=[Role.MEMBER, Role.COORDINATOR]
    ).user
    client = client_of(elsewhere)
    assert "Torsdagshandling" not in client.get("/console/runs/").content.decode()
    response = client.post(
        f"/console/runs/{runs.occurrence.pk}/assign", {"driver": runs.drivers[0].pk}
    )
    assert response.status_code == 404
    response = client.post(
        f"/console/phone/{runs.managed.pk}/", {"what": "seat", "occurrence": runs.occurrence.pk}
    )
    assert response.status_code == 404
    assert not RunVehicle.objects.exists() and not RunSignup.objects.exists()


def test_a_driver_cannot_open_the_runs_console(runs):
    assert client_of(runs.driver_user()).get("/console/runs/").status_code == 403


class _Ids(HTMLParser):
    """Every element id of a page, and each label's target, with the form they are in."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: list[tuple[str, int | None]] = []
        self.labels: list[tuple[str, int | None]] = []
        self.forms = 0
        self.form: int | None = None

    def handle_starttag(self, tag, attrs) -> None:
        attrs = dict(attrs)
        if tag == "form":
            self.forms += 1
            self.form = self.forms
        if attrs.get("id"):
            self.ids.append((attrs["id"], self.form))
        if tag == "label" and attrs.get("for"):
            self.labels.append((attrs["for"], self.form))

    def handle_endtag(self, tag) -> None:
        if tag == "form":
            self.form = None


def test_the_booking_page_has_each_id_once_and_labels_on_their_own_form(runs):
    ResourceFactory(association=runs.association, title="Byasläpet")
    page = client_of(runs.coordinator).get(f"/console/phone/{runs.managed.pk}/")
    assert page.status_code == 200
    parsed = _Ids()
    parsed.feed(page.content.decode())
    ids = [name for name, _form in parsed.ids]
    assert [name for name, count in Counter(ids).items() if count > 1] == []
    # The ride, the seat and the shared thing: each has a needs or note field.
    assert {"id_needs_1", "seat_needs_1", "id_note", "item_note"} <= set(ids)
    form_of = dict(parsed.ids)
    assert parsed.labels
    for target, form in parsed.labels:
        assert form_of[target] == form, target


def test_a_seat_with_needs_is_booked_through_its_own_form(runs):
    response = client_of(runs.coordinator).post(
        f"/console/phone/{runs.managed.pk}/",
        {"what": "seat", "occurrence": runs.occurrence.pk, "needs": ["walker"]},
    )
    assert response.status_code == 302
    assert RunSignup.objects.get(passenger=runs.managed).needs == ["walker"]


def test_a_shared_thing_is_booked_for_a_caller_through_its_own_form(runs):
    trailer = ResourceFactory(association=runs.association, title="Byasläpet")
    start = (timezone.localtime() + timedelta(days=2)).replace(hour=10, minute=0)
    response = client_of(runs.coordinator).post(
        f"/console/phone/{runs.managed.pk}/",
        {
            "what": "item",
            "resource": trailer.pk,
            "starts_at": start.strftime("%Y-%m-%dT%H:%M"),
            "ends_at": (start + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
            "note": "Hämtas av dottern",
        },
    )
    assert response.status_code == 302
    booking = Booking.objects.get(resource=trailer)
    assert (booking.booker, booking.note) == (runs.managed, "Hämtas av dottern")

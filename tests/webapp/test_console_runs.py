"""The console's shop runs: the coming runs with who is signed up, a seat booked over
the phone for a managed profile, a driver put on a run; nothing of another
association's runs."""

import pytest
from django.test import Client

from backend.community.models import Role
from backend.shuttle.models import RunSignup, RunVehicle, SignupState
from tests.factories import MembershipFactory
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

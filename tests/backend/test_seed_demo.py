import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from backend.accounts.models import ProxyLink, User
from backend.community.models import Association, Membership, MunicipalityAnalyst, Village
from backend.rides.models import AvailabilitySlot, DriverProfile, RiderApproval, RideRequest

pytestmark = pytest.mark.django_db


def counts() -> dict[str, int]:
    return {
        "people": User.objects.count(),
        "managed": User.objects.filter(is_managed=True).count(),
        "villages": Village.objects.count(),
        "associations": Association.objects.count(),
        "memberships": Membership.objects.count(),
        "drivers": DriverProfile.objects.count(),
        "slots": AvailabilitySlot.objects.count(),
        "riders": RiderApproval.objects.count(),
        "rides": RideRequest.objects.count(),
        "proxies": ProxyLink.objects.count(),
        "analysts": MunicipalityAnalyst.objects.count(),
    }


def test_seed_demo_loads_the_vansbro_villages_and_is_idempotent(capsys):
    call_command("seed_demo")
    first = counts()
    assert first == {
        # + 30 residents with a year of past rides for the statistics (backend/stats/demo.py)
        "people": 12 + 30,
        "managed": 2 + 30,
        "villages": 3,
        "associations": 1,
        "memberships": 11 + 30,
        "drivers": 4,
        "slots": 11,
        "riders": 4 + 30,
        "rides": 2 + 360,
        "proxies": 1,
        "analysts": 1,
    }
    call_command("seed_demo")
    assert counts() == first
    output = capsys.readouterr().out
    assert "samby-demo" in output
    assert "Karin Lindqvist" in output


def test_demo_logins_work_with_the_printed_password():
    call_command("seed_demo")
    karin = authenticate(username="070-174 06 05", password="samby-demo")
    assert karin is not None and karin.full_name == "Karin Lindqvist"
    assert "coordinator" in karin.memberships.get().roles
    greta = User.objects.get(full_name="Greta Andersson")
    assert greta.is_managed and not greta.has_usable_password()
    assert ProxyLink.objects.get(resident=greta).proxy.full_name == "Anna Eriksson"


def test_demo_villages_have_their_real_coordinates():
    call_command("seed_demo")
    dala_jarna = Village.objects.get(name="Dala-Järna").location
    assert (round(dala_jarna.x, 3), round(dala_jarna.y, 3)) == (14.367, 60.533)
    municipality = Village.objects.get(name="Äppelbo").municipality
    assert (municipality.name, municipality.code) == ("Vansbro", "2021")
    assert all(municipality.boundary.contains(v.location) for v in Village.objects.all())

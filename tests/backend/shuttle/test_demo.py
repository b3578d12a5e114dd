import pytest
from django.core.management import call_command

from backend.shuttle.models import RunSchedule, RunSignup, RunVehicle, StandingSignup

pytestmark = pytest.mark.django_db


def shuttle_counts() -> dict[str, int]:
    return {
        "schedules": RunSchedule.objects.count(),
        "standing": StandingSignup.objects.count(),
        "vehicles": RunVehicle.objects.count(),
        "signups": RunSignup.objects.count(),
    }


def test_demo_has_a_thursday_run_with_passengers_and_a_driver_and_is_idempotent(settings):
    settings.ROUTER_URL = ""
    call_command("seed_demo")
    first = shuttle_counts()
    schedule = RunSchedule.objects.get()
    runs = schedule.occurrences.count()
    assert first["schedules"] == 1
    assert first["standing"] == 2
    assert first["vehicles"] == 1
    # Ingrid and Greta on every run, Sven on the first.
    assert first["signups"] == 2 * runs + 1
    call_command("seed_demo")
    assert shuttle_counts() == first

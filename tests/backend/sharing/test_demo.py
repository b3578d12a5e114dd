import pytest
from django.core.management import call_command

from backend.sharing.models import Booking, Clearance, Resource

pytestmark = pytest.mark.django_db


def test_seed_demo_adds_shared_things_once():
    call_command("seed_demo")
    call_command("seed_demo")
    assert Resource.objects.count() == 4
    assert Resource.objects.filter(owner__full_name="Johan Persson").count() == 1
    assert Clearance.objects.count() == 2
    assert sorted(Booking.objects.values_list("status", flat=True)) == ["confirmed", "requested"]

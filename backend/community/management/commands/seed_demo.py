from django.core.management.base import BaseCommand

from backend.carpool.demo import seed_carpool_demo
from backend.community.demo import DEMO_PASSWORD, seed_demo
from backend.community.models import Association
from backend.rides.demo import seed_rides_demo
from backend.shuttle.demo import seed_shuttle_demo


class Command(BaseCommand):
    help = "Load the demo villages (Vansbro) with their people. Safe to run again."

    def handle(self, *args, **options) -> None:
        logins = seed_demo()
        seed_rides_demo(association=Association.objects.get(name="Västerdalarnas byaskjuts"))
        seed_shuttle_demo(association=Association.objects.get(name="Västerdalarnas byaskjuts"))
        seed_carpool_demo(association=Association.objects.get(name="Västerdalarnas byaskjuts"))
        self.stdout.write(self.style.SUCCESS("Demo data ready: Vansbro, Dala-Järna, Äppelbo."))
        self.stdout.write(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for login in logins:
            self.stdout.write(f"  {login.role:<12} {login.name:<18} {login.phone}")

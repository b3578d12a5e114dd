"""Demo data for volunteer rides, on top of the community demo (backend/community/demo.py):
the four drivers get cars and a week of availability, the residents are approved as
riders, and a few rides show each state. Safe to run again."""

from datetime import datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from backend.community.models import Association, Membership, MembershipState, Role
from backend.rides.availability import availability_windows_rebuild, availability_windows_roll
from backend.rides.models import AvailabilitySlot, DriverProfile, RiderApproval, RideRequest
from backend.rides.services import RideTime, ride_request_create

# name: (car, seats, wheelchair, radius km, weekly slots as (weekday, from, to))
DRIVERS = {
    "Erik Olsson": ("Röd Volvo V70", 4, False, 25, [(0, 8, 16), (2, 8, 16), (4, 8, 12)]),
    "Maria Berg": ("Vit VW Caddy med ramp", 3, True, 30, [(1, 9, 17), (3, 9, 17)]),
    "Lars Nilsson": ("Blå Toyota Corolla", 4, False, 20, [(0, 12, 18), (1, 12, 18), (5, 10, 14)]),
    "Sofia Holm": ("Grå Kia Niro", 4, False, 25, [(2, 7, 12), (3, 7, 12), (4, 7, 12)]),
}
RIDERS = ["Ingrid Svensson", "Greta Andersson", "Sven Jansson", "Nils Gustafsson"]


@transaction.atomic
def seed_rides_demo(*, association: Association) -> None:
    memberships = {
        m.user.full_name: m
        for m in Membership.objects.filter(association=association).select_related("user")
    }
    coordinator = next(m.user for m in memberships.values() if Role.COORDINATOR in m.roles)
    for name, (car, seats, wheelchair, radius_km, slots) in DRIVERS.items():
        membership = memberships[name]
        driver, _ = DriverProfile.objects.update_or_create(
            membership=membership,
            defaults={
                "home_base": membership.user.home_location,
                "service_radius_m": radius_km * 1000,
                "seats": seats,
                "wheelchair_accessible": wheelchair,
                "vehicle_description": car,
            },
        )
        AvailabilitySlot.objects.filter(driver=driver).delete()
        AvailabilitySlot.objects.bulk_create(
            AvailabilitySlot(driver=driver, weekday=day, start=time(start), end=time(end))
            for day, start, end in slots
        )
        availability_windows_rebuild(driver_ids=[driver.pk])
    availability_windows_roll()  # builds every driver's windows the first time
    for name in RIDERS:
        RiderApproval.objects.get_or_create(
            membership=memberships[name],
            defaults={"approved_by": coordinator, "notes": "Demo: godkänd för skjuts"},
        )
    if not RideRequest.objects.filter(association=association).exists():
        _demo_rides(association, memberships, coordinator)


def _demo_rides(association, memberships, coordinator) -> None:
    """A few requests ahead (made the way a coordinator would book them by phone)."""
    villages = {v.name: v.location for v in association.villages.all()}
    tomorrow = timezone.localdate() + timedelta(days=1)
    at_ten = timezone.make_aware(datetime.combine(tomorrow, time(10)))
    bookings = [
        ("Ingrid Svensson", "Äppelbo", "Vansbro", "Vårdcentralen, Vansbro", at_ten, ["walker"]),
        (
            "Sven Jansson",
            "Dala-Järna",
            "Vansbro",
            "Apoteket, Vansbro",
            at_ten + timedelta(hours=3),
            [],
        ),
    ]
    for rider, village_from, village_to, address_to, when, needs in bookings:
        membership = memberships[rider]
        if membership.state != MembershipState.ACTIVE:
            continue
        ride_request_create(
            requested_by=coordinator,
            rider=membership.user,
            association=association,
            pickup=membership.user.home_location or villages[village_from],
            pickup_address=membership.user.home_address or village_from,
            destination=villages[village_to],
            destination_address=address_to,
            when=RideTime(kind="pickup_at", at=when),
            needs=needs,
        )

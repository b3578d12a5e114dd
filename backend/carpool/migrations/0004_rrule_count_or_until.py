"""Trips whose rule has both COUNT and UNTIL (RFC 5545 forbids it; such rules were
accepted before and are refused now) keep the same departures with only the bound
that ends them first."""

from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import migrations

from backend.rrules import with_one_bound


def keep_one_bound(apps, schema_editor):
    Trip = apps.get_model("carpool", "Trip")
    zone = ZoneInfo(settings.TIME_ZONE)
    for trip in Trip.objects.filter(rrule__icontains="COUNT").filter(rrule__icontains="UNTIL"):
        # Rules are read in local time from the first departure (carpool.recurrence).
        start = trip.first_departure.astimezone(zone).replace(tzinfo=None)
        rewritten = with_one_bound(trip.rrule, start)
        if rewritten != trip.rrule:
            Trip.objects.filter(pk=trip.pk).update(rrule=rewritten)


class Migration(migrations.Migration):
    dependencies = [("carpool", "0003_departure_scheduled_at")]

    operations = [migrations.RunPython(keep_one_bound, migrations.RunPython.noop)]

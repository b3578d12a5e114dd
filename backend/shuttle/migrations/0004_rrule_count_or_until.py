"""Run schedules whose rule has both COUNT and UNTIL (RFC 5545 forbids it; such rules
were accepted before and are refused now) keep the same dates with only the bound that
ends them first."""

import datetime as dt

from django.db import migrations

from backend.rrules import with_one_bound


def keep_one_bound(apps, schema_editor):
    RunSchedule = apps.get_model("shuttle", "RunSchedule")
    schedules = RunSchedule.objects.filter(rrule__icontains="COUNT").filter(
        rrule__icontains="UNTIL"
    )
    for schedule in schedules:
        # Rules are read from the first day at midnight (shuttle.recurrence).
        start = dt.datetime.combine(schedule.starts_on, dt.time(0))
        rewritten = with_one_bound(schedule.rrule, start)
        if rewritten != schedule.rrule:
            RunSchedule.objects.filter(pk=schedule.pk).update(rrule=rewritten)


class Migration(migrations.Migration):
    dependencies = [("shuttle", "0003_plan_version_and_lease")]

    operations = [migrations.RunPython(keep_one_bound, migrations.RunPython.noop)]

"""Materialised availability windows and the driver's association (for the candidate
query's GiST indexes).

Besides Django's own foreign keys, two composite foreign keys keep the copies of the
association equal to their source, in the database (ON UPDATE CASCADE):

    rides_driverprofile (membership_id, association_id)
        -> community_membership (id, association_id)
    rides_availabilitywindow (driver_id, association_id)
        -> rides_driverprofile (id, association_id)

so a membership moved to another association takes its driver profile and windows along,
and a row with another association than its source is refused.
"""

import django.contrib.gis.db.models.fields
import django.contrib.postgres.fields.ranges
import django.contrib.postgres.indexes
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('community', '0001_initial'),
        ('rides', '0002_assignment_plans'),
    ]

    operations = [
        migrations.CreateModel(
            name='AvailabilityHorizon',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('first', models.DateField(null=True)),
                ('until', models.DateField(null=True)),
                ('built_at', models.DateTimeField(null=True)),
            ],
        ),
        migrations.CreateModel(
            name='AvailabilityWindow',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('home_base', django.contrib.gis.db.models.fields.PointField(geography=True, spatial_index=False, srid=4326)),
                ('day', models.DateField()),
                ('during', django.contrib.postgres.fields.ranges.DateTimeRangeField()),
            ],
        ),
        migrations.AddField(
            model_name='driverprofile',
            name='association',
            field=models.ForeignKey(editable=False, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='driver_profiles', to='community.association'),
        ),
        migrations.RunSQL(
            [
                "UPDATE rides_driverprofile AS d SET association_id = m.association_id"
                " FROM community_membership AS m WHERE m.id = d.membership_id",
                # Check the deferred foreign key now: ALTER TABLE refuses a table with
                # pending trigger events.
                "SET CONSTRAINTS ALL IMMEDIATE",
            ],
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.AlterField(
            model_name='driverprofile',
            name='association',
            field=models.ForeignKey(editable=False, on_delete=django.db.models.deletion.CASCADE, related_name='driver_profiles', to='community.association'),
        ),
        migrations.AddIndex(
            model_name='driverprofile',
            index=django.contrib.postgres.indexes.GistIndex(fields=['association', 'home_base'], name='driver_association_home'),
        ),
        migrations.AddConstraint(
            model_name='driverprofile',
            constraint=models.UniqueConstraint(fields=('id', 'association'), name='driver_association_key'),
        ),
        migrations.AddConstraint(
            model_name='availabilityhorizon',
            constraint=models.CheckConstraint(condition=models.Q(('id', 1)), name='horizon_single_row'),
        ),
        migrations.AddConstraint(
            model_name='availabilityhorizon',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('first__isnull', True), ('until__isnull', True)), ('first__lte', models.F('until')), _connector='OR'), name='horizon_ordered'),
        ),
        migrations.AddField(
            model_name='availabilitywindow',
            name='association',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='community.association'),
        ),
        migrations.AddField(
            model_name='availabilitywindow',
            name='driver',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='windows', to='rides.driverprofile'),
        ),
        migrations.AddIndex(
            model_name='availabilitywindow',
            index=django.contrib.postgres.indexes.GistIndex(fields=['association', 'during', 'home_base'], name='window_association_during'),
        ),
        migrations.AddIndex(
            model_name='availabilitywindow',
            index=models.Index(fields=['driver', 'day'], name='window_driver_day'),
        ),
        migrations.AddIndex(
            model_name='availabilitywindow',
            index=models.Index(fields=['day'], name='window_day'),
        ),
        migrations.AddConstraint(
            model_name='availabilitywindow',
            constraint=models.CheckConstraint(condition=models.Q(('during__isempty', False)), name='window_not_empty'),
        ),
        migrations.RunSQL(
            [
                "ALTER TABLE community_membership"
                " ADD CONSTRAINT membership_id_association_key UNIQUE (id, association_id)",
                "ALTER TABLE rides_driverprofile ADD CONSTRAINT driver_association_follows_membership"
                " FOREIGN KEY (membership_id, association_id)"
                " REFERENCES community_membership (id, association_id)"
                " ON UPDATE CASCADE ON DELETE CASCADE",
                "ALTER TABLE rides_availabilitywindow ADD CONSTRAINT window_association_follows_driver"
                " FOREIGN KEY (driver_id, association_id)"
                " REFERENCES rides_driverprofile (id, association_id)"
                " ON UPDATE CASCADE ON DELETE CASCADE",
            ],
            reverse_sql=[
                "ALTER TABLE rides_availabilitywindow"
                " DROP CONSTRAINT window_association_follows_driver",
                "ALTER TABLE rides_driverprofile DROP CONSTRAINT driver_association_follows_membership",
                "ALTER TABLE community_membership DROP CONSTRAINT membership_id_association_key",
            ],
        ),
    ]

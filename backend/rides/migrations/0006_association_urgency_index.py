from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    # Built without locking the rides against new requests (the table grows every day).
    atomic = False

    dependencies = [
        ("community", "0001_initial"),
        ("rides", "0005_slot_no_overlap"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="riderequest",
            index=models.Index(
                models.F("association"),
                models.Case(
                    models.When(state="unassigned", then=models.Value(0)),
                    models.When(
                        state__in=["requested", "offering", "unassigned"], then=models.Value(1)
                    ),
                    default=models.Value(2),
                    output_field=models.IntegerField(),
                ),
                models.F("earliest_pickup"),
                models.F("id"),
                name="ride_association_urgency",
            ),
        ),
    ]

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    # Built without locking the inbox against new notifications (it can be large).
    atomic = False

    dependencies = [
        ("notifications", "0001_initial"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="notification",
            index=models.Index(fields=["recipient", "created_at"], name="notification_recent"),
        ),
    ]

import django.db.models.fields.json
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    # Built without locking the inbox against new notifications (it can be large).
    atomic = False

    dependencies = [
        ("notifications", "0002_notification_recent"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="notification",
            index=models.Index(
                django.db.models.fields.json.KeyTextTransform("message", "payload"),
                condition=models.Q(("kind", "association.message")),
                name="notification_of_message",
            ),
        ),
    ]

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    """Whose names a message shows, so erasing a person can take their name out of
    others' inboxes. Messages stored before have none recorded (docs/privacy.md)."""

    # The indexes are built without locking the inbox against new notifications. The
    # column keeps its default in the database, so the processes still running the code
    # before this release go on storing notifications until they are replaced.
    atomic = False

    dependencies = [
        ("notifications", "0004_sms_sent"),
    ]

    operations = [
        migrations.AddField(
            model_name="notification",
            name="named",
            field=models.JSONField(db_default={}, default=dict),
        ),
        migrations.AddField(
            model_name="reminder",
            name="named",
            field=models.JSONField(db_default={}, default=dict),
        ),
        AddIndexConcurrently(
            model_name="notification",
            index=GinIndex(
                condition=~models.Q(named={}), fields=["named"], name="notification_named"
            ),
        ),
        AddIndexConcurrently(
            model_name="reminder",
            index=GinIndex(condition=~models.Q(named={}), fields=["named"], name="reminder_named"),
        ),
    ]

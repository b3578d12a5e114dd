from django.db import migrations, models
from django.db.models import F


def accept_existing_links(apps, schema_editor):
    # Links made before consent existed were in force: they stay so, accepted when made.
    ProxyLink = apps.get_model("accounts", "ProxyLink")
    ProxyLink.objects.filter(accepted_at__isnull=True).update(accepted_at=F("created_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_user_erased_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="proxylink",
            name="accepted_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="accepted at"),
        ),
        migrations.AddField(
            model_name="proxylink",
            name="invited_as",
            field=models.CharField(blank=True, max_length=254, verbose_name="invited as"),
        ),
        migrations.RunPython(accept_existing_links, migrations.RunPython.noop),
    ]

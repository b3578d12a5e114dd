import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("rides", "0006_association_urgency_index"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="MileageClaim",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("claimed_m", models.PositiveIntegerField(verbose_name="metres claimed")),
                (
                    "allowed_m",
                    models.PositiveIntegerField(verbose_name="most metres without approval"),
                ),
                (
                    "explanation",
                    models.CharField(blank=True, max_length=500, verbose_name="why further"),
                ),
                (
                    "state",
                    models.CharField(
                        choices=[
                            ("pending", "waiting for a coordinator"),
                            ("approved", "approved"),
                            ("declined", "declined"),
                        ],
                        default="pending",
                        max_length=10,
                    ),
                ),
                ("decided_at", models.DateTimeField(blank=True, null=True)),
                (
                    "decline_reason",
                    models.CharField(blank=True, max_length=300, verbose_name="reason"),
                ),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "decided_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "ride",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="mileage_claim",
                        to="rides.riderequest",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(
                        condition=models.Q(("state", "pending")),
                        fields=["created_at"],
                        name="mileage_claim_pending",
                    )
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            ("claimed_m__gt", models.F("allowed_m")),
                            ("claimed_m__lte", 1000000),
                        ),
                        name="mileage_claim_above_allowed",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(
                                ("state", "pending"),
                                ("decided_at__isnull", True),
                                ("decided_by__isnull", True),
                                ("decline_reason", ""),
                            ),
                            models.Q(
                                ("state", "approved"),
                                ("decided_at__isnull", False),
                                ("decline_reason", ""),
                            ),
                            models.Q(("state", "declined"), ("decided_at__isnull", False)),
                            _connector="OR",
                        ),
                        name="mileage_claim_decided_consistently",
                    ),
                ],
            },
        ),
    ]

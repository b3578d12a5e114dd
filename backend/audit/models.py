"""The audit log: who saw or changed a person's data, and when. Rows are only ever added
(and removed by retention); nothing updates them."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# "<what>.<verb>": ride.view, roster.view, profile.change, membership.approve ...
ACTION_PATTERN = r"^[a-z_]+\.[a-z_]+$"


class AuditEntry(models.Model):
    at = models.DateTimeField(_("when"), default=timezone.now)
    # SET_NULL: erasing a person keeps the record that their data was seen, without them.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("who"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="audit_entries_as_actor",
    )
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("whose data"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="audit_entries_as_subject",
    )
    action = models.CharField(_("action"), max_length=60)
    detail = models.JSONField(_("detail"), default=dict, blank=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        ordering = ["-at", "-pk"]
        indexes = [
            models.Index(fields=["subject", "-at"], name="audit_subject_at"),
            models.Index(fields=["actor", "-at"], name="audit_actor_at"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(action__regex=ACTION_PATTERN), name="audit_action_dotted"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_id} {self.action} {self.subject_id}"

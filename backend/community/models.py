from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Municipality(models.Model):
    name = models.CharField(_("name"), max_length=100)
    # Statistics Sweden's four-digit municipality code (kommunkod), e.g. 2021 for Vansbro.
    code = models.CharField(_("official code"), max_length=4, unique=True)
    # Planar geometry on purpose: only point-in-area tests run on it (see ARCHITECTURE.md).
    boundary = models.MultiPolygonField(_("boundary"), srid=4326)

    class Meta:
        verbose_name = _("municipality")
        verbose_name_plural = _("municipalities")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(code__regex=r"^[0-9]{4}$"), name="municipality_code_four_digits"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Village(models.Model):
    name = models.CharField(_("name"), max_length=100)
    municipality = models.ForeignKey(
        Municipality, on_delete=models.PROTECT, related_name="villages"
    )
    location = models.PointField(_("location"), geography=True, srid=4326)
    area = models.PolygonField(_("area"), srid=4326, null=True, blank=True)

    class Meta:
        verbose_name = _("village")
        verbose_name_plural = _("villages")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["municipality", "name"], name="village_name_unique")
        ]

    def __str__(self) -> str:
        return self.name


class Association(models.Model):
    """A byalag, PRO group, Red Cross group or hembygdsförening that runs Samby locally."""

    name = models.CharField(_("name"), max_length=200)
    municipality = models.ForeignKey(
        Municipality, on_delete=models.PROTECT, related_name="associations"
    )
    villages = models.ManyToManyField(Village, related_name="associations", blank=True)
    phone = models.CharField(_("phone number"), max_length=16, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("association")
        verbose_name_plural = _("associations")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["municipality", "name"], name="association_name_unique")
        ]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    MEMBER = "member", _("member")
    DRIVER = "driver", _("volunteer driver")
    COORDINATOR = "coordinator", _("coordinator")


class MembershipState(models.TextChoices):
    PENDING = "pending", _("waiting for approval")
    ACTIVE = "active", _("active")
    SUSPENDED = "suspended", _("suspended")


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    association = models.ForeignKey(
        Association, on_delete=models.CASCADE, related_name="memberships"
    )
    roles = ArrayField(
        models.CharField(max_length=20, choices=Role.choices),
        default=list,
        verbose_name=_("roles"),
    )
    state = models.CharField(
        _("state"), max_length=20, choices=MembershipState.choices, default=MembershipState.PENDING
    )
    state_reason = models.CharField(_("reason"), max_length=300, blank=True)
    state_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    state_changed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["user", "association"], name="membership_unique"),
            models.CheckConstraint(
                condition=Q(roles__contained_by=list(Role.values)) & Q(roles__contains=["member"]),
                name="membership_roles_known_and_member",
            ),
            models.CheckConstraint(
                condition=Q(state__in=MembershipState.values), name="membership_state_known"
            ),
        ]
        indexes = [GinIndex(fields=["roles"], name="membership_roles_gin")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.association}"

    def has_role(self, role: Role) -> bool:
        return role in self.roles


class MunicipalityAnalyst(models.Model):
    """Municipality staff who follow statistics. They see aggregates, never a person."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="analyst_links"
    )
    municipality = models.ForeignKey(
        Municipality, on_delete=models.CASCADE, related_name="analysts"
    )

    class Meta:
        verbose_name = _("municipality analyst")
        verbose_name_plural = _("municipality analysts")
        constraints = [
            models.UniqueConstraint(fields=["user", "municipality"], name="analyst_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.municipality})"


class AssociationMessage(models.Model):
    """A coordinator's message to every active member, stored when sent and delivered by
    a Celery task (`association_message_deliver`). `delivered_at` is the task's
    idempotency mark: it is set in the transaction that stores the notifications, so a
    task run twice notifies once. Who gets it is decided by `sent_at`
    (`association_message_recipients`): a member who joins later does not."""

    association = models.ForeignKey(Association, on_delete=models.CASCADE, related_name="messages")
    # Null once the sender's account is erased: the message stays with the association.
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="association_messages_sent",
    )
    text = models.TextField(_("message"))
    urgent = models.BooleanField(default=False)
    sent_at = models.DateTimeField(_("sent"), default=timezone.now)
    # How many it was going to when sent (the answer's `sent_to`), and how many it
    # reached when delivered: fewer if a member left or was suspended in between.
    recipients = models.PositiveIntegerField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    delivered_to = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = _("message to all members")
        verbose_name_plural = _("messages to all members")
        constraints = [
            models.CheckConstraint(
                condition=Q(delivered_at__isnull=True, delivered_to__isnull=True)
                | Q(delivered_at__isnull=False, delivered_to__isnull=False),
                name="association_message_delivered_with_count",
            ),
            models.CheckConstraint(condition=~Q(text=""), name="association_message_not_empty"),
        ]
        indexes = [
            # The sweep for messages not yet delivered.
            models.Index(
                fields=["sent_at"],
                condition=Q(delivered_at__isnull=True),
                name="association_message_waiting",
            ),
            models.Index(fields=["association", "-sent_at"], name="association_message_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.association} {self.sent_at:%Y-%m-%d %H:%M}"

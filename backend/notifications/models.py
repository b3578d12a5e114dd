from datetime import timedelta

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.db.models.fields.json import KT
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    LIVE = "live", _("in the app, live")
    PUSH = "push", _("push notification")
    SMS = "sms", _("SMS")
    EMAIL = "email", _("e-mail")


class Notification(models.Model):
    """One entry in a person's inbox. Ids grow in the order rows are inserted, which is
    not always the order they commit in: a reconnecting phone asks for everything after
    the last id it saw and gets the recent ones below it again (selectors.notifications_since)."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(_("kind"), max_length=60)
    payload = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    # Whose names the payload shows: {"<person id>": [field, ...]} (backend/notifications/
    # names.py), so erasing a person takes their name out of others' inboxes.
    named = models.JSONField(default=dict, db_default={})
    urgent = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [
            models.Index(fields=["recipient", "id"], name="notification_inbox"),
            # The replay's overlap: a person's notifications made since a time.
            models.Index(fields=["recipient", "created_at"], name="notification_recent"),
            models.Index(
                fields=["recipient"], condition=Q(read_at__isnull=True), name="notification_unread"
            ),
            # What became of a coordinator's message to all members, on the console: its
            # notifications, found by the message's id in their payload.
            models.Index(
                KT("payload__message"),
                condition=Q(kind="association.message"),
                name="notification_of_message",
            ),
            # Every message naming a person, for their erasure; only those naming anyone.
            GinIndex(fields=["named"], condition=~Q(named={}), name="notification_named"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.recipient_id}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("waiting")
    SENT = "sent", _("sent")
    FAILED = "failed", _("failed")
    SKIPPED = "skipped", _("not sent")


class Delivery(models.Model):
    """A notification on one channel: where it went and how it ended."""

    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="deliveries"
    )
    channel = models.CharField(max_length=10, choices=Channel.choices)
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    # The phone number, e-mail address or number of push endpoints it went to.
    address = models.CharField(max_length=254, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    detail = models.CharField(max_length=300, blank=True)
    provider_ref = models.CharField(max_length=100, blank=True)
    not_before = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        constraints = [
            models.UniqueConstraint(fields=["notification", "channel"], name="delivery_unique"),
        ]
        indexes = [models.Index(fields=["channel", "status", "updated_at"], name="delivery_state")]

    def __str__(self) -> str:
        return f"{self.notification_id}/{self.channel}: {self.status}"


class DeliveryAttempt(models.Model):
    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    at = models.DateTimeField(default=timezone.now)
    succeeded = models.BooleanField()
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["at"]

    def __str__(self) -> str:
        return f"{self.delivery_id}: {'sent' if self.succeeded else self.detail}"


class NotificationPreference(models.Model):
    """A person's choice of channels for one kind; without one, their general contact
    choices (contact_by_sms, ...) apply."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    kind = models.CharField(max_length=60)
    channels = ArrayField(models.CharField(max_length=10, choices=Channel.choices), default=list)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="notification_preference_unique"),
            models.CheckConstraint(
                condition=Q(channels__contained_by=list(Channel.values)),
                name="notification_preference_channels_known",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind}: {', '.join(self.channels)}"


class QuietHours(models.Model):
    """When a person wants no SMS unless it is urgent (local time; may span midnight)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="quiet_hours"
    )
    start = models.TimeField(_("quiet from"))
    end = models.TimeField(_("quiet until"))

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


class PushSubscription(models.Model):
    """A browser's Web Push endpoint for one person (one per device)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="push_subscriptions"
    )
    endpoint = models.URLField(max_length=1000, unique=True)
    p256dh = models.CharField(max_length=200)
    auth = models.CharField(max_length=100)
    user_agent = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"push {self.pk} of {self.user_id}"

    def as_webpush_info(self) -> dict:
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}


class SmsReplyCode(models.Model):
    """An SMS that asks for a reply ("Svara JA 4821"). The answer is routed to the
    registered reply action with `object_id`."""

    phone = models.CharField(max_length=16)
    code = models.CharField(max_length=4)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="+")
    action = models.CharField(max_length=60)
    object_id = models.BigIntegerField()
    expires_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    answer = models.CharField(max_length=10, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["phone", "code"],
                condition=Q(answered_at__isnull=True),
                name="sms_reply_code_open_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.code} to {self.phone} ({self.action} {self.object_id})"


# How long an `SmsSent` is kept: it counts only on the local day it was sent.
SMS_SENT_KEPT = timedelta(days=2)


class SmsSent(models.Model):
    """An SMS sent to a number that no `Delivery` records: an invitation to help
    (backend/accounts/proxy_invitations.py). What SMS_DAILY_CAP counts besides
    notifications' SMS (`selectors.sms_sent_today`). Kept apart from the invitation, which
    goes when it is claimed, expires or its resident is erased, while the SMS still
    counts for the rest of the day. Only the number and when; deleted once it no longer
    counts (`SMS_SENT_KEPT`, backend/privacy/retention.py)."""

    phone = models.CharField(max_length=16)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(phone__regex=r"^\+[1-9][0-9]{6,14}$"), name="sms_sent_phone_is_e164"
            )
        ]
        indexes = [models.Index(fields=["phone", "sent_at"], name="sms_sent_phone_at")]

    def __str__(self) -> str:
        return f"SMS to {self.phone} at {self.sent_at:%Y-%m-%d %H:%M}"


class InboundSms(models.Model):
    """Every SMS that reached us, and what we answered."""

    provider = models.CharField(max_length=20)
    provider_ref = models.CharField(max_length=100, blank=True)
    sender = models.CharField(max_length=32)
    body = models.CharField(max_length=1600)
    received_at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=60, blank=True)
    reply = models.CharField(max_length=400, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "provider_ref"],
                condition=~Q(provider_ref=""),
                name="inbound_sms_once",
            )
        ]

    def __str__(self) -> str:
        return f"from {self.sender}: {self.body[:40]}"


class Reminder(models.Model):
    """A notification due at a set time, sent exactly once. `key` names what it reminds
    of ("ride:42:day-before:7"), so scheduling the same reminder twice updates it."""

    key = models.CharField(max_length=120, unique=True)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reminders"
    )
    kind = models.CharField(max_length=60)
    payload = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    named = models.JSONField(default=dict, db_default={})  # as Notification.named
    due_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    notification = models.OneToOneField(
        Notification, on_delete=models.SET_NULL, null=True, blank=True, related_name="reminder"
    )

    class Meta:
        indexes = [
            models.Index(
                fields=["due_at"],
                condition=Q(sent_at__isnull=True, cancelled_at__isnull=True),
                name="reminder_due",
            ),
            GinIndex(fields=["named"], condition=~Q(named={}), name="reminder_named"),
        ]

    def __str__(self) -> str:
        return self.key

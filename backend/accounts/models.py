from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.contrib.gis.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Language(models.TextChoices):
    SWEDISH = "sv", _("Swedish")
    ENGLISH = "en", _("English")


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, phone: str, password: str | None = None, **fields) -> "User":
        user = self.model(phone=phone, **fields)
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_superuser(self, phone: str, password: str | None = None, **fields) -> "User":
        fields.update(is_staff=True, is_superuser=True)
        return self.create_user(phone, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person. Either someone who logs in, or a *managed profile*: a resident without a
    login whom a coordinator or a linked relative (proxy) acts for."""

    full_name = models.CharField(_("full name"), max_length=200)
    # E.164. At most one login has confirmed it as theirs; others may have typed it
    # (mistyped, or someone else's) without confirming; managed profiles may share a
    # landline.
    phone = models.CharField(_("phone number"), max_length=16, blank=True)
    # When the person showed the phone is theirs, with a code sent to it (or staff
    # vouched for it in the admin). Until then requests to help sent to the number do
    # not reach this login: someone may have typed a number that is not theirs.
    phone_confirmed_at = models.DateTimeField(_("phone number confirmed"), null=True, blank=True)
    # At most one login has confirmed it (in any case) as theirs; others may have typed it
    # without confirming, as with numbers.
    email = models.EmailField(_("e-mail"), blank=True)
    # When the person opened a link e-mailed to the address (email_confirmation.py). Until
    # then no notification is e-mailed to it: it may be mistyped, or someone else's.
    email_confirmed_at = models.DateTimeField(_("e-mail confirmed"), null=True, blank=True)
    preferred_language = models.CharField(
        _("language"), max_length=2, choices=Language.choices, default=Language.SWEDISH
    )
    contact_by_sms = models.BooleanField(_("SMS"), default=True)
    contact_by_email = models.BooleanField(_("e-mail"), default=False)
    contact_by_push = models.BooleanField(_("app notifications"), default=True)
    home_address = models.CharField(_("home address"), max_length=300, blank=True)
    home_location = models.PointField(_("home"), geography=True, srid=4326, null=True, blank=True)
    birth_year = models.PositiveSmallIntegerField(_("year of birth"), null=True, blank=True)
    is_managed = models.BooleanField(
        _("managed profile"),
        default=False,
        help_text=_("Has no login; a coordinator or a relative acts for this person."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(_("staff"), default=False)
    date_joined = models.DateTimeField(_("joined"), default=timezone.now)
    # Set when the person's data was erased (backend/privacy/erase.py): the row stays,
    # without anything that identifies them, so statistics keep counting them once.
    erased_at = models.DateTimeField(_("erased"), null=True, blank=True)

    objects = UserManager()

    USERNAME_FIELD = "phone"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")
        constraints = [
            models.UniqueConstraint(
                fields=["phone"],
                condition=Q(is_managed=False, phone_confirmed_at__isnull=False) & ~Q(phone=""),
                name="user_phone_confirmed_once",
                violation_error_message=_("Someone already uses this phone number."),
            ),
            models.UniqueConstraint(
                Lower("email"),
                condition=Q(is_managed=False, email_confirmed_at__isnull=False) & ~Q(email=""),
                name="user_email_confirmed_once",
                violation_error_message=_("Someone already uses this e-mail address."),
            ),
            models.CheckConstraint(
                condition=Q(is_managed=False) | Q(password__startswith="!"),  # noqa: S106 - the unusable-password marker
                name="managed_profile_has_no_password",
            ),
            models.CheckConstraint(
                condition=Q(is_managed=True)
                | ~Q(phone="")
                | ~Q(email="")
                | Q(erased_at__isnull=False, is_active=False),
                name="login_has_phone_or_email",
            ),
            models.CheckConstraint(
                condition=Q(phone="") | Q(phone__regex=r"^\+[1-9][0-9]{6,14}$"),
                name="user_phone_is_e164",
            ),
            models.CheckConstraint(
                condition=Q(phone_confirmed_at__isnull=True) | (~Q(phone="") & Q(is_managed=False)),
                name="user_phone_confirmed_is_a_login_number",
            ),
            models.CheckConstraint(
                condition=Q(email_confirmed_at__isnull=True) | (~Q(email="") & Q(is_managed=False)),
                name="user_email_confirmed_is_a_login_address",
            ),
        ]
        indexes = [
            # Signing in with a number finds its logins, confirmed or not.
            models.Index(
                fields=["phone"],
                condition=Q(is_managed=False) & ~Q(phone=""),
                name="user_login_phone",
            ),
            # Signing in with an address likewise (selectors.logins_with_address).
            models.Index(
                Lower("email"),
                condition=Q(is_managed=False) & ~Q(email=""),
                name="user_login_email",
            ),
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def phone_unconfirmed(self) -> bool:
        """Whether this login has a number it has not shown to be its own (no code texted
        to it has come back). Such a number gets no SMS but that code: a mistyped number
        belongs to a stranger, who must not read about someone's rides."""
        return bool(self.phone) and not self.is_managed and self.phone_confirmed_at is None

    @property
    def email_unconfirmed(self) -> bool:
        """Whether this login has an e-mail address it has not shown to be its own (no
        link e-mailed to it has been opened). Nothing but that link is e-mailed to it."""
        return bool(self.email) and not self.is_managed and self.email_confirmed_at is None

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return short_name(self.full_name)


def short_name(full_name: str) -> str:
    """The first name, as a list shows it (`User.get_short_name`)."""
    return full_name.split(" ")[0] if full_name else ""


class ProxyLinkQuerySet(models.QuerySet):
    def accepted(self) -> "ProxyLinkQuerySet":
        return self.filter(accepted_at__isnull=False)


class ProxyLink(models.Model):
    """`proxy` (a relative, a friend) may book and follow things for `resident`, once
    they have accepted: until then (`accepted_at` empty) the link gives no right at all,
    so nobody becomes someone's helper, or learns whose a phone number is, unasked."""

    proxy = models.ForeignKey(User, on_delete=models.CASCADE, related_name="proxy_for_links")
    resident = models.ForeignKey(User, on_delete=models.CASCADE, related_name="proxy_links")
    relationship = models.CharField(_("relationship"), max_length=100, blank=True)
    receives_sms_for_resident = models.BooleanField(
        _("gets the resident's SMS reminders"), default=False
    )
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("created by")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    # The phone number (or e-mail address) as the resident typed it: what they see of a
    # request that is not yet answered, instead of the name of whoever has that number.
    invited_as = models.CharField(_("invited as"), max_length=254, blank=True)

    objects = ProxyLinkQuerySet.as_manager()

    class Meta:
        verbose_name = _("proxy")
        verbose_name_plural = _("proxies")
        constraints = [
            models.UniqueConstraint(fields=["proxy", "resident"], name="proxy_link_unique"),
            models.CheckConstraint(
                condition=~Q(proxy=models.F("resident")), name="proxy_link_not_self"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.proxy} → {self.resident}"

    @property
    def is_accepted(self) -> bool:
        return self.accepted_at is not None


class InvitationSmsOutcome(models.TextChoices):
    SENT = "sent", _("sent")
    # Not sent: the number had an invitation SMS within SMS_INTERVAL.
    SKIPPED = "skipped", _("not sent")
    FAILED = "failed", _("failed")


class ProxyInvitation(models.Model):
    """A request to help `resident` sent to a phone number nobody signs in with yet. It
    holds only what the request needs: the number (E.164, to find it again when someone
    signs up with it), the number as typed (what the resident sees), the relationship,
    who asked and when. Whoever registers with the number gets it as a pending
    `ProxyLink`; it expires after PROXY_INVITATION_DAYS (backend/privacy/retention.py)."""

    resident = models.ForeignKey(User, on_delete=models.CASCADE, related_name="proxy_invitations")
    phone = models.CharField(_("phone number"), max_length=16)
    invited_as = models.CharField(_("invited as"), max_length=254)
    relationship = models.CharField(_("relationship"), max_length=100, blank=True)
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("created by")
    )
    created_at = models.DateTimeField(default=timezone.now)
    # Set when the SMS went out (or was given up): the task that sends it runs once.
    sms_done_at = models.DateTimeField(null=True, blank=True)
    # What became of the SMS then: only one that was sent counts towards the number's
    # limits (SMS_INTERVAL, SMS_DAILY_CAP; notifications.selectors.sms_sent_today).
    sms_outcome = models.CharField(
        _("SMS outcome"), max_length=10, choices=InvitationSmsOutcome.choices, blank=True
    )

    class Meta:
        verbose_name = _("invitation to help")
        verbose_name_plural = _("invitations to help")
        constraints = [
            # An outcome is stored exactly when the SMS is done, and only then.
            models.CheckConstraint(
                condition=Q(sms_done_at__isnull=True, sms_outcome="")
                | (Q(sms_done_at__isnull=False) & ~Q(sms_outcome="")),
                name="proxy_invitation_sms_outcome_when_done",
            ),
            # Asking the same number twice while the first request waits is one request.
            models.UniqueConstraint(
                fields=["resident", "phone"], name="proxy_invitation_once_per_number"
            ),
            models.CheckConstraint(
                condition=Q(phone__regex=r"^\+[1-9][0-9]{6,14}$"),
                name="proxy_invitation_phone_is_e164",
            ),
        ]
        indexes = [models.Index(fields=["phone"], name="proxy_invitation_phone")]

    def __str__(self) -> str:
        return f"invitation {self.pk} for {self.resident_id}"


class LoginCode(models.Model):
    """A one-time code sent by SMS to sign in without a password. Only a keyed hash of
    the code is stored; it expires, and a few wrong guesses burn it."""

    MAX_ATTEMPTS = 5

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="login_codes")
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # A new code replaces the open one: only the latest SMS works.
            models.UniqueConstraint(
                fields=["user"], condition=Q(used_at__isnull=True), name="login_code_one_open"
            ),
            models.CheckConstraint(
                condition=Q(attempts__lte=5), name="login_code_attempts_limited"
            ),
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("created_at")), name="login_code_expires_later"
            ),
        ]
        indexes = [models.Index(fields=["user", "created_at"], name="login_code_user_time")]

    def __str__(self) -> str:
        return f"login code {self.pk} of {self.user_id}"

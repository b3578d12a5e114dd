from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.contrib.gis.admin import GISModelAdmin
from django.utils.translation import gettext_lazy as _

from backend.accounts.models import ProxyLink, User
from backend.accounts.selectors import email_confirmed_by_another, phone_confirmed_by_another
from backend.accounts.services import user_email_vouched, user_phone_confirmed


class ProxyLinkInline(admin.TabularInline):
    model = ProxyLink
    fk_name = "resident"
    raw_id_fields = ["proxy", "created_by"]
    extra = 0


def _gives_a_number(form) -> bool:
    """Whether staff give the login a number with this form: a new login with one, a
    changed number, or a managed profile given a login."""
    return bool({"phone", "is_managed"} & set(form.changed_data))


def _gives_an_address(form) -> bool:
    """Whether staff give the login an address with this form (UserAdmin.save_model)."""
    return bool({"email", "is_managed"} & set(form.changed_data))


class _ContactNotConfirmedByAnother:
    """Staff vouch for a number or an address they give a login (UserAdmin.save_model),
    so it must not be one another login has shown to be theirs."""

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("is_managed", self.instance.is_managed):
            return cleaned  # a managed profile confirms nothing
        phone = cleaned.get("phone", self.instance.phone)
        if _gives_a_number(self) and phone_confirmed_by_another(
            phone=phone, exclude_id=self.instance.pk
        ):
            self.add_error("phone", _("Someone else has shown that this number is theirs."))
        email = cleaned.get("email", self.instance.email)
        if _gives_an_address(self) and email_confirmed_by_another(
            email=email, exclude_id=self.instance.pk
        ):
            self.add_error("email", _("Someone else has shown that this address is theirs."))
        return cleaned


class UserAdminChangeForm(_ContactNotConfirmedByAnother, UserChangeForm):
    pass


class UserAdminAddForm(_ContactNotConfirmedByAnother, AdminUserCreationForm):
    pass


@admin.register(User)
class UserAdmin(DjangoUserAdmin, GISModelAdmin):
    form = UserAdminChangeForm
    add_form = UserAdminAddForm
    ordering = ["full_name"]
    list_display = ["full_name", "phone", "email", "is_managed", "is_active", "is_staff"]
    list_filter = ["is_managed", "is_active", "is_staff", "preferred_language"]
    search_fields = ["full_name", "phone", "email"]
    inlines = [ProxyLinkInline]
    readonly_fields = ["phone_confirmed_at", "email_confirmed_at"]
    fieldsets = [
        (None, {"fields": ["full_name", "phone", "email", "password", "is_managed"]}),
        (
            _("Home and contact"),
            {
                "fields": [
                    "home_address",
                    "home_location",
                    "birth_year",
                    "preferred_language",
                    "contact_by_sms",
                    "contact_by_email",
                    "contact_by_push",
                ]
            },
        ),
        (_("Access"), {"fields": ["is_active", "is_staff", "is_superuser", "groups"]}),
        (
            _("Dates"),
            {"fields": ["last_login", "date_joined", "phone_confirmed_at", "email_confirmed_at"]},
        ),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["full_name", "phone", "password1", "password2"]})
    ]

    def save_model(self, request, obj: User, form, change: bool) -> None:
        # Staff who give a login a number vouch for it, as they would for a number the
        # person told them on the phone: it counts as confirmed, and the requests to
        # help stored under it are the login's now, as after a code came back from it.
        gives_a_number = _gives_a_number(form)
        if gives_a_number:
            obj.phone_confirmed_at = None  # what was confirmed was another number, if any
        if _gives_an_address(form):
            user_email_vouched(user=obj)  # the same for an address they type
        super().save_model(request, obj, form, change)
        if gives_a_number:
            user_phone_confirmed(user=obj)

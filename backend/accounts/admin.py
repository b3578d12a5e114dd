from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.gis.admin import GISModelAdmin
from django.utils.translation import gettext_lazy as _

from backend.accounts.models import ProxyLink, User
from backend.accounts.proxy_invitations import proxy_invitations_claim


class ProxyLinkInline(admin.TabularInline):
    model = ProxyLink
    fk_name = "resident"
    raw_id_fields = ["proxy", "created_by"]
    extra = 0


@admin.register(User)
class UserAdmin(DjangoUserAdmin, GISModelAdmin):
    ordering = ["full_name"]
    list_display = ["full_name", "phone", "email", "is_managed", "is_active", "is_staff"]
    list_filter = ["is_managed", "is_active", "is_staff", "preferred_language"]
    search_fields = ["full_name", "phone", "email"]
    inlines = [ProxyLinkInline]
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
        (_("Dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["full_name", "phone", "password1", "password2"]})
    ]

    def save_model(self, request, obj: User, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        # Staff giving a login a number (a new login, a changed number, a managed profile
        # given a login) bypass the services that claim: requests to help stored under
        # the number are the login's now, as when the person changes it themself
        # (user_update_profile), and as a request made a second later would be. With
        # nothing to claim this is one lookup, so it runs on every save.
        proxy_invitations_claim(user=obj)

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.gis.admin import GISModelAdmin
from django.utils.translation import gettext_lazy as _

from backend.accounts.models import ProxyLink, User


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

from django.contrib import admin
from django.contrib.gis.admin import GISModelAdmin

from backend.community.models import (
    Association,
    Membership,
    Municipality,
    MunicipalityAnalyst,
    Village,
)


@admin.register(Municipality)
class MunicipalityAdmin(GISModelAdmin):
    list_display = ["name", "code"]
    search_fields = ["name", "code"]


@admin.register(Village)
class VillageAdmin(GISModelAdmin):
    list_display = ["name", "municipality"]
    list_filter = ["municipality"]
    search_fields = ["name"]


class MembershipInline(admin.TabularInline):
    model = Membership
    raw_id_fields = ["user", "state_changed_by"]
    extra = 0


@admin.register(Association)
class AssociationAdmin(admin.ModelAdmin):
    list_display = ["name", "municipality"]
    list_filter = ["municipality"]
    search_fields = ["name"]
    filter_horizontal = ["villages"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "association", "roles", "state"]
    list_filter = ["state", "association"]
    search_fields = ["user__full_name", "user__phone"]
    raw_id_fields = ["user", "state_changed_by"]


@admin.register(MunicipalityAnalyst)
class MunicipalityAnalystAdmin(admin.ModelAdmin):
    list_display = ["user", "municipality"]
    raw_id_fields = ["user"]

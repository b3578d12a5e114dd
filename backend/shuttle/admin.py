"""Shop runs in the operator's admin: to look, mostly. Seats, sign-ups and cars change
through the services (the API and the pages), which keep the counts and tell people;
editing them here would not."""

from django.contrib import admin
from django.contrib.gis.admin import GISModelAdmin

from backend.shuttle.models import RunOccurrence, RunSchedule, RunSignup


@admin.register(RunSchedule)
class RunScheduleAdmin(GISModelAdmin):
    list_display = ["name", "association", "rrule", "arrive_at", "leave_at", "active"]
    list_filter = ["association", "active"]
    search_fields = ["name"]
    filter_horizontal = ["villages"]


@admin.register(RunOccurrence)
class RunOccurrenceAdmin(admin.ModelAdmin):
    list_display = ["schedule", "arrive_at", "state", "seats_taken", "capacity", "plan_km"]
    list_filter = ["state", "association"]
    date_hierarchy = "arrive_at"
    readonly_fields = [field.name for field in RunOccurrence._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(RunSignup)
class RunSignupAdmin(admin.ModelAdmin):
    list_display = ["passenger", "occurrence", "state", "car_number", "stop_order", "outcome"]
    list_filter = ["state"]
    raw_id_fields = ["passenger", "signed_up_by", "occurrence", "standing", "vehicle"]
    readonly_fields = [field.name for field in RunSignup._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

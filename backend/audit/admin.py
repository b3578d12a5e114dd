from django.contrib import admin

from backend.audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read only: an audit log that an administrator can edit proves nothing."""

    list_display = ["at", "actor", "action", "subject"]
    list_filter = ["action"]
    search_fields = ["actor__full_name", "subject__full_name", "action"]
    raw_id_fields = ["actor", "subject"]
    date_hierarchy = "at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

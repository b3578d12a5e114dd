"""Audit of what list endpoints show: the page a person actually received, one entry per
other person on it (backend.audit.services)."""

from backend.audit.services import audit_record_many


class AuditedListMixin:
    """For a ListAPIView showing other people's data. `audit_action` names the access;
    `audit_subject_field` is the attribute (or key, for rows read with SQL) of a row
    holding whose data it is."""

    audit_action: str
    audit_subject_field: str

    def audit_detail(self) -> dict:
        return dict(self.kwargs)

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        rows = page if page is not None else queryset
        audit_record_many(
            actor=self.request.user,
            action=self.audit_action,
            subject_ids=[_subject_of(row, self.audit_subject_field) for row in rows],
            detail=self.audit_detail(),
        )
        return page


def _subject_of(row, field: str) -> int:
    # A model instance, or a row read with SQL (a dict).
    return row[field] if isinstance(row, dict) else getattr(row, field)

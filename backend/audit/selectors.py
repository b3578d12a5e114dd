from django.db.models import QuerySet

from backend.accounts.models import User
from backend.audit.models import AuditEntry


def audit_entries_about(*, subject: User) -> QuerySet[AuditEntry]:
    """Who saw or changed this person's data, newest first (for the person's own data
    export and for an operator answering a question about an access)."""
    return AuditEntry.objects.filter(subject=subject).select_related("actor")

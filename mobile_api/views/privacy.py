"""A person's data: download it all, or erase the account (for oneself, for someone one
is proxy for, or as staff answering a request). Who may is
`backend.privacy.access.people_whose_data_actor_handles`; anyone else is a 404."""

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.audit.services import audit_record
from backend.privacy.access import people_whose_data_actor_handles
from backend.privacy.export import person_export


def _person(request: Request, pk: int):
    return get_object_or_404(people_whose_data_actor_handles(actor=request.user), pk=pk)


class PersonExport(APIView):
    """Everything Samby holds about a person, as one JSON document (see docs/privacy.md)."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, pk: int) -> Response:
        person = _person(request, pk)
        document = person_export(user=person)
        audit_record(actor=request.user, action="profile.export", subject=person)
        response = Response(document)
        response["Cache-Control"] = "no-store"
        response["Content-Disposition"] = f'attachment; filename="samby-{person.pk}.json"'
        return response

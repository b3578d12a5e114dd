"""A person's data: download it all, or erase the account (for oneself, for someone one
is proxy for, or as staff answering a request). Who may is
`backend.privacy.access.people_whose_data_actor_handles`; anyone else is a 404."""

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.audit.services import audit_record
from backend.errors import ApplicationError, ErrorKind
from backend.privacy.access import people_whose_data_actor_handles
from backend.privacy.erase import PrivacyErrorCode
from backend.privacy.export import person_export
from dispatch.privacy import erasure_preview, person_erase


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


class EraseInput(serializers.Serializer):
    confirm = serializers.BooleanField(
        help_text="true: erase for good (see the GET of this address for what it calls off)."
    )


class PersonErase(APIView):
    """GET: what erasing the account would call off. POST {"confirm": true}: erase it
    (the person themself, their proxy, or staff)."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, pk: int) -> Response:
        person = _person(request, pk)
        return Response({"person": person.pk, "calls_off": erasure_preview(user=person).as_dict()})

    @extend_schema(request=EraseInput, responses={200: OpenApiTypes.OBJECT})
    def post(self, request: Request, pk: int) -> Response:
        person = _person(request, pk)
        data = EraseInput(data=request.data)
        data.is_valid(raise_exception=True)
        if not data.validated_data["confirm"]:
            raise ApplicationError(
                PrivacyErrorCode.NOT_CONFIRMED,
                _("Erasing cannot be undone: send confirm true to go ahead."),
                kind=ErrorKind.INVALID,
                fields={"confirm": [_("Must be true.")]},
            )
        erased = person_erase(user=person, actor=request.user)
        return Response({"person": erased.pk, "erased_at": erased.erased_at})

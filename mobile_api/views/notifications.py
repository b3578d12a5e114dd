from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.notifications import selectors, services
from backend.notifications.models import Notification
from mobile_api.serializers import (
    MarkReadInput,
    NotificationOutput,
    PreferencesInput,
    PreferencesOutput,
)


class Inbox(generics.ListAPIView):
    """My notifications, newest first, with the count of unread ones."""

    serializer_class = NotificationOutput

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation, no user
            return Notification.objects.none()
        return selectors.inbox(user=self.request.user)

    def get_serializer_context(self) -> dict:
        language = getattr(self.request, "LANGUAGE_CODE", "sv")
        return {**super().get_serializer_context(), "language": language}

    def list(self, request: Request, *args, **kwargs) -> Response:
        response = super().list(request, *args, **kwargs)
        page = self.paginator.page
        if page.number == 1 and not page.has_next():
            # The page holds every notification of the person (most inboxes are short):
            # the unread ones are among them, no need to count them again.
            unread = sum(1 for notification in page.object_list if notification.read_at is None)
        else:
            unread = selectors.unread_count(user=request.user)
        response.data["unread_count"] = unread
        return response


class MarkRead(APIView):
    """Mark notifications read: some by id, all up to an id, or (with neither) all."""

    @extend_schema(
        request=MarkReadInput,
        responses={
            200: inline_serializer(
                "MarkReadOutput",
                {"marked": serializers.IntegerField(), "unread_count": serializers.IntegerField()},
            )
        },
    )
    def post(self, request: Request) -> Response:
        data = MarkReadInput(data=request.data)
        data.is_valid(raise_exception=True)
        marked = services.notifications_mark_read(
            user=request.user,
            ids=data.validated_data.get("ids"),
            up_to_id=data.validated_data.get("up_to"),
        )
        return Response(
            {"marked": marked, "unread_count": selectors.unread_count(user=request.user)}
        )


class Preferences(APIView):
    """Which channels I get each kind of notification on, and my quiet hours."""

    @extend_schema(responses={200: PreferencesOutput})
    def get(self, request: Request) -> Response:
        return Response(PreferencesOutput(selectors.preferences_for(user=request.user)).data)

    @extend_schema(request=PreferencesInput, responses={200: PreferencesOutput})
    def put(self, request: Request) -> Response:
        data = PreferencesInput(data=request.data)
        data.is_valid(raise_exception=True)
        quiet = data.validated_data.get("quiet_hours")
        services.preferences_set(
            user=request.user,
            channels_by_kind={
                k["kind"]: k["channels"] for k in data.validated_data.get("kinds", [])
            },
            quiet_hours=(quiet["start"], quiet["end"]) if quiet else None,
        )
        return Response(PreferencesOutput(selectors.preferences_for(user=request.user)).data)

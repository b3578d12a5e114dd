from drf_spectacular.utils import (
    extend_schema,
    extend_schema_serializer,
    extend_schema_view,
    inline_serializer,
)
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


# The inbox's shape for the schema only: NotificationOutput writes each notification as
# the live websocket message (backend.notifications.selectors.notification_message), which
# drf-spectacular cannot read, so it documented no response body at all.
class NotificationMessage(serializers.Serializer):
    """A notification, in the same shape as the live websocket message."""

    type = serializers.CharField(help_text="Always `notification`.")
    id = serializers.IntegerField()
    kind = serializers.CharField(help_text="What happened, e.g. `ride.accepted`.")
    title = serializers.CharField(help_text="In the language asked for.")
    body = serializers.CharField(help_text="In the language asked for.")
    payload = serializers.DictField(help_text="The kind's values, e.g. the ride's id.")
    urgent = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    read = serializers.BooleanField()


@extend_schema_serializer(many=False)
class InboxPage(serializers.Serializer):
    """A page of notifications, newest first, and how many of all are unread."""

    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = NotificationMessage(many=True)
    unread_count = serializers.IntegerField()


@extend_schema_view(get=extend_schema(responses={200: InboxPage}))
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

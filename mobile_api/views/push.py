"""Web Push: the key a browser subscribes with, and its subscription."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.notifications.push_subscriptions import (
    push_public_key,
    push_subscription_delete,
    push_subscription_save,
)


class PushKeyOutput(serializers.Serializer):
    public_key = serializers.CharField(
        help_text="VAPID public key (URL-safe base64): the browser's `applicationServerKey`."
    )


class PushKeysInput(serializers.Serializer):
    p256dh = serializers.CharField(max_length=200, trim_whitespace=False)
    auth = serializers.CharField(max_length=100, trim_whitespace=False)


class PushSubscriptionInput(serializers.Serializer):
    """What the browser's `PushSubscription.toJSON()` gives (`expirationTime` is ignored)."""

    endpoint = serializers.CharField(max_length=1000, trim_whitespace=False)
    keys = PushKeysInput()


class PushSubscriptionOutput(serializers.Serializer):
    endpoint = serializers.CharField()
    created_at = serializers.DateTimeField()


class PushUnsubscribeInput(serializers.Serializer):
    endpoint = serializers.CharField(max_length=1000, trim_whitespace=False)


class PushKey(APIView):
    """The server's public key for Web Push; 404 `push_not_configured` when this server
    has none. Public: it is the same for everyone."""

    permission_classes = [AllowAny]

    @extend_schema(responses={200: PushKeyOutput})
    def get(self, request: Request) -> Response:
        return Response(PushKeyOutput({"public_key": push_public_key()}).data)


class PushSubscriptions(APIView):
    """Push notifications to this browser.

    POST stores the browser's subscription (201). DELETE ends it and answers 204 whether
    or not this person had subscribed that endpoint: an endpoint another person
    subscribed stays theirs, and the answer does not tell anyone it exists.
    """

    @extend_schema(request=PushSubscriptionInput, responses={201: PushSubscriptionOutput})
    def post(self, request: Request) -> Response:
        data = PushSubscriptionInput(data=request.data)
        data.is_valid(raise_exception=True)
        subscription = push_subscription_save(
            user=request.user,
            endpoint=data.validated_data["endpoint"],
            p256dh=data.validated_data["keys"]["p256dh"],
            auth=data.validated_data["keys"]["auth"],
            user_agent=request.headers.get("User-Agent", ""),
        )
        return Response(PushSubscriptionOutput(subscription).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=PushUnsubscribeInput, responses={204: None})
    def delete(self, request: Request) -> Response:
        data = PushUnsubscribeInput(data=request.data)
        data.is_valid(raise_exception=True)
        push_subscription_delete(user=request.user, endpoint=data.validated_data["endpoint"])
        return Response(status=status.HTTP_204_NO_CONTENT)

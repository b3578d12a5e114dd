import logging

from django.contrib.auth import authenticate, login, logout
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.accounts.login_codes import phone_confirm, phone_confirmation_send
from backend.accounts.models import User
from backend.accounts.services import user_register, user_update_profile
from backend.audit.services import audit_record
from backend.errors import ApplicationError
from backend.rate_limits import client_address
from mobile_api.serializers import (
    LoginInput,
    MeOutput,
    MeUpdateInput,
    PhoneConfirmInput,
    RegisterInput,
)
from mobile_api.throttles import LoginAttemptThrottle, ScopedRateThrottle

logger = logging.getLogger(__name__)

LoginOutput = inline_serializer(
    "LoginOutput", {"token": serializers.CharField(), "user": MeOutput()}
)


class LoginView(APIView):
    """Log in with phone number or e-mail and password. Starts a session (for the web
    app) and returns a token (for other clients: `Authorization: Token <token>`)."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [LoginAttemptThrottle]  # shared with the web sign-in pages

    @extend_schema(request=LoginInput, responses={200: LoginOutput})
    def post(self, request: Request) -> Response:
        data = LoginInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(
            request._request,
            username=data.validated_data["identifier"],
            password=data.validated_data["password"],
        )
        if user is None:
            raise ApplicationError(
                "login_failed",
                _("Wrong phone number, e-mail or password. Check them and try again."),
            )
        login(request._request, user)
        token, _created = Token.objects.get_or_create(user=user)
        return Response({"token": token.key, "user": MeOutput(user).data})


class LogoutView(APIView):
    """End the session and revoke the token."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request) -> Response:
        Token.objects.filter(user=request.user).delete()
        logout(request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)


class RegisterView(APIView):
    """Create an account. Join an association afterwards to use its services.

    With a phone number, a code is texted to it at once: sign in and send it to
    `auth/phone/confirm`. If no SMS comes (the provider failed, or too many codes were
    asked for the number), `auth/phone/code` sends a new one; the account exists all
    the same."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"

    @extend_schema(request=RegisterInput, responses={201: MeOutput})
    def post(self, request: Request) -> Response:
        data = RegisterInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = user_register(**data.validated_data)
        if user.phone:
            _text_confirmation_code(request, user)
        return Response(MeOutput(user).data, status=status.HTTP_201_CREATED)


def _text_confirmation_code(request: Request, user: User) -> None:
    """Text `user` a code for their new number. Failing that (the provider, the limits),
    the account or the change stands all the same: `auth/phone/code` sends a new one."""
    try:
        phone_confirmation_send(user=user, client_ip=client_address(request.META))
    except ApplicationError as error:
        logger.info("no confirmation code texted for a new number: %s", error.code)


class MeView(APIView):
    """My own profile."""

    @extend_schema(responses={200: MeOutput})
    def get(self, request: Request) -> Response:
        return Response(MeOutput(request.user).data)

    @extend_schema(
        request=MeUpdateInput,
        responses={200: MeOutput},
        description="Change my profile. A new phone number is unconfirmed, and a code to "
        "confirm it (`auth/phone/confirm`) is texted to it at once.",
    )
    def patch(self, request: Request) -> Response:
        data = MeUpdateInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        number_before = request.user.phone
        user = user_update_profile(user=request.user, changes=dict(data.validated_data))
        if user.phone and user.phone != number_before:
            _text_confirmation_code(request, user)
        # The names of the fields, never their values: the log must not copy the data.
        audit_record(
            actor=request.user,
            action="profile.change",
            subject=user,
            detail={"fields": sorted(data.validated_data)},
        )
        return Response(MeOutput(user).data)


class PhoneCodeView(APIView):
    """Text a six-digit code to my own phone number, to show it is mine
    (`auth/phone/confirm`). Until then requests to help sent to the number do not
    reach me. Limited per number and per client address, like sign-in codes."""

    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request) -> Response:
        phone_confirmation_send(user=request.user, client_ip=client_address(request.META))
        return Response(status=status.HTTP_204_NO_CONTENT)


class PhoneConfirmView(APIView):
    """Confirm my phone number with the code texted to it (or to sign in). The requests
    to help that wait for the number become mine to answer."""

    @extend_schema(request=PhoneConfirmInput, responses={200: MeOutput})
    def post(self, request: Request) -> Response:
        data = PhoneConfirmInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = phone_confirm(user=request.user, code=data.validated_data["code"])
        return Response(MeOutput(user).data)

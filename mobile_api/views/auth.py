import logging

from django.contrib.auth import authenticate, login, logout, update_session_auth_hash
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.accounts.code_sign_in import code_sign_in_token, password_change_with_token
from backend.accounts.contact_confirmations import contact_confirmations_send
from backend.accounts.email_confirmation import email_confirm, email_confirmation_send
from backend.accounts.login_codes import (
    login_code_send,
    login_code_verify,
    phone_confirm,
    phone_confirmation_send,
)
from backend.accounts.models import User
from backend.accounts.services import user_register, user_update_profile
from backend.audit.services import audit_record
from backend.errors import ApplicationError
from backend.rate_limits import client_address
from mobile_api.serializers import (
    EmailConfirmInput,
    LoginCodeInput,
    LoginCodeVerifyInput,
    LoginInput,
    MeOutput,
    MeUpdateInput,
    PasswordChangeInput,
    PhoneConfirmInput,
    RegisterInput,
)
from mobile_api.throttles import (
    CodeSignInThrottle,
    LoginAttemptThrottle,
    PasswordChangeThrottle,
    ScopedRateThrottle,
)

logger = logging.getLogger(__name__)

TokenOutput = inline_serializer("TokenOutput", {"token": serializers.CharField()})

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


class LoginCodeView(APIView):
    """Text a six-digit sign-in code to a phone number, for someone who does not
    remember their password; send it back with the number to `auth/login/code/verify`.
    The answer is the same whether or not the number belongs to someone: a code goes
    only to a number its login has confirmed. Limited per number and per client address
    (409 `login_code_rate_limited`, as `auth/phone/code`), and requests per client
    address like other sign-ins (429)."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"

    @extend_schema(request=LoginCodeInput, responses={204: None})
    def post(self, request: Request) -> Response:
        data = LoginCodeInput(data=request.data)
        data.is_valid(raise_exception=True)
        login_code_send(phone=data.validated_data["phone"], client_ip=client_address(request.META))
        return Response(status=status.HTTP_204_NO_CONTENT)


class LoginCodeVerifyView(APIView):
    """Sign in with the code texted by `auth/login/code`: answers as `auth/login` does.
    For 15 minutes after, `auth/password` takes a new password without the present one.
    A wrong or expired code is a 400; each try counts as a sign-in attempt, on the
    counters `auth/login` and the web pages use (429 beyond them), and the fifth wrong
    guess spends the code."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [CodeSignInThrottle]  # shared with the web sign-in pages

    @extend_schema(request=LoginCodeVerifyInput, responses={200: LoginOutput})
    def post(self, request: Request) -> Response:
        data = LoginCodeVerifyInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = login_code_verify(
            phone=data.validated_data["phone"], code=data.validated_data["code"]
        )
        login(request._request, user)  # as auth/login does (the one auth backend)
        token = code_sign_in_token(user=user)
        return Response({"token": token, "user": MeOutput(user).data})


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
    the same. With an e-mail address, a link to confirm it is e-mailed likewise
    (`auth/email/link` sends a new one)."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"

    @extend_schema(request=RegisterInput, responses={201: MeOutput})
    def post(self, request: Request) -> Response:
        data = RegisterInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = user_register(**data.validated_data)
        _confirmations_send(request, user, phone_is_new=True, email_is_new=True)
        return Response(MeOutput(user).data, status=status.HTTP_201_CREATED)


def _confirmations_send(
    request: Request, user: User, *, phone_is_new: bool, email_is_new: bool
) -> None:
    """Text a code to `user`'s new number and mail a link to their new address. Failing
    that (the provider, the limits), the account or the change stands all the same:
    `auth/phone/code` and `auth/email/link` send new ones, so the failure is only logged."""
    sent = contact_confirmations_send(
        user=user,
        phone_is_new=phone_is_new,
        email_is_new=email_is_new,
        client_ip=client_address(request.META),
    )
    if sent.code_error is not None:
        logger.info("no confirmation code texted for a new number: %s", sent.code_error.code)
    if sent.link_error is not None:
        logger.info("no confirmation link e-mailed for a new address: %s", sent.link_error.code)


class MeView(APIView):
    """My own profile."""

    @extend_schema(responses={200: MeOutput})
    def get(self, request: Request) -> Response:
        return Response(MeOutput(request.user).data)

    @extend_schema(
        request=MeUpdateInput,
        responses={200: MeOutput},
        description="Change my profile. A new phone number is unconfirmed, and a code to "
        "confirm it (`auth/phone/confirm`) is texted to it at once; a new e-mail address "
        "likewise gets a link (`auth/email/confirm`). A new `home_address` without "
        '`home_location` is looked up, and its point saved with it; `home_address: ""` '
        "removes the home.",
    )
    def patch(self, request: Request) -> Response:
        data = MeUpdateInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        number_before = request.user.phone
        user = user_update_profile(user=request.user, changes=dict(data.validated_data))
        _confirmations_send(
            request,
            user,
            phone_is_new=user.phone != number_before,
            email_is_new="email" in data.validated_data,
        )
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


class EmailLinkView(APIView):
    """E-mail a link to my own address, to show it is mine. Until then no notification
    is e-mailed to it. The link opens a web page (`/email/<token>`); an app may send its
    token to `auth/email/confirm` instead. Limited per person and per address."""

    @extend_schema(request=None, responses={204: None})
    def post(self, request: Request) -> Response:
        email_confirmation_send(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class EmailConfirmView(APIView):
    """Confirm an e-mail address with the token of the link e-mailed to it. Needs no
    sign-in: whoever has the link reads the mailbox. Answers nothing about the person."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "login"

    @extend_schema(request=EmailConfirmInput, responses={204: None})
    def post(self, request: Request) -> Response:
        data = EmailConfirmInput(data=request.data)
        data.is_valid(raise_exception=True)
        email_confirm(token=data.validated_data["token"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordChangeView(APIView):
    """Choose a new password, giving the present one. Someone who forgot it signs in
    with a code by SMS (`auth/login/code`, `auth/login/code/verify`) and, with the
    token that gave, may leave `current_password` out for 15 minutes (400
    `password_needed` otherwise, or after). Every other device is signed out: the old
    token stops working and the answer carries a new one for this client (a session on
    this client stays signed in)."""

    throttle_classes = [PasswordChangeThrottle]  # guessing the present password counts

    @extend_schema(request=PasswordChangeInput, responses={200: TokenOutput})
    def post(self, request: Request) -> Response:
        data = PasswordChangeInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = password_change_with_token(
            user=request.user,
            # A session (no token) never has the grace: the web pages keep their own.
            token_key=request.auth.key if isinstance(request.auth, Token) else "",
            new_password=data.validated_data["new_password"],
            current_password=data.validated_data.get("current_password"),
        )
        update_session_auth_hash(request._request, user)
        token = Token.objects.create(user=user)  # the old one went with the password
        return Response({"token": token.key})

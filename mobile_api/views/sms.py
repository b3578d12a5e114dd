from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework.parsers import FormParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.views import APIView

from backend.notifications import inbound


class InboundSms(APIView):
    """The SMS provider's webhook for SMS sent to Samby's number (`provider`: elks or
    twilio). The provider calls it with ?secret=SMS_INBOUND_SECRET; Twilio also signs."""

    # The provider proves itself with the secret and signature, not with a login.
    authentication_classes = []
    permission_classes = [AllowAny]
    # A few provider addresses send every villager's SMS: a per-address limit would drop
    # real answers.
    throttle_classes = []
    parser_classes = [FormParser]

    @extend_schema(exclude=True)  # called by the provider, not by Samby's clients
    def post(self, request: Request, provider: str) -> HttpResponse:
        params = {name: request.data.getlist(name) for name in request.data}
        site_url = settings.SITE_URL.rstrip("/") + request.get_full_path()
        inbound.inbound_webhook_verify(
            provider=provider,
            secret=request.query_params.get("secret", ""),
            params=params,
            urls={request.build_absolute_uri(), site_url},
            signature=request.headers.get("X-Twilio-Signature", ""),
        )
        inbound.inbound_sms_receive(provider=provider, params=params)
        if provider == "twilio":
            return HttpResponse(inbound.TWIML_EMPTY, content_type="text/xml")
        # Empty: 46elks would send a non-empty body back to the sender as another SMS.
        return HttpResponse(b"", content_type="text/plain")

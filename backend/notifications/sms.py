"""Outbound SMS through the configured backend (settings.SMS_BACKEND)."""

import json
import logging
import uuid

import httpx
from django.conf import settings
from django.utils import timezone

from backend.notifications.errors import PermanentDeliveryError, TransientDeliveryError

logger = logging.getLogger(__name__)


def send_sms(*, to: str, text: str) -> str:
    """Send `text` to `to` (E.164); returns the provider's message id. Raises
    TransientDeliveryError (try again) or PermanentDeliveryError (don't)."""
    backend = settings.SMS_BACKEND
    if backend == "console":
        return _send_console(to=to, text=text)
    if backend == "elks":
        return _send_elks(to=to, text=text)
    if backend == "twilio":
        return _send_twilio(to=to, text=text)
    raise ValueError(f"unknown SMS backend {backend!r}")


def _send_console(*, to: str, text: str) -> str:
    """For a developer's machine: the SMS goes to the log and to SMS_CONSOLE_FILE."""
    reference = f"console-{uuid.uuid4().hex[:12]}"
    logger.info("SMS to %s: %s", to, text)
    path = settings.SMS_CONSOLE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as log:
        entry = {"at": timezone.now().isoformat(), "to": to, "text": text, "id": reference}
        log.write(json.dumps(entry, ensure_ascii=False) + "\n")
    return reference


def _send_elks(*, to: str, text: str) -> str:
    """46elks: POST /a1/sms; the answer's `id` names the message."""
    answer = _post(
        "elks",
        f"{settings.SMS_API_URL.rstrip('/')}/a1/sms",
        {"from": settings.SMS_SENDER, "to": to, "message": text},
    )
    return str(answer.get("id", ""))


def _send_twilio(*, to: str, text: str) -> str:
    """Twilio: POST .../Accounts/{sid}/Messages.json; the answer's `sid` names the message."""
    account = settings.SMS_API_USERNAME
    answer = _post(
        "twilio",
        f"{settings.SMS_API_URL.rstrip('/')}/2010-04-01/Accounts/{account}/Messages.json",
        {"From": settings.SMS_SENDER, "To": to, "Body": text},
    )
    return str(answer.get("sid", ""))


def _post(provider: str, url: str, form: dict[str, str]) -> dict:
    """POST `form` with the account's Basic auth and sort the answer into sent, worth
    another try (TransientDeliveryError) or refused for good (PermanentDeliveryError).
    Errors and logs name the status and the provider's message, never the credentials."""
    try:
        response = httpx.post(
            url,
            data=form,
            auth=(settings.SMS_API_USERNAME, settings.SMS_API_PASSWORD),
            timeout=settings.SMS_TIMEOUT,
        )
    except httpx.TimeoutException as error:
        raise TransientDeliveryError(
            f"{provider}: no answer in time ({type(error).__name__})"
        ) from error
    except httpx.TransportError as error:
        raise TransientDeliveryError(f"{provider}: unreachable ({type(error).__name__})") from error

    status = response.status_code
    if response.is_success:
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            # The provider took the message; calling it failed would send it twice on the
            # next try. Only the reference is lost.
            logger.warning("%s accepted an SMS (%s) but sent no JSON reference", provider, status)
            return {}
        logger.info("SMS accepted by %s (%s)", provider, status)
        return answer
    message = _provider_message(response)
    if status == 429 or status >= 500:
        raise TransientDeliveryError(f"{provider} answered {status}: {message}")
    logger.warning("%s refused an SMS (%s): %s", provider, status, message)
    raise PermanentDeliveryError(f"{provider} refused ({status}): {message}")


def _provider_message(response: httpx.Response) -> str:
    """The provider's own explanation: Twilio answers JSON with `message`, 46elks plain
    text. Shortened to fit Delivery.detail with our prefix."""
    text = response.text
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if isinstance(answer, dict) and answer.get("message"):
        text = str(answer["message"])
    return " ".join(text.split())[:200] or response.reason_phrase

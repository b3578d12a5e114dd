"""Outbound SMS through the configured backend (settings.SMS_BACKEND)."""

import json
import logging
import uuid

from django.conf import settings
from django.utils import timezone

logger = logging.getLogger(__name__)


def send_sms(*, to: str, text: str) -> str:
    """Send `text` to `to` (E.164); returns the provider's message id. Raises
    TransientDeliveryError (try again) or PermanentDeliveryError (don't)."""
    backend = settings.SMS_BACKEND
    if backend == "console":
        return _send_console(to=to, text=text)
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

"""SMS that people send to Samby: the provider's webhook is checked, every message is
stored once, and a JA/NEJ answer goes to the reply action that asked the question
(see replies.py and `notify(..., reply=ReplyRequest(...))`)."""

import base64
import hashlib
import hmac
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from backend.accounts.models import User
from backend.accounts.phone import normalize_phone
from backend.errors import ApplicationError, ErrorKind
from backend.notifications.errors import DeliveryError
from backend.notifications.models import InboundSms, SmsReplyCode
from backend.notifications.replies import REPLY_ACTIONS, ReplyContext
from backend.notifications.sms import send_sms

logger = logging.getLogger(__name__)


class InboundErrorCode(StrEnum):
    PROVIDER_UNKNOWN = "sms_provider_unknown"
    WEBHOOK_FORBIDDEN = "sms_webhook_forbidden"
    MESSAGE_INVALID = "sms_inbound_invalid"
    REPLY_ACTION_UNKNOWN = "reply_action_unknown"


class Outcome(StrEnum):
    """What became of an inbound SMS (InboundSms.outcome). A reply action that refused
    is stored as "refused:<its error code>"."""

    ACCEPTED = "accepted"
    DECLINED = "declined"
    NOT_UNDERSTOOD = "not_understood"
    UNKNOWN_CODE = "unknown_code"
    EXPIRED = "expired"
    AMBIGUOUS = "ambiguous"
    NO_OPEN_CODE = "no_open_code"
    ALREADY_ANSWERED = "already_answered"
    UNKNOWN_SENDER = "unknown_sender"


HELP = _("Reply YES or NO followed by the code in the message, e.g. YES 4821.")


@dataclass(frozen=True)
class Provider:
    """The form fields a provider posts, and whether it signs its requests."""

    sender: str
    body: str
    reference: str
    signed: bool


PROVIDERS = {
    "elks": Provider(sender="from", body="message", reference="id", signed=False),
    "twilio": Provider(sender="From", body="Body", reference="MessageSid", signed=True),
}

# Twilio's response when we answer nothing ourselves (our reply goes through send_sms).
TWIML_EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


def provider_get(name: str) -> Provider:
    try:
        return PROVIDERS[name]
    except KeyError:
        raise ApplicationError(
            InboundErrorCode.PROVIDER_UNKNOWN,
            _("There is no SMS provider called %(provider)s.") % {"provider": name},
            kind=ErrorKind.NOT_FOUND,
        ) from None


# --- Is it really the provider? -----------------------------------------------------------


def twilio_signature(*, url: str, params: Mapping[str, list[str]], auth_token: str) -> str:
    """Twilio's X-Twilio-Signature: HMAC-SHA1 over the full URL followed by each POST
    parameter's name and value, sorted by name (and values), base64-encoded."""
    signed = url + "".join(
        name + value for name in sorted(params) for value in sorted(params[name])
    )
    digest = hmac.new(auth_token.encode(), signed.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def inbound_webhook_verify(
    *,
    provider: str,
    secret: str,
    params: Mapping[str, list[str]],
    urls: Iterable[str],
    signature: str,
) -> None:
    """Refuse (403) a webhook call without our shared secret in its URL, and for a
    signing provider without a valid signature. `urls` are the addresses the provider
    may have called us at (behind a proxy the one we see can differ from the one it
    signed)."""
    spec = provider_get(provider)
    forbidden = ApplicationError(
        InboundErrorCode.WEBHOOK_FORBIDDEN,
        _("This address takes SMS only from Samby's SMS provider."),
        kind=ErrorKind.FORBIDDEN,
    )
    expected = settings.SMS_INBOUND_SECRET
    # An unset secret refuses everything: compare_digest("", "") would let anyone in.
    if not expected or not hmac.compare_digest(secret.encode(), expected.encode()):
        raise forbidden
    if spec.signed:
        token = settings.SMS_API_PASSWORD
        # Without the auth token anyone could compute the signature of an empty key.
        if not token or not signature:
            raise forbidden
        computed = (
            twilio_signature(url=url, params=params, auth_token=token).encode() for url in urls
        )
        if not any(hmac.compare_digest(c, signature.encode()) for c in computed):
            raise forbidden


# --- Reading the answer -----------------------------------------------------------------------

_ANSWER_WORDS = {"ja": True, "yes": True, "nej": False, "no": False}
# "JA 4821", "ja4821", "Nej.", " yes, 4821!", "4821 JA": a word, a four-digit code or
# not, and nothing else but spaces and punctuation around them.
_WORD = r"(?P<word>ja|nej|yes|no)"
_CODE = r"(?P<code>[0-9]{4})"
_ANSWER = re.compile(rf"[\W_]*{_WORD}[\W_]*{_CODE}?[\W_]*", re.IGNORECASE)
_ANSWER_CODE_FIRST = re.compile(rf"[\W_]*{_CODE}[\W_]*{_WORD}[\W_]*", re.IGNORECASE)


@dataclass(frozen=True)
class Answer:
    accepted: bool
    code: str | None  # None for a bare JA / NEJ


def answer_parse(text: str) -> Answer | None:
    """JA/YES or NEJ/NO with the question's code or bare, in any case; None when the
    text is something else."""
    match = _ANSWER.fullmatch(text) or _ANSWER_CODE_FIRST.fullmatch(text)
    if match is None:
        return None
    return Answer(accepted=_ANSWER_WORDS[match["word"].lower()], code=match["code"])


# --- Receiving ----------------------------------------------------------------------------------


def inbound_sms_receive(*, provider: str, params: Mapping[str, list[str]]) -> InboundSms:
    """Store the SMS and act on it once: a provider that repeats the webhook (same
    message id) gets the stored message back and nothing happens again. The answer to
    the sender is sent after the transaction commits, straight through send_sms: it
    answers something they just wrote, so quiet hours and the daily cap do not apply."""
    spec = provider_get(provider)
    sender = _field(params, spec.sender)
    if not sender:
        raise ApplicationError(
            InboundErrorCode.MESSAGE_INVALID,
            _("The SMS has no sender."),
            fields={spec.sender: [_("This field is required.")]},
        )
    body = _field(params, spec.body)
    reference = _field(params, spec.reference)[:100]
    fields = {"sender": sender[:32], "body": body[:1600]}
    with transaction.atomic():
        if reference:
            sms, created = InboundSms.objects.get_or_create(
                provider=provider, provider_ref=reference, defaults=fields
            )
            if not created:
                logger.info("inbound SMS %s/%s repeated by the provider", provider, reference)
                return sms
        else:
            sms = InboundSms.objects.create(provider=provider, **fields)
        phone = normalize_phone(sender)
        outcome: str
        if phone is None:
            outcome, reply = Outcome.UNKNOWN_SENDER, ""
        else:
            with translation.override(_language_of(phone)):
                outcome, reply = _answer(phone=phone, body=body, now=timezone.now())
        sms.outcome, sms.reply = outcome[:60], reply[:400]
        sms.save(update_fields=["outcome", "reply"])
    logger.info("inbound SMS %s: %s", sms.pk, sms.outcome)
    if phone and reply:
        transaction.on_commit(lambda: _reply_send(inbound_id=sms.pk, to=phone, text=reply))
    return sms


def _field(params: Mapping[str, list[str]], name: str) -> str:
    values = params.get(name) or [""]
    return values[0].strip()


def _language_of(phone: str) -> str:
    """The language of whoever holds this phone: a person who logs in (the one who
    confirmed it first) before a managed profile sharing their number; Swedish for a
    number we do not know."""
    holder = (
        User.objects.filter(phone=phone)
        .order_by("is_managed", F("phone_confirmed_at").asc(nulls_last=True), "pk")
        .first()
    )
    return holder.preferred_language if holder else "sv"


def _answer(*, phone: str, body: str, now: datetime) -> tuple[str, str]:
    """The outcome and the text to answer with (in the active language)."""
    answer = answer_parse(body)
    if answer is None:
        return Outcome.NOT_UNDERSTOOD, str(HELP)
    # The code belongs to the phone it was sent to; for a managed profile that is their
    # proxy's phone, while the code's recipient stays the person it is about.
    open_codes = SmsReplyCode.objects.filter(phone=phone, answered_at__isnull=True)
    if answer.code is not None:
        code = open_codes.select_related("recipient").filter(code=answer.code).first()
        if code is None:
            if SmsReplyCode.objects.filter(
                phone=phone, code=answer.code, answered_at__isnull=False, expires_at__gt=now
            ).exists():
                return Outcome.ALREADY_ANSWERED, _already_answered(answer.code)
            return Outcome.UNKNOWN_CODE, _join(
                _("We have no question with the code %(code)s.") % {"code": answer.code}, HELP
            )
        if code.expires_at <= now:
            return Outcome.EXPIRED, _expired(code.code)
    else:
        current = list(open_codes.select_related("recipient").filter(expires_at__gt=now)[:2])
        if len(current) > 1:
            return Outcome.AMBIGUOUS, _join(_("You have more than one question to answer."), HELP)
        if not current:
            expired = open_codes.order_by("-expires_at").first()
            if expired is not None:
                return Outcome.EXPIRED, _expired(expired.code)
            return Outcome.NO_OPEN_CODE, _join(_("You have no question to answer."), HELP)
        code = current[0]
    return _act(code, accepted=answer.accepted, now=now)


def _act(code: SmsReplyCode, *, accepted: bool, now: datetime) -> tuple[str, str]:
    """Mark the code answered and run its action, together: an action that refuses
    (ApplicationError) undoes both, so the question stays open until it expires and can
    be answered once whatever stood in the way is sorted out."""
    try:
        with transaction.atomic():
            # Conditional, so two messages answering the same code act once: the second
            # waits on the row and then finds it answered.
            taken = SmsReplyCode.objects.filter(pk=code.pk, answered_at__isnull=True).update(
                answered_at=now, answer="yes" if accepted else "no"
            )
            if not taken:
                return Outcome.ALREADY_ANSWERED, _already_answered(code.code)
            action = REPLY_ACTIONS.get(code.action)
            if action is None:
                logger.error("SMS reply code %s names unknown action %r", code.pk, code.action)
                raise ApplicationError(
                    InboundErrorCode.REPLY_ACTION_UNKNOWN,
                    _("Your answer could not be recorded by SMS. Please answer in Samby."),
                )
            reply = action(
                ReplyContext(responder=code.recipient, object_id=code.object_id, accepted=accepted)
            )
    except ApplicationError as error:
        return f"refused:{error.code}", str(error.message)
    return (Outcome.ACCEPTED if accepted else Outcome.DECLINED), str(reply or "")


def _already_answered(code: str) -> str:
    return str(_("We already have your answer to %(code)s.") % {"code": code})


def _expired(code: str) -> str:
    return str(
        _("The time to answer %(code)s has run out, so your answer was not recorded.")
        % {"code": code}
    )


def _join(*sentences) -> str:
    return " ".join(str(s) for s in sentences)


def _reply_send(*, inbound_id: int, to: str, text: str) -> None:
    try:
        send_sms(to=to, text=text)
    except DeliveryError as error:
        # The provider will not repeat the webhook for our failure; the SMS and its
        # intended reply are stored for whoever looks into it.
        logger.warning("reply to inbound SMS %s not sent: %s", inbound_id, error)

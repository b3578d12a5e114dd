"""SMS answers ("JA 4821") through the real webhook URL: checked, stored once, routed to
the reply action that asked, and answered by SMS through the fake provider."""

from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from backend.errors import ApplicationError
from backend.notifications.inbound import HELP, answer_parse, twilio_signature
from backend.notifications.models import InboundSms, SmsReplyCode
from backend.notifications.replies import REPLY_ACTIONS, ReplyContext, reply_action
from backend.notifications.services import ReplyRequest, notify
from tests.factories import ManagedProfileFactory, UserFactory
from tests.fakes import sms_provider as fake

pytestmark = pytest.mark.django_db

SECRET = "webhook-secret-for-tests"
SAMBY_NUMBER = "+46766860000"
MESSAGE = {"association": "Äppelbo byalag", "text": "Kan du köra Greta till vårdcentralen?"}
HELP_EN = "Reply YES or NO followed by the code in the message, e.g. YES 4821."
FORBIDDEN = {
    "error": {
        "code": "sms_webhook_forbidden",
        "message": "This address takes SMS only from Samby's SMS provider.",
        "fields": {},
    }
}


@pytest.fixture
def provider(settings, sms_provider):
    """The fake provider takes our answers; the webhook wants SECRET."""
    settings.SMS_INBOUND_SECRET = SECRET
    return sms_provider


@pytest.fixture
def answers():
    """A reply action registered as a service would: records each answer."""
    calls: list[ReplyContext] = []

    @reply_action("test.accept")
    def record(context: ReplyContext) -> str:
        calls.append(context)
        return f"Noted: {'yes' if context.accepted else 'no'} to {context.object_id}."

    yield calls
    REPLY_ACTIONS.pop("test.accept", None)


@pytest.fixture
def refusing_action():
    @reply_action("test.refuse")
    def refuse(context: ReplyContext) -> str:
        raise ApplicationError("ride_taken", "Someone else has already taken the ride.")

    yield
    REPLY_ACTIONS.pop("test.refuse", None)


def ask(user, *, object_id: int = 42, action: str = "test.accept") -> SmsReplyCode:
    """Notify `user` with a JA/NEJ question; the code the SMS carries."""
    notification = notify(
        user, "association.message", MESSAGE, reply=ReplyRequest(action, object_id)
    )
    return SmsReplyCode.objects.get(notification=notification)


def post_elks(client, callbacks, *, sender: str, message: str, sms_id="s1", secret=SECRET):
    """POST the way 46elks calls the webhook for an incoming SMS; runs what the webhook
    leaves for after commit (sending our answer)."""
    form = {
        "direction": "incoming",
        "id": sms_id,
        "from": sender,
        "to": SAMBY_NUMBER,
        "created": "2025-03-04 09:15:02.123000",
        "message": message,
    }
    query = f"?{urlencode({'secret': secret})}" if secret is not None else ""
    with callbacks(execute=True):
        return client.post(
            reverse("sms-inbound", args=["elks"]) + query,
            urlencode(form),
            content_type="application/x-www-form-urlencoded",
            HTTP_ACCEPT_LANGUAGE="en",
        )


def twilio_form(*, sender: str, body: str, sid: str = "SM" + "a" * 32) -> dict[str, str]:
    return {
        "ToCountry": "SE",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "SmsSid": sid,
        "SmsStatus": "received",
        "Body": body,
        "FromCountry": "SE",
        "To": SAMBY_NUMBER,
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": fake.USERNAME,
        "From": sender,
        "ApiVersion": "2010-04-01",
    }


def post_twilio(client, callbacks, form: dict[str, str], *, signature: str | None):
    headers = {} if signature is None else {"HTTP_X_TWILIO_SIGNATURE": signature}
    with callbacks(execute=True):
        return client.post(
            twilio_path(),
            urlencode(form),
            content_type="application/x-www-form-urlencoded",
            HTTP_ACCEPT_LANGUAGE="en",
            **headers,
        )


def twilio_path() -> str:
    return reverse("sms-inbound", args=["twilio"]) + f"?secret={SECRET}"


def stored() -> list[tuple]:
    return list(
        InboundSms.objects.order_by("pk").values_list(
            "provider", "provider_ref", "sender", "body", "outcome", "reply"
        )
    )


def other_code(code: SmsReplyCode) -> str:
    return "1000" if code.code != "1000" else "1001"


# --- Reading the answer ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "accepted", "code"),
    [
        pytest.param("JA 4821", True, "4821", id="JA-code"),
        pytest.param("ja4821", True, "4821", id="ja-code-no-space"),
        pytest.param("Yes 4821", True, "4821", id="Yes-code"),
        pytest.param(" ja, 4821! ", True, "4821", id="punctuation-and-spaces"),
        pytest.param("4821 JA", True, "4821", id="code-first"),
        pytest.param("NEJ 4821", False, "4821", id="NEJ-code"),
        pytest.param("no 4821", False, "4821", id="no-code"),
        pytest.param("Nej.4821", False, "4821", id="Nej-dot-code"),
        pytest.param("JA", True, None, id="bare-JA"),
        pytest.param("nej!", False, None, id="bare-nej"),
        pytest.param("No", False, None, id="bare-No"),
    ],
)
def test_answers_are_read_in_swedish_and_english(text, accepted, code):
    parsed = answer_parse(text)
    assert parsed is not None
    assert (parsed.accepted, parsed.code) == (accepted, code)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("Hej, när kommer bilen?", id="a-question"),
        pytest.param("JA 482", id="three-digits"),
        pytest.param("JA 48211", id="five-digits"),
        pytest.param("Jaha 4821", id="another-word"),
        pytest.param("JA 4821 NEJ", id="both"),
        pytest.param("4821", id="code-alone"),
    ],
)
def test_anything_else_is_not_an_answer(text):
    assert answer_parse(text) is None


# --- Answering through the webhook ------------------------------------------------------------


def test_ja_with_the_code_runs_the_action_once_and_answers_by_sms(
    client, provider, answers, django_capture_on_commit_callbacks
):
    anna = UserFactory(contact_by_sms=True)
    code = ask(anna)

    response = post_elks(
        client, django_capture_on_commit_callbacks, sender=anna.phone, message=f"JA {code.code}"
    )

    assert (response.status_code, response.content) == (200, b"")
    assert answers == [ReplyContext(responder=anna, object_id=42, accepted=True)]
    [reply] = provider.accepted
    assert (reply.path, reply.form) == (
        fake.ELKS_PATH,
        {"from": SAMBY_NUMBER, "to": anna.phone, "message": "Noted: yes to 42."},
    )
    assert stored() == [
        ("elks", "s1", anna.phone, f"JA {code.code}", "accepted", "Noted: yes to 42.")
    ]
    code.refresh_from_db()
    assert code.answer == "yes"
    assert code.answered_at is not None

    # The provider delivers the same webhook again: nothing happens twice.
    again = post_elks(
        client, django_capture_on_commit_callbacks, sender=anna.phone, message=f"JA {code.code}"
    )

    assert (again.status_code, again.content) == (200, b"")
    assert len(answers) == 1
    assert len(provider.requests) == 1
    assert InboundSms.objects.count() == 1


@pytest.mark.parametrize(
    ("template", "accepted", "outcome", "reply"),
    [
        pytest.param("JA {}", True, "accepted", "Noted: yes to 42.", id="JA-code"),
        pytest.param("ja{}", True, "accepted", "Noted: yes to 42.", id="ja-code-no-space"),
        pytest.param("Yes {}", True, "accepted", "Noted: yes to 42.", id="Yes-code"),
        pytest.param("NEJ {}", False, "declined", "Noted: no to 42.", id="NEJ-code"),
        pytest.param("no {}", False, "declined", "Noted: no to 42.", id="no-code"),
        pytest.param("ja", True, "accepted", "Noted: yes to 42.", id="bare-ja-one-question"),
        pytest.param("Nej!", False, "declined", "Noted: no to 42.", id="bare-nej-one-question"),
    ],
)
def test_an_answer_reaches_the_action(
    client,
    provider,
    answers,
    django_capture_on_commit_callbacks,
    template,
    accepted,
    outcome,
    reply,
):
    anna = UserFactory(contact_by_sms=True)
    code = ask(anna)
    text = template.format(code.code)

    post_elks(client, django_capture_on_commit_callbacks, sender=anna.phone, message=text)

    assert answers == [ReplyContext(responder=anna, object_id=42, accepted=accepted)]
    assert [r.form["message"] for r in provider.accepted] == [reply]
    assert stored() == [("elks", "s1", anna.phone, text, outcome, reply)]
    code.refresh_from_db()
    assert code.answer == ("yes" if accepted else "no")


def test_the_sender_is_matched_whatever_way_the_provider_writes_the_number(
    client, provider, answers, django_capture_on_commit_callbacks
):
    anna = UserFactory(contact_by_sms=True, phone="+46701740620")
    code = ask(anna)

    post_elks(
        client, django_capture_on_commit_callbacks, sender="0701-74 06 20", message=code.code + "ja"
    )

    assert answers == [ReplyContext(responder=anna, object_id=42, accepted=True)]
    assert provider.accepted[0].form["to"] == "+46701740620"


def test_a_bare_ja_with_two_open_questions_asks_for_the_code(
    client, provider, answers, django_capture_on_commit_callbacks
):
    anna = UserFactory(contact_by_sms=True, preferred_language="en")
    first, second = ask(anna, object_id=1), ask(anna, object_id=2)

    post_elks(client, django_capture_on_commit_callbacks, sender=anna.phone, message="ja")

    text = f"You have more than one question to answer. {HELP_EN}"
    assert answers == []
    assert [r.form for r in provider.accepted] == [
        {"from": SAMBY_NUMBER, "to": anna.phone, "message": text}
    ]
    assert stored() == [("elks", "s1", anna.phone, "ja", "ambiguous", text)]
    assert SmsReplyCode.objects.filter(pk__in=[first.pk, second.pk], answered_at=None).count() == 2


@pytest.mark.parametrize(
    ("text", "outcome", "reply"),
    [
        pytest.param("Hej, när kommer bilen?", "not_understood", HELP_EN, id="not-an-answer"),
        pytest.param("JA 12", "not_understood", HELP_EN, id="short-code"),
        pytest.param("", "not_understood", HELP_EN, id="empty"),
        pytest.param(
            "ja", "no_open_code", f"You have no question to answer. {HELP_EN}", id="bare-ja"
        ),
    ],
)
def test_what_is_not_understood_gets_help_in_the_senders_language(
    client, provider, answers, django_capture_on_commit_callbacks, text, outcome, reply
):
    anna = UserFactory(contact_by_sms=True, preferred_language="en")

    post_elks(client, django_capture_on_commit_callbacks, sender=anna.phone, message=text)

    assert answers == []
    assert [r.form for r in provider.accepted] == [
        {"from": SAMBY_NUMBER, "to": anna.phone, "message": reply}
    ]
    assert stored() == [("elks", "s1", anna.phone, text, outcome, reply)]


def test_a_stranger_gets_help_in_swedish(
    client, provider, answers, django_capture_on_commit_callbacks
):
    post_elks(client, django_capture_on_commit_callbacks, sender="+46731234567", message="Hallå?")

    with translation.override("sv"):
        swedish = str(HELP)
    assert [r.form["message"] for r in provider.accepted] == [swedish]
    assert stored() == [("elks", "s1", "+46731234567", "Hallå?", "not_understood", swedish)]


def test_a_code_we_never_sent_gets_help(
    client, provider, answers, django_capture_on_commit_callbacks
):
    anna = UserFactory(contact_by_sms=True, preferred_language="en")
    code = ask(anna)
    wrong = other_code(code)

    post_elks(client, django_capture_on_commit_callbacks, sender=anna.phone, message=f"JA {wrong}")

    text = f"We have no question with the code {wrong}. {HELP_EN}"
    assert answers == []
    assert [r.form["message"] for r in provider.accepted] == [text]
    assert stored() == [("elks", "s1", anna.phone, f"JA {wrong}", "unknown_code", text)]
    code.refresh_from_db()
    assert code.answered_at is None


@pytest.mark.parametrize(
    "template", [pytest.param("JA {}", id="with-code"), pytest.param("ja", id="bare")]
)
def test_an_expired_code_is_not_acted_on(
    client, provider, answers, django_capture_on_commit_callbacks, template
):
    anna = UserFactory(contact_by_sms=True, preferred_language="en")
    code = ask(anna)
    SmsReplyCode.objects.filter(pk=code.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    text = template.format(code.code)

    post_elks(client, django_capture_on_commit_callbacks, sender=anna.phone, message=text)

    reply = f"The time to answer {code.code} has run out, so your answer was not recorded."
    assert answers == []
    assert [r.form["message"] for r in provider.accepted] == [reply]
    assert stored() == [("elks", "s1", anna.phone, text, "expired", reply)]
    code.refresh_from_db()
    assert (code.answered_at, code.answer) == (None, "")


def test_a_second_sms_answering_the_same_code_is_not_acted_on(
    client, provider, answers, django_capture_on_commit_callbacks
):
    anna = UserFactory(contact_by_sms=True, preferred_language="en")
    code = ask(anna)

    post_elks(
        client, django_capture_on_commit_callbacks, sender=anna.phone, message=f"JA {code.code}"
    )
    post_elks(
        client,
        django_capture_on_commit_callbacks,
        sender=anna.phone,
        message=f"NEJ {code.code}",
        sms_id="s2",
    )

    assert answers == [ReplyContext(responder=anna, object_id=42, accepted=True)]
    already = f"We already have your answer to {code.code}."
    assert [r.form["message"] for r in provider.accepted] == ["Noted: yes to 42.", already]
    assert [row[4:] for row in stored()] == [
        ("accepted", "Noted: yes to 42."),
        ("already_answered", already),
    ]


def test_a_proxy_answers_for_the_managed_profile_the_question_was_about(
    client, provider, answers, django_capture_on_commit_callbacks
):
    daughter = UserFactory(phone="+46701740620", preferred_language="en")
    greta = ManagedProfileFactory(phone="")
    greta.proxy_links.create(
        proxy=daughter, receives_sms_for_resident=True, accepted_at=timezone.now()
    )
    code = ask(greta, object_id=7)
    assert (code.phone, code.recipient) == ("+46701740620", greta)

    post_elks(
        client, django_capture_on_commit_callbacks, sender=daughter.phone, message=f"ja {code.code}"
    )

    assert answers == [ReplyContext(responder=greta, object_id=7, accepted=True)]
    assert [r.form["to"] for r in provider.accepted] == ["+46701740620"]


def test_an_action_that_refuses_answers_with_its_message_and_leaves_the_question_open(
    client, provider, refusing_action, django_capture_on_commit_callbacks
):
    anna = UserFactory(contact_by_sms=True)
    code = ask(anna, action="test.refuse")

    post_elks(
        client, django_capture_on_commit_callbacks, sender=anna.phone, message=f"JA {code.code}"
    )

    refusal = "Someone else has already taken the ride."
    assert [r.form["message"] for r in provider.accepted] == [refusal]
    assert stored() == [
        ("elks", "s1", anna.phone, f"JA {code.code}", "refused:ride_taken", refusal)
    ]
    code.refresh_from_db()
    assert (code.answered_at, code.answer) == (None, "")


def test_a_code_for_an_action_nobody_registered_is_answered_politely(
    client, provider, django_capture_on_commit_callbacks
):
    anna = UserFactory(contact_by_sms=True, preferred_language="en")
    code = ask(anna, action="test.nobody")

    post_elks(
        client, django_capture_on_commit_callbacks, sender=anna.phone, message=f"JA {code.code}"
    )

    text = "Your answer could not be recorded by SMS. Please answer in Samby."
    assert [r.form["message"] for r in provider.accepted] == [text]
    assert [row[4:] for row in stored()] == [("refused:reply_action_unknown", text)]
    code.refresh_from_db()
    assert code.answered_at is None


def test_an_sms_from_a_name_instead_of_a_number_is_stored_and_not_answered(
    client, provider, answers, django_capture_on_commit_callbacks
):
    response = post_elks(
        client, django_capture_on_commit_callbacks, sender="Apoteket", message="JA 4821"
    )

    assert response.status_code == 200
    assert provider.requests == []
    assert stored() == [("elks", "s1", "Apoteket", "JA 4821", "unknown_sender", "")]


# --- Only the provider may call the webhook -------------------------------------------------------


@pytest.mark.parametrize(
    ("configured", "sent"),
    [
        pytest.param(SECRET, None, id="no-secret"),
        pytest.param(SECRET, "guess", id="wrong-secret"),
        pytest.param(SECRET, SECRET.upper(), id="secret-in-other-case"),
        pytest.param("", "", id="no-secret-configured"),
    ],
)
def test_a_call_without_the_secret_is_refused_and_changes_nothing(
    settings, client, provider, answers, django_capture_on_commit_callbacks, configured, sent
):
    settings.SMS_INBOUND_SECRET = configured
    anna = UserFactory(contact_by_sms=True)
    code = ask(anna)

    response = post_elks(
        client,
        django_capture_on_commit_callbacks,
        sender=anna.phone,
        message=f"JA {code.code}",
        secret=sent,
    )

    assert (response.status_code, response.json()) == (403, FORBIDDEN)
    assert not InboundSms.objects.exists()
    assert answers == []
    assert provider.requests == []
    code.refresh_from_db()
    assert code.answered_at is None


def test_an_sms_without_a_sender_is_refused_and_not_stored(
    client, provider, answers, django_capture_on_commit_callbacks
):
    response = post_elks(client, django_capture_on_commit_callbacks, sender="", message="JA")

    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "sms_inbound_invalid",
            "message": "The SMS has no sender.",
            "fields": {"from": ["This field is required."]},
        }
    }
    assert not InboundSms.objects.exists()
    assert provider.requests == []


def test_an_unknown_provider_is_not_found(client, provider):
    response = client.post(
        reverse("sms-inbound", args=["carrier-pigeon"]) + f"?secret={SECRET}",
        urlencode({"from": "+46701740620", "message": "JA"}),
        content_type="application/x-www-form-urlencoded",
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert (response.status_code, response.json()["error"]["code"]) == (
        404,
        "sms_provider_unknown",
    )
    assert not InboundSms.objects.exists()


def test_twilio_signature_matches_twilios_documented_example():
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+12349013030",
        "Digits": "1234",
        "From": "+12349013030",
        "To": "+18005551212",
    }
    listed = {name: [value] for name, value in params.items()}
    assert twilio_signature(url=url, params=listed, auth_token="12345") == (
        "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    )
    assert fake.twilio_signature(url, params, "12345") == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


@pytest.mark.parametrize(
    "signed_url",
    [
        pytest.param("http://testserver", id="as-the-request-arrived"),
        pytest.param("https://samby.example.se", id="at-SITE_URL-behind-a-proxy"),
    ],
)
def test_a_signed_twilio_sms_is_answered_through_twilio(
    settings, client, provider, answers, django_capture_on_commit_callbacks, signed_url
):
    settings.SMS_BACKEND = "twilio"
    settings.SITE_URL = "https://samby.example.se"
    anna = UserFactory(contact_by_sms=True)
    code = ask(anna)
    form = twilio_form(sender=anna.phone, body=f"Ja {code.code}")
    signature = fake.twilio_signature(signed_url + twilio_path(), form, fake.PASSWORD)

    response = post_twilio(client, django_capture_on_commit_callbacks, form, signature=signature)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/xml"
    assert response.content == b'<?xml version="1.0" encoding="UTF-8"?><Response/>'
    assert answers == [ReplyContext(responder=anna, object_id=42, accepted=True)]
    [reply] = provider.accepted
    assert (reply.path, reply.form) == (
        provider.twilio_path,
        {"From": SAMBY_NUMBER, "To": anna.phone, "Body": "Noted: yes to 42."},
    )
    assert stored() == [
        ("twilio", "SM" + "a" * 32, anna.phone, f"Ja {code.code}", "accepted", "Noted: yes to 42.")
    ]


URL = "http://testserver"


def signed_then_changed(form: dict) -> str | None:
    changed = {**form, "Body": form["Body"].replace("JA", "NEJ")}
    return fake.twilio_signature(URL + twilio_path(), changed, fake.PASSWORD)


@pytest.mark.parametrize(
    "sign",
    [
        pytest.param(lambda form: None, id="unsigned"),
        pytest.param(lambda form: "", id="empty"),
        pytest.param(lambda form: "0/KCTR6DLpKmkAf8muzZqo1nDgQ=", id="someone-elses"),
        pytest.param(signed_then_changed, id="signed-then-changed"),
        pytest.param(
            lambda form: fake.twilio_signature(URL + twilio_path(), form, "another-token"),
            id="signed-with-another-token",
        ),
        pytest.param(
            lambda form: fake.twilio_signature(
                "https://elsewhere.example" + twilio_path(), form, fake.PASSWORD
            ),
            id="signed-for-another-url",
        ),
    ],
)
def test_a_twilio_sms_without_a_valid_signature_is_refused_and_changes_nothing(
    settings, client, provider, answers, django_capture_on_commit_callbacks, sign
):
    settings.SMS_BACKEND = "twilio"
    anna = UserFactory(contact_by_sms=True)
    code = ask(anna)
    form = twilio_form(sender=anna.phone, body=f"JA {code.code}")

    response = post_twilio(client, django_capture_on_commit_callbacks, form, signature=sign(form))

    assert (response.status_code, response.json()) == (403, FORBIDDEN)
    assert not InboundSms.objects.exists()
    assert answers == []
    assert provider.requests == []
    code.refresh_from_db()
    assert code.answered_at is None

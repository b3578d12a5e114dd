"""One rule for a new number and a new address, on the API and the web pages alike: a
code is texted to the number and a link mailed to the address (real SMTP and SMS fakes on
loopback); what did not go is returned, never raised, since the change stands."""

import pytest
from django.utils import timezone

from backend.accounts.contact_confirmations import contact_confirmations_send
from backend.accounts.models import LoginCode
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def lena():
    return UserFactory(
        full_name="Lena Eriksson",
        phone="+46701740660",
        phone_confirmed_at=None,
        email="lena@example.se",
        email_confirmed_at=None,
    )


def test_a_new_number_and_address_get_a_code_and_a_link(lena, sms_provider, smtp_server):
    sent = contact_confirmations_send(
        user=lena, phone_is_new=True, email_is_new=True, client_ip="203.0.113.7"
    )

    assert sent.phone_to_confirm
    assert sent.link_emailed_to == "lena@example.se"
    assert sent.failures == []
    assert [sms.form["to"] for sms in sms_provider.accepted] == ["+46701740660"]
    assert [rcpt for rcpt, _message in smtp_server.messages] == [["lena@example.se"]]
    assert LoginCode.objects.filter(user=lena, used_at__isnull=True).count() == 1


def test_what_is_not_new_gets_nothing(lena, sms_provider, smtp_server):
    sent = contact_confirmations_send(user=lena, phone_is_new=False, email_is_new=False)

    assert (sent.phone_to_confirm, sent.link_emailed_to, sent.failures) == (False, "", [])
    assert sms_provider.requests == []
    assert smtp_server.messages == []


@pytest.mark.parametrize(
    "person",
    [
        {"phone": "", "email": ""},
        {"phone": "", "email": "lena@example.se", "email_confirmed_at": timezone.now},
    ],
    ids=["emptied", "an-address-confirmed-already"],
)
def test_an_emptied_detail_or_a_confirmed_address_gets_nothing(sms_provider, smtp_server, person):
    values = {key: value() if callable(value) else value for key, value in person.items()}
    user = UserFactory(**values) if values["email"] else UserFactory.build(**values)

    sent = contact_confirmations_send(user=user, phone_is_new=True, email_is_new=True)

    assert (sent.phone_to_confirm, sent.link_emailed_to, sent.failures) == (False, "", [])
    assert sms_provider.requests == []
    assert smtp_server.messages == []


def test_failures_are_returned_and_the_other_still_goes(lena, sms_provider, smtp_server):
    sms_provider.answer_next(503, times=1)

    sent = contact_confirmations_send(user=lena, phone_is_new=True, email_is_new=True)

    assert sent.phone_to_confirm  # the number still waits for a code: a new one may be asked
    assert sent.code_error is not None
    assert sent.code_error.code == "login_code_not_sent"
    assert sent.link_error is None
    assert sent.link_emailed_to == "lena@example.se"
    assert sent.failures == [sent.code_error]
    assert not LoginCode.objects.filter(user=lena).exists()


def test_a_link_refused_by_its_limit_is_returned_as_such(lena, smtp_server, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "email_link": "1/hour",
        },
    }
    first = contact_confirmations_send(user=lena, phone_is_new=False, email_is_new=True)
    second = contact_confirmations_send(user=lena, phone_is_new=False, email_is_new=True)

    assert (first.link_emailed_to, first.failures) == ("lena@example.se", [])
    assert second.link_emailed_to == ""
    assert [error.code for error in second.failures] == ["email_link_rate_limited"]
    assert len(smtp_server.messages) == 1

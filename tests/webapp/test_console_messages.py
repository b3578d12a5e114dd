"""The console's messages to every member: a coordinator writes one, the members are
notified after the commit, and the page says what became of each (on its way,
delivered, or given up after twelve hours). Bad input stores nothing; only the
association's coordinators see or send its messages."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from backend.community.models import AssociationMessage
from backend.notifications.models import Notification
from tests.factories import AssociationFactory, MembershipFactory, UserFactory, coordinator_of

pytestmark = pytest.mark.django_db

URL = "/console/messages/"
TEXT = "Handlarskjutsen är inställd i dag på grund av snön."


@pytest.fixture
def association():
    return AssociationFactory(name="Äppelbo byalag")


@pytest.fixture
def members(association):
    return [
        MembershipFactory(association=association, user=UserFactory(contact_by_sms=False)).user
        for _ in range(3)
    ]


def client_of(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.cookies["django_language"] = "en"
    client.force_login(user)
    return client


def test_a_message_goes_to_every_member_and_the_page_follows_it(
    association, members, settings, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.CELERY_TASK_EAGER_PROPAGATES = True
    coordinator = coordinator_of(association)
    client = client_of(coordinator)
    assert "Send to all members" in client.get(URL).content.decode()

    with django_capture_on_commit_callbacks() as queued:
        response = client.post(
            URL, {"association": association.pk, "text": f"  {TEXT} ", "urgent": "on"}
        )

    assert response.status_code == 302
    message = AssociationMessage.objects.get()
    assert (message.text, message.urgent, message.sender, message.recipients) == (
        TEXT,
        True,
        coordinator,
        3,
    )
    page = client.get(response.url).content.decode()
    assert "Sent to 3 members" in page
    assert "On its way to 3 members." in page

    for callback in queued:
        callback()

    assert sorted(Notification.objects.values_list("recipient_id", flat=True)) == sorted(
        m.pk for m in members
    )
    assert "Delivered to 3 members at" in client.get(URL).content.decode()


def test_a_message_given_up_after_twelve_hours_is_shown_as_not_delivered(association, members):
    coordinator = coordinator_of(association)
    AssociationMessage.objects.create(
        association=association,
        sender=coordinator,
        text="Kaffe i bygdegården",
        sent_at=timezone.now() - timedelta(hours=13),
        recipients=3,
    )
    page = client_of(coordinator).get(URL).content.decode()
    assert "Kaffe i bygdegården" in page
    assert "Not delivered: it could not be sent within twelve hours" in page


@pytest.mark.parametrize(
    "body",
    [{}, {"text": ""}, {"text": "   "}, {"text": "x" * 601}],
    ids=["nothing", "empty", "blank", "too-long"],
)
def test_bad_input_is_a_400_that_says_what_to_do_and_stores_nothing(association, members, body):
    response = client_of(coordinator_of(association)).post(URL, body)
    assert response.status_code == 400
    assert 'aria-invalid="true"' in response.content.decode()
    assert not AssociationMessage.objects.exists()
    assert not Notification.objects.exists()


def test_a_member_who_is_not_a_coordinator_is_refused(association, members):
    client = client_of(members[0])
    assert client.get(URL).status_code == 403
    assert client.post(URL, {"association": association.pk, "text": TEXT}).status_code == 403
    assert not AssociationMessage.objects.exists()


def test_another_associations_coordinator_neither_sees_nor_sends_its_messages(association, members):
    AssociationMessage.objects.create(
        association=association, sender=None, text="Bara för Äppelbo", recipients=3
    )
    elsewhere = AssociationFactory(name="Björkbo byalag")
    other = coordinator_of(elsewhere)
    client = client_of(other)

    page = client.get(f"{URL}?association={association.pk}").content.decode()
    assert "Bara för Äppelbo" not in page
    assert "Björkbo byalag" in page  # their own association's console instead
    client.post(URL, {"association": association.pk, "text": TEXT})
    assert AssociationMessage.objects.get(text=TEXT).association == elsewhere


def test_the_page_tells_how_each_channel_went_and_whom_to_call(
    association, settings, sms_provider, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.CELERY_TASK_EAGER_PROPAGATES = True
    by_sms = [
        MembershipFactory(
            association=association, user=UserFactory(full_name=name, contact_by_sms=True)
        ).user
        for name in ("Astrid Berg", "Bo Ek")
    ]
    unconfirmed = MembershipFactory(
        association=association,
        user=UserFactory(full_name="Cilla Dahl", contact_by_sms=True, phone_confirmed_at=None),
    ).user
    in_app_only = MembershipFactory(
        association=association, user=UserFactory(contact_by_sms=False)
    ).user
    coordinator = coordinator_of(association)
    client = client_of(coordinator)
    sms_provider.answer_next(400, body='{"message": "invalid number"}')  # the first SMS

    with django_capture_on_commit_callbacks(execute=True):
        client.post(URL, {"association": association.pk, "text": TEXT, "urgent": "on"})

    assert len(sms_provider.accepted) == 1
    refused = min(by_sms, key=lambda person: person.pk)  # texted first
    Notification.objects.filter(recipient=in_app_only).update(read_at=timezone.now())
    page = client.get(URL).content.decode()
    assert "Delivered to 4 members at" in page
    assert "Read in the app by 1." in page
    assert "SMS: 1 sent, 1 failed, 1 not sent" in page  # not sent: the unconfirmed number
    assert f"{refused.full_name} (SMS)" in page
    assert unconfirmed.full_name not in page
    client.cookies["django_language"] = "sv"
    swedish = client.get(URL, HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    assert "sms: 1 skickade, 1 misslyckades, 1 skickades inte" in swedish
    assert "Läst i appen av 1." in swedish

    api = APIClient()
    api.force_authenticate(coordinator)
    (listed,) = api.get(f"/api/v1/associations/{association.pk}/messages").json()
    assert listed["read"] == 1
    assert listed["by_channel"] == {"sms": {"sent": 1, "failed": 1, "skipped": 1}}
    assert listed["failed"] == [{"full_name": refused.full_name, "channel": "sms"}]


def test_older_messages_are_a_page_further(association, members):
    coordinator = coordinator_of(association)
    now = timezone.now()
    AssociationMessage.objects.bulk_create(
        AssociationMessage(
            association=association,
            sender=coordinator,
            text=f"Meddelande nummer {n}",
            sent_at=now - timedelta(minutes=n),
            recipients=3,
        )
        for n in range(1, 23)
    )
    client = client_of(coordinator)
    first = client.get(f"{URL}?association={association.pk}").content.decode()
    assert "Meddelande nummer 1<" in first and "Meddelande nummer 20<" in first
    assert "Meddelande nummer 21<" not in first
    assert f"?association={association.pk}&amp;page=2" in first
    second = client.get(f"{URL}?association={association.pk}&page=2").content.decode()
    assert "Meddelande nummer 22<" in second and "Meddelande nummer 1<" not in second
    assert client.get(f"{URL}?association={association.pk}&page=zzz").status_code == 200

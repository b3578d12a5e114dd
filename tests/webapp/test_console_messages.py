"""The console's messages to every member: a coordinator writes one, the members are
notified after the commit, and the page says what became of each (on its way,
delivered, or given up after twelve hours). Bad input stores nothing; only the
association's coordinators see or send its messages."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

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

import pytest
from django.urls import reverse

from backend.notifications.models import Notification, NotificationPreference, QuietHours
from backend.notifications.services import notify
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
MESSAGE = {"association": "Äppelbo byalag", "text": "Hej"}


def test_inbox_lists_my_notifications_newest_first_with_unread_count(
    api_as, django_assert_max_num_queries
):
    anna, bo = UserFactory(preferred_language="sv"), UserFactory()
    first = notify(anna, "association.message", {**MESSAGE, "text": "ett"})
    second = notify(anna, "membership.approved", {"association": "Äppelbo byalag"})
    notify(bo, "association.message", MESSAGE)
    with django_assert_max_num_queries(4):
        response = api_as(anna).get(reverse("notification-list"), HTTP_ACCEPT_LANGUAGE="sv")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert body["unread_count"] == 2
    assert [n["id"] for n in body["results"]] == [second.pk, first.pk]
    assert body["results"][0]["title"] == "Välkommen till Äppelbo byalag"
    assert body["results"][1]["body"] == "ett"


def test_mark_read_and_unread_count(api_as):
    anna = UserFactory()
    ids = [notify(anna, "association.message", MESSAGE).pk for _ in range(3)]
    client = api_as(anna)
    response = client.post(reverse("notification-read"), {"ids": [ids[0]]}, format="json")
    assert response.json() == {"marked": 1, "unread_count": 2}
    response = client.post(reverse("notification-read"), {}, format="json")
    assert response.json() == {"marked": 2, "unread_count": 0}


def test_marking_more_ids_than_a_form_may_carry_is_a_json_400_and_marks_nothing(api_as, settings):
    """A form with more fields than DATA_UPLOAD_MAX_NUMBER_FIELDS is refused by Django
    before the view: the app answers in the API's error shape, not with an HTML page."""
    anna = UserFactory()
    mine = notify(anna, "association.message", MESSAGE)
    ids = [mine.pk, *range(10**6, 10**6 + settings.DATA_UPLOAD_MAX_NUMBER_FIELDS)]

    response = api_as(anna).post(
        reverse("notification-read"), {"ids": ids}, format="multipart", HTTP_ACCEPT_LANGUAGE="en"
    )

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "error": {
            "code": "bad_request",
            "message": "The request is too large or has too many fields. Send fewer at a time.",
            "fields": {},
        }
    }
    mine.refresh_from_db()
    assert mine.read_at is None


def test_cannot_mark_someone_elses_notification(api_as):
    anna, bo = UserFactory(), UserFactory()
    theirs = notify(bo, "association.message", MESSAGE)
    response = api_as(anna).post(reverse("notification-read"), {"ids": [theirs.pk]}, format="json")
    assert response.json()["marked"] == 0
    theirs.refresh_from_db()
    assert theirs.read_at is None


@pytest.mark.parametrize(
    "body",
    [{"ids": "all"}, {"ids": [0]}, {"up_to": "yesterday"}, {"ids": [None]}],
    ids=["ids-not-a-list", "id-zero", "up-to-not-a-number", "null-id"],
)
def test_mark_read_bad_input_is_400_and_changes_nothing(api_as, body):
    anna = UserFactory()
    notify(anna, "association.message", MESSAGE)
    response = api_as(anna).post(reverse("notification-read"), body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert Notification.objects.filter(read_at__isnull=True).count() == 1


def test_inbox_needs_login(api):
    response = api.get(reverse("notification-list"))
    assert response.status_code in (401, 403)
    assert "error" in response.json()


def test_preferences_show_every_kind_and_change_channels_and_quiet_hours(api_as):
    anna = UserFactory(contact_by_sms=True, contact_by_push=False, preferred_language="en")
    client = api_as(anna)
    before = client.get(reverse("notification-preferences"), HTTP_ACCEPT_LANGUAGE="en").json()
    message = next(k for k in before["kinds"] if k["kind"] == "association.message")
    assert message["channels"] == ["live", "sms"]
    assert message["customised"] is False
    assert before["quiet_hours"] == {"start": "21:00", "end": "08:00"}

    response = client.put(
        reverse("notification-preferences"),
        {
            "kinds": [{"kind": "association.message", "channels": ["email", "sms"]}],
            "quiet_hours": {"start": "22:00", "end": "07:00"},
        },
        format="json",
    )
    assert response.status_code == 200
    after = next(k for k in response.json()["kinds"] if k["kind"] == "association.message")
    assert (after["channels"], after["customised"]) == (["email", "live", "sms"], True)
    assert response.json()["quiet_hours"] == {"start": "22:00", "end": "07:00"}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"kinds": [{"kind": "ride.teleported", "channels": ["sms"]}]}, "unknown_kind"),
        ({"kinds": [{"kind": "association.message", "channels": ["pigeon"]}]}, "invalid"),
        ({"kinds": [{"kind": "membership.approved", "channels": ["sms"]}]}, "channel_not_allowed"),
        ({"quiet_hours": {"start": "22:00", "end": "22:00"}}, "quiet_hours_empty"),
        ({"quiet_hours": {"start": "late", "end": "07:00"}}, "invalid"),
        (
            {
                "kinds": [{"kind": "association.message", "channels": ["sms"]}],
                "quiet_hours": {"start": "08:00", "end": "08:00"},
            },
            "quiet_hours_empty",
        ),
    ],
    ids=[
        "unknown-kind",
        "unknown-channel",
        "channel-the-kind-never-uses",
        "empty-quiet-hours",
        "bad-time",
        "half-valid",
    ],
)
def test_bad_preferences_are_400_and_write_nothing(api_as, body, code):
    anna = UserFactory()
    response = api_as(anna).put(reverse("notification-preferences"), body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert not NotificationPreference.objects.exists()
    assert not QuietHours.objects.exists()


def test_coordinator_messages_every_active_member(
    api_as, settings, django_capture_on_commit_callbacks
):
    from backend.community.models import AssociationMessage, MembershipState
    from tests.factories import AssociationFactory, MembershipFactory, coordinator_of

    settings.CELERY_TASK_ALWAYS_EAGER = True
    association = AssociationFactory(name="Äppelbo byalag")
    coordinator = coordinator_of(association)
    members = [MembershipFactory(association=association).user for _ in range(3)]
    pending = MembershipFactory(association=association, state=MembershipState.PENDING).user
    with django_capture_on_commit_callbacks() as queued:
        response = api_as(coordinator).post(
            reverse("association-message", args=[association.pk]),
            {"text": "Handlarskjutsen är inställd i dag på grund av snön."},
            format="json",
        )
    message = AssociationMessage.objects.get()
    assert (response.status_code, response.json()) == (202, {"id": message.pk, "sent_to": 3})
    # Answered before anyone is notified: the delivery is a task queued on commit.
    assert not Notification.objects.exists()
    for callback in queued:
        callback()
    assert sorted(Notification.objects.values_list("recipient_id", flat=True)) == sorted(
        m.pk for m in members
    )
    assert not pending.notifications.exists()


@pytest.mark.parametrize(
    ("who", "body", "status", "code"),
    [
        ("member", {"text": "Hej"}, 403, "not_coordinator"),
        ("coordinator", {"text": "   "}, 400, "invalid"),
        ("coordinator", {}, 400, "invalid"),
        ("coordinator", {"text": "x" * 601}, 400, "invalid"),
        ("coordinator", {"text": "Hej", "urgent": "kanske"}, 400, "invalid"),
        ("coordinator", {"text": ["Hej"]}, 400, "invalid"),
    ],
    ids=["member-cannot", "blank", "missing", "too-long", "urgent-not-a-yes-or-no", "text-a-list"],
)
def test_association_message_refusals_send_nothing(api_as, who, body, status, code):
    from backend.community.models import AssociationMessage
    from tests.factories import AssociationFactory, MembershipFactory, coordinator_of

    association = AssociationFactory()
    coordinator = coordinator_of(association)
    member = MembershipFactory(association=association).user
    actor = coordinator if who == "coordinator" else member
    response = api_as(actor).post(
        reverse("association-message", args=[association.pk]), body, format="json"
    )
    assert (response.status_code, response.json()["error"]["code"]) == (status, code)
    assert response.json()["error"]["message"]
    assert not Notification.objects.exists()
    assert not AssociationMessage.objects.exists()


def test_coordinators_read_the_latest_messages_and_others_read_none(
    api_as, django_assert_num_queries
):
    from backend.community.services import association_message_deliver, association_message_send
    from tests.factories import AssociationFactory, MembershipFactory, coordinator_of

    association = AssociationFactory(name="Äppelbo byalag")
    coordinator, other_coordinator = coordinator_of(association), coordinator_of(association)
    member = MembershipFactory(association=association).user
    elsewhere = coordinator_of(AssociationFactory())
    first, second = (
        association_message_send(actor=coordinator, association=association, text=text, urgent=u)
        for text, u in (("Skjutsen går som vanligt.", False), ("Inställt i dag!", True))
    )
    association_message_deliver(message_id=first.pk)
    url = reverse("association-message", args=[association.pk])

    # The association, coordinator?, the messages, and the delivered one's reach (2).
    with django_assert_num_queries(5):
        response = api_as(other_coordinator).get(url)
    assert response.status_code == 200
    rows = response.json()
    assert [(r["id"], r["text"], r["urgent"], r["sent_to"]) for r in rows] == [
        (second.pk, "Inställt i dag!", True, 2),
        (first.pk, "Skjutsen går som vanligt.", False, 2),
    ]
    assert (rows[0]["delivered_at"], rows[0]["delivered_to"]) == (None, None)
    assert rows[1]["delivered_at"] is not None and rows[1]["delivered_to"] == 2
    assert (rows[0]["read"], rows[1]["read"]) == (None, 0)
    for someone in (member, elsewhere):
        assert (api_as(someone).get(url).status_code, api_as(someone).get(url).json()) == (200, [])

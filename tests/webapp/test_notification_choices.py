"""The page where a person chooses, kind by kind, which messages also come by push, SMS or
e-mail (everything is always in Messages in the app)."""

import pytest

from backend.notifications.models import NotificationPreference

pytestmark = pytest.mark.django_db

URL = "/notifications/choices"


def test_the_page_groups_the_kinds_and_shows_the_current_choices(world):
    rider = world.people["rider"]
    rider.contact_by_sms, rider.contact_by_email = True, False
    rider.save()
    page = world.client("rider").get(URL).content.decode()
    assert "Volunteer rides" in page and "Carpooling" in page and "Shop runs" in page
    assert "Driver found" in page  # ride.accepted
    assert 'name="channels-ride.accepted" value="sms" checked' in page
    assert 'name="channels-ride.accepted" value="email">' in page
    # A kind that is never sent by SMS offers no SMS box.
    assert 'name="channels-membership.approved" value="sms"' not in page


def test_only_the_changed_kinds_are_saved(world):
    rider = world.people["rider"]
    rider.contact_by_sms, rider.contact_by_push, rider.contact_by_email = True, False, False
    rider.save()
    form = {
        "kinds": ["ride.accepted", "ride.reminder", "membership.approved"],
        "channels-ride.accepted": ["sms", "email"],
        "channels-ride.reminder": ["sms"],  # as before
    }
    response = world.client("rider").post(URL, form)
    assert response.status_code == 302
    saved = dict(NotificationPreference.objects.filter(user=rider).values_list("kind", "channels"))
    assert saved == {"ride.accepted": ["email", "live", "sms"]}
    page = world.client("rider").get(URL).content.decode()
    assert 'name="channels-ride.accepted" value="email" checked' in page


def test_turning_everything_off_keeps_the_app(world):
    rider = world.people["rider"]
    rider.contact_by_sms = True
    rider.save()
    response = world.client("rider").post(URL, {"kinds": ["ride.accepted"]})
    assert response.status_code == 302
    assert NotificationPreference.objects.get(user=rider, kind="ride.accepted").channels == ["live"]


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"kinds": ["ride.teleported"]}, "There is no notification called ride.teleported."),
        (
            {"kinds": ["membership.approved"], "channels-membership.approved": ["sms"]},
            "is not sent by SMS",
        ),
        (
            {"kinds": ["ride.accepted"], "channels-ride.accepted": ["pigeon"]},
            "Choose channels among live, push, sms and email.",
        ),
    ],
    ids=["unknown-kind", "channel-the-kind-never-uses", "unknown-channel"],
)
def test_bad_choices_say_what_is_wrong_and_write_nothing(world, form, message):
    response = world.client("rider").post(URL, form)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not NotificationPreference.objects.exists()


def test_each_person_changes_only_their_own_choices(world):
    world.client("proxy").post(
        URL, {"kinds": ["ride.accepted"], "channels-ride.accepted": ["email"]}
    )
    assert set(NotificationPreference.objects.values_list("user", flat=True)) == {
        world.people["proxy"].pk
    }


def test_anonymous_is_sent_to_sign_in(world):
    response = world.client("anonymous").post(URL, {"kinds": ["ride.accepted"]})
    assert response["Location"].startswith("/sign-in?next=")
    assert not NotificationPreference.objects.exists()


@pytest.mark.parametrize("field", ["id", "up_to"])
def test_marking_read_with_a_digit_that_is_not_ascii_changes_nothing(world, field):
    """ "¹" passes str.isdigit() but not int(): the page goes back, nothing marked."""
    from backend.notifications.models import Notification
    from backend.notifications.services import notify

    notify(world.people["rider"], "association.message", {"association": "A", "text": "Hej"})
    response = world.client("rider").post("/notifications/read", {field: "¹"})
    assert response.status_code == 302
    assert not Notification.objects.filter(read_at__isnull=False).exists()

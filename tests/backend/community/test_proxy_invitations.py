"""Asking a phone number to help: the same outcome for the asker whether or not the number
has an account; a number without one gets an invitation (one SMS), which becomes a
pending link when someone confirms the number as theirs (a code sent to it comes back, or
staff vouch for it). A decline tells whoever asked."""

import threading
from datetime import datetime, timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone, translation

from backend.accounts.login_codes import login_code_verify, phone_confirm
from backend.accounts.models import ProxyInvitation, ProxyLink, User
from backend.accounts.proxy_invitations import (
    invitation_sms_text,
    proxy_invitation_sms_send,
    proxy_invitations_claim,
    proxy_invitations_sms_sweep,
)
from backend.accounts.services import user_register, user_update_profile
from backend.community.selectors import proxy_requests_to, proxy_requests_unanswered_of
from backend.community.services import (
    managed_profile_create,
    proxy_link_accept,
    proxy_link_create,
    proxy_link_decline,
    proxy_link_remove,
    proxy_link_request,
)
from backend.errors import ApplicationError, ErrorKind
from backend.notifications.models import (
    Channel,
    Delivery,
    DeliveryStatus,
    Notification,
    SmsSent,
)
from backend.notifications.selectors import STOCKHOLM, sms_sent_today
from backend.notifications.services import notify, sms_number_lock
from backend.privacy.export import person_export
from backend.privacy.retention import (
    personal_data_forget_old,
    proxy_invitations_delete_old,
    sms_delete_old,
)
from dispatch.privacy import person_erase
from tests.admin_forms import FormFields, admin_post
from tests.factories import (
    PASSWORD,
    AssociationFactory,
    ManagedProfileFactory,
    UserFactory,
    code_texted,
    coordinator_of,
)

pytestmark = pytest.mark.django_db

UNKNOWN = "+46701740699"


@pytest.fixture
def greta():
    return UserFactory(full_name="Greta Andersson", phone="+46701740620")


def confirm_by_code(user, code="123456"):
    """What happens when the code texted to `user`'s number comes back (phone_confirm)."""
    code_texted(user, code)
    return phone_confirm(user=user, code=code)


def ask(actor, resident, phone="070-174 06 99", relationship="dotter"):
    return proxy_link_request(
        actor=actor, resident=resident, proxy_phone=phone, relationship=relationship
    )


# --- Asking --------------------------------------------------------------------------------


def test_an_unknown_number_gets_an_invitation_and_one_sms(
    greta, eager, sms_provider, django_capture_on_commit_callbacks, settings
):
    settings.SITE_URL = "https://samby.example.se"
    with django_capture_on_commit_callbacks(execute=True):
        assert ask(greta, greta) is None

    invitation = ProxyInvitation.objects.get()
    assert (
        invitation.resident,
        invitation.phone,
        invitation.invited_as,
        invitation.relationship,
        invitation.created_by,
    ) == (greta, UNKNOWN, "070-174 06 99", "dotter", greta)
    assert (invitation.sms_done_at is not None, invitation.sms_outcome) == (True, "sent")
    assert not ProxyLink.objects.exists()
    [sms] = sms_provider.accepted
    assert sms.form["to"] == UNKNOWN
    text = sms.form["message"]
    assert text.startswith("Samby: Greta Andersson ")
    assert text.endswith("https://samby.example.se/join")
    # Nothing of Greta but her name: no phone, no address.
    assert "0701740620" not in text and "+46701740620" not in text
    assert not Notification.objects.exists()


def test_a_known_number_gets_a_link_and_no_sms(
    greta, eager, sms_provider, django_capture_on_commit_callbacks
):
    lena = UserFactory(full_name="Lena Eriksson", phone=UNKNOWN)
    with django_capture_on_commit_callbacks(execute=True):
        assert ask(greta, greta) is None
    link = ProxyLink.objects.get()
    assert (link.proxy, link.invited_as, link.accepted_at) == (lena, "070-174 06 99", None)
    assert not ProxyInvitation.objects.exists()
    assert sms_provider.accepted == []
    assert Notification.objects.get().kind == "proxy.invited"


@pytest.mark.parametrize("known", [False, True], ids=["unknown-number", "known-number"])
def test_asking_the_same_number_twice_is_one_request_in_the_same_words(greta, known):
    if known:
        UserFactory(phone=UNKNOWN)
    ask(greta, greta, phone="070-174 06 99")
    with pytest.raises(ApplicationError) as refused:
        ask(greta, greta, phone="+46 70 174 06 99")
    assert (refused.value.code, refused.value.kind) == ("proxy_exists", ErrorKind.CONFLICT)
    with translation.override("en"):
        assert str(refused.value.message) == (
            "This person has already been asked and has not answered yet."
        )
    assert ProxyInvitation.objects.count() + ProxyLink.objects.count() == 1


def test_the_same_number_for_two_residents_is_two_requests_and_one_sms(
    greta, eager, sms_provider, django_capture_on_commit_callbacks
):
    bo = UserFactory(full_name="Bo Nilsson")
    with django_capture_on_commit_callbacks(execute=True):
        ask(greta, greta)
    with django_capture_on_commit_callbacks(execute=True):
        ask(bo, bo)
    assert ProxyInvitation.objects.count() == 2
    # A number that belongs to nobody in Samby gets one invitation SMS a day at most.
    assert len(sms_provider.accepted) == 1
    assert sorted(ProxyInvitation.objects.values_list("sms_outcome", flat=True)) == [
        "sent",
        "skipped",
    ]


def test_an_expired_invitation_is_replaced_by_a_new_request(greta, settings):
    ask(greta, greta)
    ProxyInvitation.objects.update(
        created_at=timezone.now() - timedelta(days=settings.PROXY_INVITATION_DAYS + 1)
    )
    ask(greta, greta, relationship="granne")
    assert ProxyInvitation.objects.get().relationship == "granne"


@pytest.mark.parametrize(
    ("phone", "code", "field"),
    [
        ("inte ett nummer", "phone_invalid", "proxy_phone"),
        ("lena@example.se", "phone_invalid", "proxy_phone"),
        ("123", "phone_invalid", "proxy_phone"),
        ("  ", "proxy_phone_missing", "proxy_phone"),
    ],
    ids=["words", "e-mail", "too-short", "blank"],
)
def test_what_is_not_a_phone_number_is_refused(greta, phone, code, field):
    with pytest.raises(ApplicationError) as refused:
        ask(greta, greta, phone=phone)
    assert (refused.value.code, set(refused.value.fields)) == (code, {field})
    assert not ProxyInvitation.objects.exists()


@pytest.mark.parametrize("known", [False, True], ids=["unknown-number", "known-number"])
def test_only_the_resident_may_ask_and_the_answer_does_not_depend_on_the_number(greta, known):
    if known:
        UserFactory(phone=UNKNOWN)
    with pytest.raises(ApplicationError) as refused:
        ask(UserFactory(), greta)
    assert (refused.value.code, refused.value.kind) == ("proxy_not_allowed", ErrorKind.FORBIDDEN)
    assert not ProxyInvitation.objects.exists()
    assert not ProxyLink.objects.exists()


def test_someone_acting_for_a_managed_profile_asks_for_them(
    eager, sms_provider, django_capture_on_commit_callbacks
):
    association = AssociationFactory()
    coordinator = coordinator_of(association)
    coordinator.full_name = "Karin Lindqvist"
    coordinator.save()
    sven = managed_profile_create(
        actor=coordinator, full_name="Sven Jansson", association=association
    )
    with django_capture_on_commit_callbacks(execute=True):
        ask(coordinator, sven)
    text = sms_provider.accepted[0].form["message"]
    assert "Karin Lindqvist" in text and "Sven Jansson" in text


def test_the_invitation_database_constraints():
    greta = UserFactory()
    ProxyInvitation.objects.create(resident=greta, phone=UNKNOWN, invited_as="x")
    with (
        pytest.raises(IntegrityError, match="proxy_invitation_once_per_number"),
        transaction.atomic(),
    ):
        ProxyInvitation.objects.create(resident=greta, phone=UNKNOWN, invited_as="y")
    with (
        pytest.raises(IntegrityError, match="proxy_invitation_phone_is_e164"),
        transaction.atomic(),
    ):
        ProxyInvitation.objects.create(resident=greta, phone="070-174 06 99", invited_as="z")
    other = UserFactory()
    for done_at, outcome in [(timezone.now(), ""), (None, "sent")]:
        with (
            pytest.raises(IntegrityError, match="proxy_invitation_sms_outcome_when_done"),
            transaction.atomic(),
        ):
            ProxyInvitation.objects.create(
                resident=other,
                phone=UNKNOWN,
                invited_as="w",
                sms_done_at=done_at,
                sms_outcome=outcome,
            )
    assert ProxyInvitation.objects.count() == 1
    with pytest.raises(IntegrityError, match="sms_sent_phone_is_e164"), transaction.atomic():
        SmsSent.objects.create(phone="070-174 06 99")
    assert not SmsSent.objects.exists()


# --- The SMS ------------------------------------------------------------------------------


def test_the_sms_waits_for_the_end_of_quiet_hours(greta, settings, sms_provider):
    now = timezone.now().astimezone(STOCKHOLM)
    start = (now - timedelta(minutes=1)).time().replace(second=0, microsecond=0)
    end = (now + timedelta(minutes=30)).time().replace(second=0, microsecond=0)
    settings.NOTIFY_QUIET_HOURS = (start, end)
    ask(greta, greta)
    invitation = ProxyInvitation.objects.get()
    assert proxy_invitation_sms_send(invitation_id=invitation.pk) == "waiting"
    assert proxy_invitations_sms_sweep() == 0  # still quiet
    assert sms_provider.accepted == []
    invitation.refresh_from_db()
    assert invitation.sms_done_at is None


def test_the_sweep_sends_what_was_held_back(
    greta, eager, sms_provider, django_capture_on_commit_callbacks
):
    ask(greta, greta)  # its on-commit queueing never ran (as if the broker were down)
    ProxyInvitation.objects.update(created_at=timezone.now() - timedelta(minutes=10))
    assert proxy_invitations_sms_sweep() == 1
    assert len(sms_provider.accepted) == 1
    assert proxy_invitations_sms_sweep() == 0  # sent once


def test_a_provider_error_is_tried_again_then_given_up(greta, outside_quiet_hours, sms_provider):
    from backend.notifications.errors import TransientDeliveryError

    ask(greta, greta)
    invitation = ProxyInvitation.objects.get()
    sms_provider.answer_next(503, times=2)
    with pytest.raises(TransientDeliveryError):
        proxy_invitation_sms_send(invitation_id=invitation.pk)
    invitation.refresh_from_db()
    assert invitation.sms_done_at is None
    assert proxy_invitation_sms_send(invitation_id=invitation.pk, final=True) == "failed"
    invitation.refresh_from_db()
    assert invitation.sms_outcome == "failed"
    assert proxy_invitation_sms_send(invitation_id=invitation.pk) == "gone"


def test_the_sms_text_says_who_asks_and_how_to_join(greta, settings):
    settings.SITE_URL = "https://samby.example.se"
    ask(greta, greta)
    text = invitation_sms_text(ProxyInvitation.objects.select_related("resident").get())
    assert text.startswith("Samby: Greta Andersson")
    assert text.endswith("https://samby.example.se/join")
    assert len(text) <= 200
    # The link is the web app's "create an account" page.
    assert reverse("webapp:join") == "/join"


SITE = "https://samby.example.se"
TEXTS = {
    ("en", "self"): "Samby: Greta Andersson asks you to help them book and follow rides. "
    f"To answer, join Samby with this phone number: {SITE}/join",
    ("sv", "self"): "Samby: Greta Andersson ber dig om hjälp att boka och hålla koll på resor. "
    f"Svara genom att gå med i Samby med det här telefonnumret: {SITE}/join",
    ("en", "other"): "Samby: Karin Lindqvist asks you to help Greta Andersson book and follow "
    f"rides. To answer, join Samby with this phone number: {SITE}/join",
    ("sv", "other"): "Samby: Karin Lindqvist ber dig hjälpa Greta Andersson att boka och hålla "
    f"koll på resor. Svara genom att gå med i Samby med det här telefonnumret: {SITE}/join",
}


@pytest.mark.parametrize(
    ("asker", "resident_language", "asker_language", "expected"),
    [
        ("resident", "en", None, ("en", "self")),
        ("resident", "sv", None, ("sv", "self")),
        ("other", "sv", "en", ("en", "other")),
        ("other", "en", "sv", ("sv", "other")),
        ("erased", "en", None, ("en", "self")),
        ("erased", "xx", None, ("sv", "self")),
    ],
    ids=[
        "a-resident-asking-in-english",
        "a-resident-asking-in-swedish",
        "an-english-helper-asking-for-a-swedish-resident",
        "a-swedish-helper-asking-for-an-english-resident",
        "no-asker-left-the-residents-language",
        "no-language-known-swedish",
    ],
)
def test_the_sms_is_in_the_language_of_whoever_asks(
    settings, asker, resident_language, asker_language, expected
):
    """Nothing is known of the person with the number: whoever asks knows them best."""
    settings.SITE_URL = SITE
    greta = UserFactory(full_name="Greta Andersson", preferred_language="sv")
    User.objects.filter(pk=greta.pk).update(preferred_language=resident_language)
    created_by = greta if asker == "resident" else None
    if asker == "other":
        created_by = UserFactory(full_name="Karin Lindqvist", preferred_language=asker_language)
    ProxyInvitation.objects.create(
        resident=greta, phone=UNKNOWN, invited_as="070-174 06 99", created_by=created_by
    )
    invitation = ProxyInvitation.objects.select_related("resident", "created_by").get()
    with translation.override("sv" if expected[0] == "en" else "en"):  # not the request's
        assert invitation_sms_text(invitation) == TEXTS[expected]


def test_the_sms_sent_goes_in_the_askers_language(
    eager, sms_provider, django_capture_on_commit_callbacks, settings
):
    settings.SITE_URL = SITE
    greta = UserFactory(full_name="Greta Andersson", preferred_language="en")
    with django_capture_on_commit_callbacks(execute=True):
        ask(greta, greta)
    [sms] = sms_provider.accepted
    assert (sms.form["to"], sms.form["message"]) == (UNKNOWN, TEXTS["en", "self"])


# --- The number's daily SMS cap ------------------------------------------------------------


def sms_delivery_at(*, to, status, at):
    notification = Notification.objects.create(
        recipient=UserFactory(), kind="association.message", payload={}
    )
    delivery = Delivery.objects.create(
        notification=notification, channel=Channel.SMS, address=to, status=status
    )
    Delivery.objects.filter(pk=delivery.pk).update(updated_at=at)


def invitation_done_at(*, to, outcome, at):
    """An invitation whose SMS was done at `at`, stored as `proxy_invitation_sms_send`
    stores it (a sent one also as an `SmsSent`, which is what the daily cap counts)."""
    ProxyInvitation.objects.create(
        resident=UserFactory(), phone=to, invited_as=to, sms_done_at=at, sms_outcome=outcome
    )
    if outcome == "sent":
        SmsSent.objects.create(phone=to, sent_at=at)


def test_sms_sent_today_counts_both_senders_since_local_midnight():
    now = datetime(2026, 3, 10, 12, 0, tzinfo=STOCKHOLM)
    midnight = datetime(2026, 3, 10, 0, 0, tzinfo=STOCKHOLM)
    before = midnight - timedelta(seconds=1)
    other = "+46701740698"
    # Counted: two notification SMS and one invitation SMS sent to the number today.
    sms_delivery_at(to=UNKNOWN, status=DeliveryStatus.SENT, at=midnight)
    sms_delivery_at(to=UNKNOWN, status=DeliveryStatus.SENT, at=now)
    invitation_done_at(to=UNKNOWN, outcome="sent", at=now - timedelta(hours=1))
    # Not counted: not sent, sent yesterday, or sent to another number.
    sms_delivery_at(to=UNKNOWN, status=DeliveryStatus.FAILED, at=now)
    sms_delivery_at(to=UNKNOWN, status=DeliveryStatus.SKIPPED, at=now)
    sms_delivery_at(to=UNKNOWN, status=DeliveryStatus.SENT, at=before)
    sms_delivery_at(to=other, status=DeliveryStatus.SENT, at=now)
    invitation_done_at(to=UNKNOWN, outcome="skipped", at=now)
    invitation_done_at(to=UNKNOWN, outcome="failed", at=now)
    invitation_done_at(to=UNKNOWN, outcome="sent", at=before)
    invitation_done_at(to=other, outcome="sent", at=now)
    ProxyInvitation.objects.create(resident=UserFactory(), phone=UNKNOWN, invited_as="waiting")

    assert sms_sent_today(phone=UNKNOWN, now=now) == 3
    assert sms_sent_today(phone=other, now=now) == 2


@pytest.fixture
def sven():
    """A managed profile with their own phone: it gets notifications by SMS, and, as no
    login has the number, requests to help sent to it wait as invitations."""
    return ManagedProfileFactory(full_name="Sven Jansson", phone=UNKNOWN, contact_by_sms=True)


def notify_by_sms(callbacks, recipient):
    with callbacks(execute=True):
        notification = notify(
            recipient, "association.message", {"association": "Byalaget", "text": "Hej"}
        )
    return Delivery.objects.get(notification=notification, channel=Channel.SMS)


def test_an_invitation_sms_counts_towards_the_numbers_daily_cap(
    greta, sven, settings, eager, sms_provider, django_capture_on_commit_callbacks
):
    settings.SMS_DAILY_CAP = 2
    with django_capture_on_commit_callbacks(execute=True):
        ask(greta, greta)
    assert ProxyInvitation.objects.get().sms_outcome == "sent"

    first = notify_by_sms(django_capture_on_commit_callbacks, sven)
    second = notify_by_sms(django_capture_on_commit_callbacks, sven)

    assert [(d.status, d.detail) for d in (first, second)] == [
        (DeliveryStatus.SENT, ""),
        (DeliveryStatus.SKIPPED, "daily SMS limit reached; kept in the inbox"),
    ]
    assert [r.form["to"] for r in sms_provider.accepted] == [UNKNOWN, UNKNOWN]


def test_a_claimed_invitation_still_counts_towards_the_numbers_daily_cap(
    greta, settings, eager, sms_provider, django_capture_on_commit_callbacks
):
    """Claiming removes the invitation, not its SMS from the day's count: the number got
    the invitation and, with a cap of 2, one more SMS today."""
    settings.SMS_DAILY_CAP = 2
    with django_capture_on_commit_callbacks(execute=True):
        ask(greta, greta)
    assert ProxyInvitation.objects.get().sms_outcome == "sent"
    lena = user_register(full_name="Lena Eriksson", phone="0701740699", password=PASSWORD)
    lena.contact_by_sms = True
    lena.save(update_fields=["contact_by_sms"])
    confirm_by_code(lena)
    assert ProxyLink.objects.get().proxy == lena
    assert not ProxyInvitation.objects.exists()
    assert sms_sent_today(phone=UNKNOWN, now=timezone.now()) == 1

    first = notify_by_sms(django_capture_on_commit_callbacks, lena)
    second = notify_by_sms(django_capture_on_commit_callbacks, lena)

    assert [(d.address, d.status, d.detail) for d in (first, second)] == [
        (UNKNOWN, DeliveryStatus.SENT, ""),
        (UNKNOWN, DeliveryStatus.SKIPPED, "daily SMS limit reached; kept in the inbox"),
    ]
    assert [r.form["to"] for r in sms_provider.accepted] == [UNKNOWN, UNKNOWN]
    assert sms_sent_today(phone=UNKNOWN, now=timezone.now()) == 2


def test_an_invitation_sms_still_counts_when_the_resident_is_erased(
    greta, settings, eager, sms_provider, django_capture_on_commit_callbacks
):
    """The record of the SMS is about the number, not the resident who asked: it stays
    when the resident's invitations go with their account."""
    with django_capture_on_commit_callbacks(execute=True):
        ask(greta, greta)
    person_erase(user=greta, actor=greta)
    assert not ProxyInvitation.objects.exists()
    assert sms_sent_today(phone=UNKNOWN, now=timezone.now()) == 1


def test_an_invitation_sms_waits_for_another_day_when_the_number_reached_the_cap(
    greta, sven, settings, eager, sms_provider, django_capture_on_commit_callbacks
):
    settings.SMS_DAILY_CAP = 1
    notify_by_sms(django_capture_on_commit_callbacks, sven)
    with django_capture_on_commit_callbacks(execute=True):
        ask(greta, greta)
    invitation = ProxyInvitation.objects.get()

    assert proxy_invitation_sms_send(invitation_id=invitation.pk) == "waiting"
    invitation.refresh_from_db()
    assert (invitation.sms_done_at, invitation.sms_outcome) == (None, "")
    assert len(sms_provider.accepted) == 1  # Sven's notification only

    # The next day (here: the notification's SMS moved to yesterday) the sweep sends it.
    Delivery.objects.update(updated_at=timezone.now() - timedelta(days=1))
    ProxyInvitation.objects.update(created_at=timezone.now() - timedelta(minutes=10))
    assert proxy_invitations_sms_sweep() == 1
    invitation.refresh_from_db()
    assert invitation.sms_outcome == "sent"
    assert [r.form["to"] for r in sms_provider.accepted] == [UNKNOWN, UNKNOWN]


@pytest.mark.django_db(transaction=True)
def test_an_invitation_sms_waits_for_an_sms_being_sent_to_the_number_and_counts_it(
    settings, outside_quiet_hours, sms_provider
):
    """Both senders count under one lock on the number (`sms_number_lock`): an SMS
    another sender is sending is counted, not raced past."""
    settings.SMS_DAILY_CAP = 1
    greta = UserFactory(full_name="Greta Andersson")
    invitation = ProxyInvitation.objects.create(
        resident=greta, phone=UNKNOWN, invited_as="070-174 06 99", created_by=greta
    )
    locked, release = threading.Event(), threading.Event()
    outcome = []

    def other_sender():
        try:
            with transaction.atomic():
                sms_number_lock(UNKNOWN)
                locked.set()
                release.wait(10)
                sms_delivery_at(to=UNKNOWN, status=DeliveryStatus.SENT, at=timezone.now())
        finally:
            connection.close()

    def invitation_sender():
        try:
            outcome.append(proxy_invitation_sms_send(invitation_id=invitation.pk))
        finally:
            connection.close()

    holder = threading.Thread(target=other_sender)
    holder.start()
    assert locked.wait(10)
    sender = threading.Thread(target=invitation_sender)
    sender.start()
    sender.join(0.5)
    assert sender.is_alive()  # held back by the lock
    release.set()
    holder.join(10)
    sender.join(10)
    assert outcome == ["waiting"]
    assert sms_provider.accepted == []


def test_only_an_sms_that_was_sent_keeps_the_number_from_another_invitation_sms(
    greta, settings, outside_quiet_hours, sms_provider
):
    """An SMS skipped or failed lately does not count: else a skipped one would start
    the 24 hours again, and a number would never hear of a later request."""
    now = timezone.now()
    invitation_done_at(to=UNKNOWN, outcome="sent", at=now - timedelta(hours=25))
    invitation_done_at(to=UNKNOWN, outcome="skipped", at=now - timedelta(hours=2))
    invitation_done_at(to=UNKNOWN, outcome="failed", at=now - timedelta(hours=1))
    ask(greta, greta)
    invitation = ProxyInvitation.objects.get(resident=greta)

    assert proxy_invitation_sms_send(invitation_id=invitation.pk) == "sent"
    assert len(sms_provider.accepted) == 1

    # One sent within the 24 hours does count.
    bo = UserFactory()
    ask(bo, bo)
    later = ProxyInvitation.objects.get(resident=bo)
    assert proxy_invitation_sms_send(invitation_id=later.pk) == "skipped"
    later.refresh_from_db()
    assert later.sms_outcome == "skipped" and later.sms_done_at is not None
    assert len(sms_provider.accepted) == 1


# --- Signing up with the number -----------------------------------------------------------


def test_registering_with_the_number_and_confirming_it_turns_the_invitation_into_a_pending_link(
    greta,
):
    ask(greta, greta)
    lena = user_register(full_name="Lena Eriksson", phone="0701740699", password=PASSWORD)
    # Anyone can type a number: the request waits until a code sent to it comes back.
    assert lena.phone_confirmed_at is None
    assert not ProxyLink.objects.exists()
    assert ProxyInvitation.objects.filter(phone=UNKNOWN).exists()
    assert list(proxy_requests_to(proxy=lena)) == []

    confirm_by_code(lena)
    link = ProxyLink.objects.get()
    assert (link.resident, link.proxy, link.relationship, link.invited_as) == (
        greta,
        lena,
        "dotter",
        "070-174 06 99",
    )
    assert (link.created_by, link.accepted_at) == (greta, None)
    assert not ProxyInvitation.objects.exists()
    invited = Notification.objects.get(recipient=lena)
    assert (invited.kind, invited.payload) == (
        "proxy.invited",
        {"resident": "Greta Andersson", "resident_id": greta.pk, "proxy_id": lena.pk},
    )
    assert list(proxy_requests_to(proxy=lena)) == [link]
    # Greta sees the same unanswered request before and after.
    assert [r.invited_as for r in proxy_requests_unanswered_of(resident=greta)] == ["070-174 06 99"]
    proxy_link_accept(actor=lena, link=link)
    assert Notification.objects.get(recipient=greta).kind == "proxy.accepted"


def test_taking_the_number_in_the_profile_claims_it_once_confirmed(greta):
    ask(greta, greta)
    lena = UserFactory(phone="", email="lena@example.se")
    user_update_profile(user=lena, changes={"phone": "070-174 06 99"})
    assert lena.phone_confirmed_at is None
    assert not ProxyLink.objects.exists()
    confirm_by_code(lena)
    assert ProxyLink.objects.get().proxy == lena
    assert not ProxyInvitation.objects.exists()


def test_an_unconfirmed_number_claims_nothing_however_claiming_is_called(greta):
    ask(greta, greta)
    lena = user_register(full_name="Lena Eriksson", phone=UNKNOWN, password=PASSWORD)
    assert proxy_invitations_claim(user=lena) == []
    assert ProxyInvitation.objects.filter(phone=UNKNOWN).exists()


def test_a_confirmed_number_needs_a_login_with_that_number():
    with pytest.raises(IntegrityError), transaction.atomic():
        UserFactory(phone="", email="x@example.se", phone_confirmed_at=timezone.now())
    with pytest.raises(IntegrityError), transaction.atomic():
        ManagedProfileFactory(phone=UNKNOWN, phone_confirmed_at=timezone.now())


def test_changing_a_confirmed_number_makes_it_unconfirmed(greta):
    lena = UserFactory(phone="+46701740601")
    user_update_profile(user=lena, changes={"phone": "+46701740601"})
    assert User.objects.get(pk=lena.pk).phone_confirmed_at is not None  # the same number
    user_update_profile(user=lena, changes={"phone": "070-174 06 99"})
    assert User.objects.get(pk=lena.pk).phone_confirmed_at is None
    ask(greta, greta)
    assert not ProxyLink.objects.exists()  # the request waits for the new number's code


def test_someone_who_typed_another_persons_number_gets_no_request_for_it(greta):
    """A login whose number is unconfirmed is not taken as the number's owner: the
    request waits under the number, and whoever confirms it gets it."""
    squatter = user_register(full_name="Not Lena", phone=UNKNOWN, password=PASSWORD)
    ask(greta, greta)
    assert not ProxyLink.objects.exists()
    assert list(proxy_requests_to(proxy=squatter)) == []
    assert not Notification.objects.filter(recipient=squatter).exists()
    invitation = ProxyInvitation.objects.get()
    # Greta sees the same unanswered request as for a number without an account.
    assert [r.invited_as for r in proxy_requests_unanswered_of(resident=greta)] == [
        invitation.invited_as
    ]
    # Whoever holds the phone proves it with the code, and only then is asked.
    confirm_by_code(squatter)
    assert ProxyLink.objects.get().proxy == squatter


def test_signing_in_with_a_code_claims_an_invitation_left_behind(greta):
    """A login that got the number some other way (here: written directly) still gets
    the request when a code sent to the number proves it is theirs."""
    lena = UserFactory(phone=UNKNOWN)
    ProxyInvitation.objects.create(
        resident=greta, phone=UNKNOWN, invited_as="070-174 06 99", created_by=greta
    )
    code_texted(lena)
    assert login_code_verify(phone=UNKNOWN, code="123456") == lena
    assert ProxyLink.objects.get().proxy == lena
    assert not ProxyInvitation.objects.exists()


def test_an_expired_invitation_is_not_claimed(greta, settings):
    ask(greta, greta)
    ProxyInvitation.objects.update(
        created_at=timezone.now() - timedelta(days=settings.PROXY_INVITATION_DAYS, minutes=1)
    )
    lena = user_register(full_name="Lena", phone=UNKNOWN, password=PASSWORD)
    confirm_by_code(lena)
    assert not ProxyLink.objects.exists()
    assert not Notification.objects.filter(recipient=lena).exists()
    assert proxy_invitations_claim(user=lena) == []


def test_a_claim_keeps_an_existing_link(greta):
    ask(greta, greta)
    lena = UserFactory(phone="", email="lena@example.se")
    proxy_link_create(actor=greta, resident=greta, proxy=lena, invited_as="lena")
    lena.phone, lena.phone_confirmed_at = UNKNOWN, timezone.now()
    lena.save()
    assert proxy_invitations_claim(user=lena) == []
    assert ProxyLink.objects.get().invited_as == "lena"
    assert not ProxyInvitation.objects.exists()


def change_url(user):
    return reverse("admin:accounts_user_change", args=[user.pk])


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize(
    "how",
    ["register", "profile", "admin-change", "admin-add", "admin-unmanage"],
    ids=[
        "registering",
        "changing-it-in-the-profile",
        "staff-changing-it-in-the-admin",
        "staff-adding-a-login-in-the-admin",
        "staff-giving-a-managed-profile-a-login",
    ],
)
def test_whichever_way_a_login_gets_a_confirmed_number_the_invitation_is_theirs_at_once(
    greta, staff_client, how
):
    """The invariant that makes a claim at password sign-in needless: once a login has
    the number confirmed no invitation to it is left, and a new request is a link at
    once. Staff in the admin vouch for the number they type; anyone else confirms it
    with a code."""
    ask(greta, greta)
    if how == "register":
        lena = user_register(full_name="Lena Eriksson", phone=UNKNOWN, password=PASSWORD)
        assert not ProxyLink.objects.exists()
        confirm_by_code(lena)
    elif how == "profile":
        lena = UserFactory(full_name="Lena Eriksson", phone="", email="lena@example.se")
        user_update_profile(user=lena, changes={"phone": "070-174 06 99"})
        assert not ProxyLink.objects.exists()
        confirm_by_code(lena)
    elif how == "admin-change":
        lena = UserFactory(full_name="Lena Eriksson", phone="", email="lena@example.se")
        admin_post(staff_client, change_url(lena), phone=UNKNOWN)
    elif how == "admin-add":
        admin_post(
            staff_client,
            reverse("admin:accounts_user_add"),
            full_name="Lena Eriksson",
            phone=UNKNOWN,
            password1=PASSWORD,
            password2=PASSWORD,
        )
    else:
        lena = ManagedProfileFactory(full_name="Lena Eriksson", phone=UNKNOWN)
        assert not ProxyLink.objects.exists()  # a managed profile does not sign in
        admin_post(staff_client, change_url(lena), is_managed=None)
    lena = User.objects.get(phone=UNKNOWN, is_managed=False)

    assert lena.phone_confirmed_at is not None
    assert not ProxyInvitation.objects.filter(phone=UNKNOWN).exists()
    link = ProxyLink.objects.get()
    assert (link.resident, link.proxy, link.invited_as, link.accepted_at) == (
        greta,
        lena,
        "070-174 06 99",
        None,
    )
    assert Notification.objects.get(recipient=lena).kind == "proxy.invited"
    # A request made now is a link at once: nothing waits for a sign-in to claim it.
    bo = UserFactory(full_name="Bo Nilsson")
    ask(bo, bo)
    assert not ProxyInvitation.objects.exists()
    assert ProxyLink.objects.filter(proxy=lena).count() == 2


def test_someone_given_the_number_by_staff_finds_the_request_at_password_sign_in(
    greta, staff_client, client
):
    """The one path that left an invitation behind for a login (the admin) claims it
    when staff save the number, so signing in with a password has nothing to claim."""
    ask(greta, greta)
    lena = UserFactory(full_name="Lena Eriksson", phone="", email="lena@example.se")
    admin_post(staff_client, change_url(lena), phone=UNKNOWN)

    assert client.login(username=UNKNOWN, password=PASSWORD)
    assert [link.resident for link in proxy_requests_to(proxy=lena)] == [greta]
    assert not ProxyInvitation.objects.exists()
    assert proxy_invitations_claim(user=lena) == []


def test_staff_cannot_vouch_for_a_number_someone_else_confirmed(greta, staff_client):
    lena = UserFactory(full_name="Lena Eriksson", phone="", email="lena@example.se")
    url = change_url(lena)
    fields = FormFields()
    fields.feed(staff_client.get(url).content.decode())
    response = staff_client.post(url, {**fields.data, "phone": [greta.phone]})
    assert response.status_code == 200
    assert "Någon annan har visat att det här numret är deras." in response.content.decode()
    lena.refresh_from_db()
    assert (lena.phone, lena.phone_confirmed_at) == ("", None)


def test_staff_changing_something_else_do_not_vouch_for_a_number(greta, staff_client):
    ask(greta, greta)
    lena = user_register(full_name="Lena Eriksson", phone=UNKNOWN, password=PASSWORD)
    admin_post(staff_client, change_url(lena), full_name="Lena Ek")
    lena.refresh_from_db()
    assert (lena.full_name, lena.phone_confirmed_at) == ("Lena Ek", None)
    assert not ProxyLink.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_an_invitation_stored_while_its_number_is_confirmed_is_not_missed():
    """Confirming the number and the request run at once on two connections; the
    number's lock orders them, and either way Lena ends up asked, once."""
    greta = UserFactory(full_name="Greta Andersson")
    lena = user_register(full_name="Lena", phone=UNKNOWN, password=PASSWORD)
    code_texted(lena)
    barrier = threading.Barrier(2)
    errors = []

    def register():
        try:
            barrier.wait()
            phone_confirm(user=lena, code="123456")
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    def request():
        try:
            barrier.wait()
            ask(greta, greta)
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=register), threading.Thread(target=request)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert errors == []
    assert ProxyLink.objects.filter(resident=greta, proxy__phone=UNKNOWN).count() == 1
    assert not ProxyInvitation.objects.exists()


# --- Declining ------------------------------------------------------------------------------


@pytest.fixture
def asked(greta):
    lena = UserFactory(full_name="Lena Eriksson", phone=UNKNOWN)
    ask(greta, greta)
    return greta, lena, ProxyLink.objects.get()


def test_a_decline_tells_the_resident_by_the_number_they_typed(asked):
    greta, lena, link = asked
    proxy_link_decline(actor=lena, link=link)
    assert not ProxyLink.objects.exists()
    told = Notification.objects.get(recipient=greta)
    assert told.kind == "proxy.declined"
    assert told.payload == {"invited_as": "070-174 06 99", "resident": "Greta Andersson"}
    assert "Lena" not in str(told.payload)


def test_ending_a_request_as_the_proxy_is_a_decline(asked):
    greta, lena, _link = asked
    proxy_link_remove(actor=lena, resident=greta, proxy=lena)
    assert Notification.objects.get(recipient=greta).kind == "proxy.declined"


def test_a_resident_taking_back_a_request_tells_nobody(asked):
    greta, lena, _link = asked
    proxy_link_remove(actor=greta, resident=greta, proxy=lena)
    assert not ProxyLink.objects.exists()
    assert not Notification.objects.filter(kind="proxy.declined").exists()


def test_for_a_managed_profile_whoever_asked_is_told_of_the_no():
    association = AssociationFactory()
    coordinator = coordinator_of(association)
    sven = managed_profile_create(actor=coordinator, full_name="Sven", association=association)
    son = UserFactory(phone=UNKNOWN)
    ask(coordinator, sven)
    proxy_link_decline(actor=son, link=ProxyLink.objects.get())
    told = Notification.objects.get(kind="proxy.declined")
    assert told.recipient == coordinator
    assert told.payload == {"invited_as": "070-174 06 99", "resident": "Sven"}


def test_only_the_one_asked_can_decline_and_twice_tells_once(asked):
    greta, lena, link = asked
    with pytest.raises(ApplicationError) as refused:
        proxy_link_decline(actor=greta, link=link)
    assert refused.value.code == "proxy_not_allowed"
    assert ProxyLink.objects.exists()
    proxy_link_decline(actor=lena, link=link)
    proxy_link_decline(actor=lena, link=link)  # a second click
    assert Notification.objects.filter(kind="proxy.declined").count() == 1


def test_an_accepted_link_is_not_declined(asked):
    _greta, lena, link = asked
    proxy_link_accept(actor=lena, link=link)
    with pytest.raises(ApplicationError) as refused:
        proxy_link_decline(actor=lena, link=link)
    assert refused.value.code == "proxy_already_accepted"
    assert ProxyLink.objects.get().is_accepted
    assert not Notification.objects.filter(kind="proxy.declined").exists()


# --- Privacy: export, erasure, retention -------------------------------------------------


def test_the_export_lists_a_pending_invitation_like_any_unanswered_request(greta):
    UserFactory(phone="+46701740698")
    ask(greta, greta, phone="070-174 06 98")  # a number with an account
    ask(greta, greta, phone="070-174 06 99", relationship="granne")  # one without
    they_help_me = person_export(user=greta)["proxies"]["they_help_me"]
    assert [{k: v for k, v in row.items() if k != "since"} for row in they_help_me] == [
        {
            "name": "",
            "invited_as": "070-174 06 98",
            "state": "pending",
            "relationship": "dotter",
            "gets_my_sms": False,
            "accepted_at": None,
        },
        {
            "name": "",
            "invited_as": "070-174 06 99",
            "state": "pending",
            "relationship": "granne",
            "gets_my_sms": False,
            "accepted_at": None,
        },
    ]


def test_erasing_the_resident_removes_their_invitations(greta):
    ask(greta, greta)
    association = AssociationFactory()
    coordinator = coordinator_of(association)
    sven = managed_profile_create(actor=coordinator, full_name="Sven", association=association)
    ask(coordinator, sven, phone="070-174 06 97")

    person_erase(user=greta, actor=greta)
    assert list(ProxyInvitation.objects.values_list("resident", flat=True)) == [sven.pk]

    person_erase(user=coordinator, actor=coordinator)
    # Sven's request stays his, without saying who asked.
    assert ProxyInvitation.objects.get().created_by is None


def test_the_record_of_an_invitation_sms_goes_once_it_no_longer_counts():
    now = timezone.now()
    SmsSent.objects.create(phone=UNKNOWN, sent_at=now - timedelta(days=2, minutes=1))
    SmsSent.objects.create(phone=UNKNOWN, sent_at=now - timedelta(days=1))
    assert sms_delete_old(now=now) == 1
    assert list(SmsSent.objects.values_list("sent_at", flat=True)) == [now - timedelta(days=1)]


def test_erasing_the_person_with_the_number_removes_the_record_of_sms_to_it(greta):
    lena = UserFactory(phone=UNKNOWN)
    SmsSent.objects.create(phone=UNKNOWN, sent_at=timezone.now())
    SmsSent.objects.create(phone="+46701740698", sent_at=timezone.now())
    person_erase(user=lena, actor=lena)
    assert list(SmsSent.objects.values_list("phone", flat=True)) == ["+46701740698"]


def test_invitations_expire_by_the_retention_job(greta, settings):
    ask(greta, greta)
    ask(greta, greta, phone="070-174 06 98")
    ProxyInvitation.objects.filter(phone=UNKNOWN).update(
        created_at=timezone.now() - timedelta(days=settings.PROXY_INVITATION_DAYS, minutes=1)
    )
    assert proxy_invitations_delete_old() == 1
    assert list(ProxyInvitation.objects.values_list("phone", flat=True)) == ["+46701740698"]
    assert personal_data_forget_old()["proxy_invitations"] == 0
    # An expired one no longer shows as waiting either.
    assert [r.invited_as for r in proxy_requests_unanswered_of(resident=greta)] == ["070-174 06 98"]

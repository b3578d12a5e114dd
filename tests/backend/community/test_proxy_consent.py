"""A proxy link is a request until the proxy says yes: until then it gives no right, and
the one who asked does not learn whose the number is."""

import pytest

from backend.accounts.models import ProxyLink
from backend.community.selectors import (
    people_actable_by,
    proxy_links_of,
    proxy_requests_to,
    user_can_act_for,
)
from backend.community.services import (
    managed_profile_create,
    proxy_link_accept,
    proxy_link_create,
    proxy_link_remove,
)
from backend.errors import ApplicationError, ErrorKind
from backend.notifications.models import Notification
from backend.notifications.selectors import sms_number_for
from backend.privacy.access import people_whose_data_actor_handles, residents_of_proxy
from backend.privacy.export import person_export
from tests.factories import (
    AssociationFactory,
    UserFactory,
    coordinator_of,
)
from tests.locks import Beside, referred_to_meanwhile

pytestmark = pytest.mark.django_db


@pytest.fixture
def asked():
    """Greta (who logs in) has asked Lena to help her; Lena has not answered."""
    greta = UserFactory(full_name="Greta Andersson")
    lena = UserFactory(full_name="Lena Eriksson", phone="+46701740650")
    link = proxy_link_create(
        actor=greta, resident=greta, proxy=lena, relationship="dotter", invited_as="070-174 06 50"
    )
    return greta, lena, link


def test_a_new_link_is_pending_and_the_proxy_is_asked(asked):
    greta, lena, link = asked
    assert link.accepted_at is None and not link.is_accepted
    assert link.invited_as == "070-174 06 50"
    invitation = Notification.objects.get(recipient=lena)
    assert invitation.kind == "proxy.invited"
    assert invitation.payload == {
        "resident": "Greta Andersson",
        "resident_id": greta.pk,
        "proxy_id": lena.pk,
    }
    assert not Notification.objects.filter(recipient=greta).exists()
    assert list(proxy_requests_to(proxy=lena)) == [link]


def test_a_pending_link_gives_nothing(asked):
    greta, lena, _link = asked
    assert set(people_actable_by(actor=lena)) == {lena}
    assert not user_can_act_for(actor=lena, resident=greta)
    assert not residents_of_proxy(proxy=lena).exists()
    assert list(people_whose_data_actor_handles(actor=lena)) == [lena]


def test_a_pending_proxy_gets_no_sms_for_a_resident_without_a_phone():
    lena = UserFactory(phone="+46701740650")
    association = AssociationFactory()
    coordinator = coordinator_of(association)
    greta = managed_profile_create(actor=coordinator, full_name="Greta", association=association)
    link = proxy_link_create(actor=coordinator, resident=greta, proxy=lena)
    ProxyLink.objects.filter(pk=link.pk).update(receives_sms_for_resident=True)
    assert sms_number_for(greta) == ""
    proxy_link_accept(actor=lena, link=link)
    assert sms_number_for(greta) == "+46701740650"


def test_the_proxy_accepts_and_the_resident_is_told(asked):
    greta, lena, link = asked
    accepted = proxy_link_accept(actor=lena, link=link)
    assert accepted.accepted_at is not None
    assert user_can_act_for(actor=lena, resident=greta)
    assert list(residents_of_proxy(proxy=lena)) == [greta]
    told = Notification.objects.get(recipient=greta)
    assert told.kind == "proxy.accepted"
    assert told.payload == {"proxy": "Lena Eriksson", "resident": "Greta Andersson"}
    assert not proxy_requests_to(proxy=lena).exists()


def test_for_a_managed_profile_whoever_asked_is_told():
    association = AssociationFactory()
    coordinator = coordinator_of(association)
    greta = managed_profile_create(actor=coordinator, full_name="Greta", association=association)
    son = UserFactory(full_name="Bo Nilsson")
    link = proxy_link_create(actor=coordinator, resident=greta, proxy=son)
    proxy_link_accept(actor=son, link=link)
    assert Notification.objects.get(kind="proxy.accepted").recipient == coordinator
    assert not Notification.objects.filter(recipient=greta).exists()


@pytest.mark.django_db(transaction=True)
def test_saying_yes_does_not_wait_for_whatever_refers_to_the_two_people(asked):
    # The link was locked with the proxy's and the resident's account rows (FOR UPDATE
    # through the join): saying yes waited for, or deadlocked with, anything being
    # written about either of them meanwhile (a notification, an audit row).
    greta, lena, link = asked
    with referred_to_meanwhile([greta, lena]):
        accept = Beside(lambda: proxy_link_accept(actor=lena, link=link))
        in_time = accept.done_within(5)
    assert accept.result().is_accepted
    assert in_time, "saying yes waited for a transaction that referred to the two people"


@pytest.mark.parametrize("who", ["resident", "stranger"])
def test_only_the_proxy_may_accept(asked, who):
    greta, _lena, link = asked
    actor = greta if who == "resident" else UserFactory()
    with pytest.raises(ApplicationError) as refused:
        proxy_link_accept(actor=actor, link=link)
    assert (refused.value.code, refused.value.kind) == ("proxy_not_allowed", ErrorKind.FORBIDDEN)
    link.refresh_from_db()
    assert link.accepted_at is None


def test_a_second_accept_is_a_conflict_and_changes_nothing(asked):
    _greta, lena, link = asked
    first = proxy_link_accept(actor=lena, link=link).accepted_at
    with pytest.raises(ApplicationError) as refused:
        proxy_link_accept(actor=lena, link=link)
    assert (refused.value.code, refused.value.kind) == (
        "proxy_already_accepted",
        ErrorKind.CONFLICT,
    )
    link.refresh_from_db()
    assert link.accepted_at == first
    assert Notification.objects.filter(kind="proxy.accepted").count() == 1


def test_the_proxy_declines_by_ending_the_request(asked):
    greta, lena, _link = asked
    proxy_link_remove(actor=lena, resident=greta, proxy=lena)
    assert not ProxyLink.objects.exists()
    assert not user_can_act_for(actor=lena, resident=greta)


def test_asking_again_does_not_name_the_person_who_has_not_answered(asked):
    greta, lena, _link = asked
    with pytest.raises(ApplicationError) as refused:
        proxy_link_create(actor=greta, resident=greta, proxy=lena)
    assert refused.value.code == "proxy_exists"
    assert "Lena" not in str(refused.value.message)


def test_the_resident_sees_the_number_until_the_proxy_accepts(asked):
    greta, lena, link = asked
    [shown] = proxy_links_of(resident=greta)
    assert (shown.is_accepted, shown.invited_as) == (False, "070-174 06 50")
    export = person_export(user=greta)["proxies"]["they_help_me"]
    assert [(row["name"], row["invited_as"], row["state"]) for row in export] == [
        ("", "070-174 06 50", "pending")
    ]
    assert person_export(user=lena)["proxies"]["i_help"][0]["state"] == "pending"
    proxy_link_accept(actor=lena, link=link)
    export = person_export(user=greta)["proxies"]["they_help_me"]
    assert [(row["name"], row["state"]) for row in export] == [("Lena Eriksson", "accepted")]


def test_a_relative_who_creates_a_managed_profile_has_accepted_already():
    daughter = UserFactory()
    greta = managed_profile_create(actor=daughter, full_name="Greta", relationship="dotter")
    assert ProxyLink.objects.get(resident=greta).is_accepted
    assert user_can_act_for(actor=daughter, resident=greta)
    assert not Notification.objects.filter(kind="proxy.invited").exists()

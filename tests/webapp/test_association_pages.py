"""The associations page: every association with the person's own membership in words,
asking to join (the coordinators are told), taking a waiting request back, and the
console's "Decline"; the start page's card for people who are not members, and the
links to the page from the profile, carpooling, lending and booking a ride."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from backend.audit.models import AuditEntry
from backend.community.models import Membership, MembershipState, Role
from backend.notifications.models import Delivery, Notification
from tests.factories import AssociationFactory, MembershipFactory, VillageFactory
from tests.webapp.conftest import World

pytestmark = pytest.mark.django_db

LIST = "/associations/"


def join_url(association) -> str:
    return f"/associations/{association.pk}/join"


def withdraw_url(membership) -> str:
    return f"/associations/memberships/{membership.pk}/withdraw"


def decline_url(membership) -> str:
    return f"/console/roster/{membership.pk}/decline"


def other_association(world: World):
    return Membership.objects.get(user=world.people["coordinator_elsewhere"]).association


def written() -> list:
    """Memberships, notifications and their deliveries: what a refused request leaves."""
    return [
        *Membership.objects.order_by("pk").values_list("pk", "user_id", "state", "roles"),
        *Notification.objects.order_by("pk").values_list("pk", "recipient_id", "kind"),
        ("deliveries", Delivery.objects.count()),
    ]


def told(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def card_of(page: str, association) -> str:
    """The part of the page about one association (its card)."""
    start = page.index(f'data-association="{association.pk}"')
    return page[start : page.index("</li>", start)]


# --- Signed out -------------------------------------------------------------------------------


def test_signed_out_the_page_and_its_forms_go_to_sign_in(world):
    before = written()
    client = world.client("anonymous")
    for response in [
        client.get(LIST),
        client.post(join_url(world.a), {"driver": "on"}),
        client.post(withdraw_url(Membership.objects.get(user=world.people["rider"]))),
    ]:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("webapp:sign-in"))
    assert written() == before


# --- The list ---------------------------------------------------------------------------------


def test_the_list_shows_each_association_with_my_membership_in_words(world):
    world.a.phone, world.a.email = "0281-123 45", "styrelsen@appelbo.se"
    world.a.save()
    other = other_association(world)
    # Lena has asked to drive for Dala-Järna PRO; she is in no other association.
    MembershipFactory(
        user=world.people["proxy"],
        association=other,
        roles=[Role.MEMBER, Role.DRIVER],
        state=MembershipState.PENDING,
    )
    page = world.client("proxy").get(LIST).content.decode()
    mine = card_of(page, other)
    assert "Dala-Järna PRO" in mine
    assert 'data-membership-state="pending"' in mine
    assert "Waiting for approval" in mine
    assert "Member, volunteer driver" in mine
    assert "Withdraw my request" in mine
    assert "Ask to join" not in mine
    theirs = card_of(page, world.a)
    assert "Äppelbo byalag" in theirs and "Vansbro" in theirs
    assert 'href="tel:0281-123 45"' in theirs and "styrelsen@appelbo.se" in theirs
    assert "Ask to join" in theirs and "I would also like to drive as a volunteer" in theirs
    assert "data-membership-state" not in theirs
    # Mine first.
    assert page.index(f'data-association="{other.pk}"') < page.index(
        f'data-association="{world.a.pk}"'
    )


def test_an_active_member_sees_active_and_the_roles_and_no_join_form(world):
    page = world.client("holding_driver").get(LIST).content.decode()
    card = card_of(page, world.a)
    assert 'data-membership-state="active"' in card
    assert "Member, volunteer driver" in card
    assert "Ask to join" not in card and "Withdraw" not in card


def test_a_suspended_member_sees_the_reason_and_cannot_ask_again(world):
    membership = Membership.objects.get(user=world.people["other_resident"])
    membership.state, membership.state_reason = MembershipState.SUSPENDED, "Obetalda avgifter"
    membership.save()
    client = world.client("other_resident")
    card = card_of(client.get(LIST).content.decode(), world.a)
    assert "Suspended</span>: Obetalda avgifter" in card
    assert "Ask to join" not in card
    before = written()
    response = client.post(join_url(world.a))
    assert response.status_code == 302
    assert told(response) == [
        "Your membership of Äppelbo byalag is suspended: Obetalda avgifter. Call the "
        "association if you want to talk about it."
    ]
    assert written() == before


def test_the_search_narrows_by_name_or_village(world):
    for n in range(6):
        AssociationFactory(name=f"Byalaget Norr {n}")
    village_of_b = VillageFactory(name="Nornäs", municipality=world.a.municipality)
    other_association(world).villages.add(village_of_b)
    client = world.client("analyst")
    page = client.get(LIST).content.decode()
    assert 'name="q"' in page  # many associations: the search is offered
    response = client.get(LIST, {"q": "nornäs"})
    names = [row["association"].name for row in response.context["rows"]]
    assert names == ["Dala-Järna PRO"]
    response = client.get(LIST, {"q": "äppelbo"})
    assert [row["association"].name for row in response.context["rows"]] == ["Äppelbo byalag"]
    response = client.get(LIST, {"q": "Ingenstans"})
    assert response.context["rows"] == []
    assert "No association fits" in response.content.decode()
    assert client.get(LIST, {"q": "x" * 101}).status_code == 400


@pytest.mark.parametrize("extra", [0, 5])
def test_the_list_has_a_pinned_query_count(world, extra, django_assert_num_queries):
    for _n in range(extra):
        association = AssociationFactory()
        association.villages.add(VillageFactory(municipality=association.municipality))
    client = world.client("rider")
    client.get(LIST)
    # session, user, shell, the associations, their villages, my memberships
    with django_assert_num_queries(6):
        client.get(LIST)


# --- Asking to join ------------------------------------------------------------------------


def test_asking_to_join_makes_a_waiting_membership_and_tells_the_coordinators(world):
    other = other_association(world)
    response = world.client("rider").post(join_url(other), {"driver": "on"})
    assert response.status_code == 302 and response["Location"] == LIST
    assert told(response) == [
        "You have asked to join Dala-Järna PRO. Its coordinators will answer, and we will "
        "tell you when they have."
    ]
    membership = Membership.objects.get(user=world.people["rider"], association=other)
    assert (membership.state, membership.roles) == (
        MembershipState.PENDING,
        [Role.MEMBER, Role.DRIVER],
    )
    [note] = Notification.objects.filter(kind="membership.requested")
    assert note.recipient == world.people["coordinator_elsewhere"]
    assert note.payload["person"] == "Anna Eriksson"
    assert note.deliveries.filter(channel="live").exists()
    # The coordinators of Äppelbo byalag hear nothing of it.
    assert not Notification.objects.filter(recipient=world.people["coordinator"]).exists()


def test_without_the_box_ticked_one_asks_to_be_a_member_only(world):
    world.client("analyst").post(join_url(world.a))
    membership = Membership.objects.get(user=world.people["analyst"])
    assert membership.roles == [Role.MEMBER]
    [note] = Notification.objects.filter(kind="membership.requested")
    assert note.recipient == world.people["coordinator"]


def test_the_coordinators_message_opens_the_roster_at_the_requests(world):
    world.client("analyst").post(join_url(world.a))
    note = Notification.objects.get(kind="membership.requested")
    client = world.client("coordinator")
    response = client.get(f"/notifications/{note.pk}/open")
    assert response["Location"] == f"/console/roster/?association={world.a.pk}#pending-title"
    roster = client.get(response["Location"]).content.decode()
    assert "Approve Per Ek" in roster and "Decline Per Ek" in roster


def test_asking_twice_is_refused_with_a_message_and_writes_nothing(world):
    client = world.client("analyst")
    client.post(join_url(world.a))
    client.get(LIST)  # its message read
    before = written()
    response = client.post(join_url(world.a), {"driver": "on"})
    assert response.status_code == 302
    assert told(response) == ["You have already asked to join Äppelbo byalag."]
    assert written() == before


def test_an_unknown_association_is_a_404(world):
    before = written()
    assert world.client("analyst").post("/associations/999999/join").status_code == 404
    assert written() == before


# --- Taking a request back --------------------------------------------------------------------


def test_withdrawing_my_waiting_request(world):
    client = world.client("analyst")
    client.post(join_url(world.a))
    client.get(LIST)  # its message read
    membership = Membership.objects.get(user=world.people["analyst"])
    response = client.post(withdraw_url(membership))
    assert response.status_code == 302
    assert told(response) == ["Your request to join Äppelbo byalag is withdrawn."]
    assert not Membership.objects.filter(pk=membership.pk).exists()
    page = client.get(LIST).content.decode()
    assert "Ask to join" in card_of(page, world.a)


def test_someone_elses_request_is_a_404_and_an_active_membership_is_not_withdrawn(world):
    world.client("analyst").post(join_url(world.a))
    pending = Membership.objects.get(user=world.people["analyst"])
    before = written()
    assert world.client("coordinator").post(withdraw_url(pending)).status_code == 404
    assert written() == before
    mine = Membership.objects.get(user=world.people["rider"])
    response = world.client("rider").post(withdraw_url(mine))
    assert response.status_code == 302
    assert told(response)[0].startswith("Your request to join Äppelbo byalag has already been")
    assert written() == before


# --- Declining in the console -------------------------------------------------------------


def test_a_coordinator_declines_with_a_reason_the_person_is_told_and_may_ask_again(world):
    analyst = world.people["analyst"]
    world.client("analyst").post(join_url(world.a))
    pending = Membership.objects.get(user=analyst)
    response = world.client("coordinator").post(
        decline_url(pending), {"association": world.a.pk, "reason": "Du bor i en annan kommun."}
    )
    assert response.status_code == 302
    assert told(response) == ["You said no to Per Ek. They are told, and may ask again later."]
    assert not Membership.objects.filter(pk=pending.pk).exists()
    [note] = Notification.objects.filter(kind="membership.declined")
    assert note.recipient == analyst
    assert note.payload == {"association": "Äppelbo byalag", "reason": "Du bor i en annan kommun."}
    entry = AuditEntry.objects.get(action="membership.decline")
    assert (entry.actor, entry.subject_id) == (world.people["coordinator"], analyst.pk)
    assert entry.detail == {"membership": pending.pk, "association": world.a.pk}
    # The message leads back to the associations page, where one may ask again.
    client = world.client("analyst")
    assert client.get(f"/notifications/{note.pk}/open")["Location"] == LIST
    assert "Ask to join" in card_of(client.get(LIST).content.decode(), world.a)
    client.post(join_url(world.a))
    assert Membership.objects.get(user=analyst).state == MembershipState.PENDING


@pytest.mark.parametrize(
    ("role", "status"),
    [("coordinator_elsewhere", 404), ("rider", 403), ("analyst", 403)],
)
def test_nobody_else_declines(world, role, status):
    world.client("proxy").post(join_url(world.a))
    pending = Membership.objects.get(user=world.people["proxy"])
    before = written()
    response = world.client(role).post(decline_url(pending), {"reason": "Nej"})
    assert response.status_code == status
    assert written() == before


def test_an_active_member_is_not_declined_and_a_long_reason_is_a_400(world):
    active = Membership.objects.get(user=world.people["other_resident"])
    before = written()
    client = world.client("coordinator")
    response = client.post(decline_url(active), {"reason": "Nej"})
    assert response.status_code == 302
    assert told(response)[0].startswith("Only a request waiting for approval can be declined.")
    world.client("proxy").post(join_url(world.a))
    pending = Membership.objects.get(user=world.people["proxy"])
    before = written()
    response = client.post(decline_url(pending), {"reason": "x" * 301})
    assert response.status_code == 400
    assert written() == before
    assert not AuditEntry.objects.filter(action="membership.decline").exists()


# --- Where the page is linked -------------------------------------------------------------


def test_the_start_page_card_shows_only_without_an_active_membership(world):
    assert "data-join-card" not in world.client("rider").get("/").content.decode()
    page = world.client("analyst").get("/").content.decode()
    assert "You are not a member of an association yet" in page
    assert f'href="{LIST}"' in page
    world.client("analyst").post(join_url(world.a))
    page = world.client("analyst").get("/").content.decode()
    assert "Your request to join waits for an answer" in page
    Membership.objects.filter(user=world.people["analyst"]).update(state=MembershipState.ACTIVE)
    assert "data-join-card" not in world.client("analyst").get("/").content.decode()


def test_the_profile_lists_my_associations_with_their_state(world):
    page = world.client("holding_driver").get("/profile/").content.decode()
    section = page[page.index("data-my-associations") :]
    assert "Äppelbo byalag: " in section and "active" in section
    assert "member, volunteer driver" in section
    assert f'href="{LIST}"' in section
    page = world.client("analyst").get("/profile/").content.decode()
    assert "You are not a member of an association yet." in page


def test_the_not_member_pages_and_the_ride_form_link_to_the_page(world):
    client = world.client("analyst")
    for url in ["/carpool/", "/sharing/new"]:
        response = client.get(url)
        assert response.status_code == 403
        assert f'href="{LIST}"' in response.content.decode()
    # Lena books for her mother but is no member herself: the form says where to join.
    assert "data-join-link" in world.client("proxy").get("/rides/new").content.decode()
    assert "data-join-link" not in world.client("rider").get("/rides/new").content.decode()

"""Asking to join an association, taking the request back, and a coordinator declining
it: who is told (the association's active coordinators; the person declined), what is
written, and what is refused with nothing written."""

import pytest
from django.contrib.gis.geos import MultiPolygon, Point, Polygon
from django.utils import translation

from backend.community.models import Membership, MembershipState, Role
from backend.community.selectors import associations_to_join
from backend.community.services import (
    membership_approve,
    membership_decline,
    membership_request,
    membership_withdraw,
)
from backend.errors import ApplicationError, ErrorKind
from backend.notifications.models import DeliveryStatus, Notification
from backend.notifications.selectors import notification_message
from backend.rides.models import RiderApproval
from tests.factories import (
    AssociationFactory,
    MembershipFactory,
    MunicipalityFactory,
    UserFactory,
    VillageFactory,
    coordinator_of,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def association():
    return AssociationFactory(name="Äppelbo byalag")


def coordinator(association, **user):
    person = UserFactory(**user)
    MembershipFactory(user=person, association=association, roles=[Role.MEMBER, Role.COORDINATOR])
    return person


def requested(kind: str = "membership.requested") -> list[Notification]:
    return list(Notification.objects.filter(kind=kind).order_by("recipient_id"))


# --- Asking to join -------------------------------------------------------------------------


def test_asking_to_join_tells_every_active_coordinator_once(
    association, django_capture_on_commit_callbacks
):
    karin = coordinator(association, contact_by_email=True, email="karin@example.se")
    olle = coordinator(association, preferred_language="sv")
    # Not told: a suspended coordinator, a plain member, another association's coordinator.
    MembershipFactory(
        association=association,
        roles=[Role.MEMBER, Role.COORDINATOR],
        state=MembershipState.SUSPENDED,
    )
    MembershipFactory(association=association)
    coordinator_of(AssociationFactory(name="Dala-Järna PRO"))
    anna = UserFactory(full_name="Anna Eriksson")
    with django_capture_on_commit_callbacks(execute=False) as after_commit:
        membership = membership_request(user=anna, association=association, roles=["driver"])
    assert (membership.state, membership.roles) == (
        MembershipState.PENDING,
        [Role.MEMBER, Role.DRIVER],
    )
    notes = requested()
    assert [n.recipient for n in notes] == sorted([karin, olle], key=lambda p: p.pk)
    assert notes[0].payload == {
        "association": "Äppelbo byalag",
        "association_id": association.pk,
        "person": "Anna Eriksson",
        "roles": ["member", "driver"],
        "membership": membership.pk,
    }
    # Delivered after the commit: live for both, and e-mail for the one who chose it.
    assert after_commit
    channels = {n.recipient_id: dict(n.deliveries.values_list("channel", "status")) for n in notes}
    assert channels[karin.pk]["live"] == DeliveryStatus.PENDING
    assert channels[karin.pk]["email"] == DeliveryStatus.PENDING
    assert "sms" not in channels[karin.pk]  # not a kind for SMS
    assert channels[olle.pk]["live"] == DeliveryStatus.PENDING
    english = notification_message(notes[0], language="en")
    assert english["title"] == "Anna Eriksson asks to join"
    assert english["body"] == (
        "Anna Eriksson asks to join Äppelbo byalag as member, volunteer driver. "
        "Approve or decline the request in the roster."
    )
    swedish = notification_message(notes[1], language="sv")
    assert swedish["title"] == "Anna Eriksson vill gå med"
    assert "medlem, frivillig förare" in swedish["body"]


def test_a_coordinator_asking_to_join_another_association_is_not_told_of_it_himself(
    association,
):
    karin = coordinator(association)
    elsewhere = AssociationFactory(name="Dala-Järna PRO")
    membership_request(user=karin, association=elsewhere)
    assert requested() == []


@pytest.mark.parametrize(
    ("state", "reason", "says"),
    [
        (MembershipState.PENDING, "", "You have already asked to join Äppelbo byalag."),
        (MembershipState.ACTIVE, "", "You are already a member of Äppelbo byalag."),
        (
            MembershipState.SUSPENDED,
            "Kör inte säkert",
            "Your membership of Äppelbo byalag is suspended: Kör inte säkert.",
        ),
    ],
    ids=["waiting", "active", "suspended-with-reason"],
)
def test_asking_again_is_refused_saying_why_and_writes_nothing(association, state, reason, says):
    coordinator(association)
    existing = MembershipFactory(association=association, state=state, state_reason=reason)
    with translation.override("en"), pytest.raises(ApplicationError) as refused:
        membership_request(user=existing.user, association=association, roles=["driver"])
    assert (refused.value.code, refused.value.kind) == ("already_member", ErrorKind.CONFLICT)
    assert refused.value.message.startswith(says)
    existing_now = Membership.objects.get(user=existing.user)
    assert (existing_now.pk, existing_now.state, existing_now.roles) == (
        existing.pk,
        state,
        [Role.MEMBER],
    )
    assert requested() == []


# --- Withdrawing ------------------------------------------------------------------------------


def test_withdrawing_a_waiting_request_removes_it_and_one_may_ask_again(association):
    anna = UserFactory()
    membership = membership_request(user=anna, association=association)
    membership_withdraw(actor=anna, membership=membership)
    assert not Membership.objects.filter(user=anna).exists()
    again = membership_request(user=anna, association=association)
    assert again.state == MembershipState.PENDING


def test_nobody_withdraws_someone_elses_request(association):
    membership = membership_request(user=UserFactory(), association=association)
    with pytest.raises(ApplicationError) as refused:
        membership_withdraw(actor=coordinator(association), membership=membership)
    assert (refused.value.code, refused.value.kind) == ("membership_not_own", ErrorKind.FORBIDDEN)
    assert Membership.objects.filter(pk=membership.pk).exists()


@pytest.mark.parametrize("state", [MembershipState.ACTIVE, MembershipState.SUSPENDED])
def test_an_answered_membership_is_not_withdrawn(association, state):
    membership = MembershipFactory(association=association, state=state)
    with pytest.raises(ApplicationError) as refused:
        membership_withdraw(actor=membership.user, membership=membership)
    assert (refused.value.code, refused.value.kind) == (
        "membership_wrong_state",
        ErrorKind.CONFLICT,
    )
    membership.refresh_from_db()
    assert membership.state == state


# --- Declining ------------------------------------------------------------------------------


def test_declining_removes_the_request_tells_the_person_and_lets_them_ask_again(association):
    karin = coordinator(association)
    anna = UserFactory(preferred_language="sv")
    membership = membership_request(user=anna, association=association)
    RiderApproval.objects.create(membership=membership, approved_by=karin)
    membership_decline(actor=karin, membership=membership, reason="  Du bor utanför byn.  ")
    assert not Membership.objects.filter(pk=membership.pk).exists()
    assert not RiderApproval.objects.exists()
    [told] = requested("membership.declined")
    assert told.recipient == anna
    assert told.payload == {"association": "Äppelbo byalag", "reason": "Du bor utanför byn."}
    assert notification_message(told, language="en")["body"] == (
        "Äppelbo byalag said no to your request to join. The reason: Du bor utanför byn."
    )
    assert notification_message(told, language="sv")["title"] == "Nej till att gå med"
    assert membership_request(user=anna, association=association).state == MembershipState.PENDING


def test_declining_without_a_reason_says_no_more(association):
    membership = membership_request(user=UserFactory(), association=association)
    membership_decline(actor=coordinator(association), membership=membership)
    [told] = requested("membership.declined")
    assert notification_message(told, language="en")["body"] == (
        "Äppelbo byalag said no to your request to join."
    )


@pytest.mark.parametrize("who", ["coordinator_elsewhere", "member", "the_applicant"])
def test_only_a_coordinator_of_the_association_declines(association, who):
    membership = membership_request(user=UserFactory(), association=association)
    actor = {
        "coordinator_elsewhere": lambda: coordinator_of(AssociationFactory()),
        "member": lambda: MembershipFactory(association=association).user,
        "the_applicant": lambda: membership.user,
    }[who]()
    with pytest.raises(ApplicationError) as refused:
        membership_decline(actor=actor, membership=membership, reason="Nej")
    assert (refused.value.code, refused.value.kind) == ("not_coordinator", ErrorKind.FORBIDDEN)
    assert Membership.objects.filter(pk=membership.pk, state=MembershipState.PENDING).exists()
    assert requested("membership.declined") == []


@pytest.mark.parametrize("state", [MembershipState.ACTIVE, MembershipState.SUSPENDED])
def test_an_answered_membership_is_not_declined(association, state):
    membership = MembershipFactory(association=association, state=state)
    with pytest.raises(ApplicationError) as refused:
        membership_decline(actor=coordinator(association), membership=membership)
    assert (refused.value.code, refused.value.kind) == (
        "membership_wrong_state",
        ErrorKind.CONFLICT,
    )
    assert Membership.objects.get(pk=membership.pk).state == state
    assert requested("membership.declined") == []


def test_approving_a_request_declined_meanwhile_is_a_conflict_not_a_crash(association):
    karin = coordinator(association)
    membership = membership_request(user=UserFactory(), association=association)
    stale = Membership.objects.get(pk=membership.pk)
    membership_decline(actor=karin, membership=membership)
    with pytest.raises(ApplicationError) as refused:
        membership_approve(actor=karin, membership=stale)
    assert refused.value.code == "membership_wrong_state"
    assert not Membership.objects.filter(pk=membership.pk).exists()


# --- The list to join from --------------------------------------------------------------------


def test_the_list_puts_mine_then_those_around_my_home_first_and_searches_villages():
    vansbro = MunicipalityFactory()
    malung = MunicipalityFactory(
        name="Malung-Sälen",
        code="2023",
        boundary=MultiPolygon(Polygon.from_bbox((12.5, 60.5, 13.4, 61.3)), srid=4326),
    )
    far = AssociationFactory(name="Alfta byalag", municipality=malung)
    far.villages.add(VillageFactory(name="Lima", municipality=malung, location=Point(13.3, 60.9)))
    near = AssociationFactory(name="Västerdalarnas byaskjuts", municipality=vansbro)
    near.villages.add(
        VillageFactory(name="Äppelbo", municipality=vansbro, location=Point(13.99, 60.49))
    )
    nearer = AssociationFactory(name="Vansbro PRO", municipality=vansbro)
    nearer.villages.add(
        VillageFactory(name="Vansbro", municipality=vansbro, location=Point(14.2246, 60.5089))
    )
    mine = AssociationFactory(name="Nås byalag", municipality=malung)
    anna = UserFactory(home_location=Point(14.23, 60.51, srid=4326))
    MembershipFactory(user=anna, association=mine, state=MembershipState.PENDING)
    listed = list(associations_to_join(user=anna))
    assert [a.name for a in listed] == [
        "Nås byalag",
        "Vansbro PRO",
        "Västerdalarnas byaskjuts",
        "Alfta byalag",
    ]
    assert [a.near_home for a in listed] == [False, True, True, False]
    assert [a.name for a in associations_to_join(user=anna, search="lim")] == ["Alfta byalag"]
    assert [a.name for a in associations_to_join(user=UserFactory(), search="")] == [
        "Alfta byalag",
        "Nås byalag",
        "Vansbro PRO",
        "Västerdalarnas byaskjuts",
    ]

"""`membership_set_roles` and the coordinator role: given only to an active member who
signs in (a request to join, a suspended membership and a managed profile are refused,
409, nothing written, nobody told); the person is told when given it or losing it."""

import threading

import pytest
from django.db import transaction
from django.utils import translation

from backend.community.models import Membership, MembershipState, Role
from backend.community.services import membership_role_change, membership_set_roles
from backend.errors import ApplicationError, ErrorKind
from backend.notifications.models import Notification
from tests.factories import (
    AssociationFactory,
    ManagedProfileFactory,
    MembershipFactory,
    UserFactory,
    coordinator_of,
)
from tests.locks import Beside, sessions_waiting_on_a_lock

pytestmark = pytest.mark.django_db

KINDS = ["membership.coordinator_role", "membership.coordinator_role_taken"]


@pytest.fixture
def association():
    return AssociationFactory(name="Äppelbo byalag")


def told(membership) -> list[tuple[str, dict]]:
    return list(
        Notification.objects.filter(recipient=membership.user, kind__in=KINDS)
        .order_by("pk")
        .values_list("kind", "payload")
    )


def test_an_active_member_made_a_coordinator_is_told_once(association):
    coordinator = coordinator_of(association)
    member = MembershipFactory(association=association, roles=[Role.MEMBER, Role.DRIVER])
    roles = ["member", "driver", "coordinator"]
    membership_set_roles(actor=coordinator, membership=member, roles=roles)
    membership_set_roles(actor=coordinator, membership=member, roles=roles)
    member.refresh_from_db()
    assert member.roles == [Role.MEMBER, Role.DRIVER, Role.COORDINATOR]
    assert told(member) == [
        (
            "membership.coordinator_role",
            {"association": "Äppelbo byalag", "association_id": association.pk},
        )
    ]


def test_a_coordinator_losing_the_role_is_told(association):
    other = MembershipFactory(association=association, roles=[Role.MEMBER, Role.COORDINATOR])
    membership_set_roles(actor=coordinator_of(association), membership=other, roles=["member"])
    other.refresh_from_db()
    assert other.roles == [Role.MEMBER]
    assert told(other) == [
        (
            "membership.coordinator_role_taken",
            {"association": "Äppelbo byalag", "association_id": association.pk},
        )
    ]


@pytest.mark.parametrize(
    ("state", "en", "sv"),
    [
        (
            MembershipState.PENDING,
            "Anna Svensson's membership is waiting for approval: only an active member can "
            "be made a coordinator. Approve the membership first.",
            "Medlemskapet för Anna Svensson har status väntar på godkännande: bara en aktiv "
            "medlem kan bli samordnare. Godkänn medlemskapet först.",
        ),
        (
            MembershipState.SUSPENDED,
            "Anna Svensson's membership is suspended: only an active member can be made a "
            "coordinator. Make the membership active again first.",
            "Medlemskapet för Anna Svensson har status avstängd: bara en aktiv medlem kan "
            "bli samordnare. Gör medlemskapet aktivt igen först.",
        ),
    ],
    ids=["waiting", "suspended"],
)
def test_only_an_active_member_can_be_made_a_coordinator(association, state, en, sv):
    member = MembershipFactory(
        association=association, state=state, user=UserFactory(full_name="Anna Svensson")
    )
    coordinator = coordinator_of(association)
    for language, message in [("en", en), ("sv", sv)]:
        with pytest.raises(ApplicationError) as refused, translation.override(language):
            membership_set_roles(
                actor=coordinator, membership=member, roles=["member", "coordinator"]
            )
        assert refused.value.code == "membership_wrong_state"
        assert refused.value.kind == ErrorKind.CONFLICT
        assert str(refused.value.message) == message
    member.refresh_from_db()
    assert member.roles == [Role.MEMBER]
    assert told(member) == []


def test_a_managed_profile_cannot_be_made_a_coordinator(association):
    member = MembershipFactory(
        association=association, user=ManagedProfileFactory(full_name="Gustav Ek")
    )
    coordinator = coordinator_of(association)
    for language, message in [
        (
            "en",
            "Gustav Ek has no login (a managed profile) and so cannot be a coordinator. "
            "Choose a member who signs in.",
        ),
        (
            "sv",
            "Gustav Ek har ingen inloggning (en hanterad profil) och kan därför inte vara "
            "samordnare. Välj en medlem som loggar in.",
        ),
    ]:
        with pytest.raises(ApplicationError) as refused, translation.override(language):
            membership_set_roles(
                actor=coordinator, membership=member, roles=["member", "coordinator"]
            )
        assert refused.value.code == "membership_wrong_state"
        assert str(refused.value.message) == message
    member.refresh_from_db()
    assert member.roles == [Role.MEMBER]
    assert Notification.objects.filter(recipient=member.user).count() == 0


def test_a_suspended_coordinator_keeps_other_roles_and_can_lose_the_role(association):
    """The rule is about giving: a coordinator suspended since can still lose the role."""
    other = MembershipFactory(
        association=association,
        state=MembershipState.SUSPENDED,
        roles=[Role.MEMBER, Role.DRIVER, Role.COORDINATOR],
    )
    membership_set_roles(
        actor=coordinator_of(association), membership=other, roles=["member", "driver"]
    )
    other.refresh_from_db()
    assert other.roles == [Role.MEMBER, Role.DRIVER]


@pytest.mark.django_db(transaction=True)
def test_a_suspension_meanwhile_is_seen_before_the_role_is_given(association):
    """A coordinator suspends the member while another makes them a coordinator: the role
    change waits for the suspension's lock on the membership row, then reads the state
    it left, and refuses."""
    coordinator = coordinator_of(association)
    member = MembershipFactory(association=association)
    locked, release = threading.Event(), threading.Event()

    def suspend_slowly() -> None:
        with transaction.atomic():
            Membership.objects.select_for_update().filter(pk=member.pk).update(
                state=MembershipState.SUSPENDED, state_reason="Flyttat"
            )
            locked.set()
            release.wait(timeout=30)

    suspending = Beside(suspend_slowly)
    assert locked.wait(timeout=10)
    giving = Beside(
        lambda: membership_set_roles(
            actor=coordinator,
            membership=Membership.objects.get(pk=member.pk),
            roles=["member", "coordinator"],
        )
    )
    waited = not giving.done_within(1) and sessions_waiting_on_a_lock() >= 1
    release.set()
    suspending.result()
    with pytest.raises(ApplicationError) as refused:
        giving.result()
    assert waited, "the role change did not wait for the membership row"
    assert refused.value.code == "membership_wrong_state"
    member.refresh_from_db()
    assert (member.state, member.roles) == (MembershipState.SUSPENDED, [Role.MEMBER])
    assert told(member) == []


@pytest.mark.django_db(transaction=True)
def test_two_roles_given_at_the_same_moment_both_count(association):
    """One coordinator makes the member a driver while another makes them a coordinator,
    each from the roster row they read before: the second waits for the first's lock and
    keeps the role the first gave."""
    first, second = coordinator_of(association), coordinator_of(association)
    member = MembershipFactory(association=association, roles=[Role.MEMBER])
    read_before = Membership.objects.get(pk=member.pk)
    locked, release = threading.Event(), threading.Event()

    def give_driver_slowly() -> None:
        with transaction.atomic():
            membership_role_change(
                actor=first,
                membership=Membership.objects.get(pk=member.pk),
                role=Role.DRIVER,
                give=True,
            )
            locked.set()
            release.wait(timeout=30)

    driver = Beside(give_driver_slowly)
    assert locked.wait(timeout=10)
    coordinator = Beside(
        lambda: membership_role_change(
            actor=second,
            membership=read_before,
            role=Role.COORDINATOR,
            give=True,
        )
    )
    waited = not coordinator.done_within(1) and sessions_waiting_on_a_lock() >= 1
    release.set()
    driver.result()
    coordinator.result()
    assert waited, "the second change did not wait for the membership row"
    member.refresh_from_db()
    assert member.roles == [Role.MEMBER, Role.DRIVER, Role.COORDINATOR]

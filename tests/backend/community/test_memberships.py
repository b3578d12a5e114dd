import threading

import pytest
from django.db import IntegrityError, connection, transaction

from backend.community.models import Membership, MembershipState, Role
from backend.community.selectors import (
    association_memberships_for,
    coordinated_association_ids,
    user_is_coordinator,
)
from backend.community.services import (
    membership_approve,
    membership_request,
    membership_set_roles,
    membership_suspend,
)
from backend.errors import ApplicationError, ErrorKind
from tests.factories import AssociationFactory, MembershipFactory, UserFactory, coordinator_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def association_a():
    return AssociationFactory(name="Äppelbo byalag")


@pytest.fixture
def association_b():
    return AssociationFactory(name="Dala-Järna PRO")


def test_joining_waits_for_approval(association_a):
    membership = membership_request(user=UserFactory(), association=association_a, roles=["driver"])
    assert membership.state == MembershipState.PENDING
    assert membership.roles == [Role.MEMBER, Role.DRIVER]


def test_joining_twice_is_a_conflict(association_a):
    user = UserFactory()
    membership_request(user=user, association=association_a)
    with pytest.raises(ApplicationError) as refused:
        membership_request(user=user, association=association_a)
    assert refused.value.code == "already_member"
    assert Membership.objects.filter(user=user).count() == 1


def test_nobody_makes_themself_coordinator(association_a):
    with pytest.raises(ApplicationError) as refused:
        membership_request(user=UserFactory(), association=association_a, roles=["coordinator"])
    assert refused.value.kind == ErrorKind.FORBIDDEN
    assert not Membership.objects.exists()


def test_coordinator_of_the_association_approves(association_a):
    coordinator = coordinator_of(association_a)
    pending = MembershipFactory(association=association_a, state=MembershipState.PENDING)
    approved = membership_approve(actor=coordinator, membership=pending)
    assert approved.state == MembershipState.ACTIVE
    assert approved.state_changed_by == coordinator


@pytest.mark.parametrize(
    "who",
    [
        "member_of_a",
        "driver_of_a",
        "coordinator_of_b",
        "pending_coordinator_of_a",
        "suspended_coordinator_of_a",
        "the_applicant",
    ],
)
def test_only_an_active_coordinator_of_the_association_approves(who, association_a, association_b):
    pending = MembershipFactory(association=association_a, state=MembershipState.PENDING)
    actor = {
        "member_of_a": lambda: MembershipFactory(association=association_a).user,
        "driver_of_a": lambda: (
            MembershipFactory(association=association_a, roles=[Role.MEMBER, Role.DRIVER]).user
        ),
        "coordinator_of_b": lambda: coordinator_of(association_b),
        "pending_coordinator_of_a": lambda: (
            MembershipFactory(
                association=association_a,
                roles=[Role.MEMBER, Role.COORDINATOR],
                state=MembershipState.PENDING,
            ).user
        ),
        "suspended_coordinator_of_a": lambda: (
            MembershipFactory(
                association=association_a,
                roles=[Role.MEMBER, Role.COORDINATOR],
                state=MembershipState.SUSPENDED,
            ).user
        ),
        "the_applicant": lambda: pending.user,
    }[who]()
    with pytest.raises(ApplicationError) as refused:
        membership_approve(actor=actor, membership=pending)
    assert refused.value.code == "not_coordinator"
    assert refused.value.kind == ErrorKind.FORBIDDEN
    pending.refresh_from_db()
    assert pending.state == MembershipState.PENDING


def test_approving_an_active_membership_is_a_conflict(association_a):
    coordinator = coordinator_of(association_a)
    active = MembershipFactory(association=association_a)
    with pytest.raises(ApplicationError) as refused:
        membership_approve(actor=coordinator, membership=active)
    assert refused.value.code == "membership_wrong_state"


def test_suspension_needs_a_reason_and_keeps_it(association_a):
    coordinator = coordinator_of(association_a)
    member = MembershipFactory(association=association_a)
    with pytest.raises(ApplicationError) as refused:
        membership_suspend(actor=coordinator, membership=member, reason="  ")
    assert refused.value.code == "reason_missing"
    suspended = membership_suspend(actor=coordinator, membership=member, reason="Körkort saknas")
    assert (suspended.state, suspended.state_reason) == (
        MembershipState.SUSPENDED,
        "Körkort saknas",
    )
    again = membership_approve(actor=coordinator, membership=suspended)
    assert again.state == MembershipState.ACTIVE


def test_coordinator_cannot_suspend_or_demote_themself(association_a):
    coordinator = coordinator_of(association_a)
    own = coordinator.memberships.get()
    with pytest.raises(ApplicationError):
        membership_suspend(actor=coordinator, membership=own, reason="Trött")
    with pytest.raises(ApplicationError):
        membership_set_roles(actor=coordinator, membership=own, roles=["member"])
    own.refresh_from_db()
    assert own.state == MembershipState.ACTIVE
    assert Role.COORDINATOR in own.roles


def test_coordinator_sets_roles_member_always_included(association_a):
    coordinator = coordinator_of(association_a)
    member = MembershipFactory(association=association_a)
    changed = membership_set_roles(actor=coordinator, membership=member, roles=["driver"])
    assert changed.roles == [Role.MEMBER, Role.DRIVER]


@pytest.mark.parametrize(
    "roles", [["member", "pilot"], ["driver"], []], ids=["unknown-role", "without-member", "empty"]
)
def test_database_refuses_roles_outside_the_list_or_without_member(roles, association_a):
    with (
        pytest.raises(IntegrityError, match="membership_roles_known_and_member"),
        transaction.atomic(),
    ):
        MembershipFactory(association=association_a, roles=roles)


def test_database_refuses_two_memberships_of_one_person_in_one_association(association_a):
    member = MembershipFactory(association=association_a)
    with pytest.raises(IntegrityError, match="membership_unique"), transaction.atomic():
        MembershipFactory(association=association_a, user=member.user)


def test_roster_for_each_role(association_a, association_b):
    coordinator = coordinator_of(association_a)
    member = MembershipFactory(association=association_a)
    pending = MembershipFactory(association=association_a, state=MembershipState.PENDING)
    member_of_b = MembershipFactory(association=association_b)
    coordinator_b = coordinator_of(association_b)

    def names(viewer, association):
        return set(
            association_memberships_for(viewer=viewer, association=association).values_list(
                "user__full_name", flat=True
            )
        )

    everyone_in_a = {coordinator.full_name, member.user.full_name, pending.user.full_name}
    assert names(coordinator, association_a) == everyone_in_a
    assert names(member.user, association_a) == {coordinator.full_name}
    assert names(pending.user, association_a) == set()
    assert names(member_of_b.user, association_a) == set()
    assert names(coordinator_b, association_a) == set()
    assert names(member.user, association_b) == set()


@pytest.mark.django_db(transaction=True)
def test_two_coordinators_approving_at_once_change_the_membership_once(association_a):
    first, second = coordinator_of(association_a), coordinator_of(association_a)
    pending = MembershipFactory(association=association_a, state=MembershipState.PENDING)
    outcomes = []
    barrier = threading.Barrier(2)

    def approve(actor):
        try:
            barrier.wait()
            membership_approve(actor=actor, membership=Membership.objects.get(pk=pending.pk))
            outcomes.append("approved")
        except ApplicationError as error:
            outcomes.append(error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(actor,)) for actor in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["approved", "membership_wrong_state"]


def test_the_member_is_told_when_approved_and_when_suspended(association_a):
    coordinator = coordinator_of(association_a)
    pending = MembershipFactory(association=association_a, state=MembershipState.PENDING)
    membership_approve(actor=coordinator, membership=pending)
    membership_suspend(actor=coordinator, membership=pending, reason="Flyttat")
    told = list(pending.user.notifications.order_by("id").values_list("kind", "payload"))
    assert told == [
        ("membership.approved", {"association": "Äppelbo byalag"}),
        ("membership.suspended", {"association": "Äppelbo byalag", "reason": "Flyttat"}),
    ]


def test_a_refused_approval_tells_nobody(association_a):
    pending = MembershipFactory(association=association_a, state=MembershipState.PENDING)
    with pytest.raises(ApplicationError):
        membership_approve(actor=UserFactory(), membership=pending)
    assert not pending.user.notifications.exists()


def test_who_coordinates_an_association():
    """user_is_coordinator is SQL for speed: the rule of coordinated_association_ids."""
    association, other = AssociationFactory(), AssociationFactory()
    coordinator = coordinator_of(association)
    people = {
        "coordinator": coordinator,
        "member": MembershipFactory(association=association).user,
        "driver": MembershipFactory(association=association, roles=[Role.MEMBER, Role.DRIVER]).user,
        "suspended coordinator": MembershipFactory(
            association=association,
            roles=[Role.MEMBER, Role.COORDINATOR],
            state=MembershipState.SUSPENDED,
        ).user,
        "pending coordinator": MembershipFactory(
            association=association,
            roles=[Role.MEMBER, Role.COORDINATOR],
            state=MembershipState.PENDING,
        ).user,
        "coordinator elsewhere": coordinator_of(other),
        "outsider": UserFactory(),
    }
    for name, person in people.items():
        for place in (association, other):
            expected = place.pk in set(coordinated_association_ids(user=person))
            assert user_is_coordinator(user=person, association=place) == expected, (name, place)
    assert user_is_coordinator(user=coordinator, association=association)
    assert not user_is_coordinator(user=people["suspended coordinator"], association=association)

import pytest
from django.contrib.auth import authenticate
from django.utils import timezone

from backend.accounts.models import ProxyLink
from backend.community.models import MembershipState, Role
from backend.community.selectors import (
    coordinated_association_ids,
    people_actable_by,
    people_actable_everywhere_by,
    people_actable_in,
    people_actable_scope,
    people_names_actable_by,
    people_search,
    user_can_act_for,
    user_can_act_for_in,
)
from backend.community.services import (
    managed_profile_create,
    proxy_link_accept,
    proxy_link_create,
    proxy_link_remove,
)
from backend.errors import ApplicationError
from tests.factories import (
    AssociationFactory,
    ManagedProfileFactory,
    MembershipFactory,
    UserFactory,
    coordinator_of,
)

pytestmark = pytest.mark.django_db


def test_coordinator_creates_a_managed_profile_inside_the_association():
    association = AssociationFactory()
    coordinator = coordinator_of(association)
    greta = managed_profile_create(
        actor=coordinator, full_name="Greta Andersson", phone="0281-123 45", association=association
    )
    assert greta.is_managed and not greta.has_usable_password()
    assert greta.phone == "+4628112345"
    assert greta.memberships.get().state == MembershipState.ACTIVE
    assert user_can_act_for(actor=coordinator, resident=greta)
    assert authenticate(username="+4628112345", password="") is None


def test_a_relative_creating_a_managed_profile_becomes_its_proxy():
    daughter = UserFactory()
    greta = managed_profile_create(actor=daughter, full_name="Greta", relationship="dotter")
    link = ProxyLink.objects.get(resident=greta)
    assert (link.proxy, link.relationship, link.created_by) == (daughter, "dotter", daughter)
    assert not greta.memberships.exists()
    assert user_can_act_for(actor=daughter, resident=greta)


def test_only_a_coordinator_creates_inside_an_association():
    association = AssociationFactory()
    member = MembershipFactory(association=association).user
    with pytest.raises(ApplicationError) as refused:
        managed_profile_create(actor=member, full_name="Greta", association=association)
    assert refused.value.code == "not_coordinator"
    assert not ManagedProfileFactory._meta.model.objects.filter(full_name="Greta").exists()


def test_who_may_act_for_whom():
    association, other = AssociationFactory(), AssociationFactory()
    coordinator = coordinator_of(association)
    coordinator_elsewhere = coordinator_of(other)
    resident = MembershipFactory(association=association).user
    pending = MembershipFactory(association=association, state=MembershipState.PENDING).user
    suspended = MembershipFactory(association=association, state=MembershipState.SUSPENDED).user
    neighbour = MembershipFactory(association=association).user
    relative = UserFactory()
    ProxyLink.objects.create(proxy=relative, resident=resident, accepted_at=timezone.now())

    assert set(people_actable_by(actor=coordinator)) >= {resident, pending, neighbour, coordinator}
    assert suspended not in people_actable_by(actor=coordinator)
    assert set(people_actable_by(actor=relative)) == {relative, resident}
    assert set(people_actable_by(actor=neighbour)) == {neighbour}
    assert not user_can_act_for(actor=coordinator_elsewhere, resident=resident)
    assert not user_can_act_for(actor=resident, resident=relative)


def test_the_ids_in_sql_follow_the_same_rule_as_people_actable_by():
    """people_actable_scope is written as SQL for speed: it must give exactly the people
    of people_actable_by, for every way of acting for someone and every way not to, and
    say the same as the ORM's selectors where each is the actor's to act for."""
    association, other = AssociationFactory(), AssociationFactory()
    coordinator = coordinator_of(association)
    coordinator_of_both = coordinator_of(association)
    MembershipFactory(
        association=other, user=coordinator_of_both, roles=[Role.MEMBER, Role.COORDINATOR]
    )
    suspended_coordinator = MembershipFactory(
        association=other,
        roles=[Role.MEMBER, Role.COORDINATOR],
        state=MembershipState.SUSPENDED,
    ).user
    pending_coordinator = MembershipFactory(
        association=other,
        roles=[Role.MEMBER, Role.COORDINATOR],
        state=MembershipState.PENDING,
    ).user
    resident = MembershipFactory(association=association).user
    MembershipFactory(association=other, user=resident)  # in two associations: listed once
    MembershipFactory(association=association, state=MembershipState.PENDING)
    MembershipFactory(association=association, state=MembershipState.SUSPENDED)
    MembershipFactory(association=other, roles=[Role.MEMBER, Role.DRIVER])
    gone = MembershipFactory(association=association).user
    gone.is_active = False
    gone.save()
    relative = UserFactory()
    ProxyLink.objects.create(proxy=relative, resident=resident, accepted_at=timezone.now())
    ProxyLink.objects.create(proxy=relative, resident=gone, accepted_at=timezone.now())
    asked = UserFactory()
    ProxyLink.objects.create(proxy=asked, resident=resident)  # not answered yet
    greta = ManagedProfileFactory()
    ProxyLink.objects.create(proxy=coordinator, resident=greta, accepted_at=timezone.now())

    actors = [
        coordinator,
        coordinator_of_both,
        suspended_coordinator,
        pending_coordinator,
        resident,
        gone,
        relative,
        asked,
        greta,
    ]
    for actor in actors:
        expected = sorted(people_actable_by(actor=actor).values_list("pk", flat=True))
        scope = people_actable_scope(actor=actor)
        assert sorted(scope.ids) == expected, actor
        assert scope.everywhere == sorted(
            people_actable_everywhere_by(actor=actor).values_list("pk", flat=True)
        ), actor
        coordinated = [] if actor.is_managed else coordinated_association_ids(user=actor)
        assert scope.associations == sorted(coordinated), actor
        # The booking forms' list: the same people, by name, once each; and of them, for
        # carpooling, those who are an active member somewhere.
        by_name = list(
            people_actable_by(actor=actor)
            .order_by("full_name", "pk")
            .values_list("pk", "full_name")
        )
        assert people_names_actable_by(actor=actor) == by_name, actor
        members = set(
            people_actable_by(actor=actor)
            .filter(memberships__state=MembershipState.ACTIVE)
            .values_list("pk", flat=True)
        )
        assert people_names_actable_by(actor=actor, active_members_only=True) == [
            (pk, name) for pk, name in by_name if pk in members
        ], actor
        # user_can_act_for answers for oneself without a query: the same rule.
        for person in actors:
            may = person.pk in expected or (actor.is_managed and actor == person)
            assert user_can_act_for(actor=actor, resident=person) == may, (actor, person)
    for ids in (
        people_actable_scope(actor=coordinator_of_both).ids,
        list(people_actable_by(actor=coordinator_of_both).values_list("pk", flat=True)),
    ):
        assert len(ids) == len(set(ids))  # reached two ways, listed once
    assert greta.pk in people_actable_scope(actor=coordinator).ids
    assert resident.pk not in people_actable_scope(actor=asked).ids


def test_acting_in_an_association_follows_the_same_rule_in_sql_and_the_orm():
    """user_can_act_for_in is SQL, people_actable_in the ORM: the same people, for every
    actor and association. A coordinator acts for members only in their association."""
    a, b = AssociationFactory(), AssociationFactory()
    coordinator_a, coordinator_b = coordinator_of(a), coordinator_of(b)
    suspended_coordinator = MembershipFactory(
        association=a, roles=[Role.MEMBER, Role.COORDINATOR], state=MembershipState.SUSPENDED
    ).user
    anna = MembershipFactory(association=a).user
    MembershipFactory(association=b, user=anna)  # a member of both
    pending = MembershipFactory(association=a, state=MembershipState.PENDING).user
    suspended = MembershipFactory(association=a, state=MembershipState.SUSPENDED).user
    only_b = MembershipFactory(association=b).user
    daughter, asked = UserFactory(), UserFactory()
    ProxyLink.objects.create(proxy=daughter, resident=anna, accepted_at=timezone.now())
    ProxyLink.objects.create(proxy=asked, resident=anna)  # not answered yet
    gone = MembershipFactory(association=a).user
    gone.is_active = False
    gone.save()
    greta = ManagedProfileFactory()
    people = [
        coordinator_a,
        coordinator_b,
        suspended_coordinator,
        anna,
        pending,
        suspended,
        only_b,
        daughter,
        asked,
        gone,
        greta,
    ]
    for actor in people:
        for association in (a, b):
            orm = set(
                people_actable_in(actor=actor, association_id=association.pk).values_list(
                    "pk", flat=True
                )
            )
            for person in people:
                sql = user_can_act_for_in(
                    actor=actor, resident=person, association_id=association.pk
                )
                oneself = actor == person and actor.is_active
                assert sql == (person.pk in orm or oneself), (actor, person, association)
    # Anna is a member of both: each coordinator acts for her in their own association.
    assert user_can_act_for_in(actor=coordinator_a, resident=anna, association_id=a.pk)
    assert not user_can_act_for_in(actor=coordinator_b, resident=anna, association_id=a.pk)
    assert user_can_act_for_in(actor=coordinator_b, resident=anna, association_id=b.pk)
    assert not user_can_act_for_in(actor=coordinator_a, resident=anna, association_id=b.pk)
    # Her daughter everywhere; pending members too; never the suspended or the gone.
    assert user_can_act_for_in(actor=daughter, resident=anna, association_id=a.pk)
    assert user_can_act_for_in(actor=daughter, resident=anna, association_id=b.pk)
    assert not user_can_act_for_in(actor=asked, resident=anna, association_id=a.pk)
    assert user_can_act_for_in(actor=coordinator_a, resident=pending, association_id=a.pk)
    assert not user_can_act_for_in(actor=coordinator_a, resident=suspended, association_id=a.pk)
    assert not user_can_act_for_in(actor=coordinator_a, resident=gone, association_id=a.pk)
    assert not user_can_act_for_in(actor=suspended_coordinator, resident=anna, association_id=a.pk)
    # Person-level questions (who helps a managed profile) keep the wider rule.
    assert user_can_act_for(actor=coordinator_b, resident=anna)


def test_managed_profile_acts_for_nobody():
    greta = ManagedProfileFactory()
    assert not people_actable_by(actor=greta).exists()


def test_resident_chooses_their_own_proxy_who_then_says_yes():
    resident, son = UserFactory(), UserFactory()
    link = proxy_link_create(actor=resident, resident=resident, proxy=son, relationship="son")
    assert not user_can_act_for(actor=son, resident=resident)
    proxy_link_accept(actor=son, link=link)
    assert user_can_act_for(actor=son, resident=resident)


def test_nobody_else_chooses_a_proxy_for_a_resident_who_logs_in():
    association = AssociationFactory()
    coordinator = coordinator_of(association)
    resident = MembershipFactory(association=association).user
    stranger = UserFactory()
    for actor in (stranger, coordinator):
        with pytest.raises(ApplicationError) as refused:
            proxy_link_create(actor=actor, resident=resident, proxy=stranger)
        assert refused.value.code == "proxy_not_allowed"
    assert not ProxyLink.objects.exists()


def test_coordinator_adds_a_proxy_for_a_managed_member():
    association = AssociationFactory()
    coordinator = coordinator_of(association)
    greta = managed_profile_create(actor=coordinator, full_name="Greta", association=association)
    son = UserFactory()
    link = proxy_link_create(actor=coordinator, resident=greta, proxy=son)
    assert not user_can_act_for(actor=son, resident=greta)
    proxy_link_accept(actor=son, link=link)
    assert user_can_act_for(actor=son, resident=greta)


@pytest.mark.parametrize(
    ("proxy_kind", "code"),
    [("self", "proxy_self"), ("managed", "managed_cannot_be_proxy"), ("existing", "proxy_exists")],
)
def test_proxy_link_refusals(proxy_kind, code):
    resident = UserFactory()
    existing = UserFactory()
    ProxyLink.objects.create(proxy=existing, resident=resident, accepted_at=timezone.now())
    proxy = {"self": resident, "managed": ManagedProfileFactory(), "existing": existing}[proxy_kind]
    with pytest.raises(ApplicationError) as refused:
        proxy_link_create(actor=resident, resident=resident, proxy=proxy)
    assert refused.value.code == code
    assert ProxyLink.objects.count() == 1


def test_proxy_or_resident_ends_the_link_a_stranger_cannot():
    resident, son, stranger = UserFactory(), UserFactory(), UserFactory()
    ProxyLink.objects.create(proxy=son, resident=resident, accepted_at=timezone.now())
    with pytest.raises(ApplicationError):
        proxy_link_remove(actor=stranger, resident=resident, proxy=son)
    proxy_link_remove(actor=son, resident=resident, proxy=son)
    assert not ProxyLink.objects.exists()


def test_people_search_by_name_or_phone_digits():
    association = AssociationFactory()
    coordinator = coordinator_of(association)
    greta = MembershipFactory(
        association=association, user=UserFactory(full_name="Greta Andersson", phone="+46701740699")
    ).user
    people = people_actable_by(actor=coordinator)
    assert list(people_search(people=people, query="gret")) == [greta]
    assert list(people_search(people=people, query="070-174 06 99")) == [greta]
    assert list(people_search(people=people, query="zzz")) == []

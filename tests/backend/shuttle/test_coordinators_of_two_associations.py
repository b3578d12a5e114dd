"""A resident who is a member of two associations: the coordinator of the other one
(Äppelbo byalag) signs her up for, cancels and sees nothing of the runs of the first;
the run's own coordinator and the proxy of a member of both do."""

import pytest

from backend.community.selectors import people_actable_scope
from backend.errors import ApplicationError
from backend.shuttle.models import RunOccurrence, RunSignup, SignupState, StandingSignup
from backend.shuttle.selectors import (
    occurrences_visible_to,
    signup_cards,
    signups_of,
    signups_visible_to,
    standing_visible_to,
)
from backend.shuttle.services import signup_cancel, signup_create, standing_end
from tests.factories import MembershipFactory, coordinator_of
from tests.shuttle_world import make_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(settings):
    settings.ROUTER_URL = ""
    world = make_world()
    for member in (world.residents[0], world.managed):
        MembershipFactory(user=member, association=world.other_association)
    world.extra["coordinator_other"] = coordinator_of(world.other_association)
    return world


def seats_taken(world) -> int:
    return RunOccurrence.objects.get(pk=world.occurrence.pk).seats_taken


def test_the_other_associations_coordinator_cannot_sign_her_up(world):
    for passenger in (world.residents[0], world.managed):
        with pytest.raises(ApplicationError) as refused:
            signup_create(
                actor=world.extra["coordinator_other"],
                occurrence=world.occurrence,
                passenger=passenger,
                standing=True,
            )
        assert (refused.value.code, refused.value.kind) == ("run_not_allowed", "forbidden")
    assert not RunSignup.objects.exists()
    assert not StandingSignup.objects.exists()
    assert seats_taken(world) == 0


def test_the_other_associations_coordinator_cannot_cancel_nor_see_her_sign_up(world):
    other = world.extra["coordinator_other"]
    resident = world.residents[0]
    signup = signup_create(
        actor=resident, occurrence=world.occurrence, passenger=resident, standing=True
    )
    standing = StandingSignup.objects.get(passenger=resident)
    with pytest.raises(ApplicationError) as refused:
        signup_cancel(actor=other, signup=signup)
    assert refused.value.code == "run_not_allowed"
    with pytest.raises(ApplicationError) as refused:
        standing_end(actor=other, standing=standing)
    assert refused.value.code == "run_not_allowed"
    signup.refresh_from_db()
    standing.refresh_from_db()
    assert (signup.state, standing.active, seats_taken(world)) == (SignupState.CONFIRMED, True, 1)
    assert not occurrences_visible_to(user=other).filter(pk=world.occurrence.pk).exists()
    assert not signups_of(actor=other).exists()
    assert not signups_visible_to(user=other).exists()
    assert not standing_visible_to(user=other).exists()
    cards = signup_cards(people=people_actable_scope(actor=other), since=signup.created_at, limit=5)
    assert cards == []


def test_the_runs_coordinator_and_the_proxy_sign_up_and_cancel(world):
    resident = world.residents[0]
    by_coordinator = signup_create(
        actor=world.coordinator, occurrence=world.occurrence, passenger=resident
    )
    by_daughter = signup_create(
        actor=world.daughter, occurrence=world.occurrence, passenger=world.managed
    )
    assert set(signups_of(actor=world.coordinator)) >= {by_coordinator, by_daughter}
    assert list(signups_of(actor=world.daughter)) == [by_daughter]
    cards = signup_cards(
        people=people_actable_scope(actor=world.daughter), since=by_daughter.created_at, limit=5
    )
    assert [card["passenger_name"] for card in cards] == ["Greta Andersson"]
    assert signup_cancel(actor=world.coordinator, signup=by_coordinator).state == "cancelled"
    assert signup_cancel(actor=world.daughter, signup=by_daughter).state == "cancelled"
    assert seats_taken(world) == 0

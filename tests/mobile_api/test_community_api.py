"""Associations, memberships, the people one acts for and their proxies, through the API:
who may see and do what."""

from dataclasses import dataclass

import pytest
from django.contrib.gis.geos import Point
from django.utils import timezone
from rest_framework.test import APIClient

from backend.accounts.models import ProxyInvitation, ProxyLink, User
from backend.community.models import Association, Membership, MembershipState, Role
from tests.factories import (
    AssociationFactory,
    ManagedProfileFactory,
    MembershipFactory,
    MunicipalityFactory,
    UserFactory,
    VillageFactory,
)

pytestmark = pytest.mark.django_db


def error_of(response, status: int) -> dict:
    """The body's error after checking the status and the API's one error shape."""
    assert response.status_code == status, response.content
    body = response.json()
    assert list(body) == ["error"]
    error = body["error"]
    assert set(error) == {"code", "message", "fields"}
    assert isinstance(error["message"], str)
    assert error["message"]
    return error


def person(name: str, phone: str, association=None, roles=(), state=MembershipState.ACTIVE):
    user = UserFactory(full_name=name, phone=phone)
    if association is not None:
        MembershipFactory(
            user=user, association=association, roles=[Role.MEMBER, *roles], state=state
        )
    return user


@dataclass
class World:
    """Two associations in Vansbro municipality, A and B, and a person in each role."""

    a: Association
    b: Association
    coordinator_of_a: User
    driver_of_a: User
    member_of_a: User
    pending_member_of_a: User
    coordinator_of_b: User
    member_of_b: User

    def user(self, role: str) -> User | None:
        return None if role == "anonymous" else getattr(self, role)

    def membership(self, role: str) -> Membership:
        association = self.b if role.endswith("_of_b") else self.a
        return Membership.objects.get(user=self.user(role), association=association)


@pytest.fixture
def world() -> World:
    a = AssociationFactory(name="Äppelbo byalag")
    b = AssociationFactory(name="Dala-Järna PRO")
    return World(
        a=a,
        b=b,
        coordinator_of_a=person("Karin Lindqvist", "+46701740605", a, [Role.COORDINATOR]),
        driver_of_a=person("Erik Olsson", "+46701740610", a, [Role.DRIVER]),
        member_of_a=person("Anna Eriksson", "+46701740620", a),
        pending_member_of_a=person(
            "Nils Gustafsson", "+46701740623", a, state=MembershipState.PENDING
        ),
        coordinator_of_b=person("Maria Berg", "+46701740611", b, [Role.COORDINATOR]),
        member_of_b=person("Johan Persson", "+46701740621", b),
    )


@pytest.fixture
def client_for(api_as):
    def make(user: User | None) -> APIClient:
        return APIClient() if user is None else api_as(user)

    return make


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["user"]["full_name"] for row in response.json()["results"]]


def memberships_snapshot() -> list[dict]:
    return list(Membership.objects.order_by("pk").values())


# --- The roster --------------------------------------------------------------------------

ALL_OF_A = ["Anna Eriksson", "Erik Olsson", "Karin Lindqvist", "Nils Gustafsson"]


@pytest.mark.parametrize(
    ("role", "status", "expected"),
    [
        ("anonymous", 403, "not_authenticated"),
        ("coordinator_of_a", 200, ALL_OF_A),
        ("member_of_a", 200, ["Karin Lindqvist"]),
        ("driver_of_a", 200, ["Karin Lindqvist"]),
        ("pending_member_of_a", 200, []),
        ("coordinator_of_b", 200, []),
        ("member_of_b", 200, []),
    ],
    ids=[
        "anonymous-is-refused",
        "coordinator-sees-everyone-including-pending",
        "member-sees-the-coordinators",
        "driver-sees-the-coordinators",
        "pending-member-sees-nobody-yet",
        "coordinator-of-other-association-sees-nobody",
        "member-of-other-association-sees-nobody",
    ],
)
def test_roster_of_a_by_role(world, client_for, role, status, expected):
    response = client_for(world.user(role)).get(f"/api/v1/associations/{world.a.pk}/memberships/")

    if status != 200:
        assert error_of(response, status)["code"] == expected
        return
    assert names(response) == expected
    assert response.json()["count"] == len(expected)
    assert {row["association"] for row in response.json()["results"]} <= {world.a.pk}


def test_roster_rows_for_the_coordinator(world, api_as):
    response = api_as(world.coordinator_of_a).get(f"/api/v1/associations/{world.a.pk}/memberships/")

    pending = world.membership("pending_member_of_a")
    row = next(r for r in response.json()["results"] if r["id"] == pending.pk)
    assert set(row) == {"id", "user", "association", "roles", "state", "state_reason", "created_at"}
    assert row["user"] == {
        "id": world.pending_member_of_a.pk,
        "full_name": "Nils Gustafsson",
        "phone": "+46701740623",
        "is_managed": False,
    }
    assert (row["association"], row["roles"], row["state"], row["state_reason"]) == (
        world.a.pk,
        ["member"],
        "pending",
        "",
    )


@pytest.mark.parametrize(
    "role", ["member_of_a", "driver_of_a", "coordinator_of_a", "pending_member_of_a"]
)
def test_people_of_a_never_see_the_members_of_b(world, api_as, role):
    response = api_as(world.user(role)).get(f"/api/v1/associations/{world.b.pk}/memberships/")

    assert names(response) == []


def test_roster_of_an_association_in_another_municipality_shows_nobody(world, api_as):
    elsewhere = AssociationFactory(
        name="Malung byalag", municipality=MunicipalityFactory(name="Malung-Sälen", code="2023")
    )
    MembershipFactory(association=elsewhere, user__full_name="Lars Nilsson")

    response = api_as(world.member_of_a).get(f"/api/v1/associations/{elsewhere.pk}/memberships/")

    assert names(response) == []


def test_roster_queries_do_not_grow_with_the_members(world, api_as, django_assert_max_num_queries):
    url = f"/api/v1/associations/{world.a.pk}/memberships/"
    client = api_as(world.coordinator_of_a)
    # 5: the page, and one insert for the audit log of who was shown.
    with django_assert_max_num_queries(5):
        assert len(names(client.get(url))) == 4

    for _ in range(20):
        MembershipFactory(association=world.a)
    with django_assert_max_num_queries(5):
        assert len(names(client.get(url))) == 24


# --- Approving, suspending, roles ------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status", "code"),
    [
        ("anonymous", 403, "not_authenticated"),
        ("coordinator_of_b", 404, "not_found"),
        ("member_of_b", 404, "not_found"),
        ("member_of_a", 404, "not_found"),
        ("driver_of_a", 404, "not_found"),
        ("pending_member_of_a", 403, "not_coordinator"),
    ],
    ids=[
        "anonymous",
        "coordinator-of-other-association-cannot-see-it",
        "member-of-other-association-cannot-see-it",
        "member-cannot-see-pending-applicants",
        "driver-cannot-see-pending-applicants",
        "applicant-sees-own-but-is-no-coordinator",
    ],
)
def test_only_the_coordinator_approves(world, client_for, role, status, code):
    pending = world.membership("pending_member_of_a")
    before = memberships_snapshot()

    response = client_for(world.user(role)).post(f"/api/v1/memberships/{pending.pk}/approve")

    assert error_of(response, status)["code"] == code
    assert memberships_snapshot() == before


@pytest.mark.parametrize("role", ["member_of_a", "driver_of_a"])
def test_member_who_sees_a_membership_still_cannot_approve_it(world, api_as, role):
    """A member sees the coordinators' memberships, so the refusal names the reason."""
    coordinators = world.membership("coordinator_of_a")
    before = memberships_snapshot()

    response = api_as(world.user(role)).post(f"/api/v1/memberships/{coordinators.pk}/approve")

    assert error_of(response, 403)["code"] == "not_coordinator"
    assert memberships_snapshot() == before


def test_coordinator_approves_a_pending_member(world, api_as):
    pending = world.membership("pending_member_of_a")

    response = api_as(world.coordinator_of_a).post(f"/api/v1/memberships/{pending.pk}/approve")

    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["state"], body["state_reason"]) == (pending.pk, "active", "")
    pending.refresh_from_db()
    assert pending.state == MembershipState.ACTIVE
    assert pending.state_changed_by == world.coordinator_of_a
    assert pending.state_changed_at is not None


def test_approving_an_active_membership_is_a_conflict(world, api_as):
    active = world.membership("member_of_a")
    before = memberships_snapshot()

    response = api_as(world.coordinator_of_a).post(f"/api/v1/memberships/{active.pk}/approve")

    assert error_of(response, 409)["code"] == "membership_wrong_state"
    assert memberships_snapshot() == before


def test_approving_an_unknown_membership(world, api_as):
    response = api_as(world.coordinator_of_a).post("/api/v1/memberships/999999/approve")

    assert error_of(response, 404)["code"] == "not_found"


def test_coordinator_suspends_with_a_reason(world, api_as):
    member = world.membership("member_of_a")

    response = api_as(world.coordinator_of_a).post(
        f"/api/v1/memberships/{member.pk}/suspend", {"reason": " Körde utan körkort "}
    )

    assert response.status_code == 200
    assert (response.json()["state"], response.json()["state_reason"]) == (
        "suspended",
        "Körde utan körkort",
    )
    member.refresh_from_db()
    assert member.state == MembershipState.SUSPENDED
    assert member.state_reason == "Körde utan körkort"
    assert member.state_changed_by == world.coordinator_of_a


def test_approving_a_suspended_member_clears_the_reason(world, api_as):
    member = world.membership("member_of_a")
    Membership.objects.filter(pk=member.pk).update(
        state=MembershipState.SUSPENDED, state_reason="Flyttat"
    )

    response = api_as(world.coordinator_of_a).post(f"/api/v1/memberships/{member.pk}/approve")

    assert (response.status_code, response.json()["state"]) == (200, "active")
    member.refresh_from_db()
    assert (member.state, member.state_reason) == (MembershipState.ACTIVE, "")


@pytest.mark.parametrize(
    ("actor", "target", "body", "status", "code", "fields"),
    [
        ("coordinator_of_a", "member_of_a", {}, 400, "invalid", {"reason"}),
        ("coordinator_of_a", "member_of_a", {"reason": ""}, 400, "invalid", {"reason"}),
        ("coordinator_of_a", "member_of_a", {"reason": "   "}, 400, "invalid", {"reason"}),
        ("coordinator_of_a", "member_of_a", {"reason": "x" * 301}, 400, "invalid", {"reason"}),
        (
            "coordinator_of_a",
            "coordinator_of_a",
            {"reason": "Ledig"},
            409,
            "membership_wrong_state",
            set(),
        ),
        ("member_of_a", "coordinator_of_a", {"reason": "Kupp"}, 403, "not_coordinator", set()),
        ("coordinator_of_b", "member_of_a", {"reason": "Fel byalag"}, 404, "not_found", set()),
        ("anonymous", "member_of_a", {"reason": "Vem?"}, 403, "not_authenticated", set()),
    ],
    ids=[
        "reason-missing",
        "reason-empty",
        "reason-blank",
        "reason-too-long",
        "coordinator-suspends-themself",
        "member-suspends-the-coordinator",
        "coordinator-of-other-association",
        "anonymous",
    ],
)
def test_suspend_refused(world, client_for, actor, target, body, status, code, fields):
    membership = world.membership(target)
    before = memberships_snapshot()

    response = client_for(world.user(actor)).post(
        f"/api/v1/memberships/{membership.pk}/suspend", body, format="json"
    )

    error = error_of(response, status)
    assert error["code"] == code
    assert set(error["fields"]) == fields
    assert memberships_snapshot() == before


def test_suspending_a_suspended_member_is_a_conflict(world, api_as):
    member = world.membership("member_of_a")
    Membership.objects.filter(pk=member.pk).update(
        state=MembershipState.SUSPENDED, state_reason="Flyttat"
    )
    before = memberships_snapshot()

    response = api_as(world.coordinator_of_a).post(
        f"/api/v1/memberships/{member.pk}/suspend", {"reason": "Igen"}
    )

    assert error_of(response, 409)["code"] == "membership_wrong_state"
    assert memberships_snapshot() == before


@pytest.mark.parametrize(
    ("roles", "stored"),
    [
        (["driver"], ["member", "driver"]),
        (["coordinator", "driver", "member"], ["member", "driver", "coordinator"]),
        ([], ["member"]),
    ],
    ids=["make-driver", "make-coordinator-in-stable-order", "member-is-always-kept"],
)
def test_coordinator_sets_roles(world, api_as, roles, stored):
    member = world.membership("member_of_a")

    response = api_as(world.coordinator_of_a).put(
        f"/api/v1/memberships/{member.pk}/roles", {"roles": roles}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["roles"] == stored
    member.refresh_from_db()
    assert member.roles == stored


@pytest.mark.parametrize(
    ("actor", "target", "body", "status", "code", "fields"),
    [
        ("coordinator_of_a", "member_of_a", {"roles": ["pilot"]}, 400, "invalid", {"roles.0"}),
        ("coordinator_of_a", "member_of_a", {"roles": "driver"}, 400, "invalid", {"roles"}),
        ("coordinator_of_a", "member_of_a", {}, 400, "invalid", {"roles"}),
        (
            "coordinator_of_a",
            "coordinator_of_a",
            {"roles": ["member"]},
            409,
            "membership_wrong_state",
            set(),
        ),
        ("member_of_a", "member_of_a", {"roles": ["coordinator"]}, 403, "not_coordinator", set()),
        (
            "pending_member_of_a",
            "pending_member_of_a",
            {"roles": ["driver"]},
            403,
            "not_coordinator",
            set(),
        ),
        ("coordinator_of_b", "member_of_a", {"roles": ["driver"]}, 404, "not_found", set()),
        ("anonymous", "member_of_a", {"roles": ["driver"]}, 403, "not_authenticated", set()),
    ],
    ids=[
        "unknown-role",
        "not-a-list",
        "roles-missing",
        "coordinator-drops-own-coordinator-role",
        "member-makes-themself-coordinator",
        "applicant-makes-themself-driver",
        "coordinator-of-other-association",
        "anonymous",
    ],
)
def test_set_roles_refused(world, client_for, actor, target, body, status, code, fields):
    membership = world.membership(target)
    before = memberships_snapshot()

    response = client_for(world.user(actor)).put(
        f"/api/v1/memberships/{membership.pk}/roles", body, format="json"
    )

    error = error_of(response, status)
    assert error["code"] == code
    assert set(error["fields"]) == fields
    assert memberships_snapshot() == before


# --- Joining -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "roles"),
    [({}, ["member"]), ({"roles": ["driver"]}, ["member", "driver"])],
    ids=["as-member", "as-volunteer-driver"],
)
def test_join_waits_for_approval(world, api_as, body, roles):
    response = api_as(world.member_of_b).post(
        f"/api/v1/associations/{world.a.pk}/join", body, format="json"
    )

    assert response.status_code == 201
    membership = Membership.objects.get(user=world.member_of_b, association=world.a)
    assert response.json() == {
        "id": membership.pk,
        "user": {
            "id": world.member_of_b.pk,
            "full_name": "Johan Persson",
            "phone": "+46701740621",
            "is_managed": False,
        },
        "association": world.a.pk,
        "roles": roles,
        "state": "pending",
        "state_reason": "",
        "created_at": response.json()["created_at"],
    }
    assert membership.state == MembershipState.PENDING
    assert membership.roles == roles


def test_joining_again_is_a_conflict(world, api_as):
    client = api_as(world.member_of_b)
    assert client.post(f"/api/v1/associations/{world.a.pk}/join").status_code == 201
    before = memberships_snapshot()

    response = client.post(f"/api/v1/associations/{world.a.pk}/join")

    assert error_of(response, 409)["code"] == "already_member"
    assert memberships_snapshot() == before


@pytest.mark.parametrize(
    ("role", "body", "status", "code", "fields"),
    [
        ("member_of_b", {"roles": ["coordinator"]}, 400, "invalid", {"roles.0"}),
        ("member_of_b", {"roles": ["member", "coordinator"]}, 400, "invalid", {"roles.1"}),
        ("member_of_b", {"roles": "driver"}, 400, "invalid", {"roles"}),
        ("member_of_a", {}, 409, "already_member", set()),
        ("pending_member_of_a", {}, 409, "already_member", set()),
        ("anonymous", {}, 403, "not_authenticated", set()),
    ],
    ids=[
        "asks-to-be-coordinator",
        "asks-to-be-member-and-coordinator",
        "roles-not-a-list",
        "already-active-member",
        "already-waiting",
        "anonymous",
    ],
)
def test_join_refused(world, client_for, role, body, status, code, fields):
    before = memberships_snapshot()

    response = client_for(world.user(role)).post(
        f"/api/v1/associations/{world.a.pk}/join", body, format="json"
    )

    error = error_of(response, status)
    assert error["code"] == code
    assert set(error["fields"]) == fields
    assert memberships_snapshot() == before


def test_a_newcomer_finds_and_asks_to_join_an_association_anywhere(world, api_as):
    elsewhere = AssociationFactory(
        name="Malung byalag", municipality=MunicipalityFactory(name="Malung-Sälen", code="2023")
    )
    newcomer = UserFactory(full_name="Ny Inflyttad")
    client = api_as(newcomer)

    listed = client.get("/api/v1/associations/").json()["results"]
    response = client.post(f"/api/v1/associations/{elsewhere.pk}/join")

    assert "Malung byalag" in [row["name"] for row in listed]
    assert response.status_code == 201
    assert response.json()["state"] == "pending"


# --- The people one acts for -------------------------------------------------------------


def people(client, query: str | None = None) -> list[str]:
    response = client.get("/api/v1/people/", {"q": query} if query is not None else {})
    assert response.status_code == 200, response.content
    return [row["full_name"] for row in response.json()["results"]]


@pytest.fixture
def greta(world):
    """A managed profile Anna (member of A) is proxy for."""
    greta = ManagedProfileFactory(full_name="Greta Andersson")
    ProxyLink.objects.create(
        proxy=world.member_of_a, resident=greta, relationship="dotter", accepted_at=timezone.now()
    )
    return greta


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("eriks", ["Anna Eriksson"]),
        ("ANNA", ["Anna Eriksson"]),
        ("070174", ["Anna Eriksson", "Erik Olsson", "Karin Lindqvist", "Nils Gustafsson"]),
        ("070-174 06 20", ["Anna Eriksson"]),
        ("+46701740623", ["Nils Gustafsson"]),
        ("0621", []),
        ("Persson", []),
        ("", ["Anna Eriksson", "Erik Olsson", "Karin Lindqvist", "Nils Gustafsson"]),
    ],
    ids=[
        "part-of-surname",
        "first-name-in-capitals",
        "phone-digits-match-everyone-in-a",
        "whole-national-number",
        "whole-e164-number",
        "member-of-b-by-phone",
        "member-of-b-by-name",
        "no-query",
    ],
)
def test_coordinator_finds_the_members_of_their_association(world, api_as, query, found):
    assert people(api_as(world.coordinator_of_a), query) == found


def test_a_plain_member_sees_themself_and_whom_they_are_proxy_for(world, api_as, greta):
    client = api_as(world.member_of_a)

    assert people(client) == ["Anna Eriksson", "Greta Andersson"]
    assert people(client, "070174") == ["Anna Eriksson"]
    assert people(client, "greta") == ["Greta Andersson"]
    assert people(client, "karin") == []


def test_people_rows(world, api_as, greta):
    response = api_as(world.member_of_a).get("/api/v1/people/")

    assert response.json() == {
        "count": 2,
        "next": None,
        "previous": None,
        "results": [
            {
                "id": world.member_of_a.pk,
                "full_name": "Anna Eriksson",
                "phone": "+46701740620",
                "is_managed": False,
            },
            {"id": greta.pk, "full_name": "Greta Andersson", "phone": "", "is_managed": True},
        ],
    }


def test_suspended_members_are_not_offered_to_the_coordinator(world, api_as):
    Membership.objects.filter(user=world.member_of_a).update(state=MembershipState.SUSPENDED)

    assert "Anna Eriksson" not in people(api_as(world.coordinator_of_a))


def test_people_needs_a_login(world, api):
    assert error_of(api.get("/api/v1/people/"), 403)["code"] == "not_authenticated"


def test_people_queries_do_not_grow_with_the_members(world, api_as, django_assert_max_num_queries):
    client = api_as(world.coordinator_of_a)
    # 3: the page, and one insert for the audit log of who was shown.
    with django_assert_max_num_queries(3):
        assert len(people(client)) == 4

    for _ in range(20):
        MembershipFactory(association=world.a)
    with django_assert_max_num_queries(3):
        assert len(people(client)) == 24


# --- Managed profiles --------------------------------------------------------------------


def test_coordinator_creates_a_managed_member(world, api_as):
    response = api_as(world.coordinator_of_a).post(
        "/api/v1/managed-profiles/",
        {
            "full_name": "Sven  Jansson",
            "phone": "070-174 06 25",
            "home_address": "Kyrkvägen 3, Dala-Järna",
            "association": world.a.pk,
        },
        format="json",
    )

    assert response.status_code == 201
    sven = User.objects.get(full_name="Sven Jansson")
    assert response.json() == {
        "id": sven.pk,
        "full_name": "Sven Jansson",
        "phone": "+46701740625",
        "is_managed": True,
    }
    assert sven.is_managed
    assert not sven.has_usable_password()
    assert sven.home_address == "Kyrkvägen 3, Dala-Järna"
    membership = Membership.objects.get(user=sven)
    assert (membership.association, membership.state, membership.roles) == (
        world.a,
        MembershipState.ACTIVE,
        ["member"],
    )
    assert membership.state_changed_by == world.coordinator_of_a
    assert not ProxyLink.objects.filter(resident=sven).exists()
    assert "Sven Jansson" in people(api_as(world.coordinator_of_a), "sven")
    login = APIClient().post(
        "/api/v1/auth/login", {"identifier": "070-174 06 25", "password": "!"}, format="json"
    )
    assert error_of(login, 400)["code"] == "login_failed"


def test_a_relative_creates_a_managed_profile_and_becomes_proxy(api_as):
    relative = UserFactory(full_name="Lena Andersson", phone="+46701740650")

    response = api_as(relative).post(
        "/api/v1/managed-profiles/",
        {"full_name": "Greta Andersson", "relationship": "dotter"},
        format="json",
    )

    assert response.status_code == 201
    greta = User.objects.get(full_name="Greta Andersson")
    assert response.json() == {
        "id": greta.pk,
        "full_name": "Greta Andersson",
        "phone": "",
        "is_managed": True,
    }
    link = ProxyLink.objects.get(resident=greta)
    assert (link.proxy, link.relationship, link.created_by) == (relative, "dotter", relative)
    assert not Membership.objects.filter(user=greta).exists()
    assert people(api_as(relative)) == ["Greta Andersson", "Lena Andersson"]


@pytest.mark.parametrize(
    ("actor", "body", "status", "code", "fields"),
    [
        (
            "member_of_a",
            {"full_name": "Greta Andersson", "association": "A"},
            403,
            "not_coordinator",
            set(),
        ),
        (
            "driver_of_a",
            {"full_name": "Greta Andersson", "association": "A"},
            403,
            "not_coordinator",
            set(),
        ),
        (
            "coordinator_of_b",
            {"full_name": "Greta Andersson", "association": "A"},
            403,
            "not_coordinator",
            set(),
        ),
        (
            "coordinator_of_a",
            {"full_name": "Greta Andersson", "association": "elsewhere"},
            403,
            "not_coordinator",
            set(),
        ),
        ("coordinator_of_a", {"full_name": "", "association": "A"}, 400, "invalid", {"full_name"}),
        ("coordinator_of_a", {"association": "A"}, 400, "invalid", {"full_name"}),
        (
            "coordinator_of_a",
            {"full_name": "Greta Andersson", "phone": "123"},
            400,
            "phone_invalid",
            {"phone"},
        ),
        (
            "coordinator_of_a",
            {"full_name": "Greta Andersson", "association": "x"},
            400,
            "invalid",
            {"association"},
        ),
        ("anonymous", {"full_name": "Greta Andersson"}, 403, "not_authenticated", set()),
    ],
    ids=[
        "member-in-association",
        "driver-in-association",
        "coordinator-of-other-association",
        "association-in-other-municipality",
        "name-blank",
        "name-missing",
        "phone-invalid",
        "association-not-a-number",
        "anonymous",
    ],
)
def test_managed_profile_refused(world, client_for, actor, body, status, code, fields):
    elsewhere = AssociationFactory(
        name="Malung byalag", municipality=MunicipalityFactory(name="Malung-Sälen", code="2023")
    )
    association = {"A": world.a.pk, "elsewhere": elsewhere.pk}
    if body.get("association") in association:
        body = body | {"association": association[body["association"]]}
    counts = (User.objects.count(), Membership.objects.count(), ProxyLink.objects.count())

    response = client_for(world.user(actor)).post("/api/v1/managed-profiles/", body, format="json")

    error = error_of(response, status)
    assert error["code"] == code
    assert set(error["fields"]) == fields
    assert (User.objects.count(), Membership.objects.count(), ProxyLink.objects.count()) == counts


# --- Proxies -----------------------------------------------------------------------------


@pytest.fixture
def lena():
    """Anna's sister, who uses Samby but belongs to no association."""
    return UserFactory(full_name="Lena Eriksson", phone="+46701740650")


def test_resident_adds_a_relative_as_proxy_by_phone(world, api_as, lena):
    response = api_as(world.member_of_a).post(
        "/api/v1/proxy-links/",
        {
            "resident": world.member_of_a.pk,
            "proxy_phone": "070-174 06 50",
            "relationship": "syster",
        },
        format="json",
    )

    assert response.status_code == 201
    # The answer names no one: Lena has not said yes to being known as Anna's helper.
    assert response.json() == {
        "state": "pending",
        "resident": world.member_of_a.pk,
        "proxy_phone": "070-174 06 50",
    }
    assert "Lena" not in response.content.decode()
    link = ProxyLink.objects.get()
    assert (link.resident, link.proxy, link.relationship, link.created_by) == (
        world.member_of_a,
        lena,
        "syster",
        world.member_of_a,
    )
    assert (link.accepted_at, link.invited_as) == (None, "070-174 06 50")
    assert people(api_as(lena)) == ["Lena Eriksson"]

    response = api_as(lena).post(f"/api/v1/proxy-links/{world.member_of_a.pk}/{lena.pk}/accept")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["state"], body["resident"], body["resident_name"], body["proxy"]) == (
        "accepted",
        world.member_of_a.pk,
        "Anna Eriksson",
        lena.pk,
    )
    assert people(api_as(lena)) == ["Anna Eriksson", "Lena Eriksson"]


def test_a_proxy_adds_another_proxy_for_a_managed_profile(world, api_as, greta, lena):
    response = api_as(world.member_of_a).post(
        "/api/v1/proxy-links/",
        {"resident": greta.pk, "proxy_phone": "+46701740650"},
        format="json",
    )

    assert response.status_code == 201
    assert ProxyLink.objects.filter(resident=greta, proxy=lena).exists()
    assert "Greta Andersson" not in people(api_as(lena))
    response = api_as(lena).post(f"/api/v1/proxy-links/{greta.pk}/{lena.pk}/accept")
    assert response.status_code == 200, response.content
    assert "Greta Andersson" in people(api_as(lena))


@pytest.mark.parametrize(
    ("actor", "resident", "proxy_phone", "status", "code", "fields"),
    [
        ("member_of_a", "member_of_a", "inte ett nummer", 400, "phone_invalid", {"proxy_phone"}),
        ("member_of_a", "member_of_a", "lena@example.se", 400, "phone_invalid", {"proxy_phone"}),
        ("member_of_a", "member_of_a", "   ", 400, "invalid", {"proxy_phone"}),
        ("member_of_a", "member_of_a", "", 400, "invalid", {"proxy_phone"}),
        ("member_of_a", "member_of_a", "0" * 40, 400, "invalid", {"proxy_phone"}),
        # Refused before anything is looked up about the number, known or not.
        ("coordinator_of_a", "member_of_a", "070-174 06 99", 403, "proxy_not_allowed", set()),
        ("member_of_b", "member_of_a", "070-174 06 99", 404, "not_found", set()),
        ("member_of_b", "member_of_a", "070-174 06 50", 404, "not_found", set()),
        ("lena", "greta", "070-174 06 50", 404, "not_found", set()),
        ("coordinator_of_a", "member_of_a", "070-174 06 50", 403, "proxy_not_allowed", set()),
        ("member_of_a", "member_of_a", "070-174 06 20", 400, "proxy_self", set()),
        ("member_of_a", "greta", "070-174 06 20", 409, "proxy_exists", set()),
        ("anonymous", "member_of_a", "070-174 06 50", 403, "not_authenticated", set()),
    ],
    ids=[
        "not-a-phone-number",
        "an-e-mail-address",
        "only-spaces",
        "empty",
        "too-long",
        "coordinator-for-someone-who-logs-in-unknown-number",
        "stranger-unknown-number",
        "stranger-for-someone-else",
        "stranger-for-a-managed-profile",
        "coordinator-for-someone-who-logs-in",
        "oneself",
        "already-proxy",
        "anonymous",
    ],
)
def test_add_proxy_refused(
    world, client_for, greta, lena, actor, resident, proxy_phone, status, code, fields
):
    ManagedProfileFactory(full_name="Sven Jansson", phone="+46701740630")
    users = {"greta": greta, "lena": lena}
    actor_user = users.get(actor) or world.user(actor)
    resident_user = users.get(resident) or world.user(resident)
    links_before = list(ProxyLink.objects.values())

    response = client_for(actor_user).post(
        "/api/v1/proxy-links/",
        {"resident": resident_user.pk, "proxy_phone": proxy_phone},
        format="json",
    )

    error = error_of(response, status)
    assert error["code"] == code
    assert set(error["fields"]) == fields
    assert list(ProxyLink.objects.values()) == links_before
    assert not ProxyInvitation.objects.exists()


@pytest.mark.parametrize("actor", ["resident", "proxy"])
def test_resident_or_proxy_ends_the_link(world, api_as, lena, actor):
    ProxyLink.objects.create(resident=world.member_of_a, proxy=lena, accepted_at=timezone.now())
    user = world.member_of_a if actor == "resident" else lena

    response = api_as(user).delete(f"/api/v1/proxy-links/{world.member_of_a.pk}/{lena.pk}")

    assert response.status_code == 204
    assert response.content == b""
    assert not ProxyLink.objects.exists()
    assert people(api_as(lena)) == ["Lena Eriksson"]


def test_coordinator_ends_a_link_of_a_managed_member(world, api_as, greta):
    MembershipFactory(user=greta, association=world.a)

    response = api_as(world.coordinator_of_a).delete(
        f"/api/v1/proxy-links/{greta.pk}/{world.member_of_a.pk}"
    )

    assert response.status_code == 204
    assert not ProxyLink.objects.exists()


@pytest.mark.parametrize(
    ("actor", "resident", "proxy", "status", "code"),
    [
        ("member_of_b", "member_of_a", "lena", 404, "not_found"),
        ("coordinator_of_b", "greta", "member_of_a", 404, "not_found"),
        ("coordinator_of_a", "member_of_a", "lena", 403, "proxy_not_allowed"),
        ("member_of_a", "member_of_a", "member_of_b", 404, "not_found"),
        ("anonymous", "member_of_a", "lena", 403, "not_authenticated"),
    ],
    ids=[
        "stranger",
        "coordinator-of-other-association",
        "coordinator-for-someone-who-logs-in",
        "no-such-link",
        "anonymous",
    ],
)
def test_end_proxy_link_refused(
    world, client_for, greta, lena, actor, resident, proxy, status, code
):
    ProxyLink.objects.create(resident=world.member_of_a, proxy=lena, accepted_at=timezone.now())
    users = {"greta": greta, "lena": lena}
    ids = [(users.get(name) or world.user(name)).pk for name in (resident, proxy)]
    links_before = list(ProxyLink.objects.order_by("pk").values())

    response = client_for(world.user(actor)).delete(f"/api/v1/proxy-links/{ids[0]}/{ids[1]}")

    assert error_of(response, status)["code"] == code
    assert list(ProxyLink.objects.order_by("pk").values()) == links_before


# --- A proxy says yes (or no) --------------------------------------------------------------


@pytest.fixture
def asked(world, api_as, lena):
    """Anna has asked Lena to help her; Lena has not answered."""
    response = api_as(world.member_of_a).post(
        "/api/v1/proxy-links/",
        {"resident": world.member_of_a.pk, "proxy_phone": "+46 70 174 06 50"},
        format="json",
    )
    assert response.status_code == 201, response.content
    return ProxyLink.objects.get(resident=world.member_of_a, proxy=lena)


def test_a_pending_proxy_sees_and_books_nothing_for_the_resident(world, api_as, lena, asked):
    client = api_as(lena)
    assert people(client) == ["Lena Eriksson"]
    # Rides and bookings: tests/mobile_api/test_rides_api.py and the backend tests.
    invitation = client.get("/api/v1/notifications/").json()["results"][0]
    assert invitation["kind"] == "proxy.invited"
    assert invitation["payload"]["resident_id"] == world.member_of_a.pk


def test_asking_again_names_no_one(world, api_as, asked):
    response = api_as(world.member_of_a).post(
        "/api/v1/proxy-links/",
        {"resident": world.member_of_a.pk, "proxy_phone": "070-174 06 50"},
        format="json",
    )
    error = error_of(response, 409)
    assert error["code"] == "proxy_exists"
    assert "Lena" not in response.content.decode()


@pytest.mark.parametrize(
    "body",
    [
        {"resident": "Anna", "proxy_phone": "070-174 06 50"},
        {"resident": 1},
        {"resident": 1, "proxy_phone": ""},
        {"resident": 1, "proxy_phone": "0" * 40},
    ],
    ids=["resident-not-a-number", "no-phone", "empty-phone", "phone-too-long"],
)
def test_add_proxy_with_bad_input_is_400(world, api_as, lena, body):
    response = api_as(world.member_of_a).post("/api/v1/proxy-links/", body, format="json")
    assert error_of(response, 400)["code"] == "invalid"
    assert not ProxyLink.objects.exists()


def test_the_proxy_accepts_and_the_resident_learns_the_name(world, api_as, lena, asked):
    response = api_as(lena).post(f"/api/v1/proxy-links/{world.member_of_a.pk}/{lena.pk}/accept")
    assert response.status_code == 200, response.content
    asked.refresh_from_db()
    assert asked.is_accepted
    told = api_as(world.member_of_a).get("/api/v1/notifications/").json()["results"][0]
    assert told["kind"] == "proxy.accepted"
    assert "Lena Eriksson" in told["body"]
    assert people(api_as(lena)) == ["Anna Eriksson", "Lena Eriksson"]

    again = api_as(lena).post(f"/api/v1/proxy-links/{world.member_of_a.pk}/{lena.pk}/accept")
    assert error_of(again, 409)["code"] == "proxy_already_accepted"


@pytest.mark.parametrize(
    ("actor", "status", "code"),
    [
        ("member_of_a", 403, "proxy_not_allowed"),
        ("coordinator_of_a", 403, "proxy_not_allowed"),
        ("member_of_b", 404, "not_found"),
        ("coordinator_of_b", 404, "not_found"),
        ("anonymous", 403, "not_authenticated"),
    ],
    ids=["the-resident", "their-coordinator", "stranger", "other-coordinator", "anonymous"],
)
def test_only_the_proxy_accepts(world, client_for, lena, asked, actor, status, code):
    response = client_for(world.user(actor)).post(
        f"/api/v1/proxy-links/{world.member_of_a.pk}/{lena.pk}/accept"
    )
    assert error_of(response, status)["code"] == code
    asked.refresh_from_db()
    assert asked.accepted_at is None


def test_accepting_a_link_that_is_not_there_is_404(world, api_as, lena, asked):
    other = world.user("member_of_b")
    response = api_as(lena).post(f"/api/v1/proxy-links/{other.pk}/{lena.pk}/accept")
    assert error_of(response, 404)["code"] == "not_found"


def test_the_proxy_declines_with_delete(world, api_as, lena, asked):
    response = api_as(lena).delete(f"/api/v1/proxy-links/{world.member_of_a.pk}/{lena.pk}")
    assert response.status_code == 204
    assert not ProxyLink.objects.exists()


def test_the_resident_takes_back_a_request(world, api_as, lena, asked):
    response = api_as(world.member_of_a).delete(
        f"/api/v1/proxy-links/{world.member_of_a.pk}/{lena.pk}"
    )
    assert response.status_code == 204
    assert not ProxyLink.objects.exists()


# --- Villages ---------------------------------------------------------------------------------


def test_villages_are_listed_by_name_with_their_place_and_filtered_by_municipality(api_as):
    vansbro = MunicipalityFactory()
    malung = MunicipalityFactory(name="Malung-Sälen", code="2023")
    VillageFactory(name="Äppelbo", municipality=vansbro, location=Point(14.0, 60.5, srid=4326))
    VillageFactory(name="Dala-Järna", municipality=vansbro, location=Point(14.37, 60.55))
    VillageFactory(name="Lima", municipality=malung, location=Point(13.3412345, 60.9301))
    client = api_as(UserFactory())

    listed = client.get("/api/v1/villages/")

    assert listed.status_code == 200
    body = listed.json()
    assert body["count"] == 3 and body["next"] is None
    assert [v["name"] for v in body["results"]] == ["Dala-Järna", "Lima", "Äppelbo"]
    assert body["results"][1] == {
        "id": body["results"][1]["id"],
        "name": "Lima",
        "municipality": malung.pk,
        "location": {"type": "Point", "coordinates": [13.341235, 60.9301]},
    }
    second_page = client.get("/api/v1/villages/", {"page_size": 2, "page": 2}).json()
    assert second_page["count"] == 3 and [v["name"] for v in second_page["results"]] == ["Äppelbo"]
    only_malung = client.get("/api/v1/villages/", {"municipality": malung.pk}).json()
    assert [v["name"] for v in only_malung["results"]] == ["Lima"]
    assert only_malung["results"][0] == body["results"][1]
    bad = client.get("/api/v1/villages/", {"municipality": "Vansbro"})
    assert bad.status_code == 400

"""The roster's "Make coordinator" / "Take coordinator role": a page asks first, saying
what the role lets the person see and do; its "Yes" gives or takes the role, keeping the
other roles, records it in the audit log and tells the person. One's own role, a member
not active and a managed profile are refused with what to do; another association's
coordinator finds no such member; nobody else changes a role, and bad input writes
nothing."""

import html
import re

import pytest

from backend.audit.models import AuditEntry
from backend.community.models import Membership, MembershipState, Role
from backend.notifications.models import Notification
from tests.factories import ManagedProfileFactory, MembershipFactory, UserFactory
from tests.webapp.conftest import snapshot

pytestmark = pytest.mark.django_db

ROSTER = "/console/roster/"
KINDS = ["membership.coordinator_role", "membership.coordinator_role_taken"]


def membership(world, role: str) -> Membership:
    return Membership.objects.get(user=world.people[role], association=world.a)


def other_coordinator(world) -> Membership:
    return MembershipFactory(
        association=world.a,
        user=UserFactory(full_name="Anna Svensson", preferred_language="en"),
        roles=[Role.MEMBER, Role.DRIVER, Role.COORDINATOR],
    )


def url(target: Membership) -> str:
    return f"{ROSTER}{target.pk}/coordinator"


def swedish(client):
    client.cookies["django_language"] = "sv"
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "sv"
    return client


def post(world, who, target: Membership, value: str | None):
    """`who`: a role, or a client already signed in (to read its messages after)."""
    client = world.client(who) if isinstance(who, str) else who
    data = {"association": world.a.pk}
    if value is not None:
        data["coordinator"] = value
    return client.post(url(target), data)


def row(page: str, target: Membership) -> str:
    found = re.search(rf'<tr data-membership="{target.pk}">(.*?)</tr>', page, re.S)
    assert found, f"no row for membership {target.pk}"
    return found.group(1)


def everything() -> list:
    """What a refused request must leave as it was."""
    return [
        *snapshot(),
        *Membership.objects.order_by("pk").values_list("pk", "roles", "state"),
        ("notifications", Notification.objects.count()),
        ("audit", AuditEntry.objects.filter(action="membership.roles").count()),
    ]


def told(person) -> list[tuple[str, dict]]:
    return list(
        Notification.objects.filter(recipient=person, kind__in=KINDS)
        .order_by("pk")
        .values_list("kind", "payload")
    )


# --- The roster's links ----------------------------------------------------------------------


def test_the_roster_links_an_active_member_and_another_coordinator_to_the_page(world):
    anna = other_coordinator(world)
    page = world.client("coordinator").get(ROSTER).content.decode()
    johan = membership(world, "other_resident")
    assert (
        f'<a class="button secondary" href="{url(johan)}?association={world.a.pk}">'
        "Make coordinator</a>" in row(page, johan)
    )
    assert "Take coordinator role" not in row(page, johan)
    assert (
        f'<a class="button secondary" href="{url(anna)}?association={world.a.pk}">'
        "Take coordinator role</a>" in row(page, anna)
    )
    assert "Make coordinator" not in row(page, anna)
    # One's own row has neither: the service refuses taking one's own role.
    own = row(page, membership(world, "coordinator"))
    assert "/coordinator" not in own


@pytest.mark.parametrize(
    "state", [MembershipState.PENDING, MembershipState.SUSPENDED], ids=["waiting", "suspended"]
)
def test_a_member_not_active_gets_no_link(world, state):
    target = MembershipFactory(association=world.a, state=state)
    page = world.client("coordinator").get(ROSTER).content.decode()
    assert "/coordinator" not in row(page, target)


def test_a_managed_profile_gets_no_link(world):
    target = MembershipFactory(association=world.a, user=ManagedProfileFactory())
    page = world.client("coordinator").get(ROSTER).content.decode()
    assert "/coordinator" not in row(page, target)


def test_the_links_in_swedish(world):
    anna = other_coordinator(world)
    page = swedish(world.client("coordinator")).get(ROSTER).content.decode()
    assert ">Gör till samordnare</a>" in row(page, membership(world, "other_resident"))
    assert ">Ta bort samordnarrollen</a>" in row(page, anna)


# --- Asking first ------------------------------------------------------------------------------


def test_the_page_asks_before_giving_and_changes_nothing(world):
    johan = membership(world, "other_resident")
    before = everything()
    response = world.client("coordinator").get(f"{url(johan)}?association={world.a.pk}")
    assert response.status_code == 200
    page = response.content.decode()
    assert "<h1>Make Johan Persson a coordinator of Äppelbo byalag?</h1>" in page
    assert (
        "<p>Johan Persson will see the members, their phone numbers and addresses, and book "
        "and cancel for them. Johan Persson is told, with a link to the console.</p>" in page
    )
    assert f'<form method="post" action="{url(johan)}">' in page
    assert '<input type="hidden" name="coordinator" value="give">' in page
    assert '<button type="submit">Yes, make coordinator</button>' in page
    assert f'href="{ROSTER}?association={world.a.pk}">No</a>' in page
    assert everything() == before


def test_the_page_asks_before_taking(world):
    anna = other_coordinator(world)
    page = world.client("coordinator").get(url(anna)).content.decode()
    assert "<h1>Take the coordinator role from Anna Svensson?</h1>" in page
    assert (
        "<p>Anna Svensson will no longer see the members of Äppelbo byalag, their phone "
        "numbers and addresses, nor book and cancel for them. Anna Svensson stays a member "
        "and is told.</p>" in page
    )
    assert '<input type="hidden" name="coordinator" value="take">' in page
    assert '<button type="submit" class="danger">Yes, take the role</button>' in page


def test_the_pages_in_swedish(world):
    client = swedish(world.client("coordinator"))
    page = client.get(url(membership(world, "other_resident"))).content.decode()
    assert "<h1>Göra Johan Persson till samordnare i Äppelbo byalag?</h1>" in page
    assert (
        "<p>Johan Persson kommer att se medlemmarna, deras telefonnummer och adresser, och "
        "kan boka och avboka åt dem. Johan Persson får ett meddelande med en länk till "
        "konsolen.</p>" in page
    )
    assert "Ja, gör till samordnare</button>" in page
    assert ">Nej</a>" in page
    page = client.get(url(other_coordinator(world))).content.decode()
    assert "<h1>Ta bort samordnarrollen från Anna Svensson?</h1>" in page
    assert (
        "<p>Anna Svensson kommer inte längre att se medlemmarna i Äppelbo byalag, deras "
        "telefonnummer och adresser, och kan inte boka eller avboka åt dem. Anna Svensson "
        "är kvar som medlem och får ett meddelande.</p>" in page
    )
    assert "Ja, ta bort rollen</button>" in page


# --- Yes -----------------------------------------------------------------------------------


def test_yes_makes_a_coordinator_keeping_other_roles_and_tells_them(world):
    sven = membership(world, "offered_driver")
    client = world.client("coordinator")
    response = post(world, client, sven, "give")
    assert response.status_code == 302
    assert response["Location"] == f"{ROSTER}?association={world.a.pk}"
    sven.refresh_from_db()
    assert sven.roles == [Role.MEMBER, Role.DRIVER, Role.COORDINATOR]
    assert told(world.people["offered_driver"]) == [
        (
            "membership.coordinator_role",
            {"association": "Äppelbo byalag", "association_id": world.a.pk},
        )
    ]
    entry = AuditEntry.objects.get(action="membership.roles")
    assert entry.actor == world.people["coordinator"]
    assert entry.subject_id == world.people["offered_driver"].pk
    assert entry.detail == {
        "membership": sven.pk,
        "association": world.a.pk,
        "roles": ["member", "driver", "coordinator"],
    }
    page = client.get(response["Location"]).content.decode()
    assert "Sven Holm is now a coordinator." in page
    assert "Take coordinator role" in row(page, sven)
    # The new coordinator opens the console.
    assert world.client("offered_driver").get(ROSTER).status_code == 200


def test_the_message_opens_the_console(world):
    post(world, "coordinator", membership(world, "other_resident"), "give")
    note = Notification.objects.get(
        recipient=world.people["other_resident"], kind="membership.coordinator_role"
    )
    client = world.client("other_resident")
    response = client.get(f"/notifications/{note.pk}/open")
    assert response.status_code == 302
    assert response["Location"] == f"/console/?association={world.a.pk}"
    assert client.get(response["Location"]).status_code == 200


def test_the_message_in_swedish(world):
    world.people["other_resident"].preferred_language = "sv"
    world.people["other_resident"].save(update_fields=["preferred_language"])
    post(world, "coordinator", membership(world, "other_resident"), "give")
    page = swedish(world.client("other_resident")).get("/notifications/").content.decode()
    assert "Du är nu samordnare" in page
    assert (
        "Du är nu samordnare i Äppelbo byalag. I konsolen ser du medlemmarna, deras "
        "telefonnummer och adresser, och bokar och avbokar åt dem." in page
    )


def test_yes_takes_the_role_from_another_coordinator_and_tells_them(world):
    anna = other_coordinator(world)
    client = world.client("coordinator")
    response = post(world, client, anna, "take")
    assert response.status_code == 302
    anna.refresh_from_db()
    assert anna.roles == [Role.MEMBER, Role.DRIVER]
    assert told(anna.user) == [
        (
            "membership.coordinator_role_taken",
            {"association": "Äppelbo byalag", "association_id": world.a.pk},
        )
    ]
    assert AuditEntry.objects.get(action="membership.roles").detail["roles"] == [
        "member",
        "driver",
    ]
    page = client.get(response["Location"]).content.decode()
    assert "Anna Svensson is no longer a coordinator." in page
    assert "Make coordinator" in row(page, anna)
    note = Notification.objects.get(recipient=anna.user, kind="membership.coordinator_role_taken")
    assert note.payload["association"] == "Äppelbo byalag"
    opened = world.client("coordinator")
    opened.force_login(anna.user)
    assert opened.get(ROSTER).status_code == 403


def test_yes_in_swedish_says_so(world):
    client = swedish(world.client("coordinator"))
    response = post(world, client, membership(world, "other_resident"), "give")
    page = client.get(response["Location"]).content.decode()
    assert "Johan Persson är nu samordnare." in page


def test_a_page_left_open_gives_nothing_twice(world):
    johan = membership(world, "other_resident")
    post(world, "coordinator", johan, "give")
    post(world, "coordinator", johan, "give")
    johan.refresh_from_db()
    assert johan.roles == [Role.MEMBER, Role.COORDINATOR]
    assert len(told(world.people["other_resident"])) == 1


# --- Refusals ------------------------------------------------------------------------------


def test_ones_own_role_stays(world):
    karin = membership(world, "coordinator")
    before = everything()
    client = world.client("coordinator")
    response = post(world, client, karin, "take")
    assert response.status_code == 302
    assert everything() == before
    page = client.get(response["Location"]).content.decode()
    assert "You cannot remove your own coordinator role. Ask another coordinator." in page


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
def test_a_member_not_active_is_refused(world, state, en, sv):
    target = MembershipFactory(
        association=world.a, state=state, user=UserFactory(full_name="Anna Svensson")
    )
    before = everything()
    for client, message in [
        (world.client("coordinator"), en),
        (swedish(world.client("coordinator")), sv),
    ]:
        response = post(world, client, target, "give")
        assert response.status_code == 302
        assert html.escape(message) in client.get(response["Location"]).content.decode()
    assert everything() == before


def test_a_managed_profile_is_refused(world):
    target = MembershipFactory(
        association=world.a, user=ManagedProfileFactory(full_name="Gustav Ek")
    )
    before = everything()
    for client, message in [
        (
            world.client("coordinator"),
            "Gustav Ek has no login (a managed profile) and so cannot be a coordinator. "
            "Choose a member who signs in.",
        ),
        (
            swedish(world.client("coordinator")),
            "Gustav Ek har ingen inloggning (en hanterad profil) och kan därför inte vara "
            "samordnare. Välj en medlem som loggar in.",
        ),
    ]:
        response = post(world, client, target, "give")
        assert response.status_code == 302
        assert message in client.get(response["Location"]).content.decode()
    assert everything() == before


def test_a_coordinator_elsewhere_does_not_find_the_member(world):
    johan = membership(world, "other_resident")
    before = everything()
    assert world.client("coordinator_elsewhere").get(url(johan)).status_code == 404
    assert post(world, "coordinator_elsewhere", johan, "give").status_code == 404
    assert everything() == before


def test_a_coordinator_elsewhere_does_not_find_this_associations_coordinator(world):
    karin = membership(world, "coordinator")
    before = everything()
    assert world.client("coordinator_elsewhere").get(url(karin)).status_code == 404
    assert post(world, "coordinator_elsewhere", karin, "take").status_code == 404
    assert everything() == before


@pytest.mark.parametrize("who", ["holding_driver", "offered_driver", "rider", "other_resident"])
def test_members_and_drivers_cannot_change_the_role(world, who):
    target = membership(world, "other_resident" if who != "other_resident" else "rider")
    before = everything()
    assert world.client(who).get(url(target)).status_code == 403
    assert post(world, who, target, "give").status_code == 403
    assert post(world, who, membership(world, "coordinator"), "take").status_code == 403
    assert everything() == before


def test_anonymous_is_sent_to_sign_in(world):
    before = everything()
    response = post(world, "anonymous", membership(world, "other_resident"), "give")
    assert response.status_code == 302
    assert response["Location"].startswith("/sign-in")
    assert everything() == before


@pytest.mark.parametrize(
    "value", ["maybe", "", None, "driver"], ids=["unknown-value", "empty", "missing", "driver"]
)
def test_a_bad_hidden_value_is_a_400_that_writes_nothing(world, value):
    johan = membership(world, "other_resident")
    before = everything()
    response = post(world, "coordinator", johan, value)
    assert response.status_code == 400
    assert "Choose whether to give or take away the coordinator role." in (
        response.content.decode()
    )
    assert everything() == before

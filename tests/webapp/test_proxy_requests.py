"""Answering a request to help someone, on the profile page, without JavaScript: two
buttons, POST forms with the CSRF token; the resident sees the number, not a name, until
the answer is yes."""

import re

import pytest
from django.test import Client

from backend.accounts.models import ProxyInvitation, ProxyLink
from backend.audit.models import AuditEntry
from backend.community.services import proxy_link_create, proxy_link_request
from backend.notifications.models import Notification

pytestmark = pytest.mark.django_db


@pytest.fixture
def asked(world):
    """Johan has asked Lena (already Anna's proxy) to help him too."""
    johan, lena = world.people["other_resident"], world.people["proxy"]
    proxy_link_create(actor=johan, resident=johan, proxy=lena, invited_as="070-174 06 30")
    return johan, lena


def test_the_proxy_sees_the_request_with_two_buttons(world, asked):
    johan, _lena = asked
    page = world.client("proxy").get("/profile/").content.decode()
    assert "Johan Persson asks you to help them in Samby." in page
    for action, label in [("accept", "Yes, I will help"), ("decline", "No, thank you")]:
        form = re.search(
            rf'<form method="post" action="/profile/people/{johan.pk}/{action}">(.*?)</form>',
            page,
            re.S,
        )
        assert form, action
        assert 'name="csrfmiddlewaretoken"' in form.group(1)
        assert label in form.group(1)
    # People she helps lists only Anna: Johan's request gives nothing yet.
    helped = page.split("People I help")[1]
    assert "Anna Eriksson" in helped and "Johan Persson" not in helped


def test_the_page_is_swedish_by_default(world, asked):
    client = Client()
    client.force_login(world.people["proxy"])
    page = client.get("/profile/").content.decode()
    assert "Ja, jag hjälper till" in page
    assert "Nej tack" in page
    assert "Johan Persson ber dig om hjälp i Samby." in page


def test_the_resident_sees_the_number_as_typed_until_the_answer(world, asked):
    page = world.client("other_resident").get("/profile/").content.decode()
    helpers = page.split("People who help me")[1].split("</ul>")[0]
    assert "070-174 06 30: waiting for an answer" in helpers
    assert "Lena" not in page


def test_accepting_gives_the_rights_and_tells_the_resident(world, asked):
    johan, lena = asked
    client = world.client("proxy")
    response = client.post(f"/profile/people/{johan.pk}/accept")
    assert response.status_code == 302 and response.url == "/profile/"
    assert ProxyLink.objects.get(resident=johan, proxy=lena).accepted_at is not None
    assert Notification.objects.get(recipient=johan).kind == "proxy.accepted"
    assert AuditEntry.objects.filter(action="proxy.accept", subject_id=johan.pk).exists()
    page = client.get("/profile/").content.decode()
    assert "You now help Johan Persson." in page
    assert "Johan Persson" in page.split("People I help")[1]
    page = world.client("other_resident").get("/profile/").content.decode()
    assert "Lena Eriksson" in page.split("People who help me")[1]


def test_declining_removes_the_request(world, asked):
    johan, lena = asked
    response = world.client("proxy").post(f"/profile/people/{johan.pk}/decline", follow=True)
    assert "You said no. Nothing more happens." in response.content.decode()
    assert not ProxyLink.objects.filter(resident=johan).exists()
    # Recorded as Lena's own act, not in Johan's log: his export does not say who said no.
    assert AuditEntry.objects.filter(
        action="proxy.decline", subject_id=lena.pk, detail={"resident": johan.pk}
    ).exists()
    assert not AuditEntry.objects.filter(subject_id=johan.pk, action="proxy.decline").exists()
    assert (
        "People who help me" not in world.client("other_resident").get("/profile/").content.decode()
    )


def test_declining_tells_the_resident_by_the_number_they_typed(world, asked):
    johan, _lena = asked
    world.client("proxy").post(f"/profile/people/{johan.pk}/decline")
    told = Notification.objects.get(recipient=johan)
    assert (told.kind, told.payload) == (
        "proxy.declined",
        {"invited_as": "070-174 06 30", "resident": "Johan Persson"},
    )
    inbox = world.client("other_resident").get("/notifications/").content.decode()
    assert "The person at 070-174 06 30 said no to helping Johan Persson" in inbox
    assert "Lena" not in inbox


def test_a_number_without_an_account_waits_like_any_other(world, asked):
    """Johan asked Lena (who uses Samby) and a number nobody uses Samby with: his page
    shows both the same way, so it does not tell him which number has an account."""
    johan, _lena = asked
    proxy_link_request(actor=johan, resident=johan, proxy_phone="070-174 06 98")
    assert ProxyInvitation.objects.filter(resident=johan).exists()
    page = world.client("other_resident").get("/profile/").content.decode()
    helpers = page.split("People who help me")[1].split("</ul>")[0]
    items = re.findall(r"<li>(.*?)</li>", helpers, re.S)
    assert items == [
        "070-174 06 30: waiting for an answer",
        "070-174 06 98: waiting for an answer",
    ]


@pytest.mark.parametrize("action", ["accept", "decline"])
@pytest.mark.parametrize("role", ["other_resident", "rider", "coordinator"])
def test_nobody_else_can_answer(world, asked, role, action):
    johan, _lena = asked
    response = world.client(role).post(f"/profile/people/{johan.pk}/{action}")
    assert response.status_code == 404
    assert ProxyLink.objects.get(resident=johan).accepted_at is None


def test_an_accepted_link_is_not_ended_by_an_old_decline_button(world):
    rider = world.people["rider"]
    response = world.client("proxy").post(f"/profile/people/{rider.pk}/decline", follow=True)
    assert "You already help Anna Eriksson." in response.content.decode()
    assert ProxyLink.objects.get(resident=rider).is_accepted


def test_get_and_forms_without_csrf_token_are_refused(world, asked):
    johan, _lena = asked
    client = world.client("proxy")
    assert client.get(f"/profile/people/{johan.pk}/accept").status_code == 405
    client.handler.enforce_csrf_checks = True
    assert client.post(f"/profile/people/{johan.pk}/accept").status_code == 403
    assert ProxyLink.objects.get(resident=johan).accepted_at is None

"""The header every signed-in page shares (webapp/views/common.py `shell`): the menu links
each role gets, the unread badge and where the live connection starts."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from backend.community.models import Membership, MembershipState, Role
from backend.notifications.models import Notification
from backend.notifications.selectors import notifications_since
from backend.notifications.services import notify

LINKS = {"Console": "/console/", "Statistics": "/stats/", "Driver": "/driver/"}


def menu_links(html: str) -> set[str]:
    menu = html[html.index('aria-label="Main menu"') : html.index("</nav>")]
    return {name for name, href in LINKS.items() if f'href="{href}"' in menu}


@pytest.mark.parametrize(
    ("role", "links"),
    [
        ("rider", set()),
        ("proxy", set()),
        ("offered_driver", {"Driver"}),
        ("coordinator", {"Console"}),
        ("coordinator_elsewhere", {"Console"}),
        ("analyst", {"Statistics"}),
    ],
)
def test_each_role_sees_the_links_of_its_roles_and_no_others(world, role, links):
    response = world.client(role).get("/")
    assert response.status_code == 200
    assert menu_links(response.content.decode()) == links


def test_the_menu_links_where_each_item_says_and_marks_the_page_one_is_on(world):
    html = world.client("coordinator").get("/carpool/").content.decode()
    menu = html[html.index('aria-label="Main menu"') : html.index("</nav>")]
    hrefs = re.findall(r'href="([^"]+)"', menu)
    assert hrefs == [
        "/",
        "/rides/new",
        "/carpool/",
        "/shop-runs/",
        "/sharing/",
        "/notifications/",
        "/console/",
        "/profile/",
    ]
    assert re.findall(r'href="([^"]+)" aria-current="page"', menu) == ["/carpool/"]
    assert '<link rel="manifest" href="/manifest.webmanifest">' in html
    assert 'action="/language"' in html and 'action="/sign-out"' in html


def test_a_page_for_someone_signed_out_links_home_and_the_language(client):
    html = client.get("/sign-in").content.decode()
    assert '<a class="brand" href="/">Samby</a>' in html
    assert 'action="/language"' in html and 'aria-label="Main menu"' not in html


def test_a_suspended_coordinator_or_driver_loses_the_link(world):
    for role in ("coordinator", "offered_driver"):
        Membership.objects.filter(user=world.people[role], association=world.a).update(
            state=MembershipState.SUSPENDED
        )
    assert menu_links(world.client("coordinator").get("/").content.decode()) == set()
    assert menu_links(world.client("offered_driver").get("/").content.decode()) == set()


def test_a_member_without_the_driver_role_has_no_driver_link(world):
    driver = world.people["offered_driver"]
    Membership.objects.filter(user=driver, association=world.a).update(roles=[Role.MEMBER])
    assert menu_links(world.client("offered_driver").get("/").content.decode()) == set()


def test_the_badge_counts_unread_messages_and_the_live_connection_starts_after_the_last(world):
    rider = world.people["rider"]
    Notification.objects.filter(recipient=rider).delete()
    html = world.client("rider").get("/").content.decode()
    assert 'data-since="0"' in html
    assert re.search(r'data-unread data-count="0"', html)

    for _ in range(3):
        notify(rider, "association.message", {"association": "Äppelbo", "text": "Hej"})
    first = Notification.objects.filter(recipient=rider).order_by("id").first()
    Notification.objects.filter(pk=first.pk).update(read_at=timezone.now())
    last = Notification.objects.filter(recipient=rider).latest("id").id
    # Someone else's messages count for nothing here.
    notify(world.people["proxy"], "association.message", {"association": "Ä", "text": "Hej"})

    html = world.client("rider").get("/").content.decode()
    assert f'data-since="{last}"' in html
    assert re.search(r'data-unread data-count="2"', html)


def test_the_page_knows_the_recent_messages_the_replay_brings_again(world, settings):
    """The page was rendered with the recent messages that a replay from its newest id
    brings again (ids are given at insert, so the replay reaches back): its script
    counts them as shown (data-seen), exactly those."""
    settings.NOTIFY_REPLAY_OVERLAP = 600
    rider = world.people["rider"]
    Notification.objects.filter(recipient=rider).delete()
    html = world.client("rider").get("/").content.decode()
    assert 'data-since="0" data-seen=""' in html

    old, recent, newest = (
        notify(rider, "association.message", {"association": "Ä", "text": "Hej"}).pk
        for _ in range(3)
    )
    Notification.objects.filter(pk=old).update(created_at=timezone.now() - timedelta(minutes=11))
    notify(world.people["proxy"], "association.message", {"association": "Ä", "text": "Hej"})

    html = world.client("rider").get("/").content.decode()
    assert f'data-since="{newest}" data-seen="{newest} {recent}"' in html
    replayed = notifications_since(user=rider, since_id=newest)
    assert [n.pk for n in replayed] == [recent, newest]


def test_anonymous_pages_have_no_menu_and_no_live_connection(world):
    html = world.client("anonymous").get("/sign-in").content.decode()
    assert 'aria-label="Main menu"' not in html
    assert "data-live" not in html

"""The page's websocket client shows each notification once: when the replay brings
again the ones the page was rendered with, when one commits after a higher id, and when
a reconnect's replay brings everything recent again."""

import threading

import pytest
from django.db import connection, transaction

from backend.notifications.services import notify
from tests.e2e.conftest import off_loop, wait_live
from tests.factories import UserFactory

pytestmark = pytest.mark.e2e

# Before the page's script runs: keep every socket it opens and every notification
# frame it receives, and every toast it shows (toasts go away after 10 s).
WATCH = """
window.__sockets = [];
window.__frames = [];
window.__toasts = [];
const Native = window.WebSocket;
window.WebSocket = class extends Native {
  constructor(...args) {
    super(...args);
    window.__sockets.push(this);
    this.addEventListener("message", (event) => {
      const message = JSON.parse(event.data);
      if (message.type === "notification") window.__frames.push(message.id);
    });
  }
};
new MutationObserver((changes) => changes.forEach((change) => change.addedNodes.forEach(
  (node) => {
    if (node.classList && node.classList.contains("toast")) window.__toasts.push(node.textContent);
  }
))).observe(document, { childList: true, subtree: true });
"""
MESSAGE = {"association": "Äppelbo byalag", "text": "Hej"}


def send(person, text: str) -> int:
    return off_loop(
        notify, recipient=person, kind="association.message", payload={**MESSAGE, "text": text}
    ).pk


def test_each_message_is_shown_once_through_a_late_commit_and_a_reconnect(live, phone):
    anna = UserFactory(preferred_language="en")
    before = send(anna, "före")
    context = phone(anna)
    context.add_init_script(WATCH)
    page = context.new_page()
    page.goto("/notifications/")
    wait_live(page)
    assert page.locator("body").get_attribute("data-seen") == str(before)

    # The replay from `before` brings it again: the page was rendered with it.
    page.wait_for_function(f"window.__frames.includes({before})")

    # Transaction A stores a message and stays open; B's, with a higher id, arrives first.
    inserted, release = threading.Event(), threading.Event()
    late: list[int] = []

    def slow() -> None:
        try:
            with transaction.atomic():
                late.append(notify(anna, "association.message", {**MESSAGE, "text": "lång"}).pk)
                inserted.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=slow)
    thread.start()
    assert inserted.wait(10)
    newer = send(anna, "snabb")
    page.wait_for_function("window.__toasts.length === 1")
    release.set()  # A commits: its message arrives after B's, with a lower id
    thread.join(10)
    assert late[0] < newer
    page.wait_for_function("window.__toasts.length === 2")

    # The connection drops; the page reconnects with ?since=<B> and the replay brings
    # all three again (recent): nothing is shown twice.
    page.evaluate("window.__sockets.at(-1).close()")
    page.wait_for_function(
        f"window.__sockets.length === 2"
        f" && window.__frames.filter((id) => id === {newer}).length === 2"
    )
    page.wait_for_timeout(300)
    toasts = page.evaluate("window.__toasts")
    assert [text.split(": ")[-1] for text in toasts] == ["snabb", "lång"]
    assert page.locator("[data-unread]").first.get_attribute("data-count") == "3"
    assert page.evaluate("window.__frames") == [before, newer, late[0], before, late[0], newer]


def test_a_live_message_is_a_link_to_where_it_is_acted_on(live, phone):
    anna = UserFactory(preferred_language="en")
    context = phone(anna)
    page = context.new_page()
    page.goto("/profile/")
    wait_live(page)

    sent = send(anna, "Hej")

    link = page.locator(".toast a")
    link.wait_for()
    assert link.get_attribute("href") == f"/notifications/{sent}/open"
    link.click()
    page.wait_for_url(f"**/notifications/#message-{sent}")
    notification = off_loop(anna.notifications.get, pk=sent)
    assert notification.read_at is not None

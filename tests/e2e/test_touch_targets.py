"""Every link and button a resident taps on a phone is big enough to hit.

The rule, measured in Chromium at a phone's width (390 px) on the pages residents use
most:

- A control that stands alone (a button, a link that is all there is in its paragraph,
  heading or list item, a menu link) is at least 44 px high: the size WCAG 2.2 SC 2.5.5
  (AAA) asks for and the platforms' guidelines recommend.
- A link inside a sentence (its paragraph, heading, list item or definition has text
  besides the link) may be smaller, since growing it would spread the lines of the text
  apart, but it is still at least 24 px high: WCAG 2.2 SC 2.5.8 (AA, target size
  minimum) allows an inline target in a sentence, and the page gives it 24 px anyway.
- Controls nobody can see are not counted: text for screen readers only (1 px), and
  the "skip to content" link while it waits above the page for the keyboard.

The height is that of the element's box (`getBoundingClientRect`), which is what a
finger hits: padding counts, margins do not."""

import pytest

from backend.notifications.services import notify
from tests.e2e.conftest import off_loop
from tests.webapp.conftest import World, build_world

pytestmark = pytest.mark.e2e

ALONE_PX = 44
IN_SENTENCE_PX = 24

# Each visible link and button with its height and whether it stands in a sentence: its
# nearest block (paragraph, heading, list item, …) has text besides the control's own.
MEASURE = """
() => [...document.querySelectorAll("a, button")].flatMap((el) => {
  const box = el.getBoundingClientRect();
  const style = getComputedStyle(el);
  if (box.width <= 1 || box.height <= 1 || style.visibility === "hidden") return [];
  if (box.bottom <= 0) return [];  // the skip link, parked above the page until focused
  let block = el.parentElement;
  while (block && getComputedStyle(block).display.startsWith("inline")) {
    block = block.parentElement;
  }
  const words = (node) => node.textContent.replace(/\\s+/g, " ").trim();
  const inSentence = el.tagName === "A" && block !== null && words(block) !== words(el);
  return [{
    tag: el.tagName.toLowerCase(),
    text: words(el).slice(0, 40),
    height: Math.round(box.height * 10) / 10,
    inSentence,
  }];
})
"""


@pytest.fixture
def world(live) -> World:
    made = build_world()
    off_loop(
        notify,
        recipient=made.people["rider"],
        kind="association.message",
        payload={"association": made.a.name, "text": "Byastämma i kväll klockan sju."},
    )
    return made


@pytest.mark.parametrize("language", ["sv", "en"])
@pytest.mark.parametrize(
    "path",
    ["/", "/rides/", "/notifications/", "/rides/{held}/", "/rides/{held}/cancel"],
    ids=["home", "rides", "notifications", "ride", "cancel question"],
)
def test_every_link_and_button_is_big_enough_to_tap(live, phone, world: World, path, language):
    page = phone(world.people["rider"], language=language).new_page()
    response = page.goto(path.format(held=world.held.pk))
    assert response.status == 200
    page.wait_for_load_state("load")
    controls = page.evaluate(MEASURE)
    assert any(not c["inSentence"] for c in controls)  # the page was measured
    too_small = [
        c for c in controls if c["height"] < (IN_SENTENCE_PX if c["inSentence"] else ALONE_PX)
    ]
    assert too_small == [], too_small

"""`mem ui` in a real browser (headless Chromium): every page loads without a script
error, search by keyboard, open a note by clicking it in the graph, revert a change,
approve a review item, and the graph file works offline. Skips when Chromium is absent."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ui_browser import EMBEDDER, chromium, missing, seed, served
from zettelmem.memory.core import Memory
from zettelmem.schemas import SCORE_PARTS

REASON = missing()
pytestmark = pytest.mark.skipif(REASON is not None, reason=f"browser tests: {REASON}")


class View:
    """The served view, the browser on it, and the ids of the seeded store."""

    def __init__(self, driver: Any, base: str, home: Path, ids: dict[str, str]) -> None:
        self.driver, self.base, self.home, self.ids = driver, base, home, ids

    def open(self, path: str) -> None:
        self.driver.get(self.base + path)

    def text(self) -> str:
        return str(self.driver.find_element("css selector", "main").text)

    def wait(self, condition: Callable[[], object], what: str, seconds: float = 20) -> None:
        from selenium.common.exceptions import (
            NoSuchElementException,
            StaleElementReferenceException,
        )

        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                if condition():
                    return
            except (NoSuchElementException, StaleElementReferenceException):
                pass  # the page is being replaced under us: look again
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}")

    def errors(self) -> list[str]:
        return [e["message"] for e in self.driver.get_log("browser") if e["level"] == "SEVERE"]


@pytest.fixture(scope="module")
def view(tmp_path_factory: pytest.TempPathFactory) -> Iterator[View]:
    home = tmp_path_factory.mktemp("ui") / "home"
    ids = seed(home)
    with served(home, embedder=EMBEDDER) as base, chromium() as driver:
        yield View(driver, base, home, ids)


def test_every_page_loads_without_a_script_error(view: View) -> None:
    pages = {
        "/ui/": "Search",
        f"/ui/note/{view.ids['trip0']}": "Osaka",
        "/ui/graph?scope=trip": "Graph of trip",
        "/ui/timeline?scope=trip": "Timeline of trip",
        "/ui/review": "Review",
    }
    for path, shows in pages.items():
        view.open(path)
        assert shows in view.text(), path
        assert view.errors() == [], path


def test_search_by_keyboard_then_open_a_hit(view: View) -> None:
    from selenium.webdriver.common.keys import Keys

    view.open(f"/ui/note/{view.ids['garden0']}")
    body = view.driver.find_element("css selector", "body")
    body.send_keys("s")  # the search page
    view.wait(lambda: view.driver.current_url.endswith("/ui/"), "the search page")
    view.driver.find_element("css selector", "body").send_keys("/")
    active = view.driver.switch_to.active_element
    assert active.get_attribute("id") == "q"
    active.send_keys("vintage camera film", Keys.ENTER)
    view.wait(lambda: "hits for" in view.text(), "the hits")
    first = view.driver.find_element("css selector", "li.hit")
    assert "vintage camera" in first.text
    for part in SCORE_PARTS:
        assert part in first.find_element("css selector", ".scores").text
    view.driver.find_element("css selector", "body").send_keys("j")
    view.driver.switch_to.active_element.send_keys(Keys.ENTER)
    view.wait(lambda: "/ui/note/" in view.driver.current_url, "the note page")
    assert "vintage camera" in view.text() and "Links" in view.text()
    # j on the note page moves to its first link, Enter opens the linked note
    here = view.driver.current_url
    view.driver.find_element("css selector", "body").send_keys("j")
    active = view.driver.switch_to.active_element
    assert active.tag_name == "a" and "/ui/note/" in (active.get_attribute("href") or "")
    active.send_keys(Keys.ENTER)
    view.wait(lambda: view.driver.current_url != here, "the linked note")


def test_clicking_a_node_in_the_graph_opens_its_note(view: View) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    view.open("/ui/graph?scope=trip")
    view.wait(lambda: view.driver.execute_script("return window.memGraph.settled"), "layout")
    target = view.ids["trip4"]
    x, y = view.driver.execute_script("return window.memGraph.screenOf(arguments[0])", target)
    canvas = view.driver.find_element("css selector", "canvas#graph")
    size = canvas.size
    ActionChains(view.driver).move_to_element_with_offset(
        canvas, int(x - size["width"] / 2), int(y - size["height"] / 2)
    ).click().perform()
    view.wait(lambda: f"/ui/note/{target}" in view.driver.current_url, "the clicked note")
    assert "vintage camera" in view.text()


def test_revert_a_change_from_the_note_page(view: View) -> None:
    view.open(f"/ui/note/{view.ids['old']}")
    assert "superseded by" in view.text()
    view.driver.find_element("css selector", "table.history button").click()
    view.wait(lambda: "Change reverted." in view.text(), "the revert")
    assert "reverted by" in view.text()
    with Memory(view.home, embedder=EMBEDDER) as memory:
        assert memory.get(view.ids["old"]).status == "active"


def test_approve_a_review_item(view: View) -> None:
    view.open("/ui/review")
    item = view.driver.find_element("id", f"pending-{view.ids['poison']}")
    assert "instruction" in item.text
    item.find_element("css selector", "button.approve").click()
    view.wait(lambda: "Note approved" in view.text(), "the approval")
    assert f"pending-{view.ids['poison']}" not in view.driver.page_source
    with Memory(view.home, embedder=EMBEDDER) as memory:
        assert memory.get(view.ids["poison"]).status == "active"
        assert [n.id for n, _ in memory.review()] == [view.ids["poison2"]]


def test_the_graph_file_shows_a_note_offline(view: View, tmp_path: Path) -> None:
    from selenium.webdriver.common.action_chains import ActionChains

    from zettelmem.server.ui_graph import load_view
    from zettelmem.server.ui_views import graph_file

    with Memory(view.home, embedder=EMBEDDER) as memory:
        page = graph_file(load_view(memory, "trip", details=True))
    out = tmp_path / "graph.html"
    out.write_text(page, encoding="utf-8")
    view.driver.get(out.as_uri())
    view.wait(lambda: view.driver.execute_script("return window.memGraph.settled"), "layout")
    x, y = view.driver.execute_script(
        "return window.memGraph.screenOf(arguments[0])", view.ids["trip1"]
    )
    canvas = view.driver.find_element("css selector", "canvas#graph")
    ActionChains(view.driver).move_to_element_with_offset(
        canvas, int(x - canvas.size["width"] / 2), int(y - canvas.size["height"] / 2)
    ).click().perform()
    detail = view.driver.find_element("id", "detail")
    view.wait(detail.is_displayed, "the note panel")
    assert "queue around the block" in detail.text
    assert view.errors() == []


def test_a_long_unbroken_word_wraps_instead_of_widening_the_page(view: View) -> None:
    """A hash or a long URL in a note wraps: no page is wider than the window."""
    word = "sha256:" + "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08" * 3
    with Memory(view.home, embedder=EMBEDDER) as memory:
        note = memory.remember(f"The release tarball digest is {word}", scope="trip").note
    view.driver.set_window_size(800, 900)
    try:
        for path in (f"/ui/note/{note.id}", "/ui/?q=release+tarball+digest&scope=trip"):
            view.open(path)
            view.wait(lambda: "digest" in view.text(), path)
            wide = view.driver.execute_script(
                "return [document.documentElement.scrollWidth, window.innerWidth]"
            )
            assert wide[0] <= wide[1], (path, wide)
    finally:
        view.driver.set_window_size(1280, 900)


def test_the_graph_keys_work_as_the_page_opens(view: View) -> None:
    """No click first: the graph has the keyboard when its page loads (n picks the best
    linked note, Enter opens it)."""
    view.open("/ui/graph?scope=trip")
    view.wait(lambda: view.driver.execute_script("return window.memGraph.settled"), "layout")
    active = view.driver.switch_to.active_element
    assert active.get_attribute("id") == "graph"
    active.send_keys("n")
    view.wait(lambda: "note:" in (active.get_attribute("aria-label") or ""), "a focused note")
    active.send_keys("\ue007")  # Enter
    view.wait(lambda: "/ui/note/" in view.driver.current_url, "the focused note's page")

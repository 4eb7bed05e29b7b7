"""`mem ui` over HTTP (no browser): what each page shows from a real store, the Host,
Origin, token and CSRF rules, the graph view's data, and `mem graph` with labels and html."""

from __future__ import annotations

import html
import json
import logging
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from served import stop
from ui_browser import EMBEDDER, seed
from zettelmem.errors import InvalidInput
from zettelmem.memory.core import Memory
from zettelmem.models import Note
from zettelmem.schemas import SCORE_PARTS
from zettelmem.server.core import Core
from zettelmem.server.ui import ui_app
from zettelmem.server.ui_graph import communities, pick, ranked_groups, view

pytestmark = pytest.mark.usefixtures("offline_env")
testclient = pytest.importorskip("starlette.testclient")
BASE = "http://127.0.0.1:8766"
TOKEN = "ui-token-4d1a"


@pytest.fixture
def store(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    home = tmp_path / "home"
    return home, seed(home)


@pytest.fixture
def client(store: tuple[Path, dict[str, str]]) -> Iterator[Any]:
    core = Core(lambda: Memory(store[0], embedder=EMBEDDER))
    try:
        with testclient.TestClient(ui_app(core), base_url=BASE) as c:
            yield c
    finally:
        core.close()


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def test_search_shows_hits_with_score_parts_and_filters(client: Any) -> None:
    page = client.get("/ui/", params={"q": "Kyoto temples", "scope": "trip"})
    assert page.status_code == 200
    assert "Kyoto temples were calm" in page.text
    for part in SCORE_PARTS:
        assert f"<b>{part}</b>" in page.text
    assert "garden" not in page.text.split('id="count"')[1]  # scope filter holds
    assert "content-security-policy" in {k.lower() for k in page.headers}
    empty = client.get("/ui/", params={"q": "Kyoto", "since": "2030-01-01"})
    assert "0 hits" in empty.text


def test_a_tag_may_be_written_with_its_mark(client: Any) -> None:
    """`#travel` in the tag box, as `--tag #travel` on the command line."""
    plain = client.get("/ui/", params={"q": "Kyoto", "tag": "nosuchtag"})
    marked = client.get("/ui/", params={"q": "Kyoto", "tag": "#nosuchtag"})
    assert plain.status_code == marked.status_code == 200
    assert "0 hits" in marked.text


def test_search_refuses_a_bad_date_with_a_message(client: Any) -> None:
    page = client.get("/ui/", params={"q": "tomatoes", "since": "yesterday-ish"})
    assert page.status_code == 400 and 'class="error"' in page.text


def test_note_page_shows_fields_links_and_history(client: Any, store: Any) -> None:
    _, ids = store
    page = client.get(f"/ui/note/{ids['old']}").text
    assert "Ana lives in Lisbon" in page and "superseded" in page
    assert f'href="/ui/note/{ids["new"]}"' in page  # the link, from the other side
    assert "Revert</button>" in page and "superseded by" in page
    # the change names the note that caused it as a link, a hand-made supersede too
    history = page.split('table class="history"')[1].split("</table>")[0]
    assert f'href="/ui/note/{ids["new"]}"' in history
    assert client.get("/ui/note/nope").status_code == 404
    # the heading counts the rows below it (a link both ways, as 'related', is one row)
    linked = client.get(f"/ui/note/{ids['trip4']}").text
    assert "↔ related" in linked
    section = linked.split('<section class="links">')[1].split("</section>")[0]
    shown = int(section.split("Links (")[1].split(")")[0])
    assert shown == section.count("<tr>") - 1 > 0


def test_revert_needs_same_origin_and_the_page_token(client: Any, store: Any) -> None:
    home, ids = store
    page = client.get(f"/ui/note/{ids['old']}").text
    change = re.search(r'name="change" value="([^"]+)"', page)
    assert change
    form = {"change": change.group(1), "note": ids["old"], "csrf": _csrf(page)}
    assert client.post("/ui/revert", data=form).status_code == 403  # no Origin
    evil = {"Origin": "http://evil.example"}
    assert client.post("/ui/revert", data=form, headers=evil).status_code == 403
    same = {"Origin": BASE}
    forged = client.post("/ui/revert", data={**form, "csrf": "x"}, headers=same)
    assert forged.status_code == 403
    done = client.post("/ui/revert", data=form, headers=same, follow_redirects=False)
    assert done.status_code == 303
    after = client.get(done.headers["location"]).text
    assert "Change reverted." in after and "reverted by" in after
    again = client.post("/ui/revert", data=form, headers=same)
    assert again.status_code == 409 and "already reverted" in again.text


def test_review_lists_reasons_and_settles(client: Any, store: Any) -> None:
    home, ids = store
    page = client.get("/ui/review").text
    assert "Review (2)" in page and ids["poison"] in page and "instruction" in page
    same = {"Origin": BASE}
    form = {"id": ids["poison"], "csrf": _csrf(page)}
    done = client.post("/ui/review/approve", data=form, headers=same, follow_redirects=False)
    assert done.status_code == 303
    rejected = client.post("/ui/review/reject", data={**form, "id": ids["poison2"]},
                           headers=same)  # fmt: skip
    assert rejected.status_code == 200 and "Nothing awaits review" in rejected.text
    with Memory(home, embedder=EMBEDDER) as memory:
        assert memory.get(ids["poison"]).status == "active"
        assert memory.review() == []


def test_timeline_orders_notes_by_event_date(client: Any) -> None:
    page = client.get("/ui/timeline", params={"scope": "trip"}).text
    assert page.index("2023-01-05") < page.index("2024-03-10") < page.index("2024-06-01")
    assert "2023-01" in page and "Ann:" not in page  # only this scope


def test_graph_page_embeds_labels_and_hides_quarantined(client: Any, store: Any) -> None:
    _, ids = store
    page = client.get("/ui/graph", params={"scope": "garden"}).text
    doc = json.loads(re.search(r'id="graph-data">(.+?)</script>', page).group(1))  # type: ignore[union-attr]
    assert ids["poison"] not in doc["ids"] and ids["garden0"] in doc["ids"]
    assert "Ann: my garden tomatoes grew tall" in doc["labels"][doc["ids"].index(ids["garden0"])]
    assert '<script src="/ui/static/graph.js"' in page
    js = client.get("/ui/static/graph.js")
    assert js.status_code == 200 and "memGraph" in js.text


def test_host_and_origin_are_checked(client: Any) -> None:
    other = client.get("/ui/", headers={"Host": "evil.example"})
    assert other.status_code == 421 and "--allow-host evil.example" in other.text
    assert client.get("/ui/", headers={"Origin": "http://evil.example"}).status_code == 403
    assert client.get("/ui/", headers={"Host": "localhost:8766"}).status_code == 200


def test_a_token_guards_every_page_and_a_cookie_carries_it(store: Any) -> None:
    core = Core(lambda: Memory(store[0], embedder=EMBEDDER))
    try:
        with testclient.TestClient(ui_app(core, token=TOKEN), base_url=BASE) as c:
            assert c.get("/ui/review").status_code == 401
            assert c.get("/ui/review", params={"token": "wrong"}).status_code == 401
            assert c.get("/ui/static/ui.css").status_code == 200
            bearer = c.get("/ui/review", headers={"Authorization": f"Bearer {TOKEN}"})
            assert bearer.status_code == 200
            entry = c.get("/ui/review", params={"token": TOKEN}, follow_redirects=False)
            assert entry.status_code == 303 and "token" not in entry.headers["location"]
            assert "httponly" in entry.headers["set-cookie"].lower()
            assert c.get("/ui/review").status_code == 200  # the cookie now
    finally:
        core.close()


def test_off_loopback_without_a_token_is_refused(store: Any) -> None:
    core = Core(lambda: Memory(store[0], embedder=EMBEDDER))
    try:
        with pytest.raises(InvalidInput, match="without a token"):
            ui_app(core, host="0.0.0.0")
    finally:
        core.close()


def _note(i: int, **kw: Any) -> Note:
    fields: dict[str, Any] = {"content": f"note {i}", "created_at": "2024-01-01T00:00:00",
                              "event_at": None, "scope": "s", "source": "cli", **kw}  # fmt: skip
    return Note(id=f"n{i}", **fields)


def test_pick_keeps_insights_and_the_most_linked_beyond_the_cap() -> None:
    notes = [_note(i) for i in range(10)] + [_note(10, source="reflect"),
                                            _note(11, status="quarantined")]  # fmt: skip
    edges = [("n0", f"n{i}", "related") for i in range(1, 6)] + [("n1", "n2", "follows")]
    picked = pick(notes, edges, cap=4)
    assert picked.total == 11  # the quarantined note is not counted
    assert [n.id for n in picked.notes] == ["n0", "n1", "n2", "n10"]
    assert all(a < 4 and b < 4 for a, b, _ in picked.edges)


def test_communities_split_two_cliques_joined_by_one_link() -> None:
    cliques = [(a, b, 0) for base in (0, 6) for a in range(base, base + 6)
               for b in range(a + 1, base + 6)]  # fmt: skip
    groups = ranked_groups(communities(12, [*cliques, (5, 6, 0)]))
    assert len(set(groups[:6].tolist())) == 1 and len(set(groups[6:].tolist())) == 1
    assert groups[0] != groups[6]


def test_view_says_when_it_sampled() -> None:
    doc = view([_note(i) for i in range(30)], [], scope="s", cap=10)
    assert doc["total"] == 30 and doc["shown"] == 10 and len(doc["x"]) == 10  # type: ignore[arg-type]


def test_graph_exports_carry_label_tags_and_keywords(mem: Any) -> None:
    first = mem.remember("Ana: the vintage camera needs a new film roll", "--tag", "photo")
    data = json.loads(mem.ok("graph", "--format", "json").stdout)
    node = next(n for n in data["nodes"] if n["id"] == first)
    assert node["label"].startswith("Ana: the vintage camera")
    assert node["tags"] == "photo" and node["keywords"]
    graphml = mem.ok("graph", "--format", "graphml").stdout
    assert "Ana: the vintage camera" in graphml and 'attr.name="keywords"' in graphml


def test_graph_html_is_one_self_contained_file(mem: Any, tmp_path: Path) -> None:
    mem.remember("Ana: the vintage camera needs a new film roll")
    mem.remember("Ben: </script><script>alert(1)</script> camera film")
    out = tmp_path / "graph.html"
    mem.ok("graph", "--format", "html", "-o", str(out))
    text = out.read_text(encoding="utf-8")
    assert 'id="graph-data"' in text and "Ana: the vintage camera" in text
    assert not re.search(r'(src|href)="(https?:)?//', text), "the file loads something"
    assert "<script>alert(1)" not in text  # the content cannot close the data block
    assert text.count("<script") == 2  # the data block and the inlined script


def test_mem_ui_refuses_to_leave_loopback_without_a_token(
    mem: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MEM_TOKEN", raising=False)
    result = mem("ui", "--host", "0.0.0.0", "--port", "0")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: refusing to serve on 0.0.0.0")
    # the view takes one token, not the store's: the message must not send the user there
    assert "not those of `mem token create`" in result.stderr
    mem("token", "create", "alice", "--grant", "*:rw")
    again = mem("ui", "--host", "0.0.0.0", "--port", "0")
    assert again.exit_code == 2 and "MEM_TOKEN" in again.stderr


def test_every_page_answers_on_a_database(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The web view over the PostgreSQL record, chosen as a user would (MEM_STORE)."""
    monkeypatch.setenv("MEM_STORE", pg_url)
    home = tmp_path / "home"
    ids = seed(home)
    core = Core(lambda: Memory(home, embedder=EMBEDDER))
    try:
        with testclient.TestClient(ui_app(core), base_url=BASE) as c:
            found = c.get("/ui/", params={"q": "Kyoto temples", "scope": "trip"})
            assert found.status_code == 200 and "Kyoto temples were calm" in found.text
            note = c.get(f"/ui/note/{ids['old']}")
            assert note.status_code == 200 and "Ana lives in Lisbon" in note.text
            assert "superseded by" in note.text
            graph = c.get("/ui/graph", params={"scope": "trip"})
            assert graph.status_code == 200 and ids["trip4"] in graph.text
            timeline = c.get("/ui/timeline", params={"scope": "trip"})
            assert timeline.status_code == 200 and "Ana moved to Porto" in timeline.text
            review = c.get("/ui/review")
            assert review.status_code == 200 and f"pending-{ids['poison']}" in review.text
    finally:
        core.close()
    with Memory(home, embedder=EMBEDDER) as memory:
        assert memory.records.count() == len(ids)
    assert not (home / "notes.db").exists()  # the notes live in the database


def test_every_page_says_when_its_database_is_unreachable(
    pg_url: str, pg_outage: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    warnings_seen: list[logging.LogRecord],
) -> None:  # fmt: skip
    """A database outage is a 503 page on every route that says so in one line, with one
    log line per request (no traceback); the view answers again once the database does."""
    monkeypatch.setenv("MEM_STORE", pg_url)
    home = tmp_path / "home"
    ids = seed(home)
    core = Core(lambda: Memory(home, embedder=EMBEDDER))
    if core.warming is not None:
        core.warming.join()  # this machine's indexes are built before the outage
    pages = ["/ui/?q=Kyoto+temples", "/ui/", f"/ui/note/{ids['old']}", "/ui/note/nope",
             "/ui/graph", "/ui/timeline?scope=trip", "/ui/review"]  # fmt: skip
    try:
        with testclient.TestClient(ui_app(core), base_url=BASE) as c:
            form = {"id": ids["poison"], "csrf": _csrf(c.get("/ui/review").text)}
            with pg_outage(pg_url):
                for path in pages:
                    down = c.get(path)
                    assert down.status_code == 503, (path, down.text)
                    assert "store is unreachable" in down.text and "connect" in down.text
                    assert "that the server runs" in down.text
                settle = c.post("/ui/review/approve", data=form, headers={"Origin": BASE})
                assert settle.status_code == 503 and "unreachable" in settle.text
            said = [r for r in warnings_seen if "unreachable" in r.getMessage()]
            assert len(said) == len(pages) + 1 and not any(r.exc_info for r in said)
            assert "\n" not in said[0].getMessage() and "/ui/" in said[0].getMessage()
            for path in pages:
                assert c.get(path).status_code == (404 if "nope" in path else 200), path
    finally:
        core.close()
    with Memory(home, embedder=EMBEDDER) as memory:
        assert memory.get(ids["poison"]).status == "quarantined"  # the approve did not land


def test_a_timeline_month_must_be_a_month(client: Any) -> None:
    for bad in ("garbage", "2026-13", "2024-5", "0000-01"):
        page = client.get("/ui/timeline", params={"month": bad})
        assert page.status_code == 400, (bad, page.text)
        assert f"malformed month &#x27;{bad}&#x27;; use YYYY-MM" in page.text
    shown = client.get("/ui/timeline", params={"scope": "trip", "month": "2023-01"})
    assert shown.status_code == 200 and "showing 2023-01" in shown.text
    assert "Ana lives in Lisbon" in shown.text and "Ana moved to Porto" not in shown.text


def test_a_scope_that_holds_no_notes_names_the_scopes_there_are(client: Any) -> None:
    """As `mem recall --scope` and MCP recall say it: a mistyped scope is not '0 hits'."""
    said = "no notes in scope 'nosuch'; the scopes are: garden, trip"
    for path, params in [("/ui/", {"q": "Kyoto", "scope": "nosuch"}),
                         ("/ui/timeline", {"scope": "nosuch"}),
                         ("/ui/graph", {"scope": "nosuch"})]:  # fmt: skip
        page = client.get(path, params=params)
        assert page.status_code == 200 and said in html.unescape(page.text), path
    # a scope that holds notes, none of them matching: no such line
    other = client.get("/ui/", params={"q": "Kyoto", "scope": "garden", "since": "2030-01-01"})
    assert "0 hits" in other.text and "the scopes are" not in other.text


def test_an_empty_memory_says_how_to_add_notes(tmp_path: Path) -> None:
    core = Core(lambda: Memory(tmp_path / "empty", embedder=EMBEDDER))
    said = "the memory is empty; add notes with `mem remember TEXT` or `mem import FILE`"
    try:
        with testclient.TestClient(ui_app(core), base_url=BASE) as c:
            for path in ("/ui/", "/ui/?q=anything", "/ui/?q=x&scope=nosuch", "/ui/graph",
                         "/ui/timeline", "/ui/timeline?scope=nosuch"):  # fmt: skip
                page = c.get(path)
                assert page.status_code == 200 and said in html.unescape(page.text), path
    finally:
        core.close()


@pytest.mark.parametrize(("extra", "warned"), [([], True), (["--allow-host", "mem.lan"], False)])
def test_mem_ui_on_every_interface_says_other_machines_get_421(
    tmp_path: Path, extra: list[str], warned: bool
) -> None:
    """As `mem serve --http` says it: the two follow the same rules."""
    log = tmp_path / "ui.log"
    env = {**os.environ, "MEM_EMBEDDER": "hashing", "MEM_TOKEN": TOKEN}
    env.pop("MEM_HOME", None)
    with log.open("wb") as errors:
        proc = subprocess.Popen(
            [sys.executable, "-m", "zettelmem", "--home", str(tmp_path / "h"), "ui",
             "--host", "0.0.0.0", "--port", "0", *extra],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errors, env=env,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while "web view at" not in log.read_text() and time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()
            time.sleep(0.05)
        deadline = time.monotonic() + 3  # the line after the address's, or none
        while "get 421" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        said = log.read_text()
        assert "web view at" in said, said
        assert ("get 421 until you add --allow-host" in said) is warned, said
    finally:
        stop(proc)

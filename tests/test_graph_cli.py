"""The graph commands of `mem`: links, link, history, revert, reflect and graph export,
with --json where offered; bad input is one `Error:` line and writes nothing."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import networkx as nx
import pytest

from conftest import MemCli

pytestmark = pytest.mark.usefixtures("offline_env")

UNKNOWN = "0000000000000000"
ZEBRA = "zebra crossing outside the old railway station at noon"
ZEBRA2 = "zebra crossing outside the old railway station at dusk"
KETTLE = "descaling the kettle with white vinegar and lemon"
GARDEN = [
    f"Caroline: my garden tomatoes and basil grew tall with compost and watering {w}"
    for w in ["in May", "this spring", "all week", "near the fence"]
]
DOGS = [
    f"Melanie: our puppy and dog love long park walks and fetch {w}"
    for w in ["every morning", "after dinner", "on Sundays", "with friends"]
]


@pytest.fixture
def notes(mem: MemCli) -> dict[str, str]:
    return {
        "a": mem.remember(ZEBRA),
        "b": mem.remember(ZEBRA2),
        "c": mem.remember(KETTLE),
        "d": mem.remember("penguins waddle across the icy beach", "--scope", "other"),
    }


def _state(mem: MemCli) -> tuple[dict[str, Any], list[str]]:
    """Everything a failed command must leave as it was."""
    stats = mem.json("stats")
    keep = {k: stats[k] for k in ("notes", "by_status", "scopes", "links", "history", "ops_head")}
    return keep, mem.state()[2]


def _one_error_line(result: Any) -> str:
    assert result.exit_code != 0, f"exit 0; stdout: {result.stdout!r}"
    assert result.stdout == "", f"data on stdout after an error: {result.stdout!r}"
    lines = result.stderr.splitlines()
    assert len(lines) == 1, f"stderr is not one line: {result.stderr!r}"
    assert lines[0].startswith("Error: "), lines[0]
    return lines[0]


def _record_counts(home: Path, scope: str | None = None) -> tuple[int, int]:
    """(notes, links) as the SQLite record holds them (links with both ends in scope)."""
    db = sqlite3.connect(f"file:{home / 'notes.db'}?mode=ro", uri=True)
    try:
        if scope is None:
            notes = db.execute("SELECT COUNT(*) FROM notes").fetchone()[0]
            links = db.execute("SELECT COUNT(*) FROM links").fetchone()[0]
        else:
            notes = db.execute("SELECT COUNT(*) FROM notes WHERE scope=?", (scope,)).fetchone()[0]
            links = db.execute(
                "SELECT COUNT(*) FROM links l JOIN notes a ON a.id=l.src JOIN notes b "
                "ON b.id=l.dst WHERE a.scope=? AND b.scope=?",
                (scope, scope),
            ).fetchone()[0]
    finally:
        db.close()
    return int(notes), int(links)


# -- links, link, history, revert ------------------------------------------------------------


def test_links_lists_both_directions(mem: MemCli, notes: dict[str, str]) -> None:
    a, b = notes["a"], notes["b"]
    out = mem.json("links", a)
    assert out["id"] == a
    pairs = {(x["src"], x["dst"], x["kind"]) for x in out["links"]}
    assert pairs == {(a, b, "related"), (b, a, "related")}
    assert all(0 < x["weight"] <= 1 for x in out["links"])
    text = mem.ok("links", a).stdout.splitlines()
    assert len(text) == 2 and all(line.startswith("related") for line in text)
    assert any(line.endswith(f"-> {b}") for line in text)
    assert any(line.endswith(f"<- {b}") for line in text)
    assert mem.json("links", notes["c"]) == {"id": notes["c"], "links": []}


def test_link_history_and_revert(mem: MemCli, notes: dict[str, str]) -> None:
    a, c = notes["a"], notes["c"]
    made = mem.json("link", c, a, "--kind", "supersedes")
    assert made == {"src": c, "dst": a, "kind": "supersedes", "weight": 1.0}
    assert mem.json("show", a)["status"] == "superseded"
    hits = mem.json("recall", "zebra crossing noon", "--scope", "default")["hits"]
    assert a not in {h["id"] for h in hits}
    history = mem.json("history", a)
    assert history["id"] == a
    [change] = history["changes"]
    assert (change["field"], change["before"], change["after"]) == (
        "status",
        "active",
        "superseded",
    )
    assert c in change["reason"] and change["reverted_by"] is None
    line = mem.ok("history", a).stdout.strip()
    assert line.startswith(change["change_id"]) and "status: active -> superseded" in line

    undo = mem.json("revert", change["change_id"])
    assert (undo["note_id"], undo["field"], undo["before"], undo["after"]) == (
        a,
        "status",
        "superseded",
        "active",
    )
    assert undo["reason"] == f"revert of {change['change_id']}"
    assert mem.json("show", a)["status"] == "active"
    first, second = mem.json("history", a)["changes"]
    assert first["reverted_by"] == undo["change_id"] == second["change_id"]
    assert f"(reverted by {undo['change_id']})" in mem.ok("history", a).stdout

    before = _state(mem)
    line = _one_error_line(mem("revert", change["change_id"]))
    assert "already reverted" in line
    assert _state(mem) == before


def test_link_and_revert_human_output(mem: MemCli, notes: dict[str, str]) -> None:
    a, c = notes["a"], notes["c"]
    assert mem.ok("link", a, c, "--kind", "mentions", "--weight", "0.5").stdout.strip() == (
        f"{a} -mentions-> {c}"
    )
    assert {"src": a, "dst": c, "kind": "mentions", "weight": 0.5} in mem.json("links", c)["links"]
    mem.ok("link", a, c, "--kind", "supersedes")
    [change] = mem.json("history", c)["changes"]
    out = mem.ok("revert", change["change_id"]).stdout.strip()
    assert out == f"reverted {change['change_id']}: status of {c} is active again"
    history = mem.ok("history", notes["b"])
    assert history.stdout == "" and "no changes" in history.stderr


# -- reflect ---------------------------------------------------------------------------------


def test_reflect_reports_created_then_unchanged(mem: MemCli) -> None:
    ids = [
        mem.remember(text, "--at", f"2023-05-{day:02d}")
        for day, text in enumerate([*GARDEN, *DOGS], 1)
    ]
    first = mem.json("reflect")
    assert first["updated"] == [] and first["unchanged"] == []
    assert len(first["created"]) == 2
    sources = []
    for insight in first["created"]:
        assert insight["source"] == "reflect" and insight["tags"][0] == "insight"
        derived = {
            x["dst"]
            for x in mem.json("links", insight["id"])["links"]
            if x["kind"] == "derived_from"
        }
        sources.append(derived)
    assert sorted(map(sorted, sources)) == sorted([sorted(ids[:4]), sorted(ids[4:])])
    again = mem.json("reflect")
    assert again["created"] == again["updated"] == []
    assert sorted(again["unchanged"]) == sorted(n["id"] for n in first["created"])
    human = mem.ok("reflect", "puppy")
    [line] = human.stdout.splitlines()
    assert line.startswith("created: ") and "Insight on" in line
    assert "1 created, 0 updated, 0 unchanged" in human.stderr
    quiet = mem.ok("reflect", "--no-llm")
    assert quiet.stdout == "" and "0 created, 0 updated, 2 unchanged" in quiet.stderr
    assert first["reason"] is None and again["reason"] is None


@pytest.mark.parametrize("topic", ["", "   "])
def test_an_empty_reflect_topic_is_refused_not_taken_as_every_cluster(
    mem: MemCli, topic: str
) -> None:
    mem.remember("A lone note about sourdough starters.")
    result = mem("reflect", topic)
    assert result.exit_code == 2 and "the topic is empty" in result.stderr


def test_reflect_json_says_why_nothing_qualified(mem: MemCli) -> None:
    mem.remember("A lone note about sourdough starters.")
    out = mem.json("reflect")
    assert out["created"] == out["updated"] == out["unchanged"] == []
    assert out["reason"] and "cluster" in out["reason"]  # the same reason the MCP tool gives


# -- graph export ----------------------------------------------------------------------------


def _graph_setup(mem: MemCli, notes: dict[str, str]) -> None:
    mem.ok("link", notes["a"], notes["c"], "--kind", "supersedes")  # a parallel edge kind
    mem.ok("link", notes["a"], notes["d"], "--kind", "mentions")  # across scopes


def test_graph_json_matches_the_record(mem: MemCli, notes: dict[str, str], tmp_path: Path) -> None:
    _graph_setup(mem, notes)
    expected = _record_counts(mem.home)
    assert expected[1] >= 4
    data = json.loads(mem.ok("graph", "--format", "json").stdout)
    assert (len(data["nodes"]), len(data["links"])) == expected
    assert {n["id"] for n in data["nodes"]} == set(notes.values())
    kinds = {(x["source"], x["target"], x["kind"]) for x in data["links"]}
    assert (notes["a"], notes["c"], "supersedes") in kinds
    out = tmp_path / "graph.json"
    result = mem.ok("graph", "-o", str(out))
    assert result.stdout == ""
    assert f"wrote {expected[0]} notes and {expected[1]} links" in result.stderr
    saved = json.loads(out.read_text(encoding="utf-8"))
    assert (len(saved["nodes"]), len(saved["links"])) == expected
    scoped = json.loads(mem.ok("graph", "--scope", "default").stdout)
    assert (len(scoped["nodes"]), len(scoped["links"])) == _record_counts(mem.home, "default")
    assert notes["d"] not in {n["id"] for n in scoped["nodes"]}


def test_graph_graphml_reads_back_with_networkx(
    mem: MemCli, notes: dict[str, str], tmp_path: Path
) -> None:
    _graph_setup(mem, notes)
    expected = _record_counts(mem.home)
    out = tmp_path / "graph.graphml"
    result = mem.ok("graph", "--format", "graphml", "--output", str(out))
    assert result.stdout == ""
    graph = nx.read_graphml(out)
    assert (graph.number_of_nodes(), graph.number_of_edges()) == expected
    assert graph.nodes[notes["d"]]["scope"] == "other"
    assert graph.nodes[notes["a"]]["status"] == "active"
    assert graph.nodes[notes["c"]]["status"] == "superseded"
    kinds = {(u, v, data["kind"]) for u, v, data in graph.edges(data=True)}
    assert {
        (notes["a"], notes["b"], "related"),
        (notes["a"], notes["c"], "supersedes"),
        (notes["a"], notes["d"], "mentions"),
    } <= kinds
    piped = nx.parse_graphml(mem.ok("graph", "--format", "graphml").stdout)
    assert (piped.number_of_nodes(), piped.number_of_edges()) == expected
    scoped = nx.parse_graphml(mem.ok("graph", "--format", "graphml", "--scope", "other").stdout)
    assert (scoped.number_of_nodes(), scoped.number_of_edges()) == (1, 0)


# -- bad input -------------------------------------------------------------------------------

A, B = "<a>", "<b>"
BAD = [
    # (argv, exit code, fragment the message must contain)
    (["links", UNKNOWN], 3, UNKNOWN),
    (["links", UNKNOWN, "--json"], 3, UNKNOWN),
    (["history", UNKNOWN], 3, UNKNOWN),
    (["history", UNKNOWN, "--json"], 3, UNKNOWN),
    (["revert", UNKNOWN], 3, UNKNOWN),
    (["revert", UNKNOWN, "--json"], 3, UNKNOWN),
    (["link", A, UNKNOWN], 3, UNKNOWN),
    (["link", UNKNOWN, A, "--kind", "supersedes"], 3, UNKNOWN),
    (["link", A, A], 2, "itself"),
    (["link", A, A, "--kind", "supersedes", "--json"], 2, "itself"),
    (["link", A, B, "--weight", "0"], 2, "weight"),
    (["link", A, B, "--weight", "1.5"], 2, "weight"),
    (["link", A, B, "--weight", "-1"], 2, "weight"),
    (["reflect", "--scope", "bad scope"], 2, "invalid scope"),
    (["reflect", "--scope", "bad scope", "--json"], 2, "invalid scope"),
    (["graph", "--scope", "bad scope"], 2, "invalid scope"),
]


@pytest.mark.parametrize(("argv", "code", "fragment"), BAD, ids=repr)
def test_bad_input_is_one_error_line_and_writes_nothing(
    mem: MemCli, notes: dict[str, str], argv: list[str], code: int, fragment: str
) -> None:
    argv = [{A: notes["a"], B: notes["b"]}.get(arg, arg) for arg in argv]
    before = _state(mem)
    result = mem(*argv)
    line = _one_error_line(result)
    assert result.exit_code == code
    assert fragment in line
    assert _state(mem) == before
    assert mem.json("show", notes["a"])["status"] == "active"


def _usage_error(mem: MemCli, argv: list[str]) -> Any:
    before = _state(mem)
    result = mem(*argv)
    assert result.exit_code == 2 and result.stdout == ""
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, result.stderr
    assert _state(mem) == before
    return result


def test_bad_kind_is_refused_and_writes_nothing(mem: MemCli, notes: dict[str, str]) -> None:
    result = _usage_error(mem, ["link", notes["a"], notes["c"], "--kind", "bogus"])
    assert "bogus" in result.stderr and "supersedes" in result.stderr
    assert mem.json("links", notes["c"])["links"] == []


def test_bad_graph_format_or_output_writes_no_file(
    mem: MemCli, notes: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "never.xml"
    _usage_error(mem, ["graph", "--format", "xml", "-o", str(out)])
    assert not out.exists()
    folder = tmp_path / "folder"
    folder.mkdir()
    _usage_error(mem, ["graph", "-o", str(folder)])
    assert list(folder.iterdir()) == []


def test_bad_kind_is_one_error_line(mem: MemCli, notes: dict[str, str]) -> None:
    _one_error_line(mem("link", notes["a"], notes["c"], "--kind", "bogus"))


def test_graph_nodes_carry_a_label_tags_and_keywords(
    mem: MemCli, notes: dict[str, str], tmp_path: Path
) -> None:
    tagged = mem.remember("Flight to Oslo on Friday with the whole team", "--tag", "travel")
    data = json.loads(mem.ok("graph").stdout)
    node = next(n for n in data["nodes"] if n["id"] == tagged)
    assert node["label"].startswith("Flight to Oslo")
    assert "travel" in node["tags"].split(", ")
    assert "oslo" in node["keywords"]
    out = tmp_path / "g.graphml"
    mem.ok("graph", "--format", "graphml", "-o", str(out))
    graph = nx.read_graphml(out)
    assert graph.nodes[notes["c"]]["label"].startswith("descaling the kettle")
    assert graph.nodes[tagged]["tags"] == node["tags"]

"""A crafted or damaged JSONL export cannot break a home: every field is checked as
`remember` checks it, before anything is written; a bad record is rejected with its
line number and the rest is imported; and a bad row that reaches the record anyway
never stops the indexes from opening."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.usefixtures("offline_env")

GOOD = {
    "id": "01hgood000000001", "content": "a good note about apples", "created_at":
    "2024-01-01T00:00:00", "event_at": None, "scope": "default", "source": "cli",
    "keywords": ["apples"], "tags": ["fruit"], "context": "", "status": "active",
    "dedupe_key": None,
}  # fmt: skip

BAD_NOTES: list[tuple[str, dict[str, Any]]] = [
    ("created_at", {"created_at": "not a date"}),
    ("event_at", {"event_at": "999-01-01T00:00:00"}),
    ("event_at", {"event_at": "2024-13-01T00:00:00"}),
    ("scope", {"scope": "../../x"}),
    ("content", {"content": "nul \x00 inside"}),
    ("content", {"content": "   "}),
    ("content", {"content": "x" * 200_000}),
    ("status", {"status": "bogus"}),
    ("tags", {"tags": ["../x", 5]}),
    ("tags", {"tags": ["ok", "not ok"]}),
    ("keywords", {"keywords": [5]}),
    ("id", {"id": "../../etc/passwd"}),
    ("source", {"source": "x" * 5000}),
]


def _export(path: Path, notes: list[dict[str, Any]], **extra: list[dict[str, Any]]) -> Path:
    lines = [{"type": "header", "format": "zettelmem-export", "version": 1}]
    lines += [{"type": "note", **n} for n in notes]
    for kind in ("link", "change", "verdict"):
        lines += [{"type": kind, **row} for row in extra.get(kind + "s", [])]
    lines.append({"type": "end", "notes": len(notes), "links": len(extra.get("links", [])),
                  "changes": len(extra.get("changes", [])),
                  "verdicts": len(extra.get("verdicts", []))})  # fmt: skip
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(("field", "change"), BAD_NOTES, ids=[f for f, _ in BAD_NOTES])
def test_a_bad_note_is_rejected_with_its_line_and_the_rest_imported(
    mem, tmp_path: Path, field: str, change: dict[str, Any]
) -> None:
    bad = {**GOOD, "id": "01hbad0000000002", "content": "a bad note", **change}
    path = _export(tmp_path / "x.jsonl", [GOOD, bad])
    result = mem("import", str(path), "--json")
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["added"] == 1 and out["rejected_count"] == 1
    assert "line 3" in out["rejected"][0]["where"] + out["rejected"][0]["why"]
    assert field in out["rejected"][0]["why"]
    # the home still answers every verb
    mem.ok("remember", "another note about pears")
    assert mem.top_id("apples") == GOOD["id"]
    mem.ok("recall", "apples", "--json")
    mem.ok("reindex")
    mem.ok("export", str(tmp_path / "vault"), "--format", "markdown")
    assert [n["id"] for n in mem.json("list")["notes"]][-1] == GOOD["id"]


@pytest.mark.parametrize(
    ("kind", "row"),
    [
        ("links", {"src": GOOD["id"], "dst": "01hgood000000003", "kind": "related",
                   "weight": float("inf"), "created_at": "2024-01-01T00:00:00"}),
        ("links", {"src": GOOD["id"], "dst": "01hgood000000003", "kind": "related",
                   "weight": 0.5, "created_at": "yesterday"}),
        ("changes", {"change_id": "c1", "note_id": GOOD["id"], "field": "tags", "before": "[]",
                     "after": "[5]", "reason": "", "at": "2024-01-01T00:00:00",
                     "reverted_by": None}),
        ("changes", {"change_id": "c1", "note_id": GOOD["id"], "field": "nope", "before": "",
                     "after": "", "reason": "", "at": "2024-01-01T00:00:00",
                     "reverted_by": None}),
        ("verdicts", {"note_id": GOOD["id"], "verdict": "maybe", "risk": 0.5, "reasons": [],
                      "at": "2024-01-01T00:00:00", "review": None, "reviewed_at": None}),
        ("verdicts", {"note_id": GOOD["id"], "verdict": "flag", "risk": 7, "reasons": [3],
                      "at": "2024-01-01T00:00:00", "review": None, "reviewed_at": None}),
    ],
)  # fmt: skip
def test_bad_links_changes_and_verdicts_are_rejected(
    mem, tmp_path: Path, kind: str, row: dict[str, Any]
) -> None:
    other = {**GOOD, "id": "01hgood000000003", "content": "a second good note"}
    path = _export(tmp_path / "x.jsonl", [GOOD, other], **{kind: [row]})
    out = mem.json("import", str(path))
    assert out["added"] == 2 and out["rejected_count"] == 1, out
    mem.ok("history", GOOD["id"])
    mem.ok("review")
    mem.ok("links", GOOD["id"])


def _poke(home: Path, sql: str, *args: object) -> None:
    db = sqlite3.connect(home / "notes.db")
    db.execute(sql, args)
    db.commit()
    db.close()


@pytest.mark.parametrize(
    ("column", "value"),
    [("created_at", "not a date"), ("event_at", "999-01-01T00:00:00"), ("tags", "[5]"),
     ("keywords", "{bad json")],
)  # fmt: skip
def test_a_bad_row_in_the_record_never_stops_the_home(mem, column: str, value: str) -> None:
    kept = mem.remember("a note about plums")
    _poke(mem.home, f"UPDATE notes SET {column}=? WHERE id=?", value, kept)
    # written behind the indexes' back, as an older version or a damaged copy might
    _poke(mem.home, "INSERT INTO ops(op, label, note_id, at) SELECT 'upsert', label, id, "
          "created_at FROM notes WHERE id=?", kept)  # fmt: skip
    mem.ok("remember", "a note about cherries")
    assert mem.top_id("cherries") is not None
    mem.ok("recall", "plums", "--json")
    mem.ok("list", "--json")
    mem.ok("reindex")
    mem.ok("recall", "plums", "--json")

"""Chat exports imported again: a conversation continued in a later export, under the
same file name or another, and a message edited or regenerated in between."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from zettelmem.memory.core import Memory
from zettelmem.store.threads import THREADS_BY_CONVERSATION
from zettelmem.transfer.export import export_jsonl, restore_jsonl
from zettelmem.transfer.pipeline import run_import

pytestmark = pytest.mark.usefixtures("offline_env")

START = 1714550400.0  # 2024-05-01
Turn = tuple[str, str | None, str]  # (message id, parent id, text); "u..." is the user's


def _open(home: Path) -> Memory:
    return Memory(home=home, embedder="hashing:384", llm=False)


def _chatgpt(
    path: Path,
    turns: list[Turn],
    current: str,
    conversation: str = "conv-1",
    updated: float | None = None,
) -> Path:
    """A ChatGPT export of one conversation: the messages' tree and the one shown (and,
    with ``updated``, the conversation's last change, its ``update_time``)."""
    mapping: dict[str, Any] = {
        "root": {"id": "root", "message": None, "parent": None, "children": []}
    }
    for n, (nid, parent, text) in enumerate(turns, 1):
        role = "user" if nid.startswith("u") else "assistant"
        mapping[nid] = {
            "id": nid, "parent": parent or "root", "children": [],
            "message": {"id": nid, "author": {"role": role}, "create_time": START + n * 60,
                        "content": {"content_type": "text", "parts": [text]}, "metadata": {}},
        }  # fmt: skip
        mapping[parent or "root"]["children"].append(nid)
    record = {"title": "Chat", "create_time": START, "id": conversation,
              "current_node": current, "mapping": mapping}  # fmt: skip
    if updated is not None:
        record["update_time"] = updated
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([record]), encoding="utf-8")
    return path


PORTO: list[Turn] = [
    ("u1", None, "I am planning a trip to Porto in May."),
    ("a1", "u1", "Porto in May is lovely; book the Livraria Lello early."),
]
GRAHAM: Turn = ("u2", "a1", "Also book a port wine tasting at Graham's for two.")


def _follows(memory: Memory, text: str) -> list[str]:
    """The texts the note holding TEXT follows."""
    [note] = [n for n in memory.list_notes(limit=100) if text in n.content]
    return [memory.get(x.dst).content for x in memory.links(note.id) if x.kind == "follows"
            and x.src == note.id]  # fmt: skip


@pytest.mark.parametrize("stored_before", [False, True])
def test_a_conversation_continued_in_a_renamed_export_follows_its_earlier_turns(
    tmp_path: Path, stored_before: bool
) -> None:
    """The next download of an export is named `conversations (1).json`: its new turn
    follows the conversation's earlier turns as it does under the same name, also when
    those were stored while a thread named the file."""
    first = _chatgpt(tmp_path / "conversations.json", PORTO, "a1")
    later = _chatgpt(tmp_path / "conversations (1).json", [*PORTO, GRAHAM], "u2")
    home = tmp_path / "h"
    with _open(home) as memory:
        assert run_import(memory, first).added == 2
        if stored_before:
            with memory.records.transaction() as db:
                db.execute("UPDATE notes SET thread = 'chatgpt:conversations.json#conv-1'")
                db.execute("DELETE FROM meta WHERE key = ?", (THREADS_BY_CONVERSATION,))
    with _open(home) as memory:
        report = run_import(memory, later)
        assert (report.added, report.skipped) == (1, 2)
        assert _follows(memory, "Graham's") == [f"ChatGPT: {PORTO[1][2]}"]
        threads = {r[0] for r in memory.records.db.execute("SELECT thread FROM notes")}
        assert threads == {"chatgpt:#conv-1"}


BREAD: list[Turn] = [
    ("u1", None, "How often should I feed my sourdough starter?"),
    ("a1", "u1", "Twice a day at a 1:5:5 ratio."),
    ("u2", "a1", "Thanks! I bake every Saturday with rye flour."),
]
EDITED: Turn = ("u2b", "a1", "Thanks! I bake every Sunday with spelt flour.")
QUESTION = "which day do I bake, and with which flour"


def _active(memory: Memory) -> list[str]:
    return sorted(n.content for n in memory.list_notes(limit=100) if n.status == "active")


def _import(memory: Memory, path: Path, **options: Any) -> tuple[int, int, int]:
    """(added, skipped, superseded), the dry run's first: it must say what the run does."""
    dry = run_import(memory, path, dry_run=True, **options)
    report = run_import(memory, path, **options)
    counts = (report.added, report.skipped, report.superseded)
    assert (dry.added, dry.skipped, dry.superseded) == counts
    assert dry.outdated == report.outdated
    return counts


@pytest.mark.parametrize("granularity", ["message", "exchange"])
def test_an_edit_in_a_later_export_supersedes_the_turn_edited_away(
    tmp_path: Path, granularity: str
) -> None:
    """A message edited in ChatGPT between two exports: importing the later one (under
    another file name) supersedes the stored turn edited away by the edit, so recall
    answers as from a fresh import of it; the history keeps both. Importing the later
    export again, the earlier one again, or one without the conversation changes nothing."""
    may = _chatgpt(tmp_path / "conversations.json", BREAD, "u2")
    june = _chatgpt(tmp_path / "june" / "conversations (1).json", [*BREAD, EDITED], "u2b")
    with _open(tmp_path / "fresh") as fresh:
        run_import(fresh, june, granularity=granularity)
        expected = _active(fresh)
    with _open(tmp_path / "h") as memory:
        run_import(memory, may, granularity=granularity)
        skipped = 2 if granularity == "message" else 1  # u1 and a1, or their exchange
        assert _import(memory, june, granularity=granularity) == (1, skipped, 1)
        assert _active(memory) == expected
        by_text = {n.content.split(": ", 1)[1]: n for n in memory.list_notes(limit=100)}
        old, edit = by_text[BREAD[2][2]], by_text[EDITED[2]]
        assert old.status == "superseded"
        assert {(x.src, x.dst) for x in memory.links(old.id) if x.kind == "supersedes"} == {
            (edit.id, old.id)
        }
        hits = memory.recall(QUESTION, k=3).hits
        assert [h.note.id for h in hits if "bake every" in h.note.content] == [edit.id]
        for again in (june, may):
            assert _import(memory, again, granularity=granularity)[::2] == (0, 0)
            assert _active(memory) == expected
        # An export without the conversation leaves it alone.
        other = _chatgpt(tmp_path / "other.json", PORTO, "a1", conversation="conv-2")
        assert _import(memory, other, granularity=granularity)[2] == 0
        assert [t for t in _active(memory) if "Porto" not in t] == expected


TRAIN: list[Turn] = [
    ("u1", None, "Which train goes from Zurich to Milan?"),
    ("a1", "u1", "The EuroCity through the Gotthard base tunnel."),
    ("u2", "a1", "How long does it take?"),
    ("a2", "u2", "About three hours and twenty minutes."),
    ("a2b", "u2", "Roughly three and a half hours, with no change."),
    ("u2b", "a1", "Is there a seat reservation fee?"),
    ("a3", "u2b", "Yes, reservations are compulsory and cost a few francs."),
    ("u3", "a2b", "Which station does it leave from?"),
]


def test_each_later_export_leaves_the_store_as_a_fresh_import_of_it(tmp_path: Path) -> None:
    """Exports of one conversation over time: it grows (nothing superseded), an answer is
    regenerated (the old answer is superseded by the new), a question is edited (its turn
    and the answer below it are superseded, each by the turn now at its depth), then the
    earlier branch is chosen again in ChatGPT and continued (it is current again). After each, the
    active notes are those a fresh import of that export gives, whatever the file's name."""
    steps = [  # (turns in the export, node shown, (added, skipped, superseded))
        (3, "u2", (3, 0, 0)),
        (4, "a2", (1, 3, 0)),  # grown
        (5, "a2b", (1, 3, 1)),  # a2 regenerated as a2b
        (7, "a3", (2, 2, 2)),  # u2 edited into u2b: u2 -> u2b, a2b -> a3
        (8, "u3", (1, 4, 2)),  # back on the first branch, and on: u2 and a2b current again
    ]
    with _open(tmp_path / "h") as memory:
        for n, (count, shown, counts) in enumerate(steps):
            name = f"conversations ({n}).json" if n else "conversations.json"  # downloads
            export = _chatgpt(tmp_path / name, TRAIN[:count], shown)
            assert _import(memory, export) == counts, n
            with _open(tmp_path / f"fresh-{n}") as fresh:
                run_import(fresh, export)
                assert _active(memory) == _active(fresh), n
        turn = {n.id: _turn_of(n.content) for n in memory.list_notes(limit=100)}
        assert sorted(turn.values()) == sorted(t[0] for t in TRAIN)  # each stored once
        supersedes = {(turn[x.src], turn[x.dst]) for i in turn for x in memory.links(i)
                      if x.kind == "supersedes"}  # fmt: skip
        assert supersedes == {("a2b", "a2"), ("u2", "u2b"), ("a2b", "a3")}


def _turn_of(content: str) -> str:
    return next(nid for nid, _, text in TRAIN if content.endswith(text))


def test_a_forgotten_turn_stays_forgotten_whichever_branch_an_export_shows(
    tmp_path: Path,
) -> None:
    """A turn forgotten before or after the edit that replaced it never comes back; the
    turns around it follow the export's branch as a fresh import of it gives them."""
    may = _chatgpt(tmp_path / "may" / "conversations.json", BREAD, "u2")
    june = _chatgpt(tmp_path / "june" / "conversations.json", [*BREAD, EDITED], "u2b")
    july = _chatgpt(tmp_path / "july" / "conversations.json", [*BREAD, EDITED], "u2")

    def note_of(memory: Memory, text: str) -> str:
        return next(n.id for n in memory.list_notes(limit=100) if n.content.endswith(text))

    with _open(tmp_path / "before") as memory:  # forgotten before the edit came in
        run_import(memory, may)
        memory.forget([note_of(memory, BREAD[2][2])])
        assert _import(memory, june) == (1, 2, 0)
        assert run_import(memory, may).forgotten == 1
        assert all(BREAD[2][2] not in text for text in _active(memory))
    with _open(tmp_path / "after") as memory:  # the edit forgotten
        run_import(memory, may)
        run_import(memory, june)
        memory.forget([note_of(memory, EDITED[2])])
        assert _import(memory, june) == (0, 2, 1)  # the turn edited away is off the branch
        assert run_import(memory, june).forgotten == 1
        assert _active(memory) == [f"ChatGPT: {BREAD[1][2]}", f"User: {BREAD[0][2]}"]
        assert _import(memory, july) == (0, 3, 0)  # shown again: current again
        with _open(tmp_path / "fresh") as fresh:
            run_import(fresh, july)
            assert _active(memory) == _active(fresh)
        assert all(EDITED[2] not in n.content for n in memory.list_notes(limit=100))


CAPITAL: list[Turn] = [
    ("u1", None, "What is the capital of Australia?"),
    ("a1", "u1", "Sydney is the capital of Australia."),
    ("a1b", "u1", "Canberra is the capital of Australia."),  # the answer regenerated
]


def _history(memory: Memory) -> tuple[int, int]:
    """How many changes the history holds, and how many supersedes links there are."""
    db = memory.records.db
    changes = db.execute("SELECT count(*) FROM history").fetchone()[0]
    links = db.execute("SELECT count(*) FROM links WHERE kind = 'supersedes'").fetchone()[0]
    return int(changes), int(links)


@pytest.mark.parametrize("holds_regenerated", [True, False])
def test_an_older_export_after_a_newer_one_leaves_the_newer_branch_current(
    tmp_path: Path, holds_regenerated: bool
) -> None:
    """examples/import_exports.sh imports a folder in glob order, so every night the newer
    `conversations (1).json` comes before the older `conversations.json`. The older
    export (by the conversation's update_time) shows the first answer, whether it already
    holds the regenerated one (the first answer was chosen again before that export) or
    not: it neither supersedes the newer branch nor comes back beside it, and no night
    writes history. Recall answers as after a fresh import of the newer export."""
    inbox = tmp_path / "inbox"
    older = _chatgpt(inbox / "conversations.json",
                     CAPITAL if holds_regenerated else CAPITAL[:2], "a1",
                     updated=START + (600 if holds_regenerated else 150))  # fmt: skip
    newer = _chatgpt(inbox / "conversations (1).json", CAPITAL, "a1b", updated=START + 1200)
    with _open(tmp_path / "fresh") as fresh:
        run_import(fresh, newer)
        expected = _active(fresh)
    with _open(tmp_path / "h") as memory:
        assert _import(memory, newer) == (2, 0, 0)
        history = _history(memory)
        for night in range(3):
            assert _import(memory, newer) == (0, 2, 0), night
            assert _import(memory, older) == (0, 1, 0), night  # the question only is stored
            assert _active(memory) == expected, night
            assert _history(memory) == history, night
        assert all(n.status == "active" for n in memory.list_notes(limit=100))
        report = run_import(memory, older)
        assert (report.read, report.skipped, report.outdated) == (2, 1, 1)
        hits = memory.recall("capital of Australia", k=3).hits
        assert [h.note.content for h in hits if "capital of Australia." in h.note.content] == [
            f"ChatGPT: {CAPITAL[2][2]}"
        ]


def test_a_newer_export_after_an_older_one_still_makes_its_branch_current(
    tmp_path: Path,
) -> None:
    """The other order: the newer export supersedes the older one's answer as before, an
    even newer one that chose the first answer again makes it current again, and the
    conversation's version goes along with a JSONL export: a restored home, too, leaves
    the older export alone."""
    older = _chatgpt(tmp_path / "may.json", CAPITAL, "a1", updated=START + 600)
    newer = _chatgpt(tmp_path / "june.json", CAPITAL, "a1b", updated=START + 1200)
    newest = _chatgpt(tmp_path / "july.json", CAPITAL, "a1", updated=START + 1800)
    with _open(tmp_path / "fresh") as fresh:
        run_import(fresh, newer)
        expected = _active(fresh)
    with _open(tmp_path / "h") as memory:
        assert _import(memory, older) == (2, 0, 0)
        assert _import(memory, newer) == (1, 1, 1)  # Sydney superseded by Canberra
        assert _active(memory) == expected
        export_jsonl(memory, tmp_path / "backup.jsonl")
        assert _import(memory, older) == (0, 2, 0)
        assert _active(memory) == expected
        assert _import(memory, newest) == (0, 2, 1)  # Sydney current again
        assert f"ChatGPT: {CAPITAL[1][2]}" in _active(memory)
        assert f"ChatGPT: {CAPITAL[2][2]}" not in _active(memory)
    with _open(tmp_path / "restored") as restored:
        restore_jsonl(restored, tmp_path / "backup.jsonl")
        history = _history(restored)
        assert _import(restored, older) == (0, 2, 0)
        assert (_active(restored), _history(restored)) == (expected, history)


def _claude(path: Path, turns: list[Turn], updated: str) -> Path:
    """A Claude.ai export of one conversation: every message, of every branch, in order."""
    chat = [{"uuid": nid, "sender": "human" if nid.startswith("u") else "assistant",
             "text": text, "created_at": f"2024-05-01T00:0{n}:00Z"}
            for n, (nid, _, text) in enumerate(turns, 1)]  # fmt: skip
    record = {"uuid": "conv-1", "name": "Chat", "created_at": "2024-05-01T00:00:00Z",
              "updated_at": updated, "chat_messages": chat}  # fmt: skip
    path.write_text(json.dumps([record]), encoding="utf-8")
    return path


def test_an_older_claude_export_after_a_newer_one_changes_nothing(tmp_path: Path) -> None:
    """A Claude.ai export lists every message of a conversation and no branch is chosen,
    so an import supersedes nothing: an older export after a newer one holds no message
    the store lacks, adds nothing and writes no history."""
    older = _claude(tmp_path / "conversations.json", CAPITAL[:2], "2024-05-01T00:05:00Z")
    newer = _claude(tmp_path / "conversations (1).json", CAPITAL, "2024-05-01T00:09:00Z")
    with _open(tmp_path / "h") as memory:
        assert _import(memory, newer) == (3, 0, 0)
        active, history = _active(memory), _history(memory)
        assert _import(memory, older) == (0, 2, 0)
        assert (_active(memory), _history(memory)) == (active, history)


def test_either_record_keeps_each_conversation_as_of_its_newest_export(
    tmp_path: Path, store_kind: str
) -> None:
    """In the home's SQLite record and in PostgreSQL alike: a conversation's date only moves
    forward, whichever order its exports come in."""
    exports = {
        (conversation, name): _chatgpt(
            tmp_path / conversation / f"{name}.json", CAPITAL, shown,
            conversation=conversation, updated=START + at,
        )
        for conversation in ("conv-1", "conv-2")
        for name, shown, at in (("older", "a1", 600), ("newer", "a1b", 1200))
    }  # fmt: skip
    canberra, sydney = f"ChatGPT: {CAPITAL[2][2]}", f"ChatGPT: {CAPITAL[1][2]}"
    with _open(tmp_path / "h") as memory:
        assert _import(memory, exports["conv-1", "newer"]) == (2, 0, 0)
        assert _import(memory, exports["conv-1", "older"]) == (0, 1, 0)
        assert _import(memory, exports["conv-2", "older"]) == (2, 0, 0)
        assert _import(memory, exports["conv-2", "newer"]) == (1, 1, 1)
        assert _import(memory, exports["conv-2", "older"]) == (0, 2, 0)
        assert _active(memory).count(canberra) == 2 and sydney not in _active(memory)

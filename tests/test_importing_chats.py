"""Chat exports imported again: a conversation continued in a later export, under the
same file name or another, and a message edited or regenerated in between."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from zettelmem.memory.core import Memory
from zettelmem.store.threads import THREADS_BY_CONVERSATION
from zettelmem.transfer.pipeline import run_import

pytestmark = pytest.mark.usefixtures("offline_env")

START = 1714550400.0  # 2024-05-01
Turn = tuple[str, str | None, str]  # (message id, parent id, text); "u..." is the user's


def _open(home: Path) -> Memory:
    return Memory(home=home, embedder="hashing:384", llm=False)


def _chatgpt(path: Path, turns: list[Turn], current: str, conversation: str = "conv-1") -> Path:
    """A ChatGPT export of one conversation: the messages' tree and the one shown."""
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

"""Conversation threads: follows links on write, context vectors, forgetting inside a thread."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from zettelmem.memory.core import Memory
from zettelmem.models import NewNote
from zettelmem.store.threads import CONTEXT_WEIGHTS, thread_of


@pytest.fixture
def memory(tmp_path: Path, store_kind: str):  # on SQLite, then on PostgreSQL
    with Memory(home=tmp_path / "home", embedder="hashing:512") as mem:
        yield mem


def _turn(i: int, when: str, conv: str = "c1", scope: str = "s") -> NewNote:
    return NewNote(content=f"turn {i} says word{i}", scope=scope, source=f"chat:{conv}/{i}",
                   event_at=when, dedupe_key=f"chat:{conv}/{i}")  # fmt: skip


def _follows(memory: Memory) -> set[tuple[str, str]]:
    rows = memory.records.db.execute(
        "SELECT a.content, b.content FROM links l JOIN notes a ON a.id=l.src "
        "JOIN notes b ON b.id=l.dst WHERE l.kind='follows'"
    ).fetchall()
    return {(r[0].split()[1], r[1].split()[1]) for r in rows}


def test_thread_key_is_the_source_without_its_last_part() -> None:
    assert thread_of("locomo:conv-26/D1:3") == "locomo:conv-26"
    assert thread_of("import:notes.txt#4") == "import:notes.txt"
    assert thread_of("cli") is None and thread_of("mcp:claude") is None


def test_a_chat_exports_thread_is_its_conversation_not_its_file() -> None:
    for name in ("conversations.json", "conversations (1).json", "old#export.json"):
        assert thread_of(f"chatgpt:{name}#c-1/m-2") == (
            "chatgpt:#c-1" if "#" not in name else "chatgpt:#export.json#c-1"
        )
    assert thread_of("claude:a.json#c/d/m~2") == "claude:#c/d"  # an id may hold '/'
    assert thread_of("jsonl:log.jsonl#session 7/part-1") == "jsonl:#session 7"


def test_consecutive_turns_of_a_session_follow_each_other(memory: Memory) -> None:
    day1, later_day1, day2 = "2024-01-01T10:00:00", "2024-01-01T12:00:00", "2024-01-03T10:00:00"
    memory.remember_many([_turn(0, day1), _turn(1, day1), _turn(2, later_day1)])
    memory.remember_many([_turn(3, day2), _turn(4, day2, conv="c2"), _turn(5, day2, scope="t")])
    memory.remember("a note typed by hand")  # no thread: follows nothing
    assert _follows(memory) == {("1", "0"), ("2", "1")}


def test_index_holds_own_vector_mixed_with_the_turns_before(memory: Memory) -> None:
    when = "2024-01-01T10:00:00"
    memory.remember_many([_turn(i, when) for i in range(4)])
    notes = sorted(memory.list_notes(limit=10), key=lambda n: n.label)
    own = memory.records.vectors([n.label for n in notes])
    expected = sum(
        w * own[n.label] for w, n in zip(CONTEXT_WEIGHTS, [notes[3], notes[2], notes[1]])
    )
    expected = expected / np.linalg.norm(expected)
    [(label, similarity)] = memory.indexes.vectors.search(expected, 1)
    assert label == notes[3].label and similarity > 0.9999


def test_forgetting_a_turn_leaves_the_thread_as_if_it_was_never_there(tmp_path: Path) -> None:
    when = "2024-01-01T10:00:00"
    with Memory(home=tmp_path / "a", embedder="hashing:512") as full, \
            Memory(home=tmp_path / "b", embedder="hashing:512") as never:  # fmt: skip
        full.remember_many([_turn(i, when) for i in range(5)])
        never.remember_many([_turn(i, when) for i in range(5) if i != 2])
        [gone] = [n for n in full.list_notes(limit=10) if "word2" in n.content]
        full.forget([gone.id])
        assert _follows(full) == _follows(never) == {("1", "0"), ("3", "1"), ("4", "3")}
        query = full.embedder.embed(["turn 4 says word4"])[0]
        assert [round(s, 5) for _, s in full.indexes.vectors.search(query, 4)] == [
            round(s, 5) for _, s in never.indexes.vectors.search(query, 4)
        ]

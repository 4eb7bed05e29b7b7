"""Supersede by mechanism (same subject, an update cue, the same attribute) rather than one
cosine threshold; and reverting a supersede takes its link back too (logged, reversible)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from zettelmem.memory.core import Memory
from zettelmem.zettel.construct import same_fact_update

# Every test here runs on the home's SQLite record and on a PostgreSQL database.
pytestmark = pytest.mark.usefixtures("store_kind")

# The three plain tries (cosines 0.63, 0.56 and 0.70 with MiniLM).
TRIES = [
    ("I switched my editor from VS Code to Helix last spring.", "I now use Zed instead of Helix"),
    ("I switched my editor from VS Code to Helix last spring.", "My editor is now Zed."),
    ("I drink two cups of coffee every morning.", "I no longer drink coffee"),
    ("Maya works as a nurse at the city hospital", "Maya now works as a teacher"),
]
# Close statements that are not updates of each other.
NOT_UPDATES = [
    ("I drink two cups of coffee every morning.", "Lena now drinks tea every morning"),
    ("I switched my editor from VS Code to Helix.", "I now walk to work every day"),
    ("Maya works as a nurse at the city hospital", "Tom now works at the city hospital"),
    ("My sister lives in Porto.", "My sister lives in Porto and works as an architect."),
]


@pytest.fixture
def semantic(tmp_path: Path) -> Iterator[Memory]:
    with Memory(tmp_path / "home", embedder="minilm", llm=False) as memory:
        yield memory


@pytest.mark.parametrize(("old", "new"), TRIES)
def test_a_plain_update_of_the_same_fact_supersedes_it(
    semantic: Memory, old: str, new: str
) -> None:
    before = semantic.remember(old).note
    after = semantic.remember(new).note
    assert semantic.get(before.id).status == "superseded"
    assert any(x.kind == "supersedes" and x.src == after.id for x in semantic.links(before.id))
    hits = semantic.recall(new, k=5).hits
    assert before.id not in {h.note.id for h in hits}


@pytest.mark.parametrize(("old", "new"), NOT_UPDATES)
def test_a_close_statement_that_is_no_update_supersedes_nothing(
    semantic: Memory, old: str, new: str
) -> None:
    before = semantic.remember(old).note
    semantic.remember(new)
    assert semantic.get(before.id).status == "active"


def test_the_rule_names_its_parts() -> None:
    old, new = TRIES[2]
    assert same_fact_update(new, old)
    assert not same_fact_update("I drink coffee", old)  # no update cue
    assert not same_fact_update("Lena no longer drinks coffee", old)  # another subject
    assert not same_fact_update("I no longer take the bus", old)  # another attribute


def test_conversation_turns_never_supersede(semantic: Memory) -> None:
    first = semantic.remember("Caroline: I drink two cups of coffee every morning.",
                               source="chat:c1/1", event_at="2024-01-01").note  # fmt: skip
    semantic.remember("Caroline: I no longer drink coffee", source="chat:c1/2",
                      event_at="2024-03-01")  # fmt: skip
    assert semantic.get(first.id).status == "active"


def test_reverting_a_supersede_removes_its_link_logged_and_reversibly(tmp_path: Path) -> None:
    with Memory(tmp_path / "home", embedder="hashing:512") as memory:
        old = memory.remember("my dentist is doctor alvarez on harbour street").note
        new = memory.remember("the dentist appointment is booked with doctor okafor").note
        memory.link(new.id, old.id, "supersedes")
        [change] = memory.history(old.id)
        memory.revert(change.change_id)
        assert memory.get(old.id).status == "active"
        assert not [x for x in memory.links(old.id) if x.kind == "supersedes"]
        [unlinked] = [c for c in memory.history(new.id) if c.field.startswith("link:")]
        assert unlinked.after == "null" and change.change_id in unlinked.reason
        memory.revert(unlinked.change_id)  # the link comes back
        assert [x.kind for x in memory.links(old.id)] == ["supersedes"]

"""Supersede by mechanism (same subject, an update cue, the same attribute) rather than one
cosine threshold; and reverting a supersede takes its link back too (logged, reversible)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from zettelmem.errors import InvalidInput
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


def test_an_untrusted_writer_does_not_retire_a_trusted_fact_until_review(
    semantic: Memory,
) -> None:
    """A note an MCP client writes that would supersede a fact written from the shell is
    held for review with the replacement not applied; approving it applies it. Between
    two notes of the same trust, updates still supersede at once."""
    old = semantic.remember("Maya works as a nurse at the city hospital").note
    new = semantic.remember("Maya now works as a teacher", source="mcp:agent")
    assert semantic.get(old.id).status == "active"
    assert new.verdict is not None and new.verdict.verdict == "flag"
    assert any(r.startswith(f"replaces note {old.id}") for r in new.verdict.reasons)
    assert not any(x.kind == "supersedes" for x in semantic.links(old.id))
    assert new.note.id in {n.id for n, _ in semantic.review()}
    semantic.approve(new.note.id)
    assert semantic.get(old.id).status == "superseded"
    assert any(x.kind == "supersedes" and x.src == new.note.id for x in semantic.links(old.id))
    first = semantic.remember("I drink two cups of coffee every morning.", source="mcp:agent")
    semantic.remember("I no longer drink coffee", source="mcp:agent")
    assert semantic.get(first.note.id).status == "superseded"


def test_a_supersede_cycle_is_refused_and_forgetting_the_newer_note_restores_the_older(
    tmp_path: Path,
) -> None:
    with Memory(tmp_path / "h", embedder="hashing", llm=False) as memory:
        a = memory.remember("The office wifi password is on the fridge.").note
        b = memory.remember("The office wifi password is on the router.").note
        c = memory.remember("The office wifi password is in the drawer.").note
        memory.link(b.id, a.id, "supersedes")
        memory.link(c.id, b.id, "supersedes")
        for src, dst in ((a.id, b.id), (a.id, c.id)):
            with pytest.raises(InvalidInput, match="cannot supersede what replaces it"):
                memory.link(src, dst, "supersedes")
        assert memory.get(c.id).status == "active"
        memory.forget([c.id])  # b is current again; a stays replaced by b
        assert (memory.get(b.id).status, memory.get(a.id).status) == ("active", "superseded")
        assert b.id in {h.note.id for h in memory.recall("office wifi password", k=5).hits}
        memory.forget([b.id])
        assert memory.get(a.id).status == "active"
        assert any("forgotten" in ch.reason for ch in memory.history(a.id))


def test_an_older_text_said_again_is_current_again(tmp_path: Path) -> None:
    # A preference goes back to what it was: the text is stored already, superseded; saying
    # it again makes it the answer (a new note replacing the newer one), not a no-op that
    # hands back a hidden note.
    with Memory(home=tmp_path / "home", embedder="hashing") as mem:
        aisle = mem.remember("Hannah prefers aisle seats on flights.").note
        window = mem.remember("Hannah prefers window seats on flights.").note
        mem.link(window.id, aisle.id, "supersedes")
        again = mem.remember("Hannah prefers aisle seats on flights.")
        assert again.created and again.note.id != aisle.id
        assert again.note.status == "active"
        assert mem.get(window.id).status == "superseded"
        hits = mem.recall("which seats does Hannah prefer on flights", k=5).hits
        assert [h.note.content for h in hits][:1] == ["Hannah prefers aisle seats on flights."]
        assert {h.note.id for h in hits} & {aisle.id, window.id} == set()
        # Said a third time, it is the current note already: nothing new.
        third = mem.remember("Hannah prefers aisle seats on flights.")
        assert not third.created and third.note.id == again.note.id

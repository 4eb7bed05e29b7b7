"""Maintenance: rebuild the derived indexes, re-embedding when the embedder changed."""

from __future__ import annotations

from zettelmem.backends.embeddings import identity
from zettelmem.memory.base import MemoryBase, embed_text
from zettelmem.models import Note
from zettelmem.text import LESSON_QUOTE


class Maintenance(MemoryBase):
    """reindex."""

    def reindex(self) -> dict[str, int]:
        """Re-embed if the embedder changed, then rebuild every derived index."""
        stored = self.records.get_meta("embedder")
        current = identity(self.embedder)
        reembedded = 0
        if stored != current:
            reembedded = self._reembed()
            self._reembed_lessons()
            self.records.set_meta("embedder", current)
        self.indexes.rebuild()
        return {"notes": self.records.count(), "reembedded": reembedded}

    def _reembed(self) -> int:
        count = 0
        batch: list[Note] = []
        for note, _ in self.records.iter_notes():
            batch.append(note)
            if len(batch) >= 256:
                count += self._reembed_batch(batch)
                batch = []
        return count + (self._reembed_batch(batch) if batch else 0)

    def _reembed_lessons(self) -> None:
        """The guard's lessons are matched against queries by vector too: a lesson's vector
        was its note's, so it is made again from the note's words the lesson quotes."""
        lessons = self.records.all_lessons(None)
        if not lessons:
            return
        texts = [_quoted(lesson.text) for lesson in lessons]
        vectors = self.embedder.embed(texts)
        self.records.set_lesson_vectors([(x.id, v) for x, v in zip(lessons, vectors)])

    def _reembed_batch(self, notes: list[Note]) -> int:
        vectors = self.embedder.embed([embed_text(n) for n in notes])
        self.records.set_embeddings([n.label for n in notes], vectors)
        return len(notes)


def _quoted(lesson: str) -> str:
    """The held note's words a lesson quotes ("(seen: '...')"), else the lesson itself."""
    found = LESSON_QUOTE.search(lesson)
    return found.group(0)[len("(seen: '") : -2] if found else lesson

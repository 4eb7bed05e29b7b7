"""The BM25 index (tantivy, English stemming): receives note text, answers keyword queries."""

from __future__ import annotations

import contextlib
import math
import shutil
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tantivy

from zettelmem.models import Filters, Note
from zettelmem.store.threads import thread_of
from zettelmem.text import QUERY_WORD
from zettelmem.timeutil import human_date, is_stored, to_epoch

# Only fields that never change once a note is written live here (content, date,
# scope): tantivy keeps replaced documents in its statistics until a merge, so a
# document that is re-added would make scores drift from a rebuilt index's.
# Mutable fields (tags, status) filter through label sets from the record.
# A note's window (its own text and the turns it follows, see WINDOW_BEFORE) is
# fixed when the note is written, since later turns never change what came before.
# Bump when the schema or the analysis changes: the index is then rebuilt.
TEXT_SCHEMA = "text-v3"

# Earlier turns of the same thread a note's window holds besides the note itself.
# A turn is then scored with the window that centres on it and the windows that
# cover it (retrieval/windows.py). LoCoMo dev, no tuning beyond 3/5/8/12 turns:
# windows of 5, 8, 12 turns or the whole session prefix all score R@10 0.788-0.792.
WINDOW_BEFORE = 4
BEFORE_FIELDS = tuple(f"before{i}" for i in range(1, WINDOW_BEFORE + 1))


@dataclass(frozen=True)
class Fields:
    """What a note's BM25 fields hold, in the local index and in the database alike."""

    text: str
    when: str | None  # its moment in words; None when the stored moment is damaged
    ts: int | None
    window: str  # the turns before it, oldest first, then itself; "" outside a thread


def search_fields(note: Note, before: Sequence[str]) -> Fields:
    """The fields of ``note``; ``before``: the texts of the turns it follows, nearest
    first (at most WINDOW_BEFORE are used). A damaged moment in the record leaves out
    the date fields and the text stays findable (`mem doctor` names the note); only
    turns of a thread have a window (a lone note's would repeat its text)."""
    moment = note.event_at or note.created_at
    stored = is_stored(moment)
    window = ("\n".join([*reversed(before[:WINDOW_BEFORE]), note.content])
              if thread_of(note.source) else "")  # fmt: skip
    return Fields(note.indexed_text(), human_date(moment) if stored else None,
                  to_epoch(moment) if stored else None, window)  # fmt: skip


# The same analysis as tantivy's en_stem, to look words up in the index.
_STEMMER = (
    tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
    .filter(tantivy.Filter.lowercase())
    .filter(tantivy.Filter.stemmer("english"))
    .build()
)


def bm25_idf(total: int, df: int) -> float:
    """BM25's inverse document frequency of a term found in DF of TOTAL documents."""
    return float(math.log(1.0 + (total - df + 0.5) / (df + 0.5)))


def doc_freqs(texts: Sequence[str]) -> Counter[str]:
    """How many of TEXTS hold each term, the terms as the index analyses text."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(set(_STEMMER.analyze(text)))
    return counts


@dataclass(frozen=True)
class Window:
    """A window's score and what it covers: its last turn and the turns before it."""

    label: int
    score: float
    before: tuple[int, ...]  # nearest first


class CorruptIndex(Exception):
    """The index directory cannot be opened; the caller rebuilds it from the record."""


def _schema() -> Any:
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("label", stored=True, indexed=True, fast=True)
    builder.add_text_field("text", tokenizer_name="en_stem")
    builder.add_text_field("when", tokenizer_name="en_stem")
    builder.add_text_field("window", tokenizer_name="en_stem")
    for name in BEFORE_FIELDS:
        builder.add_integer_field(name, indexed=False, fast=True)
    builder.add_text_field("scope", tokenizer_name="raw", index_option="basic")
    builder.add_integer_field("ts", indexed=True, fast=True)
    return builder.build()


class TextIndex:
    """A tantivy index in one directory. Writers are short-lived so processes can share it."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.schema = _schema()
        try:
            directory.mkdir(parents=True, exist_ok=True)
            self.index = tantivy.Index(self.schema, path=str(directory), reuse=True)
            self.index.reload()
        except (ValueError, OSError) as exc:
            raise CorruptIndex(str(exc)) from None

    @staticmethod
    def wipe(directory: Path) -> None:
        if directory.is_symlink() or directory.is_file():
            directory.unlink()
        else:
            shutil.rmtree(directory, ignore_errors=True)

    @contextmanager
    def writing(self) -> Iterator[TextWriter]:
        """A writer for one batch; committed on success, rolled back on error."""
        writer = self.index.writer(heap_size=30_000_000, num_threads=1)
        try:
            yield TextWriter(writer, self.schema)
            writer.commit()
        except BaseException:
            # Ctrl-C may land inside the commit itself: roll back what is not committed
            with contextlib.suppress(Exception):
                writer.rollback()
            raise
        finally:
            # Waiting for the merges consumes the writer, which frees the index's lock even
            # when an exception's traceback keeps this frame (and the writer) alive: the
            # close that follows an interrupt can then take a writer of its own.
            with contextlib.suppress(Exception):
                writer.wait_merging_threads()
        self.index.reload()

    def idf(self, word: str) -> float:
        """BM25's inverse document frequency of a word (stemmed), from the live index."""
        return self.idf_reader()(word)

    def idf_reader(self, coming: Sequence[str] = ()) -> Callable[[str], float]:
        """``idf`` over one snapshot of the index, for the many words of one note or query
        (one searcher per note instead of one per word: 20 times fewer searchers on an
        import, though each saved one was cheap, about 0.015 ms).

        ``coming``: the texts of a batch about to be written, counted as if indexed, so a
        word's rarity does not hang on where batches begin (the first batch into an empty
        index would else find every word equally rare)."""
        searcher = self.index.searcher()
        added = doc_freqs(coming)
        total = int(searcher.num_docs) + len(coming)
        known: dict[str, float] = {}

        def idf(word: str) -> float:
            if word not in known:
                terms = _STEMMER.analyze(word)
                if not terms or total == 0:
                    known[word] = 1.0
                else:
                    df = int(searcher.doc_freq("text", terms[0])) + added[terms[0]]
                    known[word] = bm25_idf(total, df)
            return known[word]

        return idf

    def reload(self) -> None:
        self.index.reload()

    def count(self) -> int:
        return int(self.index.searcher().num_docs)

    def search(
        self,
        query: str,
        filters: Filters,
        limit: int,
        conjunction: bool = False,
        ignore: frozenset[str] = frozenset(),
        only: set[int] | None = None,
        exclude: set[int] | None = None,
    ) -> list[tuple[int, float]]:
        """(label, bm25) pairs, best first, for notes that pass the filters.

        ``conjunction`` requires every query word to match (after stemming).
        Words in ``ignore`` are dropped from the query unless nothing else is left.
        ``only`` / ``exclude`` restrict the labels (the record's tag and status filters).
        """
        try:
            return self._search(query, filters, limit, conjunction, ignore, only, exclude)
        except ValueError as exc:  # tantivy reads a damaged segment
            raise CorruptIndex(str(exc)) from None

    def _search(
        self,
        query: str,
        filters: Filters,
        limit: int,
        conjunction: bool,
        ignore: frozenset[str],
        only: set[int] | None,
        exclude: set[int] | None,
    ) -> list[tuple[int, float]]:
        words = [w.lower() for w in QUERY_WORD.findall(query)]
        words = [w for w in words if w not in ignore] or words
        if not words:
            return []
        text_query = self.index.parse_query(
            " ".join(words),
            ["text"] if conjunction else ["text", "when"],
            field_boosts={"when": 0.5},
            conjunction_by_default=conjunction,
        )
        parts = [(tantivy.Occur.Must, text_query)]
        parts.extend((tantivy.Occur.Must, q) for q in self._filter_queries(filters))
        if only is not None:
            if not only:
                return []
            parts.append((tantivy.Occur.Must, self._labels_query(only)))
        if exclude:
            parts.append((tantivy.Occur.MustNot, self._labels_query(exclude)))
        return self._ranked(tantivy.Query.boolean_query(parts), limit)

    def search_windows(
        self,
        query: str,
        filters: Filters,
        limit: int,
        ignore: frozenset[str] = frozenset(),
        exclude: set[int] | None = None,
    ) -> list[Window]:
        """The best windows for a query: each with its score and the turns it covers."""
        try:
            return self._search_windows(query, filters, limit, ignore, exclude)
        except ValueError as exc:  # tantivy reads a damaged segment
            raise CorruptIndex(str(exc)) from None

    def _search_windows(
        self,
        query: str,
        filters: Filters,
        limit: int,
        ignore: frozenset[str],
        exclude: set[int] | None,
    ) -> list[Window]:
        words = [w.lower() for w in QUERY_WORD.findall(query)]
        words = [w for w in words if w not in ignore] or words
        if not words:
            return []
        parts = [(tantivy.Occur.Must, self.index.parse_query(" ".join(words), ["window"]))]
        parts.extend((tantivy.Occur.Must, q) for q in self._filter_queries(filters))
        if exclude:
            parts.append((tantivy.Occur.MustNot, self._labels_query(exclude)))
        searcher = self.index.searcher()
        hits = searcher.search(tantivy.Query.boolean_query(parts), limit=limit, count=False).hits
        addresses = [address for _, address in hits]
        columns = [searcher.fast_field_values(name, addresses)
                   for name in ("label", *BEFORE_FIELDS)]  # fmt: skip
        out = [
            Window(int(row[0]), float(score), tuple(int(x) for x in row[1:] if x))
            for (score, _), row in zip(hits, zip(*columns))
            if row[0] is not None
        ]
        return sorted(out, key=lambda w: (-w.score, w.label))

    def _ranked(self, query: Any, limit: int) -> list[tuple[int, float]]:
        """Top hits with ties broken by label, whatever the segment layout.

        tantivy orders equal scores by document address, which a rebuild
        changes; fetching past the cut while the last score still ties keeps
        a rebuilt index's answer identical.
        """
        searcher = self.index.searcher()
        fetch = limit + 8
        while True:
            result = searcher.search(query, limit=fetch, count=False)
            hits = result.hits
            if len(hits) < fetch or hits[-1][0] != hits[min(limit, len(hits)) - 1][0]:
                break
            fetch *= 2
        if not hits:
            return []
        labels = searcher.fast_field_values("label", [address for _, address in hits])
        ranked = sorted(
            ((int(label), float(score)) for (score, _), label in zip(hits, labels)
             if label is not None),
            key=lambda item: (-item[1], item[0]),
        )  # fmt: skip
        return ranked[:limit]

    def _filter_queries(self, filters: Filters) -> list[Any]:
        """Scope and date filters, scoring nothing (a scored term would add the same
        constant to every keyword hit of a scoped query and none to the notes only the
        vectors find)."""
        return [tantivy.Query.const_score_query(q, 0.0) for q in self._filters(filters)]

    def _filters(self, filters: Filters) -> list[Any]:
        schema, out = self.schema, []
        if filters.scope is not None:
            out.append(tantivy.Query.term_query(schema, "scope", filters.scope))
        if filters.scopes is not None:
            out.append(tantivy.Query.term_set_query(schema, "scope", list(filters.scopes)))
        if filters.since is not None or filters.until is not None:
            out.append(
                tantivy.Query.range_query(
                    schema,
                    "ts",
                    tantivy.FieldType.Integer,
                    to_epoch(filters.since) if filters.since else None,
                    to_epoch(filters.until) if filters.until else None,
                )
            )
        return out

    def _labels_query(self, labels: set[int]) -> Any:
        return tantivy.Query.term_set_query(self.schema, "label", sorted(labels))


class TextWriter:
    """Upserts and deletes by label inside one commit."""

    def __init__(self, writer: Any, schema: Any) -> None:
        self._writer = writer
        self._schema = schema

    def delete(self, label: int) -> None:
        self._writer.delete_documents_by_term("label", label)

    def upsert(self, note: Note, before: Sequence[Note] = ()) -> None:
        """Index a note; ``before``: the turns it follows, nearest first (its window)."""
        self.delete(note.label)
        before = before[:WINDOW_BEFORE]
        fields = search_fields(note, [n.content for n in before])
        dated = {"when": fields.when, "ts": fields.ts} if fields.when is not None else {}
        doc = tantivy.Document(
            label=note.label,
            text=fields.text,
            window=fields.window,
            scope=note.scope,
            **dated,
            **{name: n.label for name, n in zip(BEFORE_FIELDS, before)},
        )
        self._writer.add_document(doc)

    def upsert_many(self, notes: Sequence[Note], before: Mapping[int, Sequence[Note]]) -> None:
        for note in notes:
            self.upsert(note, before.get(note.label, ()))

    def clear(self) -> None:
        self._writer.delete_all_documents()

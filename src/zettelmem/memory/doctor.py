"""`mem doctor`: is the home sound? The record's integrity and values, the indexes'
health, and their agreement with the record; repair rebuilds what is derived.

Checks read the files as they are on disk, before anything opens (and quietly
mends) them; only ``repair`` writes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from zettelmem.backends.embeddings import get_embedder
from zettelmem.config import load_settings, resolve_home, resolve_store
from zettelmem.errors import MemError
from zettelmem.models import STATUSES, Filters
from zettelmem.store.derived import disagreement, file_digest, read_state
from zettelmem.store.health import RecordUnreadable, integrity, raw_notes, spread_sample
from zettelmem.store.records import Records
from zettelmem.store.text_index import TEXT_SCHEMA, CorruptIndex, TextIndex
from zettelmem.store.unfinished import refusal
from zettelmem.store.vector_index import VectorIndex
from zettelmem.text import QUERY_WORD, STOPWORDS
from zettelmem.timeutil import is_stored
from zettelmem.validation import SCOPE_PATTERN, TAG_PATTERN

SAMPLE = 200  # notes whose own words must find them in the text index
SHOWN = 5  # problems named per check
_DAMAGED = (
    "restore notes.db from a backup or import your last `mem export`; "
    "`sqlite3 notes.db .recover` may save what is left"
)


@dataclass
class Check:
    name: str  # record | migration | record values | agreement | text index | vector index
    ok: bool
    detail: str


@dataclass
class DoctorReport:
    home: str
    checks: list[Check] = field(default_factory=list)
    repaired: bool = False

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def repairable(self) -> bool:
        """Whether rebuilding the derived indexes can mend what failed: not a damaged
        record, nor one holding part of an unfinished migration (run it again)."""
        return all(c.ok for c in self.checks if c.name in UNREPAIRABLE)


UNREPAIRABLE = ("record", "migration")


def diagnose(
    home: str | Path | None, repair: bool = False, store: str | None = None
) -> DoctorReport:
    """Examine the home; with ``repair``, rebuild the derived indexes when a check failed
    (the record itself is never rewritten) and examine again."""
    from zettelmem.memory.core import Memory

    settings = load_settings(resolve_home(home))
    url = resolve_store(store, settings)
    if url:
        from zettelmem.memory.dbdoctor import examine_database, repair_database

        report = examine_database(url)
        if repair and report.repairable and not report.ok:
            repair_database(url)
            report = examine_database(url)
            report.repaired = True
        return report
    embedder = get_embedder(str(settings.get("embedder")))
    report = examine(home, embedder.dims)
    if repair and report.repairable and not report.ok:
        with Memory(home, embedder=embedder, settings=settings, reindexing=True) as memory:
            memory.reindex()
        report = examine(home, embedder.dims)
        report.repaired = True
    return report


def examine(home: str | Path | None, dims: int) -> DoctorReport:
    """Every check, reading the home as it is; ``dims``: the configured embedder's."""
    path = resolve_home(home)
    report = DoctorReport(str(path))
    if not (path / "notes.db").is_file():
        report.checks.append(Check("record", False, f"no notes.db in {path}; nothing to check"))
        return report
    try:
        records = Records(path / "notes.db")
    except (MemError, RecordUnreadable) as exc:
        report.checks.append(Check("record", False, f"cannot open notes.db ({exc}); {_DAMAGED}"))
        return report
    try:
        report.checks.append(_record(records))
        if not report.checks[-1].ok:
            return report
        report.checks.append(migration(records, f"the home {path}"))
        report.checks.append(_values(records))
        report.checks.append(_agreement(records, path))
        report.checks.append(_text(records, path))
        report.checks.append(_vectors(records, path, dims))
    except RecordUnreadable as exc:
        report.checks.append(Check("record", False, f"reading notes.db failed ({exc}); {_DAMAGED}"))
    finally:
        records.close()
    return report


def _record(records: Records) -> Check:
    try:
        rows, dangling = integrity(records)
    except RecordUnreadable as exc:
        return Check("record", False, f"the integrity check failed ({exc}); {_DAMAGED}")
    if rows != ["ok"]:
        return Check("record", False, f"{'; '.join(rows[:SHOWN])}; {_DAMAGED}")
    if dangling:
        return Check("record", False, f"{dangling} rows point at missing notes; {_DAMAGED}")
    return Check("record", True, f"integrity check passed, {records.count()} notes")


def migration(records: Records, record: str) -> Check:
    """Whether the record holds part of a migration that did not finish."""
    found = records.unfinished_migrations()
    if found:
        return Check("migration", False, refusal(record, found))
    return Check("migration", True, "no unfinished migration into it")


def _bad_fields(row: dict[str, object]) -> Iterator[str]:
    if not is_stored(row["created_at"]):
        yield "created_at"
    if row["event_at"] is not None and not is_stored(row["event_at"]):
        yield "event_at"
    if row["status"] not in STATUSES:
        yield "status"
    if not isinstance(row["scope"], str) or not SCOPE_PATTERN.match(row["scope"]):
        yield "scope"
    for name in ("tags", "keywords"):
        try:
            raw = row[name]
            value = json.loads(raw) if isinstance(raw, str) else None
        except (TypeError, ValueError, RecursionError):
            value = None
        if not _words_ok(value, tags=name == "tags"):
            yield name


def _words_ok(value: object, tags: bool) -> bool:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return False
    return not tags or all(TAG_PATTERN.match(v) for v in value)


def _values(records: Records) -> Check:
    bad: list[str] = []
    count = 0
    for row in raw_notes(records):
        fields = list(_bad_fields(row))
        if fields:
            count += 1
            if len(bad) < SHOWN:
                bad.append(f"{row['id']} ({', '.join(fields)})")
    if count:
        detail = f"{count} notes hold values remember would refuse: {'; '.join(bad)}"
        return Check("record values", False, detail + "; fix them or forget those notes")
    return Check("record values", True, "every note's fields are valid")


def _agreement(records: Records, home: Path) -> Check:
    state = read_state(home / "indexes.json")
    problem = disagreement(records, state)
    if problem:
        return Check("agreement", False, f"the indexes do not match the record: {problem}")
    stored = records.get_meta("embedder")
    if state.embedder and stored and state.embedder != stored:
        return Check("agreement", False, f"vectors by {state.embedder}, the record says {stored}")
    return Check("agreement", True, f"indexes built from this record (op {records.ops_head()})")


def _sample(records: Records) -> list[tuple[int, str]]:
    """(label, a rare-ish word of the note) for notes spread over the whole record."""
    out = []
    for label, content in spread_sample(records, SAMPLE):
        words = [w for w in QUERY_WORD.findall(content.lower()[:2000]) if w not in STOPWORDS]
        if words:
            out.append((int(label), max(words, key=len)))
    return out


def _text(records: Records, home: Path) -> Check:
    state = read_state(home / "indexes.json")
    directory = home / "text"
    if not (directory / "meta.json").is_file():
        return Check("text index", records.count() == 0, "missing (rebuilt at the next call)")
    try:
        index = TextIndex(directory)
        count = index.count()
        # Notes written since the index's last commit (another process, a server, may hold
        # them in its batch: the index follows within a bounded delay) are not looked for.
        head = records.ops_head()
        pending = {op.label for op in records.ops_since(state.text_seq, head)}
        missing = [
            label
            for label, word in _sample(records)
            if label not in pending
            and label not in {x for x, _ in index.search(word, Filters(), 1, only={label})}
        ]
    except (CorruptIndex, ValueError, OSError) as exc:
        return Check("text index", False, f"unreadable ({str(exc)[:200]})")
    if state.text_schema != TEXT_SCHEMA:
        return Check("text index", False, "built with another schema (rebuilt at the next call)")
    if missing:
        return Check("text index", False, f"{len(missing)} sampled notes are not found by their "
                     f"own words (labels {missing[:SHOWN]})")  # fmt: skip
    if state.text_seq == head and count != records.count():
        return Check("text index", False, f"{count} documents for {records.count()} notes")
    return Check("text index", True, f"{count} documents; sampled notes found by their words")


def _vectors(records: Records, home: Path, dims: int) -> Check:
    state = read_state(home / "indexes.json")
    path = home / "vectors.hnsw"
    if state.vector_seq == 0 or not path.is_file():
        return Check("vector index", True, "not saved yet (built from the record when opened)")
    try:
        if state.vector_digest and file_digest(path, VectorIndex.labels_path(path)) != (
            state.vector_digest
        ):
            return Check("vector index", False, "its files changed since they were saved")
        index = VectorIndex.load(path, dims)
    except (OSError, RuntimeError, ValueError) as exc:
        return Check("vector index", False, f"unreadable ({str(exc)[:200]})")
    head = records.ops_head()
    # Saved lazily: the ops after the file replay when a process opens the home, so the
    # labels they touch are not compared; every other saved vector must match the record.
    touched = {op.label for op in records.ops_since(state.vector_seq, head)}
    labels = sorted(index.labels - touched)
    stale = labels[:: max(1, len(labels) // SAMPLE)]
    wanted = records.context_vectors(stale)
    wrong = [x for x in stale if x not in wanted or not _same(index, x, wanted[x])]
    if wrong:
        return Check("vector index", False, f"{len(wrong)} sampled vectors differ from the "
                     f"record (labels {wrong[:SHOWN]})")  # fmt: skip
    later = f"; {head - state.vector_seq} later ops replay when opened" if touched else ""
    return Check("vector index", True,
                 f"{len(index)} vectors (saved at op {state.vector_seq}{later})")  # fmt: skip


def _same(index: VectorIndex, label: int, vector: np.ndarray) -> bool:
    hits = index.search(vector, 1, {label})
    return bool(hits) and hits[0][0] == label and hits[0][1] > 0.999

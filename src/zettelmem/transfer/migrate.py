"""Moving a memory between records: a home directory and a PostgreSQL database."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from zettelmem.memory.core import Memory
from zettelmem.transfer.export import ExportResult, RestoreResult, export_jsonl, restore_jsonl


@dataclass
class MigrateResult:
    exported: ExportResult
    restored: RestoreResult
    tokens: int = 0  # access tokens copied
    tokens_kept: tuple[str, ...] = ()  # names the target holds for another token already
    quarantined: int = 0  # notes held in quarantine, left in the source for its review


def migrate(source: Memory, target: Memory) -> MigrateResult:
    """Copy one record into another (a home into a database, or back) through the lossless
    JSONL export: ids, times, links, history, verdicts and lessons come across as they are;
    quarantined notes stay where they were caught (as with every export). Notes already in
    the target are left alone, so an interrupted run can simply be run again."""
    with tempfile.TemporaryDirectory(prefix="zettelmem-migrate-") as folder:
        path = Path(folder) / "memory.jsonl"
        exported = export_jsonl(source, path)
        restored = restore_jsonl(target, path)
    if not target.store_url:
        # Updated in place, tantivy counts replaced documents in its BM25 statistics until
        # a merge of its own choosing; a home filled from a database is rebuilt once, so it
        # ranks exactly as the database it came from.
        target.indexes.rebuild()
    copied, kept = _tokens(source, target)
    by_status = source.stats()["by_status"]
    held = int(by_status.get("quarantined", 0)) if isinstance(by_status, dict) else 0
    return MigrateResult(exported, restored, copied, kept, held)


def _tokens(source: Memory, target: Memory) -> tuple[int, tuple[str, ...]]:
    """Access tokens go along (their hashes and grants): a server on the new record must
    ask for the same tokens as before, not fall open because it knows none. A name the
    target holds for another token keeps the target's."""
    there = {info.name: digest for info, digest in target.records.token_hashes()}
    copied, kept = 0, []
    for info, digest in source.records.token_hashes():
        if info.name in there:
            if there[info.name] != digest:
                kept.append(info.name)
            continue
        target.records.add_token(info.name, digest, info.grants, info.created_at)
        copied += 1
    return copied, tuple(kept)

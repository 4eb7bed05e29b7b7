"""Moving a memory between records: a home directory and a PostgreSQL database."""

from __future__ import annotations

import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path

from zettelmem.memory.core import Memory
from zettelmem.store.postgres import PgRecords
from zettelmem.store.unfinished import Unfinished
from zettelmem.timeutil import now_iso
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
    the target are left alone, so an interrupted run can simply be run again.

    The target (opened with ``migrating=True``) is marked as holding part of a migration
    from this source from before its first write until after its last one: stopped
    half-way, it is refused to everything but this migration run again (store/unfinished.py)."""
    with tempfile.TemporaryDirectory(prefix="zettelmem-migrate-") as folder:
        path = Path(folder) / "memory.jsonl"
        exported = export_jsonl(source, path)
        key, mark = _mark(source, target)
        target.records.begin_migration(key, mark)
        restored = restore_jsonl(target, path)
    if not target.store_url:
        # Updated in place, tantivy counts replaced documents in its BM25 statistics until
        # a merge of its own choosing; a home filled from a database is rebuilt once, so it
        # ranks exactly as the database it came from.
        target.indexes.rebuild()
    copied, kept = _tokens(source, target)
    # In a transaction of its own, after the last write: a stop between the two leaves a
    # whole record marked, which running the migration again (adding nothing) unmarks.
    target.records.end_migration(key)
    by_status = source.stats()["by_status"]
    held = int(by_status.get("quarantined", 0)) if isinstance(by_status, dict) else 0
    return MigrateResult(exported, restored, copied, kept, held)


def _mark(source: Memory, target: Memory) -> tuple[str, Unfinished]:
    """The source's key (the same for every run from it) and the mark the target keeps."""
    started = now_iso()
    if isinstance(source.records, PgRecords):
        # The database's identity, not the URL: another URL may reach the same database.
        finish = f"run `mem migrate --from {source.records.url}` again"
        key = f"store:{source.records.identity()}"
        return key, Unfinished(source.records.where, finish, started)
    host = socket.gethostname()
    again = f"`mem migrate --to {target.store_url}`" if target.store_url else "the migration"
    finish = f"run {again} again from that home"
    mark = Unfinished(f"the home {source.home} on host {host}", finish, started)
    return f"home:{host}:{source.home}", mark


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

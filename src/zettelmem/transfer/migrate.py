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


def migrate(source: Memory, target: Memory) -> MigrateResult:
    """Copy one record into another (a home into a database, or back) through the lossless
    JSONL export: ids, times, links, history, verdicts and lessons come across as they are;
    quarantined notes stay where they were caught (as with every export). Notes already in
    the target are left alone, so an interrupted run can simply be run again."""
    with tempfile.TemporaryDirectory(prefix="zettelmem-migrate-") as folder:
        path = Path(folder) / "memory.jsonl"
        exported = export_jsonl(source, path)
        restored = restore_jsonl(target, path)
    return MigrateResult(exported, restored)

"""The files a Markdown export wrote into a vault, kept in the vault itself, so that a
re-export with ``--force`` removes the files of notes it no longer holds (forgotten,
quarantined since) and never a file it did not write.

The record is a dot-file (importers and Obsidian skip those): for each store that
exported into the vault, every file's path under the vault with its note's id and scope.
A file is removed only when it is listed for this store and still starts with the front
matter of that very note, so a user's own file, or one put in its place, stays, and so
does every file another store exported there.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MANIFEST = ".zettelmem-export.json"
_FORMAT = "zettelmem-vault-files"
_HEAD_BYTES = 4096  # the front matter's first line (the id) is far shorter


@dataclass(frozen=True)
class Written:
    """One note file an export wrote: its path under the vault (``scope folder/name``)."""

    path: str
    note_id: str
    scope: str


def record(
    root: Path, store: str, scope: str | None, written: Sequence[Written], remove: bool
) -> int:
    """List WRITTEN as this store's files in ROOT's record and return how many files were
    removed: with ``remove``, those listed for this store (in SCOPE, when given) that this
    export did not write again. Without it they stay listed, for a later ``--force``.

    STORE names the exporting store (its home); the record keeps a digest of it, so the
    vault does not tell where the memory lives."""
    store = hashlib.sha256(store.encode("utf-8")).hexdigest()[:16]
    stores = _read(root)
    before: dict[str, dict[str, str]] = stores.get(store, {})
    if not before and not written:
        return 0  # nothing to list: an empty export leaves no record behind
    now = {w.path: {"id": w.note_id, "scope": w.scope} for w in written}
    kept: dict[str, dict[str, str]] = {}
    removed = 0
    for path, entry in before.items():
        if path in now:
            continue
        other_scope = scope is not None and entry["scope"] != scope  # not exported now
        if other_scope or not remove:
            kept[path] = entry
        else:
            try:
                removed += _remove_exported(root, path, entry["id"])
            except OSError:  # not removable now (permissions): listed still, for next time
                kept[path] = entry
        # a file gone already, or no longer the one this store wrote, is not listed again
    stores[store] = {**kept, **now}
    _write(root, stores)
    return removed


def _remove_exported(root: Path, path: str, note_id: str) -> bool:
    """Remove ROOT/PATH if it is a regular file inside ROOT that still holds NOTE_ID's front
    matter, then its folder when that is left empty; True when the file was removed."""
    file = root / path
    if file.is_symlink() or not file.is_file() or not file.resolve().is_relative_to(root):
        return False
    if exported_id(file) != note_id:
        return False
    file.unlink()
    folder = file.parent
    if folder != root and folder.parent == root and not any(folder.iterdir()):
        folder.rmdir()
    return True


def exported_id(file: Path) -> str | None:
    """The note id on the first front-matter line of a file an export wrote, else None."""
    try:
        with file.open("rb") as handle:
            head = handle.read(_HEAD_BYTES).decode("utf-8", errors="replace")
    except OSError:
        return None
    lines = head.replace("\r\n", "\n").split("\n")
    if len(lines) < 2 or lines[0] != "---" or not lines[1].startswith("id: "):
        return None
    try:
        value = json.loads(lines[1][len("id: ") :])
    except ValueError:
        return None
    return value if isinstance(value, str) else None


def _read(root: Path) -> dict[str, dict[str, dict[str, str]]]:
    """Every store's listed files; empty when there is no record or it is not one (then
    nothing is removed: only what is listed ever is)."""
    try:
        data: Any = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("format") != _FORMAT:
        return {}
    stores = data.get("stores")
    if not isinstance(stores, dict):
        return {}
    return {
        store: {path: {"id": e["id"], "scope": e["scope"]} for path, e in files.items()
                if _entry_ok(path, e)}
        for store, files in stores.items()
        if isinstance(store, str) and isinstance(files, dict)
    }  # fmt: skip


def _entry_ok(path: object, entry: object) -> bool:
    return (
        isinstance(path, str)
        and isinstance(entry, dict)
        and isinstance(entry.get("id"), str)
        and isinstance(entry.get("scope"), str)
    )


def _write(root: Path, stores: dict[str, dict[str, dict[str, str]]]) -> None:
    """The record, replaced atomically (a symlink in its place is replaced, not followed)."""
    text = json.dumps({"format": _FORMAT, "stores": stores}, indent=1, sort_keys=True)
    fd, tmp = tempfile.mkstemp(prefix=".zettelmem-export-", suffix=".tmp", dir=root)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text + "\n")
        os.replace(tmp, root / MANIFEST)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

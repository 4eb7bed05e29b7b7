"""`mem export`: the store as lossless JSONL or an Obsidian-compatible Markdown vault,
and importing such a JSONL export back.

JSONL lines: a header (saying what the file carries and leaves out), then every
note, link, change, verdict and lesson (see store/portable.py for the columns),
then an end line with the counts, so a truncated file is noticed before anything
is written.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from zettelmem import __version__
from zettelmem.backends.embeddings import identity
from zettelmem.errors import InvalidInput
from zettelmem.memory.core import Memory
from zettelmem.timeutil import now_iso
from zettelmem.transfer import checks, manifest
from zettelmem.validation import validate_scope

FORMAT = "zettelmem-export"
# 2: lessons, and the header says what is carried; 3: forgotten keys; 4: the versions of
# conversations imported from chat exports
VERSION = 4
READABLE = (1, 2, 3, 4)
CARRIES = ("notes", "links", "history", "verdicts", "lessons", "forgotten import keys",
           "conversation versions")  # fmt: skip
# Quarantined notes stay in the home that caught them; indexes are rebuilt from the record.
LEAVES_OUT = (
    "quarantined notes",
    "the quotes of held notes in lessons",
    "settings (config.json)",
    "derived indexes",
)
_PLURAL = {"note": "notes", "link": "links", "change": "changes", "verdict": "verdicts",
           "lesson": "lessons", "forgotten": "forgotten",
           "conversation_version": "conversation_versions"}  # fmt: skip
_BATCH = 256


@dataclass
class ExportResult:
    dest: str
    format: str
    notes: int = 0
    links: int = 0
    changes: int = 0
    verdicts: int = 0
    lessons: int = 0
    removed: int = 0  # Markdown, --force: files of notes no longer exported, removed
    forgotten: int = 0  # fingerprints of forgotten notes' keys (see store/forgotten.py)
    conversation_versions: int = 0  # see store/conversations.py


# -- JSONL --------------------------------------------------------------------


def export_jsonl(
    memory: Memory, dest: Path, scope: str | None = None, force: bool = False
) -> ExportResult:
    """Write every note, link, change, verdict and lesson to DEST (a file), atomically; an
    existing file is only replaced with ``force``."""
    dest = _plain_target(dest, scope)
    if dest.is_dir():
        raise InvalidInput(f"{dest} is a folder; pass a file name such as {dest}/memory.jsonl")
    if dest.exists() and not force:
        raise InvalidInput(f"{dest} exists; pass --force to overwrite it, or another file name")
    result = ExportResult(str(dest), "jsonl")
    with writing(dest.parent):
        fd, tmp = tempfile.mkstemp(prefix=".export-", dir=dest.parent)
    try:
        with (
            os.fdopen(fd, "w", encoding="utf-8") as out,
            memory.records.dumped(scope) as dump,
        ):
            header = {"type": "header", "format": FORMAT, "version": VERSION,
                      "zettelmem": __version__, "exported_at": now_iso(), "scope": scope,
                      "carries": list(CARRIES), "leaves_out": list(LEAVES_OUT),
                      "embedder": identity(memory.embedder)}  # fmt: skip
            out.write(json.dumps(header) + "\n")
            for kind, rows in (
                ("note", dump.notes()),
                ("link", dump.links()),
                ("change", dump.changes()),
                ("verdict", dump.verdicts()),
                ("lesson", dump.lessons()),
                ("forgotten", dump.forgotten()),
                ("conversation_version", dump.conversation_versions()),
            ):
                attr = _PLURAL[kind]
                for row in rows:
                    out.write(json.dumps({"type": kind, **row}, ensure_ascii=False) + "\n")
                    setattr(result, attr, getattr(result, attr) + 1)
            end = {"type": "end", **{p: getattr(result, p) for p in _PLURAL.values()}}
            out.write(json.dumps(end) + "\n")
        os.replace(tmp, dest)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise _cannot_write(dest, exc) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return result


def _cannot_write(where: Path, exc: OSError) -> InvalidInput:
    reason = exc.strerror or str(exc)
    return InvalidInput(f"cannot write {where}: {reason}; pick a folder that exists and that you "
                        "may write to (nothing was written)")  # fmt: skip


@contextmanager
def writing(where: Path) -> Iterator[None]:
    """OSError (a missing or read-only folder, /proc, a full disk) as one InvalidInput line."""
    try:
        yield
    except OSError as exc:
        raise _cannot_write(where, exc) from None


def looks_like_export(path: Path) -> bool:
    """True for a file whose first line is a zettelmem export header."""
    if not path.is_file():
        return False
    try:
        with path.open("rb") as handle:
            first = handle.readline(4096)
        return bool(json.loads(first).get("format") == FORMAT)
    except (OSError, ValueError, AttributeError, RecursionError):
        return False


@dataclass
class RestoreResult:
    read: int = 0
    added: int = 0
    skipped: int = 0
    links: int = 0
    changes: int = 0
    lessons: int = 0
    superseded: int = 0  # stored notes whose edited text came back (a vault edited since)
    flagged: int = 0  # notes added that the guard flagged (a vault's)
    quarantined: int = 0  # notes added that the guard quarantined (a vault's)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (where, why)


def restore_jsonl(
    memory: Memory, path: Path, progress: Callable[[int], None] | None = None
) -> RestoreResult:
    """Import a JSONL export verbatim (ids, times, tags, links, history, verdicts, lessons).

    The whole file's structure is checked first (header, JSON lines, end line
    and counts): nothing is written when it is broken. Each row is then checked
    as `remember` checks a note (transfer/checks.py); a bad row is rejected with
    its line number and the rest is restored. Notes are written in batches
    (re-running an interrupted restore adds the rest; stored notes are not embedded).
    """
    counts = check_export(path)
    result = RestoreResult()
    batch: list[dict[str, Any]] = []
    links: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    verdicts: list[dict[str, Any]] = []
    lessons: list[dict[str, Any]] = []
    forgotten: list[dict[str, Any]] = []
    versions: list[dict[str, Any]] = []

    def flush() -> None:
        if not batch:
            return
        known = memory.records.known_note_rows(batch)
        fresh = [row for row in batch if row["id"] not in known]
        vectors = memory.embed_texts([row["content"] for row in fresh], {})
        written = memory.records.restore_note_rows(fresh, vectors)
        result.read += len(batch)
        result.added += len(written)
        result.skipped += len(batch) - len(written)
        if progress:
            progress(len(batch))
        batch.clear()

    with memory.records.bulk_writes(counts.get("note", 0)):
        for number, kind, row in _rows(path):
            try:
                row = _checked(kind, row)
            except InvalidInput as exc:
                result.rejected.append((f"{path.name}#line-{number}", f"line {number}: {exc}"))
                continue
            if kind == "note":
                batch.append(row)
                if len(batch) >= _BATCH:
                    flush()
            elif kind == "link":
                links.append(row)
            elif kind == "change":
                changes.append(row)
            elif kind == "verdict":
                verdicts.append(row)
            elif kind == "lesson":
                lessons.append(row)
            elif kind == "forgotten":
                forgotten.append(row)
            elif kind == "conversation_version":
                versions.append(row)
        flush()
        # Links move the context vectors of the notes they join: inside the bulk write too.
        result.links, result.changes = memory.records.restore_other_rows(links, changes, verdicts)
        vectors = _lesson_vectors(memory, path, lessons)
        result.lessons = memory.records.restore_lesson_rows(lessons, vectors)
        memory.records.restore_forgotten_rows(forgotten)
        memory.records.restore_conversation_rows(versions)
    memory.indexes.catch_up()
    return result


def _lesson_vectors(memory: Memory, path: Path, rows: list[dict[str, Any]]) -> list[Any]:
    """The exported vectors when this home's embedder made them, else the texts embedded."""
    with path.open("r", encoding="utf-8") as handle:
        made_by = json.loads(handle.readline()).get("embedder")
    same = made_by == identity(memory.embedder)
    kept = [_vector(row["vector"], memory.embedder.dims) if same else None for row in rows]
    missing = [row["text"] for row, vector in zip(rows, kept) if vector is None]
    fresh = iter(memory.embedder.embed(missing)) if missing else iter(())
    return [vector if vector is not None else next(fresh) for vector in kept]


def _vector(text: str, dims: int) -> np.ndarray | None:
    """An exported lesson's vector (base64 float32), or None unless it is ``dims`` floats."""
    try:
        vector = np.frombuffer(base64.b64decode(text, validate=True), dtype=np.float32)
    except ValueError:
        return None
    return vector if vector.shape == (dims,) else None


_REQUIRED: dict[str, dict[str, tuple[type, ...]]] = {
    "note": {"id": (str,), "content": (str,), "created_at": (str,), "scope": (str,),
             "source": (str,), "keywords": (list,), "tags": (list,), "context": (str,),
             "status": (str,), "event_at": (str, type(None)), "dedupe_key": (str, type(None))},
    "link": {"src": (str,), "dst": (str,), "kind": (str,), "weight": (int, float),
             "created_at": (str,)},
    "change": {"change_id": (str,), "note_id": (str,), "field": (str,), "at": (str,),
               "before": (str, type(None)), "after": (str, type(None)), "reason": (str,),
               "reverted_by": (str, type(None))},
    "verdict": {"note_id": (str,), "verdict": (str,), "risk": (int, float), "reasons": (list,),
                "at": (str,), "review": (str, type(None)), "reviewed_at": (str, type(None))},
    "lesson": {"id": (str,), "scope": (str,), "text": (str,), "signals": (list,),
               "created_at": (str,), "vector": (str,)},
    "forgotten": {"fingerprint": (str,), "scope": (str,), "at": (str,)},
    "conversation_version": {"fingerprint": (str,), "scope": (str,), "updated_at": (str,)},
}  # fmt: skip


def _checked(kind: str, row: dict[str, Any]) -> dict[str, Any]:
    """The row as it may be restored, or InvalidInput naming the bad field."""
    problem = row_problem(kind, row)
    if problem:
        raise InvalidInput(problem)
    check = checks.CHECKS.get(kind)
    return check(row) if check else row


def _loads(line: str) -> Any:
    """json.loads, with nesting too deep for the parser reported as malformed JSON."""
    try:
        return json.loads(line)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def row_problem(kind: str, row: dict[str, Any]) -> str | None:
    """What is wrong with an exported row of this kind, or None."""
    for key, types in _REQUIRED[kind].items():
        if not isinstance(row.get(key), types):
            return f"{kind} field {key!r} is missing or of the wrong type"
    return None


def _rows(path: Path) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """(line number, kind, row without its type) of every data line (after check_export)."""
    with path.open("r", encoding="utf-8") as handle:
        handle.readline()  # the header
        for number, line in enumerate(handle, start=2):
            row = _loads(line)
            kind = row.pop("type")
            if kind in _REQUIRED:
                yield number, kind, row


def check_export(path: Path) -> dict[str, int]:
    """Every line parsed and typed, the end line's counts matched; returns the counts.

    Raises InvalidInput on the first line that is not JSON or of an unknown type,
    or when the file is truncated. Field values are checked per row on restore.
    """
    counts = {kind: 0 for kind in _PLURAL}
    ended: dict[str, Any] | None = None
    number = 1
    try:
        with path.open("r", encoding="utf-8") as handle:
            header = _loads(handle.readline() or "null")
            if not isinstance(header, dict) or header.get("format") != FORMAT:
                raise InvalidInput(f"{path} is not a zettelmem export (no header line)")
            if header.get("version") not in READABLE:
                raise InvalidInput(
                    f"{path} is export version {header.get('version')}; this zettelmem reads "
                    f"versions {', '.join(map(str, READABLE))}: upgrade zettelmem"
                )
            for number, line in enumerate(handle, start=2):
                if ended is not None:
                    raise InvalidInput(f"{path} line {number}: data after the end line")
                row = _loads(line)
                kind = row.get("type") if isinstance(row, dict) else None
                if kind == "end":
                    ended = row
                    continue
                if kind not in _REQUIRED:
                    raise InvalidInput(f"{path} line {number}: unknown line type {kind!r:.40}")
                counts[kind] += 1
    except UnicodeDecodeError:
        raise InvalidInput(f"{path} is not UTF-8 text; pass a zettelmem JSONL export") from None
    except ValueError as exc:
        if isinstance(exc, InvalidInput):
            raise
        detail = str(exc).splitlines()[0][:80]
        raise InvalidInput(f"{path} line {number} is not JSON ({detail}); fix that line or "
                           "export again") from None  # fmt: skip
    # Version 1 end lines have no lesson count (and no lessons).
    if ended is None or any(ended.get(p, 0) != counts[k] for k, p in _PLURAL.items()):
        raise InvalidInput(
            f"{path} is truncated (no end line, or its counts differ); export it again"
        )
    return counts


# -- Markdown -----------------------------------------------------------------


def export_markdown(
    memory: Memory, dest: Path, scope: str | None = None, force: bool = False
) -> ExportResult:
    """One Markdown file per note under DEST/<scope>/, links as [[wikilinks]].

    Every file is written into a staging folder inside DEST first and moved into
    place only when all are written, so a failure (a full disk) leaves the vault
    as it was. A note file that exists already is only replaced with ``force``, which
    also removes the files earlier exports of this store wrote for notes this one does
    not hold (forgotten or quarantined since; transfer/manifest.py).
    """
    root = _plain_target(dest, scope)
    if root.exists() and not root.is_dir():
        raise InvalidInput(f"{root} is a file; pass a folder for --format markdown")
    made_root = not root.exists()
    with writing(root):
        root.mkdir(parents=True, exist_ok=True)
    root = root.resolve()
    result = ExportResult(str(root), "markdown")
    files, written = _vault_files(memory, scope, result)
    targets = [_inside(root, root / folder / name) for folder, name, _ in files]
    for folder in {folder for folder, _, _ in files}:
        _inside(root, root / folder)
    present = [t for t in targets if t.exists()]
    if present and not force:
        raise InvalidInput(f"{present[0]} exists (and {len(present) - 1} more); pass --force "
                           "to overwrite them, or export to another folder")  # fmt: skip
    staging = Path(tempfile.mkdtemp(prefix=".zettelmem-export-", dir=root))
    try:
        for folder, name, text in files:
            (staging / folder).mkdir(exist_ok=True)
            _write_no_follow(staging / folder / name, text)
        for (folder, name, _), target in zip(files, targets):
            target.parent.mkdir(exist_ok=True)
            os.replace(staging / folder / name, target)  # same file system: cannot run out
    except OSError as exc:
        raise _cannot_write(root, exc) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if made_root and not any(root.iterdir()):
            root.rmdir()
    try:
        result.removed = manifest.record(root, str(memory.home), scope, written, force)
    except OSError as exc:
        raise InvalidInput(f"{len(files)} notes exported to {root}, but {manifest.MANIFEST} "
                           f"there could not be written ({exc.strerror or exc}): export "
                           "again with --force once it can be") from None  # fmt: skip
    result.notes = len(files)
    return result


def _vault_files(
    memory: Memory, scope: str | None, result: ExportResult
) -> tuple[list[tuple[str, str, str]], list[manifest.Written]]:
    """(scope folder, file name, text) of every exported note, and what the vault's record
    of written files lists for each."""
    with memory.records.dumped(scope) as dump:
        notes = list(dump.notes())
        names = {row["id"]: _file_stem(row) for row in notes}
        held = {row["note_id"]: row for row in dump.verdicts() if _pending(row)}
        out_links: dict[str, list[dict[str, Any]]] = {}
        in_links: dict[str, list[dict[str, Any]]] = {}
        for link in dump.links():
            out_links.setdefault(link["src"], []).append(link)
            in_links.setdefault(link["dst"], []).append(link)
            result.links += 1
    files = [
        (_safe_part(row["scope"]), f"{names[row['id']]}.md",
         _note_markdown(row, out_links.get(row["id"], []), in_links.get(row["id"], []), names,
                        held.get(row["id"])))
        for row in notes
    ]  # fmt: skip
    written = [manifest.Written(f"{folder}/{name}", row["id"], row["scope"])
               for (folder, name, _), row in zip(files, notes)]  # fmt: skip
    return files, written


def _pending(verdict: dict[str, Any]) -> bool:
    """A verdict that holds its note: flagged or quarantined, and not settled in review."""
    return verdict["verdict"] != "accept" and verdict["review"] is None


def _note_markdown(
    row: dict[str, Any],
    outgoing: list[dict[str, Any]],
    incoming: list[dict[str, Any]],
    names: dict[str, str],
    held: dict[str, Any] | None = None,
) -> str:
    lines = ["---"]
    lines += [f"{key}: {_yaml_value(row[key])}" for key in VAULT_KEYS]
    if held is not None:
        lines += [f"{key}: {_yaml_value(held[key])}" for key in VAULT_HELD_KEYS]
    lines += ["---", "", row["content"], ""]
    if outgoing or incoming:
        lines.append(LINKS_HEADING)
        for link in outgoing:
            lines.append(f"- {link['kind']} ({link['weight']:g}): [[{names[link['dst']]}]]")
        for link in incoming:
            lines.append(f"- {link['kind']} from ({link['weight']:g}): [[{names[link['src']]}]]")
        lines.append("")
    return "\n".join(lines)


def _yaml_value(value: Any) -> str:
    """A YAML scalar or flow list; JSON strings are valid YAML and keep every character."""
    if value is None:
        return "null"
    if isinstance(value, list):
        return "[" + ", ".join(json.dumps(v, ensure_ascii=False) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


# A vault note's front matter, in this order; every value is JSON (so valid YAML), which
# `mem import` reads back exactly (transfer/vault.py).
VAULT_KEYS = ("id", "scope", "source", "event_at", "created_at", "status", "tags", "keywords",
              "context", "dedupe_key")  # fmt: skip
# ... then, for a note the guard holds (flagged or quarantined, not approved), its verdict:
# a restore holds the note at least as firmly (guard/signals.stricter). An approval is not
# written: a claim in a file anyone can edit may hold a note, never clear it.
VAULT_HELD_KEYS = ("verdict", "risk", "reasons")
# The generated section after a note's content: its links, which are not content.
LINKS_HEADING = "## Links"

_SLUG = re.compile(r"[^a-z0-9]+")


STEM_WORD_CHARS = 100  # the words part of a file name: far under any file system's limit


def _file_stem(row: dict[str, Any]) -> str:
    """'2023-05-08 caroline went to a support group 01m8...': readable, unique by id, and
    short (ASCII, at most ~180 bytes, whatever the note holds)."""
    words = " ".join(_SLUG.sub(" ", row["content"].lower()).split()[:8])[:STEM_WORD_CHARS]
    day = (row["event_at"] or row["created_at"])[:10]
    return " ".join(x for x in (day, words.strip(), row["id"]) if x)


def _safe_part(scope: str) -> str:
    """A scope as one folder name: separators and dots at the start cannot escape."""
    return re.sub(r"[/\\:]", "_", scope).lstrip(".") or "_"


def _plain_target(dest: Path, scope: str | None) -> Path:
    if scope is not None:
        validate_scope(scope)
    if dest.is_symlink():
        raise InvalidInput(f"{dest} is a symbolic link; pass a real path to export to")
    return dest


def _inside(root: Path, path: Path) -> Path:
    """PATH, refused when it is a symlink or resolves outside ROOT."""
    if path.is_symlink() or not path.resolve().is_relative_to(root):
        raise InvalidInput(f"refusing to write {path}: it leads outside {root}")
    return path


def _write_no_follow(path: Path, text: str) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)

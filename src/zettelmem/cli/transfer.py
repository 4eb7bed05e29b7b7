"""CLI commands that move memory in and out: import, export."""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from zettelmem.cli.kit import _emit, _memory, json_option, scope_missing, scope_option
from zettelmem.errors import InvalidInput
from zettelmem.models import EXPORT_FORMATS, GRANULARITIES, IMPORT_FORMATS
from zettelmem.validation import MAX_CONTENT_CHARS, validate_scope

if TYPE_CHECKING:  # the import machinery is loaded when a command runs, not at start-up
    from zettelmem.transfer.pipeline import ImportReport

SHOWN_REJECTIONS = 10


class _Bar:
    """One self-rewriting stderr line: notes, rate, and ETA from the bytes consumed."""

    def __init__(self, total_bytes: int) -> None:
        self.total = total_bytes
        self.started = time.monotonic()
        self.shown = 0.0

    def __call__(self, report: ImportReport) -> None:
        done_bytes = report.bytes_done
        now = time.monotonic()
        if now - self.shown < 0.2:
            return
        self.shown = now
        elapsed = max(now - self.started, 1e-6)
        rate = report.read / elapsed
        line = f"\rimporting: {report.read:,} notes, {rate:,.0f}/s"
        if done_bytes and self.total:
            share = min(done_bytes / self.total, 1.0)
            eta = elapsed * (1 - share) / share if share > 0 else 0.0
            line += f", {share:.0%}, ETA {eta:,.0f}s"
        click.echo(line.ljust(60), err=True, nl=False)

    def close(self) -> None:
        click.echo("\r" + " " * 60 + "\r", err=True, nl=False)


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())
    return path.stat().st_size


@contextmanager
def _input_path(given: str) -> Iterator[Path]:
    """The path to import; `-` is stdin, copied to a private temporary file first (the
    format is judged from the content, and a resumed import reads it again)."""
    if given != "-":
        path = Path(given)
        if not path.exists():
            raise InvalidInput(f"{path} does not exist; pass a file or folder to import (or -)")
        yield path
        return
    # Always named `stdin`: sources name the file (dedupe keys do not).
    with tempfile.TemporaryDirectory(prefix="mem-stdin-") as folder:
        path = Path(folder) / "stdin"
        with path.open("wb") as out:
            for chunk in iter(lambda: sys.stdin.buffer.read(1 << 20), b""):
                out.write(chunk)
        if path.stat().st_size == 0:
            raise InvalidInput("stdin is empty; pipe an export into `mem import -`, or pass a "
                               "file or folder")  # fmt: skip
        yield path


@click.command(name="import")
@click.argument("path")
@click.option("--format", "fmt", type=click.Choice(["auto", *IMPORT_FORMATS]), default="auto",
              show_default=True, help="Judged from the content when auto.")  # fmt: skip
@scope_option("Put every note in this scope (default: 'default'; LoCoMo: per conversation).")
@click.option("--granularity", type=click.Choice(GRANULARITIES), default="message",
              show_default=True, help="Chat logs: a note per message, per exchange (a "
              "question with its answers) or per session.")  # fmt: skip
@click.option("--dry-run", is_flag=True, help="Report what would be added; write nothing.")
@click.option("--keep-secrets", is_flag=True, help="Do not redact API keys, tokens, passwords.")
@click.option("--no-llm", is_flag=True, help="Build notes offline even if an LLM is configured.")
@json_option
@click.pass_context
def import_(
    ctx: click.Context,
    path: str,
    fmt: str,
    scope: str | None,
    granularity: str,
    dry_run: bool,
    keep_secrets: bool,
    no_llm: bool,
    as_json: bool,
) -> None:
    """Import chat logs, notes or text from PATH (a file, a folder of Markdown notes, or `-`
    for stdin).

    Importing the same input again adds nothing; an interrupted import can be run again.
    """
    from zettelmem.schemas import ImportOut, RejectedOut
    from zettelmem.transfer.pipeline import preflight, run_import

    with _input_path(path) as source:
        preflight(source, fmt, scope)
        bar = _Bar(_size(source)) if sys.stderr.isatty() and not as_json else None
        try:
            with _memory(ctx, llm=False if no_llm else None) as memory:
                report = run_import(memory, source, fmt, scope=scope, granularity=granularity,
                                    redact_secrets=not keep_secrets, dry_run=dry_run,
                                    progress=bar)  # fmt: skip
        finally:
            if bar:
                bar.close()
    if path == "-":
        report.file = "-"
    if report.read == 0 and report.rejected_count:
        where, why = report.rejected[0]
        raise InvalidInput(f"nothing imported from {path}: {where}: {why}")
    if report.read == 0:
        raise InvalidInput(
            f"nothing imported from {path}: no message or note in it has text; check the "
            "file (or pass --format)"
        )
    out = ImportOut(
        file=report.file, format=report.format, dry_run=report.dry_run, groups=report.groups,
        read=report.read, added=report.added, skipped=report.skipped,
        forgotten=report.forgotten, outdated=report.outdated, redacted=report.redacted,
        truncated=report.truncated, links=report.links, superseded=report.superseded,
        undated=report.undated, flagged=report.flagged, quarantined=report.quarantined,
        rejected_count=report.rejected_count,
        rejected=[RejectedOut(where=w, why=y) for w, y in report.rejected],
    )  # fmt: skip
    if as_json:
        _emit(out)
        return
    line = f"read {out.read}, {'would add' if dry_run else 'added'} {out.added}, "
    line += f"skipped {out.skipped} already stored"
    if out.forgotten:
        line += f", skipped {out.forgotten} forgotten"
    if out.outdated:
        line += f", skipped {out.outdated} of an older export"
    superseded = "older versions superseded" if not dry_run else "older versions to supersede"
    linked = "links restored" if out.format.startswith("zettelmem-") else "wikilinks linked"
    for count, what in ((out.redacted, "secrets redacted"), (out.links, linked),
                        (out.superseded, superseded),
                        (out.truncated, f"truncated at {MAX_CONTENT_CHARS:,} characters"),
                        (out.rejected_count, "rejected")):  # fmt: skip
        if count:
            line += f", {count} {what}"
    click.echo(line + (" (dry run: nothing written)" if dry_run else ""))
    if out.undated:
        click.echo(f"warning: {out.undated} timestamp(s) not understood; those notes are dated "
                   "by this import. Write them as ISO-8601 (2024-01-15T10:00:00) or with "
                   "the month spelled out (Jan 15, 2024)", err=True)  # fmt: skip
    if out.flagged or out.quarantined:
        held = [
            f"{n} {what}"
            for n, what in (
                (out.quarantined, "quarantined (not recalled until approved)"),
                (out.flagged, "flagged (recalled with a warning)"),
            )
            if n
        ]
        click.echo(f"guard: {' and '.join(held)}; review with `mem review`, then "
                   "`mem review approve ID` or `mem review reject ID`", err=True)  # fmt: skip
    for rejected in out.rejected[:SHOWN_REJECTIONS]:
        click.echo(f"rejected {rejected.where}: {rejected.why}", err=True)
    if out.rejected_count > SHOWN_REJECTIONS:
        click.echo(f"... and {out.rejected_count - SHOWN_REJECTIONS} more rejected", err=True)


@click.command(name="export")
@click.argument("dest", type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(EXPORT_FORMATS), default="jsonl",
              show_default=True, help="jsonl: one lossless file; markdown: an Obsidian vault "
              "folder.")  # fmt: skip
@click.option("--scope", help="Only this scope (default: every scope).")
@click.option("--force", is_flag=True, help="Overwrite an existing export file (or note files).")
@json_option
@click.pass_context
def export(
    ctx: click.Context, dest: Path, fmt: str, scope: str | None, force: bool, as_json: bool
) -> None:
    """Export the memory to DEST: a JSONL file (re-importable) or a Markdown vault."""
    from zettelmem.schemas import ExportOut
    from zettelmem.transfer.export import export_jsonl, export_markdown

    if scope is not None:
        validate_scope(scope)
    with _memory(ctx) as memory:
        # an empty export of a mistyped scope would pass for a backup: refuse it
        stats: dict[str, Any] = memory.stats() if scope else {"scopes": {}}
        if scope and scope not in stats["scopes"]:
            missing = scope_missing(scope, stats["scopes"]) or f"no notes in scope {scope!r}"
            raise InvalidInput(f"{missing}; nothing was written")
        if fmt == "jsonl":
            result = export_jsonl(memory, dest, scope, force=force)
        else:
            result = export_markdown(memory, dest, scope, force=force)
    out = ExportOut(dest=result.dest, format=result.format, notes=result.notes,
                    links=result.links, changes=result.changes,
                    removed=result.removed)  # fmt: skip
    if as_json:
        _emit(out)
        return
    line = f"exported {out.notes} notes, {out.links} links, {out.changes} changes to {out.dest}"
    if out.removed:
        line += f", removed {out.removed} file(s) of notes forgotten or quarantined since"
    click.echo(line)


VAULT_COMMANDS = [import_, export]


@click.command()
@click.option("--to", "to_url", metavar="URL", help="Copy the home's record into this database.")
@click.option("--from", "from_url", metavar="URL", help="Copy this database into the home.")
@json_option
@click.pass_context
def migrate(ctx: click.Context, to_url: str | None, from_url: str | None, as_json: bool) -> None:
    """Move memory between the home directory and a PostgreSQL database (either way),
    through the lossless JSONL export: same ids, links, history, verdicts and lessons."""
    import json

    from zettelmem.config import check_store_url
    from zettelmem.transfer.migrate import migrate as run_migrate

    if (to_url is None) == (from_url is None):
        raise InvalidInput("pass exactly one of --to URL (home to database) or --from URL "
                           "(database to home)")  # fmt: skip
    url = check_store_url(to_url or from_url or "", "--to" if to_url else "--from")
    source_store, target_store = ("", url) if to_url else (url, "")
    with (
        _memory(ctx, store=source_store) as source,
        _memory(ctx, store=target_store, migrating=True) as target,
    ):
        result = run_migrate(source, target)
    out = {"notes": result.exported.notes, "added": result.restored.added,
           "skipped": result.restored.skipped, "links": result.restored.links,
           "changes": result.restored.changes, "lessons": result.restored.lessons,
           "tokens": result.tokens, "tokens_kept": list(result.tokens_kept),
           "quarantined_left": result.quarantined,
           "direction": "to" if to_url else "from"}  # fmt: skip
    if result.quarantined:
        click.echo(f"{result.quarantined} quarantined note(s) stay in the source, awaiting "
                   "review there (`mem review`): quarantined notes never leave their home",
                   err=True)  # fmt: skip
    for name in result.tokens_kept:
        click.echo(f"Warning: token {name!r} not copied: the target has another token by that "
                   f"name; `mem token revoke {name}` there and migrate again to bring it",
                   err=True)  # fmt: skip
    if as_json:
        click.echo(json.dumps(out, indent=2))
        return
    where = "into the database" if to_url else "into the home"
    click.echo(f"copied {out['added']} notes ({out['skipped']} there already), {out['links']} "
               f"links, {out['changes']} changes, {out['lessons']} lessons, {out['tokens']} "
               f"access tokens {where}")  # fmt: skip
    if to_url:
        click.echo("use it with `mem --store URL ...`, MEM_STORE, or `mem config set store URL`")


VAULT_COMMANDS.append(migrate)

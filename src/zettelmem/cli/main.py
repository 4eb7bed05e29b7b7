"""The `mem` shell CLI: parse, call Memory, render. No SQL, ranking or index code here."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from zettelmem import __version__
from zettelmem.cli.graph import GRAPH_COMMANDS
from zettelmem.cli.kit import _emit, _memory, json_option, setup_logging, wants_json
from zettelmem.cli.review import GUARD_COMMANDS
from zettelmem.cli.transfer import VAULT_COMMANDS
from zettelmem.cli.ui import UI_COMMANDS
from zettelmem.config import resolve_home
from zettelmem.errors import InvalidInput, MemError
from zettelmem.render import hit_out, lesson_out, note_block, note_line, note_out
from zettelmem.schemas import ForgetOut, NotesOut, RecallOut
from zettelmem.validation import validate_k


class MemGroup(click.Group):
    """Translates the core's errors, and click's usage errors, into one line and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MemError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(exc.exit_code)

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        try:
            result = super().main(*args, **kwargs)
        except click.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx else "mem"
            message = exc.format_message().rstrip(".")
            click.echo(f"Error: {message}; see `{where} --help`", err=True)
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            click.echo(f"Error: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except click.exceptions.Abort:
            click.echo("Error: aborted", err=True)
            sys.exit(1)
        sys.exit(result if isinstance(result, int) else 0)


@click.group(cls=MemGroup)
@click.option(
    "--home",
    type=click.Path(file_okay=True, dir_okay=True, path_type=Path),
    help="Memory home directory (default: $MEM_HOME, else the platform data dir).",
)
@click.version_option(__version__, prog_name="mem")
@click.pass_context
def cli(ctx: click.Context, home: Path | None) -> None:
    """zettelmem: a local-first memory for AI agents and the people who use them."""
    setup_logging()
    ctx.ensure_object(dict)
    ctx.obj["home"] = home


def _read_text(text: str) -> str:
    if text != "-":
        return text
    data = sys.stdin.buffer.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"stdin is not valid UTF-8 (byte {exc.start}); convert it, e.g. with iconv -t utf-8"
        ) from None


@cli.command()
@click.argument("text")
@click.option("--tag", "tags", multiple=True, help="Tag the note (repeatable).")
@click.option("--scope", help="Namespace: a user, agent, project or conversation.")
@click.option("--source", default="cli", show_default=True, help="Where the memory came from.")
@click.option("--at", "event_at", help="When it happened (ISO-8601).")
@json_option
@click.pass_context
def remember(
    ctx: click.Context,
    text: str,
    tags: tuple[str, ...],
    scope: str | None,
    source: str,
    event_at: str | None,
    as_json: bool,
) -> None:
    """Store TEXT as a note (`-` reads it from stdin); prints the new id."""
    content = _read_text(text)
    with _memory(ctx) as memory:
        note, created = memory.remember(
            content, tags=tags, scope=scope, source=source, event_at=event_at
        )
    if not created:
        click.echo(f"already remembered as {note.id}", err=True)
    if as_json:
        _emit(note_out(note))
    else:
        click.echo(note.id)


@cli.command()
@click.argument("query")
@click.option("-k", "k", default=10, show_default=True, help="How many hits.")
@click.option("--scope", help="Only notes in this scope.")
@click.option("--tag", "tags", multiple=True, help="Only notes with this tag (repeatable).")
@click.option("--since", help="Only notes that happened on or after this date (ISO-8601).")
@click.option("--until", help="Only notes that happened on or before this date (ISO-8601).")
@click.option("--include-superseded", is_flag=True, help="Also notes a newer note replaced.")
@click.option("--include-quarantined", is_flag=True, help="Also notes the guard quarantined.")
@click.option("--as-of", help="Answer as the memory stood on this date (ISO-8601).")
@click.option("--no-graph", is_flag=True, help="Skip spreading along links.")
@click.option("--fusion", type=click.Choice(["weighted", "rrf"]), hidden=True)
@json_option
@click.pass_context
def recall(
    ctx: click.Context,
    query: str,
    k: int,
    scope: str | None,
    tags: tuple[str, ...],
    since: str | None,
    until: str | None,
    include_superseded: bool,
    include_quarantined: bool,
    as_of: str | None,
    no_graph: bool,
    fusion: str | None,
    as_json: bool,
) -> None:
    """Find the notes that best match QUERY (BM25 + vectors fused, spread along links)."""
    validate_k(k)
    with _memory(ctx) as memory:
        filters = memory.filters(scope=scope, tags=tags, since=since, until=until,
                                 include_superseded=include_superseded, as_of=as_of,
                                 include_quarantined=include_quarantined)  # fmt: skip
        hits = memory.recall(query, k=k, filters=filters, fusion=fusion, graph=not no_graph)
        lessons = [] if memory.guard_mode == "off" else memory.lessons(query, scope)
    if as_json:
        _emit(RecallOut(query=query, hits=[hit_out(h) for h in hits],
                        lessons=[lesson_out(x) for x in lessons]))  # fmt: skip
        return
    for lesson in lessons:
        click.echo(f"lesson: {lesson.text}")
    if not hits:
        click.echo("no matching notes", err=True)
    for rank, hit in enumerate(hits, 1):
        click.echo(f"{rank:>2}. {hit.score:.3f}  {note_line(hit.note)}")
        if hit.warnings:
            click.echo(f"    trust {hit.trust:.2f}: {'; '.join(hit.warnings)}")


@cli.command()
@click.argument("ids", nargs=-1)
@click.option("--query", help="Forget every note that contains all of these words.")
@click.option("--scope", help="With --query: only in this scope.")
@click.option("--yes", is_flag=True, help="Confirm a --query forget.")
@json_option
@click.pass_context
def forget(
    ctx: click.Context,
    ids: tuple[str, ...],
    query: str | None,
    scope: str | None,
    yes: bool,
    as_json: bool,
) -> None:
    """Remove notes by ID, or every note matching --query, from every index."""
    if bool(ids) == bool(query):
        raise InvalidInput("pass note ids or --query WORDS (not both, not neither)")
    with _memory(ctx) as memory:
        if query:
            filters = memory.filters(scope=scope)
            if not yes:
                matches = memory.forget_preview(query, filters)
                for note in matches:
                    click.echo(note_line(note), err=True)
                raise InvalidInput(
                    f"--query would forget {len(matches)} note(s); add --yes to confirm"
                )
            removed = memory.forget_matching(query, filters)
        else:
            removed = memory.forget(list(ids))
    if as_json:
        _emit(ForgetOut(forgotten=[n.id for n in removed]))
    else:
        click.echo(f"forgot {len(removed)} note(s)")


@cli.command()
@click.argument("note_id")
@json_option
@click.pass_context
def show(ctx: click.Context, note_id: str, as_json: bool) -> None:
    """Print one note with all its fields."""
    with _memory(ctx) as memory:
        note = memory.get(note_id)
    if as_json:
        _emit(note_out(note))
    else:
        click.echo(note_block(note))


@cli.command(name="list")
@click.option("--scope", help="Only notes in this scope.")
@click.option("--limit", default=50, show_default=True, help="How many notes, newest first.")
@json_option
@click.pass_context
def list_(ctx: click.Context, scope: str | None, limit: int, as_json: bool) -> None:
    """List notes, newest first."""
    with _memory(ctx) as memory:
        notes = memory.list_notes(scope=scope, limit=limit)
    if as_json:
        _emit(NotesOut(notes=[note_out(n) for n in notes]))
        return
    for note in notes:
        click.echo(note_line(note))


@cli.command()
@json_option
@click.pass_context
def stats(ctx: click.Context, as_json: bool) -> None:
    """Counts of notes, scopes, links and what the indexes hold."""
    with _memory(ctx) as memory:
        data = memory.stats()
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    for key, value in data.items():
        click.echo(f"{key}: {json.dumps(value) if isinstance(value, dict) else value}")


@cli.command()
@click.pass_context
def reindex(ctx: click.Context) -> None:
    """Rebuild every derived index from the record (re-embedding if the embedder changed)."""
    with _memory(ctx, reindexing=True) as memory:
        result = memory.reindex()
    click.echo(f"reindexed {result['notes']} notes ({result['reembedded']} re-embedded)")


@cli.command()
@click.pass_context
def path(ctx: click.Context) -> None:
    """Print the home directory in use."""
    click.echo(str(resolve_home(ctx.obj["home"])))


@cli.group(name="config", invoke_without_command=True)
@json_option
@click.pass_context
def config_group(ctx: click.Context, as_json: bool) -> None:
    """Show every setting, its value and its source (default, config.json, environment)."""
    from zettelmem.config import DEFAULTS, load_settings

    if ctx.invoked_subcommand is not None:
        return
    home = resolve_home(ctx.obj["home"])
    settings = load_settings(home)
    rows = {key: {"value": settings.get(key), "source": settings.source(key)} for key in DEFAULTS}
    if as_json:
        click.echo(json.dumps({"home": str(home), "settings": rows}, indent=2))
        return
    for key, row in rows.items():
        value = json.dumps(row["value"]) if row["value"] == "" else str(row["value"])
        click.echo(f"{key:<24} {value:<24} {row['source']}")


@config_group.command(name="get")
@click.argument("key")
@json_option
@click.pass_context
def config_get(ctx: click.Context, key: str, as_json: bool) -> None:
    """Print the value of setting KEY."""
    from zettelmem.config import check_key, load_settings

    check_key(key)
    settings = load_settings(resolve_home(ctx.obj["home"]))
    if wants_json(ctx, as_json):
        out = {"key": key, "value": settings.get(key), "source": settings.source(key)}
        click.echo(json.dumps(out, indent=2))
    else:
        click.echo(str(settings.get(key)))


@config_group.command(name="set")
@click.argument("key")
@click.argument("value")
@json_option
@click.pass_context
def config_set(ctx: click.Context, key: str, value: str, as_json: bool) -> None:
    """Store VALUE for setting KEY in the home's config.json (never secrets)."""
    import os

    from zettelmem.backends.llm import get_llm
    from zettelmem.config import CONFIG_FILE, env_var, load_settings, save_setting
    from zettelmem.errors import ConfigError

    home = resolve_home(ctx.obj["home"])
    stored = save_setting(home, key, value)
    if os.environ.get(env_var(key)):
        click.echo(f"Warning: {env_var(key)} is set and overrides this value here", err=True)
    if key.startswith("llm"):
        try:
            get_llm(load_settings(home))
        except ConfigError as exc:
            click.echo(f"Warning: {exc}", err=True)
    if wants_json(ctx, as_json):
        out = {"key": key, "value": stored, "source": CONFIG_FILE, "file": str(home / CONFIG_FILE)}
        click.echo(json.dumps(out, indent=2))
    else:
        click.echo(f"{key} = {stored}")


@cli.group()
def bench() -> None:
    """Retrieval benchmarks."""


@bench.command(name="locomo")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-k", "k", default=10, show_default=True, help="Depth for the headline recall.")
@click.option("--embedder", help="Embedder spec to use instead of the configured one.")
@click.option("--fusion", type=click.Choice(["weighted", "rrf"]), help="Fusion method.")
@click.option("--no-graph", is_flag=True, help="Recall without spreading along links.")
@json_option
def bench_locomo(
    file: Path, k: int, embedder: str | None, fusion: str | None, no_graph: bool, as_json: bool
) -> None:
    """Recall@k on a LoCoMo file, imported into a temporary home."""
    from zettelmem.bench.locomo import KS, run_locomo

    validate_k(k)
    progress = None if as_json else (lambda msg: click.echo(msg, err=True))
    report = run_locomo(
        file, k=k, embedder=embedder, fusion=fusion, progress=progress, graph=not no_graph
    )
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    cuts = sorted(set(KS) | {k})
    click.echo(" | ".join(f"R@{c} {report[f'R@{c}']:.3f}" for c in cuts if f"R@{c}" in report))
    for cat, row in report["by_category"].items():
        click.echo(f"category {cat}: R@10 {row['R@10']:.3f} ({row['questions']} questions)")
    if "without_graph" in report:
        plain = report["without_graph"]
        by_cat = ", ".join(f"{c}: {r['R@10']:.3f}" for c, r in plain["by_category"].items())
        click.echo(
            "without graph: "
            + " | ".join(f"R@{c} {plain[f'R@{c}']:.3f}" for c in cuts if f"R@{c}" in plain)
            + f" (R@10 by category {by_cat})"
        )
    click.echo(
        f"{report['questions']} questions, {report['notes']} notes, ingest "
        f"{report['ingest_per_s']}/s, recall p50 {report['recall_ms']['p50']} ms, "
        f"p95 {report['recall_ms']['p95']} ms"
    )


@bench.command(name="poison")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--per-kind", default=5, show_default=True, help="Attacks of each kind.")
@click.option("--embedder", help="Embedder spec to use instead of the configured one.")
@click.option("--mode", "modes", multiple=True, type=click.Choice(["off", "flag", "quarantine"]),
              help="Guard modes to compare (default: all three).")  # fmt: skip
@json_option
def bench_poison(
    file: Path, per_kind: int, embedder: str | None, modes: tuple[str, ...], as_json: bool
) -> None:
    """Inject adversarial notes into a LoCoMo file's conversations; measure the guard."""
    from zettelmem.bench.poison import run_poison, table
    from zettelmem.models import GUARD_MODES as MODES

    if per_kind < 1:
        raise InvalidInput("--per-kind must be at least 1")
    progress = None if as_json else (lambda msg: click.echo(msg, err=True))
    report = run_poison(file, per_kind=per_kind, embedder=embedder, modes=modes or MODES,
                        progress=progress)  # fmt: skip
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    click.echo(f"{report['attacks']} attacks, {report['poison_notes']} poisoned notes")
    click.echo(table(report))


@cli.command()
@click.option("--http", "use_http", is_flag=True, help="Serve streamable HTTP at /mcp, not stdio.")
@click.option("--host", help="With --http: address to bind (default 127.0.0.1).")
@click.option("--port", type=click.IntRange(0, 65535), help="With --http: port (default 8765).")
@click.option("--scope", envvar="MEM_SCOPE", help="Default scope for this server's calls.")
@click.option("--token", envvar="MEM_TOKEN", help="With --http: require this bearer token.")
@click.option(
    "--allow-host", "allow_hosts", multiple=True, help="With --http: another Host name to accept."
)
@click.option("--guard", type=click.Choice(["off", "flag", "quarantine"]),
              help="Guard mode for this server (default: the home's `guard` setting).")  # fmt: skip
@click.pass_context
def serve(
    ctx: click.Context,
    use_http: bool,
    host: str | None,
    port: int | None,
    scope: str | None,
    token: str | None,
    allow_hosts: tuple[str, ...],
    guard: str | None,
) -> None:
    """Run the MCP server: stdio by default, or streamable HTTP with --http."""
    from zettelmem.server import http

    http.serve(
        ctx.obj["home"],
        http=use_http,
        host=host,
        port=port,
        scope=scope,
        token=token,
        allowed_hosts=allow_hosts,
        guard=guard,
    )


for _command in [*GRAPH_COMMANDS, *VAULT_COMMANDS, *GUARD_COMMANDS, *UI_COMMANDS]:
    cli.add_command(_command)


def main() -> None:
    cli(prog_name="mem")


if __name__ == "__main__":
    main()

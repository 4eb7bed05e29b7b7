"""The `mem` shell CLI: parse, call Memory, render. No SQL, ranking or index code here."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from zettelmem import __version__
from zettelmem.cli.doctor import MAINTENANCE_COMMANDS
from zettelmem.cli.graph import GRAPH_COMMANDS
from zettelmem.cli.kit import (
    CLI_ARGS,
    CLI_HINTS,
    _emit,
    _memory,
    json_option,
    missing_scope_line,
    private_files,
    read_stdin,
    resolve_ids,
    scope_missing,
    scope_option,
    setup_logging,
    tag_option,
    wants_json,
)
from zettelmem.cli.review import GUARD_COMMANDS
from zettelmem.cli.setup import SETUP_COMMANDS
from zettelmem.cli.tokens import TOKEN_COMMANDS
from zettelmem.cli.transfer import VAULT_COMMANDS
from zettelmem.cli.ui import UI_COMMANDS
from zettelmem.config import resolve_home
from zettelmem.errors import HomeError, InvalidInput, MemError, from_database
from zettelmem.redaction import scrub
from zettelmem.store.sqlutil import RecordUnreadable
from zettelmem.validation import validate_k

# The heavy parts (the core, numpy, the indexes, pydantic) are imported inside the
# commands that need them, so `mem --help`, `--version`, `path` and `config` start fast.


class MemGroup(click.Group):
    """Translates the core's errors, and click's usage errors, into one line and an exit code.

    ``--home`` is accepted anywhere before a ``--`` (``mem recall foo --home X``).
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, _home_first(args))

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MemError as exc:
            text = " ".join(scrub(exc.render(CLI_ARGS, CLI_HINTS)).split())  # always one line
            click.echo(f"Error: {text}", err=True)
            sys.exit(exc.exit_code)
        except UnicodeError:
            # argv bytes that are not UTF-8 arrive as lone surrogates, which nothing can store
            click.echo("Error: an argument is not valid UTF-8 text; pass UTF-8 (check the "
                       "terminal's locale, or convert with iconv)", err=True)  # fmt: skip
            sys.exit(InvalidInput.exit_code)
        except RecordUnreadable as exc:
            click.echo(f"Error: the record notes.db cannot be read ({scrub(str(exc))}); run "
                       "`mem doctor` to see what is wrong", err=True)  # fmt: skip
            sys.exit(HomeError.exit_code)
        except Exception as exc:
            found = from_database(exc)
            if found is None:
                raise
            click.echo(f"Error: {' '.join(scrub(str(found)).split())}", err=True)
            sys.exit(found.exit_code)

    def main(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["standalone_mode"] = False
        try:
            result = super().main(*args, **kwargs)
        except click.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx else "mem"
            click.echo(f"Error: {scrub(_sentences(exc.format_message()))} See `{where} --help`.",
                       err=True)  # fmt: skip
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            click.echo(f"Error: {scrub(exc.format_message())}", err=True)
            sys.exit(exc.exit_code)
        except (click.exceptions.Abort, KeyboardInterrupt):
            sys.exit(130)  # Ctrl-C: the user knows; no message
        sys.exit(result if isinstance(result, int) else 0)


def _sentences(message: str) -> str:
    """Click's message lines as one line of sentences ("No such command 'recal'. Did you
    mean 'recall'?")."""
    parts = [" ".join(line.split()) for line in message.splitlines() if line.strip()]
    return " ".join(p if p[-1] in ".?!" else p + "." for p in parts)


def _home_first(args: list[str]) -> list[str]:
    """Move ``--home X`` / ``--home=X`` (and ``--store``) given after the command to the
    front."""
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest.extend(args[i:])
            break
        if arg in ("--home", "--store") and i + 1 < len(args):
            front += args[i : i + 2]
            i += 2
            continue
        if arg.startswith(("--home=", "--store=")):
            front.append(arg)
        else:
            rest.append(arg)
        i += 1
    return front + rest


def _home_given(value: str | None) -> Path | None:
    """An empty --home (``--home "$UNSET"``) is refused, not taken as the current folder."""
    if value is None:
        return None
    if not value.strip():
        raise click.BadParameter("is empty; pass a folder, or leave --home out to use $MEM_HOME")
    return Path(value)


@click.group(cls=MemGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--home",
    type=click.Path(file_okay=True, dir_okay=True, path_type=str),
    callback=lambda _ctx, _param, value: _home_given(value),
    help="Memory home directory (default: $MEM_HOME, else the platform data dir).",
)
@click.option(
    "--store",
    metavar="URL",
    help="Keep the record in PostgreSQL at this postgresql:// URL (default: $MEM_STORE, "
    "else the home's `store` setting, else the home directory).",
)
@click.version_option(__version__, prog_name="mem")
@click.pass_context
def cli(ctx: click.Context, home: Path | None, store: str | None) -> None:
    """zettelmem: a local-first memory for AI agents and the people who use them."""
    setup_logging()
    ctx.ensure_object(dict)
    ctx.obj["home"] = home
    ctx.obj["store"] = store


def _read_text(text: str) -> str:
    return text if text != "-" else read_stdin()


@cli.command()
@click.argument("text")
@tag_option("Tag the note (repeatable; a leading # is dropped).")
@scope_option("Namespace: a user, agent, project or conversation.")
@click.option("--source", default="cli", show_default=True, help="Where the memory came from.")
@click.option("--at", "event_at", help="When it happened (ISO-8601).")
@click.option("--keep-secrets", is_flag=True, help="Do not redact API keys, tokens, passwords.")
@json_option
@click.pass_context
def remember(
    ctx: click.Context,
    text: str,
    tags: tuple[str, ...],
    scope: str | None,
    source: str,
    event_at: str | None,
    keep_secrets: bool,
    as_json: bool,
) -> None:
    """Store TEXT as a note (`-` reads it from stdin); prints the new id."""
    from zettelmem.render import held_line, note_out

    content = _read_text(text)
    with _memory(ctx, warm=True) as memory:
        done = memory.remember(content, tags=tags, scope=scope, source=source, event_at=event_at,
                               keep_secrets=keep_secrets)  # fmt: skip
        held = memory.held(done.note.id)
    note, created = done.note, done.created
    if not created:
        click.echo(f"already remembered as {note.id}", err=True)
    if held is not None:
        click.echo(held_line(note.id, held), err=True)
    if as_json:
        _emit(note_out(note))
    else:
        click.echo(note.id)


@cli.command()
@click.argument("query", required=False)
@click.option("--batch", metavar="FILE", help="Ask every question in FILE (one a line, or "
              "JSON lines with query/scope/k/tags/since/until/id; - for stdin) in one "
              "process: prints one JSON line an answer.")  # fmt: skip
@click.option("-k", "k", default=10, show_default=True, help="How many hits.")
@scope_option("Only notes in this scope.")
@tag_option("Only notes with this tag (repeatable).")
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
    query: str | None,
    batch: str | None,
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
    from zettelmem.render import memory_empty, note_line, recall_out

    validate_k(k)
    if (query is None) == (batch is None):
        raise InvalidInput("pass a QUERY or --batch FILE (not both, not neither)")
    if batch is not None:
        from zettelmem.cli import batch as batched

        asked = batched.questions(batch, scope, k, tags, since, until)
        with _memory(ctx, warm=True) as memory:
            for line in batched.answers(memory, asked, include_superseded=include_superseded,
                                        as_of=as_of, include_quarantined=include_quarantined,
                                        fusion=fusion, graph=not no_graph):  # fmt: skip
                click.echo(line)
        return
    assert query is not None
    with _memory(ctx, warm=True) as memory:
        filters = memory.filters(scope=scope, tags=tags, since=since, until=until,
                                 include_superseded=include_superseded, as_of=as_of,
                                 include_quarantined=include_quarantined)  # fmt: skip
        found = memory.recall(query, k=k, filters=filters, fusion=fusion, graph=not no_graph)
        stats: dict[str, Any] = memory.stats() if not found.hits else {}
        empty = not found.hits and stats["notes"] == 0
        unknown = scope_missing(scope, stats["scopes"]) if scope and not found.hits else None
    if as_json:
        _emit(recall_out(found, hint=unknown))
        return
    hits, lessons = found.hits, found.lessons
    for lesson in lessons:
        click.echo(f"lesson: {lesson.text}")
    if empty:
        click.echo(memory_empty(memory.home), err=True)
    elif unknown:
        click.echo(unknown, err=True)
    elif not hits:
        click.echo("no matching notes", err=True)
    for rank, hit in enumerate(hits, 1):
        click.echo(f"{rank:>2}. {hit.score:.3f}  {note_line(hit.note)}")
        if hit.warnings:
            click.echo(f"    trust {hit.trust:.2f}: {'; '.join(hit.warnings)}")


@cli.command()
@click.argument("ids", nargs=-1)
@click.option("--query", help="Forget every note that contains all of these words.")
@scope_option("With --query: only in this scope.")
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
    """Remove notes by ID (or a unique prefix), or every note matching --query, from every
    index. Insight notes built from a forgotten note go with it (and are listed)."""
    from zettelmem.render import forget_out, note_line

    if bool(ids) == bool(query):
        raise InvalidInput("pass note ids or --query WORDS (not both, not neither)")
    with _memory(ctx) as memory:
        if query:
            matches = memory.forget_preview(query, memory.filters(scope=scope))
            if not yes and matches:  # nothing to forget needs no confirmation
                for note in matches:
                    click.echo(note_line(note), err=True)
                raise InvalidInput(
                    f"--query would forget {len(matches)} note(s); add --yes to confirm"
                )
            asked = [n.id for n in matches]
        else:
            asked = resolve_ids(memory, ids)
        removed = memory.forget(asked) if asked else []
        typo = missing_scope_line(memory, scope) if query and not asked else None
    out = forget_out(removed, asked)
    if as_json:
        _emit(out)
        return
    if query and not asked:  # an empty answer says so on stderr, as everywhere
        click.echo(f"{typo}; nothing forgotten" if typo
                   else f"no notes match {query!r}; nothing forgotten", err=True)  # fmt: skip
        return
    click.echo(f"forgot {len(out.forgotten)} note(s)")
    if out.insights:
        click.echo(f"also forgot {len(out.insights)} insight note(s) built from them: "
                   f"{', '.join(out.insights)} (`mem reflect` writes them again from what "
                   "is left)")  # fmt: skip


@cli.command()
@click.argument("note_id")
@json_option
@click.pass_context
def show(ctx: click.Context, note_id: str, as_json: bool) -> None:
    """Print one note (by id or a unique prefix) with all its fields."""
    from zettelmem.render import note_block, note_out

    with _memory(ctx) as memory:
        note = memory.get(memory.resolve_id(note_id))
    if as_json:
        _emit(note_out(note))
    else:
        click.echo(note_block(note))


@cli.command(name="list")
@scope_option("Only notes in this scope.")
@click.option("--limit", default=50, show_default=True, help="How many notes, newest first.")
@json_option
@click.pass_context
def list_(ctx: click.Context, scope: str | None, limit: int, as_json: bool) -> None:
    """List notes, newest first."""
    from zettelmem.render import note_line, note_out
    from zettelmem.schemas import NotesOut

    with _memory(ctx) as memory:
        notes = memory.list_notes(scope=scope, limit=limit)
        typo = missing_scope_line(memory, scope) if not notes else None
    if as_json:
        _emit(NotesOut(notes=[note_out(n) for n in notes]))
        return
    if not notes:
        where = f" in scope {scope!r}" if scope else ""
        click.echo(typo or f"no notes{where}; add one with `mem remember TEXT`", err=True)
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


# A value may start with a dash ("-1"): it is the value, not an option.
@config_group.command(name="set", context_settings={"ignore_unknown_options": True})
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
@click.option("--folds", type=int, help="Cross-validate the ranking weights over N folds.")
@json_option
@click.pass_context
def bench_locomo(
    ctx: click.Context,
    file: Path,
    k: int,
    embedder: str | None,
    fusion: str | None,
    no_graph: bool,
    folds: int | None,
    as_json: bool,
) -> None:
    """Recall@k on a LoCoMo file, imported into a temporary home (with the global
    --store URL: into that database, which must be empty)."""
    from zettelmem.bench.locomo import KS, run_locomo

    validate_k(k)
    progress = None if as_json else (lambda msg: click.echo(msg, err=True))
    if folds is not None:
        from zettelmem.bench.folds import run_folds
        from zettelmem.bench.folds import table as folds_table

        report = run_folds(file, folds, embedder=embedder, fusion=fusion, progress=progress)
        click.echo(json.dumps(report, indent=2) if as_json else folds_table(report))
        return
    report = run_locomo(file, k=k, embedder=embedder, fusion=fusion, progress=progress,
                        graph=not no_graph, store=ctx.obj["store"])  # fmt: skip
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    cuts = sorted(set(KS) | {k})
    click.echo(" | ".join(f"R@{c} {report[f'R@{c}']:.3f}" for c in cuts if f"R@{c}" in report))
    for cat, row in report["by_category"].items():
        click.echo(f"category {cat}: R@10 {row['R@10']:.3f} ({row['questions']} questions)")
    for name, row in report.get("by_conversation", {}).items():
        shown = " | ".join(f"R@{c} {row[f'R@{c}']:.3f}" for c in cuts if f"R@{c}" in row)
        click.echo(f"{name}: {shown} ({row['questions']} questions)")
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


@bench.command(name="longmemeval")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--embedder", help="Embedder spec to use instead of the configured one.")
@click.option("--no-graph", is_flag=True, help="Recall without spreading along links.")
@json_option
def bench_longmemeval(file: Path, embedder: str | None, no_graph: bool, as_json: bool) -> None:
    """Session- and turn-level R@k and NDCG@k on a LongMemEval JSON file, per question type."""
    from zettelmem.bench.longmemeval import run_longmemeval, table

    progress = None if as_json else (lambda msg: click.echo(msg, err=True))
    report = run_longmemeval(file, embedder=embedder, graph=not no_graph, progress=progress)
    click.echo(json.dumps(report, indent=2) if as_json else table(report))


@bench.command(name="poison")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--per-kind", default=5, show_default=True, help="Attacks of each kind.")
@click.option("--embedder", help="Embedder spec to use instead of the configured one.")
@click.option("--mode", "modes", multiple=True, type=click.Choice(["off", "flag", "quarantine"]),
              help="Guard modes to compare (default: all three).")  # fmt: skip
@click.option("--attacks", "attacks_file", type=click.Path(exists=True, dir_okay=False,
              path_type=Path), help="JSONL of attack texts ({\"text\", \"kind\"}, optional "
              "\"target_question\", \"group\") instead of the built-in generator.")  # fmt: skip
@click.option(
    "--source",
    default="mcp:agent",
    show_default=True,
    help="Source the attacks and honest notes are written with (e.g. cli).",
)
@json_option
def bench_poison(
    file: Path, per_kind: int, embedder: str | None, modes: tuple[str, ...],
    attacks_file: Path | None, source: str, as_json: bool,
) -> None:  # fmt: skip
    """Inject adversarial notes into a LoCoMo file's conversations; measure the guard."""
    from zettelmem.bench.poison import run_poison, table
    from zettelmem.models import GUARD_MODES as MODES

    if per_kind < 1:
        raise InvalidInput("--per-kind must be at least 1")
    progress = None if as_json else (lambda msg: click.echo(msg, err=True))
    report = run_poison(file, per_kind=per_kind, embedder=embedder, modes=modes or MODES,
                        progress=progress, attacks_file=attacks_file,
                        source=source)  # fmt: skip
    if as_json:
        click.echo(json.dumps(report, indent=2))
        return
    click.echo(f"{report['attacks']} attacks, {report['poison_notes']} poisoned notes")
    click.echo(table(report))


@cli.command()
@click.option("--http", "use_http", is_flag=True, help="Serve streamable HTTP at /mcp, not stdio.")
@click.option("--host", help="With --http: address to bind (default 127.0.0.1).")
@click.option("--port", type=click.IntRange(0, 65535), help="With --http: port (default 8765).")
@scope_option("Default scope for this server's calls.")
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
    """Run the MCP server: stdio by default, or streamable HTTP with --http.

    An MCP client starts it (see `mem mcp-config`); on a terminal it says so and waits.
    """
    from zettelmem.server import http

    with private_files():
        http.serve(ctx.obj["home"], http=use_http, host=host, port=port, scope=scope,
                   token=token, allowed_hosts=allow_hosts, guard=guard,
                   store=ctx.obj["store"])  # fmt: skip


for _command in [*GRAPH_COMMANDS, *VAULT_COMMANDS, *GUARD_COMMANDS, *SETUP_COMMANDS,
                 *UI_COMMANDS, *MAINTENANCE_COMMANDS, *TOKEN_COMMANDS]:  # fmt: skip
    cli.add_command(_command)


def main() -> None:
    # One BLAS thread (unless the user chose otherwise): a recall's vector scan is one
    # matrix-vector product, which two threads on two cores made slower, not faster (at
    # 10,000 notes recall p50 14.6 -> 11.5 ms), and a bulk import no slower (155-161 ->
    # 156-181 notes/s). numpy is imported later, by the commands that need it.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    cli(prog_name="mem")


if __name__ == "__main__":
    main()

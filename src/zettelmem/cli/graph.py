"""CLI commands for the note graph: links, link, history, revert, reflect, graph."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from zettelmem.cli.kit import _emit, _memory, json_option, missing_scope_line, scope_option
from zettelmem.errors import InvalidInput
from zettelmem.models import LINK_KINDS

# render and schemas (pydantic) are imported inside the commands: start-up stays light.

if TYPE_CHECKING:
    from zettelmem.memory.core import Memory


@click.command()
@click.argument("note_id")
@json_option
@click.pass_context
def links(ctx: click.Context, note_id: str, as_json: bool) -> None:
    """The links from and to a note (by id or a unique prefix), strongest first."""
    from zettelmem.render import link_out
    from zettelmem.schemas import LinksOut

    with _memory(ctx) as memory:
        note_id = memory.resolve_id(note_id)
        found = memory.links(note_id)
    if as_json:
        _emit(LinksOut(id=note_id, links=[link_out(x) for x in found]))
        return
    if not found:
        click.echo(f"no links from or to {note_id}; add one with `mem link {note_id} OTHER_ID`",
                   err=True)  # fmt: skip
    for x in found:
        arrow = f"-> {x.dst}" if x.src == note_id else f"<- {x.src}"
        click.echo(f"{x.kind:<12} {x.weight:.3f}  {arrow}")


@click.command()
@click.argument("src")
@click.argument("dst")
@click.option("--kind", type=click.Choice(LINK_KINDS), default="related", show_default=True)
@click.option("--weight", type=float, default=1.0, show_default=True)
@json_option
@click.pass_context
def link(ctx: click.Context, src: str, dst: str, kind: str, weight: float, as_json: bool) -> None:
    """Link SRC to DST by hand (`--kind supersedes` marks DST superseded)."""
    from zettelmem.render import link_out

    with _memory(ctx) as memory:
        made = memory.link(memory.resolve_id(src), memory.resolve_id(dst), kind, weight)
    if as_json:
        _emit(link_out(made))
    else:
        click.echo(f"{made.src} -{made.kind}-> {made.dst}")


@click.command()
@click.argument("note_id")
@json_option
@click.pass_context
def history(ctx: click.Context, note_id: str, as_json: bool) -> None:
    """Every change to a note's derived fields, with before and after."""
    from zettelmem.render import change_out
    from zettelmem.schemas import HistoryOut

    with _memory(ctx) as memory:
        note_id = memory.resolve_id(note_id)
        changes = memory.history(note_id)
    if as_json:
        _emit(HistoryOut(id=note_id, changes=[change_out(c) for c in changes]))
        return
    if not changes:
        click.echo("no changes", err=True)
    for c in changes:
        undone = f"  (reverted by {c.reverted_by})" if c.reverted_by else ""
        click.echo(
            f"{c.change_id}  {c.at}  {c.field}: {c.before} -> {c.after}  [{c.reason}]{undone}"
        )


@click.command()
@click.argument("change_id")
@json_option
@click.pass_context
def revert(ctx: click.Context, change_id: str, as_json: bool) -> None:
    """Undo one change (see `mem history`); the undo is itself logged."""
    from zettelmem.render import change_out

    with _memory(ctx) as memory:
        undo = memory.revert(change_id)
    if as_json:
        _emit(change_out(undo))
    else:
        click.echo(f"reverted {change_id}: {undo.field} of {undo.note_id} is {undo.after} again")


@click.command()
@click.argument("topic", required=False)
@scope_option("Only notes in this scope.")
@click.option("--no-llm", is_flag=True, help="Write offline digests even if an LLM is configured.")
@json_option
@click.pass_context
def reflect(
    ctx: click.Context, topic: str | None, scope: str | None, no_llm: bool, as_json: bool
) -> None:
    """Consolidate clusters of related notes (or notes on TOPIC) into insight notes."""
    from zettelmem.render import note_line, note_out
    from zettelmem.schemas import ReflectOut
    from zettelmem.zettel.reflect import nothing_qualified

    if topic is not None and not topic.strip():  # `mem reflect "$UNSET"`: not every cluster
        raise InvalidInput("the topic is empty; pass some words, or leave TOPIC out to "
                           "consolidate every cluster of linked notes")  # fmt: skip
    with _memory(ctx, llm=False if no_llm else None) as memory:
        result = memory.reflect(topic, scope)
        nothing = not (result.created or result.updated or result.unchanged)
        typo = missing_scope_line(memory, scope) if nothing else None
    out = ReflectOut(
        created=[note_out(n) for n in result.created],
        updated=[note_out(n) for n in result.updated],
        unchanged=[n.id for n in result.unchanged],
        reason=None
        if result.created or result.updated or result.unchanged
        else nothing_qualified(topic),  # as the MCP tool says it
    )
    if as_json:
        _emit(out)
        return
    for label, notes in (("created", result.created), ("updated", result.updated)):
        for note in notes:
            click.echo(f"{label}: {note_line(note)}")
    click.echo(
        f"{len(result.created)} created, {len(result.updated)} updated, "
        f"{len(result.unchanged)} unchanged",
        err=True,
    )
    if typo:
        click.echo(typo, err=True)
    elif nothing:
        hint = "" if topic else " (see `mem links ID`, or link notes with `mem link`)"
        click.echo(nothing_qualified(topic) + hint, err=True)


@click.command()
@click.option("--format", "fmt", type=click.Choice(["json", "graphml", "html"]), default="json",
              show_default=True)  # fmt: skip
@click.option("--scope", help="Only notes in this scope.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of stdout.")  # fmt: skip
@click.pass_context
def graph(ctx: click.Context, fmt: str, scope: str | None, output: Path | None) -> None:
    """Export the note graph (nodes are notes, edges are links); html: the view's graph page."""
    if output is not None and output.is_symlink():
        raise InvalidInput(f"{output} is a symbolic link; pass a real path to --output")
    if output is not None and output.exists() and output.is_dir():
        raise InvalidInput(f"{output} is a directory; pass a file path to --output")
    with _memory(ctx) as memory:
        text, nodes, edges = (_graph_html if fmt == "html" else _graph_data)(memory, scope, fmt)
    if output is None:
        click.echo(text)
        return
    _write_atomically(output, text + "\n")
    click.echo(f"wrote {nodes} notes and {edges} links to {output}", err=True)


def _write_atomically(path: Path, text: str) -> None:
    """A temporary file beside PATH, renamed over it: never through a link, never half;
    a folder that is missing or read-only (or a full disk) is one line."""
    import os
    import tempfile

    tmp = ""
    try:
        fd, tmp = tempfile.mkstemp(prefix=".graph-", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        raise InvalidInput(f"cannot write {path}: {exc.strerror or exc}; pick a folder that "
                           "exists and that you may write to") from None  # fmt: skip
    finally:
        if tmp:
            Path(tmp).unlink(missing_ok=True)


def _graph_data(memory: Memory, scope: str | None, fmt: str) -> tuple[str, int, int]:
    import networkx as nx

    g = memory.graph(scope)  # nodes carry a label, tags and keywords (store/graph.py)
    if fmt == "json":
        text = json.dumps(nx.node_link_data(g, edges="links"), indent=2, default=str)
    else:
        text = "\n".join(nx.generate_graphml(g))
    return text, g.number_of_nodes(), g.number_of_edges()


def _graph_html(memory: Memory, scope: str | None, fmt: str) -> tuple[str, int, int]:
    """The web view's graph page as one self-contained file (quarantined notes left out)."""
    from zettelmem.server.ui_graph import load_view
    from zettelmem.server.ui_views import graph_file

    doc = load_view(memory, scope, details=True)
    edges = doc["edges"]
    links = len(edges) // 3 if isinstance(edges, list) else 0
    return graph_file(doc), int(str(doc["shown"])), links


GRAPH_COMMANDS = [links, link, history, revert, reflect, graph]

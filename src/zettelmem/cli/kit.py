"""Helpers shared by the CLI's command modules (home, output, warnings)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import click
from pydantic import BaseModel

from zettelmem.memory.core import Memory

F = TypeVar("F", bound=Callable[..., Any])


class _StderrWarnings(logging.Handler):
    """Warnings from the core, one line each on stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(f"Warning: {record.getMessage()}", err=True)


def setup_logging() -> None:
    log = logging.getLogger("zettelmem")
    if not any(isinstance(h, _StderrWarnings) for h in log.handlers):
        log.addHandler(_StderrWarnings(level=logging.WARNING))
    log.setLevel(logging.WARNING)
    log.propagate = False


@contextmanager
def _memory(ctx: click.Context, **kwargs: Any) -> Iterator[Memory]:
    memory = Memory(home=ctx.obj["home"], **kwargs)
    try:
        yield memory
    finally:
        memory.close()


def _emit(model: BaseModel) -> None:
    click.echo(model.model_dump_json(indent=2))


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")(func)


def wants_json(ctx: click.Context, as_json: bool) -> bool:
    """`--json` given to a command group (`mem config --json get`) applies to its subcommands."""
    parent = ctx.parent.params if ctx.parent else {}
    return as_json or bool(parent.get("as_json"))


# The core names arguments and next steps; the shell words them as flags and commands.
CLI_ARGS = {
    "k": "-k",
    "limit": "--limit",
    "since": "--since date",
    "until": "--until date",
    "as_of": "--as-of date",
    "event_at": "event time",
}
CLI_HINTS = {
    "find_ids": "run `mem recall` or `mem list` to find ids",
    "list_changes": "run `mem history NOTE_ID` to list them",
    "open_review": "see `mem review`",
    "reindex": "run `mem reindex` to re-embed every note (or switch the embedder back)",
    "give_text": "pass some text (or `-` to read it from stdin)",
}

"""Helpers shared by the CLI's command modules (home, output, warnings)."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import click

from zettelmem.errors import InvalidInput
from zettelmem.redaction import scrub
from zettelmem.render import scope_missing as scope_missing

if TYPE_CHECKING:  # imported when a command runs, not at start-up
    from pydantic import BaseModel

    from zettelmem.memory.core import Memory

F = TypeVar("F", bound=Callable[..., Any])


class _StderrWarnings(logging.Handler):
    """Warnings from the core, one line each on stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(f"Warning: {scrub(record.getMessage())}", err=True)


def setup_logging() -> None:
    log = logging.getLogger("zettelmem")
    if not any(isinstance(h, _StderrWarnings) for h in log.handlers):
        log.addHandler(_StderrWarnings(level=logging.WARNING))
    log.setLevel(logging.WARNING)
    log.propagate = False


@contextmanager
def _memory(ctx: click.Context, warm: bool = False, **kwargs: Any) -> Iterator[Memory]:
    """The home's memory for one command. ``warm``: the command will embed text, so the
    embedding model starts loading now, in another thread, while the core is imported and
    the home opened (loading MiniLM takes about 0.15 s, mostly outside the interpreter)."""
    if warm:
        _warm_embedder(ctx.obj["home"])
    from zettelmem.memory.core import Memory

    with private_files():
        kwargs.setdefault("store", ctx.obj.get("store"))
        memory = Memory(home=ctx.obj["home"], **kwargs)
        try:
            yield memory
        finally:
            memory.close()


def _warm_embedder(home: str | None) -> None:
    """Load the home's embedder in a thread. Any failure is left for the memory itself to
    report when it embeds (with the error a user can act on)."""

    def load() -> None:
        with contextlib.suppress(Exception):
            from zettelmem.backends.embeddings import get_embedder, warm
            from zettelmem.config import load_settings, resolve_home

            warm(get_embedder(str(load_settings(resolve_home(home)).get("embedder"))))

    # Not a daemon: the interpreter waits for a load still running when a command ends.
    threading.Thread(target=load, name="zettelmem-warm").start()


@contextmanager
def private_files() -> Iterator[None]:
    """Files and folders created meanwhile are the user's alone (0600 / 0700): memory is
    private. The umask is the process's, so it is set only while a command runs."""
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


def _emit(model: BaseModel) -> None:
    click.echo(model.model_dump_json(indent=2))


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")(func)


def wants_json(ctx: click.Context, as_json: bool) -> bool:
    """`--json` given to a command group (`mem config --json get`) applies to its subcommands."""
    parent = ctx.parent.params if ctx.parent else {}
    return as_json or bool(parent.get("as_json"))


def _scope_given(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A bad scope is refused before the home opens; one from the environment names
    MEM_SCOPE (the command line shows none)."""
    if value is None or param.name is None or value == "*":  # "*": every scope, where taken
        return value
    from click.core import ParameterSource

    from zettelmem.validation import validate_scope

    try:  # checked before the home is opened, so a refused command makes no home
        validate_scope(value)
    except InvalidInput as exc:
        if ctx.get_parameter_source(param.name) == ParameterSource.ENVIRONMENT:
            raise InvalidInput(f"MEM_SCOPE: {exc}; fix or unset MEM_SCOPE") from None
        raise
    return value


def scope_option(help_text: str) -> Callable[[F], F]:
    """``--scope``, defaulting to ``MEM_SCOPE`` (as for `mem serve`)."""
    return click.option("--scope", envvar="MEM_SCOPE", show_envvar=True, help=help_text,
                        callback=_scope_given)  # fmt: skip


def _tags(_ctx: click.Context, _param: click.Parameter, value: Sequence[str]) -> tuple[str, ...]:
    # "#travel" is how people write tags (and how Obsidian shows them).
    return tuple(t[1:] if t.startswith("#") else t for t in value)


def tag_option(help_text: str) -> Callable[[F], F]:
    """``--tag`` (repeatable); a leading ``#`` is dropped."""
    return click.option("--tag", "tags", multiple=True, callback=_tags, help=help_text)


def missing_scope_line(memory: Any, scope: str | None) -> str | None:
    """For a command that found nothing in ``--scope``: the `scope_missing` line when that
    scope holds no note at all (a typo, most likely), else None."""
    if not scope:
        return None
    return scope_missing(scope, memory.stats()["scopes"])


def read_stdin() -> str:
    """All of stdin as UTF-8 text (for the `-` argument)."""
    data = sys.stdin.buffer.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"stdin is not valid UTF-8 (byte {exc.start}); convert it, e.g. with iconv -t utf-8"
        ) from None


def resolve_ids(memory: Memory, ids: Sequence[str]) -> list[str]:
    """Full ids for ids or unique prefixes (as in git)."""
    return [memory.resolve_id(i) for i in ids]


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

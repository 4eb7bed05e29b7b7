"""CLI commands that set `mem` up elsewhere: MCP client snippets and shell completion."""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

from zettelmem.config import resolve_home

CLIENTS = ("claude-desktop", "claude-code", "cursor", "vscode")
SHELLS = ("bash", "zsh", "fish")
SERVER_NAME = "zettelmem"


def running_command() -> list[str]:
    """The command that runs this very `mem`, with absolute paths: clients such as
    Claude Desktop do not see the shell's PATH."""
    invoked = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if invoked is not None and invoked.name in ("mem", "mem.exe") and invoked.exists():
        return [str(invoked.absolute())]
    beside = Path(sys.executable).parent / ("mem.exe" if sys.platform == "win32" else "mem")
    if beside.exists():
        return [str(beside.absolute())]
    return [str(Path(sys.executable).absolute()), "-m", "zettelmem"]


def client_config(client: str, home: Path, scope: str | None, store: str | None = None) -> str:
    """The exact snippet for one client: JSON, or for Claude Code a command line."""
    command, *pre = running_command()
    env = {"MEM_HOME": str(home)}
    if store:  # the record in PostgreSQL: the server the client starts must use it too
        env["MEM_STORE"] = store
    if scope:
        env["MEM_SCOPE"] = scope
    entry: dict[str, Any] = {"command": command, "args": [*pre, "serve"], "env": env}
    if client == "claude-code":
        flags = " ".join(f"--env {shlex.quote(f'{k}={v}')}" for k, v in env.items())
        parts = [shlex.quote(p) for p in (command, *pre)]
        return f"claude mcp add --transport stdio --scope user {flags} {SERVER_NAME} -- " + (
            " ".join(parts) + " serve"
        )
    if client == "vscode":
        doc: dict[str, Any] = {"servers": {SERVER_NAME: {"type": "stdio", **entry}}}
    else:
        doc = {"mcpServers": {SERVER_NAME: entry}}
    return json.dumps(doc, indent=2)


@click.command(name="mcp-config")
@click.argument("client", type=click.Choice(CLIENTS))
@click.option("--scope", help="Also set MEM_SCOPE, the server's default scope.")
@click.pass_context
def mcp_config(ctx: click.Context, client: str, scope: str | None) -> None:
    """Print the MCP client configuration that runs this `mem` on this home.

    claude-desktop: paste into claude_desktop_config.json; cursor: .cursor/mcp.json;
    vscode: .vscode/mcp.json; claude-code: a `claude mcp add` command to run.
    """
    from zettelmem.validation import validate_scope

    if scope is not None:
        validate_scope(scope)
    home = resolve_home(ctx.obj["home"]).absolute().resolve()
    # --store or MEM_STORE (a home's own `store` setting is read by the server from the home)
    store = ctx.obj.get("store") or os.environ.get("MEM_STORE") or None
    if store and urlsplit(store).password:
        click.echo("note: this configuration holds the database password from the store URL; "
                   "keep the file private, or put the password in ~/.pgpass and drop it from "
                   "the URL", err=True)  # fmt: skip
    click.echo(client_config(client, home, scope, store))


@click.command()
@click.argument("shell", type=click.Choice(SHELLS))
@click.pass_context
def completion(ctx: click.Context, shell: str) -> None:
    """Print the completion script for SHELL.

    bash: eval "$(mem completion bash)" in ~/.bashrc; zsh: the same in ~/.zshrc;
    fish: mem completion fish > ~/.config/fish/completions/mem.fish
    """
    from click.shell_completion import get_completion_class

    root = ctx.find_root().command
    completer = get_completion_class(shell)
    assert completer is not None  # every name in SHELLS is one click knows
    click.echo(completer(root, {}, "mem", "_MEM_COMPLETE").source())


SETUP_COMMANDS = [mcp_config, completion]

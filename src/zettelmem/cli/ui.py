"""`mem ui`: the local web view of notes, links, history and the review queue."""

from __future__ import annotations

import click


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", type=click.IntRange(0, 65535), default=8766, show_default=True,
              help="Port (0: any free one).")  # fmt: skip
@click.option("--token", envvar="MEM_TOKEN", help="Require this token (needed off loopback).")
@click.option("--allow-host", "allow_hosts", multiple=True,
              help="Another Host name to accept.")  # fmt: skip
@click.option("--open", "open_browser", is_flag=True, help="Open the view in a browser.")
@click.option("--guard", type=click.Choice(["off", "flag", "quarantine"]),
              help="Guard mode (default: the home's `guard` setting).")  # fmt: skip
@click.pass_context
def ui(
    ctx: click.Context,
    host: str,
    port: int,
    token: str | None,
    allow_hosts: tuple[str, ...],
    open_browser: bool,
    guard: str | None,
) -> None:
    """Serve the web view (search, notes, graph, timeline, review) at /ui."""
    from zettelmem.server.ui import serve_ui

    serve_ui(ctx.obj["home"], host=host, port=port, token=token, allowed_hosts=allow_hosts,
             open_browser=open_browser, guard=guard, store=ctx.obj["store"])  # fmt: skip


UI_COMMANDS = [ui]

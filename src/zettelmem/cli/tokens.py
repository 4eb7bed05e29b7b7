"""CLI commands for access tokens: make one (shown once), list them, revoke one."""

from __future__ import annotations

import click

from zettelmem.cli.kit import _emit, _memory, json_option, wants_json

# schemas (pydantic) are imported inside the commands: start-up stays light.


@click.group(name="token")
@json_option
def token(as_json: bool) -> None:
    """Access tokens for `mem serve --http`, each with the scopes it may read and write."""


@token.command()
@click.argument("name")
@click.option(
    "--grant", "grants", multiple=True, metavar="PATTERN:MODE",
    help="Scopes and mode (r, w or rw), e.g. 'team/*:rw' or 'shared:r'; repeatable.",
)  # fmt: skip
@json_option
@click.pass_context
def create(ctx: click.Context, name: str, grants: tuple[str, ...], as_json: bool) -> None:
    """Make a token NAME with these grants; it is printed once and stored only as a hash."""
    from zettelmem.schemas import TokenCreatedOut

    with _memory(ctx) as memory:
        secret = memory.create_token(name, grants)
        info = next(t for t in memory.tokens() if t.name == name)
    if wants_json(ctx, as_json):
        _emit(TokenCreatedOut(name=info.name, grants=list(info.grants),
                              created_at=info.created_at, token=secret))  # fmt: skip
        return
    click.echo(secret)
    click.echo(
        f"token {name!r} ({', '.join(info.grants)}): copy it now, it is not shown again; "
        "clients send it as Authorization: Bearer <token>",
        err=True,
    )


@token.command(name="list")
@json_option
@click.pass_context
def list_tokens(ctx: click.Context, as_json: bool) -> None:
    """The tokens: name, grants, when made and last used (never the token)."""
    from zettelmem.schemas import TokenOut, TokensOut

    with _memory(ctx) as memory:
        found = memory.tokens()
    if wants_json(ctx, as_json):
        _emit(TokensOut(tokens=[TokenOut(name=t.name, grants=list(t.grants),
                                         created_at=t.created_at, last_used=t.last_used)
                                for t in found]))  # fmt: skip
        return
    if not found:
        click.echo("no tokens; make one with `mem token create NAME --grant SCOPE:rw`", err=True)
    for t in found:
        used = t.last_used or "never"
        click.echo(f"{t.name}  {' '.join(t.grants)}  created {t.created_at}  last used {used}")


@token.command()
@click.argument("name")
@click.pass_context
def revoke(ctx: click.Context, name: str) -> None:
    """Delete token NAME: servers refuse it from the next request on."""
    with _memory(ctx) as memory:
        memory.revoke_token(name)
    click.echo(f"revoked {name}", err=True)


TOKEN_COMMANDS = [token]

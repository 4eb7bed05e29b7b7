"""CLI commands for the guard: review what it flagged or quarantined, and settle it."""

from __future__ import annotations

import click

from zettelmem.cli.kit import _emit, _memory, json_option, missing_scope_line, wants_json

# render and schemas (pydantic) are imported inside the commands: start-up stays light.


@click.group(name="review", invoke_without_command=True)
@click.option("--scope", help="Only notes of this scope.")
@json_option
@click.pass_context
def review(ctx: click.Context, scope: str | None, as_json: bool) -> None:
    """List flagged and quarantined notes awaiting review, riskiest first."""
    from zettelmem.render import note_line, verdict_out
    from zettelmem.schemas import ReviewOut

    if ctx.invoked_subcommand is not None:
        return
    with _memory(ctx) as memory:
        pending = memory.review(scope)
        typo = missing_scope_line(memory, scope) if not pending else None
    if as_json:
        _emit(ReviewOut(pending=[verdict_out(n, v) for n, v in pending]))
        return
    if not pending:
        click.echo(typo or "nothing awaiting review", err=True)
    for note, verdict in pending:
        click.echo(f"{verdict.verdict:<10} risk {verdict.risk:.2f}  {note_line(note)}")
        for reason in verdict.reasons:
            click.echo(f"    {reason}")


@review.command()
@click.argument("note_id")
@json_option
@click.pass_context
def approve(ctx: click.Context, note_id: str, as_json: bool) -> None:
    """Settle NOTE_ID as genuine: a quarantined note becomes an ordinary one."""
    from zettelmem.render import note_out
    from zettelmem.schemas import SettledOut

    with _memory(ctx) as memory:
        note_id = memory.resolve_id(note_id)
        note = memory.approve(note_id)
    if wants_json(ctx, as_json):
        _emit(SettledOut(id=note_id, review="approved", note=note_out(note)))
    else:
        click.echo(f"approved {note_id}; it is {note.status}")


@review.command()
@click.argument("note_id")
@json_option
@click.pass_context
def reject(ctx: click.Context, note_id: str, as_json: bool) -> None:
    """Settle NOTE_ID as poison: forget it and keep a lesson from it."""
    from zettelmem.render import lesson_out
    from zettelmem.schemas import SettledOut

    with _memory(ctx) as memory:
        note_id = memory.resolve_id(note_id)
        _, lesson = memory.reject(note_id)
    if wants_json(ctx, as_json):
        _emit(SettledOut(id=note_id, review="rejected",
                         lesson=lesson_out(lesson) if lesson else None))  # fmt: skip
    else:
        click.echo(f"rejected and forgot {note_id}")
        if lesson:
            click.echo(f"lesson: {lesson.text}")


GUARD_COMMANDS = [review]

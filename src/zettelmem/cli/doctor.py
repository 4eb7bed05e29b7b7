"""`mem doctor`: check the home (record, indexes, their agreement) and repair what is derived."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict

import click

from zettelmem.cli.kit import json_option


@click.command()
@click.option("--repair", is_flag=True, help="Rebuild the derived indexes if a check fails.")
@json_option
@click.pass_context
def doctor(ctx: click.Context, repair: bool, as_json: bool) -> None:
    """Check the record's integrity, the indexes' health and their agreement with the record."""
    from zettelmem.memory.doctor import diagnose  # loaded when the command runs

    report = diagnose(ctx.obj["home"], repair=repair, store=ctx.obj["store"])
    if as_json:
        out = {"home": report.home, "ok": report.ok, "repaired": report.repaired,
               "checks": [asdict(c) for c in report.checks]}  # fmt: skip
        click.echo(json.dumps(out, indent=2))
    else:
        for check in report.checks:
            click.echo(f"{'ok' if check.ok else 'FAIL':<5} {check.name}: {check.detail}")
        if report.repaired:
            click.echo("repaired: the indexes were rebuilt from the record")
    if not report.ok:
        if not as_json:
            mends = report.repairable and not repair
            hint = "; `mem doctor --repair` rebuilds the indexes" if mends else ""
            # the record may be the home's or a database's: the checks above say which
            click.echo(f"Error: the memory has problems (see above){hint}", err=True)
        sys.exit(1)


MAINTENANCE_COMMANDS = [doctor]

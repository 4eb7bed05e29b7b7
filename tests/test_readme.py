"""The README documents every CLI command, and CI runs the README's test command."""

from __future__ import annotations

import re
from pathlib import Path

import click

from zettelmem.cli.main import cli

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _commands(group: click.Group, prefix: str = "mem") -> list[str]:
    out = []
    for name, command in group.commands.items():
        if getattr(command, "hidden", False):
            continue
        full = f"{prefix} {name}"
        if isinstance(command, click.Group):
            out.extend(_commands(command, full))
        else:
            out.append(full)
    return out


def test_every_cli_command_is_in_the_readme() -> None:
    missing = [c for c in _commands(cli) if f"`{c}" not in README]
    assert not missing, f"README lacks a reference entry for: {missing}"


def _block_after(marker: str) -> str:
    match = re.search(re.escape(marker) + r"\s*```bash\n(.+?)\n```", README, re.S)
    assert match, f"README has no bash block after {marker}"
    return match.group(1).strip()


def test_readme_shows_the_two_fresh_machine_commands() -> None:
    main = _block_after("<!-- main-command -->")
    tests = _block_after("<!-- test-command -->")
    assert "pip install" in main and "mem" in main and "examples/" in main
    assert "pip install" in tests and "pytest" in tests


def test_ci_runs_the_readme_test_command() -> None:
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "<!-- test-command -->" in script and "README.md" in script


def test_example_files_named_in_readme_exist() -> None:
    for name in re.findall(r"examples/[\w.\-]+", README):
        assert (ROOT / name).exists(), f"README names {name}, which does not exist"

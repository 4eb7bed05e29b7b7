"""The shell front door: `mem` commands, grouped by what they work on."""

from zettelmem.cli.main import main

__all__ = ["main"]

"""Importers: one module per format, each turning a file into notes ready to store."""

from __future__ import annotations

from pathlib import Path

from zettelmem.errors import InvalidInput
from zettelmem.importers import locomo
from zettelmem.models import NewNote

FORMATS = ("locomo",)


def detect(path: Path) -> str:
    """The format of a file, judged by its content (not its name)."""
    if locomo.looks_like(path):
        return "locomo"
    raise InvalidInput(
        f"cannot tell the format of {path}; pass --format (one of: {', '.join(FORMATS)})"
    )


def read(path: Path, fmt: str, scope: str | None = None) -> tuple[str, list[NewNote]]:
    """(format, notes) for a file; every note carries a source that points back to it."""
    if fmt == "auto":
        fmt = detect(path)
    if fmt == "locomo":
        return fmt, locomo.notes(locomo.load(path), scope=scope)
    raise InvalidInput(f"unknown format {fmt!r}; use one of: auto, {', '.join(FORMATS)}")

"""The one exception tree; each front door translates it at its edge."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

# What to do next, named; each front door words it its own way (a shell command for
# the CLI, a tool call for an MCP client).
Hint = Literal["find_ids", "list_changes", "open_review", "reindex", "give_text"]


class MemError(Exception):
    """Base of every error zettelmem raises on purpose.

    The message is one line that names the problem. ``arg`` names the argument at
    fault (the message says ``{arg}`` where it belongs) and ``hint`` what to do next;
    both are rendered by the door the caller came through.
    """

    exit_code = 1

    def __init__(self, message: str, *, hint: Hint | None = None, arg: str | None = None):
        super().__init__(message)
        self.message, self.hint, self.arg = message, hint, arg

    def render(self, args: Mapping[str, str], hints: Mapping[str, str]) -> str:
        """One line in a door's words: the argument as that door names it, then the hint."""
        text = self.message
        if self.arg is not None:
            text = text.replace("{arg}", args.get(self.arg, self.arg))
        extra = hints.get(self.hint, "") if self.hint is not None else ""
        return f"{text}; {extra}" if extra else text

    def __str__(self) -> str:
        return self.render({}, {})


class InvalidInput(MemError):
    """The caller passed something we cannot store or search for."""

    exit_code = 2


class NotFound(MemError):
    """An id (or other reference) does not exist in this home."""

    exit_code = 3


class HomeError(MemError):
    """The home directory cannot be used (a file, not writable, ...)."""

    exit_code = 4


class EmbedderMismatch(MemError):
    """The store's vectors were made by another embedder than the one configured."""

    exit_code = 5


class ConfigError(MemError):
    """A setting is missing, unknown or invalid."""

    exit_code = 2


class LLMError(MemError):
    """An LLM call failed (network, rate limit, refusal, output that does not validate).

    Callers catch it and fall back to the offline heuristics with a warning.
    """

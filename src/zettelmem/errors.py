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


class StoreUnreachable(HomeError):
    """The store did not answer: its database server is down or unreachable, the database
    is gone, or the connection dropped. Unlike other home errors it passes: the same call
    succeeds once the store is back (a server door answers 503, not 400)."""


def read_only_home(home: object) -> HomeError:
    """The one refusal of every write to a home opened read-only (the record, settings)."""
    return HomeError(
        f"home {home} is read-only: recall, list, show and stats work, writing does not; "
        "write to a copy (or unset MEM_READ_ONLY)"
    )


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


def from_database(exc: BaseException) -> MemError | None:
    """A database driver's error (psycopg's, raised by a statement outside the store's own
    translation) as one HomeError line naming the cause and what to do; None for any
    other exception. Checked by module name, so no door imports psycopg for it."""
    if not type(exc).__module__.startswith(("psycopg", "psycopg_pool")):
        return None
    reason = " ".join(str(exc).split()) or type(exc).__name__
    state = str(getattr(exc, "sqlstate", "") or "")
    if state == "25006":
        what = ("it is read-only, as a standby is; point the store at the primary server, "
                "then try again")  # fmt: skip
        return HomeError(f"the database takes no writes ({reason}): {what}")
    if state == "42501":
        what = "ask its owner to grant the role zettelmem uses that privilege"
        return HomeError(f"the database refused a statement for lack of a privilege ({reason}); "
                         f"{what}")  # fmt: skip
    lost = type(exc).__name__ in ("OperationalError", "PoolTimeout")
    if state.startswith(("08", "57")) or lost:
        return StoreUnreachable(f"lost the connection to the database ({reason}); a write "
                                "under way was rolled back: check that the server runs, then "
                                "try again")  # fmt: skip
    return HomeError(f"the database refused a statement ({reason}); nothing of it was "
                     "written: `mem doctor` checks the store")  # fmt: skip

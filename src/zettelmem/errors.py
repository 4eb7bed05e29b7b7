"""The one exception tree; each front door translates it at its edge."""

from __future__ import annotations


class MemError(Exception):
    """Base of every error zettelmem raises on purpose.

    The message is one line that names the problem and says what to do next.
    """

    exit_code = 1


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

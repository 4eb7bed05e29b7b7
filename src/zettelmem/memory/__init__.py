"""The facade both front doors call."""

from zettelmem.memory.core import Memory

__all__ = ["Memory"]

"""The one thread that owns the core: every MCP (and web view) call runs there, one at a
time, and the core's errors become messages a model calling tools can act on."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import anyio
import anyio.to_thread
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError

from zettelmem.errors import MemError, NotFound, from_database
from zettelmem.memory.core import Memory
from zettelmem.redaction import scrub
from zettelmem.store.sqlutil import RecordUnreadable

T = TypeVar("T")
log = logging.getLogger("zettelmem")

# What to do next, in the words of a model calling tools (arguments keep their names).
TOOL_HINTS = {
    "find_ids": "call recall to find ids",
    "list_changes": "change ids come from the note's history (`mem history NOTE_ID`)",
    "open_review": "call review to list the notes awaiting it",
    "reindex": "ask the user to run `mem reindex` (or switch the embedder back)",
    "give_text": "pass some text",
}


def tool_message(exc: MemError) -> str:
    """The core's one-line message, phrased for a model calling tools."""
    text = exc.render({}, TOOL_HINTS)
    if isinstance(exc, NotFound) and exc.hint is None:
        text += "; call recall to find ids"
    return scrub(" ".join(text.split()))


class Core:
    """Owns one Memory on one dedicated thread: every call runs there, one at a time.

    The core is synchronous and not thread-safe, and its SQLite connection belongs
    to the thread that opened it. So calls are queued to this thread (never the
    event loop's), which serializes concurrent clients in arrival order.
    """

    def __init__(self, memory: Memory | Callable[[], Memory]) -> None:
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="zettelmem-core")
        self._lock = threading.Lock()
        self._owned = not isinstance(memory, Memory)
        self.memory = self._thread.submit(self._adopt, memory).result()
        self.warming: threading.Thread | None = None
        if self.memory.wants_local_indexes():
            self.warming = threading.Thread(target=self._warm, name="zettelmem-warm", daemon=True)
            self.warming.start()

    def _warm(self) -> None:
        """Build this machine's indexes of the database while the database answers, then
        switch to them (between two calls, on the core thread)."""
        try:
            self.memory.build_local_indexes()
            self.call(Memory.use_local_indexes)
        except RuntimeError:
            return  # the server stopped meanwhile
        except (MemError, OSError) as exc:
            log.warning("building this machine's indexes failed (%s); searching the database",
                        exc)  # fmt: skip
            return
        log.info("this machine's indexes of the database are built; recall now uses them")

    def _adopt(self, memory: Memory | Callable[[], Memory]) -> Memory:
        if not isinstance(memory, Memory):
            return memory()
        if not memory.usable_in_this_thread():
            # Opened on another thread (SQLite's check_same_thread): open a twin on
            # this one. It shares every write with the original through the ops log.
            self._owned = True
            return Memory(memory.config_home, embedder=memory.embedder,
                          settings=memory.settings, store=memory.store_url)  # fmt: skip
        return memory

    def call(self, fn: Callable[[Memory], T]) -> T:
        """fn(memory) on the core thread, waiting for it (outside the event loop)."""
        return self._thread.submit(self._locked, fn).result()

    def _locked(self, fn: Callable[[Memory], T]) -> T:
        with self._lock:
            return fn(self.memory)

    async def run(self, fn: Callable[[Memory], T]) -> T:
        """Run fn(memory) on the core thread without blocking the event loop."""
        future = self._thread.submit(self._locked, fn)
        return await anyio.to_thread.run_sync(future.result, abandon_on_cancel=True)

    async def tool(self, fn: Callable[[Memory], T]) -> T:
        """`run`, with the core's errors turned into tool errors the model can act on."""
        try:
            return await self.run(fn)
        except MemError as exc:
            raise ToolError(tool_message(exc)) from None
        except RecordUnreadable as exc:
            raise ToolError(f"the memory's record cannot be read ({exc}); ask the user to run "
                            "`mem doctor`") from None  # fmt: skip
        except Exception as exc:
            found = from_database(exc)
            if found is None:
                raise
            raise ToolError(tool_message(found)) from None

    async def resource(self, fn: Callable[[Memory], T]) -> T:
        try:
            return await self.run(fn)
        except NotFound as exc:
            raise ResourceNotFoundError(tool_message(exc)) from None
        except MemError as exc:
            raise ResourceError(tool_message(exc)) from None
        except Exception as exc:
            found = from_database(exc)
            if found is None:
                raise
            raise ResourceError(tool_message(found)) from None

    def close(self) -> None:
        """Flush and close the memory if this core opened it; stop the thread."""
        if self._owned:
            self._thread.submit(self._locked, Memory.close).result()
        self._thread.shutdown(wait=True)

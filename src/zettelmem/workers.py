"""Background threads shared by the process: work that releases the interpreter (an ONNX
embedding, an hnswlib walk, a numpy product) runs in them beside Python work here."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

_pools: dict[str, ThreadPoolExecutor] = {}
_lock = threading.Lock()


def pool(name: str, workers: int) -> ThreadPoolExecutor:
    """The process's pool called ``name``, made on first use with ``workers`` threads.
    Its queue is first in, first out: a task may wait on one submitted before it."""
    with _lock:
        found = _pools.get(name)
        if found is None:
            found = _pools[name] = ThreadPoolExecutor(
                workers, thread_name_prefix=f"zettelmem-{name}"
            )
        return found

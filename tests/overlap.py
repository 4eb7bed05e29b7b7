"""Checks that one call runs in another thread while a second call runs on the caller's."""

from __future__ import annotations

import threading
from typing import Any

import pytest


def beside(
    monkeypatch: pytest.MonkeyPatch, signals: tuple[Any, str], waits: tuple[Any, str]
) -> list[tuple[bool, bool]]:
    """Patch ``signals`` (object, method name) to announce that it has started and ``waits``
    to wait for that announcement. Each call of ``waits`` records (ran on the main thread,
    saw the other call start): run on the calling thread before the other call, it would
    wait in vain, so a caller that overlaps the two records (False, True)."""
    started = threading.Event()
    seen: list[tuple[bool, bool]] = []
    owner, name = signals
    signalled = getattr(owner, name)
    waiter, wait_name = waits
    waited = getattr(waiter, wait_name)

    def announcing(*args: Any, **kwargs: Any) -> Any:
        started.set()
        return signalled(*args, **kwargs)

    def waiting(*args: Any, **kwargs: Any) -> Any:
        on_caller = threading.current_thread() is threading.main_thread()
        seen.append((on_caller, started.wait(timeout=5)))
        return waited(*args, **kwargs)

    monkeypatch.setattr(owner, name, announcing)
    monkeypatch.setattr(waiter, wait_name, waiting)
    return seen

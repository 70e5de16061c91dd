"""Waiting in tests for what is expected to happen, never for a fixed time: a loaded machine (CI,
two cores shared with other work) only makes an event later, while a fixed sleep either wastes
time or, under load, is too short."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


async def until(predicate: Callable[[], object], timeout: float = 20.0, step: float = 0.005) -> None:
    """Return once `predicate()` is true; TimeoutError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"still waiting after {timeout} s")
        await asyncio.sleep(step)


def until_sync(predicate: Callable[[], object], timeout: float = 30.0, step: float = 0.02) -> None:
    """`until` for tests that wait on another process (a file growing, a port opening)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"still waiting after {timeout} s")
        time.sleep(step)

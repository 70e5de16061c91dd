"""Decimation by block means, with the remainder carried to the next block."""

from __future__ import annotations

import numpy as np


def block_mean(x: np.ndarray, factor: int) -> np.ndarray:
    """Means of consecutive blocks of `factor` samples along the first axis (a trailing partial
    block is dropped). `factor` 1 returns a copy."""
    if factor == 1:
        return np.array(x, dtype=float, copy=True)
    n = (len(x) // factor) * factor
    if n == 0:
        return np.zeros((0,) + np.shape(x)[1:])
    whole = np.asarray(x[:n], dtype=float)
    return np.add.reduceat(whole, np.arange(0, n, factor), axis=0) / factor


class BlockMean:
    """Streaming `block_mean`: `run(x)` on consecutive blocks of any size gives the means that
    one call on the whole array gives; the samples of an unfinished block wait for the next
    call. Works on (n,) or (n, k) arrays (the same trailing shape every call)."""

    def __init__(self, factor: int) -> None:
        self.factor = max(1, int(factor))
        self._pending: np.ndarray | None = None

    def clear(self) -> None:
        """Drop the unfinished block (after a gap: blocks never span one)."""
        self._pending = None

    @property
    def pending(self) -> int:
        return 0 if self._pending is None else len(self._pending)

    def run(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        if self._pending is not None and len(self._pending):
            x = np.concatenate([self._pending, x])
        m = (len(x) // self.factor) * self.factor
        self._pending = x[m:].copy()
        return block_mean(x[:m], self.factor)

    step = run

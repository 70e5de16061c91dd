"""Runs of a mask or of labels, and gap-free pieces: the index bookkeeping every step shares."""

from __future__ import annotations

from typing import Any

import numpy as np


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, end_exclusive) of every run of True in the (n,) bool `mask`, in order."""
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return []
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts = np.flatnonzero(edges == 1).tolist()
    ends = np.flatnonzero(edges == -1).tolist()
    return list(zip(starts, ends, strict=True))


def label_runs(labels: np.ndarray) -> list[tuple[Any, int, int]]:
    """(label, start, end_exclusive) of every run of equal labels in the (n,) array `labels`."""
    if len(labels) == 0:
        return []
    change = np.flatnonzero(labels[1:] != labels[:-1]) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [len(labels)]])
    return [(labels[a], int(a), int(b)) for a, b in zip(starts, ends, strict=True)]


def split_by(segment: np.ndarray, a: int, b: int) -> list[tuple[int, int]]:
    """Samples [a, b) cut wherever the (n,) `segment` id changes (e.g. at a long link gap)."""
    seg = segment[a:b]
    cuts = np.flatnonzero(seg[1:] != seg[:-1]) + 1
    edges = np.concatenate([[0], cuts, [b - a]])
    return [(a + int(x), a + int(y)) for x, y in zip(edges[:-1], edges[1:], strict=True)]


def fill_nearest(x: np.ndarray, where: np.ndarray) -> np.ndarray:
    """`x` with its NaNs inside the bool mask `where` replaced by the nearest finite value
    (the next one where there is one); for time accounting only."""
    out = x.copy()
    finite = np.isfinite(x)
    need = where & ~finite
    if need.any() and finite.any():
        idx = np.flatnonzero(finite)
        pos = np.clip(np.searchsorted(idx, np.flatnonzero(need)), 0, len(idx) - 1)
        out[need] = x[idx[pos]]
    return out

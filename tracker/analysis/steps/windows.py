"""Moving windows: extremes, means and stillness over the last (or the centred) n samples.

`StillWindows` and `TrailingMean` carry their state: `run` on a whole array and `step` one
sample at a time (or `run` on consecutive blocks) give the same answer. The centred forms
(`centred_mean`, `centred_extreme`, `dilate`) look ahead: they are for whole recordings only.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import numpy as np

_Reduce = Callable[..., np.ndarray]


def window_extreme(x: np.ndarray, n: int, accumulate: np.ufunc) -> np.ndarray:
    """`accumulate` (np.maximum or np.minimum) over every full window of `n` samples of the 1-d
    `x`: out[k] covers x[k : k + n], so len(out) = len(x) - n + 1. Exact, O(len(x))
    (van Herk / Gil-Werman: prefix and suffix extremes inside blocks of n)."""
    x = np.asarray(x)
    m = len(x)
    if n <= 1 or m == 0:
        return x.copy()
    if m < n:
        return x[:0].copy()
    blocks = -(-m // n)
    fill = -np.inf if accumulate is np.maximum else np.inf
    pad = np.full(blocks * n, fill, dtype=np.result_type(x.dtype, np.float64))
    pad[:m] = x
    shaped = pad.reshape(blocks, n)
    prefix = accumulate.accumulate(shaped, axis=1).ravel()
    suffix = accumulate.accumulate(shaped[:, ::-1], axis=1)[:, ::-1].ravel()
    k = np.arange(m - n + 1)
    out = accumulate(suffix[k], prefix[k + n - 1])
    return out.astype(x.dtype, copy=False)


def centred_extreme(x: np.ndarray, n: int, accumulate: np.ufunc) -> np.ndarray:
    """`accumulate` over the `n` samples centred on each one (x[i - n // 2 : i - n // 2 + n]),
    the ends mirrored (scipy.ndimage's `reflect` mode): same length as `x`."""
    if n <= 1 or len(x) == 0:
        return np.asarray(x).copy()
    left, right = n // 2, n - 1 - n // 2
    padded = np.pad(np.asarray(x), (left, right), mode="symmetric")
    return window_extreme(padded, n, accumulate)


def dilate(mask: np.ndarray, n: int) -> np.ndarray:
    """(len,) bool: True wherever a True of `mask` lies within the centred window of `n`."""
    if not mask.any():
        return np.asarray(mask, dtype=bool).copy()
    return centred_extreme(np.asarray(mask, dtype=np.int8), n, np.maximum).astype(bool)


def centred_mean(x: np.ndarray, n: int) -> np.ndarray:
    """Moving mean over `n` samples centred on each one, the ends padded with the end values."""
    if n <= 1:
        return x.copy()
    k = np.ones(n) / n
    pad = n // 2
    xp = np.concatenate([np.full(pad, x[0]), x, np.full(n - 1 - pad, x[-1])])
    return np.convolve(xp, k, mode="valid")


def centred_uniform_mean(x: np.ndarray, n: int) -> np.ndarray:
    """Mean over the `n` samples centred on each one (x[i - n // 2 : i - n // 2 + n]), the ends
    mirrored (scipy.ndimage's `uniform_filter1d`): same length as `x`."""
    x = np.asarray(x, dtype=float)
    if n <= 1 or len(x) == 0:
        return x.copy()
    left, right = n // 2, n - 1 - n // 2
    # mirror as often as needed for a window longer than the signal
    padded = np.pad(x, (left, right), mode="symmetric")
    c = np.concatenate([[0.0], np.cumsum(padded)])
    return (c[n:] - c[:-n]) / n


class TrailingMean:
    """Mean of the last `n` values pushed (fewer at the start).

    `step(x)` one value, `run(x)` an array; the state carries over between calls."""

    def __init__(self, n: int) -> None:
        self.n = max(1, int(n))
        self._q: deque[float] = deque(maxlen=self.n)
        self._sum = 0.0

    def clear(self) -> None:
        self._q.clear()
        self._sum = 0.0

    def __len__(self) -> int:
        return len(self._q)

    def step(self, x: float) -> float:
        if len(self._q) == self.n:
            self._sum -= self._q[0]
        self._q.append(float(x))
        self._sum += float(x)
        return self._sum / len(self._q)

    def run(self, x: np.ndarray) -> np.ndarray:
        return np.array([self.step(v) for v in np.asarray(x, dtype=float)])


class StillWindows:
    """Stillness of a slow signal: the last `n` samples span at most `tolerance` (max - min).

    `step(x)` is True once a full window of `n` values ending at `x` lies within the tolerance
    (False for the first n - 1 values); `run(x)` gives the same per sample for an array and
    keeps the state, so consecutive blocks give what one long array gives.
    """

    def __init__(self, n: int, tolerance: float) -> None:
        self.n = max(1, int(n))
        self.tolerance = float(tolerance)
        self._q: deque[float] = deque(maxlen=self.n)

    def clear(self) -> None:
        self._q.clear()

    @property
    def full(self) -> bool:
        return len(self._q) == self.n

    def step(self, x: float) -> bool:
        self._q.append(float(x))
        return len(self._q) == self.n and (max(self._q) - min(self._q)) <= self.tolerance

    def run(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        kept = np.array(self._q, dtype=float)
        joined = np.concatenate([kept, x])
        out = np.zeros(len(x), dtype=bool)
        if len(joined) >= self.n:
            span = window_extreme(joined, self.n, np.maximum) - window_extreme(
                joined, self.n, np.minimum
            )
            ok = span <= self.tolerance
            # window k ends at joined[k + n - 1], i.e. at x[k + n - 1 - len(kept)]
            first = self.n - 1 - len(kept)
            if first >= 0:
                out[first:] = ok
            else:
                out[:] = ok[-first:]
        self._q.extend(x[-self.n :].tolist())
        return out

    @staticmethod
    def centred(x: np.ndarray, n: int, tolerance: float) -> np.ndarray:
        """(len,) bool for a whole array: the window of `n` centred on each sample (ends
        mirrored) spans at most `tolerance`. The offline form of the same test."""
        span = centred_extreme(x, n, np.maximum) - centred_extreme(x, n, np.minimum)
        return span <= tolerance

"""Moving windows: extremes, means and stillness over the last (or the centred) n samples.

`StillWindows`, `TrailingMean`, `TrailingSums` and `TrailingSpan` carry their state: `run` on a whole array and
`step` one sample at a time (or `run` on consecutive blocks) give the same answer. The centred forms
(`centred_mean`, `centred_extreme`, `dilate`) look ahead: they are for whole recordings only.
"""

from __future__ import annotations

import math
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


class TrailingSums:
    """Means of the last `n` values of several channels, with the state carried between calls:
    `run` on arrays (vectorised) and `step` one sample at a time give the same values, to the
    bit, however the samples are split into calls.

    The sums are kept per block of `n` samples (counted from the first sample): the prefix sums
    of the current block and of the one before it. The trailing sum ending at offset r of a
    block is its prefix up to r plus what the previous block holds after r, so a step costs a
    few additions (no O(n) work), and a sum never holds more than 2n values: no drift, however
    long the session (a running sum, or one cumulative sum from the start, would grow
    without bound and lose the small differences the quiet detector looks for)."""

    def __init__(self, n: int, channels: int = 1) -> None:
        self.n = max(1, int(n))
        self.channels = channels
        self.clear()

    def clear(self) -> None:
        self._k = 0  # samples so far
        # per channel: prefix sums of the current block (entries up to k % n are valid) and of
        # the previous, complete block (zeros before there was one)
        self._cur = [[0.0] * self.n for _ in range(self.channels)]
        self._prev = [[0.0] * self.n for _ in range(self.channels)]

    def run(self, x: np.ndarray) -> np.ndarray:
        """(m, channels) or (m,) values in, their trailing means out (fewer at the start)."""
        x = np.asarray(x, dtype=float)
        flat = x.ndim == 1
        x2 = x.reshape(len(x), -1)
        m, n, ch = len(x2), self.n, self.channels
        if m == 0:
            return np.zeros((0,) if flat else (0, ch))
        r0 = self._k % n
        if r0 == 0 and self._k:
            self._cur, self._prev = self._prev, self._cur  # as `step` does at a block's start
        blocks = -(-(r0 + m) // n)
        pref = np.zeros((blocks * n, ch))
        pref[r0 - 1 if r0 else 0 : r0 + m] = np.concatenate([np.array(self._cur)[:, r0 - 1 : r0].T, x2]) if r0 else x2
        pref = np.cumsum(pref.reshape(blocks, n, ch), axis=1)
        if r0:
            pref[0, :r0] = np.array(self._cur)[:, :r0].T  # the block's prefixes so far, as kept
        prev = np.concatenate([np.array(self._prev).T[None], pref[:-1]])
        sums = (pref + (prev[:, n - 1 : n] - prev)).reshape(-1, ch)[r0 : r0 + m]
        count = np.minimum(self._k + np.arange(1, m + 1), n)
        out = sums / count[:, None]
        self._k += m
        self._cur = pref[-1].T.tolist()
        self._prev = prev[-1].T.tolist()
        return out[:, 0] if flat else out

    def step(self, x: float | np.ndarray) -> float | np.ndarray:
        """One sample (a float, or `channels` values): its trailing mean(s), as `run` gives."""
        if self.channels == 1:
            return self.step1(float(np.asarray(x, dtype=float).reshape(-1)[0]))
        return np.array(self.step_values(np.asarray(x, dtype=float).reshape(-1).tolist()))

    def step_values(self, xs: list[float]) -> list[float]:
        """`step` on plain floats (the live session's per-sample path: no numpy overhead)."""
        n, k = self.n, self._k
        r = k % n
        if r == 0 and k:
            self._cur, self._prev = self._prev, self._cur
        count = k + 1 if k < n else n
        self._k = k + 1
        out: list[float] = []
        append, last = out.append, n - 1
        # the two cases apart: no test per channel (this runs for every sample of every window)
        if r:
            before = r - 1
            for cur, prev, x in zip(self._cur, self._prev, xs, strict=True):
                p = cur[before] + x
                cur[r] = p
                append((p + (prev[last] - prev[r])) / count)
        else:
            for cur, prev, x in zip(self._cur, self._prev, xs, strict=True):
                cur[0] = x
                append((x + (prev[last] - prev[0])) / count)
        return out

    def step1(self, x: float) -> float:
        """`step_values` for one channel."""
        n, k = self.n, self._k
        r = k % n
        if r == 0 and k:
            self._cur, self._prev = self._prev, self._cur
        self._k = k + 1
        cur, prev = self._cur[0], self._prev[0]
        p = cur[r - 1] + x if r else x
        cur[r] = p
        return (p + (prev[n - 1] - prev[r])) / (k + 1 if k < n else n)


class TrailingSpan:
    """The span (max - min) of the last `n` values pushed (fewer at the start).

    Each extreme is kept in a monotonic queue: a value older than a newer one at least as
    extreme can never again be the window's extreme and is dropped, so a step costs O(1) on
    average instead of a pass over the window. `step(x)` one value, `run(x)` an array; the state
    carries over between calls. For finite values."""

    def __init__(self, n: int) -> None:
        self.n = max(1, int(n))
        self.clear()

    def clear(self) -> None:
        self._k = 0
        self._hi: deque[tuple[int, float]] = deque()  # (index, value), values decreasing
        self._lo: deque[tuple[int, float]] = deque()  # ...increasing

    def step(self, x: float) -> float:
        k, hi, lo = self._k, self._hi, self._lo
        self._k = k + 1
        while hi and hi[-1][1] <= x:
            hi.pop()
        hi.append((k, x))
        while lo and lo[-1][1] >= x:
            lo.pop()
        lo.append((k, x))
        if hi[0][0] <= k - self.n:
            hi.popleft()
        if lo[0][0] <= k - self.n:
            lo.popleft()
        return hi[0][1] - lo[0][1]

    def run(self, x: np.ndarray) -> np.ndarray:
        return np.array([self.step(v) for v in np.asarray(x, dtype=float).tolist()])


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

    def rescale(self, k: float) -> None:
        """The signal's unit changed by the factor `k`: the kept values follow."""
        self._q = deque((k * v for v in self._q), maxlen=self.n)

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


class LowestMean:
    """The lowest mean of `n` consecutive samples seen so far, counting only windows whose
    samples are all `inside` (a run that is interrupted starts its windows afresh).

    The flattest hips-down pitch is this over the pitch on the roller (`tracker.analysis.
    kinematics.RollerDiameter`): a mean over a breath or so, so breathing does not set it.
    `step(x, inside)` one sample, `run(x, inside)` arrays; both return the lowest so far after
    each sample (NaN until a full window), and the state carries over between calls."""

    def __init__(self, n: int) -> None:
        self.n = max(1, int(n))
        self._mean = TrailingMean(self.n)
        self.lowest = math.inf

    def clear(self) -> None:
        """Forget everything (a new recording)."""
        self._mean.clear()
        self.lowest = math.inf

    def step(self, x: float, inside: bool = True) -> float:
        if not inside or not math.isfinite(x):
            self._mean.clear()
        else:
            m = self._mean.step(x)
            if len(self._mean) == self.n and m < self.lowest:
                self.lowest = m
        return self.lowest if math.isfinite(self.lowest) else math.nan

    def run(self, x: np.ndarray, inside: np.ndarray | None = None) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        ok = np.isfinite(x) if inside is None else (np.asarray(inside, dtype=bool) & np.isfinite(x))
        if not len(x):
            return np.zeros(0)
        carry = list(self._mean._q)  # the open run's last values (its full windows are counted)
        lowest_at = np.full(len(x), np.inf)
        for a, b in _true_runs(ok):
            pre = carry if a == 0 else []
            seg = np.concatenate([pre, x[a:b]])
            if len(seg) < self.n:
                continue
            c = np.concatenate([[0.0], np.cumsum(seg)])
            means = (c[self.n :] - c[: -self.n]) / self.n
            end = a - len(pre) + self.n - 1 + np.arange(len(means))  # each window's last sample
            keep = end >= a
            lowest_at[end[keep]] = means[keep]
        low = np.minimum.accumulate(np.minimum(lowest_at, self.lowest))
        self.lowest = float(low[-1])
        # the open run carries over to the next call
        self._mean.clear()
        if ok[-1]:
            start = len(ok) - int(np.argmin(ok[::-1])) if not ok.all() else 0
            for v in np.concatenate([carry if start == 0 else [], x[start:]])[-self.n :]:
                self._mean.step(float(v))
        return np.where(np.isfinite(low), low, np.nan)


def _true_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist(), strict=True))

"""One point-to-point movement of the roller, fitted to a stretch of the position track.

People roll in more than one way: a reach that speeds up and slows down smoothly (minimum
jerk, close to a raised cosine), steady rolling between short starts and stops (a trapezoid
with a long cruise), a pendulum-like sweep. Where a movement starts and ends cannot be read off
a noisy track directly (breathing moves the track by as much as a slow stroke covers in
seconds), so a movement's start, end and distance come from a least-squares fit of a movement
shape to every sample around it. The shape is not assumed: it is one of a family fitted along
with the timing,

    velocity(u) = ramp up over `ramp` of the time, cruise, ramp down over `ramp`   (u in [0, 1])

with raised-cosine ramps (`ramp` = 0.5 is the raised-cosine movement, smaller is a longer
cruise). A fit that forced one shape on every movement read a long-cruise stroke's duration
20-40 % wrong, or let it collapse. The shapes differ by millimetres over a whole stroke, so a
shape other than the raised cosine is taken only when it explains clearly more than the
track's noise (an F test with the noise counted once per `NOISE_CORRELATION_S` and never below
`NOISE_FLOOR_CM`). `progress` also takes a time warp (`skew`: a slow start and a quick finish,
or the reverse), which the fit does not search: on clean tracks the low-pass and slow pitch
errors bend a symmetric stroke just enough for a warp to fit them, which moved stroke ends by
half a second.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

RAMPS = (0.5, 0.06)
"""The range of ramp fractions: the raised cosine down to a cruise over 88 % of the time."""
COARSE_RAMPS = (0.5, 0.3, 0.12)
"""Ramps of the coarse timing search; the best is then refined by `RAMP_STEP` either way."""
RAMP_STEP = 0.08
MIN_RAMP_STEP = 0.02
SIGNIFICANCE = 9.2
"""A shape other than the raised cosine must explain this many noise variances more (the 99 %
point of a chi-square with its two extra parameters)."""
MERGE_SIGNIFICANCE = 7.8
"""Two movements in one direction must explain this many noise variances more than one (the
95 % point of a chi-square with the second movement's three parameters)."""
NOISE_FLOOR_CM = 0.2
"""The track is not known better than this (cm rms) even where it is smooth: the low-pass and
the pitch's own errors bend a movement's shape by about this much, which no shape should be
chosen to explain."""
NOISE_CORRELATION_S = 2.0
"""Samples of the fitted track this close together carry the same noise (the track is
low-passed, and breathing is a slow wave): the noise variance counts once per this long."""


def progress(u: np.ndarray, ramp: float = 0.5, skew: float = 0.0) -> np.ndarray:
    """Share of the distance covered at normalised time `u` (0 before the movement, 1 after),
    for the shape (`ramp`, `skew`) of the module docstring. Broadcasts over `u`."""
    shape = np.shape(u)
    u = np.minimum(np.maximum(np.asarray(u, dtype=float).reshape(-1), 0.0), 1.0)
    if skew:
        u = u + skew * u * (1.0 - u)
    a = min(max(float(ramp), 1e-3), 0.5)
    total = 1.0 - a
    # the cruise: each raised-cosine ramp of length a covers a/2 of "cruise-speed time"
    out = (u - 0.5 * a) / total
    # the ramps, where they are (most samples lie before or after the movement, at u = 0 or
    # 1, or in its cruise: the sines are taken only where a ramp is)
    k = 1.0 / (2.0 * np.pi)
    head = u < a
    uh = u[head]
    out[head] = (0.5 * uh - a * k * np.sin(np.pi * uh / a)) / total
    tail = u > 1.0 - a
    vt = 1.0 - u[tail]
    out[tail] = (total - (0.5 * vt - a * k * np.sin(np.pi * vt / a))) / total
    return out.reshape(shape)


def progress_rows(u: np.ndarray, ramps: np.ndarray, skews: np.ndarray) -> np.ndarray:
    """`progress` of each row of `u` (k, n) with its own shape (`ramps`, `skews`: (k,)): the
    same values as k calls, in one."""
    u = np.minimum(np.maximum(np.asarray(u, dtype=float), 0.0), 1.0)
    skew = np.asarray(skews, dtype=float)[:, None]
    if np.any(skew):
        u = u + skew * u * (1.0 - u)
    a = np.minimum(np.maximum(np.asarray(ramps, dtype=float), 1e-3), 0.5)[:, None]
    total = 1.0 - a
    out = (u - 0.5 * a) / total
    k = 1.0 / (2.0 * np.pi)
    a_all, total_all = np.broadcast_to(a, u.shape), np.broadcast_to(total, u.shape)
    head = u < a
    uh, ah = u[head], a_all[head]
    out[head] = (0.5 * uh - ah * k * np.sin(np.pi * uh / ah)) / total_all[head]
    tail = u > 1.0 - a
    vt, at, tt = 1.0 - u[tail], a_all[tail], total_all[tail]
    out[tail] = (tt - (0.5 * vt - at * k * np.sin(np.pi * vt / at))) / tt
    return out


@dataclass(frozen=True)
class MovementFit:
    """A fitted movement: times (s), signed distance (cm) and shape."""

    start_s: float
    end_s: float
    distance_cm: float
    ramp: float
    skew: float
    gain: float
    """The sum of squares the movement explains (for comparing fits of the same data)."""


def fit_movement(
    t: np.ndarray,
    y: np.ndarray,
    start: float,
    end: float,
    *,
    min_s: float,
    search: float,
    shapes: bool = True,
) -> MovementFit | None:
    """The movement (plus a constant) that best fits `y` at times `t` (least squares), its start
    and end searched around `start` and `end` (by `search` of the duration, at least 1 s each
    way). None when no candidate explains anything.

    The raised cosine first; then (with `shapes`) the family's symmetric members: the timing on
    a coarse grid for each of `COARSE_RAMPS`, the ramp stepped from there (the timing searched
    around the best for each step), and the timing again on a finer grid. A shape other than
    the raised cosine is taken only when it explains clearly more than noise could
    (`SIGNIFICANCE`): on a noisy track (a breath high on the back moves the position by as much
    as a slow stroke's first second) a free shape would otherwise fit the noise, and the shape
    decides the duration. Those shapes are not searched when not even the best monotone curve
    could pass that test (`_shape_could_pass`; the same result, and most movements)."""
    if len(t) < 2:
        return None
    dur = end - start
    half = max(1.0, search * dur)
    track = _Track(t, y)
    rc = _refined(track, _timing(track, start, end, half, half / 6.0, min_s, (0.5,)), half, min_s)
    if rc is None or not shapes:
        return rc
    # noise per sample from the fuller model's residual (an F test); neighbouring samples of a
    # track low-passed below breathing are not independent (`NOISE_CORRELATION_S`)
    step = _median_step(t)
    correlated = max(1.0, NOISE_CORRELATION_S / step)
    if not _shape_could_pass(track, rc, SIGNIFICANCE * correlated):
        return rc
    # the timing depends on the shape (a long cruise starts later than a raised cosine, whose
    # slow start reaches back): a coarse timing search for each of a few ramps, symmetric
    best = rc
    got = _timing(track, start, end, half, half / 6.0, min_s, COARSE_RAMPS[1:])
    if got is not None and got.gain > best.gain:
        best = got
    # then the ramp between its coarse neighbours (halving the step when neither side is
    # better), with the timing searched again around the best so far for each
    medium = (half / 3.0, half / 12.0)
    step = RAMP_STEP
    for _ in range(8):
        moved = False
        ramps = tuple(r for r in (best.ramp - step, best.ramp + step) if RAMPS[-1] <= r <= RAMPS[0])
        # each ramp's timing is searched around the best so far: both at once around this one,
        # the second searched again only if the first moved it
        found = _timing_each(track, best.start_s, best.end_s, *medium, min_s, ramps)
        for j, got in enumerate(found):
            if j and moved:
                got = _timing(track, best.start_s, best.end_s, *medium, min_s, ramps[j:j + 1])
            if got is not None and got.gain > best.gain:
                best, moved = got, True
        if not moved:
            step /= 2.0
            if step < MIN_RAMP_STEP:
                break
    flexible = _refined(track, best, half, min_s) if best is not rc else rc
    assert flexible is not None
    per_sample = max(track.total - flexible.gain, 0.0) / max(len(t), 1)
    per_sample = max(per_sample, NOISE_FLOOR_CM**2)
    if flexible.gain - rc.gain > SIGNIFICANCE * per_sample * correlated:
        return flexible
    return rc


def _shape_could_pass(track: _Track, rc: MovementFit, noise_units: float) -> bool:
    """Whether any shape of the family could pass `fit_movement`'s F test against the raised
    cosine `rc` (False: searching them cannot change the result). Every shape, at any
    timing, is a monotone curve; the best monotone fit of all (isotonic regression, either
    direction) leaves at most what any shape leaves, so a shape explains at most what that fit
    does beyond the raised cosine, and the test's noise is at least that fit's residual.
    A small margin keeps rounding on the side of searching."""
    left = track.total - rc.gain  # what the raised cosine leaves unexplained
    margin = 1e-6 * track.total
    n = len(track.yc)

    def could(residual: float) -> bool:
        noise = noise_units * max(residual / n, NOISE_FLOOR_CM**2)
        return left - residual + margin > noise

    if not could(0.0):
        return False
    along = track.yc if rc.distance_cm >= 0 else -track.yc  # the likelier direction first
    return could(_monotone_residual(along)) or could(_monotone_residual(-along))


def _monotone_residual(y: np.ndarray) -> float:
    """Residual sum of squares of the best non-decreasing least-squares fit to `y` (pool
    adjacent violators: each block is fitted by its mean)."""
    sums: list[float] = []
    counts: list[int] = []
    for v in y.tolist():
        s, c = v, 1
        while sums and sums[-1] * c > s * counts[-1]:  # the block before has the higher mean
            s += sums.pop()
            c += counts.pop()
        sums.append(s)
        counts.append(c)
    return max(float(y @ y) - sum(s * s / c for s, c in zip(sums, counts, strict=True)), 0.0)


def one_movement(
    t: np.ndarray,
    y: np.ndarray,
    first: tuple[float, float, float],
    second: tuple[float, float, float],
    *,
    min_s: float,
    search: float,
    refit: bool = False,
) -> MovementFit | None:
    """The single movement that explains the track `y` at `t` about as well as two neighbouring
    movements in one direction do (`first`, `second`: start, end and ramp of each), or None
    when the two explain clearly more (`MERGE_SIGNIFICANCE` noise variances, the noise as in
    `fit_movement`). A slow stroke's speed dips with each breath high on the back, and a dip
    looks like a stop between two strokes. `refit`: the two are rough guesses (fit each on its
    side of the boundary first)."""
    if len(t) < 8:
        return None
    if refit:
        # rough times (a live piece's): each fitted on its side of the boundary first, so the
        # two are judged at their best
        mid = 0.5 * (first[1] + second[0])
        for side, (a, b, _r) in ((t <= mid, first), (t > mid, second)):
            got = fit_movement(t[side], y[side], a, b, min_s=min_s, search=search) if side.sum() >= 8 else None
            if got is not None:
                if side[0]:
                    first = (got.start_s, got.end_s, got.ramp)
                else:
                    second = (got.start_s, got.end_s, got.ramp)
    cols = [progress((t - a) / max(b - a, 1e-9), r) for a, b, r in (first, second)]
    two = np.column_stack([*cols, np.ones(len(t))])
    coef, *_ = np.linalg.lstsq(two, y, rcond=None)
    ss_two = float(np.sum((y - two @ coef) ** 2))
    one = fit_movement(t, y, first[0], second[1], min_s=min_s, search=search)
    if one is None:
        return None
    yc = y - y.mean()
    ss_one = float(yc @ yc) - one.gain
    step = _median_step(t)
    noise = max(ss_two / len(t), NOISE_FLOOR_CM**2) * max(1.0, NOISE_CORRELATION_S / step)
    return one if ss_one - ss_two < MERGE_SIGNIFICANCE * noise else None


def _median_step(t: np.ndarray) -> float:
    """The median time between samples (1 s for fewer than two samples): `np.median` of the
    differences, by a sort (the same value; `np.median` costs more on a few dozen samples)."""
    d = np.diff(t)
    if len(d) == 0:
        return 1.0
    d.sort()
    mid = len(d) // 2
    return float(d[mid]) if len(d) % 2 else float((d[mid - 1] + d[mid]) / 2.0)


def _refined(track: _Track, fit: MovementFit | None, half: float, min_s: float) -> MovementFit | None:
    """`fit` with its timing searched again on a finer grid around it."""
    if fit is None:
        return None
    fine = _timing(track, fit.start_s, fit.end_s, half / 6.0, half / 24.0, min_s, (fit.ramp,))
    return fine if fine is not None and fine.gain >= fit.gain else fit


class _Track:
    """The samples a movement is fitted to, centred, with what every timing search reuses."""

    def __init__(self, t: np.ndarray, y: np.ndarray) -> None:
        self.t = np.ascontiguousarray(t, dtype=float)
        y = np.asarray(y, dtype=float)
        self.yc = y - float(y.sum()) / len(y)
        self.mean = float(self.yc.sum()) / len(y)  # zero but for rounding
        self.total = float(self.yc @ self.yc)
        n = len(self.t)
        # sums over the samples from index i on (a candidate is 1 at and after its end)
        self.after = np.concatenate([np.cumsum(self.yc[::-1])[::-1], [0.0]])
        # rows of n consecutive samples from any index 0..n (padded to 2n: the padding is
        # masked off), as read-only views
        self.t_rows = _rows(np.concatenate([self.t, np.full(n, self.t[-1])]), n)
        self.y_rows = _rows(np.concatenate([self.yc, np.zeros(n)]), n)


def _rows(x: np.ndarray, n: int) -> np.ndarray:
    """(n + 1, n) view of the 2n-long `x`: row i is x[i : i + n]."""
    (stride,) = x.strides
    rows = np.ndarray((n + 1, n), dtype=x.dtype, buffer=x, strides=(stride, stride))
    rows.flags.writeable = False
    return rows


def _sin(x: np.ndarray) -> np.ndarray:
    """sin(x) for the timing search, in single precision (numpy vectorises it; double precision
    is an order of magnitude slower): good to about 1e-7, which moves a candidate's shape by
    under 1e-7 of its distance."""
    return np.sin(x.astype(np.float32)).astype(np.float64)


def _inside(u: np.ndarray, ramp: float) -> np.ndarray:
    """`progress(u, ramp)` for `u` in [0, 1] (no skew), for the timing search: the same curve
    without the clipping and masks `progress` needs for any `u`, its sines as `_sin`.

    The raised cosine is one sine. A shorter ramp is the cruise's line plus each ramp's
    difference from it, which is nonzero only within `ramp` of the nearer end (`v`): one
    sine for both ramps, signed by which end is nearer."""
    a = min(max(float(ramp), 1e-3), 0.5)
    if a == 0.5:
        return u - _sin((2.0 * np.pi) * u) * (1.0 / (2.0 * np.pi))
    w = np.minimum(np.minimum(u, 1.0 - u), a)
    bend = 0.5 * (a - w) - (a / (2.0 * np.pi)) * _sin((np.pi / a) * w)  # >= 0
    return (u - 0.5 * a + np.copysign(bend, 0.5 - u)) * (1.0 / (1.0 - a))


def _timing(
    track: _Track,
    start: float,
    end: float,
    span: float,
    step: float,
    min_s: float,
    ramps: tuple[float, ...],
) -> MovementFit | None:
    """The best movement with its start and end on the grid `start`, `end` ± `span` in steps of
    `step` (every pair at least `min_s` apart), of all the shapes `ramps` (the first on a tie).
    None when no candidate explains anything."""
    best: MovementFit | None = None
    for got in _timing_each(track, start, end, span, step, min_s, ramps):
        if got is not None and (best is None or got.gain > best.gain):
            best = got
    return best


@lru_cache(maxsize=16)
def _pairs(k: int) -> tuple[np.ndarray, np.ndarray]:
    """(row, column) of every cell of a k x k grid, row by row (read-only)."""
    rows, cols = np.repeat(np.arange(k), k), np.tile(np.arange(k), k)
    rows.flags.writeable = cols.flags.writeable = False
    return rows, cols


def _timing_each(
    track: _Track,
    start: float,
    end: float,
    span: float,
    step: float,
    min_s: float,
    ramps: tuple[float, ...],
) -> list[MovementFit | None]:
    """`_timing` for each of the shapes `ramps` on its own (one search of the grid).

    A candidate is 0 before its start and 1 from its end on, so only the samples inside it are
    evaluated; those after its end enter through the track's sums from there."""
    offs = np.arange(-span, span + 1e-9, step)
    rows, cols = _pairs(len(offs))
    ss = (start + offs)[rows]  # every (start, end) pair of the grid
    ee = (end + offs)[cols]
    if end - start - 2.0 * span < min_s + 1e-9:  # some pairs may be too short
        keep = ee - ss >= min_s
        if not keep.any() or not ramps:
            return [None] * len(ramps)
        ss, ee = ss[keep], ee[keep]
    elif not ramps:
        return []
    t, n = track.t, len(track.t)
    i0 = np.searchsorted(t, ss, side="right")  # the first sample after the start (u > 0)
    i1 = np.searchsorted(t, ee, side="left")  # the first sample at or after the end (u >= 1)
    inside = i1 - i0
    width = max(int(inside.max()), 1)
    outside = np.arange(width) >= inside[:, None]
    u = (track.t_rows[i0, :width] - ss[:, None]) / (ee - ss)[:, None]
    y_in = track.y_rows[i0, :width]
    after_n = (n - i1).astype(float)
    after_y = track.after[i1]
    out: list[MovementFit | None] = []
    for r in ramps:
        g = _inside(u, r)
        g[outside] = 0.0
        s1 = g.sum(axis=1) + after_n
        cov = np.einsum("ij,ij->i", g, y_in) + after_y - s1 * track.mean
        var = np.einsum("ij,ij->i", g, g) + after_n - s1 * s1 / n
        gain = np.where(var > 1e-9, cov * cov / np.maximum(var, 1e-12), -np.inf)
        k = int(np.argmax(gain))
        if not np.isfinite(gain[k]):
            out.append(None)
            continue
        out.append(MovementFit(float(ss[k]), float(ee[k]), float(cov[k] / var[k]), r, 0.0, float(gain[k])))
    return out

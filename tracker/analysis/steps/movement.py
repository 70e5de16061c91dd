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
    u = np.clip(np.atleast_1d(np.asarray(u, dtype=float)), 0.0, 1.0)
    if skew:
        u = u + skew * u * (1.0 - u)
    a = float(np.clip(ramp, 1e-3, 0.5))
    total = 1.0 - a
    # the cruise: each raised-cosine ramp of length a covers a/2 of "cruise-speed time"
    out = (u - 0.5 * a) / total
    # the ramps, where they are (most candidates' samples lie before or after the movement,
    # at u = 0 or 1, or in its cruise: the sines are taken only where a ramp is)
    k = 1.0 / (2.0 * np.pi)
    head = u < a
    uh = u[head]
    out[head] = (0.5 * uh - a * k * np.sin(np.pi * uh / a)) / total
    tail = u > 1.0 - a
    vt = 1.0 - u[tail]
    out[tail] = (total - (0.5 * vt - a * k * np.sin(np.pi * vt / a))) / total
    return out.reshape(shape)


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
    around the best for each step), and the timing again on a finer grid. A shape other than the raised cosine is taken only when
    it explains clearly more than noise could (`SIGNIFICANCE`): on a noisy track (a breath high
    on the back moves the position by as much as a slow stroke's first second) a free shape
    would otherwise fit the noise, and the shape decides the duration."""
    dur = end - start
    half = max(1.0, search * dur)
    yc = y - y.mean()
    rc = _refined(t, yc, _timing(t, yc, start, end, half, half / 6.0, min_s, 0.5, 0.0), half, min_s)
    if rc is None or not shapes:
        return rc
    best = rc
    # the timing depends on the shape (a long cruise starts later than a raised cosine, whose
    # slow start reaches back): a coarse timing search for each of a few ramps, symmetric
    for r in COARSE_RAMPS[1:]:
        got = _timing(t, yc, start, end, half, half / 6.0, min_s, r, 0.0)
        if got is not None and got.gain > best.gain:
            best = got
    # then the ramp between its coarse neighbours (halving the step when neither side is
    # better), with the timing searched again around the best so far for each
    medium = (half / 3.0, half / 12.0)
    step = RAMP_STEP
    for _ in range(8):
        moved = False
        for r in (best.ramp - step, best.ramp + step):
            if RAMPS[-1] <= r <= RAMPS[0]:
                got = _timing(t, yc, best.start_s, best.end_s, *medium, min_s, r, 0.0)
                if got is not None and got.gain > best.gain:
                    best, moved = got, True
        if not moved:
            step /= 2.0
            if step < MIN_RAMP_STEP:
                break
    flexible = _refined(t, yc, best, half, min_s) if best is not rc else rc
    assert flexible is not None
    # noise per sample from the fuller model's residual (an F test); neighbouring samples of a
    # track low-passed below breathing are not independent (`NOISE_CORRELATION_S`)
    step = float(np.median(np.diff(t))) if len(t) > 1 else 1.0
    per_sample = max(float(yc @ yc) - flexible.gain, 0.0) / max(len(t), 1)
    per_sample = max(per_sample, NOISE_FLOOR_CM**2)
    correlated = max(1.0, NOISE_CORRELATION_S / step)
    if flexible.gain - rc.gain > SIGNIFICANCE * per_sample * correlated:
        return flexible
    return rc


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
    step = float(np.median(np.diff(t)))
    noise = max(ss_two / len(t), NOISE_FLOOR_CM**2) * max(1.0, NOISE_CORRELATION_S / step)
    return one if ss_one - ss_two < MERGE_SIGNIFICANCE * noise else None


def _refined(
    t: np.ndarray, yc: np.ndarray, fit: MovementFit | None, half: float, min_s: float
) -> MovementFit | None:
    """`fit` with its timing searched again on a finer grid around it."""
    if fit is None:
        return None
    fine = _timing(
        t, yc, fit.start_s, fit.end_s, half / 6.0, half / 24.0, min_s, fit.ramp, fit.skew
    )
    return fine if fine is not None and fine.gain >= fit.gain else fit


def _gains(g: np.ndarray, yc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(explained sum of squares, distance) of each row of candidate shapes `g` against `yc`."""
    gc = g - g.mean(axis=1, keepdims=True)
    cov = gc @ yc
    var = np.einsum("ij,ij->i", gc, gc)
    ok = var > 1e-9
    gain = np.where(ok, cov * cov / np.maximum(var, 1e-12), -np.inf)
    return gain, np.where(ok, cov / np.maximum(var, 1e-12), 0.0)


def _timing(
    t: np.ndarray,
    yc: np.ndarray,
    start: float,
    end: float,
    span: float,
    step: float,
    min_s: float,
    ramp: float,
    skew: float,
) -> MovementFit | None:
    offs = np.arange(-span, span + 1e-9, step)
    ss = np.repeat(start + offs, len(offs))  # every (start, end) pair of the grid
    ee = np.tile(end + offs, len(offs))
    keep = ee - ss >= min_s
    if not keep.any():
        return None
    ss, ee = ss[keep], ee[keep]
    u = (t[None, :] - ss[:, None]) / (ee - ss)[:, None]
    gain, dist = _gains(progress(u, ramp, skew), yc)
    k = int(np.argmax(gain))
    if not np.isfinite(gain[k]):
        return None
    return MovementFit(float(ss[k]), float(ee[k]), float(dist[k]), ramp, skew, float(gain[k]))


def _shape(
    t: np.ndarray, yc: np.ndarray, start: float, end: float, shapes: list[tuple[float, float]]
) -> MovementFit | None:
    u = (t - start) / max(end - start, 1e-9)
    g = np.vstack([progress(u, r, k) for r, k in shapes])
    gain, dist = _gains(g, yc)
    k = int(np.argmax(gain))
    if not np.isfinite(gain[k]):
        return None
    r, w = shapes[k]
    return MovementFit(start, end, float(dist[k]), r, w, float(gain[k]))

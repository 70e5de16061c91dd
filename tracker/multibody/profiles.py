"""How a stroke moves: normalised progress curves p(u), u and p both in [0, 1].

A stroke's contact runs s(t) = s0 + (s1 - s0) p(u) with u = (t - t0) / duration. The shapes are
the ones people use (issue 8): minimum-jerk (a reach), a trapezoid with a long cruise (steady
rolling with jerk-limited starts and stops), a sine (a pendulum-like back and forth whose turns
never stop) and, through a time warp applied first, skewed (slow start, quick finish or the
reverse) and irregular (the speed wobbling along the way) versions of each. The warp keeps
p monotonic, so a stroke is always one movement in one direction.

Only positions are evaluated here: model 2 differentiates sampled positions numerically.
"""

from __future__ import annotations

import numpy as np

MIN_JERK, TRAPEZOID, SINE = 0, 1, 2
SHAPES = {"min_jerk": MIN_JERK, "trapezoid": TRAPEZOID, "sine": SINE}


def min_jerk(u: np.ndarray) -> np.ndarray:
    """10u^3 - 15u^4 + 6u^5: zero velocity and acceleration at both ends."""
    u = np.clip(u, 0.0, 1.0)
    return u * u * u * (10.0 + u * (-15.0 + 6.0 * u))


def _ramp_area(x: np.ndarray) -> np.ndarray:
    """Integral of the min-jerk smoothstep from 0 to x (R(1) = 1/2)."""
    x2 = x * x
    return x2 * x2 * (2.5 + x * (-3.0 + x))


def trapezoid(u: np.ndarray, ramp: np.ndarray | float) -> np.ndarray:
    """Cruise at constant speed between smooth (min-jerk velocity) ramps of `ramp` of the time
    each (0 < ramp <= 0.5)."""
    u = np.clip(u, 0.0, 1.0)
    a = np.broadcast_to(np.asarray(ramp, dtype=float), u.shape)
    head = a * _ramp_area(np.clip(u / a, 0.0, 1.0))
    tail = 1.0 - a - a * _ramp_area(np.clip((1.0 - u) / a, 0.0, 1.0))
    mid = 0.5 * a + (u - a)
    out = np.where(u < a, head, np.where(u > 1.0 - a, tail, mid))
    return out / (1.0 - a)


def sine(u: np.ndarray) -> np.ndarray:
    """(1 - cos(pi u)) / 2: zero speed at the ends but not zero acceleration (a pendulum)."""
    return 0.5 * (1.0 - np.cos(np.pi * np.clip(u, 0.0, 1.0)))


def warp(u: np.ndarray, skew: np.ndarray | float, wobble: np.ndarray) -> np.ndarray:
    """Monotonic time warp w(u) = u + skew u (1 - u) + sum_k c_k sin(k pi u) / (k pi), k = 2..

    w(0) = 0, w(1) = 1 and w' = 1 + skew (1 - 2u) + sum_k c_k cos(k pi u) > 0 as long as
    |skew| + sum |c_k| < 1. `wobble` is (N, K) (or (K,)) coefficients c_k for k = 2..K+1."""
    u = np.clip(u, 0.0, 1.0)
    out = u + np.asarray(skew) * u * (1.0 - u)
    c = np.atleast_2d(wobble)
    for j in range(c.shape[-1]):
        k = j + 2
        out = out + c[..., j] * np.sin(k * np.pi * u) / (k * np.pi)
    return out


def progress(
    u: np.ndarray, shape: np.ndarray, ramp: np.ndarray, skew: np.ndarray, wobble: np.ndarray
) -> np.ndarray:
    """Progress of strokes with per-sample `shape` (MIN_JERK, TRAPEZOID, SINE), trapezoid
    `ramp`, `skew` and (N, K) `wobble` (see `warp`)."""
    w = warp(u, skew, wobble)
    return np.where(
        shape == TRAPEZOID, trapezoid(w, np.maximum(ramp, 1e-3)),
        np.where(shape == SINE, sine(w), min_jerk(w)),
    )  # fmt: skip

"""Point-to-point movements in an acceleration signal, whatever their speed profile.

A movement from rest to rest in one direction, over a window [0, T] that holds it: the velocity
is zero at both ends, so the acceleration over the window is a cosine series

    a(t) = sum_{k >= 1} A_k cos(k pi t / T),    v(t) = sum_k A_k T / (k pi) sin(k pi t / T)

(every such velocity vanishes at both ends; a constant, k = 0, is not a movement but the bias of
the gravity removal). The first `n_terms` terms describe the smooth profiles people use (a
reach's minimum jerk, a long steady cruise between short speed-ups and slow-downs, a
pendulum's sine that turns without stopping, a slow start and quick finish, a wobbling speed):
no profile is assumed, only rest at both ends. And one direction: the velocity they describe
keeps one sign and never stops in between (`one_way`), so a window across a turn, or across
the stop between two strokes the same way, is not one movement.

**Distance, exactly.** With the velocity zero at both ends, the travel over the window is

    D = integral_0^T (T / 2 - t) a(t) dt

for any profile (`ramp_distance`); the weight has zero mean, so a constant bias drops out. The
cosine terms give the same sum truncated (`distance`: D = sum_{k odd} 2 A_k T^2 / (k pi)^2, which
misses a few % of a sharp-cornered trapezoid), good enough to test a candidate window;
the reported distance is the exact one.

**What noise does to it** (`distance_sd`): white noise of density s (m/s² per sqrt(Hz))
gives D a standard deviation of s sqrt(T^3 / 12); the gravity removal's error that walks with
the gyro's angle random walk N (rad per sqrt(s)), g N sqrt(t), gives g N sqrt(T^5 / 120). The
second grows fastest with T: a slow, long stroke's distance is uncertain by as much as a
quarter of itself with a consumer gyro, which no estimator removes (it is in the data).

Stateless: the offline segmentation (`tracker.analysis.bridge`) and the live fast-move detector
(`tracker.live.fast_moves`) call the same functions.
"""

from __future__ import annotations

import numpy as np

from tracker.imu import STANDARD_GRAVITY_M_S2


def velocity_profile(u: np.ndarray, ramp: float | None, skew: float) -> np.ndarray:
    """A normalised speed profile over u in [0, 1]: flat-topped with raised-cosine speed-ups and
    slow-downs over `ramp` of the time each (0.5: a bell, no cruise), or with `ramp` None a
    half sine (a pendulum's stroke, which turns without stopping); `skew` warps the time
    (w = u + skew u (1 - u): a slow start and quick finish for skew < 0, the reverse for > 0).
    Unit distance over unit time."""
    w = u + skew * u * (1.0 - u)
    dw = 1.0 + skew * (1.0 - 2.0 * u)
    if ramp is None:
        v = np.sin(np.pi * np.clip(w, 0.0, 1.0))
    else:
        rise = 0.5 - 0.5 * np.cos(np.pi * np.clip(w / ramp, 0.0, 1.0))
        fall = 0.5 - 0.5 * np.cos(np.pi * np.clip((1.0 - w) / ramp, 0.0, 1.0))
        v = np.minimum(rise, fall)
    v = v * dw
    return v / np.mean(v)


class MoveModel:
    """Movements as a family of speed profiles, each seen through `n_terms` cosine terms.

    Detection and timing need a shape to match (the terms alone cannot tell where a smooth
    movement's slow start begins: a wider window fits it as well); the distance does not
    (`ramp_distance`). So a window is scored by the best of a family of profiles spanning what
    people do (`velocity_profile`): a bell, flat tops with speed-ups of `ramps` of the time, a
    half sine (`pendulum`), each skewed by `skews`. Each profile enters through its first
    `n_terms` cosine coefficients, so the fit of every window of every length costs two running
    sums per term, whatever the family's size.

    Parameters
    ----------
    n_terms
        Cosine terms k = 1..n_terms.
    ramps, skews, pendulum
        The family (see above).
    """

    def __init__(
        self,
        n_terms: int = 8,
        ramps: tuple[float, ...] = (0.5, 0.3, 0.18, 0.1),
        skews: tuple[float, ...] = (-0.5, 0.0, 0.5),
        pendulum: bool = True,
    ) -> None:
        self.n_terms = int(n_terms)
        k = np.arange(1, self.n_terms + 1, dtype=float)
        self._k = k
        # body distance per unit of A_k T^2: 2 / (k pi)^2 for odd k
        self._dist = np.where(k % 2 == 1, 2.0 / (np.pi * k) ** 2, 0.0)  # (K,)
        m = 4000
        u = (np.arange(m) + 0.5) / m
        shapes: list[tuple[float | None, float]] = [(r, s) for r in ramps for s in skews]
        if pendulum:
            shapes += [(None, s) for s in skews]
        rows = []
        for ramp, skew in shapes:
            acc = np.gradient(velocity_profile(u, ramp, skew), 1.0 / m)
            rows.append([2.0 * np.mean(acc * np.cos(np.pi * kk * u)) for kk in k])
        self.shapes = shapes
        self.templates = np.array(rows)  # (F, K): A_k of a unit-distance movement over T = 1

    # --- coefficients ----------------------------------------------------------------------------
    def sliding(self, x: np.ndarray, length: int) -> tuple[np.ndarray, np.ndarray]:
        """Coefficients of every window of `length` samples of the uniformly sampled `x`, by
        the index j of its end (the window is x[j - length : j]): (A (K, n + 1), sum of x
        over the window (n + 1,)); windows with j < length are zeros."""
        n = len(x)
        L = int(length)
        c1 = np.concatenate([[0.0], np.cumsum(x)])
        jj = np.arange(n + 1)
        i = np.maximum(jj - L, 0)
        ok = jj >= L
        idx = np.arange(n, dtype=float) + 0.5
        out = np.zeros((self.n_terms, n + 1))
        for r, k in enumerate(self._k):
            ph = np.pi * k * idx / L
            cs = np.concatenate([[0.0], np.cumsum(x * np.cos(ph))])
            sn = np.concatenate([[0.0], np.cumsum(x * np.sin(ph))])
            b = np.pi * k * i / L
            # cos(k pi (m - i + 0.5) / L) = cos(ph_m) cos(b) + sin(ph_m) sin(b)
            out[r] = np.where(ok, (2.0 / L) * ((cs - cs[i]) * np.cos(b) + (sn - sn[i]) * np.sin(b)), 0.0)
        s1 = np.where(ok, c1 - c1[i], 0.0)
        return out, s1

    def windows(self, x: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Coefficients of the windows x[starts[w] : ends[w]]: (A (K, W), sums (W,))."""
        starts = np.asarray(starts, dtype=int)
        ends = np.asarray(ends, dtype=int)
        lens = (ends - starts).astype(float)
        lo, hi = int(starts.min()), int(ends.max())
        m = np.arange(lo, hi)
        u = (m[None, :] - starts[:, None] + 0.5) / lens[:, None]
        inside = (u > 0.0) & (u < 1.0)
        seg = x[lo:hi]
        A = np.empty((self.n_terms, len(starts)))
        for r, k in enumerate(self._k):
            A[r] = (np.where(inside, np.cos(np.pi * k * u), 0.0) @ seg) * (2.0 / lens)
        return A, inside.astype(float) @ seg

    # --- what they say ---------------------------------------------------------------------------
    def usable_terms(self, length: int, dt_s: float, band_hz: float) -> int:
        """How many terms a window of `length` samples can use: below the signal's band
        (term k is at k / 2T Hz; above `band_hz` there is only noise) and below the window's
        own sampling (k < length: beyond it the terms alias onto the lower ones and their
        energies count twice)."""
        return int(max(1, min(self.n_terms, length - 1, int(2.0 * length * dt_s * band_hz) + 1)))

    def fit(
        self, A: np.ndarray, duration_s: float, var_k: np.ndarray, terms: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The best profile of the family for windows of `duration_s` with coefficients A (K, W)
        (only the first `terms`, see `usable_terms`), weighing each term by its variance on still
        time `var_k` (K,) (generalised least squares): (gain (W,): how far the fit stands above
        the noise, a chi-square of one degree of freedom on still time; body distance (W,), in m
        when A is in m/s², signed like the acceleration)."""
        m = self.n_terms if terms is None else int(terms)
        v = np.asarray(var_k, dtype=float)[:m]
        c = self.templates[:, :m]
        A = A[:m]
        num = (c / v) @ A  # (F, W)
        den = np.sum(c * c / v, axis=1)  # (F,)
        gains = num * num / den[:, None]
        best = np.argmax(gains, axis=0)
        cols = np.arange(A.shape[1])
        amplitude = num[best, cols] / den[best]  # D / T^2
        return gains[best, cols], amplitude * duration_s**2

    def explained(
        self, A: np.ndarray, lengths: np.ndarray, terms: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The least-squares fit of the best profile in windows of `lengths` samples (white
        noise; the first `terms` terms), for timing: (energy explained (W,), the fit's
        amplitude D / T² (W,), signed)."""
        m = self.n_terms if terms is None else int(terms)
        c = self.templates[:, :m]
        num = c @ A[:m]
        den = np.sum(c * c, axis=1)
        best = np.argmax(num * num / den[:, None], axis=0)
        cols = np.arange(A.shape[1])
        amp = num[best, cols] / den[best]
        return amp * num[best, cols] * lengths / 2.0, amp


def one_way(A: np.ndarray, terms: int, points: int = 24) -> np.ndarray:
    """How far the velocity that the first `terms` cosine coefficients A (K, W) describe turns
    back: the largest velocity against the direction of travel over the largest with it
    (W,), 0 for a movement one way, about 1 for two movements there and back in one window (a
    window across a turn). The direction of travel is the sign of the travel (the odd terms).
    Velocities in units of A T (the window's length drops out of the ratio)."""
    m = int(terms)
    k = np.arange(1, m + 1, dtype=float)
    u = (np.arange(points) + 0.5) / points
    basis = np.sin(np.pi * np.outer(u, k)) / (np.pi * k)  # (P, K): v(u) / T per unit A_k
    v = basis @ A[:m]  # (P, W)
    travel = np.where(k % 2 == 1, 2.0 / (np.pi * k) ** 2, 0.0) @ A[:m]
    sign = np.where(travel >= 0.0, 1.0, -1.0)
    forward = np.max(v * sign, axis=0)
    back = np.max(-v * sign, axis=0)
    return np.maximum(back, 0.0) / np.maximum(forward, 1e-12)


def ramp_distance(a: np.ndarray, dt_s: float) -> float:
    """The travel over a window that starts and ends at rest, from its acceleration samples
    (any profile; a constant bias drops out): sum (T / 2 - t_m) a_m dt, t_m at sample centres."""
    n = len(a)
    if n == 0:
        return 0.0
    t = (np.arange(n) + 0.5) * dt_s
    w = 0.5 * n * dt_s - t
    return float(np.dot(w, np.asarray(a, dtype=float) - np.mean(a)) * dt_s)


def distance_sd(duration_s: np.ndarray | float, white_density: float, arw_rad_rt_s: float) -> np.ndarray:
    """Standard deviation of `ramp_distance` over a window of `duration_s` (m): white noise of
    `white_density` m/s² per sqrt(Hz), and the gravity removal walking with the gyro's angle
    random walk `arw_rad_rt_s` (module docstring)."""
    T = np.asarray(duration_s, dtype=float)
    g = STANDARD_GRAVITY_M_S2
    return np.sqrt(white_density**2 * T**3 / 12.0 + (g * arw_rad_rt_s) ** 2 * T**5 / 120.0)

"""The gyro-free orientation stage: "up" from the accelerometer alone (Polar H10, some phones).

An accelerometer measures specific force: gravity plus the body's own acceleration. At rest
its direction is "up"; while moving, the acceleration tilts it. Without a gyroscope nothing
tells the two apart at the same frequency, so the stage assumes what rolling allows: the torso's
own acceleration is small against gravity (a slow stroke moves it by a few hundredths of a
m/s², which tilts the estimate by a tenth of a degree; hips down a stroke turns the torso by
degrees) and short-lived (it averages out over a stroke). So:

* **up** is the accelerometer's direction after a critically damped low-pass (two one-pole
  stages at `cutoff_hz`): the heartbeat's chest-wall knock, strap bounce and noise go, the
  tilt of a stroke (a few tenths of a hertz) stays. Only its direction is kept.
* **the rotation rate** it reports is the rotation its up estimate shows, (du/dt) x u: the part
  of the torso's turning about the horizontal axes (pitching, rocking). The turning about the
  vertical is unobservable without a gyroscope and reads zero; that is not a gyroscope, and
  `has_gyro` on the recording says so to every stage that needs the real one.
* **rest** is stillness of the raw acceleration: its variance over the trailing
  `still_window_s` (all three axes) at most `still_tol_m_s2` squared.
* the bias estimate is NaN: there is no gyroscope to have one.

`run` on a whole stretch, `run` on consecutive blocks and `step_one` sample by sample give the
same output (tests/analysis/test_steps_primitives.py); the live analysis runs the same object.
What the accelerometer cannot tell (the sensor's tilt on the chest within the sagittal plane,
how much of a bridge's acceleration is tilt) is the body-axes and bridge steps' business; see
BENCHMARKS.md for what it costs.
"""

from __future__ import annotations

import math

import numpy as np

from tracker.analysis.steps.iir import first_order_recursion
from tracker.analysis.steps.orientation import OrientationBlock


class OnePoleCascade:
    """`order` one-pole low-passes in series at `cutoff_hz` (critically damped), per channel,
    with state: y[n] = (1 - a) x[n] + a y[n - 1] for each stage, a = exp(-2 pi f_c / rate).

    `run(x)` on (n, k) arrays (consecutive blocks give what one call gives); the first sample
    seen sets the steady state (no start-up transient). Low-frequency group delay:
    `order / (2 pi f_c)` s."""

    def __init__(self, cutoff_hz: float, rate_hz: float, order: int = 2) -> None:
        self.cutoff_hz = float(cutoff_hz)
        self.rate_hz = float(rate_hz)
        self.order = int(order)
        self.a = math.exp(-2.0 * math.pi * self.cutoff_hz / self.rate_hz)
        self._state: np.ndarray | None = None  # (order, k): each stage's last output

    @property
    def delay_s(self) -> float:
        return self.order / (2.0 * math.pi * self.cutoff_hz)

    def reset(self) -> None:
        self._state = None

    def run(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        if len(x) == 0:
            return x.copy()
        two_d = x.ndim == 2
        y = x if two_d else x[:, None]
        if self._state is None:
            self._state = np.repeat(y[:1], self.order, axis=0)
        a = self.a
        powers = a ** np.arange(1, len(y) + 1)[:, None]
        for k in range(self.order):
            # the recursion from rest, plus the decay of the last output
            y = first_order_recursion((1.0 - a) * y, a) + powers * self._state[k][None, :]
            self._state[k] = y[-1]
        return y if two_d else y[:, 0]

    step = run


class AccelStillness:
    """The acceleration's variance (summed over the axes) over the trailing `n` samples is at
    most `tolerance_m_s2` squared: the sensor is still. False until a window is full; `run` on
    consecutive blocks gives what one call gives."""

    def __init__(self, n: int, tolerance_m_s2: float) -> None:
        self.n = max(2, int(n))
        self.tolerance_m_s2 = float(tolerance_m_s2)
        self._tail = np.zeros((0, 3))

    def clear(self) -> None:
        self._tail = np.zeros((0, 3))

    def run(self, acc_m_s2: np.ndarray) -> np.ndarray:
        acc = np.asarray(acc_m_s2, dtype=float).reshape(-1, 3)
        kept = len(self._tail)
        joined = np.concatenate([self._tail, acc])
        out = np.zeros(len(acc), dtype=bool)
        if len(joined) >= self.n:
            # centre on the window's first sample: the sums stay small (no cancellation)
            centred = joined - joined[:1]
            c1 = np.concatenate([np.zeros((1, 3)), np.cumsum(centred, axis=0)])
            c2 = np.concatenate([np.zeros((1, 3)), np.cumsum(centred * centred, axis=0)])
            s1 = c1[self.n :] - c1[: -self.n]
            s2 = c2[self.n :] - c2[: -self.n]
            var = (s2 / self.n - (s1 / self.n) ** 2).sum(axis=1)
            ok = var <= self.tolerance_m_s2**2
            # window k ends at joined[k + n - 1], i.e. at acc[k + n - 1 - kept]
            first = self.n - 1 - kept
            if first >= 0:
                out[first:] = ok
            else:
                out[:] = ok[-first:]
        self._tail = joined[-(self.n - 1) :].copy()
        return out

    step = run


class TiltOrientation:
    """Up from the low-passed accelerometer; see the module docstring.

    Parameters
    ----------
    rate_hz
        Sampling rate of the samples given to `run`, Hz.
    cutoff_hz
        Cut-off of the tilt's low-pass (each of its two one-pole stages), Hz. The strokes' tilt
        lies below about 0.5 Hz; the heartbeat and strap bounce above 1 Hz.
    still_window_s, still_tol_m_s2
        Rest: the acceleration's variance over this window within this tolerance squared.
    """

    def __init__(
        self,
        rate_hz: float,
        cutoff_hz: float = 2.0,
        *,
        still_window_s: float = 1.0,
        still_tol_m_s2: float = 0.03,
    ) -> None:
        self.rate_hz = float(rate_hz)
        self.cutoff_hz = float(min(cutoff_hz, 0.4 * self.rate_hz))
        self._lp = OnePoleCascade(self.cutoff_hz, self.rate_hz)
        self._still = AccelStillness(int(round(still_window_s * self.rate_hz)), still_tol_m_s2)
        self._last_up: np.ndarray | None = None

    @property
    def delay_s(self) -> float:
        """How far the up estimate lags the tilt at low frequencies, s."""
        return self._lp.delay_s

    def bias_estimate(self) -> np.ndarray | None:
        """None: without a gyroscope there is no bias to estimate."""
        return None

    def run(self, acc_m_s2: np.ndarray, gyr_rad_s: np.ndarray | None = None) -> OrientationBlock:
        """(n, 3) specific force (m/s²) in (the rate, if any, is ignored), one `OrientationBlock`
        out: its `gyr_rad_s` is the rotation the up estimate shows, (du/dt) x u."""
        acc = np.asarray(acc_m_s2, dtype=float).reshape(-1, 3)
        n = len(acc)
        lp = self._lp.run(acc)
        up = lp / np.maximum(np.linalg.norm(lp, axis=1, keepdims=True), 1e-9)
        prev = up[:1] if self._last_up is None else self._last_up[None, :]
        if n:
            self._last_up = up[-1].copy()
        du = np.diff(np.concatenate([prev, up]), axis=0) * self.rate_hz
        return OrientationBlock(
            up_sensor=up,
            gyr_rad_s=np.cross(du, up),
            rest=self._still.run(acc),
            bias_rad_s=np.full((n, 3), np.nan),
        )

    step = run

    def step_one(self, acc_m_s2: np.ndarray, gyr_rad_s: np.ndarray | None = None) -> np.ndarray:
        """One sample in, its (3,) up vector out (what `run` gives for a block of one)."""
        return self.run(np.asarray(acc_m_s2, dtype=float).reshape(1, 3)).up_sensor[0]


def tilt_rate_rad_s(up: np.ndarray, rate_hz: float) -> np.ndarray:
    """(n, 3) the rotation rate a sequence of (n, 3) unit up vectors shows, (du/dt) x u: the
    turning about the horizontal axes (none about the vertical), rad/s, in the frame of `up`."""
    up = np.asarray(up, dtype=float)
    if len(up) < 2:
        return np.zeros_like(up)
    du = np.gradient(up, axis=0) * float(rate_hz)
    return np.cross(du, up)

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
same output (to rounding; `rest` to the bit: tests/analysis/test_steps_primitives.py); the live
analysis runs the same object, one decimation block at a time (`SMALL_BLOCK`).
What the accelerometer cannot tell (the sensor's tilt on the chest within the sagittal plane,
how much of a bridge's acceleration is tilt) is the body-axes and bridge steps' business; see
BENCHMARKS.md for what it costs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from tracker.analysis.steps.iir import first_order_recursion
from tracker.analysis.steps.orientation import OrientationBlock
from tracker.analysis.steps.windows import TrailingSums

SMALL_BLOCK = 16
"""Blocks up to this many samples go through the stages sample by sample on plain floats (the
live analysis hands over one decimation block at a time: numpy's per-call overhead on a few
samples would be most of the cost); longer ones (offline, whole segments) are vectorised. The
two agree to rounding (tests/analysis/test_steps_primitives.py)."""


class OnePoleCascade:
    """`order` one-pole low-passes in series at `cutoff_hz` (critically damped), per channel,
    with state: y[n] = (1 - a) x[n] + a y[n - 1] for each stage, a = exp(-2 pi f_c / rate).

    `run(x)` on (n, k) arrays (consecutive blocks give what one call gives, to rounding),
    `run_values` on a list of samples as plain floats; the first sample seen sets the steady
    state (no start-up transient). Low-frequency group delay: `order / (2 pi f_c)` s."""

    def __init__(self, cutoff_hz: float, rate_hz: float, order: int = 2) -> None:
        self.cutoff_hz = float(cutoff_hz)
        self.rate_hz = float(rate_hz)
        self.order = int(order)
        self.a = math.exp(-2.0 * math.pi * self.cutoff_hz / self.rate_hz)
        self._state: list[list[float]] | None = None  # per stage, its last output per channel

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
        if len(y) <= SMALL_BLOCK:
            out = np.array(self.run_values(y.tolist()))
            return out if two_d else out[:, 0]
        state = np.repeat(y[:1], self.order, axis=0) if self._state is None else np.array(self._state)
        a = self.a
        powers = a ** np.arange(1, len(y) + 1)[:, None]
        for k in range(self.order):
            # the recursion from rest, plus the decay of the last output
            y = first_order_recursion((1.0 - a) * y, a) + powers * state[k][None, :]
            state[k] = y[-1]
        self._state = state.tolist()
        return y if two_d else y[:, 0]

    step = run

    def run_values(self, rows: list[list[float]]) -> list[tuple[float, ...]]:
        """`run` on plain floats: a list of samples, each a list of the channels' values."""
        if not rows:
            return []
        if self._state is None:
            self._state = [list(rows[0]) for _ in range(self.order)]
        a = self.a
        b = 1.0 - a
        cols: list[Sequence[float]] = list(zip(*rows, strict=True))
        for last in self._state:  # stage by stage, channel by channel: the loops on bare floats
            for j, col in enumerate(cols):
                y = last[j]
                out = []
                for v in col:
                    y = b * v + a * y
                    out.append(y)
                last[j] = y
                cols[j] = out
        return list(zip(*cols, strict=True))


class AccelStillness:
    """The acceleration's variance (summed over the axes) over the trailing `n` samples is at
    most `tolerance_m_s2` squared: the sensor is still. False until a window is full.

    The variance is the trailing mean of |a - a0|² less the squared length of the trailing mean
    of a - a0 (`TrailingSums`, a0 the first sample seen: the sums stay small while the sensor
    keeps its orientation), so `run` on any cut into blocks (and `run_values` on plain floats)
    gives the same answer to the bit."""

    def __init__(self, n: int, tolerance_m_s2: float) -> None:
        self.n = max(2, int(n))
        self.tolerance_m_s2 = float(tolerance_m_s2)
        self._tol2 = self.tolerance_m_s2**2
        self._sums = TrailingSums(self.n, channels=4)  # a - a0 (3), |a - a0|²
        self.clear()

    def clear(self) -> None:
        self._sums.clear()
        self._seen = 0
        self._ref: tuple[float, float, float] | None = None

    def run(self, acc_m_s2: np.ndarray) -> np.ndarray:
        acc = np.asarray(acc_m_s2, dtype=float).reshape(-1, 3)
        m = len(acc)
        if m <= SMALL_BLOCK:
            return np.array(self.run_values(acc.tolist()), dtype=bool)
        if self._ref is None:
            self._ref = (float(acc[0, 0]), float(acc[0, 1]), float(acc[0, 2]))
        c = acc - np.array(self._ref)
        x, y, z = c[:, 0], c[:, 1], c[:, 2]
        means = self._sums.run(np.column_stack([x, y, z, x * x + y * y + z * z]))
        mx, my, mz = means[:, 0], means[:, 1], means[:, 2]
        var = means[:, 3] - (mx * mx + my * my + mz * mz)
        full = self._seen + np.arange(1, m + 1) >= self.n
        self._seen += m
        return full & (var <= self._tol2)

    step = run

    def run_values(self, rows: list[list[float]]) -> list[bool]:
        """`run` on plain floats: a list of samples, each its three axes."""
        if not rows:
            return []
        if self._ref is None:
            self._ref = (rows[0][0], rows[0][1], rows[0][2])
        rx, ry, rz = self._ref
        sums, n, tol2 = self._sums.step_values, self.n, self._tol2
        seen = self._seen
        out = []
        for ax, ay, az in rows:
            x, y, z = ax - rx, ay - ry, az - rz
            mx, my, mz, m2 = sums([x, y, z, x * x + y * y + z * z])
            seen += 1
            out.append(seen >= n and m2 - (mx * mx + my * my + mz * mz) <= tol2)
        self._seen = seen
        return out


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
        self._last_up: tuple[float, float, float] | None = None

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
        if n <= SMALL_BLOCK:
            return self._run_floats(acc)
        lp = self._lp.run(acc)
        up = lp / np.maximum(np.linalg.norm(lp, axis=1, keepdims=True), 1e-9)
        prev = up[:1] if self._last_up is None else np.array([self._last_up])
        self._last_up = (float(up[-1, 0]), float(up[-1, 1]), float(up[-1, 2]))
        du = np.diff(np.concatenate([prev, up]), axis=0) * self.rate_hz
        return OrientationBlock(
            up_sensor=up,
            gyr_rad_s=np.cross(du, up),
            rest=self._still.run(acc),
            bias_rad_s=np.full((n, 3), np.nan),
        )

    step = run

    def run_floats(self, acc_m_s2: np.ndarray) -> OrientationBlock:
        """`run` on plain floats, stage by stage, however many samples: what `run` does for a
        short block (`SMALL_BLOCK`), so the live analysis gets the same numbers whether it
        hands over one decimation block or several at once."""
        return self._run_floats(np.asarray(acc_m_s2, dtype=float).reshape(-1, 3))

    def _run_floats(self, acc: np.ndarray) -> OrientationBlock:
        """`run` on plain floats, stage by stage (a short block; see `SMALL_BLOCK`)."""
        rows = acc.tolist()
        rest = self._still.run_values(rows)
        rate = self.rate_hz
        out = []  # per sample: up (3), the rotation it shows (3)
        last = self._last_up
        for x, y, z in self._lp.run_values(rows):
            norm = max(math.sqrt(x * x + y * y + z * z), 1e-9)
            ux, uy, uz = x / norm, y / norm, z / norm
            if last is None:
                last = (ux, uy, uz)
            dx, dy, dz = (ux - last[0]) * rate, (uy - last[1]) * rate, (uz - last[2]) * rate
            out.append((ux, uy, uz, dy * uz - dz * uy, dz * ux - dx * uz, dx * uy - dy * ux))
            last = (ux, uy, uz)
        self._last_up = last
        n = len(rows)
        arr = np.array(out, dtype=float).reshape(n, 6)
        return OrientationBlock(
            up_sensor=arr[:, :3],
            gyr_rad_s=arr[:, 3:],
            rest=np.array(rest, dtype=bool),
            bias_rad_s=np.full((n, 3), np.nan),
        )

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

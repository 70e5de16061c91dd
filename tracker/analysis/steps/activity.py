"""What the sensor is doing, sample by sample, before any foam-rolling analysis: the physics
that tells walking, a sensor carried about and a sensor left lying somewhere from a person on
a roller (`tracker.analysis.activity` turns these into spans and a verdict).

All work on analysis-rate samples in the sensor frame (no body axes needed: these are the
recordings where the axes cannot be learned) and keep their state: `run` on a whole array,
`step` one sample at a time, or `run` on consecutive blocks give the same output (to rounding).
They are built from trailing means (`TrailingSums`), so `run` is vectorised; `step` works on
plain floats, since the live session calls it for every analysis-rate sample and numpy's
per-call overhead on a handful of values would be most of its cost.

* `StepCadence` - walking: each step bounces the trunk 2-5 cm and lands on a heel, so the
  magnitude of the specific force swings by metres per second squared at the cadence, 1.4-2.6
  steps a second (`tracker.multibody.activities.walking`); on a roller it moves by hundredths.
  Its output is the rms of that magnitude in the step band over the trailing window and the
  rate of its upward zero crossings (the cadence).
* `Quietness` - a sensor on a table: a person's chest is never still (breathing tilts it by
  tenths of a degree 10-20 times a minute, the heartbeat shakes it), so over tens of seconds
  its rotation rate and specific force in the breathing band stay above a floor that a sensor
  on a table, with only its own noise, stays below. Its output is those two rms values.
* `Wander` - a sensor carried in a hand or a bag turns freely: its rotation rate and how far
  the direction of gravity (its trailing mean) moves from one window to a longer one.
"""

from __future__ import annotations

import math

import numpy as np

from tracker.analysis.steps.windows import TrailingSums


class StepCadence:
    """Steps in the magnitude of the specific force (see the module docstring).

    The step band is the magnitude less its trailing mean over `highpass_s` (slower motion
    gone), smoothed over `smooth_s` (the strike's buzz gone); `run` returns its rms over the
    trailing `window_s` (m/s²) and its upward zero crossings per second over the same window
    (Hz): the cadence while walking, noise when nothing steps."""

    def __init__(self, rate_hz: float, window_s: float = 4.0, highpass_s: float = 1.0, smooth_s: float = 0.12) -> None:
        self.rate_hz = float(rate_hz)
        self._hp = TrailingSums(round(highpass_s * rate_hz))
        self._lp = TrailingSums(max(1, round(smooth_s * rate_hz)))
        self._win = TrailingSums(round(window_s * rate_hz), channels=2)
        self._last = 0.0

    def run(self, acc_norm_m_s2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        m = np.asarray(acc_norm_m_s2, dtype=float)
        if len(m) == 0:
            return np.zeros(0), np.zeros(0)
        band = self._lp.run(m - self._hp.run(m))
        before = np.concatenate([[self._last], band[:-1]])
        up = ((before < 0.0) & (band >= 0.0)).astype(float)
        self._last = float(band[-1])
        means = self._win.run(np.column_stack([band * band, up]))
        return np.sqrt(np.maximum(means[:, 0], 0.0)), means[:, 1] * self.rate_hz

    def step(self, acc_norm_m_s2: float) -> tuple[float, float]:
        m = float(acc_norm_m_s2)
        band = self._lp.step1(m - self._hp.step1(m))
        up = 1.0 if self._last < 0.0 and band >= 0.0 else 0.0
        self._last = band
        sq, ups = self._win.step_values([band * band, up])
        return math.sqrt(max(sq, 0.0)), ups * self.rate_hz


class Quietness:
    """Rotation rate (rad/s) and specific force (m/s²) in the breathing band, rms over the
    trailing `window_s`, and what the sensor's own white noise alone would put in that band for
    each (from what lies above the band: a coarse accelerometer's quantisation noise or a noisy
    gyroscope can exceed a breath's share, but it is white, breathing is not). The band is each
    axis's trailing mean over `smooth_s` (above about 2 Hz gone) less its trailing mean over
    `highpass_s` (the gyro's bias and gravity gone)."""

    def __init__(self, rate_hz: float, window_s: float = 20.0, smooth_s: float = 0.25, highpass_s: float = 5.0) -> None:
        n_lp = max(1, round(smooth_s * rate_hz))
        n_hp = max(n_lp + 1, round(highpass_s * rate_hz))
        self._lp = TrailingSums(n_lp, channels=6)
        self._hp = TrailingSums(n_hp, channels=6)
        self._fine = TrailingSums(3, channels=6)
        self._win = TrailingSums(round(window_s * rate_hz), channels=4)
        # white noise of variance 1: in the band (mean of n_lp less mean of n_hp) 1/n_lp - 1/n_hp;
        # above it (a sample less the mean of 3) 2/3
        self._white = float(np.sqrt((1.0 / n_lp - 1.0 / n_hp) / (2.0 / 3.0)))

    def run(self, acc_m_s2: np.ndarray, gyr_rad_s: np.ndarray) -> tuple[np.ndarray, ...]:
        """(rotation rate in the band, rad/s; specific force in the band, m/s²; and the two as
        their white noise alone would make them), per sample."""
        x = np.column_stack([np.asarray(gyr_rad_s, dtype=float).reshape(-1, 3), np.asarray(acc_m_s2, dtype=float).reshape(-1, 3)])
        if len(x) == 0:
            return np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0)
        band = self._lp.run(x) - self._hp.run(x)
        fine = x - self._fine.run(x)
        sq = np.column_stack([
            np.sum(band[:, :3] ** 2, axis=1), np.sum(band[:, 3:] ** 2, axis=1),
            np.sum(fine[:, :3] ** 2, axis=1), np.sum(fine[:, 3:] ** 2, axis=1),
        ])  # fmt: skip
        m = np.sqrt(np.maximum(self._win.run(sq), 0.0))
        return m[:, 0], m[:, 1], m[:, 2] * self._white, m[:, 3] * self._white

    def step(self, acc_m_s2: np.ndarray, gyr_rad_s: np.ndarray) -> tuple[float, ...]:
        return self.step_values(np.asarray(acc_m_s2, dtype=float).tolist(), np.asarray(gyr_rad_s, dtype=float).tolist())

    def step_values(self, acc_m_s2: list[float], gyr_rad_s: list[float]) -> tuple[float, float, float, float]:
        """`step` on plain floats (3 each)."""
        x = gyr_rad_s + acc_m_s2
        # the channels unrolled: this runs for every analysis-rate sample
        l0, l1, l2, l3, l4, l5 = self._lp.step_values(x)
        h0, h1, h2, h3, h4, h5 = self._hp.step_values(x)
        m0, m1, m2, m3, m4, m5 = self._fine.step_values(x)
        x0, x1, x2, x3, x4, x5 = x
        b0, b1, b2, b3, b4, b5 = l0 - h0, l1 - h1, l2 - h2, l3 - h3, l4 - h4, l5 - h5
        f0, f1, f2, f3, f4, f5 = x0 - m0, x1 - m1, x2 - m2, x3 - m3, x4 - m4, x5 - m5
        g, a, g_white, a_white = self._win.step_values([
            b0 * b0 + b1 * b1 + b2 * b2,
            b3 * b3 + b4 * b4 + b5 * b5,
            f0 * f0 + f1 * f1 + f2 * f2,
            f3 * f3 + f4 * f4 + f5 * f5,
        ])  # fmt: skip
        sqrt, white = math.sqrt, self._white
        return (
            sqrt(max(g, 0.0)),
            sqrt(max(a, 0.0)),
            sqrt(max(g_white, 0.0)) * white,
            sqrt(max(a_white, 0.0)) * white,
        )


class Wander:
    """How freely the sensor turns: its mean rotation rate over `window_s` (rad/s) and the angle
    (degrees) between gravity's direction over the last `short_s` and over the last `long_s`
    (the trailing means of the specific force)."""

    def __init__(self, rate_hz: float, window_s: float = 4.0, short_s: float = 2.0, long_s: float = 30.0) -> None:
        self._rate = TrailingSums(round(window_s * rate_hz))
        self._short = TrailingSums(round(short_s * rate_hz), channels=3)
        self._long = TrailingSums(round(long_s * rate_hz), channels=3)

    def run(self, acc_m_s2: np.ndarray, gyr_rad_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        acc = np.asarray(acc_m_s2, dtype=float).reshape(-1, 3)
        gyr = np.asarray(gyr_rad_s, dtype=float).reshape(-1, 3)
        if len(acc) == 0:
            return np.zeros(0), np.zeros(0)
        rate = self._rate.run(np.linalg.norm(gyr, axis=1))
        a, b = self._short.run(acc), self._long.run(acc)
        cos = np.sum(a * b, axis=1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-9)
        return rate, np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))

    def step(self, acc_m_s2: np.ndarray, gyr_rad_s: np.ndarray) -> tuple[float, float]:
        return self.step_values(np.asarray(acc_m_s2, dtype=float).tolist(), np.asarray(gyr_rad_s, dtype=float).tolist())

    def step_values(self, acc_m_s2: list[float], gyr_rad_s: list[float]) -> tuple[float, float]:
        """`step` on plain floats (3 each)."""
        gx, gy, gz = gyr_rad_s
        rate = self._rate.step1(math.sqrt(gx * gx + gy * gy + gz * gz))
        a0, a1, a2 = self._short.step_values(acc_m_s2)
        b0, b1, b2 = self._long.step_values(acc_m_s2)
        norms = math.sqrt(a0 * a0 + a1 * a1 + a2 * a2) * math.sqrt(b0 * b0 + b1 * b1 + b2 * b2)
        cos = (a0 * b0 + a1 * b1 + a2 * b2) / max(norms, 1e-9)
        return rate, math.degrees(math.acos(min(1.0, max(-1.0, cos))))


class HeldPoses:
    """The range of the torso's poses in its sagittal plane: the angle of gravity from upright
    (0° upright, -90° lying on the back, +90° face down, beyond -90° the head below the hips),
    taken from poses held still for `hold_s` (1 s means). `run`/`step` return, per sample, the
    range (max - min, degrees) of the held poses so far; a pose counts once it has been held
    that long.

    Rolling never needs more than about 110° (standing or leaning forward to get up, to lying
    flat in a bridge); stretching goes beyond (a forward fold and lying on the back are ~200°
    apart). The range does not depend on which way the anterior axis was taken to point."""

    def __init__(self, rate_hz: float, hold_s: float = 5.0, still_rad_s: float = 0.17, smooth_s: float = 1.0) -> None:
        self.need = max(1, round(hold_s * rate_hz))
        self.still_rad_s = still_rad_s
        self._smooth = TrailingSums(max(1, round(smooth_s * rate_hz)), channels=2)
        self._run_len = 0
        self.lo = np.inf
        self.hi = -np.inf

    def run(self, up_body: np.ndarray, gyr_rad_s: np.ndarray) -> np.ndarray:
        """(m, 3) unit up vectors in the body frame and rates; the range so far per sample."""
        up = np.asarray(up_body, dtype=float).reshape(-1, 3)
        gyr = np.asarray(gyr_rad_s, dtype=float).reshape(-1, 3)
        if len(up) == 0:
            return np.zeros(0)
        sag = np.degrees(np.arctan2(up[:, 2], up[:, 0]))  # 90 upright
        angle = np.mod(sag - 90.0 + 180.0, 360.0) - 180.0  # 0 upright, -90 supine
        sm = self._smooth.run(np.column_stack([angle, np.linalg.norm(gyr, axis=1)]))
        still = sm[:, 1] < self.still_rad_s
        idx = np.arange(len(up))
        # the length of the current still run at each sample, carried across calls
        last_break = np.maximum.accumulate(np.where(still, -1, idx))
        carried = last_break < 0
        run_len = np.where(still, idx - last_break + np.where(carried, self._run_len, 0), 0)
        held = still & (run_len >= self.need)
        hi = np.maximum.accumulate(np.concatenate([[self.hi], np.where(held, sm[:, 0], -np.inf)]))[1:]
        lo = np.minimum.accumulate(np.concatenate([[self.lo], np.where(held, sm[:, 0], np.inf)]))[1:]
        self.hi, self.lo = float(hi[-1]), float(lo[-1])
        self._run_len = int(run_len[-1])
        return np.where(hi >= lo, hi - lo, 0.0)

    def step(self, up_body: np.ndarray, gyr_rad_s: np.ndarray) -> float:
        ux, _uy, uz = np.asarray(up_body, dtype=float).tolist()
        gx, gy, gz = np.asarray(gyr_rad_s, dtype=float).tolist()
        sag = math.degrees(math.atan2(uz, ux))
        angle = (sag - 90.0 + 180.0) % 360.0 - 180.0
        pose, turning = self._smooth.step_values([angle, math.sqrt(gx * gx + gy * gy + gz * gz)])
        still = turning < self.still_rad_s
        self._run_len = self._run_len + 1 if still else 0
        if still and self._run_len >= self.need:
            self.hi, self.lo = max(self.hi, pose), min(self.lo, pose)
        return self.hi - self.lo if self.hi >= self.lo else 0.0

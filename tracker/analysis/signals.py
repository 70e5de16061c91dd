"""From raw samples to uniform, oriented signals at the analysis rate.

Steps (all causal except the choice of the grid, so the live version can run them sample by
sample):

1. **Gaps.** A step in `t_s` longer than `gap_factor` sampling periods is a gap (lost packets, a
   dropped link). Gaps up to `max_bridged_gap_s` are bridged by linear interpolation on the
   uniform grid so the filters run on; the bridged samples are flagged (`bridged`) and never
   count as motion or as stillness (strokes and holds do not start or end inside them; a hold
   is cut at one). Longer gaps split the recording into segments: the orientation filter restarts
   after them (keeping its gyro-bias estimate), and the time inside is marked `unknown`.
2. **Orientation** with VQF (6D, gyro-bias estimation on, rest detection), on block means at
   about 100 Hz (the native rate when it is lower: `orientation_factor`). Without a gyroscope,
   the gyro-free stage (`tracker.analysis.steps.tilt`): up from the low-passed accelerometer.
   Only the direction of "up" in the sensor frame is kept: heading is unobservable without a
   magnetometer and not needed (pitch and the gravity-free acceleration along the spine are).
3. **Decimation** to about `analysis_rate_hz` (25 Hz) by block means: strokes and holds are
   seconds long, and 25 Hz keeps the 2-hour, 400 Hz case inside the memory budget.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tracker.analysis.steps.decimate import block_mean
from tracker.analysis.steps.orientation import VqfOrientation, orientation_factor
from tracker.imu import STANDARD_GRAVITY_M_S2, ImuRecording

GAP_FACTOR = 2.5
"""A step in time longer than this many sampling periods is a gap."""


@dataclass
class Signals:
    """Uniform signals at the analysis rate (M samples). Sensor frame unless named otherwise."""

    t_s: np.ndarray
    """(M,) s from the first sample."""
    up_sensor: np.ndarray
    """(M, 3) unit vector pointing up (against gravity), in the sensor frame."""
    acc_m_s2: np.ndarray
    """(M, 3) specific force, m/s²."""
    gyr_rad_s: np.ndarray
    """(M, 3) rotation rate with VQF's bias estimate removed, rad/s (without a gyroscope: the
    rotation the accelerometer's tilt shows, about the horizontal axes only)."""
    rest: np.ndarray
    """(M,) bool: VQF's rest detector (sensor still; slow rolling also passes as rest)."""
    segment: np.ndarray
    """(M,) int: index of the gap-free segment each sample belongs to."""
    bridged: np.ndarray
    """(M,) bool: the sample lies in a short gap that was interpolated."""
    rate_hz: float
    native_rate_hz: float
    gaps: list[tuple[float, float]] = field(default_factory=list)
    """(start_s, end_s) of every gap longer than `max_bridged_gap_s` (unknown time)."""
    notes: list[str] = field(default_factory=list)
    has_gyro: bool = True
    """False for an accelerometer-only recording: `gyr_rad_s` is then the rotation the tilt
    shows (`tracker.analysis.steps.tilt`), not a gyroscope's."""

    @property
    def lin_acc_sensor(self) -> np.ndarray:
        """(M, 3) gravity-free acceleration in the sensor frame, m/s²."""
        return self.acc_m_s2 - STANDARD_GRAVITY_M_S2 * self.up_sensor


class OrientationEstimator:
    """VQF orientation (6D): the up direction in the sensor frame, gyro bias and rest.

    Parameters
    ----------
    tau_acc_s
        VQF's accelerometer time constant. Longer than VQF's 3 s default so the few hundredths
        of a m/s² of a slow stroke are not absorbed into the inclination (they are what the
        bridge posture is measured from); with the warm-started gyro bias the pitch stays within
        about 0.2° of truth (most of it the chest wall's breathing tilt).
    rest_bias_estimation
        Off by default: slow rolling turns the torso by under 2 °/s, which VQF's rest detector
        takes for rest, and its rest-bias update then learns the rolling as gyro bias (several
        degrees of pitch error on the simulator). The motion-bias estimation stays on.
    rest_bias_estimation, motion_bias_estimation
        VQF's gyro-bias estimation in rest and in motion.
    """

    def __init__(
        self,
        tau_acc_s: float = 10.0,
        rest_bias_estimation: bool = False,
        motion_bias_estimation: bool = True,
    ) -> None:
        self.tau_acc_s = tau_acc_s
        self.rest_bias_estimation = rest_bias_estimation
        self.motion_bias_estimation = motion_bias_estimation

    def estimate(
        self,
        acc_m_s2: np.ndarray,
        gyr_rad_s: np.ndarray,
        sampling_rate_hz: float,
        *,
        initial_bias_rad_s: np.ndarray | None = None,
    ) -> OrientationEstimator:
        """Run VQF causally over one gap-free segment of (N, 3) samples. Results: `up_sensor_`
        (N, 3), `gyr_rad_s_` (N, 3) the rate less its bias, `bias_rad_s_` (N, 3), `rest_` (N,),
        `final_bias_rad_s_` (3,)."""
        stage = VqfOrientation(
            sampling_rate_hz,
            self.tau_acc_s,
            rest_bias_estimation=self.rest_bias_estimation,
            motion_bias_estimation=self.motion_bias_estimation,
            initial_bias_rad_s=initial_bias_rad_s,
        )
        out = stage.run(acc_m_s2, gyr_rad_s)
        self.up_sensor_ = out.up_sensor
        self.bias_rad_s_ = out.bias_rad_s
        self.rest_ = out.rest
        self.gyr_rad_s_ = out.gyr_rad_s
        self.final_bias_rad_s_ = stage.bias_estimate()
        return self


def _uniform(
    ts: np.ndarray, recording: ImuRecording, a: int, b: int, period: float, gap_factor: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One gap-free segment [a, b) on a uniform grid: (grid, acc, gyr, bridged). A segment
    sampled evenly is kept as it is; otherwise it is interpolated onto the grid and the samples
    inside its short gaps are flagged `bridged`."""
    acc = recording.acc_m_s2[a:b]
    gyr = recording.gyr_rad_s[a:b]
    seg_dt = np.diff(ts)
    # every step within a quarter period of the period (NaN fails): its extremes are
    if len(seg_dt) == 0 or (seg_dt.max() - period < 0.25 * period and period - seg_dt.min() < 0.25 * period):
        return ts, acc, gyr, np.zeros(len(ts), dtype=bool)
    n = int(math.floor((ts[-1] - ts[0]) / period)) + 1
    grid = ts[0] + np.arange(n) * period
    acc_g = np.empty((n, 3))
    gyr_g = np.empty((n, 3))
    for j in range(3):
        acc_g[:, j] = np.interp(grid, ts, acc[:, j])
        gyr_g[:, j] = np.interp(grid, ts, gyr[:, j])
    local_gaps = np.flatnonzero(seg_dt > gap_factor * period)
    bridged = np.zeros(n, dtype=bool)
    if local_gaps.size:
        lo = np.searchsorted(grid, ts[local_gaps], side="right")
        hi = np.searchsorted(grid, ts[local_gaps + 1], side="left")
        for i0, i1 in zip(lo, hi, strict=True):
            bridged[i0:i1] = True
    return grid, acc_g, gyr_g, bridged


def prepare_signals(
    recording: ImuRecording,
    *,
    analysis_rate_hz: float = 25.0,
    gap_factor: float = GAP_FACTOR,
    max_bridged_gap_s: float = 1.0,
    orientation: Any = None,
    warm_start_bias: bool = True,
) -> Signals:
    """Uniform grid, gap handling, orientation and decimation (see the module docstring).

    `orientation`: an object with `OrientationEstimator`'s `estimate` (default: VQF for a
    recording with a gyroscope, `tracker.analysis.accel_only.TiltOrientationEstimator` for one
    without)."""
    has_gyro = recording.has_gyro
    if orientation is None:
        if has_gyro:
            orientation = OrientationEstimator()
        else:
            from tracker.analysis.accel_only import TiltOrientationEstimator

            orientation = TiltOrientationEstimator()
    t = np.asarray(recording.t_s, dtype=float)
    t = t - t[0]
    dt = np.diff(t)
    nominal = float(recording.sampling_rate_hz) if recording.sampling_rate_hz else 0.0
    measured = 1.0 / float(np.median(dt))
    notes: list[str] = []
    if not nominal or abs(measured - nominal) / measured > 0.05:
        if nominal:
            notes.append(
                f"samples arrive at {measured:.1f} Hz, not the stated {nominal:g} Hz; used {measured:.1f} Hz"
            )
        nominal = measured
    period = 1.0 / nominal
    gap_idx = np.flatnonzero(dt > gap_factor * period)
    long_idx = gap_idx[dt[gap_idx] > max_bridged_gap_s]
    short_idx = gap_idx[dt[gap_idx] <= max_bridged_gap_s]
    if short_idx.size:
        notes.append(
            f"bridged {short_idx.size} short gap(s) ({dt[short_idx].sum():.1f} s in all) by interpolation; "
            "they count neither as motion nor as stillness"
        )
    gaps = [(float(t[i]), float(t[i + 1])) for i in long_idx]
    if gaps:
        notes.append(
            f"{len(gaps)} gap(s) longer than {max_bridged_gap_s:g} s ({sum(b - a for a, b in gaps):.1f} s) "
            "split the analysis; that time is unknown"
        )
    factor = max(1, int(round(nominal / analysis_rate_hz)))
    bounds = np.concatenate([[0], long_idx + 1, [len(t)]])
    # the orientation filter runs on block means of `pre` samples (at about 100 Hz or the
    # native rate if lower), the analysis on means of `factor`
    pre = orientation_factor(nominal, factor)
    segments = []
    for seg, (a, b) in enumerate(zip(bounds[:-1], bounds[1:], strict=False)):
        if b - a < 2 * factor:
            continue
        grid, acc, gyr, bridged = _uniform(t[a:b], recording, a, b, period, gap_factor)
        as_recorded = np.may_share_memory(acc, recording.acc_m_s2)  # not interpolated
        segments.append((seg, grid, block_mean(acc, pre), block_mean(gyr, pre), bridged, as_recorded))
    bias = None
    longest = int(np.argmax(np.diff(bounds)))
    if warm_start_bias and has_gyro and isinstance(orientation, OrientationEstimator):
        # Offline warm start: a quick pass at the analysis rate learns the gyro bias, so the
        # real pass does not spend its first minute converging (a live run has that warm-up).
        warm = OrientationEstimator(orientation.tau_acc_s, False, True)
        a, b = bounds[longest], bounds[longest + 1]
        if b - a >= 2 * factor:
            # the means of `factor` samples from the orientation pass's means of `pre` (equal
            # blocks: the same means) when that segment was kept as recorded
            same = [s for s in segments if s[0] == longest and s[5]]
            warm.estimate(
                block_mean(same[0][2], factor // pre) if same else block_mean(recording.acc_m_s2[a:b], factor),
                block_mean(same[0][3], factor // pre) if same else block_mean(recording.gyr_rad_s[a:b], factor),
                nominal / factor,
            )
            bias = warm.final_bias_rad_s_

    parts: dict[str, list[np.ndarray]] = {
        k: [] for k in ("t", "up", "acc", "gyr", "rest", "seg", "bridged")
    }
    for seg, grid, acc, gyr, bridged, _as_recorded in segments:
        orientation.estimate(acc, gyr, nominal / pre, initial_bias_rad_s=bias)
        bias = orientation.final_bias_rad_s_
        rest = factor // pre
        parts["t"].append(block_mean(grid, factor))
        parts["up"].append(block_mean(orientation.up_sensor_, rest))
        parts["acc"].append(block_mean(acc, rest))
        rate_out = getattr(orientation, "gyr_rad_s_", None)
        if rate_out is None:  # an estimator that gives the bias only
            rate_out = gyr - orientation.bias_rad_s_
        parts["gyr"].append(block_mean(rate_out, rest))
        parts["rest"].append(block_mean(orientation.rest_.astype(float), rest) > 0.5)
        m = len(parts["t"][-1])
        parts["bridged"].append(
            block_mean(bridged.astype(float), factor) > 0.0 if bridged.any() else np.zeros(m, dtype=bool)
        )
        parts["seg"].append(np.full(m, seg, dtype=np.int32))
    if not parts["t"]:
        from tracker.errors import RecordingTooShortError

        raise RecordingTooShortError(
            "no stretch of the recording is long enough to analyse", hint="record a longer session"
        )
    up = np.concatenate(parts["up"])
    up /= np.linalg.norm(up, axis=1, keepdims=True)
    return Signals(
        t_s=np.concatenate(parts["t"]),
        up_sensor=up,
        acc_m_s2=np.concatenate(parts["acc"]),
        gyr_rad_s=np.concatenate(parts["gyr"]),
        rest=np.concatenate(parts["rest"]),
        segment=np.concatenate(parts["seg"]),
        bridged=np.concatenate(parts["bridged"]),
        rate_hz=nominal / factor,
        native_rate_hz=nominal,
        gaps=gaps,
        notes=notes,
        has_gyro=has_gyro,
    )

"""From raw samples to uniform, oriented signals at the analysis rate.

Steps (all causal except the choice of the grid, so the live version can run them sample by
sample):

1. **Gaps.** A step in `t_s` longer than `gap_factor` sampling periods is a gap (lost packets, a
   dropped link). Gaps up to `max_bridged_gap_s` are bridged by linear interpolation on the
   uniform grid so the filters run on; the bridged samples are flagged (`bridged`) and never
   count as motion or as stillness (strokes and holds do not start or end inside them; a hold
   is cut at one). Longer gaps split the recording into segments: the orientation filter restarts
   after them (keeping its gyro-bias estimate), and the time inside is marked `unknown`.
2. **Orientation** with VQF (6D, gyro-bias estimation on, rest detection), at the native rate.
   Only the direction of "up" in the sensor frame is kept: heading is unobservable without a
   magnetometer and not needed (pitch and the gravity-free acceleration along the spine are).
3. **Decimation** to about `analysis_rate_hz` (25 Hz) by block means: strokes and holds are
   seconds long, and 25 Hz keeps the 2-hour, 400 Hz case inside the memory budget.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

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
    """(M, 3) rotation rate with VQF's bias estimate removed, rad/s."""
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
        initial_bias_rad_s=None,
    ) -> OrientationEstimator:
        """Run VQF causally over one gap-free segment of (N, 3) samples."""
        from vqf import VQF

        ts = 1.0 / sampling_rate_hz
        vqf = VQF(
            ts,
            tauAcc=self.tau_acc_s,
            restBiasEstEnabled=self.rest_bias_estimation,
            motionBiasEstEnabled=self.motion_bias_estimation,
        )
        if initial_bias_rad_s is not None:
            vqf.setBiasEstimate(np.asarray(initial_bias_rad_s, dtype=float), 0.5 * math.pi / 180)
        out = vqf.updateBatch(
            np.ascontiguousarray(gyr_rad_s, dtype=float),
            np.ascontiguousarray(acc_m_s2, dtype=float),
        )
        q = out["quat6D"]
        w, x, y, z = q[:, 0], q[:, 1], q[:, 2], q[:, 3]
        # third row of the sensor-to-earth rotation matrix: earth "up" seen in the sensor frame
        self.up_sensor_ = np.column_stack(
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]
        )
        self.bias_rad_s_ = out["bias"]
        self.rest_ = out["restDetected"].astype(bool)
        self.final_bias_rad_s_ = vqf.getBiasEstimate()[0]
        return self


def _block_mean(x: np.ndarray, factor: int) -> np.ndarray:
    if factor == 1:
        return np.array(x, dtype=float, copy=True)
    n = (len(x) // factor) * factor
    shaped = x[:n].reshape((n // factor, factor) + x.shape[1:])
    return shaped.mean(axis=1)


def prepare_signals(
    recording: ImuRecording,
    *,
    analysis_rate_hz: float = 25.0,
    gap_factor: float = GAP_FACTOR,
    max_bridged_gap_s: float = 1.0,
    orientation: OrientationEstimator | None = None,
    warm_start_bias: bool = True,
) -> Signals:
    """Uniform grid, gap handling, VQF and decimation (see the module docstring)."""
    orientation = orientation or OrientationEstimator()
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
    bias = None
    if warm_start_bias:
        # Offline warm start: a quick pass at the analysis rate learns the gyro bias, so the
        # real pass does not spend its first minute converging (a live run has that warm-up).
        warm = OrientationEstimator(orientation.tau_acc_s, False, True)
        a, b = bounds[int(np.argmax(np.diff(bounds)))], bounds[int(np.argmax(np.diff(bounds))) + 1]
        if b - a >= 2 * factor:
            warm.estimate(
                _block_mean(recording.acc_m_s2[a:b], factor),
                _block_mean(recording.gyr_rad_s[a:b], factor),
                nominal / factor,
            )
            bias = warm.final_bias_rad_s_

    parts: dict[str, list[np.ndarray]] = {
        k: [] for k in ("t", "up", "acc", "gyr", "rest", "seg", "bridged")
    }
    for seg, (a, b) in enumerate(zip(bounds[:-1], bounds[1:], strict=False)):
        ts = t[a:b]
        if len(ts) < 2 * factor:
            continue
        acc = recording.acc_m_s2[a:b]
        gyr = recording.gyr_rad_s[a:b]
        seg_dt = np.diff(ts)
        uniform = np.all(np.abs(seg_dt - period) < 0.25 * period)
        if uniform:
            grid = ts
            bridged = np.zeros(len(ts), dtype=bool)
        else:
            n = int(math.floor((ts[-1] - ts[0]) / period)) + 1
            grid = ts[0] + np.arange(n) * period
            acc = np.column_stack([np.interp(grid, ts, acc[:, j]) for j in range(3)])
            gyr = np.column_stack([np.interp(grid, ts, gyr[:, j]) for j in range(3)])
            local_gaps = np.flatnonzero(seg_dt > gap_factor * period)
            bridged = np.zeros(n, dtype=bool)
            if local_gaps.size:
                lo = np.searchsorted(grid, ts[local_gaps], side="right")
                hi = np.searchsorted(grid, ts[local_gaps + 1], side="left")
                for i0, i1 in zip(lo, hi, strict=False):
                    bridged[i0:i1] = True
        orientation.estimate(acc, gyr, nominal, initial_bias_rad_s=bias)
        bias = orientation.final_bias_rad_s_
        gyr_unbiased = gyr - orientation.bias_rad_s_
        parts["t"].append(_block_mean(grid, factor))
        parts["up"].append(_block_mean(orientation.up_sensor_, factor))
        parts["acc"].append(_block_mean(acc, factor))
        parts["gyr"].append(_block_mean(gyr_unbiased, factor))
        parts["rest"].append(_block_mean(orientation.rest_.astype(float), factor) > 0.5)
        parts["bridged"].append(_block_mean(bridged.astype(float), factor) > 0.0)
        m = len(parts["t"][-1])
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
    )

"""Accelerometer-only analysis (Polar H10, a phone without a gyroscope): what changes.

The pipeline (`tracker.analysis.pipeline`) is the same; where it needs a gyroscope it branches
on `recording.has_gyro` to the pieces here:

* **orientation**: `TiltOrientationEstimator` (the gyro-free stage of
  `tracker.analysis.steps.tilt`: up from the low-passed accelerometer);
* **body axes**: `tracker.analysis.gravity_axes.GravityAxesEstimator` (from gravity directions
  alone);
* **pitch** on the roller: the tilt itself (no gyro to pin to it);
* **posture** on the roller: `posture_evidence` (the pitch's level steps with hips-down strokes
  and stays put in a bridge);
* **bridge**: gravity from the slow part of the accelerometer's own inclination, and the
  torso's tilt stepping with each stroke taken off (`ContactPositionEstimator(has_gyro=False)`,
  `tilt_step_signal`);
* **holds** come from stillness of the tilt-derived position (hips down) and from the bridge's
  segmentation, as with a gyroscope: the acceleration's own variance cannot tell a slow stroke
  from a hold (a 2 cm/s stroke accelerates the chest by a few hundredths of a m/s², less than
  the tilt's wander on a hold; BENCHMARKS.md);
* **what cannot be trusted** is said: `accel_only_report` (notes, and the figures in
  `SessionAnalysis.parameters["accel_only"]`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tracker.analysis.steps.tilt import TiltOrientation
from tracker.analysis.steps.windows import centred_extreme, centred_uniform_mean
from tracker.imu import STANDARD_GRAVITY_M_S2

HIPS_DOWN_STEP_DEG = 4.0
"""Hips down, the roller's travel turns the torso: the pitch's 4 s mean moves by more than this
within `STEP_WINDOW_S` (a 10 cm stroke is 4-10°)."""
STEP_WINDOW_S = 10.0
BRIDGE_STEADY_DEG = 2.0
"""In a bridge the pitch's 4 s mean stays within this over `STEP_WINDOW_S` (a stroke's
acceleration tilts the accelerometer by up to a couple of degrees, but back: it averages out
over the stroke; the torso's own tilt steps by a degree at most)."""
BRIDGE_MOTION_M_S2 = 0.08
"""...while the body moves: the along-spine acceleration (gravity from the pitch's 20 s mean,
in the stroke band) above this rms, over the breathing's tilt on a hold (0.02-0.06)."""


class TiltOrientationEstimator:
    """The gyro-free orientation stage with `OrientationEstimator`'s interface (for
    `prepare_signals`).

    Parameters
    ----------
    cutoff_hz
        The tilt's low-pass (`TiltOrientation`).
    still_window_s, still_tol_m_s2
        Rest from the acceleration's variance (`TiltOrientation`).
    """

    tau_acc_s = 0.0
    """No accelerometer time constant: nothing is fused (kept for the estimator interface)."""

    def __init__(
        self, cutoff_hz: float = 2.0, still_window_s: float = 1.0, still_tol_m_s2: float = 0.03
    ) -> None:
        self.cutoff_hz = cutoff_hz
        self.still_window_s = still_window_s
        self.still_tol_m_s2 = still_tol_m_s2

    def estimate(
        self,
        acc_m_s2: np.ndarray,
        gyr_rad_s: np.ndarray,
        sampling_rate_hz: float,
        *,
        initial_bias_rad_s: np.ndarray | None = None,
    ) -> TiltOrientationEstimator:
        """One gap-free segment of (N, 3) samples (the rate is ignored). Results: `up_sensor_`
        (N, 3), `gyr_rad_s_` (N, 3) the tilt's rotation, `rest_` (N,), `bias_rad_s_` (N, 3)
        NaN, `final_bias_rad_s_` None."""
        stage = TiltOrientation(
            sampling_rate_hz,
            self.cutoff_hz,
            still_window_s=self.still_window_s,
            still_tol_m_s2=self.still_tol_m_s2,
        )
        out = stage.run(acc_m_s2)
        self.up_sensor_ = out.up_sensor
        self.gyr_rad_s_ = out.gyr_rad_s
        self.rest_ = out.rest
        self.bias_rad_s_ = out.bias_rad_s
        self.final_bias_rad_s_ = None
        return self


def bridge_fit_without_gyro(
    segmenter: Any, t_s: np.ndarray, acc_m_s2: np.ndarray, pitch_rad: np.ndarray, passes: int = 1
) -> tuple[list, np.ndarray, np.ndarray]:
    """A bridge bout's movements without a gyroscope: `BridgeSegmenter.fit` on the along-spine
    acceleration, the torso's tilt steps taken off (`tilt_step_signal`) and the bout segmented
    again `passes` times. Returns (moves, contact displacement cm, the acceleration used).

    (Keeping only movements well above the residual's rms, tried on the tuning seeds, removed
    false too-fast warnings but missed real fast sets and merged holds: not done.)"""
    acc = np.asarray(acc_m_s2, dtype=float)
    seg = segmenter.fit(t_s, acc, None, pitch_rad)
    for _ in range(passes):
        acc = acc - tilt_step_signal(t_s, acc, list(seg.moves_))
        seg = segmenter.fit(t_s, acc, None, pitch_rad)
    return list(seg.moves_), seg.contact_cm_, acc


def tilt_step_signal(
    t_s: np.ndarray, acc_m_s2: np.ndarray, moves: list, margin: float = 0.5
) -> np.ndarray:
    """(n,) the part of a bridge's along-spine acceleration that is the torso's tilt stepping
    with each movement: g times the pitch change, following the movement's progress.

    In a bridge the torso's pitch depends on where the roller is, so it changes by a few
    tenths of a degree to a degree over each stroke, which to an accelerometer is as large as
    a slow stroke's acceleration (0.1° is 0.017 m/s²) and, being in step with the stroke,
    alters its fitted amplitude. Over each movement (and `margin` of its duration either side,
    where the levels before and after show) the signal is fitted as the stroke's sine, that
    step (the raised-cosine progress u - sin(2 pi u) / 2 pi) and a constant; the steps' sum is
    returned, to be taken off before the bridge is segmented again. A gyroscope measures the
    tilt instead (`contact.gyro_pitch`)."""
    out = np.zeros(len(t_s))
    for m in moves:
        dur = m.end_s - m.start_s
        if dur <= 0:
            continue
        i0 = int(np.searchsorted(t_s, m.start_s - margin * dur))
        i1 = int(np.searchsorted(t_s, m.end_s + margin * dur))
        if i1 - i0 < 8:
            continue
        u = np.clip((t_s[i0:i1] - m.start_s) / dur, 0.0, 1.0)
        wave = np.sin(2.0 * np.pi * u)
        progress = u - wave / (2.0 * np.pi)
        design = np.column_stack([wave, progress, np.ones(i1 - i0)])
        coef, *_ = np.linalg.lstsq(design, acc_m_s2[i0:i1], rcond=None)
        u_all = np.clip((t_s - m.start_s) / dur, 0.0, 1.0)
        out += float(coef[1]) * (u_all - np.sin(2.0 * np.pi * u_all) / (2.0 * np.pi))
    return out


def accel_only_report(
    pitch_rad: np.ndarray,
    posture: np.ndarray,
    roller_diameter_cm: float,
    pitch_offset_uncertainty_deg: float,
    pitch_reference: str,
) -> tuple[list[str], dict[str, float | str | bool]]:
    """What an accelerometer-only analysis cannot vouch for: notes in words and the figures
    behind them (`SessionAnalysis.parameters["accel_only"]`).

    * Hips down, the pitch's offset (the sensor's tilt on the chest about the lateral axis,
      `pitch_offset_uncertainty_deg`, from standing upright, the pairing or an assumption)
      shifts every position and scales every pace: s = r cot(theta / 2), so a pitch error
      d theta moves the contact by r d theta / (2 sin^2(theta / 2)) and changes the pace by
      the fraction cot(theta / 2) d theta. Both are given at the session's median hips-down
      pitch, and the position also at its flattest (high on the back, where it is worst).
    * In a bridge, the torso's own tilt (breathing, holding the hips up: tenths of a degree)
      is as large to an accelerometer as a slow stroke's acceleration (0.1° is 0.017 m/s²):
      slow bridge strokes and holds cannot be told apart, and paces read high.

    `pitch_rad` (M,) and `posture` (M,) per analysis-rate sample."""
    notes: list[str] = []
    info: dict[str, float | str | bool] = {
        "has_gyro": False,
        "pitch_reference": pitch_reference,
        "pitch_offset_uncertainty_deg": float(pitch_offset_uncertainty_deg),
    }
    d_theta = np.radians(pitch_offset_uncertainty_deg)
    r = 0.5 * roller_diameter_cm
    hd = (posture == "hips_down") & np.isfinite(pitch_rad) & (pitch_rad > np.radians(2.0))
    if hd.sum() > 10:
        theta = float(np.median(pitch_rad[hd]))
        flat = float(np.percentile(pitch_rad[hd], 5.0))
        pace = float(d_theta / np.tan(0.5 * theta))
        pos = float(r * d_theta / (2.0 * np.sin(0.5 * theta) ** 2))
        pos_high = float(r * d_theta / (2.0 * np.sin(0.5 * flat) ** 2))
        info.update(
            hips_down_pace_uncertainty_fraction=pace,
            hips_down_position_uncertainty_cm=pos,
            hips_down_position_uncertainty_high_cm=pos_high,
        )
        notes.append(
            "no gyroscope: hips-down positions and paces rest on the sensor's tilt on the chest "
            f"(±{pitch_offset_uncertainty_deg:g}°, from {_REFERENCE_WORDS.get(pitch_reference, pitch_reference)}): "
            f"paces ±{100 * pace:.0f} %, positions ±{pos:.0f} cm (±{pos_high:.0f} cm high on the back)"
        )
    br = posture == "bridge"
    info["bridge_trustworthy"] = not bool(br.any())
    if br.any():
        notes.append(
            "no gyroscope: in a bridge the torso's own tilt (breathing, holding the hips up) reads "
            "as acceleration as large as a slow stroke's, so bridge strokes, their paces (often read "
            "high) and bridge holds are rough; only fast strokes stand out. A sensor with a "
            "gyroscope measures bridges"
        )
    return notes, info


_REFERENCE_WORDS = {
    "standing": "standing upright at the start or end of the recording",
    "pairing": "standing upright at pairing",
    "assumed": "an assumption: no upright pose in the recording",
}


def posture_evidence(
    pitch_deg: np.ndarray, acc_body_m_s2: np.ndarray, rate_hz: float, window_s: float = 6.0
) -> tuple[np.ndarray, np.ndarray]:
    """(score, moving) per sample for `PostureSegmenter` without a gyroscope: +1 bridge, -1 hips
    down, where `moving` says there is evidence.

    With a gyroscope, hips down and bridge differ by how much the torso turns for how much it
    accelerates. An accelerometer sees one signal for both (its tilt is the pitch plus the
    acceleration over g), so the evidence is the shape instead: hips down, a stroke moves the
    pitch to a new level and it stays there (the roller is elsewhere on the back); in a bridge
    the stroke's acceleration tilts the reading and takes it back (one sine period), so the
    pitch's level barely moves while the body clearly does."""
    rate = float(rate_hz)
    n4 = max(1, int(round(4.0 * rate)))
    w = max(3, int(round(STEP_WINDOW_S * rate)))
    level = centred_uniform_mean(np.asarray(pitch_deg, dtype=float), n4)
    span = centred_extreme(level, w, np.maximum) - centred_extreme(level, w, np.minimum)
    a = np.asarray(acc_body_m_s2, dtype=float)
    incl = np.arcsin(np.clip(a[:, 2] / np.maximum(np.linalg.norm(a, axis=1), 1e-9), -1.0, 1.0))
    slow = centred_uniform_mean(incl, max(1, int(round(20.0 * rate))))
    spine = a[:, 2] - STANDARD_GRAVITY_M_S2 * np.sin(slow)
    from tracker.analysis.steps.filters import Butterworth

    band = Butterworth(2, (0.05, min(1.0, 0.45 * rate)), rate, "bandpass")
    q_a = np.sqrt(np.maximum(centred_uniform_mean(band.zero_phase(spine) ** 2, max(3, int(round(window_s * rate)))), 0.0))
    hips = span > HIPS_DOWN_STEP_DEG
    bridge = (span < BRIDGE_STEADY_DEG) & (q_a > BRIDGE_MOTION_M_S2)
    score = np.where(bridge, 1.0, np.where(hips, -1.0, 0.0))
    return score, hips | bridge

"""`analyze`: IMU samples in, a `SessionAnalysis` out. The steps, in order:

1. `prepare_signals`: gaps (bridged or split), VQF orientation (`OrientationEstimator`),
   decimation to the analysis rate.
2. `BodyAxesEstimator`: the strap's rotation, from the calibration or the recording.
3. `PostureSegmenter`: upright / sitting / transition / on_roller, hips down or bridge, and
   the lifts of the hips (no position there).
4. `ContactPositionEstimator`: where the roller touches the back, from the pitch on the roller
   (the gyro's, pinned to the accelerometer: `_roller_pitch`).
5. `StrokeHoldDetector`: strokes (distance, pace) and holds.
6. Regions and `WarningRules`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from tracker import __version__
from tracker.analysis.body_axes import BodyAxesEstimator
from tracker.analysis.contact import ContactPositionEstimator, accel_pitch_rad, gyro_pitch
from tracker.analysis.io import MIN_DURATION_S
from tracker.analysis.posture import PostureSegmenter
from tracker.analysis.signals import OrientationEstimator, prepare_signals
from tracker.analysis.steps.runs import fill_nearest, runs, split_by
from tracker.analysis.strokes import StrokeHoldDetector
from tracker.analysis.warnings import WarningRules, region_indices, sample_durations
from tracker.errors import AnalysisUnavailableError, RecordingTooShortError
from tracker.guidance import REGIONS, Guidance
from tracker.imu import ImuRecording
from tracker.results import SessionAnalysis

DEFAULT_GUIDANCE = Guidance()

MAX_GAP_IN_HOLD_S = 60.0
"""A hold may go on across a gap in the data up to this long (the link dropped while the person
held still: the same spot on both sides); across a longer gap its two sides are two holds, and
the unknown time is neither."""

@dataclass
class AnalysisParameters:
    """Algorithm settings (guidance thresholds live in `Guidance`)."""

    analysis_rate_hz: float = 25.0
    max_bridged_gap_s: float = 1.0
    vqf_tau_acc_s: float = 25.0
    """VQF's accelerometer time constant. VQF tilts its gravity estimate toward the low-passed
    acceleration, so a slow bridge stroke's own acceleration leaks into the gravity removal and
    inflates its fitted distance, the more the longer the stroke (BENCHMARKS.md, "The
    orientation filter's accelerometer time constant"). 25 s keeps that small, and the bridge
    segmentation corrects its amplitudes for the
    filter (`BridgeSegmenter`'s `tilt_tau_s`). The cost: the inclination settles more slowly
    after getting onto the roller."""
    track_rate_hz: float = 2.0
    bridge_distance_from_acc: bool = True
    """A bridge stroke's distance from its acceleration's amplitude (drift-free, see
    `ContactPositionEstimator.stroke_distance_cm`) rather than from the integrated track."""
    gyro_pitch_window_s: float | None = 40.0
    """On the roller, the pitch is the gyro's integrated rate pinned to the accelerometer's own
    inclination over this window (`contact.gyro_pitch`), not the orientation filter's: the
    filter's inclination lags by its residual gyro bias times its 25 s time constant (up to a
    degree for minutes after lying down, a few cm of position high on the back). None keeps
    the filter's pitch."""
    detector: dict[str, Any] = field(default_factory=dict)
    """Overrides for `StrokeHoldDetector`'s parameters."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class AnalysisDetails:
    """Intermediate signals at the analysis rate (M samples), for plots and diagnostics."""

    t_s: np.ndarray
    """(M,) s from the first sample."""
    pitch_deg: np.ndarray
    """(M,) elevation of the torso's long axis above horizontal, degrees."""
    position_cm: np.ndarray
    """(M,) contact along the back from the hips, cm (NaN off the roller)."""
    smooth_position_cm: np.ndarray
    """(M,) the same, smoothed as strokes and holds are found on it, cm."""
    labels: np.ndarray
    """(M,) phase per sample: upright, sitting, transition, on_roller."""
    posture: np.ndarray
    """(M,) hips_down / bridge on the roller, "" elsewhere."""
    sensor_to_body: np.ndarray
    """(3, 3) the rotation used (v_body = R @ v_sensor)."""

    def frame(self) -> Any:
        """The signals as a pandas DataFrame, one row per sample: t_s, pitch_deg, position_cm,
        smooth_position_cm, phase, posture."""
        import pandas as pd

        return pd.DataFrame(
            {
                "t_s": self.t_s,
                "pitch_deg": self.pitch_deg,
                "position_cm": self.position_cm,
                "smooth_position_cm": self.smooth_position_cm,
                "phase": self.labels.astype(str),
                "posture": self.posture.astype(str),
            }
        )


def analyze(
    recording: ImuRecording,
    guidance: Guidance = DEFAULT_GUIDANCE,
    *,
    roller_diameter_cm: float | None = None,
    parameters: AnalysisParameters | None = None,
) -> SessionAnalysis:
    """Analyse one recording (the steps in the module docstring). `roller_diameter_cm`
    overrides `guidance.roller_diameter_cm`."""
    return analyze_with_details(
        recording, guidance, roller_diameter_cm=roller_diameter_cm, parameters=parameters
    )[0]


def analyze_with_details(
    recording: ImuRecording,
    guidance: Guidance = DEFAULT_GUIDANCE,
    *,
    roller_diameter_cm: float | None = None,
    parameters: AnalysisParameters | None = None,
) -> tuple[SessionAnalysis, AnalysisDetails]:
    """`analyze`, and the intermediate signals it worked on (`AnalysisDetails`)."""
    if len(recording) and not recording.has_gyro:
        # Until accelerometer-only analysis exists (issue 9, item 3): say so, never guess.
        raise AnalysisUnavailableError(
            "accelerometer-only analysis is not available yet (this recording has no gyroscope, "
            "like a Polar H10's)",
            hint="keep the file: a later tracker version will analyse it; or record with a sensor that has a gyroscope",
        )
    params = parameters or AnalysisParameters()
    if roller_diameter_cm is not None:
        guidance = guidance.with_overrides(roller_diameter_cm=float(roller_diameter_cm))
    if len(recording) < 2 or recording.duration_s < MIN_DURATION_S:
        raise RecordingTooShortError(
            f"the recording holds {recording.duration_s:.1f} s; at least {MIN_DURATION_S:.0f} s are needed",
            hint="record a longer session",
        )
    notes: list[str] = list(recording.source.get("notes", [])) + list(
        recording.source.get("warnings", [])
    )

    sig = prepare_signals(
        recording,
        analysis_rate_hz=params.analysis_rate_hz,
        max_bridged_gap_s=params.max_bridged_gap_s,
        orientation=OrientationEstimator(tau_acc_s=params.vqf_tau_acc_s),
    )
    notes += sig.notes
    axes = BodyAxesEstimator().estimate(
        sig.up_sensor, sig.gyr_rad_s, sig.rate_hz, recording.calibration
    )
    notes += axes.notes_
    rot = axes.sensor_to_body_
    up_b = sig.up_sensor @ rot.T
    gyr_b = sig.gyr_rad_s @ rot.T
    acc_b = sig.acc_m_s2 @ rot.T

    seg = PostureSegmenter().segment(
        sig.t_s,
        up_b,
        gyr_b,
        sig.segment,
        roller_diameter_cm=guidance.roller_diameter_cm,
        hip_to_neck_cm=guidance.hip_to_neck_cm,
        gaps=sig.gaps,
        acc_body_m_s2=acc_b,
    )
    pitch_rad = np.arcsin(np.clip(up_b[:, 2], -1.0, 1.0))
    if params.gyro_pitch_window_s:
        pitch_rad = _roller_pitch(
            pitch_rad,
            acc_b,
            gyr_b,
            seg.on_roller_,
            sig.segment,
            sig.rate_hz,
            params.gyro_pitch_window_s,
        )
    contact = contact_estimator(guidance, params).estimate(
        sig.t_s, pitch_rad, acc_b, gyr_b, seg.posture_, sig.segment, exclude=seg.lift_mask_
    )
    notes += contact.notes_
    # lifting or lowering the hips turns the torso with the roller where it is: no stroke
    usable = seg.on_roller_ & ~sig.bridged & ~seg.lift_mask_
    detector_params = {"roller_diameter_cm": guidance.roller_diameter_cm, **params.detector}
    detector = StrokeHoldDetector(**detector_params).detect(
        sig.t_s,
        contact.position_cm_,
        seg.posture_,
        usable,
        guidance,
        bridge_moves=contact.bridge_moves_ if contact.segment_moves else None,
        pitch_deg=np.degrees(pitch_rad),
    )
    strokes = detector.strokes_
    if sig.gaps:
        # the motion inside a gap is unknown: a "stroke" from before a gap to after it has no pace
        kept = [s for s in strokes if not _spans_gap(s.start_s, s.end_s, sig.gaps)]
        if len(kept) < len(strokes):
            notes.append(
                f"left out {len(strokes) - len(kept)} stroke(s) that ran across a gap in the data"
            )
        strokes = detector.strokes_ = kept
        detector.holds_ = _cut_holds_at_gaps(detector.holds_, sig.gaps, guidance.hold_min_s)
    if params.bridge_distance_from_acc and not contact.segment_moves:
        strokes = [_refine_bridge_stroke(s, contact, sig.t_s) for s in strokes]
        detector.strokes_ = strokes
    smooth = detector.smooth_cm_
    # positions in bridged gaps and short unusable bits: carry the nearest estimate
    pos_for_time = fill_nearest(smooth, seg.on_roller_)

    dt = sample_durations(sig.t_s)  # a gap's time counts nowhere
    region_time = dict.fromkeys(REGIONS, 0.0)
    on_idx = np.flatnonzero(seg.on_roller_ & np.isfinite(pos_for_time))
    if on_idx.size:
        ri = region_indices(pos_for_time[on_idx], guidance)
        sums = np.bincount(ri, weights=dt[on_idx], minlength=len(REGIONS))
        region_time = {name: float(sums[i]) for i, name in enumerate(REGIONS)}

    warnings = (
        WarningRules(guidance)
        .evaluate(detector.strokes_, detector.holds_, sig.t_s, pos_for_time, seg.on_roller_)
        .warnings_
    )

    on_roller_s = float(dt[seg.on_roller_].sum())
    rolling_s = float(sum(s.duration_s for s in detector.strokes_))
    step = max(1, int(round(sig.rate_hz / params.track_rate_hz)))
    track = [
        (round(float(t), 3), round(float(p), 2))
        for t, p in zip(sig.t_s[::step], pos_for_time[::step], strict=False)
        if np.isfinite(p)
    ]
    postures = {s.posture for s in detector.strokes_} or set(
        str(p) for p in np.unique(seg.posture_[seg.on_roller_]) if p
    )
    posture = None if not postures else (postures.pop() if len(postures) == 1 else "mixed")
    result = SessionAnalysis(
        duration_s=float(recording.duration_s),
        on_roller_s=on_roller_s,
        rolling_s=rolling_s,
        strokes=detector.strokes_,
        holds=detector.holds_,
        warnings=warnings,
        phases=seg.phases_,
        region_time_s=region_time,
        position_track=track,
        posture=posture,
        parameters={
            "guidance": guidance.to_json(),
            "analysis": params.to_json(),
            "body_axes": {"source": axes.source_, "quality": axes.quality_},
            "sampling_rate_hz": sig.native_rate_hz,
        },
        tracker_version=__version__,
        notes=notes,
    )
    return result, AnalysisDetails(
        t_s=sig.t_s,
        pitch_deg=np.degrees(pitch_rad),
        position_cm=contact.position_cm_,
        smooth_position_cm=smooth,
        labels=seg.labels_,
        posture=seg.posture_,
        sensor_to_body=rot,
    )


def contact_estimator(
    guidance: Guidance = DEFAULT_GUIDANCE, parameters: AnalysisParameters | None = None
) -> ContactPositionEstimator:
    """The `ContactPositionEstimator` as `analyze` builds it from the guidance (roller, back
    length: a bridge's track and segmentation stay on the back) and the parameters (the
    orientation filter's accelerometer time constant, for the bridge's amplitudes). The live
    analysis builds its own from here, so both run the same bridge step."""
    params = parameters or AnalysisParameters()
    return ContactPositionEstimator(
        roller_diameter_cm=guidance.roller_diameter_cm,
        back_length_cm=guidance.hip_to_neck_cm,
        segmenter={"tilt_tau_s": params.vqf_tau_acc_s, "max_range_cm": guidance.hip_to_neck_cm},
    )


def _refine_bridge_stroke(stroke, contact: ContactPositionEstimator, t_s: np.ndarray):
    """A bridge stroke with its distance (and pace) from the acceleration's amplitude."""
    if stroke.posture != "bridge":
        return stroke
    dist = contact.stroke_distance_cm(t_s, stroke.start_s, stroke.end_s)
    if dist is None or not np.isfinite(dist) or dist <= 0:
        return stroke
    from dataclasses import replace

    return replace(stroke, distance_cm=float(dist), pace_cm_s=float(dist / stroke.duration_s))


def _roller_pitch(
    pitch_rad: np.ndarray,
    acc_b: np.ndarray,
    gyr_b: np.ndarray,
    on_roller: np.ndarray,
    segment: np.ndarray,
    rate_hz: float,
    window_s: float,
) -> np.ndarray:
    """`pitch_rad` with each stay on the roller (per gap-free segment) replaced by the gyro's
    pitch pinned to the accelerometer's inclination over `window_s`."""
    out = pitch_rad.copy()
    for a, b in runs(on_roller):
        for sa, sb in split_by(segment, a, b):
            if sb - sa >= int(2 * window_s * rate_hz):
                out[sa:sb] = gyro_pitch(
                    accel_pitch_rad(acc_b[sa:sb]), gyr_b[sa:sb, 1], rate_hz, window_s
                )
    return out


def _spans_gap(start_s: float, end_s: float, gaps: list[tuple[float, float]]) -> bool:
    """Whether [start_s, end_s] holds any of the unknown time of `gaps`."""
    return any(min(end_s, b) - max(start_s, a) > 0 for a, b in gaps)


def _cut_holds_at_gaps(holds: list, gaps: list[tuple[float, float]], min_s: float) -> list:
    """Holds with every gap longer than `MAX_GAP_IN_HOLD_S` cut out (parts under `min_s` go)."""
    from dataclasses import replace

    long_gaps = [(a, b) for a, b in gaps if b - a > MAX_GAP_IN_HOLD_S]
    out = []
    for hold in holds:
        parts = [(hold.start_s, hold.end_s)]
        for a, b in long_gaps:
            parts = [p for lo, hi in parts for p in ((lo, min(hi, a)), (max(lo, b), hi)) if p[1] > p[0]]
        for lo, hi in parts:
            if (lo, hi) == (hold.start_s, hold.end_s):
                out.append(hold)
            elif hi - lo >= min_s:
                out.append(replace(hold, start_s=lo, end_s=hi, duration_s=hi - lo))
    return out

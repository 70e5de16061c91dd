"""`analyze`: IMU samples in, a `SessionAnalysis` out. The steps, in order:

1. `prepare_signals`: gaps (bridged or split), VQF orientation (`OrientationEstimator`; without
   a gyroscope the tilt, `accel_only.TiltOrientationEstimator`), decimation to the analysis rate.
2. `BodyAxesEstimator`: the strap's rotation, from the calibration or the recording (without a
   gyroscope `GravityAxesEstimator`, from gravity directions alone).
3. `PostureSegmenter`: upright / sitting / transition / on_roller, hips down or bridge, and
   the lifts of the hips (no position there).
4. `ContactPositionEstimator`: where the roller touches the back, from the pitch on the roller
   (the gyro's, pinned to the accelerometer: `_roller_pitch`).
5. `StrokeHoldDetector`: strokes (distance, pace) and holds.
6. `tracker.analysis.activity`: what is not foam rolling (walking, a sensor on a table, lying
   without rolling, stretching) counts nowhere; a recording with no rolling at all is
   "not_rolling", with no strokes, holds or warnings.
7. Regions and `WarningRules`.
8. `tracker.analysis.uncertainty`: the ± of every pace and position.

Accelerometer-only recordings (`recording.has_gyro` False) branch where the gyroscope is needed
(see `tracker.analysis.accel_only`) and say in their notes and `parameters["accel_only"]` what
they cannot vouch for.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from tracker import __version__
from tracker.analysis import activity as activity_rules
from tracker.analysis import uncertainty
from tracker.analysis.accel_only import TiltOrientationEstimator, accel_only_report
from tracker.analysis.body_axes import BodyAxesEstimator
from tracker.analysis.contact import ContactPositionEstimator, accel_pitch_rad, gyro_pitch
from tracker.analysis.gravity_axes import GravityAxesEstimator
from tracker.analysis.io import MIN_DURATION_S
from tracker.analysis.kinematics import roller_diameter
from tracker.analysis.posture import PostureSegmenter
from tracker.analysis.signals import OrientationEstimator, prepare_signals
from tracker.analysis.steps.runs import fill_nearest, runs, split_by
from tracker.analysis.strokes import StrokeHoldDetector
from tracker.analysis.warnings import WarningRules, region_indices, sample_durations
from tracker.errors import RecordingTooShortError
from tracker.guidance import REGIONS, Guidance
from tracker.imu import ImuRecording
from tracker.results import Phase, SessionAnalysis, Stroke

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
    tilt: dict[str, Any] = field(default_factory=dict)
    """Overrides for the gyro-free orientation stage's parameters (accelerometer-only
    recordings: `tracker.analysis.accel_only.TiltOrientationEstimator`)."""

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
    position_pm_cm: np.ndarray | None = None
    """(M,) ± of the contact position the session reports (`smooth_position_cm` filled over
    short gaps), cm (NaN off the roller; `tracker.analysis.uncertainty`)."""
    track_cm: np.ndarray | None = None
    """(M,) the contact position the session reports (its track, time per region), cm."""

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
    """`analyze`, and the intermediate signals it worked on (`AnalysisDetails`).

    BLAS (numpy's matrix products) runs on one thread meanwhile: the analysis multiplies arrays
    of three columns and solves 3 x 3 systems, which threads do not speed up, while every
    threaded product leaves the BLAS library's worker threads spinning on the other cores for a
    while afterwards, taking them from other work (BENCHMARKS.md, issue 11)."""
    with _blas_threads().limit(limits=1, user_api="blas"):
        return _analyze_with_details(
            recording, guidance, roller_diameter_cm=roller_diameter_cm, parameters=parameters
        )


@functools.cache
def _blas_threads() -> Any:
    """The BLAS libraries loaded, found once: looking them up costs more than a short analysis.
    numpy's is the one the analysis uses (it never imports scipy, tests/analysis/test_notebook_api.py);
    one loaded later by someone else (scipy's) is not limited, and is not the analysis' to limit."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def _analyze_with_details(
    recording: ImuRecording,
    guidance: Guidance,
    *,
    roller_diameter_cm: float | None,
    parameters: AnalysisParameters | None,
) -> tuple[SessionAnalysis, AnalysisDetails]:
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

    has_gyro = recording.has_gyro
    sig = prepare_signals(
        recording,
        analysis_rate_hz=params.analysis_rate_hz,
        max_bridged_gap_s=params.max_bridged_gap_s,
        orientation=OrientationEstimator(tau_acc_s=params.vqf_tau_acc_s)
        if has_gyro
        else TiltOrientationEstimator(**params.tilt),
    )
    notes += sig.notes
    # walking, a sensor carried about or lying on a table say nothing of how it sits on a torso
    sensor_mask, other = activity_rules.sensor_spans(sig.t_s, sig.acc_m_s2, sig.gyr_rad_s, sig.rate_hz)
    worn = ~sensor_mask if np.count_nonzero(~sensor_mask) > 2 * sig.rate_hz else np.ones(len(sig.t_s), dtype=bool)
    axes: BodyAxesEstimator | GravityAxesEstimator
    if has_gyro:
        axes = BodyAxesEstimator().estimate(
            sig.up_sensor[worn], sig.gyr_rad_s[worn], sig.rate_hz, recording.calibration,
            acc_m_s2=sig.acc_m_s2[worn],
        )
    else:
        axes = GravityAxesEstimator().estimate(
            sig.up_sensor[worn],
            sig.rate_hz,
            recording.calibration,
            acc_m_s2=sig.acc_m_s2[worn],
            roller_diameter_cm=guidance.roller_diameter_cm,
            hip_to_neck_cm=guidance.hip_to_neck_cm,
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
        has_gyro=has_gyro,
    )
    # walking, a sensor on a table, poses no roller allows: not on a roller, whatever the pitch
    pose_mask, pose_other, pose_range = activity_rules.pose_spans(sig.t_s, up_b, gyr_b, sig.rate_hz, worn=~sensor_mask)
    _leave_roller(seg, sensor_mask & seg.on_roller_, "unknown", sig)
    _leave_roller(seg, pose_mask & seg.on_roller_, "lying", sig)
    pitch_rad = np.arcsin(np.clip(up_b[:, 2], -1.0, 1.0))
    if params.gyro_pitch_window_s and has_gyro:
        pitch_rad = _roller_pitch(
            pitch_rad,
            acc_b,
            gyr_b,
            seg.on_roller_,
            sig.segment,
            sig.rate_hz,
            params.gyro_pitch_window_s,
        )
    # the diameter the hips-down geometry uses: the configured one, unless the recording shows
    # it cannot be (`kinematics.RollerDiameter`); a new gap-free segment starts its windows anew
    hips_down = (seg.posture_ == "hips_down") & seg.on_roller_ & ~seg.lift_mask_ & ~sig.bridged
    hips_down[1:] &= sig.segment[1:] == sig.segment[:-1]
    roller = roller_diameter(
        pitch_rad, hips_down, sig.rate_hz, guidance.roller_diameter_cm, guidance.hip_to_neck_cm
    )
    if roller.note():
        notes.append(str(roller.note()))
    geometry = guidance.with_overrides(roller_diameter_cm=roller.used_cm)
    contact = contact_estimator(geometry, params, has_gyro=has_gyro).estimate(
        sig.t_s, pitch_rad, acc_b, gyr_b, seg.posture_, sig.segment, exclude=seg.lift_mask_
    )
    notes += contact.notes_
    # lifting or lowering the hips turns the torso with the roller where it is: no stroke
    usable = seg.on_roller_ & ~sig.bridged & ~seg.lift_mask_
    detector_params = {"roller_diameter_cm": roller.used_cm, **params.detector}
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
    strokes = [_with_snr(s, contact, sig.t_s) for s in strokes]
    # a stay on the roller that never rolled (lying still, a stretch) counts nowhere
    verdict = activity_rules.decide(
        sig.t_s,
        seg.labels_,
        activity_rules.rolling_stays(sig.t_s, seg.on_roller_, strokes),
        other + pose_other,
        pose_range,
        axes_inferred=axes.source_ == "inferred",
    )
    strokes, detector.holds_, lying = _drop_lying(verdict, strokes, detector.holds_, seg, sig, notes)
    detector.strokes_ = strokes
    accel_only_info: dict[str, Any] | None = None
    if not has_gyro:
        more, accel_only_info = accel_only_report(
            pitch_rad,
            seg.posture_,
            geometry.roller_diameter_cm,
            float(axes.quality_.get("pitch_offset_uncertainty_deg", 0.0)),
            getattr(axes, "pitch_reference_", "assumed"),
        )
        notes += more
    smooth = detector.smooth_cm_
    if lying.any():  # lying without rolling: no roller, no position
        smooth = np.where(lying, np.nan, smooth)
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
    t_track, p_track = sig.t_s[::step], pos_for_time[::step]
    known = np.isfinite(p_track)  # Python floats below: a numpy scalar per sample cost more
    track = [
        (round(t, 3), round(p, 2))
        for t, p in zip(t_track[known].tolist(), p_track[known].tolist(), strict=True)
    ]
    postures = {s.posture for s in detector.strokes_} or set(
        str(p) for p in np.unique(seg.posture_[seg.on_roller_]) if p
    )
    posture = None if not postures else (postures.pop() if len(postures) == 1 else "mixed")
    setup, signal = uncertainty.as_inputs(
        {"body_axes": {"source": axes.source_, "quality": axes.quality_}, "sampling_rate_hz": sig.native_rate_hz},
        has_gyro=recording.has_gyro,
        acc_noise=uncertainty.measure_noise(sig.acc_m_s2),
        gap_share=_lost_share(sig, recording.duration_s),
        roller_diameter_cm=guidance.roller_diameter_cm,
        hip_to_neck_cm=guidance.hip_to_neck_cm,
        calibration_given=recording.calibration is not None,
    )
    strokes, holds, unc, pos_pm = uncertainty.attach(
        detector.strokes_, detector.holds_, sig.t_s, pos_for_time, seg.posture_, seg.on_roller_, setup, signal
    )
    result = SessionAnalysis(
        duration_s=float(recording.duration_s),
        on_roller_s=on_roller_s,
        rolling_s=rolling_s,
        strokes=strokes,
        holds=holds,
        warnings=warnings,
        phases=seg.phases_,
        region_time_s=region_time,
        position_track=track,
        posture=posture,
        parameters={
            "guidance": guidance.to_json(),
            "analysis": params.to_json(),
            "body_axes": {"source": axes.source_, "quality": axes.quality_},
            "roller": roller.to_json(),
            "sampling_rate_hz": sig.native_rate_hz,
            "has_gyro": has_gyro,
            **({"accel_only": accel_only_info} if accel_only_info is not None else {}),
        },
        tracker_version=__version__,
        notes=notes,
        activity=verdict.activity,
        activity_reason=verdict.reason,
        other_activities=verdict.spans,
        uncertainty=unc if verdict.activity != "not_rolling" else None,
    )
    return result, AnalysisDetails(
        t_s=sig.t_s,
        pitch_deg=np.degrees(pitch_rad),
        position_cm=contact.position_cm_,
        smooth_position_cm=smooth,
        labels=seg.labels_,
        posture=seg.posture_,
        sensor_to_body=rot,
        position_pm_cm=pos_pm,
        track_cm=pos_for_time,
    )


def contact_estimator(
    guidance: Guidance = DEFAULT_GUIDANCE,
    parameters: AnalysisParameters | None = None,
    *,
    has_gyro: bool = True,
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
        has_gyro=has_gyro,
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


def _drop_lying(verdict, strokes: list, holds: list, seg: PostureSegmenter, sig, notes: list[str]) -> tuple[list, list, np.ndarray]:
    """The strokes and holds of the stays that rolled (`verdict.keep`); the stays that did not
    leave the roller (their samples, returned, are "lying")."""
    assert verdict.keep is not None
    keep = verdict.keep
    lying = seg.on_roller_ & ~keep
    if not lying.any():
        return strokes, holds, lying

    def in_rolling(start_s: float) -> bool:
        return bool(keep[min(int(np.searchsorted(sig.t_s, start_s)), len(sig.t_s) - 1)])

    kept_strokes = [s for s in strokes if in_rolling(s.start_s)]
    kept_holds = [h for h in holds if in_rolling(h.start_s)]
    _leave_roller(seg, lying, "lying", sig)
    if verdict.activity != "not_rolling" and (len(strokes) > len(kept_strokes) or len(holds) > len(kept_holds)):
        notes.append(
            f"left out {len(strokes) - len(kept_strokes)} stroke(s) and {len(holds) - len(kept_holds)} hold(s) of "
            f"{float(sample_durations(sig.t_s)[lying].sum()) / 60:.1f} min lying back without rolling"
        )
    return kept_strokes, kept_holds, lying


def _with_snr(stroke: Stroke, contact: ContactPositionEstimator, t_s: np.ndarray) -> Stroke:
    """A bridge stroke with its `snr` (how clearly its acceleration stands out of the noise)."""
    spine = getattr(contact, "spine_acc_m_s2_", None)
    if stroke.posture != "bridge" or spine is None:
        return stroke
    from dataclasses import replace

    snr = uncertainty.bridge_stroke_snr(t_s, spine, stroke.start_s, stroke.end_s)
    return stroke if snr is None else replace(stroke, snr=round(snr, 3))


def _leave_roller(seg: PostureSegmenter, mask: np.ndarray, label: str, sig) -> None:
    """Samples that are not on a roller after all (`mask`): relabelled, and the phases again."""
    if not mask.any():
        return
    from tracker.analysis.posture import UNKNOWN
    from tracker.analysis.steps.runs import label_runs

    seg.on_roller_ = seg.on_roller_ & ~mask
    seg.posture_ = np.where(mask, "", seg.posture_).astype(object)
    labels = seg.labels_.copy()
    labels[mask] = label
    seg.labels_ = labels
    t = sig.t_s
    phases = [
        Phase(str(lab), float(t[a]), float(t[b]) if b < len(t) else float(t[-1]))
        for lab, a, b in label_runs(labels)
    ]
    phases += [Phase(UNKNOWN, g0, g1) for g0, g1 in sig.gaps]
    seg.phases_ = sorted(phases, key=lambda p: p.start_s)


def _lost_share(sig, duration_s: float) -> float:
    """Share of the recording lost in gaps or filled in by interpolation."""
    if duration_s <= 0:
        return 0.0
    lost = sum(b - a for a, b in sig.gaps) + float(np.count_nonzero(sig.bridged)) / sig.rate_hz
    return min(1.0, lost / duration_s)


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

"""How far the numbers of an analysis can be trusted: a ± for pace and for position.

**Meaning.** Every ± is the half-width of an interval around the reported number that is meant
to hold the truth in about 80 % of cases (`COVERAGE`): the session's mean pace in 80 % of
sessions, a stroke's pace in 80 % of strokes, the contact's position along the back 80 % of the
time on the roller. It is a model, built from the physics of the measurement below, and it is
checked, not assumed: `benchmarks/analysis_accuracy.py` counts how often the interval held the
truth of both motion models (tuning seeds to choose the constants, reporting seeds to report;
BENCHMARKS.md). Each error source is a relative or absolute standard deviation; they add in
quadrature, and the half-width h is the one that holds 80 % of a normal error of that sd
centred on the known one-sided error (`bias`): P(|e| <= h) = 0.8 for e ~ N(bias, sd)
(`half_width`: Z80 * sd, 1.28 sd, without a bias; bias + 0.84 sd when the bias dominates).

**What drives it** (`UncertaintyModel` holds every constant, with its reason):

* *Hips down*, the contact comes from the torso pitch, s = r cot(theta / 2)
  (`tracker.analysis.kinematics`). Three things scale it:
  - the roller's radius r. A foam roller and the soft tissue of the back give way under the
    body: the contact sinks about 1-3 cm (issue 8). That lowers the line the back rests on
    (s = r cot(theta / 2) - sink cot(theta)), so with the nominal diameter (the setting) positions
    read high by sink cot(theta), a few cm, while the pace changes by only about sink / (2 r),
    which a rocking pelvis and a curved back offset (`sink_cm`, `geometry_bias`). A diameter
    estimated from the recording itself (`Setup.diameter_sd_cm`) replaces that with its own
    uncertainty;
  - the pitch's offset: one degree of pitch moves s by (r^2 + s^2) / (2 r) cm per radian and
    scales the pace by cot(theta / 2) per radian (8 % per degree at 25° of pitch), so the axes'
    source matters: a checked pairing calibration, axes inferred from the recording, or a
    calibration that did not fit (`pitch_offset_sd_deg`);
  - the body: a curved back and a pelvis that rocks are not the straight back pivoting about
    the hips that the formula assumes (`body_sd`).
  A stroke's own distance is the difference of two pitches at its turns, each as noisy as the
  pitch (`turn_pitch_sd_deg`): short strokes are relatively worse.
* *Bridge*, the contact comes from the chest's acceleration along the spine: a stroke's
  distance from the amplitude of its acceleration (D = a T^2 / 2 pi for the body, half of it
  for the contact). Its error is the noise floor over the stroke's own acceleration: 1 / SNR,
  the stroke's `Stroke.snr` (fitted amplitude over the residual's rms) when measured, else the
  floor `bridge_floor_m_s2` against 2 pi D / T^2. Very slow or short bridge strokes are near
  the floor: their pace is said to be unreliable in words, not only as a wide ±. Positions in a
  bridge are a running sum of stroke distances from the last hips-down contact (an anchor:
  lifting the hips leaves the roller where it was) or from an assumed start: they drift with
  every stroke since the anchor.
* *Signal*: a gyroscope-free recording has no pitch rate (its pitch is the accelerometer's,
  disturbed by every acceleration; `no_gyro_factor`); the sampling rate times the turns
  (1 / rate per turn); gaps in the data cut strokes and lose bridge anchors; measured sensor
  noise raises the floors above.

**Inputs** are plain dataclasses (`Setup`, `SignalQuality`, `StrokeEvidence`), so a better
per-stroke quality signal from the posture algorithms (`StrokeEvidence.rel_sd`, `snr`) or a
diameter estimated from the data (`Setup.diameter_sd_cm`) tightens the ± with no other change.
Live uses the same functions (`stroke_pace_pm`, `position_pm`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tracker.results import Stroke, Uncertainty

COVERAGE = 0.8
"""The share of cases each ± is meant to hold the truth in."""
Z80 = 1.2815516
"""Two-sided 80 % point of the standard normal distribution."""

CALIBRATIONS = ("given", "pairing", "inferred", "fell_back")
"""`Setup.calibration`: a calibration known to be right (a simulator's truth), a pairing
calibration that fitted the recording, body axes inferred from the recording, or a stored
calibration that did not fit (so inferred after all)."""


@dataclass(frozen=True)
class Setup:
    """What the analysis assumed about the body, the roller and the strap."""

    calibration: str = "inferred"
    """One of `CALIBRATIONS`."""
    roller_diameter_cm: float = 15.0
    diameter_sd_cm: float | None = None
    """None: the diameter is the nominal one (the setting), so the contact's sink into the roller
    and the back applies; a number: the diameter was estimated from the recording, to this sd."""
    hip_to_neck_cm: float = 50.0
    axes_separation: float | None = None
    """Inferred axes: how clearly the chest normal stood out (`BodyAxesEstimator`'s
    `eigen_separation`); below `UncertaintyModel.min_separation` the pitch offset is less sure."""


@dataclass(frozen=True)
class SignalQuality:
    """What the signal was like."""

    rate_hz: float = 100.0
    """The sensor's sampling rate."""
    has_gyro: bool = True
    acc_noise_m_s2: float | None = None
    """White noise of the specific force per analysis-rate sample (measured, `measure_noise`)."""
    gap_share: float = 0.0
    """Share of the recording lost in gaps or bridged by interpolation."""


@dataclass(frozen=True)
class StrokeEvidence:
    """One stroke as the model needs it (`evidence_of` makes one from a `Stroke`)."""

    posture: str
    duration_s: float
    distance_cm: float
    mid_cm: float | None = None
    """Contact at the stroke's middle, cm from the hips (sets the hips-down pitch)."""
    snr: float | None = None
    """`Stroke.snr`: measured clarity of a bridge stroke."""
    rel_sd: float | None = None
    """A posture algorithm's own relative sd for this stroke's distance, when it has one (it
    replaces the model's generic per-stroke term)."""


@dataclass(frozen=True)
class UncertaintyModel:
    """The constants (see the module docstring). Defaults were chosen on the tuning seeds of both
    motion models (benchmarks/analysis_accuracy.py); BENCHMARKS.md reports the coverage."""

    sink_cm: float = 1.2
    """How far the contact sinks into roller and back, on average (issue 8: 1-3 cm; the radius
    that explains model 2's geometry is 0.3-1.9 cm smaller than the roller's, mean 1.2)."""
    sink_sd_cm: float = 0.3
    """Its spread from person to person and roller to roller."""
    body_sd: dict[str, float] = field(default_factory=lambda: {"hips_down": 0.03, "bridge": 0.07})
    """Per-session relative sd of the pace from what the model of the body leaves out (a curved
    back and a rocking pelvis hips down; the roll ratio and the gravity removal in a bridge) and
    from how a person moves (stroke shapes, dwell at the turns)."""
    stroke_sd: dict[str, float] = field(default_factory=lambda: {"hips_down": 0.13, "bridge": 0.10})
    """Per-stroke relative sd of a stroke's distance on top of the session's (shape of the
    stroke, where its turns are placed)."""
    pitch_offset_sd_deg: dict[str, float] = field(
        default_factory=lambda: {"given": 0.2, "pairing": 0.3, "inferred": 0.4, "fell_back": 0.8}
    )
    """Sd of the pitch's offset by the axes' source (the body_axes docstring: a few tenths of a
    degree from the recording, a standing lean of a few degrees uncorrected)."""
    bridge_axes_rel_per_deg: float = 0.02
    """A bridge pace's relative sd per degree of the axes' tilt."""
    min_separation: float = 4.0
    low_separation_factor: float = 2.0
    turn_pitch_sd_deg: float = 0.4
    """Sd of the pitch at a hips-down turn: breathing tilts the chest by a few tenths of a degree."""
    snr_independent: float = 4.0
    """Independent samples of the residual in one bridge stroke: the sine's amplitude fitted to n
    independent samples is off by sqrt(2 / n) / SNR of itself, and what the fit leaves is slow
    (breathing, the pelvis, the strap), so a stroke holds only a few of them."""
    bridge_floor_m_s2: float = 0.006
    """Acceleration noise floor of a bridge stroke when its SNR was not measured (breathing, the
    gravity removal's residual tilt, sensor noise)."""
    bridge_offset_sd_cm: dict[str, float] = field(
        default_factory=lambda: {"anchored": 8.0, "assumed": 10.0}
    )
    """Sd of a bridge bout's start: handed over from the hips-down contact before it (plus that
    contact's own uncertainty), or an assumed start (anywhere on the back)."""
    bridge_drift_sd: float = 0.15
    """Relative sd of each bridge move's distance in the position track that is its own (they add
    up between anchors like a random walk; the scale error that all moves share cancels between
    a move up and a move back, so it is `body_sd` over the net displacement, not this)."""
    position_body_sd_cm: float = 0.8
    """A hips-down position's sd from the body's shape (the contact is not where a straight back
    would touch)."""
    no_gyro_factor: float = 2.0
    """Without a gyroscope the pitch is the accelerometer's: every sd of the pitch and of a
    stroke is this much larger (an assumption until the gyro-free path is measured)."""
    rough_rel: float = 0.2
    unreliable_rel: float = 0.6
    """A pace whose ± is over this share of it is unreliable: said in words (a bridge stroke
    whose acceleration barely rises above the noise, SNR under about 2.5, is one)."""
    rough_cm: float = 6.0
    unreliable_cm: float = 12.0
    """A position whose ± is over this (about a region's length) is unreliable."""

    # --- pace -------------------------------------------------------------------------------------
    def pitch_offset_sd_rad(self, setup: Setup, signal: SignalQuality) -> float:
        sd = self.pitch_offset_sd_deg.get(setup.calibration, self.pitch_offset_sd_deg["inferred"])
        inferred = setup.calibration in ("inferred", "fell_back")
        if inferred and setup.axes_separation is not None and setup.axes_separation < self.min_separation:
            sd *= self.low_separation_factor
        if not signal.has_gyro:
            sd *= self.no_gyro_factor
        return math.radians(sd)

    def geometry_bias(self, setup: Setup) -> float:
        """Relative error a hips-down pace is expected to have from the contact's sink with the
        nominal diameter: none on average. The sink lowers the line the back rests on without
        moving the roller's centre, so s = r cot(theta / 2) - sink cot(theta) (the roller's
        radius less the sink is the circle the back is tangent to): the positions shift by
        `position_bias_cm` but the pace, ds/dtheta, changes by only about sink / (2 r), and a
        rocking pelvis and a curved back move it either way (model 2's hips-down sessions read
        neither high nor low on the tuning seeds). Its spread is in `systematic_sd`."""
        return 0.0

    def position_bias_cm(self, s_cm: float, setup: Setup) -> float:
        """How far a hips-down contact at `s_cm` reads high from the sink: sink * cot(theta)
        with theta = 2 atan(r / s), cot(theta) = (s^2 - r^2) / (2 r s) (see `geometry_bias`);
        0 when the diameter was estimated."""
        return float(self.position_bias_array_cm(np.array([s_cm], dtype=float), setup)[0])

    def position_bias_array_cm(self, s_cm: np.ndarray, setup: Setup) -> np.ndarray:
        """`position_bias_cm` of every contact in `s_cm` at once."""
        if setup.diameter_sd_cm is not None:
            return np.zeros(len(s_cm))
        r = 0.5 * setup.roller_diameter_cm
        s = np.maximum(np.asarray(s_cm, dtype=float), r)
        return self.sink_cm * (s * s - r * r) / (2.0 * r * s)

    def systematic_sd(self, posture: str, setup: Setup, signal: SignalQuality, mid_cm: float | None = None) -> float:
        """Relative sd of the pace shared by every stroke of one posture in a session."""
        r = 0.5 * setup.roller_diameter_cm
        body = self.body_sd.get(posture, max(self.body_sd.values()))
        if posture != "hips_down":
            # a constant tilt of the spine axis leaks a constant share of g, which the stroke's
            # fit removes with its constant; what is left is motion across the spine read along it
            cal = self.bridge_axes_rel_per_deg * math.degrees(self.pitch_offset_sd_rad(setup, signal))
            return math.hypot(body, cal)
        if setup.diameter_sd_cm is not None:
            geo = setup.diameter_sd_cm / max(setup.roller_diameter_cm, 1.0)
        else:
            # the sink's share of the pace (`geometry_bias`): its mean is offset by the pelvis and
            # the back, its spread from person to person and roller to roller is sink_sd / (2 r)
            geo = self.sink_sd_cm / (2.0 * r)
        s = mid_cm if mid_cm is not None and mid_cm > 0 else 0.6 * setup.hip_to_neck_cm
        half_pitch = math.atan2(r, s)  # theta / 2
        cal = self.pitch_offset_sd_rad(setup, signal) / math.tan(half_pitch)
        return math.sqrt(body * body + geo * geo + cal * cal)

    def stroke_sd_rel(self, e: StrokeEvidence, setup: Setup, signal: SignalQuality) -> float:
        """Relative sd of one stroke's pace beyond the session's systematic part."""
        if e.rel_sd is not None:
            own = e.rel_sd
        else:
            own = self.stroke_sd.get(e.posture, max(self.stroke_sd.values()))
        d = max(e.distance_cm, 0.5)
        gyro = 1.0 if signal.has_gyro else self.no_gyro_factor
        if e.posture == "hips_down":
            r = 0.5 * setup.roller_diameter_cm
            s = e.mid_cm if e.mid_cm is not None and e.mid_cm > 0 else 0.6 * setup.hip_to_neck_cm
            per_rad = (r * r + s * s) / (2.0 * r)  # ds/dtheta, cm/rad
            turns = math.sqrt(2.0) * per_rad * math.radians(self.turn_pitch_sd_deg) * gyro / d
        else:
            if e.snr is not None and e.snr > 0:
                turns = self.snr_independent**-0.5 * math.sqrt(2.0) / e.snr
            else:
                amp = 2.0 * math.pi * (2.0 * d / 100.0) / max(e.duration_s, 0.1) ** 2
                floor = self.bridge_floor_m_s2
                if signal.acc_noise_m_s2 is not None:
                    floor = math.hypot(floor, signal.acc_noise_m_s2 / 5.0)
                turns = gyro * floor / amp
        timing = math.sqrt(2.0) / (max(signal.rate_hz, 1.0) * max(e.duration_s, 0.1))
        return math.sqrt(own * own + turns * turns + timing * timing)

    def stroke_pace_pm(self, e: StrokeEvidence, pace_cm_s: float, setup: Setup, signal: SignalQuality) -> float:
        """± of one stroke's pace, cm/s."""
        bias = self.geometry_bias(setup) if e.posture == "hips_down" else 0.0
        sd = math.hypot(self.systematic_sd(e.posture, setup, signal, e.mid_cm), self.stroke_sd_rel(e, setup, signal))
        return abs(pace_cm_s) * half_width(bias, sd)

    def mean_pace_pm_rel(self, strokes: Sequence[StrokeEvidence], setup: Setup, signal: SignalQuality) -> float | None:
        """± of the stroke-time-weighted mean pace, as a share of it (None without strokes)."""
        total = sum(e.duration_s for e in strokes)
        if total <= 0:
            return None
        var = 0.0
        bias = 0.0
        by_posture: dict[str, list[StrokeEvidence]] = {}
        for e in strokes:
            by_posture.setdefault(e.posture, []).append(e)
            w = e.duration_s / total
            var += (w * self.stroke_sd_rel(e, setup, signal)) ** 2
        for posture, group in by_posture.items():
            w = sum(e.duration_s for e in group) / total
            mids = [e.mid_cm for e in group if e.mid_cm is not None]
            mid = float(np.median(mids)) if mids else None
            var += (w * self.systematic_sd(posture, setup, signal, mid)) ** 2
            if posture == "hips_down":
                bias += w * self.geometry_bias(setup)
        # a lost share of the session holds strokes that were not seen (their pace is unknown)
        var += signal.gap_share**2
        return half_width(bias, math.sqrt(var))

    # --- position ---------------------------------------------------------------------------------
    def hips_down_position_pm(self, s_cm: float, setup: Setup, signal: SignalQuality) -> float:
        """± of a hips-down contact at `s_cm` from the hips, cm."""
        return float(self.hips_down_position_pm_array(np.array([s_cm], dtype=float), setup, signal)[0])

    def hips_down_position_pm_array(self, s_cm: np.ndarray, setup: Setup, signal: SignalQuality) -> np.ndarray:
        """`hips_down_position_pm` of every contact in `s_cm` at once."""
        r = 0.5 * setup.roller_diameter_cm
        s = np.maximum(np.asarray(s_cm, dtype=float), 1.0)
        if setup.diameter_sd_cm is not None:
            bias = np.zeros(len(s))
            geo = s * setup.diameter_sd_cm / max(setup.roller_diameter_cm, 1.0)
        else:
            bias = self.position_bias_array_cm(s, setup)
            geo = bias * self.sink_sd_cm / max(self.sink_cm, 1e-6)
        per_rad = (r * r + s * s) / (2.0 * r)
        pitch = per_rad * self.pitch_offset_sd_rad(setup, signal)
        sd = np.sqrt(geo * geo + pitch * pitch + self.position_body_sd_cm**2)
        return np.minimum(half_width_array(bias, sd), setup.hip_to_neck_cm)

    def bridge_position_pm(
        self, start_pm_cm: float | None, travelled_cm: float, strokes_since: int, setup: Setup, net_cm: float = 0.0
    ) -> float:
        """± of a bridge contact, cm: the bout's start (`start_pm_cm`, the ± of the hips-down
        contact it was handed over from, or None for an assumed start), the drift of
        `strokes_since` strokes that travelled `travelled_cm` since (each stroke's own error adds
        up like a random walk), and the scale error over the net displacement `net_cm`."""
        one = self.bridge_position_pm_array(
            start_pm_cm, np.array([travelled_cm], dtype=float), np.array([strokes_since]), setup, np.array([net_cm], dtype=float)
        )  # fmt: skip
        return float(one[0])

    def bridge_position_pm_array(
        self, start_pm_cm: float | None, travelled_cm: np.ndarray, strokes_since: np.ndarray, setup: Setup,
        net_cm: np.ndarray,
    ) -> np.ndarray:  # fmt: skip
        """`bridge_position_pm` of many contacts of one bout at once."""
        if start_pm_cm is None:
            start_sd = self.bridge_offset_sd_cm["assumed"]
        else:
            start_sd = math.hypot(start_pm_cm / Z80, self.bridge_offset_sd_cm["anchored"])
        body = self.body_sd.get("bridge", 0.15)
        k = np.asarray(strokes_since, dtype=float)
        mean_d = np.where(k > 0, np.asarray(travelled_cm, dtype=float) / np.maximum(k, 1.0), 0.0)
        drift = np.sqrt(k * (self.bridge_drift_sd * mean_d) ** 2 + (body * np.asarray(net_cm, dtype=float)) ** 2)
        sd = np.hypot(start_sd, drift)
        # the roller stays on the back: no estimate is further off than its length
        return np.minimum(half_width_array(np.zeros(len(sd)), sd), setup.hip_to_neck_cm)

    # --- words --------------------------------------------------------------------------------------
    def pace_trust(self, rel: float | None) -> str:
        if rel is None or rel <= self.rough_rel:
            return "good"
        return "rough" if rel <= self.unreliable_rel else "unreliable"

    def position_trust(self, pm_cm: float | None) -> str:
        if pm_cm is None or pm_cm <= self.rough_cm:
            return "good"
        return "rough" if pm_cm <= self.unreliable_cm else "unreliable"


DEFAULT_MODEL = UncertaintyModel()


def _normal_cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def half_width(bias: float, sd: float, coverage: float = COVERAGE) -> float:
    """h with P(|e| <= h) = `coverage` for e normal with mean `bias` and sd `sd` (the quantile
    of a folded normal distribution). h / sd depends on bias / sd alone: for the default
    coverage it is read from a table of that ratio (`_folded_table`, built once by bisection;
    the position track asks for tens of thousands of these), else found by bisection."""
    bias, sd = abs(float(bias)), max(float(sd), 0.0)
    if sd <= 1e-12:
        return bias
    if coverage == COVERAGE:
        ratios, widths, tail = _folded_table()
        r = bias / sd
        if r >= ratios[-1]:  # the far tail is negligible: a one-sided quantile
            return bias + tail * sd
        return float(np.interp(r, ratios, widths)) * sd
    return _half_width_bisection(bias, sd, coverage)


def half_width_array(bias: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """`half_width` at the default coverage for arrays of biases and sds."""
    ratios, widths, tail = _folded_table()
    b = np.abs(np.asarray(bias, dtype=float))
    sd = np.maximum(np.asarray(sd, dtype=float), 0.0)
    tiny = sd <= 1e-12
    r = np.where(tiny, 0.0, b / np.where(tiny, 1.0, sd))
    h = np.where(r >= ratios[-1], b + tail * sd, np.interp(r, ratios, widths) * sd)
    return np.where(tiny, b, h)


_FOLDED_RATIO_MAX = 8.0
_FOLDED_STEP = 0.01


@functools.lru_cache(maxsize=1)
def _folded_table() -> tuple[np.ndarray, np.ndarray, float]:
    """h / sd of `half_width` on a grid of bias / sd from 0 to `_FOLDED_RATIO_MAX` (linear
    interpolation between grid points is good to about 1e-5 of sd), and the one-sided
    quantile that holds beyond it."""
    ratios = np.arange(0.0, _FOLDED_RATIO_MAX + _FOLDED_STEP / 2, _FOLDED_STEP)
    widths = np.array([_half_width_bisection(r, 1.0, COVERAGE) for r in ratios])
    tail = _half_width_bisection(50.0, 1.0, COVERAGE) - 50.0
    return ratios, widths, tail


def _half_width_bisection(bias: float, sd: float, coverage: float) -> float:
    lo, hi = 0.0, bias + 6.0 * sd
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if _normal_cdf((mid - bias) / sd) - _normal_cdf((-mid - bias) / sd) < coverage:
            lo = mid
        else:
            hi = mid
    return hi


def evidence_of(stroke: Stroke, rel_sd: float | None = None) -> StrokeEvidence:
    """The model's view of a `Stroke`."""
    mid = None
    if stroke.start_cm is not None and stroke.end_cm is not None:
        mid = 0.5 * (stroke.start_cm + stroke.end_cm)
    return StrokeEvidence(
        posture=stroke.posture,
        duration_s=stroke.duration_s,
        distance_cm=stroke.distance_cm,
        mid_cm=mid,
        snr=stroke.snr,
        rel_sd=rel_sd,
    )


# --- measured signal quality -------------------------------------------------------------------------
def measure_noise(acc_m_s2: np.ndarray) -> float | None:
    """White noise of the specific force per sample, m/s²: a robust spread of the sample-to-sample
    differences of its magnitude (body motion on a roller is far slower than the sampling, so
    the differences are the sensor's noise, the heartbeat and the strap's bounce)."""
    a = np.asarray(acc_m_s2, dtype=float)
    if a.ndim != 2 or len(a) < 16:
        return None
    mag = np.linalg.norm(a, axis=1)
    d = np.diff(mag[np.isfinite(mag)])
    if len(d) < 8:
        return None
    return float(np.median(np.abs(d - np.median(d))) / 0.6745 / math.sqrt(2.0))


def spine_acceleration(acc_body_m_s2: np.ndarray, gyr_body_rad_s: np.ndarray, rate_hz: float, window_s: float = 40.0) -> np.ndarray:
    """The gravity-free acceleration along the spine over a stretch of a bridge, m/s², as the
    bridge step computes it (the gyro's pitch pinned to the accelerometer's over `window_s`,
    `tracker.analysis.contact`): what `bridge_stroke_snr` fits. The live session runs it on its
    bridge window."""
    from tracker.analysis.contact import accel_pitch_rad, gyro_pitch
    from tracker.imu import STANDARD_GRAVITY_M_S2

    acc = np.asarray(acc_body_m_s2, dtype=float)
    pitch = gyro_pitch(accel_pitch_rad(acc), np.asarray(gyr_body_rad_s, dtype=float)[:, 1], rate_hz, window_s)
    spine = acc[:, 2] - STANDARD_GRAVITY_M_S2 * np.sin(pitch)
    return spine - float(np.median(spine))


def bridge_stroke_snr(t_s: np.ndarray, spine_acc_m_s2: np.ndarray, start_s: float, end_s: float) -> float | None:
    """A bridge stroke's clarity: the amplitude of one sine period (with a constant) fitted to the
    along-spine acceleration over the stroke, over the rms of what the fit leaves (the fit that
    gives the stroke its distance, `ContactPositionEstimator.stroke_distance_cm`). None when the
    stroke has too few samples."""
    i0, i1 = int(np.searchsorted(t_s, start_s)), int(np.searchsorted(t_s, end_s))
    if i1 - i0 < 8:
        return None
    acc = np.asarray(spine_acc_m_s2[i0:i1], dtype=float)
    if not np.all(np.isfinite(acc)):
        return None
    u = (t_s[i0:i1] - start_s) / max(end_s - start_s, 1e-9)
    design = np.column_stack([np.sin(2.0 * np.pi * u), np.ones(i1 - i0)])
    coef, *_ = np.linalg.lstsq(design, acc, rcond=None)
    residual = acc - design @ coef
    return float(abs(coef[0]) / max(float(np.std(residual)), 1e-5))


# --- the session's assessment ---------------------------------------------------------------------------
@dataclass
class TrackSpan:
    """A stretch of one posture on the roller, as the position model needs it."""

    posture: str
    i0: int
    i1: int
    anchored: bool = True
    """Bridge: its start was handed over from a hips-down contact (False: assumed)."""


def position_pm_track(
    t_s: np.ndarray,
    position_cm: np.ndarray,
    posture: np.ndarray,
    strokes: Sequence[Stroke],
    setup: Setup,
    signal: SignalQuality,
    *,
    model: UncertaintyModel | None = None,
    handover_s: float = 5.0,
) -> np.ndarray:
    """(M,) ± of the contact at every sample, cm (NaN where there is no contact). Hips down from
    the pitch geometry; a bridge bout from its start (the hips-down contact just before it, or
    assumed) and the strokes since."""
    from tracker.analysis.steps.runs import label_runs

    model = model or DEFAULT_MODEL
    pos = np.asarray(position_cm, dtype=float)
    out = np.full(len(pos), np.nan)
    hd = (posture == "hips_down") & np.isfinite(pos)
    if hd.any():
        out[hd] = model.hips_down_position_pm_array(pos[hd], setup, signal)
    bridge_strokes = sorted((s for s in strokes if s.posture == "bridge"), key=lambda s: s.start_s)
    for label, a, b in label_runs(np.asarray(posture, dtype=object)):
        if label != "bridge":
            continue
        before = np.flatnonzero(hd[:a] & (t_s[:a] >= t_s[a] - handover_s))
        start_pm = float(out[before[-1]]) if before.size else None
        after = np.flatnonzero(hd[b:] & (t_s[b:] <= t_s[b - 1] + handover_s))
        end_pm = float(out[b + after[0]]) if after.size else None
        inside = [s for s in bridge_strokes if t_s[a] <= s.start_s < t_s[b - 1]]
        ends = np.array([s.end_s for s in inside])
        dists = np.cumsum([s.distance_cm for s in inside]) if inside else np.zeros(0)
        total_n, total_d = len(inside), float(dists[-1]) if len(dists) else 0.0
        idx = np.arange(a, b)[np.isfinite(pos[a:b])]
        k = np.searchsorted(ends, t_s[idx], side="right")
        travelled = np.where(k > 0, dists[np.maximum(k - 1, 0)] if len(dists) else 0.0, 0.0)
        pm = model.bridge_position_pm_array(start_pm, travelled, k, setup, np.abs(pos[idx] - pos[a]))
        if end_pm is not None:
            # the hips-down contact after the bout pins its end (the error is spread back)
            back = model.bridge_position_pm_array(
                end_pm, total_d - travelled, total_n - k, setup, np.abs(pos[idx] - pos[b - 1])
            )
            pm = np.minimum(pm, back)
        out[idx] = pm
    return out


def assess_session(
    strokes: Sequence[Stroke],
    t_s: np.ndarray | None,
    position_cm: np.ndarray | None,
    posture: np.ndarray | None,
    on_roller: np.ndarray | None,
    setup: Setup,
    signal: SignalQuality,
    *,
    model: UncertaintyModel | None = None,
    stroke_rel_sd: Sequence[float | None] | None = None,
) -> tuple[Uncertainty, list[float], np.ndarray]:
    """The session's `Uncertainty`, each stroke's pace ± (cm/s) and the per-sample position ±
    (cm, NaN off the roller). `t_s`, `position_cm`, `posture`, `on_roller` are the analysis-rate
    signals (None: no position assessment)."""
    model = model or DEFAULT_MODEL
    rel_sds = list(stroke_rel_sd) if stroke_rel_sd is not None else [None] * len(strokes)
    ev = [evidence_of(s, r) for s, r in zip(strokes, rel_sds, strict=True)]
    pace_pm = [model.stroke_pace_pm(e, s.pace_cm_s, setup, signal) for e, s in zip(ev, strokes, strict=True)]
    rel = model.mean_pace_pm_rel(ev, setup, signal)
    total = sum(s.duration_s for s in strokes)
    mean = sum(s.pace_cm_s * s.duration_s for s in strokes) / total if total > 0 else 0.0
    pos_pm = np.full(0, np.nan)
    by_posture: dict[str, float] = {}
    overall = None
    if t_s is not None and position_cm is not None and posture is not None:
        pos_pm = position_pm_track(t_s, position_cm, posture, strokes, setup, signal, model=model)
        on = np.isfinite(pos_pm) & (on_roller if on_roller is not None else True)
        if on.any():
            overall = float(np.median(pos_pm[on]))
            for p in ("hips_down", "bridge"):
                sel = on & (posture == p)
                if sel.any():
                    by_posture[p] = float(np.median(pos_pm[sel]))
    caveats = _caveats(strokes, pace_pm, rel, by_posture, setup, signal, model)
    unc = Uncertainty(
        mean_pace_pm_cm_s=None if rel is None else rel * mean,
        mean_pace_pm_rel=rel,
        position_pm_cm=overall,
        position_pm_by_posture_cm=by_posture,
        pace_trust=model.pace_trust(rel),
        position_trust=model.position_trust(overall),
        caveats=caveats,
        inputs={
            "calibration": setup.calibration,
            "roller_diameter_cm": setup.roller_diameter_cm,
            "diameter_source": "setting" if setup.diameter_sd_cm is None else "estimated",
            "sampling_rate_hz": round(signal.rate_hz, 3),
            "has_gyro": signal.has_gyro,
            "acc_noise_m_s2": None if signal.acc_noise_m_s2 is None else round(signal.acc_noise_m_s2, 5),
            "gap_share": round(signal.gap_share, 4),
        },
        coverage=COVERAGE,
    )
    return unc, pace_pm, pos_pm


def attach(
    strokes: Sequence[Stroke],
    holds: Sequence[Any],
    t_s: np.ndarray,
    position_cm: np.ndarray,
    posture: np.ndarray,
    on_roller: np.ndarray,
    setup: Setup,
    signal: SignalQuality,
    *,
    model: UncertaintyModel | None = None,
) -> tuple[list[Stroke], list[Any], Uncertainty, np.ndarray]:
    """`assess_session`, with each stroke's pace ± and each hold's position ± filled in; also
    the per-sample position ± (cm, NaN off the roller)."""
    from dataclasses import replace

    unc, pace_pm, pos_pm = assess_session(strokes, t_s, position_cm, posture, on_roller, setup, signal, model=model)
    out_strokes = [replace(s, pace_pm_cm_s=float(pm)) for s, pm in zip(strokes, pace_pm, strict=True)]
    out_holds = []
    for h in holds:
        i0, i1 = np.searchsorted(t_s, [h.start_s, h.end_s])
        inside = pos_pm[i0 : max(i1, i0 + 1)] if len(pos_pm) else np.zeros(0)
        inside = inside[np.isfinite(inside)]
        out_holds.append(replace(h, position_pm_cm=float(np.median(inside)) if inside.size else None))
    return out_strokes, out_holds, unc, pos_pm


def unreliable_strokes(strokes: Sequence[Stroke], model: UncertaintyModel | None = None) -> list[Stroke]:
    """Strokes whose pace ± is over `unreliable_rel` of the pace."""
    model = model or DEFAULT_MODEL
    return [
        s
        for s in strokes
        if s.pace_pm_cm_s is not None and s.pace_cm_s > 0 and s.pace_pm_cm_s / s.pace_cm_s > model.unreliable_rel
    ]


def _caveats(
    strokes: Sequence[Stroke],
    pace_pm: Sequence[float],
    rel: float | None,
    by_posture: dict[str, float],
    setup: Setup,
    signal: SignalQuality,
    model: UncertaintyModel,
) -> list[str]:
    """What makes this session's numbers uncertain, in words (largest effects first)."""
    out: list[tuple[float, str]] = []
    if not signal.has_gyro:
        out.append((3.0, "no gyroscope: the pitch comes from the accelerometer alone, so paces and positions are rough"))
    bridge = [(s, h) for s, h in zip(strokes, pace_pm, strict=True) if s.posture == "bridge"]
    if bridge:
        unclear = [s for s, h in bridge if s.pace_cm_s > 0 and h / s.pace_cm_s > model.unreliable_rel]
        if unclear:
            slow = float(np.median([s.pace_cm_s for s in unclear]))
            out.append((
                2.0 + len(unclear) / len(bridge),
                f"{len(unclear)} of {len(bridge)} bridge strokes barely rise above the noise (slow or short, "
                f"around {slow:.1f} cm/s): their pace is a guess",
            ))  # fmt: skip
    pm_bridge = by_posture.get("bridge")
    if pm_bridge is not None and pm_bridge > model.rough_cm:
        out.append((
            1.5,
            f"positions in a bridge are summed from the strokes since the hips were last down: "
            f"± {pm_bridge:.0f} cm",
        ))  # fmt: skip
    hd = [s for s in strokes if s.posture == "hips_down"]
    if (hd or "hips_down" in by_posture) and setup.diameter_sd_cm is None:
        out.append((
            1.0 + model.geometry_bias(setup),
            f"hips down, paces and positions scale with the roller's diameter ({setup.roller_diameter_cm:g} cm, "
            f"your setting); where a roller and back give way, positions read a few cm toward the head",
        ))  # fmt: skip
    if setup.calibration in ("inferred", "fell_back"):
        why = "the stored calibration did not fit" if setup.calibration == "fell_back" else "no pairing calibration"
        out.append((0.8, f"{why}: the strap's rotation was inferred from the recording (`tracker pair` narrows the ±)"))
    if signal.gap_share > 0.02:
        out.append((0.5 + signal.gap_share, f"{100 * signal.gap_share:.0f} % of the recording was lost in gaps"))
    if rel is not None and rel > model.unreliable_rel:
        out.append((4.0, f"the mean pace is uncertain by ± {100 * rel:.0f} %: read it as a rough guide"))
    out.sort(key=lambda x: -x[0])
    return [text for _w, text in out]


def as_inputs(parameters: dict[str, Any], has_gyro: bool, acc_noise: float | None, gap_share: float,
              roller_diameter_cm: float, hip_to_neck_cm: float, calibration_given: bool) -> tuple[Setup, SignalQuality]:  # fmt: skip
    """`Setup` and `SignalQuality` from an analysis's parameters (`SessionAnalysis.parameters`)."""
    axes = parameters.get("body_axes", {}) if isinstance(parameters, dict) else {}
    source = str(axes.get("source") or "inferred")
    quality = axes.get("quality") or {}
    if source == "inferred":
        calibration = "fell_back" if calibration_given else "inferred"
    elif source == "pairing":
        calibration = "pairing"
    else:
        calibration = "given"
    setup = Setup(
        calibration=calibration,
        roller_diameter_cm=float(roller_diameter_cm),
        hip_to_neck_cm=float(hip_to_neck_cm),
        axes_separation=quality.get("eigen_separation") if calibration in ("inferred", "fell_back") else None,
    )
    signal = SignalQuality(
        rate_hz=float(parameters.get("sampling_rate_hz") or 100.0),
        has_gyro=has_gyro,
        acc_noise_m_s2=acc_noise,
        gap_share=float(gap_share),
    )
    return setup, signal

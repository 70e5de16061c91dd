"""Is this foam rolling? Recordings (and stretches of them) that are something else are reported
as what they are, never as strokes and holds.

What tells them apart is physics, not a trained classifier:

| what                   | seen as                                                                 |
| ---------------------- | ----------------------------------------------------------------------- |
| walking                | steps: the specific force swings by > 0.5 m/s² rms at 1.2-2.8 steps/s   |
| carried about          | steps with the sensor turning freely (fast rotation, gravity wandering)  |
| left on a table        | no breathing, no heartbeat: breathing-band rotation under 0.04 °/s and  |
|                        | specific force at its noise floor for a minute                           |
| sitting or standing    | the torso never lay back (no time on the roller at all)                  |
| lying still            | lay back but never rolled: fewer than 2 clear strokes in the stay        |
| stretching             | poses no roller allows: face down, head below the hips, lying on the    |
|                        | side, or held poses more than 130° apart (rolling needs about 110°)      |

The first three come from `tracker.analysis.steps.activity` on sensor-frame samples (no body
axes: these are the recordings the axes cannot be learned from); the poses from the body
frame; "clear strokes" from the rolling analysis itself: a hips-down stroke (the pitch moved the
contact), or a bridge stroke whose acceleration stands out of the noise (`Stroke.snr` at least
`clear_snr`; breathing and the gravity removal's residual, lying flat on the floor, make bridge
"strokes" whose fit explains little more than the noise, SNR 0.7-2.6 on model 2's lying still,
against a median of 4-6 for real bridge strokes).

A stay on the roller counts as rolling once it shows `min_clear_strokes`: causally, so the live
session can hold back what it finds until then and drop it if the stay ends without (strokes,
holds and warnings of a stay that never rolled count nowhere). A recording counts as foam
rolling if any stay rolled; otherwise its `activity` is "not_rolling" and `activity_reason`
says what it was, from the longest of the stretches above.

Known limits (BENCHMARKS.md has the rates): a stretching routine whose poses stay within 130°
and whose rocking looks like rolling hips down (cat-cow read with axes inferred from the
stretching itself) can pass as rolling; with a pairing calibration the face-down poses are
recognised as such.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from tracker.analysis.steps.activity import HeldPoses, Quietness, StepCadence, Wander
from tracker.analysis.steps.runs import runs
from tracker.analysis.steps.windows import centred_mean
from tracker.results import ActivitySpan, Stroke

PERSON, WALKING, CARRIED, ON_TABLE = 0, 1, 2, 3
SENSOR_KINDS = {WALKING: "walking", CARRIED: "carried", ON_TABLE: "on_table"}


@dataclass(frozen=True)
class ActivityRules:
    """The thresholds (see the module docstring for the physics behind each)."""

    gait_rms_m_s2: float = 0.5
    cadence_hz: tuple[float, float] = (1.2, 2.8)
    """Steps per second of walking; up to twice the upper bound is a carried sensor jostling
    twice a step (a bag bumping, an arm's swing)."""
    gait_window_s: float = 4.0
    gait_min_s: float = 8.0
    """Steps must go on this long: sitting down and lying back onto a roller shake the trunk in
    the step band too, for up to about 5 s (model 1's getting on)."""
    carried_rate_rad_s: float = 1.05
    """Mean rotation rate (60 °/s) above which the sensor is swinging in a hand: a trunk turns by
    a few degrees per step (20-50 °/s walking), by under 35 °/s getting on and off a roller."""
    carried_wander_deg: float = 25.0
    """Gravity's direction moving this far from its 30 s mean while stepping: not worn on the
    trunk (the trunk stays upright while walking)."""
    quiet_window_s: float = 20.0
    quiet_gyr_rad_s: float = math.radians(0.04)
    """Breathing tilts the chest by at least a tenth of a degree at 0.15-0.35 Hz: 0.07 °/s rms
    or more (model 2's lying still: 0.049 °/s at the least over 20 s)."""
    quiet_acc_m_s2: float = 0.006
    white_ratio: float = 1.3
    """A sensor whose breathing band holds at most this many times what its own white noise puts
    there (measured above the band) is quiet too: a sensor on a table reads 0.9-1.1, a person
    lying still 2 or more (gyroscope) and 1.5 or more (accelerometer) on both generators."""
    quiet_min_s: float = 60.0
    join_s: float = 3.0
    """Stretches of one activity this close are one (a stumble in the steps; a knock on a table
    breaks its quiet for one window more)."""
    pose_range_deg: float = 130.0
    prone_deg: float = 60.0
    """The torso tipped forward from upright by more than this (face down, folded over; sitting
    leans forward by 15-30°)."""
    head_down_deg: float = 20.0
    """The head end lower than the hips by more than this much pitch."""
    side_deg: float = 45.0
    """Rolled onto the side by more than this (a roller under the back does not allow it)."""
    pose_min_s: float = 5.0
    min_clear_strokes: int = 2
    clear_snr: float = 2.5
    """A bridge stroke's `snr` that shows real motion. Lying still on the floor, breathing and the
    gravity removal's residual make bridge "strokes" of SNR 0.7-2.6 (model 2's lying still, 40
    recordings, at most one above 2.5 in any of them); real ones have a median of 4-6, but a
    trapezoid stroke (a long cruise) fits one sine period poorly and can read as low as 1."""
    lying_verdict_s: float = 45.0
    """Live: a stay on the roller this long without rolling is said to be lying still."""


DEFAULT_RULES = ActivityRules()


class SensorActivity:
    """Per analysis-rate sample (sensor frame): PERSON, WALKING, CARRIED or ON_TABLE, and the
    cadence; `run` on arrays and `step` per sample agree (the primitives keep their state)."""

    def __init__(self, rate_hz: float, rules: ActivityRules = DEFAULT_RULES) -> None:
        self.rules = rules
        self.rate_hz = rate_hz
        self.gait = StepCadence(rate_hz, rules.gait_window_s)
        self.quiet = Quietness(rate_hz, rules.quiet_window_s)
        self.wander = Wander(rate_hz, rules.gait_window_s)
        self._seen = 0  # samples so far (the quiet window must be full before it says anything)

    def run(self, acc_m_s2: np.ndarray, gyr_rad_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        acc = np.asarray(acc_m_s2, dtype=float).reshape(-1, 3)
        gyr = np.asarray(gyr_rad_s, dtype=float).reshape(-1, 3)
        r = self.rules
        rms, cadence = self.gait.run(np.linalg.norm(acc, axis=1))
        qg, qa, g_white, a_white = self.quiet.run(acc, gyr)
        rate, wander = self.wander.run(acc, gyr)
        seen = self._seen + np.arange(1, len(acc) + 1)
        self._seen += len(acc)
        stepping = (rms >= r.gait_rms_m_s2) & (cadence >= r.cadence_hz[0])
        gait = stepping & (cadence <= r.cadence_hz[1])
        jostled = stepping & (cadence > r.cadence_hz[1]) & (cadence <= 2.0 * r.cadence_hz[1])
        turning = rate >= r.carried_rate_rad_s
        carried = jostled | turning | (gait & (wander >= r.carried_wander_deg))
        # each sensor is quiet when under the floor, or when all it has is its own white noise
        gyr_quiet = (qg < r.quiet_gyr_rad_s) | (qg < r.white_ratio * g_white)
        acc_quiet = (qa < r.quiet_acc_m_s2) | (qa < r.white_ratio * a_white)
        quiet = gyr_quiet & acc_quiet & (seen >= r.quiet_window_s * self.rate_hz)
        code = np.where(carried, CARRIED, np.where(gait, WALKING, np.where(quiet, ON_TABLE, PERSON)))
        return code.astype(np.int8), cadence

    def step(self, acc_m_s2: np.ndarray, gyr_rad_s: np.ndarray) -> tuple[int, float]:
        """One sample: what `run` says of it, computed on plain floats (the live session calls
        this for every analysis-rate sample)."""
        acc = _floats(acc_m_s2)
        gyr = _floats(gyr_rad_s)
        r = self.rules
        ax, ay, az = acc
        rms, cadence = self.gait.step(math.sqrt(ax * ax + ay * ay + az * az))
        qg, qa, g_white, a_white = self.quiet.step_values(acc, gyr)
        rate, wander = self.wander.step_values(acc, gyr)
        self._seen += 1
        stepping = rms >= r.gait_rms_m_s2 and cadence >= r.cadence_hz[0]
        gait = stepping and cadence <= r.cadence_hz[1]
        jostled = stepping and r.cadence_hz[1] < cadence <= 2.0 * r.cadence_hz[1]
        if jostled or rate >= r.carried_rate_rad_s or (gait and wander >= r.carried_wander_deg):
            return CARRIED, cadence
        if gait:
            return WALKING, cadence
        gyr_quiet = qg < r.quiet_gyr_rad_s or qg < r.white_ratio * g_white
        acc_quiet = qa < r.quiet_acc_m_s2 or qa < r.white_ratio * a_white
        if gyr_quiet and acc_quiet and self._seen >= r.quiet_window_s * self.rate_hz:
            return ON_TABLE, cadence
        return PERSON, cadence


def _floats(v: np.ndarray | list[float]) -> list[float]:
    """A float array's values as a list (an array of floats, the live samples' form, as is)."""
    if isinstance(v, np.ndarray) and v.dtype == np.float64:
        return v.tolist()
    return np.asarray(v, dtype=float).tolist()


def sensor_reason(kind: str, cadence_hz: float | None = None, duration_s: float | None = None) -> str:
    """What a sensor-level span was, in words."""
    if kind == "walking":
        return f"walking (steps at {cadence_hz:.1f} Hz)" if cadence_hz else "walking"
    if kind == "carried":
        return "the sensor carried about: it swung and turned with every step, as no torso does (not worn)"
    if kind == "on_table":
        how = f" for {duration_s / 60:.0f} min" if duration_s and duration_s >= 60 else ""
        return f"the sensor lying still on something{how}: no breathing or heartbeat in its signal (not worn)"
    return kind


def _min_run_mask(mask: np.ndarray, n_min: int, back: int, join: int = 0) -> list[tuple[int, int]]:
    """Runs of `mask` at least `n_min` long, each started `back` samples earlier (the trailing
    windows saw the activity that much after it began), runs closer than `join` samples joined
    first (a stop while walking, a knock on the table)."""
    joined: list[list[int]] = []
    for a, b in runs(mask):
        if joined and a - joined[-1][1] <= join:
            joined[-1][1] = b
        else:
            joined.append([a, b])
    return [(max(0, a - back), b) for a, b in joined if b - a >= n_min]


def sensor_spans(t_s: np.ndarray, acc_m_s2: np.ndarray, gyr_rad_s: np.ndarray, rate_hz: float,
                 rules: ActivityRules = DEFAULT_RULES) -> tuple[np.ndarray, list[ActivitySpan]]:  # fmt: skip
    """Walking, carried and on-a-table stretches of a recording: (M,) bool mask of their samples
    and the spans, with their reasons."""
    code, cadence = SensorActivity(rate_hz, rules).run(acc_m_s2, gyr_rad_s)
    mask = np.zeros(len(t_s), dtype=bool)
    spans: list[ActivitySpan] = []
    moving = (code == WALKING) | (code == CARRIED)
    gait_back = int(round(rules.gait_window_s * rate_hz))
    for a, b in _min_run_mask(moving, int(rules.gait_min_s * rate_hz), gait_back, int(rules.join_s * rate_hz)):
        carried = np.mean(code[a:b] == CARRIED) > 0.5
        kind = "carried" if carried else "walking"
        # the mean of the trailing counts is the span's own count of steps per second
        cad = float(np.mean(cadence[a:b][code[a:b] == WALKING])) if kind == "walking" else None
        mask[a:b] = True
        spans.append(ActivitySpan(kind, float(t_s[a]), float(t_s[b - 1]), sensor_reason(kind, cad)))
    quiet_back = int(round(rules.quiet_window_s * rate_hz))
    join = int((rules.quiet_window_s + rules.join_s) * rate_hz)  # a knock: one window, and a little
    for a, b in _min_run_mask(code == ON_TABLE, int(rules.quiet_min_s * rate_hz), quiet_back, join):
        mask[a:b] = True
        dur = float(t_s[b - 1] - t_s[a])
        spans.append(ActivitySpan("on_table", float(t_s[a]), float(t_s[b - 1]), sensor_reason("on_table", duration_s=dur)))
    spans.sort(key=lambda s: s.start_s)
    return mask, spans


def pose_flags(up_body: np.ndarray, rate_hz: float, rules: ActivityRules = DEFAULT_RULES) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(M,) bool each: face down or folded forward, head below the hips, on the side (1 s means
    of the body-frame up vector)."""
    n = max(1, int(round(rate_hz)))
    ux, uy, uz = (centred_mean(up_body[:, i], n) for i in range(3))
    norm = np.maximum(np.sqrt(ux * ux + uy * uy + uz * uz), 1e-9)
    sag = np.degrees(np.arctan2(uz, ux))  # 90 upright, 0 lying on the back, +-180 face down
    pitch = np.degrees(np.arcsin(np.clip(uz / norm, -1.0, 1.0)))
    roll = np.degrees(np.arcsin(np.clip(uy / norm, -1.0, 1.0)))
    forward = np.mod(sag - 90.0 + 180.0, 360.0) - 180.0  # 0 upright, +90 face down, -90 supine
    prone = forward > rules.prone_deg
    head_down = (pitch < -rules.head_down_deg) & ~prone
    side = (np.abs(roll) > rules.side_deg) & (np.abs(pitch) < 50.0)
    return prone, head_down, side


def pose_spans(t_s: np.ndarray, up_body: np.ndarray, gyr_body: np.ndarray, rate_hz: float,
               rules: ActivityRules = DEFAULT_RULES, worn: np.ndarray | None = None,
               ) -> tuple[np.ndarray, list[ActivitySpan], float]:  # fmt: skip
    """Poses no roller allows (held at least `pose_min_s`): their (M,) mask and spans, and the
    range of the held poses in the sagittal plane (`HeldPoses`, degrees). `worn` (M,): the
    samples a person wore the sensor (`sensor_spans`' complement); a sensor left on a table or
    carried about holds no pose of the torso."""
    if worn is None:
        worn = np.ones(len(t_s), dtype=bool)
    prone, head_down, side = (flag & worn for flag in pose_flags(up_body, rate_hz, rules))
    mask = np.zeros(len(t_s), dtype=bool)
    spans: list[ActivitySpan] = []
    n_min = int(rules.pose_min_s * rate_hz)
    for flag, kind, what in (
        (prone, "stretching", "the torso faced down or folded forward"),
        (head_down, "stretching", "the head lower than the hips"),
        (side, "lying_still", "lying on the side"),
    ):
        for a, b in _min_run_mask(flag, n_min, 0):
            mask[a:b] = True
            spans.append(ActivitySpan(kind, float(t_s[a]), float(t_s[b - 1]), f"{what} ({t_s[b - 1] - t_s[a]:.0f} s): no roller allows that"))
    rng = HeldPoses(rate_hz).run(up_body[worn], gyr_body[worn])
    spans.sort(key=lambda s: s.start_s)
    return mask, spans, float(rng[-1]) if len(rng) else 0.0


def is_clear(stroke: Stroke, rules: ActivityRules = DEFAULT_RULES) -> bool:
    """A stroke that shows rolling: hips down (the pitch moved the contact), or a bridge stroke
    clear of the noise (`Stroke.snr`)."""
    if stroke.posture != "bridge":
        return True
    return stroke.snr is None or stroke.snr >= rules.clear_snr


def rolling_stays(t_s: np.ndarray, on_roller: np.ndarray, strokes: list[Stroke],
                  rules: ActivityRules = DEFAULT_RULES) -> list[tuple[int, int, bool]]:  # fmt: skip
    """Each stay on the roller (a, b) and whether it rolled: at least `min_clear_strokes` clear
    strokes started in it."""
    out = []
    for a, b in runs(on_roller):
        t0, t1 = t_s[a], t_s[b - 1]
        clear = sum(1 for s in strokes if t0 <= s.start_s <= t1 and is_clear(s, rules))
        out.append((a, b, clear >= rules.min_clear_strokes))
    return out


@dataclass
class Verdict:
    """What a recording was (`decide`)."""

    activity: str
    reason: str | None
    spans: list[ActivitySpan] = field(default_factory=list)
    keep: np.ndarray | None = None
    """(M,) bool: the samples of stays that rolled (what counts as on the roller)."""


def decide(
    t_s: np.ndarray,
    labels: np.ndarray,
    stays: list[tuple[int, int, bool]],
    spans: list[ActivitySpan],
    pose_range_deg: float,
    axes_inferred: bool,
    rules: ActivityRules = DEFAULT_RULES,
) -> Verdict:
    """The verdict from the sensor and pose spans, the stays and the range of held poses.
    `labels` are the posture phases (upright, sitting, on_roller, ...)."""
    keep = np.zeros(len(t_s), dtype=bool)
    out_spans = list(spans)
    dt = float(np.median(np.diff(t_s))) if len(t_s) > 1 else 0.04
    for a, b, rolled in stays:
        if rolled:
            keep[a:b] = True
        else:
            out_spans.append(ActivitySpan(
                "lying_still", float(t_s[a]), float(t_s[b - 1]),
                f"lying back for {(b - a) * dt / 60:.1f} min without rolling (fewer than "
                f"{rules.min_clear_strokes} clear strokes)",
            ))  # fmt: skip
    stretching = axes_inferred and pose_range_deg > rules.pose_range_deg
    if stretching:
        out_spans.append(ActivitySpan(
            "stretching", float(t_s[0]), float(t_s[-1]),
            f"stretching or exercise: the torso held poses {pose_range_deg:.0f}° apart (rolling needs "
            f"about 110°), and without a pairing calibration the rolling cannot be told from the rest",
        ))  # fmt: skip
        keep[:] = False
    out_spans.sort(key=lambda s: s.start_s)
    if keep.any():
        return Verdict("foam_rolling", None, [s for s in out_spans if s.kind != "stretching" or not stretching], keep)
    return Verdict("not_rolling", _reason(t_s, labels, out_spans, stretching), out_spans, keep)


def _reason(t_s: np.ndarray, labels: np.ndarray, spans: list[ActivitySpan], stretching: bool) -> str:
    """Why a recording is not foam rolling: the longest thing it was."""
    if stretching:
        return next(s.reason for s in spans if s.kind == "stretching" and s.start_s == t_s[0])
    dt = float(np.median(np.diff(t_s))) if len(t_s) > 1 else 0.04
    upright_s = float(np.count_nonzero((labels == "upright") | (labels == "sitting")) * dt)
    totals: dict[str, float] = {}
    longest: dict[str, ActivitySpan] = {}
    for s in spans:
        d = s.end_s - s.start_s
        totals[s.kind] = totals.get(s.kind, 0.0) + d
        if s.kind not in longest or d > longest[s.kind].end_s - longest[s.kind].start_s:
            longest[s.kind] = s
    if totals:
        kind = max(totals, key=lambda k: totals[k])
        # what was seen (steps, a table's stillness, lying without rolling) says more than the
        # posture alone, unless it was a small part of the time upright
        if totals[kind] >= min(30.0, 0.25 * max(upright_s, 1e-9)) or upright_s < totals[kind]:
            return longest[kind].reason
    if upright_s > 0:
        return f"sitting or standing ({upright_s / 60:.1f} min upright): the torso never lay back on a roller"
    return "nothing like foam rolling: no time lying back on a roller"


class LiveActivity:
    """The verdict while samples arrive (the live session's): the same primitives and rules as
    `sensor_spans`, `pose_spans`, `rolling_stays` and `decide`, one sample at a time.

    Sensor-frame samples go to `sensor` (from the first sample on), body-frame ones to `body`
    (once the axes are known); `enter`/`leave` mark a stay on the roller and `stroke` counts its
    clear strokes: the stay rolled once it has `min_clear_strokes` (`confirmed`). `verdict`
    says what the recording is so far: ("foam_rolling", None), ("checking", None) while nothing
    is conclusive, or ("not_rolling", why) for what is seen now.
    """

    def __init__(self, rate_hz: float, rules: ActivityRules = DEFAULT_RULES, *, axes_inferred: bool = True) -> None:
        self.rules = rules
        self.rate_hz = rate_hz
        self.dt_s = 1.0 / rate_hz
        self.axes_inferred = axes_inferred
        self.sensors = SensorActivity(rate_hz, rules)
        self._code = PERSON
        self._code_since = 0.0
        self._code_last = -math.inf  # last sample of the current non-person code (to join breaks)
        self._cadence_sum = 0.0
        self._cadence_n = 0
        self._carried_n = 0
        self._steps_n = 0
        self.reset_body()

    def reset_body(self) -> None:
        """Forget what the body-frame samples said (the axes changed: they are run again)."""
        self.poses = HeldPoses(self.rate_hz)
        self.pose_range_deg = 0.0
        self.rolled = False
        """Some stay rolled."""
        self.stay_start_s: float | None = None
        self.clear = 0
        self.upright_s = 0.0
        self.lay_s = 0.0
        """Time in stays that ended without rolling."""
        self.ended = False

    # --- input -------------------------------------------------------------------------------------
    def sensor(self, t_s: float, acc_m_s2: np.ndarray, gyr_rad_s: np.ndarray) -> bool:
        """One analysis-rate sample in the sensor frame; True when it is no person on a roller
        (steps, a carried sensor, a sensor lying still). As `sensor_spans`: stretches of one
        activity closer than `join_s` (a knock on a table: its window too) are one, and a
        stretch of steps is "carried" when most of its samples say so."""
        code, cadence = self.sensors.step(acc_m_s2, gyr_rad_s)
        moving = (WALKING, CARRIED)
        if code == PERSON:
            join = self.rules.join_s + (self.rules.quiet_window_s if self._code == ON_TABLE else 0.0)
            if self._code != PERSON and t_s - self._code_last > join:
                self._code = PERSON
            return False
        if self._code == PERSON or (code in moving) != (self._code in moving):
            self._code, self._code_since = code, t_s
            self._cadence_sum, self._cadence_n, self._carried_n, self._steps_n = 0.0, 0, 0, 0
        self._code_last = t_s
        if code in moving:
            self._steps_n += 1
            self._carried_n += code == CARRIED
            self._code = CARRIED if self._carried_n > 0.5 * self._steps_n else WALKING
        if code == WALKING:
            self._cadence_sum += cadence
            self._cadence_n += 1
        return True

    def body(
        self, t_s: float, up_body: np.ndarray, gyr_rad_s: np.ndarray, *, upright: bool = False, worn: bool = True
    ) -> None:
        """One analysis-rate sample in the body frame; `upright`: standing or sitting; `worn`
        False: the sensor is not on a person just now (`sensor`), so it holds no pose of the
        torso (as `pose_spans`)."""
        if worn:
            self.pose_range_deg = self.poses.step(up_body, gyr_rad_s)
        if upright:
            self.upright_s += self.dt_s

    def enter(self, t_s: float) -> None:
        self.stay_start_s = t_s
        self.clear = 0

    def stroke(self, stroke: Stroke) -> bool:
        """A stroke of the current stay; True when it makes the stay roll."""
        if self.stay_start_s is None or self.confirmed or not is_clear(stroke, self.rules):
            return False
        self.clear += 1
        if self.clear >= self.rules.min_clear_strokes:
            self.rolled = True
            return True
        return False

    def leave(self, t_s: float | None = None) -> bool:
        """The stay ended (at `t_s`); whether it rolled."""
        rolled = self.confirmed
        if not rolled and self.stay_start_s is not None and t_s is not None:
            self.lay_s += max(0.0, t_s - self.stay_start_s)
        self.stay_start_s = None
        self.clear = 0
        return rolled

    @property
    def confirmed(self) -> bool:
        return self.stay_start_s is not None and self.clear >= self.rules.min_clear_strokes

    # --- output ------------------------------------------------------------------------------------
    def sensor_kind(self, t_s: float) -> tuple[str, str] | None:
        """(kind, reason) of a sensor-level activity going on long enough to say, else None."""
        r = self.rules
        if self._code == PERSON:
            return None
        kind = SENSOR_KINDS[self._code]
        need = r.quiet_min_s if self._code == ON_TABLE else r.gait_min_s
        if self._code_last - self._code_since < need:
            return None
        cadence = self._cadence_sum / self._cadence_n if self._cadence_n else None
        return kind, sensor_reason(kind, cadence, t_s - self._code_since)

    def verdict(self, t_s: float) -> tuple[str, str | None]:
        if self.axes_inferred and self.pose_range_deg > self.rules.pose_range_deg:
            return "not_rolling", (
                f"stretching or exercise: the torso held poses {self.pose_range_deg:.0f}° apart "
                "(rolling needs about 110°)"
            )
        seen = self.sensor_kind(t_s)
        if seen is not None:
            return "not_rolling", seen[1]
        if self.stay_start_s is not None and not self.confirmed:
            lying = t_s - self.stay_start_s
            if lying >= self.rules.lying_verdict_s:
                return "not_rolling", f"lying back for {lying / 60:.1f} min without rolling"
            return "checking", None
        if self.rolled:
            return "foam_rolling", None
        if self.lay_s >= self.rules.lying_verdict_s and self.lay_s >= self.upright_s:
            return "not_rolling", f"lying back for {self.lay_s / 60:.1f} min without rolling"
        if self.upright_s >= 60.0:
            return "not_rolling", f"sitting or standing ({self.upright_s / 60:.1f} min upright)"
        if self.ended:
            return "not_rolling", "no rolling found"
        return "checking", None

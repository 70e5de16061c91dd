"""What the simulated person does: a script of segments, and a generator of plausible scripts.

A `SessionScript` is a sequence of `Segment`s (stand, sit down, lie back onto the roller, strokes,
pauses, lifting the hips into a bridge, sitting up, standing up) plus the person's and the
roller's geometry. `compile_script` validates it once and turns it into a timeline of smooth
pieces that `tracker.simulate.session` evaluates at the sample times.

Positions along the back (`to_cm`) are centimetres of the roller's contact point from the hips.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from tracker.errors import UsageError
from tracker.guidance import REGIONS, Guidance

#: Segment kinds, and the state the person must be in for each.
SEGMENT_KINDS: dict[str, tuple[str, ...]] = {
    "stand": ("upright",),
    "turn": ("upright",),
    "sit_down": ("upright",),
    "sit": ("sitting",),
    "lie_back": ("sitting",),
    "stroke": ("hips_down", "bridge"),
    "pause": ("hips_down", "bridge"),
    "lift_hips": ("hips_down",),
    "lower_hips": ("bridge",),
    "sit_up": ("hips_down",),
    "stand_up": ("sitting",),
}

#: Phase (tracker.results.PHASES) of each segment kind.
SEGMENT_PHASE = {
    "stand": "upright",
    "turn": "upright",
    "sit_down": "transition",
    "sit": "sitting",
    "lie_back": "transition",
    "stroke": "on_roller",
    "pause": "on_roller",
    "lift_hips": "on_roller",
    "lower_hips": "on_roller",
    "sit_up": "transition",
    "stand_up": "transition",
}

# piece modes of the compiled timeline
FREE, HIPS_DOWN, BRIDGE, POSTURE_CHANGE = 0, 1, 2, 3

MAX_HIPS_DOWN_PITCH_DEG = 70.0
"""Steepest torso pitch on the roller with the hips down; sets the lowest reachable contact."""
MIN_BRIDGE_CM = 3.0


@dataclass(frozen=True)
class Segment:
    """One thing the person does, for `duration_s` seconds.

    kind: one of `SEGMENT_KINDS`.
    to_cm: contact position along the back (cm from the hips) at the end of a `stroke`, or where
        the back lands on the roller for `lie_back`.
    pitch_deg: torso pitch at the end (bridge strokes, `lift_hips`, `sit`, `sit_down`); None keeps
        a sensible default.
    heading_deg: heading at the end of a `turn`.
    """

    kind: str
    duration_s: float
    to_cm: float | None = None
    pitch_deg: float | None = None
    heading_deg: float | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "duration_s": float(self.duration_s)}
        for name in ("to_cm", "pitch_deg", "heading_deg"):
            value = getattr(self, name)
            if value is not None:
                out[name] = float(value)
        return out


@dataclass(frozen=True)
class SessionScript:
    """A whole session: what the person does and the geometry of body, sensor and roller.

    start: "upright" (standing), "sitting", or "on_roller" (the recording starts already on the
    roller at `start_cm` in `start_posture`).
    """

    segments: tuple[Segment, ...]
    roller_diameter_cm: float = 15.0
    hip_to_neck_cm: float = 50.0
    start: str = "upright"
    start_cm: float = 35.0
    start_posture: str = "hips_down"
    start_pitch_deg: float | None = None
    """Initial torso pitch when starting in a bridge or sitting (None: a default)."""
    start_heading_deg: float = 0.0
    # body and sensor placement
    sensor_from_hips_cm: float = 38.0
    """Sensor along the torso, measured from the hips (sternum height)."""
    chest_depth_cm: float = 21.0
    """Back surface to the sensor on the chest."""
    hip_height_cm: float = 92.0
    """Height of the hips when standing."""
    upright_pitch_deg: float = 88.0
    sit_pitch_deg: float = 78.0
    # small movements everywhere
    breathing_rate_hz: float = 0.25
    breathing_depth_mm: float = 3.0
    """Amplitude of the chest rise (peak-to-peak is twice this)."""
    breathing_tilt_deg: float = 0.5
    """Amplitude of the chest wall's tilt with each breath (the sensor plate rocks with it)."""
    sway_deg: float = 2.0
    """Amplitude of the slow rocking about the long axis (roll)."""
    name: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    """How the script was generated (random_script's arguments), for provenance."""

    @property
    def duration_s(self) -> float:
        return float(sum(s.duration_s for s in self.segments))

    @property
    def radius_cm(self) -> float:
        return self.roller_diameter_cm / 2.0

    def min_hips_down_cm(self) -> float:
        """Lowest contact reachable with the hips down (pitch at MAX_HIPS_DOWN_PITCH_DEG)."""
        return self.radius_cm / math.tan(math.radians(MAX_HIPS_DOWN_PITCH_DEG) / 2.0)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            k: v for k, v in self.__dict__.items() if k not in ("segments", "params")
        }
        out["segments"] = [s.to_json() for s in self.segments]
        out["params"] = dict(self.params)
        return out

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> SessionScript:
        data = dict(obj)
        data["segments"] = tuple(Segment(**s) for s in obj.get("segments", []))
        return cls(**data)


def hips_down_pitch_deg(s_cm: float, radius_cm: float) -> float:
    """Torso pitch with the hips down and the contact `s_cm` from the hips: s = r cot(theta/2)."""
    return math.degrees(2.0 * math.atan2(radius_cm, s_cm))


# --- compiled timeline -------------------------------------------------------------------------
@dataclass
class Timeline:
    """Pieces of smooth motion between knots (SI units), one row per piece.

    Every piece ramps each variable from its start to its end value with the raised-cosine
    ramp, so velocities are zero at every knot. `mode` says how pitch and hips are derived.
    """

    t0: np.ndarray
    t1: np.ndarray
    mode: np.ndarray
    s0: np.ndarray
    s1: np.ndarray
    th0: np.ndarray
    th1: np.ndarray
    hx0: np.ndarray
    hx1: np.ndarray
    hz0: np.ndarray
    hz1: np.ndarray
    psi0: np.ndarray
    psi1: np.ndarray
    xr0: np.ndarray
    segment: np.ndarray
    events: list[dict[str, Any]]
    """One per script segment: kind, phase, start_s, end_s, posture, start_cm, end_cm."""
    duration_s: float


def compile_script(script: SessionScript) -> Timeline:
    """Validate `script` and turn it into a `Timeline`; raises UsageError naming the bad segment."""
    _check_geometry(script)
    compiler = _ScriptCompiler(script)
    for i, seg in enumerate(script.segments):
        compiler.segment(i, seg)
    return compiler.timeline()


class _ScriptCompiler:
    """Where the person is while a script compiles (`state`), every variable's value now, and the
    pieces and events so far. One method per segment kind moves them on."""

    def __init__(self, script: SessionScript) -> None:
        self.script = script
        self.r = script.radius_cm / 100.0
        self.hip_h = script.hip_height_cm / 100.0
        self.rows: list[tuple[float, ...]] = []
        self.events: list[dict[str, Any]] = []
        self.t = 0.0
        self.s = script.start_cm / 100.0
        self.psi = math.radians(script.start_heading_deg)
        self.hx, self.hz = 0.0, 0.0
        self.state, self.th = self._start_pose()
        self.xr = self.hx + self.s  # roller centre on the floor (hips-down geometry from hips at hx)
        if self.state == "bridge":
            self.hx, self.hz = self._bridge_hips(self.xr, self.s, self.th)

    def _start_pose(self) -> tuple[str, float]:
        """The starting state and torso pitch (rad); sets the hips and heading that go with them."""
        script, state = self.script, self.script.start
        if state not in ("upright", "sitting", "on_roller"):
            raise UsageError(
                f"script start {script.start!r} is not known", hint="use upright, sitting or on_roller"
            )
        if state == "upright":
            self.hz = self.hip_h
            return state, math.radians(script.upright_pitch_deg)
        self.psi = 0.0
        if state == "sitting":
            return state, math.radians(script.start_pitch_deg or script.sit_pitch_deg)
        if script.start_posture not in ("hips_down", "bridge"):
            raise UsageError(
                f"start_posture {script.start_posture!r} is not known",
                hint="use hips_down or bridge",
            )
        state = script.start_posture
        _check_contact(script, -1, "start", self.s * 100.0, state)
        if state == "hips_down":
            return state, 2.0 * math.atan2(self.r, self.s)
        th = math.radians(6.0 if script.start_pitch_deg is None else script.start_pitch_deg)
        _check_bridge_pitch(script, -1, self.s, th)
        return state, th

    def _bridge_hips(self, xr: float, s: float, th: float) -> tuple[float, float]:
        """Hip position (x, z), m, in a bridge: the back on the roller at `s`, pitched `th`."""
        r = self.r
        return xr - r * math.sin(th) - s * math.cos(th), r + r * math.cos(th) - s * math.sin(th)

    def piece(self, dur: float, mode: int, s1: float, th1: float, hx1: float, hz1: float, psi1: float, index: int) -> None:
        """A piece from the current values to these, lasting `dur` seconds."""
        self.rows.append((self.t, self.t + dur, mode, self.s, s1, self.th, th1, self.hx, hx1,
                          self.hz, hz1, self.psi, psi1, self.xr, index))  # fmt: skip
        self.t += dur
        self.s, self.th, self.hx, self.hz, self.psi = s1, th1, hx1, hz1, psi1

    def segment(self, i: int, seg: Segment) -> None:
        """Check segment `i` against the state it starts in, add its pieces and its event."""
        if seg.kind not in SEGMENT_KINDS:
            raise UsageError(
                f"segment {i}: kind {seg.kind!r} is not known",
                hint=f"use one of {', '.join(SEGMENT_KINDS)}",
            )
        if not (math.isfinite(seg.duration_s) and seg.duration_s > 0):
            raise UsageError(f"segment {i} ({seg.kind}): duration_s must be > 0, got {seg.duration_s}")
        if self.state not in SEGMENT_KINDS[seg.kind]:
            raise UsageError(
                f"segment {i} ({seg.kind}) needs the person {' or '.join(SEGMENT_KINDS[seg.kind])}, "
                f"but they are {self.state} there",
                hint="add the transition segment in between (sit_down, lie_back, lower_hips, sit_up...)",
            )
        start_t, start_s, posture = self.t, self.s, self.state
        moved_to = getattr(self, f"_{seg.kind}")(i, seg, seg.duration_s)
        self.events.append(
            {
                "index": i,
                "kind": seg.kind,
                "phase": SEGMENT_PHASE[seg.kind],
                "start_s": start_t,
                "end_s": self.t,
                "posture": posture if posture in ("hips_down", "bridge") else self.state,
                "start_cm": (start_s if moved_to is None else moved_to) * 100.0,
                "end_cm": self.s * 100.0,
            }
        )

    # --- one method per segment kind: (index, segment, duration) -> the contact it starts from
    # when that is not where the previous segment left it (lie_back), else None
    def _stand(self, i: int, seg: Segment, d: float) -> None:
        self.piece(d, FREE, self.s, self.th, self.hx, self.hz, self.psi, i)

    def _turn(self, i: int, seg: Segment, d: float) -> None:
        target = self.psi if seg.heading_deg is None else math.radians(seg.heading_deg)
        self.piece(d, FREE, self.s, self.th, self.hx, self.hz, target, i)

    def _sit_down(self, i: int, seg: Segment, d: float) -> None:
        # lean forward while the knees bend, then descend to the floor moving back a little
        th_sit = math.radians(seg.pitch_deg if seg.pitch_deg is not None else self.script.sit_pitch_deg)
        self.piece(0.4 * d, FREE, self.s, math.radians(105.0), self.hx, 0.55 * self.hip_h, 0.0, i)
        self.piece(0.6 * d, FREE, self.s, th_sit, self.hx + 0.25, 0.0, 0.0, i)
        self.state = "sitting"

    def _sit(self, i: int, seg: Segment, d: float) -> None:
        target = self.th if seg.pitch_deg is None else math.radians(seg.pitch_deg)
        self.piece(d, FREE, self.s, target, self.hx, self.hz, self.psi, i)

    def _lie_back(self, i: int, seg: Segment, d: float) -> float:
        if seg.to_cm is None:
            raise UsageError(f"segment {i} (lie_back): to_cm (where the back meets the roller) is required")
        _check_contact(self.script, i, "lie_back", seg.to_cm, "hips_down")
        s_new = seg.to_cm / 100.0
        self.s = s_new
        self.xr = self.hx + s_new
        self.piece(d, FREE, s_new, 2.0 * math.atan2(self.r, s_new), self.hx, self.hz, self.psi, i)
        self.state = "hips_down"
        return s_new

    def _stroke(self, i: int, seg: Segment, d: float) -> None:
        if seg.to_cm is None:
            raise UsageError(f"segment {i} (stroke): to_cm is required")
        _check_contact(self.script, i, "stroke", seg.to_cm, self.state)
        s_new = seg.to_cm / 100.0
        if abs(s_new - self.s) < 1e-4:
            raise UsageError(
                f"segment {i} (stroke): to_cm {seg.to_cm} is where the roller already is",
                hint="use a pause to stay in place",
            )
        if self.state == "hips_down":
            self.piece(d, HIPS_DOWN, s_new, 2.0 * math.atan2(self.r, s_new), self.hx, self.hz, self.psi, i)
            self.xr = self.hx + s_new
            return
        th_new = self.th if seg.pitch_deg is None else math.radians(seg.pitch_deg)
        _check_bridge_pitch(self.script, i, s_new, th_new)
        xr_new = self.xr - (s_new - self.s) - self.r * (th_new - self.th)
        hx_new, hz_new = self._bridge_hips(xr_new, s_new, th_new)
        self.piece(d, BRIDGE, s_new, th_new, hx_new, hz_new, self.psi, i)
        self.xr = xr_new

    def _pause(self, i: int, seg: Segment, d: float) -> None:
        mode = HIPS_DOWN if self.state == "hips_down" else BRIDGE
        self.piece(d, mode, self.s, self.th, self.hx, self.hz, self.psi, i)

    def _lift_hips(self, i: int, seg: Segment, d: float) -> None:
        th_new = math.radians(6.0 if seg.pitch_deg is None else seg.pitch_deg)
        _check_bridge_pitch(self.script, i, self.s, th_new)
        hx_new, hz_new = self._bridge_hips(self.xr, self.s, th_new)
        self.piece(d, POSTURE_CHANGE, self.s, th_new, hx_new, hz_new, self.psi, i)
        self.state = "bridge"

    def _lower_hips(self, i: int, seg: Segment, d: float) -> None:
        _check_contact(self.script, i, "lower_hips", self.s * 100.0, "hips_down")
        th = 2.0 * math.atan2(self.r, self.s)
        self.piece(d, POSTURE_CHANGE, self.s, th, self.xr - self.s, 0.0, self.psi, i)
        self.state = "hips_down"

    def _sit_up(self, i: int, seg: Segment, d: float) -> None:
        th_sit = math.radians(seg.pitch_deg if seg.pitch_deg is not None else self.script.sit_pitch_deg)
        self.piece(d, FREE, self.s, th_sit, self.hx, self.hz, self.psi, i)
        self.state = "sitting"

    def _stand_up(self, i: int, seg: Segment, d: float) -> None:
        upright = math.radians(self.script.upright_pitch_deg)
        self.piece(0.4 * d, FREE, self.s, math.radians(115.0), self.hx, 0.08, self.psi, i)
        self.piece(0.6 * d, FREE, self.s, upright, self.hx - 0.3, self.hip_h, self.psi, i)
        self.state = "upright"

    def timeline(self) -> Timeline:
        if not self.rows:
            raise UsageError("the script has no segments", hint="add at least one segment")
        cols = np.array(self.rows, dtype=float)
        return Timeline(
            t0=cols[:, 0],
            t1=cols[:, 1],
            mode=cols[:, 2].astype(int),
            s0=cols[:, 3],
            s1=cols[:, 4],
            th0=cols[:, 5],
            th1=cols[:, 6],
            hx0=cols[:, 7],
            hx1=cols[:, 8],
            hz0=cols[:, 9],
            hz1=cols[:, 10],
            psi0=cols[:, 11],
            psi1=cols[:, 12],
            xr0=cols[:, 13],
            segment=cols[:, 14].astype(int),
            events=self.events,
            duration_s=self.t,
        )


def _check_geometry(script: SessionScript) -> None:
    checks = {
        "roller_diameter_cm": (4.0, 30.0),
        "hip_to_neck_cm": (30.0, 80.0),
        "sensor_from_hips_cm": (10.0, 70.0),
        "chest_depth_cm": (5.0, 40.0),
        "hip_height_cm": (40.0, 130.0),
        "breathing_rate_hz": (0.05, 1.0),
        "breathing_depth_mm": (0.0, 20.0),
        "breathing_tilt_deg": (0.0, 5.0),
        "sway_deg": (0.0, 15.0),
    }
    for name, (lo, hi) in checks.items():
        value = getattr(script, name)
        if not (math.isfinite(value) and lo <= value <= hi):
            raise UsageError(f"script {name} = {value} is outside {lo}..{hi}")


def _check_contact(script: SessionScript, i: int, kind: str, s_cm: float, posture: str) -> None:
    lo = script.min_hips_down_cm() if posture == "hips_down" else MIN_BRIDGE_CM
    hi = script.hip_to_neck_cm
    if not (math.isfinite(s_cm) and lo - 1e-9 <= s_cm <= hi + 1e-9):
        where = "start" if i < 0 else f"segment {i} ({kind})"
        raise UsageError(
            f"{where}: contact at {s_cm:.1f} cm is outside {lo:.1f}..{hi:.1f} cm for {posture}",
            hint="with the hips down the roller cannot get closer to the hips than where the torso "
            f"pitch reaches {MAX_HIPS_DOWN_PITCH_DEG:.0f} deg",
        )


def _check_bridge_pitch(script: SessionScript, i: int, s_m: float, th: float) -> None:
    r = script.radius_cm / 100.0
    hips_m = r + r * math.cos(th) - s_m * math.sin(th)
    if not (-0.2 < th < 0.6) or hips_m < 0.01:
        where = "start" if i < 0 else f"segment {i}"
        raise UsageError(
            f"{where}: bridge pitch {math.degrees(th):.1f} deg at {s_m * 100:.1f} cm puts the hips "
            f"{hips_m * 100:.1f} cm above the floor",
            hint="use a flatter bridge (a few degrees) so the hips stay lifted",
        )


# --- random scripts ----------------------------------------------------------------------------
def random_script(
    rng_or_seed: np.random.Generator | int | None = 0,
    *,
    posture: str = "hips_down",
    fast: bool = False,
    with_getting_on_off: bool = True,
    duration_s: float = 300.0,
    roller_diameter_cm: float = 15.0,
    hip_to_neck_cm: float = 50.0,
    long_holds: bool | None = None,
    holds: bool = True,
    guidance: Guidance | None = None,
) -> SessionScript:
    """A plausible session of about `duration_s` seconds (the last set finishes, so a little more).

    posture: "hips_down", "bridge" or "mixed" (bouts of both with hip lifts in between).
    fast: include 1-3 sets of strokes at 5.5-9 cm/s (too fast); otherwise every stroke is
        1.5-4.2 cm/s. Slow sessions never exceed `guidance.too_fast_pace_cm_s`.
    with_getting_on_off: stand, sit down and lie back first, sit up and stand up at the end;
        without, the recording starts and ends on the roller.
    long_holds: include one or two holds over 60 s (None: with probability 0.3).
    holds: include holds over tender spots (3-60 s) in every region, lumbar included.
    """
    if posture not in ("hips_down", "bridge", "mixed"):
        raise UsageError(f"posture {posture!r} is not known", hint="use hips_down, bridge or mixed")
    if not (30.0 <= duration_s <= 4 * 3600.0):
        raise UsageError(f"duration_s = {duration_s} is outside 30..14400 s")
    rng = (
        rng_or_seed
        if isinstance(rng_or_seed, np.random.Generator)
        else np.random.default_rng(rng_or_seed)
    )
    g = guidance or Guidance(roller_diameter_cm=roller_diameter_cm, hip_to_neck_cm=hip_to_neck_cm)
    if long_holds is None:
        long_holds = bool(rng.random() < 0.3)
    base = _random_person(rng, roller_diameter_cm, hip_to_neck_cm)
    # Every draw below comes from `rng` in a fixed order: a seed is a session (tests, fixtures and
    # the accuracy benchmark's seeds depend on it), so the order must not change.
    writer = _RandomSession(rng, base, g, posture=posture, fast=fast, long_holds=long_holds, holds=holds)
    start = writer.get_on() if with_getting_on_off else "on_roller"
    on_start = sum(x.duration_s for x in writer.segs)
    off_tail = 12.0 if with_getting_on_off else 0.0
    writer.roll(max(20.0, duration_s - on_start - off_tail))
    if with_getting_on_off:
        writer.get_off()
    start_posture = "bridge" if posture == "bridge" else "hips_down"
    return replace(
        base,
        segments=tuple(writer.segs),
        start=start,
        start_cm=writer.s_initial,
        start_posture=start_posture,
        start_pitch_deg=writer.pitch_initial if start_posture == "bridge" else None,
        params={
            "posture": posture,
            "fast": fast,
            "with_getting_on_off": with_getting_on_off,
            "duration_s": duration_s,
            "roller_diameter_cm": roller_diameter_cm,
            "hip_to_neck_cm": hip_to_neck_cm,
            "long_holds": long_holds,
            "holds": holds,
        },
    )


def _random_person(rng: np.random.Generator, roller_diameter_cm: float, hip_to_neck_cm: float) -> SessionScript:
    """A script without segments: a random body, breathing and sway."""
    return SessionScript(
        segments=(),
        roller_diameter_cm=roller_diameter_cm,
        hip_to_neck_cm=hip_to_neck_cm,
        sensor_from_hips_cm=float(rng.uniform(33.0, 42.0)),
        chest_depth_cm=float(rng.uniform(18.0, 24.0)),
        hip_height_cm=float(rng.uniform(85.0, 100.0)),
        upright_pitch_deg=float(rng.uniform(86.0, 92.0)),
        sit_pitch_deg=float(rng.uniform(72.0, 84.0)),
        breathing_rate_hz=float(rng.uniform(0.2, 0.3)),
        breathing_depth_mm=float(rng.uniform(2.5, 4.0)),
        breathing_tilt_deg=float(rng.uniform(0.2, 0.5)),
        sway_deg=float(rng.uniform(1.0, 3.0)),
        start_heading_deg=float(rng.uniform(-180.0, 180.0)),
    )


class _RandomSession:
    """Writes the segments of a random session: where the roller is (`s`, cm), the posture
    (`mode`), the bridge pitch, and the time spent on the roller so far."""

    def __init__(
        self,
        rng: np.random.Generator,
        base: SessionScript,
        guidance: Guidance,
        *,
        posture: str,
        fast: bool,
        long_holds: bool,
        holds: bool,
    ) -> None:
        self.rng = rng
        self.posture = posture
        self.holds = holds
        self.r_cm = base.roller_diameter_cm / 2.0
        self.hd_lo = base.min_hips_down_cm() + 0.5
        self.top = base.hip_to_neck_cm - 1.0
        self.segs: list[Segment] = []
        self.mode = "bridge" if posture == "bridge" else "hips_down"
        self.bounds = {name: (lo, hi) for name, lo, hi in guidance.region_bounds_cm()}
        self.s = float(rng.uniform(max(self.hd_lo, 28.0), self.top - 4.0))
        self.s_initial = self.s
        self.pitch = self._bridge_pitch(self.s)
        self.pitch_initial = self.pitch
        self.elapsed = 0.0
        self._fast = fast
        self._long_holds = long_holds

    def _bridge_pitch(self, s_cm: float) -> float:
        # a few degrees, never so steep that the hips touch the floor
        return float(min(self.rng.uniform(3.0, 9.0), 0.6 * hips_down_pitch_deg(s_cm, self.r_cm)))

    def _lo_for(self, mode: str) -> float:
        return self.hd_lo if mode == "hips_down" else MIN_BRIDGE_CM + 3.0

    def _add(self, kind: str, low: float, high: float, **where: float) -> None:
        """A segment of `kind` lasting uniform(low, high) seconds (not on-roller time)."""
        self.segs.append(Segment(kind, float(self.rng.uniform(low, high)), **where))

    def get_on(self) -> str:
        """Stand, turn, sit down, lie back (and lift the hips for a bridge): the script's start."""
        rng = self.rng
        self._add("stand", 4.0, 12.0)
        self.segs.append(
            Segment("turn", float(rng.uniform(1.5, 3.0)), heading_deg=float(rng.uniform(-30, 30)))
        )
        self._add("stand", 1.0, 4.0)
        self._add("sit_down", 2.0, 3.0)
        self._add("sit", 2.0, 6.0)
        self._add("lie_back", 1.5, 3.0, to_cm=self.s)
        self._add("pause", 0.3, 0.8)
        if self.mode == "bridge":
            self._add("lift_hips", 1.0, 2.0, pitch_deg=self.pitch)
            self._add("pause", 0.3, 0.8)
        return "upright"

    def get_off(self) -> None:
        """Lower the hips (from a bridge), sit up, stand up."""
        rng = self.rng
        if self.mode == "bridge":
            if self.s < self.hd_lo:
                self.stroke_to(
                    float(rng.uniform(max(self.hd_lo, 25.0), self.top - 5.0)), float(rng.uniform(1.5, 3.5))
                )
            self._add("lower_hips", 1.0, 2.0)
            self._add("pause", 0.3, 0.8)
        self._add("sit_up", 1.5, 3.0)
        self._add("sit", 2.0, 5.0)
        self._add("stand_up", 2.0, 3.0)
        self._add("stand", 3.0, 8.0)

    def stroke_to(self, target: float, pace: float) -> None:
        """Roll to `target` cm at `pace` cm/s: strokes are at most 25 cm, so a longer way is
        rolled in equal strokes with brief stops."""
        rng = self.rng
        n_legs = max(1, math.ceil(abs(target - self.s) / 25.0 - 1e-9))
        origin = self.s
        for leg in range(1, n_legs + 1):
            to = origin + (target - origin) * leg / n_legs
            dur = abs(to - self.s) / pace
            if self.mode == "bridge":
                limit = 0.6 * hips_down_pitch_deg(to, self.r_cm)
                self.pitch = float(np.clip(self.pitch + rng.uniform(-1.0, 1.0), 3.0, max(3.0, limit)))
                self.segs.append(Segment("stroke", dur, to_cm=to, pitch_deg=self.pitch))
            else:
                self.segs.append(Segment("stroke", dur, to_cm=to))
            self.s = to
            self.elapsed += dur
            turn = float(rng.uniform(0.15, 0.8))
            self.segs.append(Segment("pause", turn))
            self.elapsed += turn

    def roll(self, roller_budget_s: float) -> None:
        """Sets of strokes, each over one zone of the back, most followed by a hold over a tender
        spot, until `roller_budget_s` on the roller; bouts of both postures when mixed."""
        rng = self.rng
        # too-fast sets: the second set always, then up to two more at random
        fast_left = int(rng.integers(1, 4)) if self._fast else 0
        hold_regions = list(rng.permutation(REGIONS))
        long_left = int(rng.integers(1, 3)) if self._long_holds else 0
        bout_end = float(rng.uniform(60.0, 150.0))
        set_index = 0
        hold_count = 0
        while self.elapsed < roller_budget_s:
            if self.posture == "mixed" and self.elapsed > bout_end:
                self._switch_posture()
                bout_end = self.elapsed + float(rng.uniform(60.0, 150.0))
            lo, hi = self._lo_for(self.mode), self.top
            is_fast = fast_left > 0 and (set_index == 1 or (set_index > 1 and rng.random() < 0.25))
            fast_left -= int(is_fast)
            set_pace = self._stroke_set(lo, hi, is_fast)
            set_index += 1
            # a hold over a tender spot, cycling through the regions so that each gets some
            if self.holds and rng.random() < 0.75:
                region = hold_regions[hold_count % len(hold_regions)]
                hold_count += 1
                long_left -= self._hold(region, lo, hi, set_pace if is_fast else None, long_left > 0)
        if long_left > 0 and self.holds:
            if self.segs[-1].kind == "pause":
                self.segs.pop()
            self._add("pause", 65.0, 90.0)

    def _switch_posture(self) -> None:
        """From hips down to a bridge or back, rolling first to where the new posture can be."""
        rng = self.rng
        if self.mode == "hips_down":
            if self.s < MIN_BRIDGE_CM + 3.0:
                self.stroke_to(float(rng.uniform(20.0, 30.0)), float(rng.uniform(1.5, 3.5)))
            self.pitch = self._bridge_pitch(self.s)
            self._add("lift_hips", 1.0, 2.0, pitch_deg=self.pitch)
            self.mode = "bridge"
        else:
            if self.s < self.hd_lo:
                self.stroke_to(
                    float(rng.uniform(max(self.hd_lo, 25.0), self.top - 5.0)),
                    float(rng.uniform(1.5, 3.5)),
                )
            self._add("lower_hips", 1.0, 2.0)
            self.mode = "hips_down"
        self._add("pause", 0.3, 0.8)

    def _stroke_set(self, lo: float, hi: float, is_fast: bool) -> float:
        """One set of 2-8 strokes (3-6 when too fast) around a zone of the back; its pace (cm/s)."""
        rng = self.rng
        n_strokes = int(rng.integers(3, 7)) if is_fast else int(rng.integers(2, 9))
        set_pace = float(rng.uniform(5.8, 9.0)) if is_fast else float(rng.uniform(1.6, 3.8))
        # a zone of the back this set works on
        centre = float(rng.uniform(lo + 4.0, hi - 4.0))
        direction = 1.0 if rng.random() < 0.5 else -1.0
        for _ in range(n_strokes):
            s = self.s
            length = float(rng.uniform(10.0, 25.0) if is_fast else rng.uniform(5.0, 25.0))
            if abs(s - centre) > 8.0:
                direction = 1.0 if centre > s else -1.0
            target = s + direction * length
            if not (lo <= target <= hi):
                target = s - direction * length
                direction = -direction
            target = float(np.clip(target, lo, hi))
            if abs(target - s) < 5.0:
                target = float(np.clip(s + (5.0 if s + 5.0 <= hi else -5.0), lo, hi))
            if is_fast:
                pace = float(np.clip(set_pace * rng.uniform(0.93, 1.07), 5.6, 9.5))
            else:
                pace = float(np.clip(set_pace * rng.uniform(0.85, 1.15), 1.5, 4.2))
            self.stroke_to(target, pace)
            direction = -direction
        return set_pace

    def _hold(self, region: str, lo: float, hi: float, fast_pace: float | None, long_ok: bool) -> int:
        """A hold over a spot in `region` (rolled to first); 1 when it was a long hold, else 0."""
        rng = self.rng
        r_lo, r_hi = self.bounds[region]
        a, b = max(r_lo + 1.0, lo), min(r_hi - 1.0, hi)
        if a > b:
            return 0
        s = self.s
        spot = float(rng.uniform(a, b))
        if abs(spot - s) < 5.0:  # strokes are at least 5 cm: hold here, or go 5 cm
            spot = s if a <= s <= b else s + math.copysign(5.0, spot - s)
        if spot != s:
            self.stroke_to(spot, float(rng.uniform(1.6, 3.5)) if fast_pace is None else fast_pace)
        # replace the turn-around after the last stroke with the hold itself
        if self.segs and self.segs[-1].kind == "pause":
            self.elapsed -= self.segs.pop().duration_s
        long = 0
        if long_ok and rng.random() < 0.5:
            hold = float(rng.uniform(65.0, 100.0))
            long = 1
        elif rng.random() < 0.1:
            hold = float(rng.uniform(4.0, 6.0))
        else:
            hold = float(rng.uniform(8.0, 45.0))
        self.segs.append(Segment("pause", hold))
        self.elapsed += hold
        return long

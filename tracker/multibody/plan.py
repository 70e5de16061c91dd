"""What the person does, as a list of pieces, and a generator of varied sessions.

A `Plan` is the person and roller (`tracker.multibody.body`) and a sequence of `Piece`s: stand,
turn, crouch, sit down, sit, lie back onto the roller, strokes and stillness on the roller, lifting
the hips into a bridge and lowering them, sitting up, rising and standing. The primary input on
the roller is the contact's path along the back: each stroke moves it to `contact_to_m` along one
of the shapes of `tracker.multibody.profiles`. `tracker.multibody.motion` turns a plan into poses.

`random_plan` varies what real people vary (issue 8): stroke shapes (minimum-jerk, trapezoid with
a long cruise, sine, irregular, asymmetric sets: slow out and fast back), the dwell at each turn,
pace drifting within a set, fast sets, holds over tender spots (some rocked side to side, some
over a minute), both postures and mixed sessions, with and without getting on and off.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from tracker.errors import UsageError
from tracker.guidance import REGIONS, Guidance
from tracker.multibody.body import BRIDGE, FLOOR, FREE, Person, Rig, Roller

#: kind -> (mode, phase). Strokes and stillness take the posture's mode (hips down or bridge).
PIECE_KINDS: dict[str, tuple[int | None, str]] = {
    "stand": (FREE, "upright"),
    "turn": (FREE, "upright"),
    "crouch": (FREE, "transition"),
    "sit_down": (FREE, "transition"),
    "sit": (FLOOR, "sitting"),
    "lie_back": (FLOOR, "transition"),
    "stroke": (None, "on_roller"),
    "still": (None, "on_roller"),
    "lift": (BRIDGE, "on_roller"),
    "lower": (BRIDGE, "on_roller"),
    "sit_up": (FLOOR, "transition"),
    "rise": (FREE, "transition"),
    "stand_up": (FREE, "transition"),
}

SLOW_PACE_MAX_CM_S = 4.3
"""Strokes of a session without fast sets stay below this (a clear margin under the 5 cm/s
too-fast default), except single quick returns of an asymmetric set."""
FAST_PACE_MIN_CM_S = 5.6
MAX_DWELL_S = 2.0
"""The stop at a turn never reaches a hold (`Guidance.hold_min_s`, 3 s by default)."""
MIN_HOLD_S = 4.0
SAME_WAY_STOP_S = 1.0
"""Two strokes the same way are separated by a stop at least this long (else they are one)."""


@dataclass(frozen=True)
class Piece:
    """One thing the person does for `duration_s` seconds (m and deg where named).

    contact_to_m: a stroke's end contact along the back from the hips; where the back lands on
        the roller for `lie_back`.
    pitch_to_deg: the trunk's pitch at the end (free and floor pieces, bridge strokes, `lift`).
    hips_to: (dx, z) for a free piece: J moves by dx along the floor and ends at height z
        (None: on the floor, sitting).
    shape, ramp, skew, wobble: a stroke's progress curve (`tracker.multibody.profiles`).
    rock_deg, rock_hz: rocking side to side (about the long axis) during the piece.
    """

    kind: str
    duration_s: float
    contact_to_m: float | None = None
    pitch_to_deg: float | None = None
    hips_to: tuple[float, float | None] | None = None
    heading_to_deg: float | None = None
    shape: str = "min_jerk"
    ramp: float = 0.2
    skew: float = 0.0
    wobble: tuple[float, float, float] = (0.0, 0.0, 0.0)
    rock_deg: float = 0.0
    rock_hz: float = 0.4

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        return {k: v for k, v in d.items() if v is not None}


@dataclass(frozen=True)
class Plan:
    """A whole session: the person, the roller, where it starts and what happens."""

    pieces: tuple[Piece, ...]
    person: Person
    roller: Roller
    start: str = "upright"
    """"upright", or "hips_down" / "bridge": the recording starts on the roller."""
    start_contact_m: float = 0.35
    start_pitch_deg: float | None = None
    """The bridge's pitch when starting in a bridge."""
    start_heading_deg: float = 0.0
    strap_shift_deg: float = 0.0
    """The strap slips by this much while lying back (the sensor turns on the chest)."""
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        return float(sum(p.duration_s for p in self.pieces))

    def guidance(self, **changes: Any) -> Guidance:
        """Guidance with this session's nominal roller and the person's back length."""
        return Guidance(
            roller_diameter_cm=round(100.0 * self.roller.diameter_m, 3),
            hip_to_neck_cm=round(100.0 * self.person.hip_to_neck_m, 3),
        ).with_overrides(**changes)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": "tracker.multibody.Plan/1",
            "pieces": [p.to_json() for p in self.pieces],
            "person": self.person.to_json(),
            "roller": self.roller.to_json(),
            "start": self.start,
            "start_contact_m": self.start_contact_m,
            "start_pitch_deg": self.start_pitch_deg,
            "start_heading_deg": self.start_heading_deg,
            "strap_shift_deg": self.strap_shift_deg,
            "params": self.params,
        }


# --- the generator -------------------------------------------------------------------------------
class _Writer:
    """Appends pieces while tracking the contact, the posture and the time on the roller."""

    def __init__(self, rig: Rig, rng: np.random.Generator, start_contact_m: float, mode: str):
        self.rig, self.rng = rig, rng
        self.pieces: list[Piece] = []
        self.s = start_contact_m
        self.mode = mode
        self.elapsed = 0.0
        length = rig.person.hip_to_neck_m
        self.hd_lo = rig.lowest_hips_down_contact_m() + 0.01
        self.br_lo = 0.06
        self.hi = length - 0.02
        self.bridge_base_deg = 4.0
        self.bridge_slope_deg_per_m = 0.0
        self.last_direction = 0.0

    @property
    def lo(self) -> float:
        return self.hd_lo if self.mode == "hips_down" else self.br_lo

    def add(self, piece: Piece) -> None:
        self.pieces.append(piece)
        self.elapsed += piece.duration_s

    def bridge_pitch_deg(self, s: float) -> float:
        """The bridge's pitch at contact s: the bout's base and slope, kept so the hips stay
        3-25 cm above the floor and the trunk flatter than it would be with the hips down."""
        want = self.bridge_base_deg + self.bridge_slope_deg_per_m * (s - 0.3)
        qa, qz = self.rig.back.roller_centre(np.array([s]), self.rig.roller.back_offset_m)
        h_c = self.rig.roller.centre_height_m
        grid = np.radians(np.linspace(-4.0, 14.0, 181))
        hips_z = h_c - (qz[0] * np.sin(grid) + qa[0] * np.cos(grid))
        ok = (hips_z >= 0.03) & (hips_z <= 0.25)
        hd = float(np.degrees(self.rig.hips_down_pitch(np.array([s]))[0]))
        ok &= np.degrees(grid) <= hd - 3.0
        if not ok.any():
            return float(np.clip(want, -4.0, hd - 3.0))
        allowed = np.degrees(grid[ok])
        return float(np.clip(want, allowed.min(), allowed.max()))

    def stroke(self, to: float, pace_cm_s: float, style: dict[str, Any]) -> None:
        dist = abs(to - self.s)
        direction = math.copysign(1.0, to - self.s)
        if direction == self.last_direction:
            # going on the same way: a clear stop first, or it would be one stroke, not two
            stop = float(self.rng.uniform(SAME_WAY_STOP_S, MAX_DWELL_S))
            if self.pieces and self.pieces[-1].kind == "still":
                last = self.pieces.pop()
                self.elapsed -= last.duration_s
                stop = max(stop, last.duration_s)
            self.still(stop)
        self.last_direction = direction
        pitch = self.bridge_pitch_deg(to) if self.mode == "bridge" else None
        self.add(
            Piece("stroke", 100.0 * dist / pace_cm_s, contact_to_m=to, pitch_to_deg=pitch, **style)
        )
        self.s = to

    def still(self, duration_s: float, rock_deg: float = 0.0, rock_hz: float = 0.4) -> None:
        self.add(Piece("still", duration_s, rock_deg=rock_deg, rock_hz=rock_hz))


def _style(rng: np.random.Generator, kind: str) -> dict[str, Any]:
    """Shape parameters of one stroke for a set of the given kind."""
    if kind == "trapezoid":
        return {"shape": "trapezoid", "ramp": float(rng.uniform(0.08, 0.22))}
    if kind == "sine":
        return {"shape": "sine"}
    if kind == "irregular":
        c = rng.normal(0.0, 1.0, 3)
        c *= float(rng.uniform(0.3, 0.6)) / np.abs(c).sum()
        base = "trapezoid" if rng.random() < 0.4 else "min_jerk"
        return {
            "shape": base,
            "ramp": float(rng.uniform(0.15, 0.3)),
            "skew": float(rng.uniform(-0.3, 0.3)),
            "wobble": tuple(float(x) for x in c),
        }
    if kind == "skewed":
        return {"shape": "min_jerk", "skew": float(rng.choice([-1.0, 1.0]) * rng.uniform(0.3, 0.7))}
    return {"shape": "min_jerk"}


def _dwell(rng: np.random.Generator, typical: float) -> float:
    if typical <= 0.0:
        return 0.0
    return float(np.clip(typical * rng.uniform(0.6, 1.4), 0.08, MAX_DWELL_S))


def _one_set(w: _Writer, fast: bool, slow_flicks: bool) -> None:
    """A set of strokes over one zone of the back: pace, shape, drift and dwell chosen per set."""
    rng = w.rng
    kind = str(
        rng.choice(
            ["min_jerk", "trapezoid", "sine", "irregular", "skewed", "asymmetric"],
            p=[0.22, 0.2, 0.14, 0.16, 0.1, 0.18],
        )
    )
    if fast:
        n = int(rng.integers(3, 7))
        pace0 = float(rng.uniform(5.9, 10.0))
    else:
        n = int(rng.integers(2, 10))
        pace0 = float(np.clip(rng.lognormal(math.log(2.4), 0.35), 1.0, 4.0))
    asym = kind == "asymmetric"
    ratio = float(rng.uniform(1.4, 2.6)) if asym else 1.0
    if asym:
        n += 1 - n % 2  # odd: slow out, quick back, ..., ending slow
        if not fast:
            pace0 = float(rng.uniform(1.0, 2.4))
    drift = float(rng.uniform(-0.35, 0.35))
    typical_dwell = float(
        rng.choice([0.0, rng.uniform(0.1, 0.6), rng.uniform(0.6, MAX_DWELL_S)], p=[0.2, 0.5, 0.3])
    )
    if kind == "sine" and rng.random() < 0.6:
        typical_dwell = 0.0  # a pendulum: turns without stopping
    lo, hi = w.lo, w.hi
    centre = float(rng.uniform(lo + 0.05, hi - 0.05))
    direction = 1.0 if centre > w.s else -1.0
    flick = asym and not fast and slow_flicks and rng.random() < 0.5
    for i in range(n):
        length = float(rng.uniform(0.10, 0.28) if fast else rng.uniform(0.05, 0.28))
        if abs(w.s - centre) > 0.10:
            direction = 1.0 if centre > w.s else -1.0
        to = w.s + direction * length
        if not lo <= to <= hi:
            direction = -direction
            to = w.s + direction * length
        to = float(np.clip(to, lo, hi))
        if abs(to - w.s) < 0.05:
            to = float(np.clip(w.s + (0.05 if w.s + 0.05 <= hi else -0.05), lo, hi))
        pace = pace0 * (1.0 + drift * (i / max(1, n - 1) - 0.5)) * float(rng.uniform(0.9, 1.1))
        if asym and i % 2 == 1:
            pace *= ratio
        if fast:
            pace = float(np.clip(pace, FAST_PACE_MIN_CM_S, 11.0))
        elif flick and i % 2 == 1:
            pace = float(np.clip(pace, FAST_PACE_MIN_CM_S + 0.2, 8.0))
        else:
            pace = float(np.clip(pace, 0.9, SLOW_PACE_MAX_CM_S))
        w.stroke(to, pace, _style(rng, "min_jerk" if kind == "asymmetric" else kind))
        dwell = _dwell(rng, typical_dwell)
        if dwell > 0:
            w.still(dwell)
        direction = -direction


def _hold(w: _Writer, guidance: Guidance, region: str, long_hold: bool) -> None:
    """Roll slowly to a spot in `region` and stay there (replacing the last turn's dwell)."""
    rng = w.rng
    bounds = {name: (lo, hi) for name, lo, hi in guidance.region_bounds_cm()}
    r_lo, r_hi = (b / 100.0 for b in bounds[region])
    a, b = max(r_lo + 0.01, w.lo), min(r_hi - 0.01, w.hi)
    if a > b:
        a, b = w.lo, w.hi
    spot = float(rng.uniform(a, b))
    if abs(spot - w.s) < 0.05:
        spot = (
            w.s
            if a <= w.s <= b
            else float(np.clip(w.s + math.copysign(0.05, spot - w.s), w.lo, w.hi))
        )
    if abs(spot - w.s) >= 0.01:
        w.stroke(
            spot,
            float(np.clip(rng.lognormal(math.log(2.2), 0.3), 1.0, 4.0)),
            _style(rng, "min_jerk"),
        )
    if w.pieces and w.pieces[-1].kind == "still":
        w.elapsed -= w.pieces.pop().duration_s
    if long_hold:
        dur = float(rng.uniform(65.0, 120.0))
    elif rng.random() < 0.12:
        dur = float(rng.uniform(MIN_HOLD_S, 7.0))
    else:
        dur = float(rng.uniform(8.0, 45.0))
    if rng.random() < 0.3:  # rocking side to side over the tender spot
        w.still(dur, float(rng.uniform(2.0, 7.0)), float(rng.uniform(0.25, 0.7)))
    else:
        w.still(dur)
    w.last_direction = 0.0


def _switch_posture(w: _Writer) -> None:
    """Lift the hips into a bridge, or lower them, where the contact allows it."""
    rng = w.rng
    if w.mode == "hips_down":
        w.bridge_base_deg = float(rng.uniform(0.5, 8.0))
        w.bridge_slope_deg_per_m = float(rng.uniform(-8.0, 8.0))
        w.add(Piece("lift", float(rng.uniform(1.0, 2.5)), pitch_to_deg=w.bridge_pitch_deg(w.s)))
        w.mode = "bridge"
    else:
        if w.s < w.hd_lo + 0.01:
            w.stroke(float(rng.uniform(max(w.hd_lo + 0.03, 0.22), w.hi - 0.04)), 2.5, {})
        w.add(Piece("lower", float(rng.uniform(1.0, 2.5))))
        w.mode = "hips_down"
    w.still(float(rng.uniform(0.4, 1.0)))
    w.last_direction = 0.0


def random_plan(
    seed: int | np.random.Generator = 0,
    *,
    posture: str = "hips_down",
    fast: bool = False,
    getting_on_off: bool = True,
    duration_s: float = 300.0,
    roller_diameter_cm: float | None = None,
    hip_to_neck_cm: float | None = None,
    long_holds: bool | None = None,
    holds: bool = True,
    person: Person | None = None,
    roller: Roller | None = None,
    textbook_body: bool = False,
) -> Plan:
    """A plausible session of about `duration_s` (the last set finishes, so a little more).

    posture: "hips_down", "bridge" or "mixed" (bouts of 1-3 min of each, hips lifted and lowered
        in between). fast: 1-3 sets at 5.6-11 cm/s; otherwise strokes stay under 4.3 cm/s apart
        from single quick returns in asymmetric sets. getting_on_off: stand, turn, sit down and
        lie back first; sit up and stand up at the end. roller_diameter_cm: nominal diameter
        (default: 10-15 cm at random). long_holds: one or two holds over a minute (None: with
        probability 0.3). person, roller: given instead of drawn (the roller's diameter then
        wins over `roller_diameter_cm`). textbook_body: the geometry that
        `tracker.analysis.kinematics` assumes (a straight back, the hips' point pinned on the
        floor, a rigid roller), everything else as drawn.
    """
    if posture not in ("hips_down", "bridge", "mixed"):
        raise UsageError(f"posture {posture!r} is not known", hint="use hips_down, bridge or mixed")
    if not 30.0 <= duration_s <= 4 * 3600.0:
        raise UsageError(f"duration_s = {duration_s} is outside 30..14400 s")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    diameter = (
        float(roller_diameter_cm) / 100.0 if roller_diameter_cm else float(rng.uniform(0.10, 0.15))
    )
    drawn_person = Person.draw(rng, None if hip_to_neck_cm is None else hip_to_neck_cm / 100.0)
    drawn_roller = Roller.draw(rng, diameter)
    person = person or drawn_person
    roller = roller or drawn_roller
    if textbook_body:
        person = replace(person, lordosis_per_m=0.0, kyphosis_per_m=0.0, pelvis_follow=0.0,
                         buttock_depth_m=person.hip_sink_m)  # fmt: skip
        roller = Roller.rigid(roller.diameter_m)
    rig = Rig(person, roller)
    if long_holds is None:
        long_holds = bool(rng.random() < 0.3)
    plan0 = Plan((), person, roller)
    guidance = plan0.guidance()

    mode = "bridge" if posture == "bridge" else "hips_down"
    w = _Writer(rig, rng, 0.0, "hips_down")
    s0 = float(rng.uniform(max(w.hd_lo + 0.02, 0.25), w.hi - 0.04))
    w.s = s0
    start_heading = float(rng.uniform(-180.0, 180.0))
    if getting_on_off:
        sit = person.sit_pitch_deg
        w.add(Piece("stand", float(rng.uniform(3.0, 10.0))))
        w.add(
            Piece(
                "turn",
                float(rng.uniform(1.5, 3.0)),
                heading_to_deg=start_heading + float(rng.uniform(-60, 60)),
            )
        )
        w.add(Piece("stand", float(rng.uniform(1.0, 3.0))))
        w.add(
            Piece(
                "crouch",
                float(rng.uniform(1.0, 1.6)),
                pitch_to_deg=float(rng.uniform(100, 120)),
                hips_to=(0.12, 0.45),
            )
        )
        w.add(
            Piece("sit_down", float(rng.uniform(1.0, 1.8)), pitch_to_deg=sit, hips_to=(0.12, None))
        )
        w.add(
            Piece("sit", float(rng.uniform(2.0, 6.0)), pitch_to_deg=sit + float(rng.uniform(-4, 4)))
        )
        w.add(Piece("lie_back", float(rng.uniform(1.5, 3.0)), contact_to_m=s0))
        w.still(float(rng.uniform(0.4, 1.0)))
        if mode == "bridge":
            _switch_posture(w)
    else:
        w.mode = mode
        if mode == "bridge":
            w.bridge_base_deg = float(rng.uniform(0.5, 8.0))
            w.bridge_slope_deg_per_m = float(rng.uniform(-8.0, 8.0))
    start_pitch = w.bridge_pitch_deg(s0) if (mode == "bridge" and not getting_on_off) else None
    on_start = w.elapsed
    tail = 14.0 if getting_on_off else 0.0
    budget = max(20.0, duration_s - on_start - tail)

    fast_left = int(rng.integers(1, 4)) if fast else 0
    long_left = int(rng.integers(1, 3)) if long_holds else 0
    regions = list(rng.permutation(REGIONS))
    bout_end = w.elapsed + float(rng.uniform(60.0, 180.0))
    n_sets = 0
    n_holds = 0
    while w.elapsed - on_start < budget:
        if posture == "mixed" and w.elapsed > bout_end:
            _switch_posture(w)
            bout_end = w.elapsed + float(rng.uniform(60.0, 180.0))
        is_fast = fast_left > 0 and (n_sets == 1 or (n_sets > 1 and rng.random() < 0.3))
        fast_left -= int(is_fast)
        _one_set(w, is_fast, slow_flicks=not fast)
        n_sets += 1
        if holds and rng.random() < 0.7:
            long_hold = long_left > 0 and rng.random() < 0.5
            long_left -= int(long_hold)
            _hold(w, guidance, regions[n_holds % len(regions)], long_hold)
            n_holds += 1
    if long_left > 0 and holds:
        _hold(w, guidance, regions[n_holds % len(regions)], True)
    if getting_on_off:
        if w.mode == "bridge":
            _switch_posture(w)
        if w.pieces[-1].kind != "still":
            w.still(float(rng.uniform(0.4, 1.0)))
        w.add(Piece("sit_up", float(rng.uniform(1.5, 3.0)), pitch_to_deg=person.sit_pitch_deg))
        w.add(Piece("sit", float(rng.uniform(2.0, 5.0)), pitch_to_deg=person.sit_pitch_deg))
        w.add(
            Piece(
                "rise",
                float(rng.uniform(1.0, 1.6)),
                pitch_to_deg=float(rng.uniform(100, 120)),
                hips_to=(-0.10, 0.45),
            )
        )
        w.add(
            Piece(
                "stand_up",
                float(rng.uniform(1.2, 2.0)),
                pitch_to_deg=person.upright_pitch_deg,
                hips_to=(-0.12, person.standing_hip_height_m),
            )
        )
        w.add(Piece("stand", float(rng.uniform(3.0, 8.0))))
    return Plan(
        pieces=tuple(w.pieces),
        person=person,
        roller=roller,
        start="upright" if getting_on_off else mode,
        start_contact_m=s0,
        start_pitch_deg=start_pitch,
        start_heading_deg=start_heading,
        strap_shift_deg=float(rng.uniform(0.0, 6.0)) if getting_on_off else 0.0,
        params={
            "seed": seed if isinstance(seed, int) else None,
            "posture": posture,
            "fast": fast,
            "getting_on_off": getting_on_off,
            "duration_s": duration_s,
            "long_holds": long_holds,
            "holds": holds,
        },
    )


def with_pieces(plan: Plan, pieces: list[Piece] | tuple[Piece, ...]) -> Plan:
    """The same person and roller doing something else (for scripted tests)."""
    return replace(plan, pieces=tuple(pieces))

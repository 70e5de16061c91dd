"""From a plan to poses: the trunk in the sagittal plane, then the sensor in 3-D.

`Motion(plan, seed)` compiles the plan once (each piece's start and end states, and the
constants that keep the pose continuous where the constraints change: the pelvis rocker's and
the rolling roller's positions), draws the person's small movements, and evaluates at any
times, vectorised:

- `sagittal(t)`: contact s, pitch theta, J (hips' point) X and Z, heading, roll, mode;
- `sensor_pose(t)`: the sensor's position (m) and orientation (sensor-to-world rotation).

Small movements (`Nuisance`), all smooth closed forms so any chunk of time evaluates alone:
breathing 2-7 mm at 0.15-0.35 Hz with a wandering rate and depth, an uneven inhale/exhale and
the odd sigh (the chest rises under the sensor, the chest wall tilts, and the back presses into
the roller, lifting the trunk); the heartbeat's chest-wall vibration; slow rocking about the long
axis; slow pitch wander when the pitch is the person's choice (standing, sitting, bridge); slow
heading wander; rocking side to side during some holds; the strap slipping while lying back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from tracker.multibody.body import BRIDGE, FLOOR, FREE, HIPS_DOWN, Rig
from tracker.multibody.plan import PIECE_KINDS, Plan
from tracker.multibody.profiles import SHAPES, min_jerk, progress

_STATE_AFTER = {
    "lie_back": "hips_down", "lift": "bridge", "lower": "hips_down", "sit_up": "sitting",
    "sit_down": "sitting", "rise": "upright", "crouch": "upright",
}  # fmt: skip
"""What each transition leaves the person doing."""

WANDER_WEIGHT = {
    # kind: (weight at start, at end) of the person's own pitch wander (0 where the constraints
    # set the pitch: hips down on the roller)
    "lie_back": (1.0, 0.0),
    "lift": (0.0, 1.0),
    "lower": (1.0, 0.0),
    "sit_up": (0.0, 1.0),
}


@dataclass(frozen=True)
class SmoothNoise:
    """A sum of sinusoids: a smooth random process that evaluates anywhere."""

    freqs_hz: np.ndarray
    amps: np.ndarray
    phases: np.ndarray

    @classmethod
    def draw(
        cls, rng: np.random.Generator, rms: float, lo_hz: float, hi_hz: float, k: int = 5
    ) -> SmoothNoise:
        f = rng.uniform(lo_hz, hi_hz, k)
        a = rng.uniform(0.3, 1.0, k)
        a *= rms / math.sqrt(0.5 * float(np.sum(a * a)))
        return cls(f, a, rng.uniform(0.0, 2 * math.pi, k))

    def __call__(self, t: np.ndarray) -> np.ndarray:
        arg = np.multiply.outer(t, 2 * math.pi * self.freqs_hz) + self.phases
        return np.sin(arg) @ self.amps


@dataclass(frozen=True)
class Nuisance:
    """The person's small movements for one session (see the module docstring)."""

    breath_hz: float
    breath_depth_m: float
    breath_skew: float
    breath_tilt_rad: float
    breath_posterior: float
    breath_rate_mod: SmoothNoise
    breath_depth_mod: SmoothNoise
    sigh_times_s: np.ndarray
    heart_hz: float
    heart_amp_m: float
    roll: SmoothNoise
    pitch: SmoothNoise
    heading: SmoothNoise
    strap_axis: np.ndarray

    @classmethod
    def draw(cls, rng: np.random.Generator, duration_s: float) -> Nuisance:
        f = float(rng.uniform(0.15, 0.35))
        n_sighs = int(rng.poisson(duration_s / 120.0))
        axis = rng.normal(size=3)
        return cls(
            breath_hz=f,
            breath_depth_m=float(rng.uniform(0.002, 0.007)),
            breath_skew=float(rng.uniform(0.0, 0.5)),
            breath_tilt_rad=math.radians(float(rng.uniform(0.1, 0.5))),
            breath_posterior=float(rng.uniform(0.15, 0.5)),
            # the phase's wander: rate swings by about +-15 % over tens of seconds
            breath_rate_mod=SmoothNoise.draw(rng, 0.15 * f / 0.02 / 2.0, 0.008, 0.03, 3),
            breath_depth_mod=SmoothNoise.draw(rng, 0.15, 0.005, 0.05, 4),
            sigh_times_s=np.sort(rng.uniform(0.0, duration_s, n_sighs)),
            heart_hz=float(rng.uniform(50.0, 85.0) / 60.0),
            heart_amp_m=float(rng.uniform(4e-6, 15e-6)),
            roll=SmoothNoise.draw(rng, math.radians(float(rng.uniform(0.4, 1.5))), 0.02, 0.3),
            pitch=SmoothNoise.draw(rng, math.radians(float(rng.uniform(0.2, 0.8))), 0.01, 0.2),
            heading=SmoothNoise.draw(
                rng, math.radians(float(rng.uniform(0.2, 0.8))), 0.003, 0.03, 3
            ),
            strap_axis=axis / np.linalg.norm(axis),
        )

    @classmethod
    def quiet(cls) -> Nuisance:
        """No small movements at all (for tests of the geometry)."""
        none = SmoothNoise(np.zeros(1), np.zeros(1), np.zeros(1))
        return cls(0.25, 0.0, 0.0, 0.0, 0.0, none, none, np.zeros(0), 1.0, 0.0, none, none, none,
                   np.array([0.0, 0.0, 1.0]))  # fmt: skip

    def breath_rise(self, t: np.ndarray) -> np.ndarray:
        """Chest rise under the sensor, 0 (end of exhale) to about the depth (m)."""
        phase = 2 * math.pi * self.breath_hz * t + self.breath_rate_mod(t)
        wave = 0.5 * (1.0 - np.cos(phase + self.breath_skew * np.sin(phase)))
        depth = self.breath_depth_m * (1.0 + self.breath_depth_mod(t))
        if self.sigh_times_s.size:
            depth = depth * (1.0 + 1.2 * self._sighs(t))
        return depth * wave

    def _sighs(self, t: np.ndarray) -> np.ndarray:
        """Sum of the sighs' bumps (4 s wide), computed only near each sigh."""
        out = np.zeros_like(t)
        if t.size > 1 and np.all(np.diff(t) >= 0):
            lo = np.searchsorted(t, self.sigh_times_s - 12.0)
            hi = np.searchsorted(t, self.sigh_times_s + 12.0)
            for a, b, c in zip(lo, hi, self.sigh_times_s, strict=True):
                if b > a:
                    out[a:b] += np.exp(-(((t[a:b] - c) / 4.0) ** 2))
            return out
        d = np.subtract.outer(t, self.sigh_times_s)
        return np.where(np.abs(d) < 12.0, np.exp(-((d / 4.0) ** 2)), 0.0).sum(axis=-1)

    def heart(self, t: np.ndarray) -> np.ndarray:
        """The chest wall's vibration with each heartbeat (seismocardiogram), m."""
        beat = np.mod(t * self.heart_hz, 1.0) / self.heart_hz  # s since the beat started
        first = np.exp(-(((beat - 0.05) / 0.015) ** 2)) * np.sin(2 * math.pi * 22.0 * (beat - 0.05))
        second = (
            0.6
            * np.exp(-(((beat - 0.34) / 0.015) ** 2))
            * np.sin(2 * math.pi * 28.0 * (beat - 0.34))
        )
        return self.heart_amp_m * (first + second)


class Motion:
    """A compiled plan: poses at any time (see the module docstring)."""

    def __init__(
        self, plan: Plan, rng: np.random.Generator, mount: np.ndarray, quiet: bool = False
    ) -> None:
        self.plan = plan
        self.rig = Rig(plan.person, plan.roller)
        drawn = Nuisance.draw(rng, plan.duration_s + 5.0)
        self.nuisance = Nuisance.quiet() if quiet else drawn
        self.mount = np.asarray(mount, dtype=float)
        self._compile()

    # --- compile -------------------------------------------------------------------------------
    def _offset(self, t: float | np.ndarray, rise: np.ndarray | None = None) -> Any:
        """Roller centre to the back line: the back presses into the roller as the chest fills."""
        if rise is None:
            rise = self.nuisance.breath_rise(np.atleast_1d(t))
        return self.rig.roller.back_offset_m + self.nuisance.breath_posterior * rise

    def _start_state(self) -> dict[str, Any]:
        """Pose and constants at t = 0 (standing, or already on the roller)."""
        plan, rig = self.plan, self.rig
        s = plan.start_contact_m
        st: dict[str, Any] = {"t": 0.0, "psi": math.radians(plan.start_heading_deg), "s": s,
                              "shift": 0.0, "state": plan.start, "kp": 0.0, "kr": 0.0}  # fmt: skip
        if plan.start == "upright":
            th, jx, jz = (
                math.radians(plan.person.upright_pitch_deg),
                0.0,
                plan.person.standing_hip_height_m,
            )
        elif plan.start == "hips_down":
            th = float(rig.hips_down_pitch(np.array([s]), self._offset(0.0))[0])
            x, z = rig.hips_on_floor(np.array([th]), 0.0)
            jx, jz = float(x[0]), float(z[0])
        else:
            th = math.radians(plan.start_pitch_deg or 4.0)
            x, z = rig.hanging_hips(
                np.array([th]), np.array([s]), np.array([0.0]), self._offset(0.0)
            )
            jx, jz = float(x[0]), float(z[0])
            st["kr"] = rig.k_roll_for(th, s, 0.0)
        st.update(th=th, jx=jx, jz=jz, w=0.0 if plan.start == "hips_down" else 1.0)
        st["mode"] = {"upright": FREE, "hips_down": HIPS_DOWN, "bridge": BRIDGE}[plan.start]
        st["roller_x"] = float(
            rig.roller_x_under(np.array([th]), np.array([s]), np.array([jx]), self._offset(0.0))[0]
        )
        return st

    def _end_pitch(self, p: Any, m: int, st: dict[str, Any], t1: float, s1: float) -> float:
        """The scripted pitch at a piece's end: the hips-down root where the piece ends with the
        back on the roller and the hips down, else the piece's target (or no change)."""
        if p.kind in ("lie_back", "lower") or m == HIPS_DOWN:
            return float(self.rig.hips_down_pitch(np.array([s1]), self._offset(t1))[0])
        if p.pitch_to_deg is not None:
            return math.radians(p.pitch_to_deg)
        return st["th"] - st["w"] * float(self.nuisance.pitch(np.array([st["t"]]))[0])

    def _compile(self) -> None:
        plan, rig, nz = self.plan, self.rig, self.nuisance
        n = len(plan.pieces)
        f = {k: np.zeros(n) for k in ("t0", "t1", "s0", "s1", "th0", "th1", "jx0", "jx1", "jz0", "jz1",
                                        "psi0", "psi1", "ramp", "skew", "rock", "rock_hz", "kp", "kr",
                                        "w0", "w1", "shift0", "shift1")}  # fmt: skip
        mode, shape = np.zeros(n, dtype=int), np.zeros(n, dtype=int)
        wobble, stroke = np.zeros((n, 3)), np.zeros(n, dtype=bool)
        posture: list[str | None] = []
        st = self._start_state()
        for i, p in enumerate(plan.pieces):
            m = self._piece_mode(i, p, st["state"])
            t, t1 = st["t"], st["t"] + p.duration_s
            w_end = WANDER_WEIGHT.get(p.kind, (0.0, 0.0) if m == HIPS_DOWN else (1.0, 1.0))[1]
            s1 = float(st["s"])
            if p.kind in ("stroke", "lie_back") and p.contact_to_m is not None:
                s1 = float(p.contact_to_m)
            if m in (FLOOR, HIPS_DOWN) and st["mode"] not in (FLOOR, HIPS_DOWN):
                st["kp"] = rig.k_pelvis_for(st["th"], st["jx"])  # J stays where it was
            if m == BRIDGE and st["mode"] != BRIDGE:
                st["kr"] = rig.k_roll_for(st["th"], st["s"], st["roller_x"])  # so does the roller
            th0 = st["th"] - st["w"] * float(nz.pitch(np.array([t]))[0])  # the scripted part now
            th1 = self._end_pitch(p, m, st, t1, s1)
            jx1, jz1 = st["jx"], st["jz"]
            if m == FREE and p.hips_to is not None:
                jx1 = st["jx"] + p.hips_to[0]
                final = th1 + w_end * float(nz.pitch(np.array([t1]))[0])
                # None: the piece ends sitting on the floor, at the rocker's height
                jz1 = (
                    float(rig.hips_on_floor(np.array([final]), 0.0)[1][0])
                    if p.hips_to[1] is None
                    else p.hips_to[1]
                )
            psi1 = st["psi"] if p.heading_to_deg is None else math.radians(p.heading_to_deg)
            shift1 = 1.0 if p.kind == "lie_back" else st["shift"]
            values = {"t0": t, "t1": t1, "s0": st["s"], "s1": s1, "th0": th0, "th1": th1, "jx0": st["jx"],
                      "jx1": jx1, "jz0": st["jz"], "jz1": jz1, "psi0": st["psi"], "psi1": psi1,
                      "ramp": p.ramp, "skew": p.skew, "rock": math.radians(p.rock_deg),
                      "rock_hz": p.rock_hz, "kp": st["kp"], "kr": st["kr"], "w0": st["w"], "w1": w_end,
                      "shift0": st["shift"], "shift1": shift1}  # fmt: skip
            for key, value in values.items():
                f[key][i] = value
            mode[i], shape[i], wobble[i] = m, SHAPES.get(p.shape, 0), p.wobble
            stroke[i] = p.kind == "stroke"
            on = p.kind in ("stroke", "still", "lift", "lower")
            posture.append(("hips_down" if m == HIPS_DOWN else "bridge") if on else None)
            self._arrays = (f, mode, shape, wobble, stroke)
            # the state at the end of this piece, evaluated exactly as the samples will be
            end = self.sagittal(np.array([t1]), np.array([i]))
            st.update({k: float(end[v][0]) for k, v in (("th", "theta"), ("jx", "hips_x"), ("jz", "hips_z"),
                                                         ("s", "s_all"), ("roller_x", "roller_x"))})  # fmt: skip
            st.update(psi=psi1, shift=shift1, w=w_end, t=t1, mode=m)
            st["state"] = _STATE_AFTER.get(p.kind, st["state"])
        self.piece_t0 = f["t0"]
        self.piece_t1 = f["t1"]
        self.piece_mode = mode
        self.piece_posture = posture
        self.duration_s = st["t"]

    @staticmethod
    def _piece_mode(i: int, p: Any, state: str) -> int:
        if p.kind not in PIECE_KINDS:
            raise ValueError(f"piece {i}: unknown kind {p.kind!r}")
        m = PIECE_KINDS[p.kind][0]
        if m is not None:
            return m
        if state not in ("hips_down", "bridge"):
            raise ValueError(f"piece {i} ({p.kind}) needs the back on the roller, not {state}")
        return HIPS_DOWN if state == "hips_down" else BRIDGE

    # --- evaluation ----------------------------------------------------------------------------
    def piece_index(self, t: np.ndarray) -> np.ndarray:
        return np.clip(np.searchsorted(self.piece_t1, t, side="left"), 0, len(self.piece_t1) - 1)

    def contact(self, t: np.ndarray) -> np.ndarray:
        """The plan's contact along the back (m) at times `t` (cheap: no pose)."""
        f, _mode, shape_p, wobble_p, _stroke = self._arrays
        t = np.asarray(t, dtype=float)
        j = self.piece_index(t)
        dur = f["t1"][j] - f["t0"][j]
        u = np.clip((t - f["t0"][j]) / np.maximum(dur, 1e-9), 0.0, 1.0)
        prog = progress(u, shape_p[j], f["ramp"][j], f["skew"][j], wobble_p[j])
        return f["s0"][j] + (f["s1"][j] - f["s0"][j]) * prog

    def sagittal(self, t: np.ndarray, j: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """The trunk in the sagittal plane at times `t` (s): keys s (contact, m; NaN off the
        roller), s_all (the plan's contact everywhere), theta (pitch, rad), hips_x, hips_z (J, m),
        roller_x (m, meaningful on the roller), psi (heading), phi (roll), mode, offset."""
        f, mode_p, shape_p, wobble_p, stroke_p = self._arrays
        t = np.asarray(t, dtype=float)
        if j is None:
            j = self.piece_index(t)
        nz, rig = self.nuisance, self.rig
        dur = f["t1"][j] - f["t0"][j]
        u = np.clip((t - f["t0"][j]) / np.maximum(dur, 1e-9), 0.0, 1.0)
        mj = min_jerk(u)
        prog = progress(u, shape_p[j], f["ramp"][j], f["skew"][j], wobble_p[j])
        s = f["s0"][j] + (f["s1"][j] - f["s0"][j]) * prog
        mode = mode_p[j]
        lie = (mode == FLOOR) & (f["s1"][j] != f["s0"][j])  # lying back: the contact is a target
        s = np.where(lie, f["s1"][j], s)
        ramp = np.where(stroke_p[j] & (mode == BRIDGE), prog, mj)
        weight = f["w0"][j] + (f["w1"][j] - f["w0"][j]) * mj
        theta = f["th0"][j] + (f["th1"][j] - f["th0"][j]) * ramp + weight * nz.pitch(t)
        rise = nz.breath_rise(t)
        offset = self._offset(t, rise)
        hx = f["jx0"][j] + (f["jx1"][j] - f["jx0"][j]) * mj
        hz = f["jz0"][j] + (f["jz1"][j] - f["jz0"][j]) * mj
        roller_x = np.full_like(t, np.nan)
        hd = mode == HIPS_DOWN
        if hd.any():
            theta[hd] = rig.hips_down_pitch(s[hd], offset[hd])
        floor = hd | (mode == FLOOR)
        if floor.any():
            x, z = rig.hips_on_floor(theta[floor], f["kp"][j][floor])
            hx[floor], hz[floor] = x, z
        br = mode == BRIDGE
        if br.any():
            roller_x[br] = rig.rolled_roller_x(theta[br], s[br], f["kr"][j][br])
            x, z = rig.hanging_hips(theta[br], s[br], roller_x[br], offset[br])
            hx[br], hz[br] = x, z
        if hd.any():
            roller_x[hd] = rig.roller_x_under(theta[hd], s[hd], hx[hd], offset[hd])
        psi = f["psi0"][j] + (f["psi1"][j] - f["psi0"][j]) * mj + nz.heading(t)
        rock = (
            f["rock"][j]
            * np.sin(np.pi * u) ** 2
            * np.sin(2 * np.pi * f["rock_hz"][j] * (t - f["t0"][j]))
        )
        phi = nz.roll(t) + rock
        on = hd | br
        return {
            "s": np.where(on, s, np.nan),
            "s_all": s,
            "theta": theta,
            "hips_x": hx,
            "hips_z": hz,
            "roller_x": roller_x,
            "psi": psi,
            "phi": phi,
            "mode": mode,
            "offset": offset,
            "rise": rise,
            "shift": f["shift0"][j] + (f["shift1"][j] - f["shift0"][j]) * mj,
        }

    def body_rotation(self, sag: dict[str, np.ndarray]) -> np.ndarray:
        """(N, 3, 3) trunk-to-world rotations: columns anterior, left, superior (BODY_AXES)."""
        return trunk_rotation(sag["theta"], sag["psi"], sag["phi"])

    def mount_at(self, shift: np.ndarray) -> np.ndarray:
        """(N, 3, 3) sensor-to-body rotation as the strap slips (`shift` 0..1 of the slip)."""
        angle = math.radians(self.plan.strap_shift_deg) * shift
        return _rodrigues(self.nuisance.strap_axis, angle) @ self.mount

    def sensor_pose(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The sensor's position (N, 3) in m and sensor-to-world rotation (N, 3, 3) at `t`."""
        t = np.asarray(t, dtype=float)
        sag = self.sagittal(t)
        cp, sp = np.cos(sag["psi"]), np.sin(sag["psi"])
        hips = np.stack([sag["hips_x"] * cp, sag["hips_x"] * sp, sag["hips_z"]], axis=-1)
        return chest_sensor(
            t, hips, self.body_rotation(sag), self.plan.person, self.nuisance,
            self.mount_at(sag["shift"]), rise=sag["rise"],
        )  # fmt: skip


def trunk_rotation(theta: np.ndarray, psi: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """(N, 3, 3) trunk-to-world rotations for pitch `theta` (the superior axis's elevation),
    heading `psi` (where the superior axis points, about world Z) and roll `phi` (about the
    superior axis, so it never changes the pitch). Columns: anterior, left, superior."""
    cp, sp = np.cos(psi), np.sin(psi)
    ct, st = np.cos(theta), np.sin(theta)
    z_b = np.stack([ct * cp, ct * sp, st], axis=-1)
    x0 = np.stack([-st * cp, -st * sp, ct], axis=-1)
    y0 = np.stack([sp, -cp, np.zeros_like(sp)], axis=-1)
    cf, sf = np.cos(phi)[:, None], np.sin(phi)[:, None]
    return np.stack([cf * x0 + sf * y0, -sf * x0 + cf * y0, z_b], axis=-1)


def chest_sensor(
    t: np.ndarray,
    hips_w: np.ndarray,
    r_wb: np.ndarray,
    person: Any,
    nuisance: Nuisance,
    mount: np.ndarray,
    rise: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """A sensor strapped to the chest: position (N, 3) and sensor-to-world rotation (N, 3, 3).

    hips_w: (N, 3) J in the world; r_wb: (N, 3, 3) trunk-to-world; mount: (3, 3) or (N, 3, 3)
    sensor-to-body. The chest wall under the sensor rises with each breath and vibrates with each
    heartbeat along its normal (tilted by the sternum's angle) and tilts with the breath."""
    nz = nuisance
    rise = nz.breath_rise(t) if rise is None else rise
    wall = rise + nz.heart(t)
    tau = math.radians(person.sternum_tilt_deg)
    lever = np.stack(
        [person.chest_depth_m + wall * math.cos(tau), np.full_like(t, person.sensor_lateral_m),
         person.sensor_height_m + wall * math.sin(tau)], axis=-1,
    )  # fmt: skip
    pos = hips_w + np.einsum("nij,nj->ni", r_wb, lever)
    tilt = nz.breath_tilt_rad * (rise / max(nz.breath_depth_m, 1e-9) - 0.5)
    c, s = np.cos(tilt), np.sin(tilt)
    r_tilt = np.zeros((len(t), 3, 3))
    r_tilt[:, 0, 0] = c
    r_tilt[:, 0, 2] = s
    r_tilt[:, 1, 1] = 1.0
    r_tilt[:, 2, 0] = -s
    r_tilt[:, 2, 2] = c
    return pos, r_wb @ r_tilt @ mount


def _rodrigues(axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """(N, 3, 3) rotations by `angle` (N,) about the unit `axis` (3,)."""
    k = np.array([[0.0, -axis[2], axis[1]], [axis[2], 0.0, -axis[0]], [-axis[1], axis[0], 0.0]])
    angle = np.atleast_1d(angle)
    s, c = np.sin(angle)[:, None, None], (1.0 - np.cos(angle))[:, None, None]
    return np.eye(3) + s * k + c * (k @ k)

"""Body and roller of model 2, and the constraints that put the trunk on the roller.

Everything here is planar: the sagittal plane, world coordinates (X, Z) with X along the floor
toward the head when lying and Z up. The trunk is one rigid segment described in its own frame
(a, z): z along the chord of the back from the hips' point J (sigma = 0) to the neck
(sigma = hip_to_neck), a anterior. Its pitch theta is the chord's elevation above the floor
(the analysis's "pitch": 90 deg standing).

- **The back** is a curve b(sigma) parametrised by arc length, from its curvature: a lumbar part
  that may curve one way and a thoracic part that may curve the other, with the chord along z.
  Its posterior normal is nu(sigma); the roller's centre sits at q(s) = b(s) + d nu(s) when it
  touches the back at arc length s (d: centre to undeformed back line).
- **The roller** flattens on the floor (its centre sits `floor_sink` lower than its radius) and
  under the back, and the back's tissue gives: the contact point sinks by the sum of the three.
  Rolling radii are those of a flattened tyre (radius minus a third of its own flattening).
- **The pelvis** is a rocker: the buttocks are a circle of radius R_p that rolls without slipping
  on the floor (sunk by `hip_sink`), joined to the trunk at J; the pelvis turns by a share
  `pelvis_follow` of the trunk's pitch (the rest is the lumbar spine bending).

Postures (the pose is solved from these constraints, not written down in closed form):

- **hips on the floor** (sitting, lying back, hips-down rolling): J follows the rocker; with the
  back on the roller the pitch is the root of  Z_J(theta) + [R(theta) q(s)]_Z = h_c  (Newton).
- **bridge** (hips lifted): the trunk's pitch is the person's choice; the roller rolls without
  slipping on floor and back, which integrates exactly to
  X_c = K - rho_f (theta - beta(s) + s / rho_b), and the trunk hangs on the roller:
  J = C - R(theta) q(s). The body then travels about (1 + rho_f / rho_b) times the contact.

Units: SI (m, rad) in this module.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy.interpolate import CubicSpline

FLOOR, FREE, HIPS_DOWN, BRIDGE = 0, 1, 2, 3
"""Modes of a piece of motion: hips on the floor with a scripted pitch (sitting, lying back);
free (standing, getting up: the hips' path is scripted); hips down on the roller (pitch solved
from the contact); bridge (pitch scripted, hips hanging on the rolling roller)."""


@dataclass(frozen=True)
class Roller:
    """A foam roller on the floor and how much it, and the back on it, give way (m)."""

    diameter_m: float = 0.15
    floor_sink_m: float = 0.003
    """The roller's flattening against the floor (its centre sits this much lower)."""
    foam_sink_m: float = 0.003
    """The roller's flattening under the back."""
    tissue_sink_m: float = 0.010
    """How far the back's soft tissue gives where it lies on the roller."""

    @property
    def radius_m(self) -> float:
        return 0.5 * self.diameter_m

    @property
    def centre_height_m(self) -> float:
        return self.radius_m - self.floor_sink_m

    @property
    def back_offset_m(self) -> float:
        """Roller centre to the undeformed back line."""
        return self.radius_m - self.foam_sink_m - self.tissue_sink_m

    @property
    def contact_sink_m(self) -> float:
        """How far the contact point sits below where a rigid roller and back would put it."""
        return self.floor_sink_m + self.foam_sink_m + self.tissue_sink_m

    @property
    def floor_rolling_radius_m(self) -> float:
        return self.radius_m - self.floor_sink_m / 3.0

    @property
    def back_rolling_radius_m(self) -> float:
        return self.radius_m - self.foam_sink_m / 3.0

    @classmethod
    def rigid(cls, diameter_m: float = 0.15) -> Roller:
        """No flattening and no tissue: the textbook geometry."""
        return cls(diameter_m, 0.0, 0.0, 0.0)

    @classmethod
    def draw(cls, rng: np.random.Generator, diameter_m: float) -> Roller:
        """A roller of this diameter with a contact that sinks 1-3 cm (roller foam and tissue)."""
        total = float(rng.uniform(0.010, 0.030))
        floor = total * float(rng.uniform(0.08, 0.2))
        foam = total * float(rng.uniform(0.1, 0.25))
        return cls(diameter_m, floor, foam, total - floor - foam)

    def to_json(self) -> dict[str, float]:
        return {k: float(v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class Person:
    """The trunk, pelvis and sensor placement of one person (m, deg where named)."""

    hip_to_neck_m: float = 0.50
    lumbar_fraction: float = 1.0 / 3.0
    lordosis_per_m: float = 0.0
    """Curvature of the lumbar back line while lying (concave toward the floor), 1/m."""
    kyphosis_per_m: float = 0.0
    """Curvature of the thoracic back line while lying (convex toward the floor), 1/m."""
    pelvis_radius_m: float = 0.09
    buttock_depth_m: float = 0.02
    """How far the buttocks reach below the back line when lying flat."""
    buttock_drop_m: float = 0.07
    """The rocker's centre, below J along the trunk."""
    pelvis_follow: float = 0.3
    """Share of the trunk's pitch the pelvis turns with (0: it stays, 1: rigid)."""
    hip_sink_m: float = 0.01
    """How far the buttocks' tissue gives on the floor."""
    sensor_height_m: float = 0.38
    """The sensor up the trunk from J, along the chord (sternum height)."""
    chest_depth_m: float = 0.21
    """Back line to the sensor on the chest."""
    sensor_lateral_m: float = 0.0
    """The sensor's offset from the sternum's midline (to the person's left)."""
    sternum_tilt_deg: float = 18.0
    """The chest wall's normal under the sensor, tilted from anterior toward the head."""
    standing_hip_height_m: float = 0.95
    upright_pitch_deg: float = 88.0
    sit_pitch_deg: float = 75.0

    @classmethod
    def draw(cls, rng: np.random.Generator, hip_to_neck_m: float | None = None) -> Person:
        length = float(rng.uniform(0.44, 0.56)) if hip_to_neck_m is None else hip_to_neck_m
        hip_sink = float(rng.uniform(0.005, 0.025))
        return cls(
            hip_to_neck_m=length,
            lordosis_per_m=float(rng.uniform(-0.2, 0.4)),
            kyphosis_per_m=float(rng.uniform(-0.2, 0.5)),
            pelvis_radius_m=float(rng.uniform(0.06, 0.12)),
            # lying flat, the buttocks' tissue gives about as far as they reach below the back line
            buttock_depth_m=hip_sink + float(rng.uniform(-0.01, 0.01)),
            buttock_drop_m=float(rng.uniform(0.05, 0.10)),
            pelvis_follow=float(rng.uniform(0.0, 0.3)),
            hip_sink_m=hip_sink,
            sensor_height_m=float(rng.uniform(0.62, 0.84)) * length,
            chest_depth_m=float(rng.uniform(0.17, 0.26)),
            sensor_lateral_m=float(rng.uniform(-0.03, 0.03)),
            sternum_tilt_deg=float(rng.uniform(8.0, 28.0)),
            standing_hip_height_m=float(rng.uniform(0.85, 1.02)),
            upright_pitch_deg=float(rng.uniform(84.0, 93.0)),
            sit_pitch_deg=float(rng.uniform(65.0, 85.0)),
        )

    def to_json(self) -> dict[str, float]:
        return {k: float(v) for k, v in asdict(self).items()}


@dataclass
class BackProfile:
    """The back line b(sigma) = (a, z) in the trunk frame, its tangent angle beta(sigma) (from
    +z toward +a) and posterior normal nu = (-cos beta, sin beta); sigma from J along the back.

    Built by integrating the curvature on a 1 mm grid and rotating the curve so its chord from
    sigma = 0 to the neck lies along +z; evaluated through C2 cubic splines (so sampled poses
    differentiate cleanly)."""

    person: Person
    sigma_m: np.ndarray = field(init=False, repr=False)
    _a: CubicSpline = field(init=False, repr=False)
    _z: CubicSpline = field(init=False, repr=False)
    _beta: CubicSpline = field(init=False, repr=False)

    def __post_init__(self) -> None:
        p = self.person
        length = p.hip_to_neck_m
        sigma = np.arange(-0.15, length + 0.15 + 1e-9, 0.001)
        knee = p.lumbar_fraction * length
        w = 0.5 * (1.0 - np.tanh((sigma - knee) / 0.03))  # 1 in the lumbar part, 0 above
        kappa = p.lordosis_per_m * w - p.kyphosis_per_m * (1.0 - w)
        beta = _cumtrapz0(kappa, sigma)
        a = _cumtrapz0(np.sin(beta), sigma)
        z = _cumtrapz0(np.cos(beta), sigma)
        i0 = int(np.argmin(np.abs(sigma)))
        a, z, beta = a - a[i0], z - z[i0], beta  # J (sigma = 0) at the origin
        i1 = int(np.argmin(np.abs(sigma - length)))
        gamma = math.atan2(a[i1], z[i1])  # the chord's angle from +z toward +a
        c, s = math.cos(gamma), math.sin(gamma)
        a, z = a * c - z * s, a * s + z * c
        self.sigma_m = sigma
        self._a = CubicSpline(sigma, a)
        self._z = CubicSpline(sigma, z)
        self._beta = CubicSpline(sigma, beta - gamma)

    def point(self, sigma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(a, z) of the back line at arc length `sigma` (m)."""
        return self._a(sigma), self._z(sigma)

    def beta(self, sigma: np.ndarray) -> np.ndarray:
        """Tangent angle (rad) from +z toward +a."""
        return self._beta(sigma)

    def roller_centre(
        self, sigma: np.ndarray, offset_m: np.ndarray | float
    ) -> tuple[np.ndarray, np.ndarray]:
        """q(s): the roller's centre in the trunk frame when it touches the back at `sigma`."""
        a, z = self.point(sigma)
        b = self.beta(sigma)
        return a - offset_m * np.cos(b), z + offset_m * np.sin(b)


def _cumtrapz0(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    out = np.empty_like(y)
    out[0] = 0.0
    np.cumsum(0.5 * (y[1:] + y[:-1]) * np.diff(x), out=out[1:])
    return out


def world_z(a: Any, z: Any, theta: Any) -> Any:
    """World height of trunk-frame vector (a, z) at pitch theta: z sin(theta) + a cos(theta)."""
    return z * np.sin(theta) + a * np.cos(theta)


def world_x(a: Any, z: Any, theta: Any) -> Any:
    """World X of trunk-frame vector (a, z) at pitch theta: z cos(theta) - a sin(theta)."""
    return z * np.cos(theta) - a * np.sin(theta)


class Rig:
    """One person on one roller: the pose solvers (vectorised over samples)."""

    def __init__(self, person: Person, roller: Roller) -> None:
        self.person = person
        self.roller = roller
        self.back = BackProfile(person)
        p = person
        # rocker centre from J in the pelvis frame (equal to the trunk frame when lying flat)
        self.rocker_a = p.pelvis_radius_m - p.buttock_depth_m
        self.rocker_z = -p.buttock_drop_m
        self.rocker_height = p.pelvis_radius_m - p.hip_sink_m

    # --- hips on the floor ---------------------------------------------------------------------
    def pelvis_angle(self, theta: np.ndarray) -> np.ndarray:
        return self.person.pelvis_follow * theta

    def hips_on_floor(
        self, theta: np.ndarray, k_pelvis: float | np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """J's (X, Z) with the pelvis rocker on the floor at trunk pitch `theta`.

        The rocker rolls without slipping: its centre's X is k_pelvis - R_p * alpha."""
        alpha = self.pelvis_angle(theta)
        xz = world_x(self.rocker_a, self.rocker_z, alpha)
        zz = world_z(self.rocker_a, self.rocker_z, alpha)
        return k_pelvis - self.person.pelvis_radius_m * alpha - xz, self.rocker_height - zz

    def k_pelvis_for(self, theta: float, hips_x: float) -> float:
        """The rocker constant that puts J at `hips_x` at pitch `theta` (continuity)."""
        x0, _ = self.hips_on_floor(np.array([theta]), 0.0)
        return float(hips_x - x0[0])

    def hips_down_pitch(
        self, s: np.ndarray, offset_m: np.ndarray | float | None = None, iterations: int = 12
    ) -> np.ndarray:
        """Pitch (rad) with the hips on the floor and the back touching the roller at arc length
        `s` (m): the root of Z_J(theta) + [R(theta) q(s)]_Z - h_c by Newton's method."""
        s = np.asarray(s, dtype=float)
        d = self.roller.back_offset_m if offset_m is None else offset_m
        qa, qz = self.back.roller_centre(s, d)
        k = self.person.pelvis_follow
        target = self.roller.centre_height_m - self.rocker_height
        r = self.roller.radius_m
        theta = 2.0 * np.arctan2(r, np.maximum(s, 1e-3))
        for _ in range(iterations):
            alpha = k * theta
            f = world_z(qa, qz, theta) - world_z(self.rocker_a, self.rocker_z, alpha) - target
            df = world_x(qa, qz, theta) - k * world_x(self.rocker_a, self.rocker_z, alpha)
            step = f / df
            theta = theta - step
            if np.max(np.abs(step), initial=0.0) < 1e-13:
                break
        return theta

    # --- bridge ----------------------------------------------------------------------------------
    def rolled_roller_x(
        self, theta: np.ndarray, s: np.ndarray, k_roll: float | np.ndarray
    ) -> np.ndarray:
        """The roller centre's X while it rolls without slipping on floor and back."""
        rl = self.roller
        return k_roll - rl.floor_rolling_radius_m * (
            theta - self.back.beta(s) + s / rl.back_rolling_radius_m
        )

    def k_roll_for(self, theta: float, s: float, roller_x: float) -> float:
        x0 = self.rolled_roller_x(np.array([theta]), np.array([s]), 0.0)
        return float(roller_x - x0[0])

    def hanging_hips(
        self,
        theta: np.ndarray,
        s: np.ndarray,
        roller_x: np.ndarray,
        offset_m: np.ndarray | float | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """J's (X, Z) for a trunk at pitch `theta` lying on the roller (centre at `roller_x`,
        contact at arc length `s`)."""
        d = self.roller.back_offset_m if offset_m is None else offset_m
        qa, qz = self.back.roller_centre(s, d)
        return roller_x - world_x(qa, qz, theta), self.roller.centre_height_m - world_z(
            qa, qz, theta
        )

    def roller_x_under(
        self,
        theta: np.ndarray,
        s: np.ndarray,
        hips_x: np.ndarray,
        offset_m: np.ndarray | float | None = None,
    ) -> np.ndarray:
        """Where the roller's centre is, given the trunk's pose and the contact."""
        d = self.roller.back_offset_m if offset_m is None else offset_m
        qa, qz = self.back.roller_centre(s, d)
        return hips_x + world_x(qa, qz, theta)

    # --- limits ------------------------------------------------------------------------------------
    def lowest_hips_down_contact_m(self, max_pitch_deg: float = 50.0) -> float:
        """The lowest contact reachable hips down (the trunk no steeper than `max_pitch_deg`),
        searched from the neck down so that only valid roots of the constraint count."""
        s = np.linspace(self.person.hip_to_neck_m, 0.02, 500)
        th = np.degrees(self.hips_down_pitch(s))
        bad = np.flatnonzero(~((th > 0.0) & (th <= max_pitch_deg)))
        if bad.size == 0:
            return float(s[-1])
        return float(s[max(0, bad[0] - 1)])

    def describe(self) -> dict[str, Any]:
        return {"person": self.person.to_json(), "roller": self.roller.to_json()}

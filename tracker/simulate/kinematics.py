"""Exact kinematics of a torso on a foam roller: smooth paths, rotation chains, specific force.

Everything here is analytic: every path carries its first and second time derivatives, and the
rotation chain propagates angular velocity and angular acceleration exactly, so the simulated
accelerometer and gyroscope are the true specific force and rotation rate (no finite differences).

World frame (right-handed, inertial): X horizontal along the spine's heading on the roller (hips
toward head), Y horizontal, Z up. Body frame (`tracker.imu.BODY_AXES`): x anterior, y left,
z superior. Units inside this module are SI (m, s, rad).

Body orientation: R_wb = Rz(psi) @ A0 @ Ry(theta) @ Rz(phi), where A0 is supine and level (body x
up, body z along +X), theta is the torso pitch (elevation of the superior axis above horizontal;
90 deg standing upright), phi the roll about the long axis (rocking, sway) and psi the heading.
Roll is applied last, about the superior axis, so it never changes the pitch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tracker.imu import quaternion_to_matrix

GRAVITY_M_S2 = 9.80665

#: Supine and level: body x (anterior) -> world +Z, body y (left) -> world -Y, body z -> world +X.
A0 = np.array([[0.0, 0.0, 1.0], [0.0, -1.0, 0.0], [1.0, 0.0, 0.0]])

# Raised-cosine ramp: position g(u) = u - sin(2 pi u) / (2 pi) on u in [0, 1]; its velocity
# 1 - cos(2 pi u) is a raised cosine (zero at both ends), its acceleration 2 pi sin(2 pi u) is
# zero at both ends too, so chained ramps and constants are C2 (continuous acceleration).
_TWO_PI = 2.0 * np.pi


@dataclass
class Path:
    """A scalar signal with its time derivatives, each shape (N,)."""

    x: np.ndarray
    dx: np.ndarray
    ddx: np.ndarray

    def __add__(self, other: Path) -> Path:
        return Path(self.x + other.x, self.dx + other.dx, self.ddx + other.ddx)

    def scaled(self, k: float) -> Path:
        return Path(self.x * k, self.dx * k, self.ddx * k)


def ramp_shape(u: np.ndarray, duration_s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Raised-cosine ramp from 0 to 1 at normalised time `u` in [0, 1] over `duration_s`.

    Returns (g, dg/dt, d2g/dt2) with the time derivatives in 1/s and 1/s^2.
    """
    u = np.clip(u, 0.0, 1.0)
    w = _TWO_PI * u
    g = u - np.sin(w) / _TWO_PI
    dg = (1.0 - np.cos(w)) / duration_s
    ddg = _TWO_PI * np.sin(w) / duration_s**2
    return g, dg, ddg


def knot_path(v0: np.ndarray, v1: np.ndarray, g: tuple[np.ndarray, np.ndarray, np.ndarray]) -> Path:
    """A value ramping from v0 to v1 with the ramp shape `g` (all per sample)."""
    delta = v1 - v0
    return Path(v0 + delta * g[0], delta * g[1], delta * g[2])


def sines(
    t_s: np.ndarray, amplitudes: np.ndarray, freqs_hz: np.ndarray, phases: np.ndarray
) -> Path:
    """Sum of sinusoids sum_k a_k sin(2 pi f_k t + c_k) with exact derivatives."""
    x = np.zeros_like(t_s)
    dx = np.zeros_like(t_s)
    ddx = np.zeros_like(t_s)
    for a, f, c in zip(amplitudes, freqs_hz, phases, strict=True):
        w = _TWO_PI * f
        arg = w * t_s + c
        s, co = np.sin(arg), np.cos(arg)
        x += a * s
        dx += a * w * co
        ddx -= a * w * w * s
    return Path(x, dx, ddx)


def breathing(
    t_s: np.ndarray, amplitude: float, rate_hz: float, phase: float, mod_depth: float, mod_hz: float
) -> Path:
    """Chest rise a*sin(phi(t)) with a slowly wandering breathing rate.

    phi(t) = 2 pi f t + c + m sin(2 pi f_m t): the instantaneous rate swings by m*f_m around f.
    """
    wm = _TWO_PI * mod_hz
    phi = _TWO_PI * rate_hz * t_s + phase + mod_depth * np.sin(wm * t_s)
    dphi = _TWO_PI * rate_hz + mod_depth * wm * np.cos(wm * t_s)
    ddphi = -mod_depth * wm * wm * np.sin(wm * t_s)
    s, c = np.sin(phi), np.cos(phi)
    return Path(amplitude * s, amplitude * c * dphi, amplitude * (c * ddphi - s * dphi * dphi))


def hips_down_pitch(s_m: Path, radius_m: float) -> Path:
    """Torso pitch for a contact `s_m` from the hips along the back: s = r cot(theta/2).

    theta = 2 atan(r / s); dtheta/ds = -2r / (r^2 + s^2); d2theta/ds2 = 4 r s / (r^2 + s^2)^2.
    """
    s = s_m.x
    den = radius_m**2 + s**2
    d1 = -2.0 * radius_m / den
    d2 = 4.0 * radius_m * s / den**2
    return Path(2.0 * np.arctan2(radius_m, s), d1 * s_m.dx, d2 * s_m.dx**2 + d1 * s_m.ddx)


# --- rotations ---------------------------------------------------------------------------------
# Vectors are stacks in component-major layout, shape (3, N): three contiguous component arrays,
# which keeps the elementwise arithmetic fast (no (N, 3, 3) matrices on the hot path).
def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.stack(
        (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])
    )


def _rotate(axis: int, c: np.ndarray, s: np.ndarray, v: np.ndarray, transpose: bool) -> np.ndarray:
    """R v (or R^T v) for a rotation about principal `axis` (1: y, 2: z) with cos c, sin s."""
    if transpose:
        s = -s
    out = v.copy()
    if axis == 1:  # Ry: x' = c x + s z, z' = -s x + c z
        out[0] = c * v[0] + s * v[2]
        out[2] = -s * v[0] + c * v[2]
    else:  # Rz: x' = c x - s y, y' = s x + c y
        out[0] = c * v[0] - s * v[1]
        out[1] = s * v[0] + c * v[1]
    return out


class RotationChain:
    """R = R1 R2 ... Rk with exact angular velocity and acceleration in the newest frame.

    Start from the inertial world frame; `about(axis, angle)` appends a rotation by a time-varying
    angle about a principal axis of the current frame, `fixed(matrix)` appends a constant one.
    After each step `omega` and `omega_dot` (3, N) are the angular velocity and acceleration of
    the current frame relative to the world, in the current frame's coordinates (rad/s, rad/s^2).
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self.steps: list[tuple[Any, ...]] = []
        self.omega = np.zeros((3, n))
        self.omega_dot = np.zeros((3, n))

    def about(self, axis: int, angle: Path) -> RotationChain:
        if axis not in (1, 2):
            raise ValueError("only y (1) and z (2) rotations are used")
        c, s = np.cos(angle.x), np.sin(angle.x)
        w_old = _rotate(axis, c, s, self.omega, transpose=True)
        w_rel = np.zeros_like(self.omega)
        w_rel[axis] = angle.dx
        # d/dt (R^T w) = R^T w_dot - w_rel x (R^T w)
        self.omega_dot = _rotate(axis, c, s, self.omega_dot, transpose=True) + _cross(w_old, w_rel)
        self.omega_dot[axis] += angle.ddx
        self.omega = w_old + w_rel
        self.steps.append(("axis", axis, c, s))
        return self

    def fixed(self, r: np.ndarray) -> RotationChain:
        r = np.asarray(r, dtype=float)
        self.omega = r.T @ self.omega
        self.omega_dot = r.T @ self.omega_dot
        self.steps.append(("fixed", r))
        return self

    def copy(self) -> RotationChain:
        out = RotationChain(self.n)
        out.steps = list(self.steps)
        out.omega = self.omega.copy()
        out.omega_dot = self.omega_dot.copy()
        return out

    def to_frame(self, v_world: np.ndarray) -> np.ndarray:
        """World vectors (3, N) in the current frame's coordinates: R^T v."""
        v = v_world
        for step in self.steps:
            v = step[1].T @ v if step[0] == "fixed" else _rotate(step[1], step[2], step[3], v, True)
        return v

    def to_world(self, v_frame: np.ndarray) -> np.ndarray:
        """Frame vectors (3, N) in world coordinates: R v."""
        v = v_frame
        for step in reversed(self.steps):
            v = step[1] @ v if step[0] == "fixed" else _rotate(step[1], step[2], step[3], v, False)
        return v

    def matrices(self) -> np.ndarray:
        """(N, 3, 3) frame-to-world rotation matrices (columns: the frame's axes in world)."""
        cols = [self.to_world(np.repeat(np.eye(3)[:, [k]], self.n, axis=1)) for k in range(3)]
        return np.stack(cols, axis=-1).transpose(1, 0, 2)


def lever_acceleration(
    chain: RotationChain, lever: np.ndarray, lever_d: np.ndarray, lever_dd: np.ndarray
) -> np.ndarray:
    """Acceleration (frame coordinates, (3, N)) of a point at `lever` (3, N) in a moving frame.

    a = w_dot x v + w x (w x v) + 2 w x v' + v'' with v, v', v'' the point's position, velocity
    and acceleration relative to the frame (frame coordinates).
    """
    w, dw = chain.omega, chain.omega_dot
    return _cross(dw, lever) + _cross(w, _cross(w, lever)) + 2.0 * _cross(w, lever_d) + lever_dd


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """A uniformly random 3x3 rotation matrix (unit quaternion from four normals)."""
    q = rng.standard_normal(4)
    q /= np.linalg.norm(q)
    return quaternion_to_matrix(q)

"""The six non-rolling activities again, written from plain rigid-body kinematics in a few lines
each, apart from model 2's generators (`tracker.multibody.activities`), so the detector is not
tuned to one generator.

A pose is the sensor's position p(t) (m, world frame, z up) and its orientation R(t) (sensor to
world). The accelerometer reads the specific force R^T (p'' + g z), the gyroscope the body rate
from R^T R' (both by central differences at 400 Hz), then white noise, a constant bias and
sampling at the asked rate.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from tracker.imu import STANDARD_GRAVITY_M_S2, ImuRecording

Pose = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def rot(axis: str, angle: np.ndarray | float) -> np.ndarray:
    """(n, 3, 3) rotations about a world axis by `angle` (rad)."""
    a = np.atleast_1d(np.asarray(angle, dtype=float))
    c, s = np.cos(a), np.sin(a)
    out = np.zeros((len(a), 3, 3))
    i, j = {"x": (1, 2), "y": (2, 0), "z": (0, 1)}[axis]
    k = 3 - i - j
    out[:, k, k] = 1.0
    out[:, i, i], out[:, i, j], out[:, j, i], out[:, j, j] = c, -s, s, c
    return out


def random_mount(rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


# the trunk's frame in the world: x anterior, y left, z superior. Standing: identity rotated by
# the heading; lying on the back: superior horizontal, anterior up.
SUPINE = np.array([[0.0, 0.0, -1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])  # columns: body axes in world


def record(pose: Pose, duration_s: float, rate_hz: float, seed: int, *, mount: np.ndarray | None = None,
           acc_noise: float = 0.015, gyr_noise: float = 0.003) -> ImuRecording:  # fmt: skip
    """Sample `pose` (trunk or sensor) into an IMU recording; `mount` (v_body = mount @ v_sensor)
    puts a chest sensor on the trunk in any rotation."""
    rng = np.random.default_rng(seed)
    fine = 400.0
    t = np.arange(0.0, duration_s + 2.0 / fine, 1.0 / fine)
    p, r_wb = pose(t)
    r_ws = r_wb if mount is None else r_wb @ mount
    dt = 1.0 / fine
    acc_w = np.gradient(np.gradient(p, dt, axis=0), dt, axis=0)
    acc_w[:, 2] += STANDARD_GRAVITY_M_S2
    f = np.einsum("nji,nj->ni", r_ws, acc_w)
    dr = np.gradient(r_ws, dt, axis=0)
    w = np.einsum("nji,njk->nik", r_ws, dr)  # R^T R': skew(omega)
    gyr = np.column_stack([w[:, 2, 1] - w[:, 1, 2], w[:, 0, 2] - w[:, 2, 0], w[:, 1, 0] - w[:, 0, 1]]) / 2.0
    step = int(round(fine / rate_hz))
    keep = slice(2, len(t) - 2, step)
    n = len(t[keep])
    acc = f[keep] + rng.normal(scale=acc_noise, size=(n, 3)) + rng.normal(scale=0.05, size=3)
    gyr = gyr[keep] + rng.normal(scale=gyr_noise, size=(n, 3)) + rng.normal(scale=0.005, size=3)
    return ImuRecording(t_s=t[keep] - t[keep][0], acc_m_s2=acc, gyr_rad_s=gyr, sampling_rate_hz=rate_hz,
                        source={"kind": "test physics"})  # fmt: skip


def _breathing(t: np.ndarray, tilt_deg: float = 0.3, depth_m: float = 0.004, hz: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    """The chest wall's tilt (rad) and rise (m) with each breath, and the heartbeat's shake."""
    b = np.sin(2 * math.pi * hz * t)
    beat = 0.0002 * np.sin(2 * math.pi * 1.2 * t) ** 8
    return math.radians(tilt_deg) * b, depth_m * b + beat


def walking(seed: int, duration_s: float = 90.0) -> tuple[Pose, float]:
    rng = np.random.default_rng(seed)
    cadence = float(rng.uniform(1.6, 2.0))
    speed = float(rng.uniform(1.0, 1.4))
    heading0 = float(rng.uniform(0, 2 * math.pi))

    def pose(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        heading = heading0 + 0.4 * np.sin(2 * math.pi * t / 40.0)  # a slow curve
        step = 2 * math.pi * cadence * t
        x = np.cumsum(speed * np.cos(heading)) * (t[1] - t[0])
        y = np.cumsum(speed * np.sin(heading)) * (t[1] - t[0])
        z = 1.3 + 0.02 * np.cos(step) + 0.0015 * np.sin(2 * step)
        r = rot("z", heading + math.radians(3) * np.sin(0.5 * step)) @ rot("y", math.radians(2) * np.sin(step)) @ rot(
            "x", math.radians(2) * np.sin(0.5 * step)
        )
        return np.column_stack([x, y, z]), r

    return pose, cadence


def desk_sitting(seed: int) -> Pose:
    rng = np.random.default_rng(seed)
    lean = math.radians(float(rng.uniform(-12, 12)))
    yaw0 = float(rng.uniform(0, 2 * math.pi))

    def pose(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        tilt, rise = _breathing(t)
        typing = 0.0003 * np.sin(2 * math.pi * 6.0 * t) * (np.sin(2 * math.pi * t / 30.0) > 0)
        p = np.column_stack([np.zeros_like(t), rise, 1.1 + typing])
        r = rot("z", yaw0 + 0.3 * np.sin(2 * math.pi * t / 70.0)) @ rot("y", lean + tilt)
        return p, r

    return pose


def lying_still(seed: int) -> Pose:
    rng = np.random.default_rng(seed)
    heading = float(rng.uniform(0, 2 * math.pi))
    pillow = math.radians(float(rng.uniform(0, 8)))

    def pose(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        tilt, rise = _breathing(t, tilt_deg=0.2, depth_m=0.005)
        # every minute or so: shift a little (roll 15 degrees and back over 4 s)
        phase = np.mod(t, 70.0)
        shift = np.where(phase < 4.0, np.sin(math.pi * phase / 4.0) ** 2, 0.0) * math.radians(15)
        r = rot("z", heading) @ SUPINE[None] @ rot("y", pillow + tilt) @ rot("z", shift)
        p = np.column_stack([np.zeros_like(t), np.zeros_like(t), 0.15 + rise])
        return p, r

    return pose


def stretching(seed: int) -> Pose:
    rng = np.random.default_rng(seed)
    heading = float(rng.uniform(0, 2 * math.pi))
    # (rotation about the trunk's lateral axis from standing, rad): standing, a forward fold,
    # standing, lying on the back (knees to chest, rocking), child's pose (face down)
    poses = [0.0, math.radians(110), 0.0, math.radians(-90), math.radians(-85), math.radians(100)]
    hold = 25.0

    def pose(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        k = np.clip((t // hold).astype(int), 0, len(poses) - 1)
        nxt = np.clip(k + 1, 0, len(poses) - 1)
        u = np.clip((t - k * hold - (hold - 4.0)) / 4.0, 0.0, 1.0)
        g = u * u * (3 - 2 * u)
        a = np.array(poses)[k] * (1 - g) + np.array(poses)[nxt] * g
        rock = math.radians(4) * np.sin(2 * math.pi * 0.2 * t) * (np.abs(a) > 1.0)
        tilt, rise = _breathing(t)
        r = rot("z", heading) @ rot("y", a + rock + tilt)
        return np.column_stack([np.zeros_like(t), np.zeros_like(t), 0.8 + rise]), r

    return pose


def carried(seed: int) -> Pose:
    rng = np.random.default_rng(seed)
    cadence = float(rng.uniform(1.6, 2.0))
    hand = random_mount(rng)
    heading = float(rng.uniform(0, 2 * math.pi))

    def pose(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        swing = math.radians(25) * np.sin(math.pi * cadence * t)  # once per two steps
        arm = 0.6
        fwd = 1.2 * t + arm * np.sin(swing)
        p = np.column_stack([fwd * math.cos(heading), fwd * math.sin(heading), 1.5 - arm * np.cos(swing) + 0.02 * np.cos(2 * math.pi * cadence * t)])
        r = rot("z", heading) @ rot("y", swing) @ hand[None]
        return p, r

    return pose


def on_table(seed: int) -> Pose:
    rng = np.random.default_rng(seed)
    r0 = rot("z", float(rng.uniform(0, 2 * math.pi)))[0] @ (np.eye(3) if rng.random() < 0.5 else np.diag([1.0, -1.0, -1.0]))

    def pose(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.tile([0.0, 0.0, 0.75], (len(t), 1)), np.broadcast_to(r0, (len(t), 3, 3)).copy()

    return pose


def activity(name: str, seed: int, duration_s: float = 150.0, rate_hz: float = 100.0) -> ImuRecording:
    """One of the six, worn as it would be (on the chest in any rotation, or not worn)."""
    rng = np.random.default_rng(seed + 1000)
    mount = random_mount(rng).T  # v_body = mount @ v_sensor
    if name == "walking":
        pose, _cadence = walking(seed, duration_s)
        return record(pose, duration_s, rate_hz, seed, mount=mount)
    worn = {"desk_sitting": desk_sitting, "lying_still": lying_still, "stretching": stretching}
    if name in worn:
        return record(worn[name](seed), duration_s, rate_hz, seed, mount=mount)
    loose = {"carried": carried, "on_table": on_table}
    return record(loose[name](seed), duration_s, rate_hz, seed)

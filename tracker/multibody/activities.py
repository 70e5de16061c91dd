"""Recordings that are not foam rolling, with their truth (no strokes, no holds, never on the roller).

    from tracker.multibody.activities import ACTIVITY_GENERATORS, walking
    act = walking(seed=3, duration_s=180, rate_hz=100)
    act.recording      # ImuRecording (sensor frame, SI units), as a sensor would give it
    act.truth          # Truth with activity="walking", strokes == holds == []

Each generator builds a pose over time (the trunk with the strapped chest sensor, or the sensor
alone) and samples it through model 2's sensor (`tracker.multibody.sensor`): the same numerical
differentiation, strap bounce, low-pass filter and errors as the rolling sessions.

- `walking`: steps at 1.6-2.1 Hz (the trunk bounces 2-5 cm, sways at the stride rate, heel
  strikes jolt it), turns, the odd stop.
- `desk_sitting`: sitting on a chair at 70-105 deg of pitch, shifting every half minute to two
  minutes, typing (small fast vibrations), swivelling, reaching.
- `lying_still`: lying on the floor on the back (sometimes on a pillow, sometimes a while on the
  side), breathing, adjusting now and then.
- `stretching`: a routine of held stretches (forward fold, side bends, twists, cat-cow on hands
  and knees, knees to chest, child's pose, seated fold) with the moves between them.
- `carried`: the sensor in a hand (swinging with the arm) or in a bag (jostling), walked about,
  put down and picked up.
- `on_table`: the sensor left lying on a table: still, with the odd knock or nudge.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.interpolate import CubicSpline

from tracker import __version__
from tracker.imu import ImuRecording
from tracker.multibody.body import Person
from tracker.multibody.motion import Nuisance, SmoothNoise, chest_sensor, trunk_rotation
from tracker.multibody.profiles import min_jerk
from tracker.multibody.sensor import ImuSamples, SensorSpec, record_imu
from tracker.multibody.session import RATES_HZ, random_rotation
from tracker.multibody.truth import Truth, not_rolling_truth

_DEG = math.pi / 180.0


@dataclass
class ActivityRecording:
    """A recording of something other than foam rolling, and its truth."""

    recording: ImuRecording
    truth: Truth
    spec: SensorSpec
    samples: ImuSamples
    pose: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]
    """t (true s) -> (sensor position (N, 3) m, sensor-to-world (N, 3, 3))."""


class Keyframes:
    """Values (K, D) at times (K,), joined by minimum-jerk moves (equal neighbours: a hold)."""

    def __init__(self, times: list[float], values: list[list[float]]) -> None:
        self.t = np.asarray(times, dtype=float)
        self.v = np.asarray(values, dtype=float)

    def __call__(self, t: np.ndarray) -> np.ndarray:
        i = np.clip(np.searchsorted(self.t, t, side="right") - 1, 0, len(self.t) - 2)
        span = np.maximum(self.t[i + 1] - self.t[i], 1e-9)
        g = min_jerk(np.clip((t - self.t[i]) / span, 0.0, 1.0))[:, None]
        return self.v[i] + (self.v[i + 1] - self.v[i]) * g

    @property
    def end_s(self) -> float:
        return float(self.t[-1])


def _schedule(rng: np.random.Generator, duration_s: float, targets: Callable[[], list[float]],
              hold_s: tuple[float, float], move_s: tuple[float, float], start: list[float]) -> Keyframes:  # fmt: skip
    """Hold a target for a while, move to the next, ... until `duration_s`."""
    times, values = [0.0], [start]
    t = 0.0
    while t < duration_s + 10.0:
        t += float(rng.uniform(*hold_s))
        times.append(t)
        values.append(values[-1])
        t += float(rng.uniform(*move_s))
        times.append(t)
        values.append(targets())
    return Keyframes(times, values)


def _walk_path(rng: np.random.Generator, duration_s: float, speed: float) -> tuple[Callable[[np.ndarray], np.ndarray], Keyframes, Keyframes]:  # fmt: skip
    """A walk on the floor: speed (with stops) and heading (with turns) as keyframes, the path
    integrated on a 20 Hz table and splined (C2). Returns (xy(t), speed_frac(t), heading(t))."""
    gait = _schedule(rng, duration_s, lambda: [1.0 if rng.random() < 0.8 else 0.0],
                     (8.0, 40.0), (1.0, 2.0), [1.0])  # fmt: skip
    heading0 = float(rng.uniform(-math.pi, math.pi))
    turns = _schedule(rng, duration_s, lambda: [heading0 + float(rng.uniform(-math.pi, math.pi))],
                      (10.0, 45.0), (1.5, 3.5), [heading0])  # fmt: skip
    tt = np.arange(-1.0, duration_s + 2.0, 0.05)
    v = speed * gait(tt)[:, 0]
    psi = turns(tt)[:, 0]
    xy = np.cumsum(np.stack([v * np.cos(psi), v * np.sin(psi)], axis=-1), axis=0) * 0.05
    spline = CubicSpline(tt, xy, axis=0)
    return spline, gait, turns


def _finish(activity: str, pose: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]], duration_s: float,
            rate_hz: float | None, seed: int, phase: str, extra: dict, mount: np.ndarray | None,
            sensor: SensorSpec | None) -> ActivityRecording:  # fmt: skip
    spec_rng, noise_rng, rate_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence([seed, 9]).spawn(3)
    )
    rate = float(rate_rng.choice(RATES_HZ)) if rate_hz is None else float(rate_hz)
    spec = sensor or SensorSpec.draw(spec_rng, rate)
    if spec.rate_hz != rate:
        from dataclasses import replace

        spec = replace(spec, rate_hz=rate)
    samples = record_imu(pose, duration_s, spec, noise_rng)
    truth = not_rolling_truth(activity, float(samples.t_s[-1]), rate, phase, seed, dict(extra))
    if mount is not None:
        truth.sensor_to_body = mount
    recording = ImuRecording(
        t_s=samples.t_s,
        acc_m_s2=samples.acc_m_s2,
        gyr_rad_s=samples.gyr_rad_s,
        sampling_rate_hz=rate,
        source={
            "kind": "model2",
            "activity": activity,
            "seed": seed,
            "tracker_version": __version__,
        },
    )
    return ActivityRecording(recording, truth, spec, samples, pose)


def _worn(nz: Nuisance) -> dict[str, float]:
    return {"breathing_rate_hz": nz.breath_hz, "breathing_depth_mm": 1000.0 * nz.breath_depth_m}


def _body(seed: int) -> tuple[np.random.Generator, Person, Nuisance, np.ndarray]:
    rng = np.random.default_rng(np.random.SeedSequence([seed, 7]))
    person = Person.draw(rng)
    return rng, person, Nuisance.draw(rng, 4 * 3600.0), random_rotation(rng)


# --- activities with the sensor on the chest ---------------------------------------------------
def walking(seed: int = 0, *, duration_s: float = 180.0, rate_hz: float | None = None,
            sensor: SensorSpec | None = None) -> ActivityRecording:  # fmt: skip
    """Walking about, with turns and the odd stop (sensor on the chest)."""
    rng, person, nz, mount = _body(seed)
    cadence = float(rng.uniform(1.6, 2.1))  # steps per second
    speed = float(rng.uniform(0.9, 1.6))
    bounce = float(rng.uniform(0.02, 0.05))  # peak-to-peak vertical excursion
    sway = float(rng.uniform(0.015, 0.04))
    # trunk_rotation's sagittal pitch: above 90 deg the trunk leans toward its anterior side
    pitch = person.upright_pitch_deg * _DEG + float(rng.uniform(0.0, 6.0)) * _DEG
    path, gait, turns = _walk_path(rng, duration_s, speed)
    strike = float(rng.uniform(2e-4, 6e-4))  # heel strike: a jolt of a fraction of a mm
    wobble = SmoothNoise.draw(rng, 2.0 * _DEG, 0.05, 0.3)

    def pose(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        go = gait(t)[:, 0]
        step = 2 * math.pi * cadence * t
        psi = turns(t)[:, 0] + go * 4.0 * _DEG * np.sin(0.5 * step) + 0.3 * wobble(t)
        xy = path(t)
        fwd = np.stack([np.cos(psi), np.sin(psi)], axis=-1)
        side = np.stack([-np.sin(psi), np.cos(psi)], axis=-1)
        beat = np.mod(cadence * t, 1.0) / cadence
        jolt = strike * np.exp(-beat / 0.03) * np.sin(2 * math.pi * 15.0 * beat)
        z = 0.5 * bounce * go * np.cos(step) + go * jolt + person.standing_hip_height_m
        xy = (
            xy
            + (go * 0.01 * np.sin(step))[:, None] * fwd
            + (go * 0.5 * sway * np.sin(0.5 * step))[:, None] * side
        )
        hips = np.column_stack([xy, z])
        theta = pitch + go * 1.5 * _DEG * np.sin(step + 0.5) + wobble(t) * 0.5
        phi = go * 2.5 * _DEG * np.sin(0.5 * step)
        # trunk_rotation's heading is where the superior axis tips at pitch 0, behind the
        # person's face: the anterior side faces the walk
        r_wb = trunk_rotation(theta, psi + math.pi, phi)
        return chest_sensor(t, hips, r_wb, person, nz, mount)

    return _finish("walking", pose, duration_s, rate_hz, seed, "upright",
                   {"cadence_hz": cadence, "speed_m_s": speed, **_worn(nz)}, mount, sensor)  # fmt: skip


def desk_sitting(seed: int = 0, *, duration_s: float = 300.0, rate_hz: float | None = None,
                 sensor: SensorSpec | None = None) -> ActivityRecording:  # fmt: skip
    """Sitting at a desk: leaning, shifting, typing, swivelling (sensor on the chest)."""
    rng, person, nz, mount = _body(seed)
    base = float(rng.uniform(0, 2 * math.pi))
    postures = _schedule(
        rng, duration_s,
        lambda: [float(rng.uniform(70.0, 105.0)) * _DEG, base + float(rng.uniform(-0.5, 0.5)),
                 float(rng.uniform(-6.0, 6.0)) * _DEG],
        (20.0, 120.0), (1.0, 3.0), [85.0 * _DEG, base, 0.0],
    )  # fmt: skip
    typing = _schedule(
        rng, duration_s, lambda: [float(rng.random() < 0.6)], (5.0, 60.0), (0.5, 1.0), [1.0]
    )
    seat = np.array([0.0, 0.0, float(rng.uniform(0.42, 0.55))])
    sway = SmoothNoise.draw(rng, 0.8 * _DEG, 0.02, 0.3)
    shake = SmoothNoise.draw(rng, 0.0001, 3.0, 7.0, 6)  # typing shakes the trunk a little

    def pose(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        k = postures(t)
        # a pitch above 90 deg leans toward the desk (the anterior side)
        theta = k[:, 0] + sway(t)
        r_wb = trunk_rotation(theta, k[:, 1], k[:, 2] + 0.5 * sway(t))
        hips = np.broadcast_to(seat, (len(t), 3)).copy()
        hips[:, 2] += typing(t)[:, 0] * shake(t)
        return chest_sensor(t, hips, r_wb, person, nz, mount)

    return _finish(
        "desk_sitting", pose, duration_s, rate_hz, seed, "sitting", _worn(nz), mount, sensor
    )


def lying_still(seed: int = 0, *, duration_s: float = 300.0, rate_hz: float | None = None,
                sensor: SensorSpec | None = None) -> ActivityRecording:  # fmt: skip
    """Lying on the floor on the back (a pillow or not, a while on the side), breathing."""
    rng, person, nz, mount = _body(seed)
    heading = float(rng.uniform(-math.pi, math.pi))
    pillow = float(rng.choice([0.0, rng.uniform(3.0, 12.0)])) * _DEG

    def target() -> list[float]:
        side = rng.random() < 0.15
        return [pillow + float(rng.uniform(-2, 2)) * _DEG,
                float(rng.choice([-1.0, 1.0])) * 85.0 * _DEG if side else float(rng.uniform(-5, 5)) * _DEG]  # fmt: skip

    poses = _schedule(rng, duration_s, target, (30.0, 150.0), (2.0, 4.0), [pillow, 0.0])
    drift = SmoothNoise.draw(rng, 0.3 * _DEG, 0.005, 0.05)

    def pose(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        k = poses(t)
        r_wb = trunk_rotation(k[:, 0] + drift(t), heading + 0.5 * drift(t), k[:, 1])
        hips = np.zeros((len(t), 3))
        hips[:, 2] = 0.08
        return chest_sensor(t, hips, r_wb, person, nz, mount)

    return _finish(
        "lying_still",
        pose,
        duration_s,
        rate_hz,
        seed,
        "lying",
        {"pillow_deg": pillow / _DEG, **_worn(nz)},
        mount,
        sensor,
    )


STRETCHES = {
    # name: (hips height m, sagittal pitch deg (above 90: leaning toward the anterior side, 180:
    # horizontal face down), roll deg, heading offset deg, slow rocking of the pitch deg)
    "forward_fold": (0.95, 200.0, 0.0, 0.0, 3.0),
    "side_bend_left": (0.95, 88.0, 30.0, 0.0, 0.0),
    "side_bend_right": (0.95, 88.0, -30.0, 0.0, 0.0),
    "standing_twist": (0.95, 88.0, 0.0, 40.0, 0.0),
    "cat_cow": (0.55, 180.0, 0.0, 0.0, 12.0),
    "childs_pose": (0.25, 205.0, 0.0, 0.0, 2.0),
    "knees_to_chest": (0.08, 4.0, 0.0, 0.0, 4.0),
    "seated_fold": (0.10, 130.0, 0.0, 0.0, 4.0),
}


def stretching(seed: int = 0, *, duration_s: float = 300.0, rate_hz: float | None = None,
               sensor: SensorSpec | None = None) -> ActivityRecording:  # fmt: skip
    """A stretching routine: held stretches and the moves between them (sensor on the chest)."""
    rng, person, nz, mount = _body(seed)
    heading = float(rng.uniform(-math.pi, math.pi))
    names = list(STRETCHES)

    def target() -> list[float]:
        h, p, r, y, rock = STRETCHES[names[int(rng.integers(len(names)))]]
        jit = rng.uniform(-0.15, 0.15, 3)
        return [
            h,
            (p + 10 * jit[0]) * _DEG,
            (r * (1 + jit[1])) * _DEG,
            heading + (y * (1 + jit[2])) * _DEG,
            rock * _DEG,
        ]

    routine = _schedule(rng, duration_s, target, (15.0, 40.0), (2.5, 5.0),
                        [0.95, 88.0 * _DEG, 0.0, heading, 0.0])  # fmt: skip
    rocking_hz = float(rng.uniform(0.1, 0.25))

    def pose(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        k = routine(t)
        theta = k[:, 1] + k[:, 4] * np.sin(2 * math.pi * rocking_hz * t)
        r_wb = trunk_rotation(theta, k[:, 3], k[:, 2])
        hips = np.zeros((len(t), 3))
        hips[:, 2] = k[:, 0]
        return chest_sensor(t, hips, r_wb, person, nz, mount)

    return _finish(
        "stretching", pose, duration_s, rate_hz, seed, "unknown", _worn(nz), mount, sensor
    )


# --- the sensor off the body ---------------------------------------------------------------------
def carried(seed: int = 0, *, duration_s: float = 240.0, rate_hz: float | None = None,
            sensor: SensorSpec | None = None, how: str | None = None) -> ActivityRecording:  # fmt: skip
    """The sensor carried about in a hand (swinging with the arm) or a bag (jostling), walked,
    put down and picked up. `how`: "hand" or "bag" (default: either)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 8]))
    how = how or str(rng.choice(["hand", "bag"]))
    cadence = float(rng.uniform(1.6, 2.1))
    path, gait, turns = _walk_path(rng, duration_s, float(rng.uniform(0.9, 1.5)))
    hold = random_rotation(rng)  # how the sensor sits in the hand or the bag
    tumble = SmoothNoise.draw(rng, 0.4, 0.01, 0.1, 4)
    height = 0.8 if how == "hand" else 1.0
    arm = float(rng.uniform(0.55, 0.7))
    swing = float(rng.uniform(15.0, 35.0)) * _DEG

    def pose(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        go = gait(t)[:, 0]
        psi = turns(t)[:, 0]
        stride = math.pi * cadence * t  # the arm swings once per two steps
        xy = path(t)
        fwd = np.stack([np.cos(psi), np.sin(psi)], axis=-1)
        if how == "hand":
            a = go * swing * np.sin(stride)  # pendulum from the shoulder
            along, up = arm * np.sin(a), -arm * np.cos(a)
            pos = np.column_stack(
                [xy + along[:, None] * fwd, height + arm + up + 0.02 * go * np.cos(2 * stride)]
            )
            rot_angle = a
        else:
            rot_angle = go * 8.0 * _DEG * np.sin(stride) + 0.1 * tumble(t)
            pos = np.column_stack(
                [xy, height + 0.03 * go * np.cos(2 * stride) + 0.01 * go * np.sin(4 * stride)]
            )
        c, s = np.cos(psi), np.sin(psi)
        yaw = np.zeros((len(t), 3, 3))
        yaw[:, 0, 0], yaw[:, 0, 1], yaw[:, 1, 0], yaw[:, 1, 1], yaw[:, 2, 2] = c, -s, s, c, 1.0
        ca, sa = np.cos(rot_angle), np.sin(rot_angle)
        pitch = np.zeros(
            (len(t), 3, 3)
        )  # about the walker's left axis (world y in the yawed frame)
        pitch[:, 0, 0], pitch[:, 0, 2], pitch[:, 1, 1], pitch[:, 2, 0], pitch[:, 2, 2] = (
            ca,
            sa,
            1.0,
            -sa,
            ca,
        )
        return pos, yaw @ pitch @ hold

    return _finish(
        "carried", pose, duration_s, rate_hz, seed, "unknown", {"how": how}, None, sensor
    )


def on_table(seed: int = 0, *, duration_s: float = 600.0, rate_hz: float | None = None,
             sensor: SensorSpec | None = None) -> ActivityRecording:  # fmt: skip
    """The sensor left lying on a table: still, with the odd knock (a brief vibration) or nudge."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 6]))
    face = (
        np.eye(3)[:, [0, 1, 2]] if rng.random() < 0.5 else np.diag([1.0, -1.0, -1.0])
    )  # up or down
    spin = float(rng.uniform(0, 2 * math.pi))
    knocks = np.sort(rng.uniform(0, duration_s, int(rng.poisson(duration_s / 120.0))))
    nudges = _schedule(rng, duration_s, lambda: [float(rng.uniform(-0.05, 0.05)), float(rng.uniform(-0.3, 0.3))],
                       (60.0, 400.0), (0.3, 0.8), [0.0, 0.0])  # fmt: skip

    def pose(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        k = nudges(t)
        pos = np.zeros((len(t), 3))
        pos[:, 0] = k[:, 0]
        pos[:, 2] = 0.75
        for c in knocks:  # a knock: a damped 40 Hz buzz of a few micrometres
            d = t - c
            on = (d >= 0) & (d < 0.3)
            pos[on, 2] += 5e-6 * np.exp(-d[on] / 0.05) * np.sin(2 * math.pi * 40.0 * d[on])
        a = spin + k[:, 1]
        ca, sa = np.cos(a), np.sin(a)
        yaw = np.zeros((len(t), 3, 3))
        yaw[:, 0, 0], yaw[:, 0, 1], yaw[:, 1, 0], yaw[:, 1, 1], yaw[:, 2, 2] = ca, -sa, sa, ca, 1.0
        return pos, yaw @ face

    return _finish("on_table", pose, duration_s, rate_hz, seed, "unknown", {}, None, sensor)


ACTIVITY_GENERATORS: dict[str, Callable[..., ActivityRecording]] = {
    "walking": walking,
    "desk_sitting": desk_sitting,
    "lying_still": lying_still,
    "stretching": stretching,
    "carried": carried,
    "on_table": on_table,
}
"""Every non-rolling activity, by name: `ACTIVITY_GENERATORS[name](seed, duration_s=..., rate_hz=...)`."""

"""Simulate a foam-rolling session with model 2: plan -> poses -> IMU samples and truth.

from tracker.multibody import random_session
sim = random_session(7000, posture="bridge", fast=True)
sim.recording   # tracker.imu.ImuRecording: sensor frame, SI units
sim.truth       # tracker.multibody.Truth: strokes, holds, too-fast sets, regions, tracks
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from scipy.spatial.transform import Rotation

from tracker import __version__
from tracker.errors import UsageError
from tracker.guidance import Guidance
from tracker.imu import ImuRecording, MountingCalibration
from tracker.multibody.body import HIPS_DOWN
from tracker.multibody.motion import Motion
from tracker.multibody.plan import Plan, random_plan
from tracker.multibody.sensor import ImuSamples, SensorSpec, record_imu
from tracker.multibody.truth import Truth, rolling_truth

RATES_HZ = (25.0, 50.0, 52.0, 100.0, 104.0, 200.0, 208.0, 400.0)
"""Sampling rates drawn when none is given: round ones and the 52/104/208 Hz of common IMUs."""
MIN_RATE_HZ, MAX_RATE_HZ = 20.0, 1000.0


@dataclass
class MultibodySession:
    """One model-2 session: the samples an analysis sees, the truth, and the model behind them."""

    recording: ImuRecording
    truth: Truth
    plan: Plan
    spec: SensorSpec
    samples: ImuSamples
    motion: Motion = field(repr=False)

    def trace(self, t_s: np.ndarray) -> dict[str, np.ndarray]:
        """The body at true times `t_s` (the plan's clock): the sagittal state (`Motion.sagittal`)
        plus the sensor's world position `sensor_m` and rotation `sensor_to_world`."""
        t = np.asarray(t_s, dtype=float)
        out = self.motion.sagittal(t)
        out["sensor_m"], out["sensor_to_world"] = self.motion.sensor_pose(t)
        return out


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """A uniformly random rotation (the strap put on any way round)."""
    return Rotation.random(random_state=rng).as_matrix()


def simulate_session(
    plan: Plan,
    *,
    seed: int = 0,
    rate_hz: float = 100.0,
    sensor: SensorSpec | None = None,
    sensor_to_body: np.ndarray | None = None,
    guidance: Guidance | None = None,
    attach_calibration: bool = False,
    start_utc: datetime | None = None,
    quiet_body: bool = False,
) -> MultibodySession:
    """Simulate `plan` sampled at `rate_hz`.

    seed: drives the person's small movements, the strap's rotation (unless given), the sensor's
        errors (unless `sensor` is given) and the noise.
    sensor: the IMU's figures (default: drawn at random, `SensorSpec.draw`; `SensorSpec.ideal`
        for none). Its `rate_hz` is replaced by `rate_hz`.
    sensor_to_body: the strap's rotation, v_body = R @ v_sensor (default: uniformly random).
    guidance: defines holds, too-fast sets and regions in the truth (default: `plan.guidance()`).
    attach_calibration: put the true mounting on the roller on `recording.calibration`.
    quiet_body: no breathing, heartbeat, rocking or wander (tests of the geometry).
    """
    if not (math.isfinite(rate_hz) and MIN_RATE_HZ <= rate_hz <= MAX_RATE_HZ):
        raise UsageError(f"rate_hz = {rate_hz} is outside {MIN_RATE_HZ:g}..{MAX_RATE_HZ:g}")
    body_rng, spec_rng, noise_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3)
    )
    mount = (
        random_rotation(body_rng) if sensor_to_body is None else _checked_rotation(sensor_to_body)
    )
    motion = Motion(plan, body_rng, mount, quiet=quiet_body)
    spec = SensorSpec.draw(spec_rng, rate_hz) if sensor is None else sensor
    if spec.rate_hz != rate_hz:
        from dataclasses import replace

        spec = replace(spec, rate_hz=float(rate_hz))
    samples = record_imu(motion.sensor_pose, motion.duration_s, spec, noise_rng)
    guidance = guidance or plan.guidance()
    scale = samples.clock_scale
    events = rolling_truth(motion, guidance, scale)
    sag = motion.sagittal(samples.true_t_s)
    on_roller_mount = motion.mount_at(np.array([1.0]))[0]
    truth = Truth(
        activity="foam_rolling",
        duration_s=float(samples.t_s[-1]),
        guidance=guidance,
        sampling_rate_hz=float(rate_hz),
        sensor_to_body=on_roller_mount,
        t_s=samples.t_s,
        position_cm=100.0 * sag["s"],
        pitch_deg=np.degrees(sag["theta"]),
        seed=seed,
        extra=_geometry_summary(motion, sag, plan),
        **events,
    )
    recording = ImuRecording(
        t_s=samples.t_s,
        acc_m_s2=samples.acc_m_s2,
        gyr_rad_s=samples.gyr_rad_s,
        sampling_rate_hz=float(rate_hz),
        start_utc=start_utc,
        calibration=MountingCalibration(on_roller_mount, source="pairing")
        if attach_calibration
        else None,
        source={
            "kind": "model2",
            "seed": seed,
            "tracker_version": __version__,
            "sensor": spec.to_json(),
        },
    )
    return MultibodySession(recording, truth, plan, spec, samples, motion)


def random_session(
    seed: int = 0,
    *,
    posture: str = "hips_down",
    fast: bool = False,
    getting_on_off: bool = True,
    duration_s: float = 300.0,
    rate_hz: float | None = None,
    roller_diameter_cm: float | None = None,
    long_holds: bool | None = None,
    ideal_sensor: bool = False,
    textbook_body: bool = False,
    attach_calibration: bool = False,
) -> MultibodySession:
    """`random_plan(seed, ...)` simulated at `rate_hz` (default: one of `RATES_HZ` at random).

    ideal_sensor: no sensor errors (`SensorSpec.ideal`); textbook_body: the geometry that
    `tracker.analysis.kinematics` assumes (see `random_plan`). Both for finding out what an
    error comes from."""
    plan_rng, rate_rng = (
        np.random.default_rng(s) for s in np.random.SeedSequence([seed, 2]).spawn(2)
    )
    plan = random_plan(
        plan_rng,
        posture=posture,
        fast=fast,
        getting_on_off=getting_on_off,
        duration_s=duration_s,
        roller_diameter_cm=roller_diameter_cm,
        long_holds=long_holds,
        textbook_body=textbook_body,
    )
    plan.params["seed"] = seed
    rate = float(rate_rng.choice(RATES_HZ)) if rate_hz is None else float(rate_hz)
    sensor = SensorSpec.ideal(rate) if ideal_sensor else None
    return simulate_session(
        plan, seed=seed, rate_hz=rate, sensor=sensor, attach_calibration=attach_calibration
    )


def _checked_rotation(r: np.ndarray) -> np.ndarray:
    m = np.asarray(r, dtype=float)
    if m.shape != (3, 3) or not np.allclose(m @ m.T, np.eye(3), atol=1e-6) or np.linalg.det(m) < 0:
        raise UsageError("sensor_to_body must be a 3x3 rotation matrix (orthonormal, det +1)")
    return m


def _geometry_summary(motion: Motion, sag: dict[str, np.ndarray], plan: Plan) -> dict[str, Any]:
    """What the body made of the roller: the diameter that s = r cot(theta/2) would need to
    explain the hips-down samples, and the bridge's body travel per contact travel."""
    out: dict[str, Any] = {
        "roller_diameter_cm": 100.0 * plan.roller.diameter_m,
        "contact_sink_cm": 100.0 * plan.roller.contact_sink_m,
        "hip_to_neck_cm": 100.0 * plan.person.hip_to_neck_m,
        "person": plan.person.to_json(),
        "roller": plan.roller.to_json(),
        "strap_shift_deg": plan.strap_shift_deg,
        "breathing_depth_mm": 1000.0 * motion.nuisance.breath_depth_m,
        "breathing_rate_hz": motion.nuisance.breath_hz,
    }
    hd = (sag["mode"] == HIPS_DOWN) & np.isfinite(sag["s"])
    if hd.sum() > 10:
        c = 1.0 / np.tan(0.5 * sag["theta"][hd])
        r = float(np.sum(sag["s"][hd] * c) / np.sum(c * c))
        out["effective_diameter_cm"] = 200.0 * r
    return out

"""Physics of the simulator, checked from its sensor output and its exact state, not its own truth.

Each test compares two independent routes to the same quantity (finite differences vs analytic
derivatives, integrated gyro vs scripted pitch, gravity direction vs contact geometry, double
integrated acceleration vs the no-slip 2x rule), so a mistake in the model shows.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tracker.simulate import Segment, SensorModel, SessionScript, random_script, simulate_session
from tracker.simulate.kinematics import GRAVITY_M_S2

IDEAL = SensorModel.ideal()


def _hips_down_script(**changes) -> SessionScript:
    segs = (
        Segment("pause", 20.0),
        Segment("stroke", 8.0, to_cm=20.0),
        Segment("pause", 0.5),
        Segment("stroke", 10.0, to_cm=45.0),
        Segment("pause", 15.0),
        Segment("stroke", 6.0, to_cm=30.0),
        Segment("pause", 10.0),
    )
    base = SessionScript(segments=segs, start="on_roller", start_cm=35.0)
    return SessionScript(**{**base.__dict__, **changes})


def _quat_integrate(q0: np.ndarray, gyr: np.ndarray, dt: float) -> np.ndarray:
    """Orientation (N, 3, 3) from a start quaternion and body rates (midpoint rule)."""
    from scipy.spatial.transform import Rotation

    w_mid = 0.5 * (gyr[1:] + gyr[:-1])
    steps = Rotation.from_rotvec(w_mid * dt)
    out = np.empty((len(gyr), 3, 3))
    r = Rotation.from_quat(q0)
    out[0] = r.as_matrix()
    for i, step in enumerate(steps):  # 100 Hz x 80 s: a few ms of Python per thousand samples
        r = r * step
        out[i + 1] = r.as_matrix()
    return out


def test_at_rest_accelerometer_reads_gravity_and_gyro_reads_bias():
    script = _hips_down_script(sway_deg=0.0, segments=(Segment("pause", 60.0),))
    bias = (0.01, -0.006, 0.004)
    sim = simulate_session(script, seed=4, sensor=SensorModel(gyro_bias_rad_s=bias))
    acc, gyr = sim.recording.acc_m_s2, sim.recording.gyr_rad_s
    assert np.linalg.norm(acc, axis=1).mean() == pytest.approx(GRAVITY_M_S2, abs=0.08)
    np.testing.assert_allclose(gyr.mean(axis=0), bias, atol=2e-4)
    np.testing.assert_allclose(sim.truth.gyro_bias_rad_s, bias)


def test_analytic_acceleration_and_rate_match_finite_differences():
    sim = simulate_session(
        random_script(11, posture="mixed", duration_s=200), seed=11, sensor=IDEAL
    )
    h = 1e-3
    t = np.arange(0.0, sim.truth.duration_s - 0.01, h)
    k = sim.trace(t)
    p = k["sensor_m"]
    a_fd = (p[2:] - 2 * p[1:-1] + p[:-2]) / h**2
    a = k["acc_world_m_s2"][1:-1]
    # the ramps are C2 (jerk jumps at knots), so the central difference is good to ~1e-3 m/s^2
    assert np.abs(a_fd - a).max() < 3e-3
    assert np.sqrt((a**2).sum(axis=1).mean()) > 0.02  # there is motion to check
    r = k["sensor_to_world"]
    dr = (r[2:] - r[:-2]) / (2 * h)
    w = np.einsum("nji,njk->nik", r[1:-1], dr)  # R^T dR/dt = [omega]x
    omega_fd = np.stack([w[:, 2, 1], w[:, 0, 2], w[:, 1, 0]], axis=1)
    np.testing.assert_allclose(omega_fd, k["gyr_rad_s"][1:-1], atol=2e-5)
    # the accelerometer is specific force: R (f) = a - g
    f_world = np.einsum("nij,nj->ni", r, k["acc_m_s2"])
    np.testing.assert_allclose(
        f_world - k["acc_world_m_s2"], np.tile([0, 0, GRAVITY_M_S2], (len(t), 1)), atol=1e-9
    )


def test_integrated_gyro_reproduces_truth_pitch():
    sim = simulate_session(_hips_down_script(), seed=5, sampling_rate_hz=100.0, sensor=IDEAL)
    from scipy.spatial.transform import Rotation

    t = sim.truth.t_s
    start = sim.trace(t[:1])["sensor_to_world"][0]
    r_ws = _quat_integrate(Rotation.from_matrix(start).as_quat(), sim.ideal_gyr_rad_s, 1 / 100.0)
    r_wb = r_ws @ sim.truth.sensor_to_body.T  # body axes in world (ignoring the breathing tilt)
    pitch_gyro = np.degrees(np.arcsin(np.clip(r_wb[:, 2, 2], -1, 1)))
    err = pitch_gyro - sim.truth.pitch_deg
    # only the chest wall's breathing tilt separates the sensor's pitch from the torso's
    assert np.abs(err).max() < sim.truth.script.breathing_tilt_deg + 0.05
    assert np.ptp(sim.truth.pitch_deg) > 15  # the strokes really pitched the torso


@pytest.mark.parametrize("diameter_cm", [10.0, 15.0])
def test_hips_down_gravity_direction_locates_the_roller(diameter_cm):
    # pitch from the accelerometer's gravity during holds, through s = r cot(theta / 2)
    sim = simulate_session(
        _hips_down_script(roller_diameter_cm=diameter_cm),
        seed=6,
        sensor=SensorModel(gyro_bias_rad_s=(0, 0, 0)),
    )
    truth = sim.truth
    r = diameter_cm / 2
    f_body = sim.recording.acc_m_s2 @ truth.sensor_to_body.T
    assert truth.holds
    for hold in truth.holds:
        m = (truth.t_s > hold.start_s + 0.5) & (truth.t_s < hold.end_s - 0.5)
        f = f_body[m].mean(axis=0)
        theta = math.atan2(f[2], math.hypot(f[0], f[1]))
        assert r / math.tan(theta / 2) == pytest.approx(hold.position_cm, abs=0.6)


def test_hips_down_pitch_follows_contact_in_truth_track():
    sim = simulate_session(_hips_down_script(), seed=1)
    on = np.isfinite(sim.truth.position_cm)
    theta = np.radians(sim.truth.pitch_deg[on])
    np.testing.assert_allclose(7.5 / np.tan(theta / 2), sim.truth.position_cm[on], rtol=1e-9)
    # from 20 to 45 cm the torso lowers from 41 to 19 degrees
    pos, pitch = sim.truth.position_cm[on], sim.truth.pitch_deg[on]
    assert pitch[np.argmin(np.abs(pos - 20))] - pitch[np.argmin(np.abs(pos - 45))] == pytest.approx(
        22.2, abs=0.3
    )


def test_bridge_body_travels_twice_the_contact():
    segs = (
        Segment("pause", 2.0),
        Segment("stroke", 8.0, to_cm=22.0, pitch_deg=5.0),
        Segment("pause", 4.0),
    )
    script = SessionScript(
        segments=segs,
        start="on_roller",
        start_posture="bridge",
        start_cm=42.0,
        start_pitch_deg=5.0,
        sway_deg=0.0,
        breathing_depth_mm=0.0,
        breathing_tilt_deg=0.0,
    )
    sim = simulate_session(script, seed=2, sampling_rate_hz=200.0, sensor=IDEAL)
    t = sim.truth.t_s
    k = sim.trace(t)
    dx_sensor = k["sensor_m"][-1, 0] - k["sensor_m"][0, 0]
    assert dx_sensor * 100 == pytest.approx(
        2 * 20.0, rel=0.01
    )  # contact moved 20 cm toward the hips
    # the same from the accelerometer: rotate to world, remove gravity, integrate twice
    f_world = np.einsum("nij,nj->ni", k["sensor_to_world"], sim.ideal_acc_m_s2)
    a = f_world[:, 0]
    v = np.concatenate([[0.0], np.cumsum(0.5 * (a[1:] + a[:-1])) / 200.0])
    x = np.concatenate([[0.0], np.cumsum(0.5 * (v[1:] + v[:-1])) / 200.0])
    assert x[-1] * 100 == pytest.approx(40.0, rel=0.02)
    assert abs(v[-1]) < 1e-3
    # torso near level: the motion is in the gravity-free acceleration, pitch barely moves
    assert np.ptp(sim.truth.pitch_deg) < 0.5


def test_breathing_moves_the_chest_about_a_hundredth_of_g():
    script = _hips_down_script(
        sway_deg=0.0,
        segments=(Segment("pause", 60.0),),
        breathing_depth_mm=3.0,
        breathing_rate_hz=0.25,
    )
    sim = simulate_session(script, seed=3, sensor=IDEAL)
    k = sim.trace(sim.truth.t_s)
    a = np.linalg.norm(k["acc_world_m_s2"], axis=1)
    # 3 mm at 0.25 Hz: 0.003 * (2 pi 0.25)^2 = 0.0074 m/s^2 (rate wanders +-15 %)
    assert 0.004 < a.max() < 0.015
    chest = k["sensor_m"][:, 2]
    assert np.ptp(chest) * 1000 == pytest.approx(6.0, rel=0.1)


def test_roll_sway_does_not_create_pitch():
    calm = _hips_down_script(sway_deg=0.0)
    swaying = _hips_down_script(sway_deg=5.0)
    a = simulate_session(calm, seed=8, sensor=IDEAL)
    b = simulate_session(swaying, seed=8, sensor=IDEAL)
    np.testing.assert_allclose(a.truth.pitch_deg, b.truth.pitch_deg, atol=1e-12)
    assert np.ptp(b.truth.roll_deg) > 4.0
    # the gyro sees the rocking about the long axis (body z)
    w_body_b = b.ideal_gyr_rad_s @ b.truth.sensor_to_body.T
    w_body_a = a.ideal_gyr_rad_s @ a.truth.sensor_to_body.T
    assert np.abs(w_body_b[:, 2]).max() > 5 * np.abs(w_body_a[:, 2]).max()


def test_strap_rotation_is_applied_and_lying_gravity_is_anterior():
    sim = simulate_session(random_script(9, posture="bridge", duration_s=120), seed=9)
    truth = sim.truth
    r = truth.sensor_to_body
    np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-12)
    assert np.linalg.det(r) == pytest.approx(1.0)
    on = np.isfinite(truth.position_cm)
    f_sensor = sim.recording.acc_m_s2[on].mean(axis=0)
    f_body = r @ f_sensor
    # supine in a near-level bridge: the floor's push (reading +g) points out of the chest (+x)
    assert f_body[0] > 9.5
    assert abs(f_body[1]) < 0.5
    # ... and not in the raw sensor frame unless the random strap happened to be aligned
    assert np.linalg.norm(f_sensor - f_body) > 1.0


def test_upright_gravity_is_superior():
    script = SessionScript(segments=(Segment("stand", 10.0),), sway_deg=0.0, upright_pitch_deg=90.0)
    sim = simulate_session(script, seed=1)
    f_body = sim.recording.acc_m_s2.mean(axis=0) @ sim.truth.sensor_to_body.T
    assert f_body[2] == pytest.approx(GRAVITY_M_S2, abs=0.1)
    assert abs(f_body[0]) < 0.2

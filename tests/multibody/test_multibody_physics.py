"""Physics of model 2, checked by independent routes: analytic motion against the numerically
differentiated sensor, the integrated gyro against the orientation, gravity at rest, the
constraint geometry (s = r cot(theta/2) with the compressed radius, tangency, the rocker on the
floor) and the bridge's no-slip rolling (the body travels twice the contact)."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from tracker.imu import STANDARD_GRAVITY_M_S2 as G
from tracker.multibody import (
    Person,
    Piece,
    Plan,
    Rig,
    Roller,
    SensorSpec,
    random_plan,
    record_imu,
    simulate_session,
)
from tracker.multibody.body import world_x, world_z

COS4 = math.cos(math.radians(4.0))
STRAIGHT = Person(lordosis_per_m=0.0, kyphosis_per_m=0.0, pelvis_follow=0.0,
                  buttock_depth_m=0.01, hip_sink_m=0.01)  # fmt: skip
"""A straight back whose hips' point J stays on the floor (the textbook pivot)."""


def _plan(pieces, *, start="hips_down", person=STRAIGHT, roller=None, contact=0.35, pitch=None):
    return Plan(tuple(pieces), person, roller or Roller.rigid(0.15), start=start,
                start_contact_m=contact, start_pitch_deg=pitch)  # fmt: skip


def _rz(a):
    c, s = np.cos(a), np.sin(a)
    out = np.zeros((len(a), 3, 3))
    out[:, 0, 0], out[:, 0, 1], out[:, 1, 0], out[:, 1, 1], out[:, 2, 2] = c, -s, s, c, 1.0
    return out


def _rx(b):
    c, s = np.cos(b), np.sin(b)
    out = np.zeros((len(b), 3, 3))
    out[:, 0, 0], out[:, 1, 1], out[:, 1, 2], out[:, 2, 1], out[:, 2, 2] = 1.0, c, -s, s, c
    return out


def test_sensor_kinematics_match_an_analytic_motion():
    """Numerical differentiation of sampled poses gives the analytic specific force and rate."""
    w1, w2, w3 = 2 * math.pi * 0.5, 2 * math.pi * 0.3, 2 * math.pi * 0.4
    mount = Rotation.from_euler("xyz", [20, -35, 110], degrees=True).as_matrix()

    def pose(t):
        pos = np.column_stack([0.3 * np.sin(w1 * t), 0.1 * np.cos(w2 * t), 0.05 * np.sin(w3 * t)])
        return pos, _rz(0.8 * np.sin(w2 * t)) @ _rx(0.5 * np.sin(w3 * t)) @ mount

    spec = SensorSpec.ideal(200.0, bandwidth_fraction=0.45)
    out = record_imu(pose, 20.0, spec, np.random.default_rng(0))
    # the sensor's own 2nd-order low-pass delays everything by about sqrt(2) / (2 pi fc)
    t = out.true_t_s - math.sqrt(2) / (2 * math.pi * 0.45 * 200.0)
    acc_w = np.column_stack([-0.3 * w1**2 * np.sin(w1 * t), -0.1 * w2**2 * np.cos(w2 * t),
                             -0.05 * w3**2 * np.sin(w3 * t) + G])  # fmt: skip
    _, rot = pose(t)
    f_expected = np.einsum("nji,nj->ni", rot, acc_w)
    b = 0.5 * np.sin(w3 * t)
    da, db = 0.8 * w2 * np.cos(w2 * t), 0.5 * w3 * np.cos(w3 * t)
    w_body = np.einsum("nji,nj->ni", _rx(b), np.column_stack([0 * da, 0 * da, da]))
    w_body[:, 0] += db
    w_expected = w_body @ mount  # = mount.T @ w per sample
    keep = slice(200, None)  # after the filters settle
    np.testing.assert_allclose(out.ideal_acc_m_s2[keep], f_expected[keep], atol=0.01)
    np.testing.assert_allclose(out.ideal_gyr_rad_s[keep], w_expected[keep], atol=2e-3)


def _integrate(r0: Rotation, gyr: np.ndarray, dt: np.ndarray) -> Rotation:
    r = r0
    steps = Rotation.from_rotvec(0.5 * (gyr[1:] + gyr[:-1]) * dt[:, None])
    for step in steps:
        r = r * step
    return r


def test_integrating_the_gyro_recovers_the_orientation():
    plan = random_plan(11, posture="mixed", duration_s=60.0, getting_on_off=True)
    sim = simulate_session(plan, seed=11, rate_hz=200.0, sensor=SensorSpec.ideal(200.0))
    t = sim.samples.true_t_s
    n = len(t)
    end = n - 1
    rot = sim.trace(np.array([t[0], t[end]]))["sensor_to_world"]
    r_end = _integrate(Rotation.from_matrix(rot[0]), sim.samples.ideal_gyr_rad_s, np.diff(t))
    err = (Rotation.from_matrix(rot[1]).inv() * r_end).magnitude()
    assert math.degrees(err) < 0.3
    # the quantised recording integrates to nearly the same (16-bit gyro, no bias)
    r_rec = _integrate(Rotation.from_matrix(rot[0]), sim.recording.gyr_rad_s, np.diff(t))
    assert math.degrees((Rotation.from_matrix(rot[1]).inv() * r_rec).magnitude()) < 0.5


def test_at_rest_the_accelerometer_reads_gravity():
    plan = _plan([Piece("stand", 30.0)], start="upright")
    sim = simulate_session(
        plan, seed=2, rate_hz=100.0, sensor=SensorSpec.ideal(100.0), quiet_body=True
    )
    acc = sim.samples.ideal_acc_m_s2[50:]
    np.testing.assert_allclose(np.linalg.norm(acc, axis=1), G, atol=1e-4)
    assert np.abs(sim.samples.ideal_gyr_rad_s[50:]).max() < 1e-6
    # breathing and the heartbeat move the chest, but on average gravity is all there is
    noisy = simulate_session(plan, seed=2, rate_hz=100.0, sensor=SensorSpec.ideal(100.0))
    assert np.linalg.norm(noisy.samples.ideal_acc_m_s2[50:], axis=1).mean() == pytest.approx(
        G, abs=0.01
    )
    # and gravity in the body frame says the trunk stands at the person's upright pitch
    up = acc @ sim.truth.sensor_to_body.T
    pitch = np.degrees(np.arctan2(up[:, 2], up[:, 0]))  # the sagittal pitch (90: upright)
    assert np.median(pitch) == pytest.approx(STRAIGHT.upright_pitch_deg, abs=0.01)


def test_hips_down_pitch_is_r_cot_half_theta_with_the_compressed_radius():
    roller = Roller(0.15, floor_sink_m=0.012, foam_sink_m=0.004, tissue_sink_m=0.008)
    rig = Rig(STRAIGHT, roller)
    r_c = roller.radius_m - 0.012  # equal sinks at floor and back: one compressed radius
    s = np.linspace(0.12, 0.48, 50)
    np.testing.assert_allclose(rig.hips_down_pitch(s), 2 * np.arctan(r_c / s), atol=1e-10)
    # through the whole model: the truth's pitch and contact, and the accelerometer's gravity
    pieces = [Piece("still", 5.0), Piece("stroke", 10.0, contact_to_m=0.2), Piece("still", 5.0),
              Piece("stroke", 10.0, contact_to_m=0.45), Piece("still", 5.0)]  # fmt: skip
    sim = simulate_session(_plan(pieces, roller=roller), seed=1, rate_hz=100.0,
                           sensor=SensorSpec.ideal(100.0), quiet_body=True)  # fmt: skip
    tr = sim.truth
    np.testing.assert_allclose(
        np.radians(tr.pitch_deg), 2 * np.arctan(r_c / (tr.position_cm / 100.0)), atol=1e-9
    )
    still = (tr.t_s > 1.0) & (tr.t_s < 4.5)
    up = sim.samples.ideal_acc_m_s2[still] @ tr.sensor_to_body.T
    pitch = np.degrees(np.arcsin(up[:, 2] / np.linalg.norm(up, axis=1)))
    assert np.median(pitch) == pytest.approx(math.degrees(2 * math.atan(r_c / 0.35)), abs=0.01)


def test_the_back_touches_the_roller_and_the_rocker_rolls_on_the_floor():
    """With a curved back and a pelvis that turns, the solved pose satisfies every constraint."""
    person = Person(lordosis_per_m=0.4, kyphosis_per_m=0.5, pelvis_follow=0.3, pelvis_radius_m=0.1)
    roller = Roller(0.125, 0.003, 0.004, 0.012)
    rig = Rig(person, roller)
    s = np.linspace(rig.lowest_hips_down_contact_m(), 0.48, 40)
    theta = rig.hips_down_pitch(s)
    hx, hz = rig.hips_on_floor(theta, 0.0)
    a, z = rig.back.point(s)
    beta = rig.back.beta(s)
    contact = np.column_stack([hx + world_x(a, z, theta), hz + world_z(a, z, theta)])
    centre = np.column_stack(
        [rig.roller_x_under(theta, s, hx), np.full_like(s, roller.centre_height_m)]
    )
    # the centre is one offset away along the back's posterior normal, and the back's tangent
    # is perpendicular to it: the roller touches the back at s and nowhere else nearby
    normal = np.column_stack(
        [world_x(-np.cos(beta), np.sin(beta), theta), world_z(-np.cos(beta), np.sin(beta), theta)]
    )
    np.testing.assert_allclose(centre - contact, roller.back_offset_m * normal, atol=1e-9)
    sigma = np.linspace(0.0, person.hip_to_neck_m, 400)
    for k in range(0, len(s), 8):
        pa, pz = rig.back.point(sigma)
        pts = np.column_stack(
            [hx[k] + world_x(pa, pz, theta[k]), hz[k] + world_z(pa, pz, theta[k])]
        )
        assert np.linalg.norm(pts - centre[k], axis=1).min() >= roller.back_offset_m - 1e-6
    # the buttocks' rocker sits on the (sunk) floor
    alpha = person.pelvis_follow * theta
    rocker_z = hz + world_z(rig.rocker_a, rig.rocker_z, alpha)
    np.testing.assert_allclose(rocker_z, person.pelvis_radius_m - person.hip_sink_m, atol=1e-12)


@pytest.mark.parametrize(
    ("roller", "person", "expected", "tol"),
    [
        # a straight back at 4 deg: the roller's travel (rolling radii rho_f / rho_b times the
        # contact's) plus the contact's own travel along the back (cos 4 deg of it on the floor)
        (Roller.rigid(0.15), STRAIGHT, 1 + COS4, 1e-6),
        (Roller(0.12, 0.006, 0.006, 0.012), STRAIGHT, (0.06 - 0.002) / (0.06 - 0.002) + COS4, 1e-6),
        (Roller(0.12, 0.003, 0.009, 0.012), STRAIGHT, (0.06 - 0.001) / (0.06 - 0.003) + COS4, 1e-6),
        (
            Roller(0.14, 0.003, 0.004, 0.015),
            Person(lordosis_per_m=0.3, kyphosis_per_m=0.4),
            2.0,
            0.06,
        ),
    ],
)
def test_in_a_bridge_the_body_travels_about_twice_the_contact(roller, person, expected, tol):
    pieces = []
    for to in (0.2, 0.42, 0.15, 0.3):
        pieces += [Piece("stroke", 8.0, contact_to_m=to, pitch_to_deg=4.0), Piece("still", 1.5)]
    plan = _plan(pieces, start="bridge", person=person, roller=roller, contact=0.35, pitch=4.0)
    sim = simulate_session(
        plan, seed=3, rate_hz=50.0, sensor=SensorSpec.ideal(50.0), quiet_body=True
    )
    m = sim.motion
    for i, p in enumerate(plan.pieces):
        if p.kind != "stroke":
            continue
        tr = sim.trace(np.array([m.piece_t0[i], m.piece_t1[i]]))
        ratio = -(tr["hips_x"][1] - tr["hips_x"][0]) / (tr["s_all"][1] - tr["s_all"][0])
        assert ratio == pytest.approx(expected, abs=tol)
        # the sensor goes with the trunk: its own travel along the floor says the same
        heading = np.array([np.cos(tr["psi"][0]), np.sin(tr["psi"][0])])
        travel = (tr["sensor_m"][1, :2] - tr["sensor_m"][0, :2]) @ heading
        assert -travel / (tr["s_all"][1] - tr["s_all"][0]) == pytest.approx(
            expected, abs=tol + 0.01
        )


def test_bridge_stroke_travel_from_the_accelerometer():
    """Double-integrating the sensor's gravity-free acceleration over a stroke gives its travel."""
    pieces = [
        Piece("still", 3.0),
        Piece("stroke", 6.0, contact_to_m=0.2, pitch_to_deg=4.0),
        Piece("still", 3.0),
    ]
    plan = _plan(pieces, start="bridge", roller=Roller(0.15, 0.003, 0.004, 0.01), pitch=4.0)
    sim = simulate_session(
        plan, seed=5, rate_hz=100.0, sensor=SensorSpec.ideal(100.0), quiet_body=True
    )
    t = sim.samples.true_t_s
    rot = sim.trace(t)["sensor_to_world"]
    acc_w = np.einsum("nij,nj->ni", rot, sim.samples.ideal_acc_m_s2)
    acc_w[:, 2] -= G
    dt = np.diff(t).mean()
    vel = np.cumsum(acc_w, axis=0) * dt
    pos = np.cumsum(vel, axis=0) * dt
    truth = sim.trace(t[[0, -1]])["sensor_m"]
    np.testing.assert_allclose(pos[-1], truth[1] - truth[0], atol=0.003)


def test_breathing_moves_the_trunk_on_the_roller_but_not_the_truth_contact():
    plan = _plan([Piece("still", 40.0)], roller=Roller(0.15, 0.003, 0.004, 0.01))
    sim = simulate_session(plan, seed=8, rate_hz=50.0, sensor=SensorSpec.ideal(50.0))
    tr = sim.truth
    assert np.ptp(tr.position_cm) == 0.0
    swing = np.ptp(tr.pitch_deg)
    assert 0.01 < swing < 1.0  # the chest pressing into the roller lifts the trunk a little
    breath = sim.motion.nuisance.breath_hz
    spec = np.abs(np.fft.rfft(tr.pitch_deg - tr.pitch_deg.mean()))
    f = np.fft.rfftfreq(len(tr.pitch_deg), 1 / 50.0)
    assert abs(f[np.argmax(spec)] - breath) < 0.06


def test_strap_slip_and_the_true_calibration():
    plan = random_plan(4, posture="hips_down", duration_s=60.0)
    plan = replace(plan, strap_shift_deg=5.0)
    sim = simulate_session(plan, seed=4, rate_hz=50.0, attach_calibration=True)
    before = sim.motion.mount_at(np.array([0.0]))[0]
    after = sim.truth.sensor_to_body
    angle = Rotation.from_matrix(before.T @ after).magnitude()
    assert math.degrees(angle) == pytest.approx(5.0, abs=1e-6)
    np.testing.assert_allclose(sim.recording.calibration.sensor_to_body, after)
    assert simulate_session(plan, seed=4, rate_hz=50.0).recording.calibration is None


def test_same_seed_same_recording():
    a = simulate_session(random_plan(9, posture="bridge", duration_s=40.0), seed=9, rate_hz=52.0)
    b = simulate_session(random_plan(9, posture="bridge", duration_s=40.0), seed=9, rate_hz=52.0)
    np.testing.assert_array_equal(a.recording.acc_m_s2, b.recording.acc_m_s2)
    np.testing.assert_array_equal(a.recording.t_s, b.recording.t_s)
    c = simulate_session(random_plan(9, posture="bridge", duration_s=40.0), seed=10, rate_hz=52.0)
    assert not np.array_equal(a.recording.acc_m_s2, c.recording.acc_m_s2)

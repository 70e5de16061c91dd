"""Sample sources: exact replay, end policies, rescaling, and the physics of the motion scripts."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tracker.emulator import (
    ArraySource,
    MotionScriptSource,
    SensorConfig,
    SimulatedSessionSource,
    calibration_pose_source,
    emulated_person,
)
from tracker.protocol import spec

G = spec.STANDARD_GRAVITY_M_S2
DEFAULT = SensorConfig()


def _counts(n: int) -> np.ndarray:
    return np.random.default_rng(1).integers(-20000, 20000, size=(n, 6), dtype=np.int16)


def test_array_source_replays_exactly_at_its_own_rate_and_ranges():
    raw = _counts(50)
    source = ArraySource(raw, 100)
    np.testing.assert_array_equal(source.counts(0, 50, DEFAULT), raw)
    np.testing.assert_array_equal(source.counts(17, 23, DEFAULT), raw[17:23])
    assert not source.ended(50, DEFAULT) and source.ended(51, DEFAULT)


def test_array_source_end_policies():
    raw = _counts(10)
    np.testing.assert_array_equal(
        ArraySource(raw, 100, end="hold").counts(8, 13, DEFAULT), raw[[8, 9, 9, 9, 9]]
    )
    np.testing.assert_array_equal(
        ArraySource(raw, 100, end="loop").counts(8, 13, DEFAULT), raw[[8, 9, 0, 1, 2]]
    )


def test_array_source_rescales_to_other_ranges_and_saturates():
    raw = np.zeros((3, 6), np.int16)
    raw[:, 0] = [1000, 20000, -30000]  # at ±4 g
    raw[:, 3] = [3000, -3000, 0]  # at ±500 °/s
    out = ArraySource(raw, 100).counts(0, 3, SensorConfig(100, 2, 1000))
    # ±2 g doubles the counts (saturating at the int16 ends); ±1000 °/s halves them.
    np.testing.assert_array_equal(out[:, 0], [2000, 32767, -32768])
    np.testing.assert_array_equal(out[:, 3], [1500, -1500, 0])


def test_array_source_resamples_linearly_in_time():
    ramp = np.zeros((101, 6), np.int16)
    ramp[:, 1] = np.arange(101) * 100  # a ramp at 100 Hz
    out = ArraySource(ramp, 100).counts(0, 201, SensorConfig(200, 4, 500))
    np.testing.assert_array_equal(out[:, 1], np.arange(201) * 50)


@pytest.mark.parametrize(
    "bad", [np.zeros((0, 6), np.int16), np.zeros((5, 5), np.int16), np.zeros((5, 6))]
)
def test_array_source_refuses_bad_arrays(bad):
    with pytest.raises(ValueError):
        ArraySource(bad, 100)


def _poses(seed: int) -> MotionScriptSource:
    return MotionScriptSource([("stand", 5.0), ("sit", 5.0), ("roller", 10.0), ("lie", None)], seed=seed)


def test_motion_script_reads_are_random_access_and_reproducible():
    source = _poses(4)
    whole = source.counts(0, 9000, DEFAULT)  # across noise blocks of 4096 samples
    np.testing.assert_array_equal(source.counts(4090, 4110, DEFAULT), whole[4090:4110])
    np.testing.assert_array_equal(_poses(4).counts(0, 9000, DEFAULT), whole)
    assert not np.array_equal(_poses(5).counts(0, 100, DEFAULT), whole[:100])


def test_calibration_script_is_gravity_through_the_mounting_rotation():
    rate = 100
    config = SensorConfig(rate, 4, 500)
    source = calibration_pose_source(stand_s=3.0, lie_s=3.0, seed=11)
    person = emulated_person(11)
    counts = source.counts(0, 6 * rate, config)
    acc = counts[:, :3] * config.accel_scale_m_s2
    gyr = counts[:, 3:] * config.gyro_scale_rad_s
    body_acc = acc @ source.sensor_to_body.T  # v_body = R v_sensor
    standing = body_acc[50:280].mean(axis=0)
    on_roller = body_acc[450:590].mean(axis=0)
    # Physics: gravity's reaction is g·(cos pitch, 0, sin pitch) in the body frame, with the
    # person's own pitch standing (a few degrees from upright) and lying on the roller.
    for measured, pitch_deg in ((standing, person.standing_pitch_deg), (on_roller, person.lying_pitch_deg)):
        pitch = math.radians(pitch_deg)
        np.testing.assert_allclose(measured, [G * math.cos(pitch), 0, G * math.sin(pitch)], atol=0.05)
    assert 80.0 < person.standing_pitch_deg < 95.0 and 0.0 < person.lying_pitch_deg < 40.0
    # The lie-down is a rotation about the lateral axis: the gyro integrates to minus the pitch
    # lost about body y (once the bias, measured while standing still, is removed).
    body_gyr = (gyr - gyr[50:280].mean(axis=0)) @ source.sensor_to_body.T
    turned = body_gyr[300:450].sum(axis=0) / rate
    lost = person.standing_pitch_deg - person.lying_pitch_deg
    np.testing.assert_allclose(np.degrees(turned), [0, -lost, 0], atol=1.0)
    assert source.ended(6 * rate + 1, config)


@pytest.mark.parametrize("seed", [0, 11])
def test_the_person_who_pairs_is_the_person_who_records(seed):
    """`pair --emulated` and `record --emulated` stream one person with one strap: the pairing
    script wears the default session's strap, stands at its upright pitch and lies at its pitch
    on the roller (they used to be two people, and a good calibration of one ruined the other's
    analysis)."""
    truth = SimulatedSessionSource(seed=seed).session(100).truth
    person = emulated_person(seed)
    np.testing.assert_allclose(person.sensor_to_body, truth.sensor_to_body, atol=1e-12)
    np.testing.assert_allclose(calibration_pose_source(seed=seed).sensor_to_body, truth.sensor_to_body)
    assert person.standing_pitch_deg == pytest.approx(truth.script.upright_pitch_deg)
    on = next(p for p in truth.phases if p.kind == "on_roller")
    lying = truth.pitch_deg[(truth.t_s > on.start_s) & (truth.t_s < on.start_s + 1.0)]
    assert lying.min() - 0.5 <= person.lying_pitch_deg <= lying.max() + 0.5


def test_motion_script_refuses_bad_steps():
    with pytest.raises(ValueError, match="unknown pose"):
        MotionScriptSource([("handstand", 1.0)])
    with pytest.raises(ValueError, match="only the last step"):
        MotionScriptSource([("stand", None), ("lie", 1.0)])


def test_simulated_session_source_streams_the_simulators_counts():
    source = SimulatedSessionSource(seed=2)
    session = source.session(100)
    expected = np.asarray(session.counts)
    np.testing.assert_array_equal(source.counts(0, 500, DEFAULT), expected[:500])

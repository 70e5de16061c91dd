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
    placeholder_session_source,
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


def test_motion_script_reads_are_random_access_and_reproducible():
    source = placeholder_session_source(seed=4)
    whole = source.counts(0, 9000, DEFAULT)
    np.testing.assert_array_equal(source.counts(4090, 4110, DEFAULT), whole[4090:4110])
    np.testing.assert_array_equal(
        placeholder_session_source(seed=4).counts(0, 9000, DEFAULT), whole
    )
    assert not np.array_equal(
        placeholder_session_source(seed=5).counts(0, 100, DEFAULT), whole[:100]
    )


def test_calibration_script_is_gravity_through_the_mounting_rotation():
    rate = 100
    config = SensorConfig(rate, 4, 500)
    source = calibration_pose_source(stand_s=3.0, lie_s=3.0, seed=11)
    counts = source.counts(0, 6 * rate, config)
    acc = counts[:, :3] * config.accel_scale_m_s2
    gyr = counts[:, 3:] * config.gyro_scale_rad_s
    body_acc = acc @ source.sensor_to_body.T  # v_body = R v_sensor
    standing = body_acc[50:280].mean(axis=0)
    on_roller = body_acc[450:590].mean(axis=0)
    # Physics: standing, gravity's reaction points to the head (+z); on the roller (pitch 20°),
    # g·(cos 20°, 0, sin 20°) in the body frame.
    np.testing.assert_allclose(standing, [0, 0, G], atol=0.05)
    pitch = math.radians(20)
    np.testing.assert_allclose(on_roller, [G * math.cos(pitch), 0, G * math.sin(pitch)], atol=0.05)
    # The lie-down is a rotation about the lateral axis: the gyro integrates to -70° about body y
    # (once the bias, measured while standing still, is removed).
    body_gyr = (gyr - gyr[50:280].mean(axis=0)) @ source.sensor_to_body.T
    turned = body_gyr[300:450].sum(axis=0) / rate
    np.testing.assert_allclose(np.degrees(turned), [0, -70, 0], atol=1.0)
    assert source.ended(6 * rate + 1, config)


def test_rolling_pitch_swings_between_20_and_34_degrees():
    source = MotionScriptSource([("roll", None)], noise=False, roll_period_s=20.0)
    pitch, _ = source.pitch_rad(np.linspace(0, 40, 4001))
    assert math.degrees(pitch.min()) == pytest.approx(20.0, abs=0.01)
    assert math.degrees(pitch.max()) == pytest.approx(34.0, abs=0.01)


def test_motion_script_refuses_bad_steps():
    with pytest.raises(ValueError, match="unknown pose"):
        MotionScriptSource([("handstand", 1.0)])
    with pytest.raises(ValueError, match="only the last step"):
        MotionScriptSource([("stand", None), ("lie", 1.0)])


@pytest.mark.skipif(
    not SimulatedSessionSource.available(), reason="tracker.simulate is not installed yet"
)
def test_simulated_session_source_streams_the_simulators_counts():
    source = SimulatedSessionSource(seed=2)
    session = source.session(100)
    expected = np.asarray(session.counts)
    np.testing.assert_array_equal(source.counts(0, 500, DEFAULT), expected[:500])

"""Mounting calibration from two still poses (pure numpy) and the sensor registry's battery text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from tracker.errors import PairingError
from tracker.link.calibration import (
    calibration_from_still_poses,
    summarize_still_pose,
    synthetic_still_pose,
)
from tracker.link.registry import SensorRecord, SensorRegistry

UP_STANDING = np.array([0.0, 0.0, 1.0])  # superior
UP_SUPINE = np.array([1.0, 0.0, 0.0])  # anterior


@pytest.mark.parametrize("seed", range(8))
def test_recovers_a_random_mounting_rotation(seed):
    truth = Rotation.random(random_state=seed).as_matrix()  # v_body = truth @ v_sensor
    stand = summarize_still_pose(*synthetic_still_pose(truth, UP_STANDING, n_samples=300, seed=seed))
    # Lying on a roller the torso is not flat: pitched 20° up (head end higher).
    pitch = np.radians(20)
    lie_up = np.array([np.cos(pitch), 0.0, np.sin(pitch)])
    lie = summarize_still_pose(*synthetic_still_pose(truth, lie_up, n_samples=300, seed=seed + 100))
    cal = calibration_from_still_poses(stand, lie)
    r = cal.sensor_to_body
    assert np.allclose(r @ r.T, np.eye(3), atol=1e-9) and np.isclose(np.linalg.det(r), 1.0)
    angle = np.degrees(np.arccos(np.clip((np.trace(r @ truth.T) - 1) / 2, -1, 1)))
    assert angle < 1.0
    assert cal.source == "pairing"
    assert cal.quality["pose_angle_deg"] == pytest.approx(70.0, abs=1.0)


@pytest.mark.parametrize(
    ("lean_deg", "lying_pitch_deg"),
    [(0.0, 3.0), (2.5, 15.0), (-3.0, 35.0), (4.0, 25.0), (0.0, -8.0)],  # bridges and hips down
)
def test_the_two_poses_fix_the_lateral_axis_whatever_the_lying_pitch(lean_deg, lying_pitch_deg):
    """Lying is not 90° from standing: hips down the torso is 15-35° up, in a bridge about level.
    Both gravity directions lie in the sagittal plane, so the lateral axis comes out exact; the
    rest is off by exactly how far the person leaned while standing, and the lying pitch the
    calibration implies is the true one less that lean."""
    truth = Rotation.random(random_state=int(10 * lying_pitch_deg) + 100).as_matrix()

    def pose(pitch_deg, seed):
        p = np.radians(pitch_deg)
        return summarize_still_pose(*synthetic_still_pose(truth, [np.cos(p), 0, np.sin(p)], n_samples=300, seed=seed))

    cal = calibration_from_still_poses(pose(90.0 - lean_deg, 1), pose(lying_pitch_deg, 2))
    r = cal.sensor_to_body
    assert np.degrees(np.arccos(np.clip(r[1] @ truth[1], -1, 1))) < 0.3
    angle = np.degrees(np.arccos(np.clip((np.trace(r @ truth.T) - 1) / 2, -1, 1)))
    assert angle == pytest.approx(abs(lean_deg), abs=0.3)
    assert cal.quality["lying_pitch_deg"] == pytest.approx(lying_pitch_deg + lean_deg, abs=0.3)
    assert "orthogonality_error_deg" not in cal.quality  # 90° apart is not the ideal


def test_lying_head_down_is_refused_with_what_to_do():
    truth = Rotation.random(random_state=3).as_matrix()
    stand = summarize_still_pose(*synthetic_still_pose(truth, UP_STANDING, n_samples=300))
    p = np.radians(-30.0)  # the hips 30° above the head: not on a roller
    lie = summarize_still_pose(*synthetic_still_pose(truth, [np.cos(p), 0, np.sin(p)], n_samples=300))
    with pytest.raises(PairingError) as err:
        calibration_from_still_poses(stand, lie)
    assert "not lying on a roller" in err.value.message
    assert "stand upright" in err.value.hint and "tracker pair" in err.value.hint


def test_gravity_off_by_more_than_a_tenth_is_refused():
    truth = np.eye(3)
    acc, gyr = synthetic_still_pose(truth, UP_STANDING, n_samples=200)
    lie = summarize_still_pose(*synthetic_still_pose(truth, UP_SUPINE, n_samples=200))
    calibration_from_still_poses(summarize_still_pose(acc * 1.08, gyr), lie)  # a sensor 8 % off
    with pytest.raises(PairingError, match="gravity"):
        calibration_from_still_poses(summarize_still_pose(acc * 1.15, gyr), lie)


def test_moving_during_a_pose_is_refused_with_what_to_do():
    truth = np.eye(3)
    acc, gyr = synthetic_still_pose(truth, UP_STANDING, n_samples=300)
    gyr = gyr + np.random.default_rng(1).normal(0, 0.5, gyr.shape)  # turning around
    moving = summarize_still_pose(acc, gyr)
    lie = summarize_still_pose(*synthetic_still_pose(truth, UP_SUPINE, n_samples=300))
    with pytest.raises(PairingError) as err:
        calibration_from_still_poses(moving, lie)
    assert "moved during the standing pose" in err.value.message
    assert "pair" in err.value.hint


def test_two_alike_poses_are_refused():
    truth = np.eye(3)
    a = summarize_still_pose(*synthetic_still_pose(truth, UP_STANDING, n_samples=200, seed=1))
    b = summarize_still_pose(*synthetic_still_pose(truth, [0.2, 0, 1], n_samples=200, seed=2))
    with pytest.raises(PairingError, match="almost the same"):
        calibration_from_still_poses(a, b)


def test_gravity_of_the_wrong_size_is_refused():
    truth = np.eye(3)
    acc, gyr = synthetic_still_pose(truth, UP_STANDING, n_samples=200)
    in_g = summarize_still_pose(acc / 9.80665, gyr)  # an accelerometer reporting g, not m/s²
    lie = summarize_still_pose(*synthetic_still_pose(truth, UP_SUPINE, n_samples=200))
    with pytest.raises(PairingError, match="gravity"):
        calibration_from_still_poses(in_g, lie)


def test_too_few_samples_is_a_pairing_error():
    with pytest.raises(PairingError):
        summarize_still_pose(np.zeros((3, 3)), np.zeros((3, 3)))


def test_battery_is_unknown_or_marked_with_its_age_never_negative(tmp_path):
    record = SensorRecord(address="F8:00:00:00:C0:DE", name="TRK-C0DE", driver="tracker-imu")
    assert record.battery_text() == "unknown"
    then = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
    record.last_battery_pct = 64
    record.last_battery_utc = then.isoformat()
    assert record.battery_text(now=then + timedelta(hours=3)) == "64% (3 h ago)"
    assert record.battery_text(now=then + timedelta(seconds=10)) == "64% (just now)"
    registry = SensorRegistry(tmp_path / "sensors.json")
    registry.upsert(record)
    registry.save()
    again = SensorRegistry(tmp_path / "sensors.json")
    assert again.default() is not None and again.default().battery_text(now=then + timedelta(days=3)) == "64% (3 days ago)"
    assert (tmp_path / "sensors.json").stat().st_mode & 0o777 == 0o600


def test_unreadable_registry_is_ignored_not_fatal(tmp_path):
    path = tmp_path / "sensors.json"
    path.write_text("{not json")
    assert SensorRegistry(path).default() is None

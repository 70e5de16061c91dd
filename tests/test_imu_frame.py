"""The IMU frame's shared helpers: accelerometer-only recordings and aligning two sensor clocks."""

import numpy as np
import pytest

from tracker.imu import ImuRecording, align_streams


def _recording(gyr: np.ndarray) -> ImuRecording:
    n = len(gyr)
    return ImuRecording(np.arange(n) / 50.0, np.tile([0.0, 0.0, 9.81], (n, 1)), gyr, 50.0)


def test_nan_gyro_means_accelerometer_only():
    assert not _recording(np.full((20, 3), np.nan)).has_gyro
    assert _recording(np.zeros((20, 3))).has_gyro
    partly = np.zeros((20, 3))
    partly[:5] = np.nan
    assert _recording(partly).has_gyro


def test_gyro_is_interpolated_onto_the_accelerometer_clock():
    # gyro at 50 Hz, accelerometer at 100 Hz with an offset: a ramp is interpolated exactly
    gt = np.arange(0.0, 2.0, 0.02)
    g = np.column_stack([gt, 2 * gt, -gt])
    at = np.arange(0.005, 2.5, 0.01)
    a = np.ones((len(at), 3))
    t, acc, gyr = align_streams(at, a, gt, g)
    assert t[0] == pytest.approx(0.005) and t[-1] <= gt[-1]
    assert len(t) == len(acc) == len(gyr)
    np.testing.assert_allclose(gyr[:, 0], t, atol=1e-12)
    np.testing.assert_allclose(gyr[:, 1], 2 * t, atol=1e-12)


def test_a_gap_in_the_gyro_stream_is_not_filled():
    gt = np.concatenate([np.arange(0.0, 1.0, 0.01), np.arange(3.0, 4.0, 0.01)])
    g = np.zeros((len(gt), 3))
    at = np.arange(0.0, 4.0, 0.01)
    t, _, _ = align_streams(at, np.zeros((len(at), 3)), gt, g)
    assert not ((t > 1.0) & (t < 3.0)).any()
    assert (t < 1.0).sum() > 90 and (t > 3.0).sum() > 90


def test_lengths_must_match():
    with pytest.raises(ValueError):
        align_streams(np.arange(3.0), np.zeros((2, 3)), np.arange(3.0), np.zeros((3, 3)))

"""The non-rolling activities: each is a valid recording whose truth is "not foam rolling", and
whose signals look like the activity (checked from the sensor output, not the generator)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tracker.imu import STANDARD_GRAVITY_M_S2 as G
from tracker.multibody.activities import (
    ACTIVITY_GENERATORS,
    carried,
    desk_sitting,
    lying_still,
    on_table,
    stretching,
    walking,
)

ISSUE_LIST = {"walking", "desk_sitting", "lying_still", "stretching", "carried", "on_table"}


def test_every_activity_the_issue_names_has_a_generator():
    assert set(ACTIVITY_GENERATORS) == ISSUE_LIST


@pytest.mark.parametrize("name", sorted(ISSUE_LIST))
def test_each_activity_is_a_valid_recording_that_is_not_foam_rolling(name):
    act = ACTIVITY_GENERATORS[name](5, duration_s=90.0, rate_hz=50.0)
    rec, truth = act.recording, act.truth
    assert len(rec) == pytest.approx(90 * 50, abs=2)
    assert np.all(np.diff(rec.t_s) > 0) and rec.has_gyro
    assert np.isfinite(rec.acc_m_s2).all() and np.isfinite(rec.gyr_rad_s).all()
    assert truth.activity == name and not truth.is_foam_rolling
    assert truth.strokes == [] and truth.holds == [] and truth.too_fast_spans == []
    assert truth.on_roller_s == 0.0 and truth.mean_pace_cm_s == 0.0 and truth.posture is None
    assert truth.expected_warning_kinds() == set()
    # gravity is there on average, and nothing is beyond what a person does
    norm = np.linalg.norm(rec.acc_m_s2, axis=1)
    assert 0.9 * G < norm.mean() < 1.25 * G
    assert np.abs(rec.gyr_rad_s).max() < 8.0
    assert act.samples.clipped == 0


def _body_up(act) -> np.ndarray:
    """The up direction in the trunk's frame (from the ideal accelerometer, smoothed over 1 s)."""
    acc = act.samples.ideal_acc_m_s2 @ act.truth.sensor_to_body.T
    k = int(act.recording.sampling_rate_hz)
    kernel = np.ones(k) / k
    smooth = np.column_stack([np.convolve(acc[:, i], kernel, mode="same") for i in range(3)])
    return smooth / np.linalg.norm(smooth, axis=1, keepdims=True)


def _peak_hz(x: np.ndarray, rate: float, lo: float, hi: float) -> float:
    x = x - x.mean()
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    f = np.fft.rfftfreq(len(x), 1.0 / rate)
    band = (f >= lo) & (f <= hi)
    return float(f[band][np.argmax(spec[band])])


def test_walking_steps_at_its_cadence_and_bounces():
    act = walking(2, duration_s=120.0, rate_hz=100.0)
    # the vertical in the sensor frame: the long-run mean of the specific force
    acc = act.recording.acc_m_s2
    up = acc.mean(axis=0) / np.linalg.norm(acc.mean(axis=0))
    vertical = acc @ up
    cadence = act.truth.extra["cadence_hz"]
    assert _peak_hz(vertical, 100.0, 1.0, 3.0) == pytest.approx(cadence, abs=0.1)
    swing = np.percentile(vertical, 99) - np.percentile(vertical, 1)
    assert 2.0 < swing < 15.0  # a chest sensor sees a few m/s² up and down with each step
    # the trunk stays upright (within 25 deg) while walking
    assert np.median(np.degrees(np.arccos(_body_up(act)[:, 2]))) < 25.0


def test_desk_sitting_is_upright_and_quiet():
    act = desk_sitting(3, duration_s=200.0, rate_hz=50.0)
    tilt = np.degrees(np.arccos(np.clip(_body_up(act)[:, 2], -1, 1)))
    assert np.percentile(tilt, 95) < 35.0
    assert np.sqrt(np.mean(act.samples.ideal_gyr_rad_s**2)) < 0.1


def test_lying_still_faces_up_and_breathes():
    act = lying_still(4, duration_s=200.0, rate_hz=25.0)
    up = _body_up(act)
    elevation = np.degrees(np.arcsin(np.clip(up[:, 2], -1, 1)))  # of the superior axis
    assert np.median(np.abs(elevation)) < 15.0
    assert np.sqrt(np.mean(act.samples.ideal_gyr_rad_s**2)) < 0.05
    # the chest's breathing shows at its rate in the anterior acceleration
    anterior = (act.samples.ideal_acc_m_s2 @ act.truth.sensor_to_body.T)[:, 0]
    rate = act.truth.extra["breathing_rate_hz"]
    assert _peak_hz(anterior, 25.0, 0.1, 0.6) == pytest.approx(rate, abs=0.05)


def test_stretching_moves_through_many_postures():
    act = stretching(6, duration_s=300.0, rate_hz=50.0)
    up = _body_up(act)
    elevation = np.degrees(np.arcsin(np.clip(up[:, 2], -1, 1)))
    assert np.ptp(elevation) > 80.0  # from upright to folded or lying
    assert np.abs(act.recording.gyr_rad_s).max() > 0.3


@pytest.mark.parametrize("how", ["hand", "bag"])
def test_a_carried_sensor_swings_and_turns(how):
    act = carried(7, duration_s=120.0, rate_hz=100.0, how=how)
    acc = act.recording.acc_m_s2
    assert np.linalg.norm(acc, axis=1).std() > 0.3
    assert np.sqrt(np.mean(act.recording.gyr_rad_s**2)) > (0.3 if how == "hand" else 0.05)
    # the direction of gravity in the sensor changes as it swings
    g_dir = acc / np.linalg.norm(acc, axis=1, keepdims=True)
    spread = np.degrees(
        np.arccos(np.clip(g_dir @ g_dir.mean(axis=0) / np.linalg.norm(g_dir.mean(axis=0)), -1, 1))
    )
    assert np.percentile(spread, 95) > 5.0


def test_a_sensor_left_on_a_table_is_still_apart_from_knocks():
    act = on_table(8, duration_s=300.0, rate_hz=100.0)
    acc, gyr = act.recording.acc_m_s2, act.recording.gyr_rad_s
    first, last = acc[:1000].mean(axis=0), acc[-1000:].mean(axis=0)
    angle = math.degrees(math.acos(first @ last / np.linalg.norm(first) / np.linalg.norm(last)))
    assert angle < 0.5  # a nudge turns it about the vertical only: gravity stays put
    assert np.median(np.abs(gyr - np.median(gyr, axis=0))) < 0.01
    assert np.median(np.abs(acc - np.median(acc, axis=0))) < 0.02

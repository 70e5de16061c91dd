"""Accelerometer-only analysis (Polar H10, a phone without a gyroscope) against the simulator's
truth: what it finds, what it says it cannot vouch for, and that what it says is so.

The physics the tests hold it to: without a gyroscope the pitch offset (the sensor's tilt on
the chest within the sagittal plane) comes from standing upright, so a hips-down pace is off by
the person's lean times cot(pitch / 2) and nothing else beyond what the analysis gets wrong with
the true axes; and a bridge is said to be rough.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from tracker.analysis import analyze
from tracker.analysis.evaluation import score_session
from tracker.analysis.gravity_axes import GravityAxesEstimator
from tracker.analysis.signals import prepare_signals
from tracker.guidance import Guidance
from tracker.imu import MountingCalibration
from tracker.simulate import random_script, simulate_session

ROLLER_CM = 12.5
GUIDANCE = Guidance(roller_diameter_cm=ROLLER_CM)


def _session(seed: int, posture: str = "hips_down", on_off: bool = True, duration_s: float = 240.0):
    script = random_script(
        seed, posture=posture, with_getting_on_off=on_off, duration_s=duration_s,
        roller_diameter_cm=ROLLER_CM, fast=True,
    )  # fmt: skip
    sim = simulate_session(script, seed=seed, sampling_rate_hz=100.0)
    rec = replace(sim.recording, gyr_rad_s=np.full_like(sim.recording.gyr_rad_s, np.nan))
    return sim, rec


@pytest.fixture(scope="module")
def leaning():
    """A hips-down session whose person stands 4° off upright (the largest lean the simulator
    draws): the case that shows what standing as a reference costs."""
    sim, rec = _session(25)
    assert sim.truth.script.upright_pitch_deg == pytest.approx(86.0, abs=0.1)
    return sim, rec, analyze(rec, GUIDANCE)


def test_accelerometer_only_is_analysed_and_says_so(leaning):
    sim, rec, res = leaning
    assert not rec.has_gyro
    assert res.parameters["has_gyro"] is False
    info = res.parameters["accel_only"]
    assert info["pitch_reference"] == "standing" and info["pitch_offset_uncertainty_deg"] == 3.0
    assert info["bridge_trustworthy"] is True  # no bridge in this session
    said = " ".join(res.notes)
    assert "no gyroscope" in said and "standing upright" in said
    pace_pct = round(100 * info["hips_down_pace_uncertainty_fraction"])
    assert f"paces ±{pace_pct} %" in said
    m = score_session(res, sim.truth)
    assert m["hold_recall"] == 1.0 and m["hold_precision"] == 1.0
    assert abs(m["stroke_count_err"]) <= 0.1 and m["too_fast_sets_warned"] == m["too_fast_sets"]


def test_the_uncertainty_is_the_physics_of_the_lean(leaning):
    """With the true axes the accelerometer-only pace is about as good as with a gyroscope; with
    axes from standing, the mean pace is off by exactly what the lean predicts
    (-cot(pitch / 2) times the lean), and the stated uncertainty is the size of that at 3°."""
    sim, rec, res = leaning
    truth = sim.truth
    true_axes = analyze(replace(rec, calibration=MountingCalibration(truth.sensor_to_body, source="truth")), GUIDANCE)
    m_true = score_session(true_axes, truth)
    assert m_true["pace_err"] <= 0.10 and abs(m_true["mean_pace_err"]) <= 0.08
    on = np.isfinite(truth.position_cm)
    theta = np.radians(np.median(truth.pitch_deg[on]))
    lean = np.radians(90.0 - truth.script.upright_pitch_deg)  # the pitch reads this much high
    predicted = -lean / np.tan(0.5 * theta)
    m = score_session(res, truth)
    assert predicted < -0.15  # a large effect: 4° of lean
    assert m["mean_pace_err"] == pytest.approx(m_true["mean_pace_err"] + predicted, abs=0.05)
    stated = res.parameters["accel_only"]["hips_down_pace_uncertainty_fraction"]
    assert stated == pytest.approx(abs(predicted) * 3.0 / 4.0, rel=0.25)


def test_the_axes_come_from_standing_within_the_lean():
    sim, rec = _session(22)
    sig = prepare_signals(rec)
    assert not sig.has_gyro and np.isfinite(sig.gyr_rad_s).all()  # the tilt's rotation
    est = GravityAxesEstimator().estimate(
        sig.up_sensor, sig.rate_hz, acc_m_s2=sig.acc_m_s2, roller_diameter_cm=ROLLER_CM
    )
    assert est.pitch_reference_ == "standing"
    r_true = np.asarray(sim.truth.sensor_to_body)
    lean = abs(90.0 - sim.truth.script.upright_pitch_deg)
    for axis in range(3):
        angle = np.degrees(np.arccos(np.clip(est.sensor_to_body_[axis] @ r_true[axis], -1, 1)))
        assert angle <= lean + 1.0, (axis, angle, lean)
    # the lateral axis, fixed by the plane standing and lying span, does not depend on the lean
    assert np.degrees(np.arccos(abs(est.sensor_to_body_[1] @ r_true[1]))) < 1.0


def test_without_an_upright_pose_the_offset_is_an_assumption():
    sim, rec = _session(23, on_off=False)
    res = analyze(rec, GUIDANCE)
    info = res.parameters["accel_only"]
    assert info["pitch_reference"] == "assumed" and info["pitch_offset_uncertainty_deg"] == 6.0
    said = " ".join(res.notes)
    assert "no upright pose" in said and "Stand still for a few seconds before lying down" in said
    # rough, as it says: the count and the holds still stand
    m = score_session(res, sim.truth)
    assert m["hold_recall"] >= 0.75 and abs(m["stroke_count_err"]) <= 0.2


def test_a_calibration_that_does_not_fit_is_replaced_and_said():
    sim, rec = _session(24)
    turned = np.asarray(sim.truth.sensor_to_body) @ np.array([[0.0, 1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    res = analyze(replace(rec, calibration=MountingCalibration(turned, source="pairing")), GUIDANCE)
    assert any("does not fit this recording" in n for n in res.notes)
    assert res.parameters["body_axes"]["source"] == "inferred"
    # and one that fits is kept, with its own limit said
    kept = analyze(replace(rec, calibration=MountingCalibration(sim.truth.sensor_to_body, source="pairing")), GUIDANCE)
    assert kept.parameters["accel_only"]["pitch_reference"] == "pairing"
    assert any("at pairing" in n for n in kept.notes)


def test_a_bridge_without_gyroscope_is_said_to_be_rough():
    sim, rec = _session(26, posture="bridge")
    res = analyze(rec, GUIDANCE)
    assert res.posture == "bridge"
    assert res.parameters["accel_only"]["bridge_trustworthy"] is False
    assert any("in a bridge the torso's own tilt" in n for n in res.notes)
    m = score_session(res, sim.truth)
    # fast bridge strokes stand out of the tilt's wander: every fast set is still warned
    assert m["too_fast_sets_warned"] == m["too_fast_sets"] > 0


def test_with_a_gyroscope_nothing_changes():
    sim = simulate_session(random_script(22, duration_s=120, roller_diameter_cm=ROLLER_CM), seed=22, sampling_rate_hz=100.0)
    res = analyze(sim.recording, GUIDANCE)
    assert res.parameters["has_gyro"] is True and "accel_only" not in res.parameters
    assert not any("no gyroscope" in n for n in res.notes)

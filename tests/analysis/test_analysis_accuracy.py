"""Analysis against the simulator's exact ground truth (the benchmark's metrics, a bit looser).

Seeds here are not the ones the algorithms were tuned on (tuning used 100-299).
"""

from __future__ import annotations

import numpy as np
import pytest

from tracker.analysis import (
    BodyAxesEstimator,
    analyze,
    analyze_with_details,
    calibration_from_still_poses,
    hips_down_pitch_rad,
    hips_down_position_cm,
    prepare_signals,
)
from tracker.analysis.evaluation import score_session
from tracker.analysis.warnings import WarningRules
from tracker.guidance import Guidance
from tracker.imu import STANDARD_GRAVITY_M_S2
from tracker.results import Hold, Stroke
from tracker.simulate import hips_down_pitch_deg, random_script, simulate_session

# (seed, posture, with getting on/off, rate Hz, roller cm, fast)
SESSIONS = [
    (1001, "hips_down", True, 50, 15.0, True),
    (1002, "hips_down", False, 100, 10.0, False),
    (1003, "mixed", True, 50, 12.5, False),
    (1004, "hips_down", False, 50, 12.5, True),
]


def _run(seed, posture, goo, rate, diam, fast, duration_s=200.0):
    sim = simulate_session(
        random_script(
            seed,
            posture=posture,
            with_getting_on_off=goo,
            duration_s=duration_s,
            roller_diameter_cm=diam,
            fast=fast,
        ),
        seed=seed,
        sampling_rate_hz=rate,
    )
    result = analyze(sim.recording, Guidance(roller_diameter_cm=diam))
    return sim, result, score_session(result, sim.truth)


@pytest.fixture(scope="module")
def scored():
    return [_run(*s) for s in SESSIONS]


def test_holds_found(scored):
    true = sum(m["true_holds"] for _, _, m in scored)
    matched = sum(m["matched_holds"] for _, _, m in scored)
    found = sum(m["found_holds"] for _, _, m in scored)
    assert true >= 8
    assert matched / true >= 0.9
    assert matched / found >= 0.85


def test_hold_durations(scored):
    errors = sum((m["hold_duration_errors_s"] for _, _, m in scored), [])
    assert np.median(errors) <= 0.75


def test_hold_positions_and_regions(scored):
    for _sim, _result, m in scored:
        assert m["hold_position_err_cm"] <= 4.0


def test_stroke_count(scored):
    for _, _, m in scored:
        assert abs(m["stroke_count_err"]) <= 0.15, m


def test_stroke_pace(scored):
    errors = sum((m["pace_errors"] for _, _, m in scored), [])
    assert np.median(errors) <= 0.12


def test_session_mean_pace(scored):
    for _, _, m in scored:
        assert abs(m["mean_pace_err"]) <= 0.12, m


def test_too_fast_warned_and_slow_sessions_not(scored):
    fast_sets = 0
    for _sim, _result, m in scored:
        fast_sets += m["too_fast_sets"]
        assert m["too_fast_sets_warned"] == m["too_fast_sets"]
        assert not m["too_fast_false_alarm"]
    assert fast_sets >= 2


def test_on_roller_time(scored):
    for sim, result, _ in scored:
        assert result.on_roller_s == pytest.approx(sim.truth.on_roller_s, rel=0.05, abs=3.0)


# (seed, with getting on/off, rate Hz, roller cm, fast): bridge sessions, not tuning seeds
BRIDGE_SESSIONS = [
    (1005, True, 50, 15.0, False),
    (1006, False, 100, 10.0, True),
    (1007, True, 50, 12.5, True),
]


@pytest.fixture(scope="module")
def bridge_scored():
    return [
        _run(seed, "bridge", goo, rate, diam, fast)
        for seed, goo, rate, diam, fast in BRIDGE_SESSIONS
    ]


def test_bridge_holds(bridge_scored):
    true = sum(m["true_holds"] for _, _, m in bridge_scored)
    matched = sum(m["matched_holds"] for _, _, m in bridge_scored)
    found = sum(m["found_holds"] for _, _, m in bridge_scored)
    assert true >= 6
    assert matched / true >= 0.9
    # seed 1007 keeps one extra hold: a slow stroke (about 1.5 cm/s) the segmentation misses
    assert matched / found >= 0.85
    errors = sum((m["hold_duration_errors_s"] for _, _, m in bridge_scored), [])
    assert np.median(errors) <= 0.75


def test_bridge_strokes_and_pace(bridge_scored):
    for _sim, result, m in bridge_scored:
        assert all(s.posture == "bridge" for s in result.strokes)
        assert abs(m["stroke_count_err"]) <= 0.1, m
        assert abs(m["mean_pace_err"]) <= 0.12, m
        assert m["too_fast_sets_warned"] == m["too_fast_sets"]
        assert not m["too_fast_false_alarm"]
    errors = sum((m["pace_errors"] for _, _, m in bridge_scored), [])
    assert np.median(errors) <= 0.12


# --- building blocks against physics ------------------------------------------------------------
def test_hips_down_formula_matches_the_simulators_geometry():
    for s_cm in (10.0, 25.0, 49.0):
        for d in (10.0, 15.0):
            theta = np.radians(hips_down_pitch_deg(s_cm, d / 2))
            assert hips_down_position_cm(np.array([theta]), d)[0] == pytest.approx(s_cm, rel=1e-9)
            assert hips_down_pitch_rad(s_cm, d) == pytest.approx(theta, rel=1e-9)
    assert np.isnan(hips_down_position_cm(np.array([0.0]), 15.0)[0])


def test_calibration_from_still_poses_recovers_the_mounting():
    rng = np.random.default_rng(5)
    q = rng.standard_normal(4)
    q /= np.linalg.norm(q)
    w, x, y, z = q
    rot = np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )
    standing = rot.T @ np.array([0, 0, STANDARD_GRAVITY_M_S2])
    theta = np.radians(25.0)  # lying hips down on the roller
    lying = rot.T @ (STANDARD_GRAVITY_M_S2 * np.array([np.cos(theta), 0, np.sin(theta)]))
    cal = calibration_from_still_poses(standing, lying)
    assert np.allclose(cal.sensor_to_body, rot, atol=1e-9)


def test_body_axes_inferred_without_calibration_starting_on_the_roller():
    sim = simulate_session(
        random_script(1010, with_getting_on_off=False, duration_s=120),
        seed=1010,
        sampling_rate_hz=50,
    )
    sig = prepare_signals(sim.recording)
    est = BodyAxesEstimator().estimate(sig.up_sensor, sig.gyr_rad_s, sig.rate_hz)
    true = sim.truth.sensor_to_body
    # the anterior axis decides the pitch offset: within a degree
    assert np.degrees(np.arccos(est.sensor_to_body_[0] @ true[0])) < 1.0
    assert np.degrees(np.arccos(est.sensor_to_body_[2] @ true[2])) < 3.0
    assert est.source_ == "inferred"


def test_pitch_follows_truth_and_ignores_rocking():
    sim = simulate_session(
        random_script(1011, with_getting_on_off=False, duration_s=120),
        seed=1011,
        sampling_rate_hz=100,
    )
    result, details = analyze_with_details(sim.recording)
    truth = np.interp(details.t_s, sim.truth.t_s, sim.truth.pitch_deg)
    err = details.pitch_deg - truth
    assert np.sqrt(np.mean(err[details.t_s > 5] ** 2)) < 0.6  # breathing tilt is ±0.2-0.5°
    roll = np.interp(details.t_s, sim.truth.t_s, sim.truth.roll_deg)
    assert abs(np.corrcoef(err, roll)[0, 1]) < 0.3


def test_warning_rules_thresholds():
    g = Guidance()
    strokes = [Stroke(10.0 * i, 10.0 * i + 2, 12.0, 6.0, "mid_thoracic") for i in range(3)]
    strokes.append(Stroke(40.0, 44.0, 8.0, 2.0, "mid_thoracic"))
    holds = [Hold(50.0, 120.0, 70.0, 40.0, "upper_thoracic")]
    t = np.arange(0, 2000.0, 0.5)
    pos = np.where(t < 1900, 40.0, 10.0)
    rules = WarningRules(g).evaluate(strokes, holds, t, pos, np.ones(len(t), dtype=bool))
    kinds = [w.kind for w in rules.warnings_]
    assert kinds.count("too_fast") == 1
    assert kinds.count("hold_too_long") == 1
    assert "session_too_long" in kinds and "region_overuse" in kinds
    assert kinds.count("lumbar") == 1
    lumbar = next(w for w in rules.warnings_ if w.kind == "lumbar")
    assert "duo ball" in lumbar.message and lumbar.start_s == pytest.approx(1900.0)
    relaxed = WarningRules(
        g.with_overrides(too_fast_min_strokes=4, hold_too_long_s=90.0, warn_lumbar=False)
    )
    kinds = [
        w.kind
        for w in relaxed.evaluate(strokes, holds, t, pos, np.ones(len(t), dtype=bool)).warnings_
    ]
    assert "too_fast" not in kinds and "hold_too_long" not in kinds and "lumbar" not in kinds


def test_hips_down_sessions_reach_the_issue_bar(scored):
    """Hips down is at or near the issue's bar on the benchmark; here slightly looser, seeded."""
    hd = [m for (_, _, m), s in zip(scored, SESSIONS, strict=True) if s[1] == "hips_down"]
    true = sum(m["true_holds"] for m in hd)
    matched = sum(m["matched_holds"] for m in hd)
    found = sum(m["found_holds"] for m in hd)
    assert matched / true >= 0.92 and matched / found >= 0.92
    assert np.median(sum((m["hold_duration_errors_s"] for m in hd), [])) <= 0.6
    assert np.median([abs(m["stroke_count_err"]) for m in hd]) <= 0.06
    for m in hd:
        assert abs(m["mean_pace_err"]) <= 0.10, m
    assert np.median(sum((m["pace_errors"] for m in hd), [])) <= 0.11


def test_bridge_stroke_distance_from_acceleration_ignores_bias_and_drift():
    """A raised-cosine movement of the body over D in T accelerates as (2 pi D / T^2) sin; the
    fitted amplitude gives half of D (the contact) even with a gravity-removal error of
    -0.02 m/s² (as large as the stroke's own acceleration) that drifts slowly."""
    from tracker.analysis.contact import ContactPositionEstimator

    rate, body_m, dur = 25.0, 0.12, 6.0
    t = np.arange(0, 20, 1 / rate)
    u = np.clip((t - 7.0) / dur, 0, 1)
    acc = np.where((t >= 7.0) & (t <= 13.0), 2 * np.pi * body_m / dur**2 * np.sin(2 * np.pi * u), 0)
    est = ContactPositionEstimator()
    est.spine_acc_m_s2_ = acc - 0.02 - 0.0001 * (t - 10.0)
    got = est.stroke_distance_cm(t, 7.0, 13.0)
    assert got == pytest.approx(0.5 * body_m * 100, rel=0.03)
    est.spine_acc_m_s2_ = np.full(len(t), np.nan)
    assert est.stroke_distance_cm(t, 7.0, 13.0) is None


def test_posture_does_not_change_during_a_hold():
    """Lifting the hips flattens the torso: a bridge label with the pitch steady is dropped."""
    from tracker.analysis.posture import PostureSegmenter

    rate = 25.0
    n = int(60 * rate)
    seg = PostureSegmenter()
    seg.on_roller_ = np.ones(n, dtype=bool)
    posture = np.array(["hips_down"] * (n // 2) + ["bridge"] * (n - n // 2), dtype=object)
    steady = np.full(n, 14.0)
    assert set(seg._require_lift(posture, steady, rate)) == {"hips_down"}
    lifted = np.where(np.arange(n) < n // 2, 14.0, 6.0)
    assert list(seg._require_lift(posture, lifted, rate)) == list(posture)


def test_bridge_found_although_the_hips_lift_late_in_the_evidence():
    """Seed 7207 (a tuning seed that was broken): lying back, then lifting into a bridge on a
    10 cm roller. The motion evidence flips to bridge seconds after the lift; the change must
    move onto the lift, not be dropped (the whole session was read as hips down, with paces
    three times too high and a false too-fast warning)."""
    _sim, result, m = _run(7207, "bridge", True, 100, 10.0, False, duration_s=300.0)
    assert {s.posture for s in result.strokes} == {"bridge"}
    assert not m["too_fast_false_alarm"]
    assert abs(m["mean_pace_err"]) <= 0.12, m
    assert m["found_holds"] == m["matched_holds"] == m["true_holds"]


def test_long_bridge_holds_stay_still():
    """Seed 7313 (a tuning seed that was broken): long bridge holds (up to 95 s). The
    orientation filter's inclination wanders there by tenths of a degree over 10-30 s, which
    read as slow strokes (11 holds found for 4, mean pace 20 % low) before the gravity removal
    used the gyro's integrated pitch at those time scales."""
    _sim, _result, m = _run(7313, "bridge", False, 50, 10.0, False, duration_s=300.0)
    assert m["matched_holds"] == m["true_holds"] >= 3
    assert m["found_holds"] <= m["true_holds"] + 1
    assert abs(m["stroke_count_err"]) <= 0.1, m
    assert abs(m["mean_pace_err"]) <= 0.12, m


def test_posture_change_moves_onto_the_lift_that_explains_it():
    """A change to bridge found 9 s after the pitch stepped down (the lift) lands on the lift."""
    from tracker.analysis.posture import PostureSegmenter

    rate = 25.0
    n = int(60 * rate)
    t = np.arange(n) / rate
    seg = PostureSegmenter()
    seg.on_roller_ = np.ones(n, dtype=bool)
    pitch = np.where(t < 20.0, 14.0, np.where(t < 21.5, 14.0 - 6.0 * (t - 20.0) / 1.5, 8.0))
    posture = np.where(t < 30.0, "hips_down", "bridge").astype(object)
    out = seg._require_lift(posture, pitch, rate)
    change = t[np.flatnonzero(out[1:] != out[:-1])[0] + 1]
    assert 19.5 <= change <= 22.0
    assert out[-1] == "bridge"

"""Model 2's plans, truth and sampling: the truth says what the plan did, in the project's terms,
and the recording honours its rate, quantisation and clock."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tracker.analysis.evaluation import score_session
from tracker.guidance import Guidance
from tracker.multibody import (
    HIPS_DOWN,
    Piece,
    Plan,
    Rig,
    SensorSpec,
    fast_sets,
    random_plan,
    random_session,
    record_imu,
    simulate_session,
)
from tracker.multibody.plan import (
    FAST_PACE_MIN_CM_S,
    MAX_DWELL_S,
    SAME_WAY_STOP_S,
    SLOW_PACE_MAX_CM_S,
)
from tracker.multibody.profiles import MIN_JERK, SINE, TRAPEZOID, progress
from tracker.results import Hold, Stroke


@pytest.mark.parametrize("shape", [MIN_JERK, TRAPEZOID, SINE])
@pytest.mark.parametrize("skew", [-0.5, 0.0, 0.4])
def test_every_stroke_shape_runs_one_way_from_start_to_end(shape, skew):
    u = np.linspace(0.0, 1.0, 2001)
    wobble = np.tile([0.3, -0.2, 0.1], (len(u), 1))
    p = progress(u, np.full(len(u), shape), np.full(len(u), 0.15), np.full(len(u), skew), wobble)
    assert p[0] == pytest.approx(0.0, abs=1e-12) and p[-1] == pytest.approx(1.0, abs=1e-12)
    assert np.all(np.diff(p) > 0.0)  # one movement in one direction, never a stop inside
    v = np.gradient(p, u)
    assert v[0] < 0.02 and v[-1] < 0.02  # starts and ends at rest


def test_the_trapezoid_cruises_at_constant_speed():
    u = np.linspace(0.0, 1.0, 1001)
    n = len(u)
    p = progress(u, np.full(n, TRAPEZOID), np.full(n, 0.1), np.zeros(n), np.zeros((n, 3)))
    v = np.gradient(p, u)
    cruise = (u > 0.12) & (u < 0.88)
    assert np.ptp(v[cruise]) < 1e-6
    assert v[cruise].mean() == pytest.approx(1 / 0.9, rel=1e-6)


def _pieces(plan: Plan, kind: str) -> list[Piece]:
    return [p for p in plan.pieces if p.kind == kind]


@pytest.mark.parametrize("posture", ["hips_down", "bridge", "mixed"])
@pytest.mark.parametrize("fast", [False, True])
def test_random_plans_are_what_the_truth_needs(posture, fast):
    for seed in range(3):
        plan = random_plan(100 + seed, posture=posture, fast=fast, duration_s=400.0)
        strokes = _pieces(plan, "stroke")
        paces = [100 * abs(b.contact_to_m - a) / b.duration_s for a, b in _contacts(plan)]
        assert len(strokes) >= 10
        if fast:
            assert max(paces) >= FAST_PACE_MIN_CM_S
        else:
            # slow sessions: under 4.3 cm/s, apart from single quick returns
            quick = [p > SLOW_PACE_MAX_CM_S + 1e-9 for p in paces]
            assert not any(a and b for a, b in zip(quick, quick[1:], strict=False))
        stills = [p.duration_s for p in _pieces(plan, "still")]
        assert all(d <= MAX_DWELL_S or d >= 4.0 for d in stills)  # a dwell is never nearly a hold
        _check_same_way_strokes_are_stopped_between(plan)


def _contacts(plan: Plan):
    s = plan.start_contact_m
    for p in plan.pieces:
        if p.kind == "stroke":
            yield s, p
            s = p.contact_to_m


def _check_same_way_strokes_are_stopped_between(plan: Plan) -> None:
    last_dir, stop = 0.0, math.inf
    s = plan.start_contact_m
    for p in plan.pieces:
        if p.kind == "stroke":
            d = math.copysign(1.0, p.contact_to_m - s)
            if d == last_dir:
                assert stop >= SAME_WAY_STOP_S
            last_dir, stop, s = d, 0.0, p.contact_to_m
        elif p.kind == "still":
            stop += p.duration_s
        else:
            last_dir = 0.0


def test_the_truth_is_the_plan():
    sim = random_session(77, posture="mixed", fast=True, duration_s=300.0, rate_hz=50.0)
    plan, truth, g = sim.plan, sim.truth, sim.truth.guidance
    scale = sim.samples.clock_scale
    stroke_pieces = [(a, p) for a, p in _contacts(plan)]
    assert len(truth.strokes) == len(stroke_pieces)
    t = 0.0
    starts = {}
    for i, p in enumerate(plan.pieces):
        starts[i] = t
        t += p.duration_s
    k = 0
    for i, p in enumerate(plan.pieces):
        if p.kind != "stroke":
            continue
        s = truth.strokes[k]
        k += 1
        assert s.start_s == pytest.approx(starts[i] * scale)
        assert s.end_cm == pytest.approx(100 * p.contact_to_m)
        assert s.distance_cm == pytest.approx(abs(s.end_cm - s.start_cm))
        assert s.pace_cm_s == pytest.approx(s.distance_cm / p.duration_s)
        assert s.region == g.region_at(0.5 * (s.start_cm + s.end_cm))
        assert (s.direction == "toward_head") == (s.end_cm > s.start_cm)
    # the contact track passes through each stroke's ends and stays put during holds
    for s in truth.strokes:
        at = np.interp([s.start_s, s.end_s], truth.t_s, truth.position_cm)
        np.testing.assert_allclose(at, [s.start_cm, s.end_cm], atol=0.05)
    for h in truth.holds:
        assert h.duration_s >= g.hold_min_s
        inside = (truth.t_s > h.start_s + 0.05) & (truth.t_s < h.end_s - 0.05)
        np.testing.assert_allclose(truth.position_cm[inside], h.position_cm, atol=1e-9)
    assert truth.too_fast_spans == fast_sets(truth.strokes, truth.holds, g)
    assert truth.too_fast_spans
    assert truth.on_roller_s == pytest.approx(sum(truth.region_time_s.values()), rel=1e-6)
    assert truth.posture == "mixed"
    assert {s.posture for s in truth.strokes} == {"hips_down", "bridge"}
    # hips-down samples sit where the constraint puts them; a perfect analysis scores perfectly
    assert (sim.motion.piece_mode == HIPS_DOWN).any()
    m = score_session(truth.to_analysis(), truth)
    assert m["hold_recall"] == m["hold_precision"] == 1.0
    assert m["pace_err"] == 0.0 and m["stroke_count_err"] == 0.0 and m["mean_pace_err"] == 0.0


def test_holds_and_fast_sets_follow_the_guidance():
    g = Guidance()
    s = [Stroke(0, 2, 12, 6.0, "mid_thoracic"), Stroke(2.5, 4.5, 12, 6.0, "mid_thoracic"),
         Stroke(10, 12, 12, 6.0, "mid_thoracic"), Stroke(12.2, 15, 6, 2.0, "mid_thoracic"),
         Stroke(16, 18, 12, 6.0, "mid_thoracic")]  # fmt: skip
    hold = [Hold(5.0, 9.5, 4.5, 30.0, "mid_thoracic")]
    assert fast_sets(s, [], g) == [(0, 12)]
    assert fast_sets(s, hold, g) == [(0, 4.5)]  # the hold ends the run: the third is alone
    assert fast_sets(s, hold, g.with_overrides(too_fast_min_strokes=1)) == [
        (0, 4.5),
        (10, 12),
        (16, 18),
    ]


def test_a_dwell_is_not_a_hold_but_merged_stillness_is():
    base = random_plan(5, getting_on_off=False)
    pieces = [Piece("stroke", 6.0, contact_to_m=0.25), Piece("still", 1.5),
              Piece("stroke", 6.0, contact_to_m=0.4), Piece("still", 2.0), Piece("still", 2.5),
              Piece("stroke", 5.0, contact_to_m=0.3), Piece("still", 2.9)]  # fmt: skip
    plan = Plan(tuple(pieces), base.person, base.roller, start="hips_down", start_contact_m=0.35)
    tr = simulate_session(plan, seed=1, rate_hz=50.0).truth
    assert len(tr.strokes) == 3
    assert [round(h.duration_s, 3) for h in tr.holds] == [pytest.approx(4.5, abs=0.01)]
    assert tr.holds[0].position_cm == pytest.approx(40.0)


@pytest.mark.parametrize("rate", [25.0, 52.0, 208.0, 400.0])
def test_rates_quantisation_and_timestamps(rate):
    sim = random_session(
        3, posture="hips_down", duration_s=40.0, getting_on_off=False, rate_hz=rate
    )
    rec, spec = sim.recording, sim.spec
    dt = np.diff(rec.t_s)
    assert rec.sampling_rate_hz == rate
    assert np.all(dt > 0)
    assert (rec.t_s[-1] - rec.t_s[0]) / (len(rec) - 1) == pytest.approx(1.0 / rate, rel=1e-3)
    assert np.max(np.abs(rec.t_s - np.arange(len(rec)) / rate)) <= 0.45 / rate + 1e-12
    for x, lsb in ((rec.acc_m_s2, spec.accel_lsb_m_s2), (rec.gyr_rad_s, spec.gyro_lsb_rad_s)):
        q = x / lsb
        np.testing.assert_allclose(q, np.rint(q), atol=1e-6)
    # the sensor's clock: the recording's last time against the plan's duration
    assert rec.t_s[-1] == pytest.approx(
        sim.motion.duration_s * (1 + 1e-6 * spec.clock_ppm), abs=1.5 / rate
    )


def test_a_shake_beyond_the_range_clips():
    def pose(t):
        pos = np.zeros((len(t), 3))
        pos[:, 0] = 0.05 * np.sin(2 * math.pi * 4.0 * t)  # 3.2 g peak
        return pos, np.broadcast_to(np.eye(3), (len(t), 3, 3))

    spec = SensorSpec.ideal(100.0, accel_range_g=2.0)
    out = record_imu(pose, 5.0, spec, np.random.default_rng(0))
    assert out.clipped > 0
    top = 2.0 * 9.80665
    assert (
        out.acc_m_s2[:, 0].max() <= top and out.acc_m_s2[:, 0].min() >= -top - spec.accel_lsb_m_s2
    )


def test_the_error_model_has_its_datasheet_size():
    """Angle random walk, accelerometer noise and biases come out at their stated sizes."""

    def still(t):
        return np.zeros((len(t), 3)), np.broadcast_to(np.eye(3), (len(t), 3, 3))

    spec = SensorSpec.ideal(
        100.0, gyro_arw_deg_rt_h=0.6, accel_noise_ug_rt_hz=200.0, gyro_bias_deg_s=(0.3, -0.2, 0.1),
        accel_bias_mg=(10.0, 0.0, -5.0), gyro_range_dps=250.0, accel_range_g=2.0,
    )  # fmt: skip
    out = record_imu(still, 600.0, spec, np.random.default_rng(4))
    gyr = out.gyr_rad_s - np.radians(spec.gyro_bias_deg_s)
    np.testing.assert_allclose(
        out.gyr_rad_s.mean(axis=0), np.radians(spec.gyro_bias_deg_s), atol=2e-4
    )
    # the angle random walk: the integrated rate over 60 s spreads as N sqrt(60 s)
    angle = np.cumsum(gyr, axis=0) / 100.0
    spread = np.std(angle[6000::6000] - angle[:-6000:6000], axis=0).mean()
    expected = math.radians(0.6 / 60.0) * math.sqrt(60.0)
    assert spread == pytest.approx(expected, rel=0.35)
    acc_bias = np.array(spec.accel_bias_mg) * 1e-3 * 9.80665
    np.testing.assert_allclose(out.acc_m_s2.mean(axis=0) - [0, 0, 9.80665], acc_bias, atol=5e-4)
    sd = 200e-6 * 9.80665 * math.sqrt(spec.bandwidth_fraction * 100.0)
    assert out.acc_m_s2[:, 0].std() == pytest.approx(sd, rel=0.1)


def test_the_hips_down_contact_never_goes_where_the_hips_down_cannot_reach():
    for seed in range(6):
        plan = random_plan(300 + seed, posture="hips_down", duration_s=200.0)
        rig = Rig(plan.person, plan.roller)
        lo = rig.lowest_hips_down_contact_m()
        assert all(p.contact_to_m >= lo - 1e-9 for p in _pieces(plan, "stroke"))
        assert math.degrees(rig.hips_down_pitch(np.array([lo]))[0]) <= 50.0 + 1e-6

"""Ground truth is self-consistent and follows the documented definitions; scripts are plausible."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tracker.errors import UsageError
from tracker.guidance import REGIONS, Guidance
from tracker.results import SessionAnalysis
from tracker.simulate import GroundTruth, Segment, SessionScript, random_script, simulate_session


@pytest.fixture(scope="module")
def mixed():
    return simulate_session(random_script(21, posture="mixed", fast=True, duration_s=420), seed=21)


def test_stroke_pace_is_distance_over_duration_and_matches_the_track(mixed):
    truth = mixed.truth
    assert len(truth.strokes) > 20
    for s in truth.strokes:
        assert s.pace_cm_s == pytest.approx(s.distance_cm / s.duration_s)
        assert s.distance_cm == pytest.approx(abs(s.end_cm - s.start_cm))
        assert 5.0 - 1e-9 <= s.distance_cm <= 25.0 + 1e-9
        assert truth.position_at(s.start_s) == pytest.approx(s.start_cm, abs=0.05)
        assert truth.position_at(s.end_s) == pytest.approx(s.end_cm, abs=0.05)
        m = (truth.t_s > s.start_s) & (truth.t_s < s.end_s)
        step = np.diff(truth.position_cm[m])
        assert np.all(step > 0) if s.direction == "toward_head" else np.all(step < 0)
        assert s.region == Guidance().region_at(0.5 * (s.start_cm + s.end_cm))


def test_holds_are_where_the_roller_stays(mixed):
    truth = mixed.truth
    assert truth.holds
    for h in truth.holds:
        assert h.duration_s >= 3.0
        m = (truth.t_s >= h.start_s) & (truth.t_s <= h.end_s)
        assert np.ptp(truth.position_cm[m]) < 1e-9
        assert truth.position_cm[m][0] == pytest.approx(h.position_cm)
        assert h.region == Guidance().region_at(h.position_cm)
    # turn-arounds between strokes are brief stops, never holds
    pairs = zip(truth.strokes, truth.strokes[1:], strict=False)
    gaps = [b.start_s - a.end_s for a, b in pairs if a.posture == b.posture]  # no hip lift between
    hold_gaps = [g for g in gaps if g >= 3.0]
    assert all(g < 1.0 for g in gaps if g < 3.0)
    assert len(hold_gaps) <= len(truth.holds)


def test_times_add_up(mixed):
    truth = mixed.truth
    assert truth.rolling_s == pytest.approx(sum(s.duration_s for s in truth.strokes))
    assert sum(truth.region_time_s.values()) == pytest.approx(truth.on_roller_s, rel=1e-9)
    assert sum(truth.region_rolling_s.values()) == pytest.approx(truth.rolling_s, rel=1e-9)
    on = np.isfinite(truth.position_cm)
    assert on.mean() * truth.duration_s == pytest.approx(truth.on_roller_s, abs=0.1)
    assert truth.phases[0].start_s == 0 and truth.phases[-1].end_s == pytest.approx(
        truth.duration_s
    )
    kinds = [p.kind for p in truth.phases]
    assert kinds[:5] == ["upright", "transition", "sitting", "transition", "on_roller"]
    assert kinds[-4:] == ["transition", "sitting", "transition", "upright"]
    assert truth.posture == "mixed"
    assert {s.posture for s in truth.strokes} == {"hips_down", "bridge"}


def test_fast_and_slow_scripts():
    g = Guidance()
    for seed in range(4):
        slow = simulate_session(random_script(seed, duration_s=200), seed=seed).truth
        assert all(s.pace_cm_s <= 4.2 for s in slow.strokes)
        assert slow.too_fast_spans == []
        assert 1.5 <= slow.mean_pace_cm_s <= 4.2
        fast = simulate_session(random_script(seed, duration_s=200, fast=True), seed=seed).truth
        assert fast.too_fast_spans
        for a, b in fast.too_fast_spans:
            inside = [s for s in fast.strokes if a <= s.start_s and s.end_s <= b]
            assert len(inside) >= g.too_fast_min_strokes
            assert all(s.pace_cm_s > g.too_fast_pace_cm_s for s in inside)
            assert all(s.pace_cm_s <= 9.5 for s in inside)
        assert "too_fast" in fast.expected_warning_kinds()


def test_every_region_gets_holds_and_long_holds_on_request():
    truth = simulate_session(random_script(3, duration_s=900, long_holds=True), seed=3).truth
    assert {h.region for h in truth.holds} == set(REGIONS)
    assert any(h.duration_s > 60 for h in truth.holds)
    assert "hold_too_long" in truth.expected_warning_kinds()
    calm = simulate_session(random_script(3, duration_s=300, long_holds=False), seed=3).truth
    assert all(h.duration_s <= 60 for h in calm.holds)


def test_script_may_start_on_the_roller():
    for posture in ("hips_down", "bridge"):
        truth = simulate_session(
            random_script(5, posture=posture, with_getting_on_off=False, duration_s=120), seed=5
        ).truth
        assert [p.kind for p in truth.phases] == ["on_roller"]
        assert np.isfinite(truth.position_cm).all()
        assert truth.posture == posture
        if posture == "bridge":
            assert truth.pitch_deg.max() < 12


def test_determinism_and_seed_sensitivity():
    a = simulate_session(seed=12)
    b = simulate_session(seed=12)
    c = simulate_session(seed=13)
    assert np.array_equal(a.counts, b.counts)
    assert json.dumps(a.truth.to_json()) == json.dumps(b.truth.to_json())
    assert not np.array_equal(a.counts[:100], c.counts[:100])
    assert random_script(4) == random_script(4)
    assert random_script(np.random.default_rng(4)) == random_script(4)


def test_truth_json_roundtrip_and_analysis_view(mixed):
    doc = json.loads(json.dumps(mixed.truth.to_json()))
    back = GroundTruth.from_json(doc)
    assert back.strokes == [
        type(s)(**{k: round(v, 6) if isinstance(v, float) else v for k, v in s.__dict__.items()})
        for s in mixed.truth.strokes
    ]
    assert len(back.holds) == len(mixed.truth.holds)
    assert back.script == mixed.truth.script
    np.testing.assert_allclose(back.sensor_to_body, mixed.truth.sensor_to_body, atol=1e-9)
    assert np.isnan(back.position_cm[0])  # standing at the start
    analysis = mixed.truth.to_analysis()
    assert isinstance(analysis, SessionAnalysis)
    assert analysis.mean_pace_cm_s == pytest.approx(mixed.truth.mean_pace_cm_s)
    assert analysis.to_json()["summary"]["pauses"] == len(mixed.truth.holds)


@pytest.mark.parametrize(
    ("segments", "message"),
    [
        (
            (Segment("stroke", 5.0, to_cm=30.0),),
            "needs the person hips_down or bridge, but they are upright",
        ),
        (
            (Segment("sit_down", 2.0), Segment("lie_back", 2.0, to_cm=5.0)),
            "contact at 5.0 cm is outside",
        ),
        ((Segment("stand", 0.0),), "duration_s must be > 0"),
        ((Segment("jump", 1.0),), "kind 'jump' is not known"),
        ((), "no segments"),
    ],
)
def test_bad_scripts_say_what_is_wrong(segments, message):
    with pytest.raises(UsageError, match=message):
        simulate_session(SessionScript(segments=segments), seed=0)


def test_bad_rate_and_loss():
    with pytest.raises(UsageError, match="sampling_rate_hz = 5 is outside"):
        simulate_session(seed=0, sampling_rate_hz=5)
    with pytest.raises(UsageError, match="packet_loss"):
        simulate_session(seed=0, packet_loss=0.95)
    with pytest.raises(UsageError, match="posture 'sideways'"):
        random_script(0, posture="sideways")

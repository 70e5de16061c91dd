"""The hard cases of issue 3, each from a scripted session with the simulator's exact truth:

* the turn between two slow strokes high on the back, where a breath tilts the chest by as much
  "position" as the stroke covers in seconds, is not a hold ("the turn at the end of a stroke is
  not a hold; slow rolling is not stillness");
* lifting or lowering the hips is neither a stroke nor a hold, also when a hold comes just
  before it;
* a bridge's track stays on the back;
* the pitch on the roller does not carry the orientation filter's lag after lying down;
* a stroke is never placed inside a link gap.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tracker.analysis import analyze, analyze_with_details
from tracker.analysis.evaluation import _match, score_session
from tracker.analysis.io import load_recording
from tracker.guidance import Guidance
from tracker.simulate import random_script, simulate_session
from tracker.simulate.script import Segment, SessionScript, compile_script

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def _slow_turns_high_on_the_back(breath_tilt_deg: float) -> SessionScript:
    """Hips down, 12.5 cm roller: slow (1.5-1.6 cm/s) strokes that turn at 47-49 cm, where
    1 cm of contact is only 0.3° of pitch, with 0.2-0.6 s stops at the turns; two real holds."""
    segs = [Segment("pause", 2.0)]
    s = 30.0
    for to, pace, stop in ((48.0, 1.5, 0.4), (33.0, 1.6, 0.3), (49.0, 1.5, 0.6), (31.0, 1.5, 0.2)):
        segs.append(Segment("stroke", abs(to - s) / pace, to_cm=to))
        segs.append(Segment("pause", stop))
        s = to
    segs[-1] = Segment("pause", 12.0)  # a hold at 31 cm
    for to, pace, stop in ((47.0, 1.6, 0.5), (29.0, 1.5, 0.3), (47.5, 1.5, 0.4)):
        segs.append(Segment("stroke", abs(to - s) / pace, to_cm=to))
        segs.append(Segment("pause", stop))
        s = to
    segs[-1] = Segment("pause", 8.0)  # a hold high on the back
    segs.append(Segment("stroke", 15.0 / 1.6, to_cm=32.5))
    segs.append(Segment("pause", 5.0))
    return SessionScript(
        segments=tuple(segs),
        roller_diameter_cm=12.5,
        start="on_roller",
        start_cm=30.0,
        breathing_tilt_deg=breath_tilt_deg,
        breathing_depth_mm=4.0,
    )


@pytest.mark.parametrize("seed", [1, 2, 4])
def test_a_slow_turn_high_on_the_back_is_not_a_hold(seed):
    """A breath tilting the chest wall by 0.35° (the simulator draws 0.2-0.5°) is over a cm of
    "position" there. (At 0.5° an extra hold or a split stroke still happens in some seeds.)"""
    sim = simulate_session(_slow_turns_high_on_the_back(0.35), seed=seed, sampling_rate_hz=50)
    result = analyze(sim.recording, Guidance(roller_diameter_cm=12.5))
    m = score_session(result, sim.truth)
    assert m["true_holds"] == 3  # two over tender spots and the stillness at the end
    assert m["found_holds"] == m["matched_holds"] == 3, [(h.start_s, h.end_s) for h in result.holds]
    assert m["found_strokes"] == m["true_strokes"], (m["found_strokes"], m["true_strokes"])
    assert m["hold_duration_err_s"] <= 0.5


def _mixed(hold_before_lowering_s: float) -> SessionScript:
    """Hips down, lift the hips, bridge strokes, a hold, lower the hips, hips-down strokes."""
    segs = [
        Segment("pause", 2.0),
        Segment("stroke", 6.0, to_cm=20.0),
        Segment("pause", 0.4),
        Segment("stroke", 7.0, to_cm=38.0),
        Segment("pause", 0.5),
        Segment("lift_hips", 1.5, pitch_deg=6.0),
        Segment("pause", 0.5),
        Segment("stroke", 7.0, to_cm=22.0, pitch_deg=6.5),
        Segment("pause", 0.4),
        Segment("stroke", 6.0, to_cm=36.0, pitch_deg=6.0),
        Segment("pause", hold_before_lowering_s),
        Segment("lower_hips", 1.5),
        Segment("pause", 0.4),
        Segment("stroke", 8.0, to_cm=18.0),
        Segment("pause", 0.5),
        Segment("stroke", 8.0, to_cm=40.0),
        Segment("pause", 0.4),
        Segment("stroke", 7.0, to_cm=24.0),
        Segment("pause", 6.0),
    ]
    return SessionScript(segments=tuple(segs), start="on_roller", start_cm=30.0)


@pytest.mark.parametrize("seed", [4, 5])
def test_lifting_and_lowering_the_hips_are_neither_strokes_nor_holds(seed):
    sim = simulate_session(_mixed(hold_before_lowering_s=12.0), seed=seed, sampling_rate_hz=100)
    result = analyze(sim.recording, Guidance())
    truth = sim.truth
    lifts = [
        (e["start_s"], e["end_s"])
        for e in compile_script(sim.truth.script).events
        if e["kind"] in ("lift_hips", "lower_hips")
    ]
    assert len(lifts) == 2
    for s in result.strokes:
        for a, b in lifts:
            overlap = min(b, s.end_s) - max(a, s.start_s)
            assert overlap < 0.5 * (b - a), (s, a, b)
    # every stroke found, in its posture: the hips-down strokes after the hold that comes just
    # before the lowering too
    pairs = _match(
        [(s.start_s, s.end_s) for s in truth.strokes],
        [(s.start_s, s.end_s) for s in result.strokes],
        0.5,
    )
    assert len(pairs) == len(truth.strokes) == len(result.strokes)
    for i, j in pairs:
        assert result.strokes[j].posture == truth.strokes[i].posture
    m = score_session(result, truth)
    assert m["found_holds"] == m["matched_holds"] == m["true_holds"]


@pytest.mark.parametrize("seed", [5010, 5013, 5025, 5034])
def test_a_bridge_track_stays_on_the_back(seed):
    """Starting in a bridge there is no hips-down contact to pin the track, and a bridge track
    is a sum of movements whose distance errors add up: it must still stay on the back."""
    script = random_script(
        seed, posture="bridge", with_getting_on_off=False, duration_s=300.0, roller_diameter_cm=15.0
    )
    sim = simulate_session(script, seed=seed, sampling_rate_hz=100)
    g = Guidance(roller_diameter_cm=15.0)
    result = analyze(sim.recording, g)
    positions = np.array([p for _t, p in result.position_track])
    assert positions.min() >= -0.5 and positions.max() <= g.hip_to_neck_cm + 0.5
    assert score_session(result, sim.truth)["region_time_err"] < 0.8


@pytest.mark.parametrize("seed", [5019, 5021])
def test_pitch_on_the_roller_has_no_filter_lag_after_lying_down(seed):
    """With the true mounting given, the pitch on the roller in the first two minutes after
    lying down follows the truth within a few tenths of a degree (the orientation filter's
    own inclination is off by about a degree there while its gyro bias converges)."""
    posture = "bridge" if seed == 5019 else "hips_down"
    script = random_script(seed, posture=posture, with_getting_on_off=True, roller_diameter_cm=12.5)
    sim = simulate_session(script, seed=seed, sampling_rate_hz=100, attach_calibration=True)
    _result, det = analyze_with_details(sim.recording, Guidance(roller_diameter_cm=12.5))
    truth_pitch = np.interp(det.t_s, sim.truth.t_s, sim.truth.pitch_deg)
    on = det.labels == "on_roller"
    first = on & (det.t_s < det.t_s[np.argmax(on)] + 120.0)
    # breathing tilts the chest (not the torso) by a few tenths of a degree: compare 10 s means
    err = det.pitch_deg[first] - truth_pitch[first]
    n = int(10 * 25)
    means = [float(np.mean(err[k : k + n])) for k in range(0, len(err) - n, n)]
    assert max(abs(x) for x in means) < 0.45, means


def test_the_hold_across_a_link_gap_is_one_hold():
    """fixtures/dropped_link.capture loses 16.6 s of sensor time inside a hold: no stroke may be
    placed in the gap, and the hold is one, as long as the truth's."""
    truth = json.loads((FIXTURES / "dropped_link.truth.json").read_text())
    (true_hold,) = truth["holds"]
    result = analyze(load_recording(FIXTURES / "dropped_link.capture"), Guidance())
    near = [h for h in result.holds if abs(h.start_s - true_hold["start_s"]) <= 1.0]
    assert len(near) == 1
    assert abs(near[0].duration_s - (true_hold["end_s"] - true_hold["start_s"])) <= 0.5
    inside = [
        s
        for s in result.strokes
        if true_hold["start_s"] + 0.5 < s.start_s < true_hold["end_s"] - 0.5
        or true_hold["start_s"] + 0.5 < s.end_s < true_hold["end_s"] - 0.5
    ]
    assert not inside


@pytest.mark.parametrize("seed", [5003, 5021, 9023])
def test_strokes_never_overlap_in_time_and_pace_is_distance_over_time(seed):
    """Nobody rolls both ways at once: each stroke starts at or after the previous one ended
    (the fit on a low-passed track widens movements, so quick turns used to overlap), and the
    pace reported is the stroke's own distance over its own duration."""
    g = Guidance()
    sim = simulate_session(random_script(seed, guidance=g, posture="hips_down"), seed=seed, guidance=g)
    result = analyze(sim.recording, g)
    assert len(result.strokes) >= 5
    for a, b in zip(result.strokes, result.strokes[1:], strict=False):
        assert b.start_s >= a.end_s - 1e-9, (a, b)
    for s in result.strokes:
        assert s.pace_cm_s == pytest.approx(s.distance_cm / (s.end_s - s.start_s), rel=1e-6)

"""Live bridge sessions against offline and the simulator's truth.

Live segments a bridge bout with the offline `BridgeSegmenter` on a trailing window and commits
moves `bridge_commit_lag_s` (plus half the move's duration) after they end
(tracker/live/bridge.py): strokes and holds agree with offline. Too-fast strokes are seen at
once by a matched filter (tracker/live/fast_moves.py): too_fast fires within 1 s of the truth's
condition, and the committed strokes confirm it.
"""

from __future__ import annotations

import pytest
from _live_helpers import assert_holds_agree, run_live, second_fast_stroke_ends, simulate

from tracker.analysis import analyze
from tracker.guidance import Guidance
from tracker.live.bridge import LiveBridge
from tracker.live.streaming import LiveSession
from tracker.simulate import random_script, simulate_session

pytestmark = pytest.mark.slow  # every module fixture replays sessions live

SEEDS = (31, 33)


@pytest.fixture(scope="module")
def sessions():
    out = {}
    for seed in SEEDS:
        g = Guidance()
        script = random_script(seed, posture="bridge", fast=True, guidance=g, duration_s=200.0)
        sim = simulate_session(script, seed=seed, guidance=g, attach_calibration=True)
        off = analyze(sim.recording, g)
        live, events = run_live(sim.recording, g, sim.recording.calibration)
        out[seed] = (sim, off, live, events)
    return out


def test_bridge_stroke_counts_agree(sessions):
    for seed, (sim, off, live, _ev) in sessions.items():
        minutes = sim.recording.duration_s / 60.0
        assert abs(len(live.strokes) - len(off.strokes)) <= minutes, (seed, len(live.strokes), len(off.strokes))
        assert abs(len(live.strokes) - len(sim.truth.strokes)) <= minutes, seed
        # lifting the hips reads as a fast hips-down "stroke" until the posture change is seen:
        # it is withdrawn then (offline, no stroke spans a change of posture)
        assert all(s.distance_cm <= sim.truth.guidance.hip_to_neck_cm for s in live.strokes)


def test_bridge_hold_durations_agree(sessions):
    n = sum(assert_holds_agree(seed, off, live, sim.truth.holds) for seed, (sim, off, live, _ev) in sessions.items())
    assert n >= 4


@pytest.fixture(scope="module")
def live_only():
    """Slow bridge sessions (fast=False: every stroke under the too-fast pace), live only."""
    out = {}
    for seed, fast in ((41, False), (43, False)):
        sim = simulate(seed, posture="bridge", fast=fast, duration_s=120.0)
        out[seed] = (sim, *run_live(sim.recording, sim.truth.guidance, sim.recording.calibration))
    return out


def _too_fast_times(events):
    return [e.t_s for e in events if e.kind == "warning" and e.warning.kind == "too_fast"]


def test_bridge_too_fast_fires_within_1s_of_the_second_fast_stroke_ending(sessions, live_only):
    """The issue's bar: the fast-move detector (tracker/live/fast_moves.py) sees a fast stroke
    end within a fraction of a second; the committed strokes (7-12 s later) confirm the warning
    rather than firing another."""
    g = Guidance()
    checked = 0
    runs = [(sim, live, events) for (sim, _off, live, events) in sessions.values()]
    runs += [(sim, live, events) for (sim, live, events) in live_only.values() if sim.truth.too_fast_spans]
    for sim, live, events in runs:
        fired = _too_fast_times(events)
        conds = second_fast_stroke_ends(sim.truth, g)
        for cond in conds:
            assert any(abs(t - cond) <= 1.0 for t in fired), (cond, fired)
            checked += 1
        # one warning per set, in the events and in the final list (confirmed, not doubled)
        assert len(fired) == len(conds), (conds, fired)
        assert len([w for w in live.warnings if w.kind == "too_fast"]) == len(sim.truth.too_fast_spans)
    assert checked >= 2


def test_slow_bridge_sessions_never_warn_too_fast(live_only):
    slow = [(sim, events) for (sim, _live, events) in live_only.values() if not sim.truth.too_fast_spans]
    assert len(slow) >= 2
    for sim, events in slow:
        assert max(s.pace_cm_s for s in sim.truth.strokes) <= sim.truth.guidance.too_fast_pace_cm_s
        assert not _too_fast_times(events)


def test_bridge_memory_is_bounded():
    """The bout's window is a fixed ring, however long the bridge lasts."""
    import numpy as np

    from tracker.analysis.contact import ContactPositionEstimator

    lb = LiveBridge(25.0, 30.0, 0.0, ContactPositionEstimator(), window_s=20.0, refit_s=5.0)
    rng = np.random.default_rng(1)
    for k in range(25 * 120):
        lb.step(k / 25.0, np.array([0.0, 0.0, 9.80665 * np.sin(0.1)]) + 0.01 * rng.standard_normal(3), np.zeros(3), 0.1)
    assert lb.ring.capacity == int(20.0 * 25.0) + 2
    assert len(lb.window()) == lb.ring.capacity
    assert lb.fits >= 20 and not lb.committed  # noise alone moves nothing


def test_live_runs_the_bridge_step_offline_builds():
    """The live session's contact estimator is `analyze`'s (pipeline.contact_estimator): the same
    back length and segmentation parameters (the range check on the back included), and its
    public bridge step leaves the estimator's own results alone."""
    import numpy as np

    from tracker.analysis.pipeline import AnalysisParameters, contact_estimator

    g = Guidance(hip_to_neck_cm=46.0, roller_diameter_cm=12.5)
    mine = LiveSession(g).contact
    ref = contact_estimator(g, AnalysisParameters())
    assert vars(mine) == vars(ref)
    assert ref.back_length_cm == 46.0 and ref.segmenter["max_range_cm"] == 46.0
    # one fast move (20 cm of contact in 3 s) between still stretches: found, signed, sized
    rate = 25.0
    t = np.arange(0.0, 20.0, 1.0 / rate)
    u = np.clip((t - 8.0) / 3.0, 0.0, 1.0)
    inside = (t > 8.0) & (t < 11.0)
    body_m = -0.40  # the body moves 40 cm toward the hips: the contact 20 cm toward the head
    acc_spine = np.where(inside, 2 * np.pi * body_m / 9.0 * np.sin(2 * np.pi * u), 0.0)
    pitch = np.full(len(t), 0.1)
    acc = np.column_stack([9.80665 * np.cos(pitch), np.zeros(len(t)), 9.80665 * np.sin(pitch) + acc_spine])
    acc += 0.005 * np.random.default_rng(3).standard_normal(acc.shape)
    gyr = 0.001 * np.random.default_rng(4).standard_normal((len(t), 3))
    moves, track = ref.bridge_moves(t, pitch, acc, gyr, rate)
    assert len(moves) == 1 and abs(moves[0].start_s - 8.0) < 0.3 and abs(moves[0].end_s - 11.0) < 0.3
    assert abs(moves[0].contact_cm - 20.0) < 2.0 and abs(track[-1] - moves[0].contact_cm) < 1e-6
    assert not hasattr(ref, "bridge_moves_")

"""Live (causal) against offline analysis and against the simulator's ground truth.

Ground truth comes from the simulator (physics), never from the code's own output. Sessions are
5-minute hips-down sessions with too-fast sets, long holds and lumbar visits, with the pairing
calibration attached (the uncalibrated learning lag is tested separately).
"""

from __future__ import annotations

import numpy as np
import pytest
from _live_helpers import (
    run_live,
    second_fast_stroke_ends,
    simulate,
    truth_cumulative_crossing,
    truth_lumbar_entries,
)

from tracker.analysis import analyze
from tracker.analysis.evaluation import _match
from tracker.guidance import Guidance

pytestmark = pytest.mark.slow  # every module fixture replays 5-minute sessions live

SEEDS = (4, 5, 7, 8)


@pytest.fixture(scope="module")
def sessions():
    out = {}
    for seed in SEEDS:
        sim = simulate(seed, long_holds=seed % 2 == 0)
        rec = sim.recording
        off = analyze(rec, sim.truth.guidance)
        live, events = run_live(rec, sim.truth.guidance, rec.calibration)
        out[seed] = (sim, off, live, events)
    return out


def _fired(events, kind):
    return [e.t_s for e in events if e.kind == "warning" and e.warning.kind == kind]


def test_stroke_counts_agree_within_one_per_minute(sessions):
    for seed, (sim, off, live, _ev) in sessions.items():
        minutes = sim.recording.duration_s / 60.0
        assert abs(len(live.strokes) - len(off.strokes)) <= minutes, (seed, len(live.strokes), len(off.strokes))
        # and both against the truth
        assert abs(len(live.strokes) - len(sim.truth.strokes)) <= minutes, seed


def test_same_warning_kinds_as_offline_and_truth(sessions):
    for seed, (sim, off, live, _ev) in sessions.items():
        kinds = {w.kind for w in live.warnings}
        assert kinds == {w.kind for w in off.warnings}, seed
        assert kinds == sim.truth.expected_warning_kinds(), seed


def _ends_the_stay(hold, events) -> bool:
    """The hold ended by getting off the roller (no stroke follows to mark its end)."""
    offs = [e.t_s for e in events if e.kind == "off_roller"]
    return any(-0.5 <= t - hold.end_s <= 5.0 for t in offs)


def test_hold_durations_agree(sessions):
    """The issue's bar, +-0.5 s, for every hold that a stroke ends. A hold ended by getting off
    the roller has no stroke to mark its end: live dates it to when the smoothed position left
    the hold's spot, offline to where its on-roller span ends; those agree within 1 s (known gap,
    reported)."""
    inner, last = [], []
    for seed, (_sim, off, live, events) in sessions.items():
        pairs = _match([(h.start_s, h.end_s) for h in off.holds], [(h.start_s, h.end_s) for h in live.holds], 0.5)
        assert len(pairs) == len(off.holds) == len(live.holds), seed
        for i, j in pairs:
            d = abs(live.holds[j].duration_s - off.holds[i].duration_s)
            (last if _ends_the_stay(live.holds[j], events) else inner).append((seed, i, d))
    assert len(inner) >= 10
    assert all(d <= 0.5 for *_k, d in inner), inner
    assert all(d <= 1.0 for *_k, d in last), last


def test_too_fast_fires_within_1s_of_the_second_fast_stroke_ending(sessions):
    g = Guidance()
    for seed, (sim, _off, _live, events) in sessions.items():
        fired = _fired(events, "too_fast")
        for cond in second_fast_stroke_ends(sim.truth, g):
            assert any(abs(t - cond) <= 1.0 for t in fired), (seed, cond, fired)


def test_lumbar_fires_within_1s_of_entering_the_lumbar_region(sessions):
    g = Guidance()
    for seed, (sim, _off, _live, events) in sessions.items():
        fired = _fired(events, "lumbar")
        entries = truth_lumbar_entries(sim.truth, g)
        assert entries, seed
        for cond in entries:
            assert any(0.0 <= t - cond <= 1.0 for t in fired), (seed, cond, fired)


def test_hold_too_long_fires_within_1s_of_60s_into_the_hold(sessions):
    delays = []
    for _seed, (sim, _off, _live, events) in sessions.items():
        fired = _fired(events, "hold_too_long")
        for h in sim.truth.holds:
            if h.duration_s > sim.truth.guidance.hold_too_long_s:
                cond = h.start_s + sim.truth.guidance.hold_too_long_s
                delays.append(min((t - cond for t in fired), key=abs))
    assert len(delays) >= 2
    assert np.all(np.abs(delays) <= 1.0), delays


def test_time_budget_warnings_fire_when_the_budget_is_crossed():
    g = Guidance(region_budget_s=60.0, session_too_long_s=150.0)
    sim = simulate(5, guidance=g)
    truth = sim.truth
    _live, events = run_live(sim.recording, g, sim.recording.calibration)
    on = np.isfinite(truth.position_cm)
    cond = truth_cumulative_crossing(truth, on, g.session_too_long_s)
    fired = _fired(events, "session_too_long")
    assert cond is not None and len(fired) == 1
    assert abs(fired[0] - cond) <= 1.5  # on-roller start is detected within ~1 s of the truth's
    region_fired = {e.warning.value for e in events if e.kind == "warning" and e.warning.kind == "region_overuse"}
    region_kinds = {k for k, v in truth.region_time_s.items() if v > g.region_budget_s}
    assert len(region_fired) >= 1 and region_kinds


def test_uncalibrated_session_learns_axes_then_agrees():
    sim = simulate(7)
    rec = sim.recording
    from dataclasses import replace

    rec = replace(rec, calibration=None)
    off = analyze(rec, sim.truth.guidance)
    live, events = run_live(rec, sim.truth.guidance, None)
    ready = [e.t_s for e in events if e.kind == "axes_ready"]
    assert len(ready) == 1 and ready[0] <= 60.0  # documented lag: 45 s of signal by default
    minutes = rec.duration_s / 60.0
    assert abs(len(live.strokes) - len(off.strokes)) <= minutes
    kinds = {w.kind for w in live.warnings}
    # offline (axes from the whole recording) may miss a set here that live catches: both must
    # hold every kind the other has only where the truth calls for it
    truth_kinds = sim.truth.expected_warning_kinds()
    assert kinds <= truth_kinds and {w.kind for w in off.warnings} <= truth_kinds
    assert kinds >= {w.kind for w in off.warnings}


def test_no_lumbar_warning_when_getting_up(sessions):
    """Regression: sitting up off the roller sweeps the pitch-derived contact through the lumbar
    range in about a second; live warned "lumbar" then (seeds 5 and 7 here, and the hips_down
    fixture), offline and the truth do not."""
    for seed, (sim, off, live, _ev) in sessions.items():
        on_end = max(p.end_s for p in sim.truth.phases if p.kind == "on_roller")
        late = [w for w in live.warnings if w.kind == "lumbar" and w.start_s > on_end - 1.0]
        assert not late, (seed, on_end, late)
        assert not [w for w in off.warnings if w.kind == "lumbar" and w.start_s > on_end - 1.0], seed

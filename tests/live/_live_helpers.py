"""Shared helpers for the live tests: simulate, run live and offline, truth condition times."""

from __future__ import annotations

import numpy as np

from tracker.guidance import Guidance
from tracker.live.feed import recording_blocks
from tracker.live.streaming import LiveSession
from tracker.simulate import random_script, simulate_session


def run_live(recording, guidance, calibration=None, block=10):
    live = LiveSession(guidance, recording.sampling_rate_hz, calibration)
    events = []
    for blk in recording_blocks(recording, block):
        events += live.push_block(blk)
    live.finish()
    return live, events


def simulate(seed, *, guidance=None, **script):
    script.setdefault("posture", "hips_down")
    script.setdefault("fast", True)
    g = guidance or Guidance()
    sim = simulate_session(random_script(seed, guidance=g, **script), seed=seed, guidance=g, attach_calibration=True)
    return sim


def truth_lumbar_entries(truth, guidance) -> list[float]:
    """Times the true contact enters the lumbar region (on the roller), merged like the rule."""
    lumbar_end = guidance.region_bounds_cm()[0][2]
    inside = np.isfinite(truth.position_cm) & (np.nan_to_num(truth.position_cm, nan=np.inf) < lumbar_end)
    edges = np.flatnonzero(np.diff(inside.astype(np.int8)) == 1) + 1
    exits = np.flatnonzero(np.diff(inside.astype(np.int8)) == -1) + 1
    out: list[float] = []
    last_exit = -np.inf
    for e in edges:
        t = float(truth.t_s[e])
        if t - last_exit > 10.0:
            out.append(t)
        later = exits[exits > e]
        last_exit = float(truth.t_s[later[0]]) if later.size else np.inf
    return out


def truth_cumulative_crossing(truth, mask, threshold_s) -> float | None:
    """Session time when the time spent where `mask` (per truth sample) first exceeds threshold."""
    dt = np.diff(truth.t_s, append=truth.t_s[-1])
    cum = np.cumsum(np.where(mask, dt, 0.0))
    k = np.searchsorted(cum, threshold_s, side="right")
    return float(truth.t_s[k]) if k < len(cum) else None


def second_fast_stroke_ends(truth, guidance) -> list[float]:
    """For each true too-fast set: the end of its `too_fast_min_strokes`-th stroke."""
    out = []
    for a, b in truth.too_fast_spans:
        inside = [s for s in truth.strokes if s.start_s >= a - 1e-6 and s.end_s <= b + 1e-6]
        if len(inside) >= guidance.too_fast_min_strokes:
            out.append(inside[guidance.too_fast_min_strokes - 1].end_s)
    return out


def assert_holds_agree(seed, off, live, truth_holds=None, tolerance_s=0.5) -> int:
    """Live holds pair one to one with offline's (and cover the truth's, when given), each
    duration within `tolerance_s`; returns how many pairs were checked."""
    from tracker.analysis.evaluation import _match

    pairs = _match([(h.start_s, h.end_s) for h in off.holds], [(h.start_s, h.end_s) for h in live.holds], 0.5)
    assert len(pairs) == len(off.holds) == len(live.holds), (seed, off.holds, live.holds)
    for i, j in pairs:
        assert abs(live.holds[j].duration_s - off.holds[i].duration_s) <= tolerance_s, (seed, off.holds[i], live.holds[j])
    if truth_holds is not None:
        truth = [(h.start_s, h.end_s) for h in truth_holds]
        assert len(_match(truth, [(h.start_s, h.end_s) for h in live.holds], 0.5)) == len(truth), seed
    return len(pairs)

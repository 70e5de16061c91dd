"""Scoring an analysis against ground truth (the simulator's, or a hand-labelled session).

Used by the accuracy benchmark and the tests, so both measure the same thing:

* holds match one-to-one when they overlap by at least half of the shorter one (greedy, best
  overlap first); recall = matched / true, precision = matched / found; the duration error is
  taken over matched pairs.
* strokes match one-to-one by overlap the same way; the pace error is relative, over matched
  pairs; the count error is (found - true) / true.
* mean pace is the stroke-time-weighted mean of both.
* too fast: every true too-fast set must overlap a `too_fast` warning; a session with no true set
  must have none.
* region time: the total absolute error of the time per region (`region_time_s`, on-roller time
  by the contact's region), as a share of the true on-roller time (0: every second in the right
  region; 2: none).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tracker.results import SessionAnalysis


def _match(
    a: list[tuple[float, float]], b: list[tuple[float, float]], min_fraction: float
) -> list[tuple[int, int]]:
    pairs = []
    for i, (a0, a1) in enumerate(a):
        for j, (b0, b1) in enumerate(b):
            ov = min(a1, b1) - max(a0, b0)
            shorter = max(1e-9, min(a1 - a0, b1 - b0))
            if ov > 0 and ov / shorter >= min_fraction:
                pairs.append((ov, i, j))
    pairs.sort(reverse=True)
    used_a, used_b, out = set(), set(), []
    for _ov, i, j in pairs:
        if i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
            out.append((i, j))
    return out


def score_session(
    result: SessionAnalysis, truth: Any, too_fast_pace_cm_s: float = 5.0
) -> dict[str, float]:
    """Metrics of `result` against `truth` (a `tracker.simulate.GroundTruth` or anything with
    `strokes`, `holds`, `too_fast_spans` and `mean_pace_cm_s`)."""
    th = [(h.start_s, h.end_s) for h in truth.holds]
    fh = [(h.start_s, h.end_s) for h in result.holds]
    hm = _match(th, fh, 0.5)
    dur_err = [abs(result.holds[j].duration_s - truth.holds[i].duration_s) for i, j in hm]
    pos_err = [abs(result.holds[j].position_cm - truth.holds[i].position_cm) for i, j in hm]
    ts = [(s.start_s, s.end_s) for s in truth.strokes]
    fs = [(s.start_s, s.end_s) for s in result.strokes]
    sm = _match(ts, fs, 0.5)
    pace_err = [
        abs(result.strokes[j].pace_cm_s - truth.strokes[i].pace_cm_s) / truth.strokes[i].pace_cm_s
        for i, j in sm
    ]
    true_mean = truth.mean_pace_cm_s
    warned = [(w.start_s, w.end_s) for w in result.warnings if w.kind == "too_fast"]
    sets_warned = sum(
        1 for a, b in truth.too_fast_spans if any(min(b, y) - max(a, x) > 0 for x, y in warned)
    )
    true_regions = getattr(truth, "region_time_s", None) or {}
    on_roller = float(getattr(truth, "on_roller_s", 0.0) or 0.0)
    region_err = (
        sum(
            abs(float(result.region_time_s.get(k, 0.0)) - float(v)) for k, v in true_regions.items()
        )
        / on_roller
        if true_regions and on_roller > 0
        else 0.0
    )
    return {
        "region_time_err": region_err,
        "true_holds": len(th),
        "found_holds": len(fh),
        "matched_holds": len(hm),
        "hold_recall": len(hm) / len(th) if th else 1.0,
        "hold_precision": len(hm) / len(fh) if fh else 1.0,
        "hold_duration_err_s": float(np.median(dur_err)) if dur_err else 0.0,
        "hold_duration_errors_s": dur_err,
        "hold_position_err_cm": float(np.median(pos_err)) if pos_err else 0.0,
        "true_strokes": len(ts),
        "found_strokes": len(fs),
        "matched_strokes": len(sm),
        "stroke_count_err": (len(fs) - len(ts)) / len(ts) if ts else 0.0,
        "pace_err": float(np.median(pace_err)) if pace_err else 0.0,
        "pace_errors": pace_err,
        "true_mean_pace_cm_s": true_mean,
        "mean_pace_cm_s": result.mean_pace_cm_s,
        "mean_pace_err": (result.mean_pace_cm_s - true_mean) / true_mean if true_mean else 0.0,
        "too_fast_sets": len(truth.too_fast_spans),
        "too_fast_sets_warned": sets_warned,
        "too_fast_false_alarm": bool(not truth.too_fast_spans and warned),
    }

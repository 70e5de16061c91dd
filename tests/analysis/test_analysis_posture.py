"""Hips down vs bridge on the roller, against the simulator's exact posture (its piece mode).

The pitch alone cannot tell them apart on a small roller (a bridge pitched 9-10° vs hips down
with the roller at the neck, 11.4° on a 10 cm roller); the motion can: hips down a stroke turns
the torso, in a bridge it translates it along the spine.
"""

from __future__ import annotations

import numpy as np
import pytest

from tracker.analysis import analyze_with_details
from tracker.analysis.evaluation import score_session
from tracker.guidance import Guidance
from tracker.simulate import random_script, simulate_session

# (seed, posture, with getting on/off, rate Hz, roller cm, fast)
CASES = [
    (1021, "mixed", False, 100, 10.0, False),
    (1022, "mixed", True, 200, 12.5, False),
    (1023, "bridge", True, 50, 10.0, False),
    # a bridge pitched ~10° on a 10 cm roller, which the pitch-only rule called hips down for
    # 40 s (a tuning seed, kept as the regression case for that failure)
    (7013, "bridge", False, 100, 10.0, False),
]


def _run(seed, posture, goo, rate, diam, fast, duration_s=None):
    sim = simulate_session(
        random_script(
            seed,
            posture=posture,
            with_getting_on_off=goo,
            duration_s=duration_s or (300.0 if seed >= 7000 else 200.0),
            roller_diameter_cm=diam,
            fast=fast,
        ),
        seed=seed,
        sampling_rate_hz=rate,
    )
    result, details = analyze_with_details(sim.recording, Guidance(roller_diameter_cm=diam))
    return sim, result, details


@pytest.fixture(scope="module", params=CASES, ids=lambda c: f"{c[1]}-{c[0]}")
def case(request):
    return _run(*request.param)


def test_posture_matches_truth_on_the_roller(case):
    sim, _result, details = case
    mode = sim.trace(details.t_s)["mode"]  # 1 hips down, 2 bridge (3: hips rising/sinking)
    on = (mode == 1) | (mode == 2)
    est = np.where(details.posture == "bridge", 2, np.where(details.posture == "hips_down", 1, 0))
    assert on.sum() > 100
    assert np.mean(est[on] == mode[on]) >= 0.97


def test_no_stroke_spans_a_change_of_posture(case):
    _sim, result, details = case
    for s in result.strokes:
        inside = (details.t_s > s.start_s + 0.5) & (details.t_s < s.end_s - 0.5)
        kinds = set(details.posture[inside]) - {""}
        assert len(kinds) <= 1, (s, kinds)


def test_slow_sessions_get_no_too_fast_warning(case):
    sim, result, _details = case
    m = score_session(result, sim.truth)
    assert m["too_fast_sets"] == 0
    assert not m["too_fast_false_alarm"]
    # the transitions between postures are not strokes: no absurd paces
    assert all(s.pace_cm_s < 15.0 for s in result.strokes)

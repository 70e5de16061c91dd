"""Getting onto and off the roller, on model 2 (tracker.multibody), whose people sit leaning back
by 65-85°: inside the angles the roller's hips-down pitch can take (the on-roller band ends at
71°). Sitting up there ended the stay only when the person stood up: sitting up read as a fast
stroke down the back (30-40 cm at 15-20 cm/s, into every mean pace) and sitting as a hold; and
the last degrees of lying back (decelerating below any fixed rate) as another stroke."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from tracker.analysis import analyze
from tracker.analysis.evaluation import score_session
from tracker.multibody import Person, random_plan, simulate_session


@pytest.fixture(scope="module", params=[66.0, 69.0, 78.0])
def session(request):
    rng = np.random.default_rng(3201)
    person = replace(Person.draw(rng), sit_pitch_deg=request.param)
    plan = random_plan(3201, posture="hips_down", getting_on_off=True, duration_s=150.0, person=person)
    sim = simulate_session(plan, seed=3201, rate_hz=50.0)
    return sim, analyze(sim.recording, sim.truth.guidance)


def test_the_stay_on_the_roller_is_where_the_person_lay(session):
    sim, result = session
    (true_on,) = [p for p in sim.truth.phases if p.kind == "on_roller"]
    (found_on,) = [p for p in result.phases if p.kind == "on_roller"]
    assert found_on.start_s == pytest.approx(true_on.start_s, abs=1.0)
    assert found_on.end_s == pytest.approx(true_on.end_s, abs=1.0)
    assert [p.kind for p in result.phases][-3:] != ["on_roller", "on_roller", "sitting"]


def test_lying_back_and_sitting_up_are_no_strokes_and_sitting_no_hold(session):
    sim, result = session
    m = score_session(result, sim.truth)
    assert m["found_holds"] == m["matched_holds"] == m["true_holds"], (result.holds, sim.truth.holds)
    assert max(s.pace_cm_s for s in result.strokes) <= 1.5 * max(s.pace_cm_s for s in sim.truth.strokes)
    assert abs(m["stroke_count_err"]) <= 0.1

"""The live view says how sure its numbers are ("2.6 ± 0.3 cm/s", "~28 ± 4 cm from the hips"),
holds back what a stay on the roller finds until it rolls, and says "not foam rolling" when that
is what it sees (the six activities: tests/analysis/test_activity.py)."""

from __future__ import annotations

import io
import re

import pytest
from _live_helpers import simulate
from rich.console import Console

from tracker.live import LiveSession, LiveState, LiveView
from tracker.live.feed import recording_blocks

pytestmark = pytest.mark.slow  # every module fixture replays sessions live


@pytest.fixture(scope="module")
def frames():
    sim = simulate(5, duration_s=150.0)  # a stay, then two minutes of strokes and holds
    rec = sim.recording
    live = LiveSession(sim.truth.guidance, rec.sampling_rate_hz, rec.calibration)
    console = Console(file=io.StringIO(), record=True, width=120, force_terminal=True, color_system=None)
    view = LiveView(console, screen=False)
    # a frame drawn for every third block (about 1.3 frames a second of session) and for every
    # block where what the tests look at changes (phase, held back, moving): drawing the view
    # costs more than the live analysis itself, and the tests need those frames, not all
    out = []
    last = None
    for i, blk in enumerate(recording_blocks(rec, 25)):
        live.push_block(blk)
        state = live.state
        key = (state.phase, state.checking, state.moving)
        if i % 3 == 0 or key != last:
            console.print(view.render(state))
            out.append((state, console.export_text(clear=True)))
        last = key
    live.finish()
    return sim, live, out


def test_the_pace_in_motion_and_the_position_carry_their_plus_minus(frames):
    _sim, _live, out = frames
    moving = [(s, text) for s, text in out if s.moving]
    assert len(moving) > 20
    for s, text in moving:
        assert s.pace_pm_cm_s is not None and 0 < s.pace_pm_cm_s < s.pace_cm_s
        assert re.search(rf"{s.pace_cm_s:4.1f} ± {s.pace_pm_cm_s:.1f} cm/s", text), text
    placed = [(s, text) for s, text in out if s.position_cm is not None]
    assert placed and all(s.position_pm_cm is not None and s.position_pm_cm > 0 for s, _ in placed)
    s, text = placed[-1]
    assert f"~{s.position_cm:.0f} ± {s.position_pm_cm:.0f} cm from the hips" in text
    # the last stroke is shown with its own ±
    assert any(re.search(r"last \d+ cm at \d+\.\d ± \d+\.\d cm/s", text) for _s, text in out)


def test_a_stay_shows_nothing_until_it_rolls_then_everything(frames):
    sim, live, out = frames
    on = [i for i, (s, _t) in enumerate(out) if s.phase == "on_roller"]
    first = on[0]
    checking = [s for s, _t in out[first:] if s.checking]
    assert checking, "the stay starts held back"
    assert all(s.stroke_count == 0 and not s.hold.active and s.pace_cm_s is None for s in checking)
    assert "waiting for the first strokes" in out[first][1]
    rolled = next(i for i, (s, _t) in enumerate(out) if s.phase == "on_roller" and not s.checking)
    assert out[rolled][0].stroke_count >= 2 and out[rolled][0].activity == "foam_rolling"
    # nothing was lost by holding it back: the first strokes are the truth's first
    assert live.strokes[0].start_s < sim.truth.strokes[1].start_s


def test_not_rolling_is_said_in_words_in_place_of_the_pace():
    console = Console(file=io.StringIO(), record=True, width=120, force_terminal=True, color_system=None)
    state = LiveState(session_s=30.0, phase="off_roller", activity="not_rolling", activity_reason="walking (steps at 1.8 Hz)")
    console.print(LiveView(console, screen=False).render(state))
    assert "not foam rolling: walking (steps at 1.8 Hz)" in console.export_text()


def test_the_live_plus_minus_is_the_offline_model():
    """Live asks the same model: hips down, a contact higher on the back is less sure."""
    from tracker.analysis import uncertainty

    live = LiveSession(None, 100.0, None)
    setup, signal = live._setup()
    assert setup.calibration == "inferred"
    low, high = (uncertainty.DEFAULT_MODEL.hips_down_position_pm(s, setup, signal) for s in (15.0, 40.0))
    assert low < high

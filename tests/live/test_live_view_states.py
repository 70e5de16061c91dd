"""The live view tells the truth: before the first sample it waits (and after pairing never says
it is learning how the sensor sits), a normal end is "stopped", a lost sensor "lost", a replay
shows the battery the capture recorded, and counts read as English."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from _live_helpers import simulate
from rich.console import Console

from tracker.cli.main import run
from tracker.guidance import Guidance
from tracker.live import LiveSession, LiveState, LiveView
from tracker.live.feed import LiveFeed, recording_blocks

pytestmark = pytest.mark.slow  # each test drives the live view over a replayed session

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
LEARNING = "learning how the sensor sits"


def _console() -> Console:
    return Console(file=io.StringIO(), record=True, width=110, force_terminal=True, color_system=None)


def _frames(calibration, recording, connection: str = "connecting") -> tuple[list[str], list[str]]:
    """The frames a live view draws in a real-time session, a second apart (the first before
    any sample; a warning draws at once), and the state's (phase, axes source) after every block.
    The view's words are a function of that state ("learning" is phase "unknown"), so a
    learning that flickered for one block shows in the second list even between frames; drawing
    (rich) costs more than the analysis."""
    console = _console()
    session = LiveSession(Guidance(), recording.sampling_rate_hz, calibration)
    view = LiveView(console, screen=False, refresh_per_second=1.0, clock=lambda: session.session_s)
    session.set_link(connection=connection)
    feed = LiveFeed(session, view)
    frames = [_text(view.render(view._state))]
    sources = []
    feed.link("connected", battery_pct=90)
    for blk in recording_blocks(recording, 50):
        feed(blk)
        state = session.state
        sources.append((state.phase, state.axes_source))
        frame = console.export_text(clear=True)
        if frame:
            frames.append(frame)
    return frames, sources


def _text(renderable) -> str:
    console = _console()
    console.print(renderable)
    return console.export_text()


@pytest.fixture(scope="module")
def sim():
    return simulate(2, duration_s=150.0)  # on the roller from 23 s: time to learn the axes and roll


def test_after_pairing_the_view_never_says_it_is_learning(sim):
    assert sim.recording.calibration is not None and sim.recording.calibration.source
    frames, sources = _frames(sim.recording.calibration, sim.recording)
    assert "waiting for the sensor…" in frames[0] and "connecting…" in frames[0]
    assert not [s for s in sources if s[0] == "unknown"]
    assert len(frames) > sim.recording.t_s[-1] - 1  # a frame a second of session
    assert not [f for f in frames if LEARNING in f]
    assert any("on target" in f or "a bit fast" in f or "TOO FAST" in f for f in frames)


def test_without_a_calibration_it_learns_and_says_pairing_skips_that(sim):
    frames, sources = _frames(None, sim.recording)
    learning = [f for f in frames if LEARNING in f]
    assert learning and all("`tracker pair` skips this" in f for f in learning)
    assert LEARNING not in frames[-1], "the axes are learned on the roller"
    assert sources[0] == ("unknown", "learning") and sources[-1][0] != "unknown"


def test_the_first_frame_of_record_live_after_pair_is_the_calibrated_session(capsys):
    """The real wiring: `pair --emulated` stores a calibration, `record --live` builds its view
    from it; the first frame is drawn before any sample."""
    from tracker.cli.session_output import live_feed as _live_feed
    from tracker.link.registry import SensorRegistry

    assert run(["pair", "--emulated", "--yes", "--speed", "10"]) == 0
    calibration = SensorRegistry().default_for(emulated=True).calibration
    assert calibration is not None
    feed = _live_feed(100, calibration, True)
    first = _text(feed.view.render(feed.view._state))
    assert LEARNING not in first and "waiting for the sensor…" in first
    assert re.search(r"Sensor\s+connecting…", first)


@pytest.mark.parametrize(
    ("done", "words"), [(0, "no holds yet"), (1, "1 hold so far"), (3, "3 holds so far")]
)
def test_hold_count_reads_as_english(done, words):
    text = _text(LiveView(_console(), screen=False).render(LiveState(holds_done=done, session_s=5.0)))
    assert f"({words}; target 20–30 s)" in text


def test_record_live_to_its_duration_ends_stopped_not_disconnected(capsys):
    assert run(["record", "--emulated", "--live", "--quiet", "--duration", "0.5", "--speed", "12"]) == 0
    out = capsys.readouterr().out
    final = out[out.rindex("tracker live") :]
    assert re.search(r"Sensor\s+stopped\s+battery \d+% at the end", final), final
    assert "disconnected" not in final and "lost" not in final
    assert "recording ended" in final and "Ctrl-C stops" not in final


def test_replay_live_shows_the_battery_the_capture_recorded(capsys):
    from tracker.capture import read_capture

    _t, levels = read_capture(FIXTURES / "hips_down.capture").battery_levels()
    assert len(levels)
    assert run(["replay", str(FIXTURES / "hips_down.capture"), "--live", "--quiet", "--speed", "100"]) == 0
    out = capsys.readouterr().out
    assert f"replay   battery {int(levels[-1])}% (as recorded)" in out
    assert "battery: unknown" not in out

"""The terminal view, driven by a replay of a simulated session into a captured console."""

from __future__ import annotations

import io

import pytest
from _live_helpers import simulate
from rich.console import Console

from tracker.errors import UsageError
from tracker.guidance import Guidance
from tracker.live import LiveSession, LiveState, LiveView
from tracker.live.feed import LiveFeed, recording_blocks
from tracker.live.view import format_clock

pytestmark = pytest.mark.slow  # each test drives the live view over a replayed session


def _console():
    return Console(file=io.StringIO(), record=True, width=110, force_terminal=True, color_system=None)


@pytest.fixture(scope="module")
def replayed():
    sim = simulate(4, long_holds=True)
    rec = sim.recording
    console = _console()
    view = LiveView(console, screen=False, refresh_per_second=1e9)  # draw every block's state
    feed = LiveFeed(LiveSession(sim.truth.guidance, rec.sampling_rate_hz, rec.calibration), view)
    feed.link("connected", battery_pct=87)
    frames = []
    # a frame a second of session: every element stays up for seconds, and drawing the view
    # (rich) costs more than the analysis
    for blk in recording_blocks(rec, 100):
        feed(blk)
        frames.append(console.export_text(clear=True))
    feed.link("disconnected")
    frames.append(console.export_text(clear=True))
    return sim, feed, view, console, frames


def test_every_element_is_shown(replayed):
    _sim, feed, view, _console_, frames = replayed
    text = "\n".join(frames)
    assert "TOO FAST" in text and "▼" in text  # pace gauge with its marker and band
    assert "target 2.5 cm/s" in text and "too fast > 5 cm/s" in text
    assert "Strokes" in text and any(f"Strokes  {feed.session.stroke_count} " in f for f in frames)
    assert "lumbar (lower back)" in text and "mid thoracic" in text  # current region
    assert "●" in text and "hips " in text and " neck" in text  # the back bar with the roller
    assert "(target 20–30 s)  in the 20–30 s target" in text  # hold timer in the target band
    assert "OVER 60 s: move on now" in text  # and past the limit
    assert "Session  0" in text and "on the roller" in text
    assert "connected   battery 87%" in text
    assert "hold too long:" in text and "too fast:" in text and "lumbar:" in text  # warning lines
    assert "-1%" not in text


def test_bell_rings_for_each_warning(replayed):
    _sim, feed, view, console, _frames = replayed
    out = console.file.getvalue()
    n_warnings = feed.session.warnings and len([e for e in feed.events])
    assert view.bells == n_warnings > 0
    assert out.count("\a") == view.bells


def test_stale_battery_after_disconnect(replayed):
    *_rest, frames = replayed
    assert "disconnected   battery 87% (last known)" in frames[-1]


def test_battery_never_minus_one_and_unknown_when_never_read():
    session = LiveSession(Guidance(), 100.0)
    session.set_link("connected", battery_pct=-1)
    console = _console()
    view = LiveView(console, screen=False)
    view.update(session.state, force=True)
    text = console.export_text()
    assert "battery: unknown" in text and "-1" not in text
    session.set_link(battery_pct=55)
    session.set_link(battery_pct=255)  # out of range: keep the last known
    assert session.state.battery_pct == 55


def test_quiet_silences_the_cue():
    console = _console()
    view = LiveView(console, screen=False, quiet=True)
    view.cue()
    assert view.bells == 0 and "\a" not in console.file.getvalue()


class _CountingSession(LiveSession):
    """A live session that counts how often its state is built."""

    builds = 0

    @property
    def state(self):
        self.builds += 1
        return super().state


def test_the_state_is_built_for_the_frames_drawn_and_the_last_frame_is_the_end():
    """A feed's view takes the session's state only when it draws (a few frames a second, each
    warning), not for every block; leaving the view draws the session as it ended."""
    sim = simulate(8, duration_s=90.0)
    rec = sim.recording
    session = _CountingSession(sim.truth.guidance, rec.sampling_rate_hz, rec.calibration)
    console = _console()
    # a frame every 20 s of session (and one per warning): the last one drawn is seconds old
    view = LiveView(console, screen=False, refresh_per_second=1 / 20, clock=lambda: session.session_s)
    feed = LiveFeed(session, view)
    blocks = 0
    with view:
        for blk in recording_blocks(rec, 10):
            feed(blk)
            blocks += 1
    drawn = session.builds
    assert session.stroke_count > 0
    assert drawn <= rec.duration_s / 20 + len(feed.events) + 3 < blocks / 20
    final = console.export_text().rsplit("tracker live", 1)[-1]
    assert f"Strokes  {session.stroke_count} " in final, final
    assert f"Session  {format_clock(session.session_s)} " in final, final


def test_full_screen_context_renders():
    console = _console()
    with LiveView(console, screen=True) as view:
        view.update(LiveState(connection="replay"), force=True)
    assert "replay" in console.export_text()


def test_bad_inputs():
    with pytest.raises(UsageError, match="sampling_rate_hz"):
        LiveSession(Guidance(), 0.0)
    s = LiveSession(Guidance(), 100.0)
    with pytest.raises(ValueError, match="lengths differ"):
        s.push([0.0, 0.01], [[0, 0, 9.8]], [[0, 0, 0]])
    # NaNs and time going backwards are dropped, not fed to the filters
    s.push([0.0, 0.01], [[0, 0, 9.8], [0, 0, 9.8]], [[0, 0, 0], [0, 0, 0]])
    s.push([0.005, float("nan")], [[0, 0, 9.8], [0, 0, 9.8]], [[0, 0, 0], [0, 0, 0]])
    assert s.samples_pushed == 2


def test_memory_is_bounded():
    """However long the session, the kept state stays within its caps: the finished strokes
    and holds (the counts go on), the track ring, the axes buffer and the unfinished block."""
    from _live_helpers import simulate

    from tracker.live.feed import recording_blocks
    from tracker.live.streaming import LiveOptions

    sim = simulate(5, duration_s=200.0)
    rec = sim.recording
    s = LiveSession(sim.truth.guidance, rec.sampling_rate_hz, None,
                    options=LiveOptions(history_s=30.0, axes_max_wait_s=60.0, max_events=5))  # fmt: skip
    for blk in recording_blocks(rec, 37):
        s.push_block(blk)
    assert s.stroke_count > 5 and len(s.strokes) == 5
    assert s.log.hold_count >= 1 and len(s.holds) <= 5
    ring = s.hips_down.track
    assert ring.n > ring.capacity == int(30.0 * s.rate_hz) + 8
    assert s.axes.rotation is not None and s.axes.pending == 0
    assert s.raw.pending < s.raw.factor


def test_strokes_per_minute_is_the_rate_on_the_roller(replayed):
    """Regression: "Strokes 5 (0.0/min)" after 50 s on the emulated sensor. The rate is strokes
    per minute of time on the roller, from the first 10 s on it, against the simulator's truth."""
    import re

    import numpy as np

    sim, feed, _view, _console_, frames = replayed
    shown = [re.search(r"Strokes  (\d+)  \(([-0-9.]+)/min\)", f) for f in frames]
    shown = [(int(m.group(1)), m.group(2)) for m in shown if m]
    assert shown
    # never a zero rate next to a positive count, and a dash only before strokes can be rated
    assert not [c for c, r in shown if c > 0 and r in ("0.0", "0")], shown[:20]
    assert any(r == "-" for _c, r in shown) and any(r != "-" for _c, r in shown)
    truth = sim.truth
    dt = np.diff(truth.t_s, append=truth.t_s[-1])
    on_min = float(np.sum(np.where(np.isfinite(truth.position_cm), dt, 0.0))) / 60.0
    true_rate = len(truth.strokes) / on_min
    state = feed.session.state
    assert state.strokes_per_min is not None
    assert abs(state.strokes_per_min - true_rate) <= 1.0, (state.strokes_per_min, true_rate)
    last_count, last_rate = shown[-1]
    assert abs(float(last_rate) - true_rate) <= 1.0

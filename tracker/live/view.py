"""The live terminal view: pace gauge, stroke count, region and back bar, hold timer, session
time, link and battery, warnings with a sound cue. Renders a `LiveState`; knows nothing of
sensors or filters (no scipy here).

    view = LiveView(console=Console(), quiet=False)
    with view:                                  # full screen (rich Live, alternate screen)
        view.update(live.state, events)         # after each push; redraws at most 4x a second

Tests drive it with `Console(record=True, width=100, force_terminal=True)` and
`LiveView(console, screen=False)`; `render(state)` returns the renderable for one frame.

Sound: every warning writes the terminal bell (BEL, "\\a") to the console's file; when the
optional `simpleaudio` package is installed and a sound device answers, a short tone plays too.
`quiet=True` (the CLI's `--quiet`) silences both. Nothing here is a dependency.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from tracker.live.state import LiveEvent, LiveState

log = logging.getLogger(__name__)

BELL = "\a"
_REGION_LABEL = {
    "lumbar": "lumbar (lower back)",
    "lower_thoracic": "lower thoracic",
    "mid_thoracic": "mid thoracic",
    "upper_thoracic": "upper thoracic",
}
_REGION_SHORT = {"lumbar": "L", "lower_thoracic": "T-low", "mid_thoracic": "T-mid", "upper_thoracic": "T-up"}


def format_clock(seconds: float) -> str:
    s = max(0, int(seconds))
    return f"{s // 3600:d}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60:02d}:{s % 60:02d}"


def pace_gauge(state: LiveState, width: int = 40) -> Text:
    """A bar from 0 to 2x the too-fast pace: slow | target band | fast | too fast, with a marker."""
    top = 2.0 * state.too_fast_pace_cm_s
    target = state.target_pace_cm_s
    cells = []
    for k in range(width):
        v = (k + 0.5) * top / width
        if v > state.too_fast_pace_cm_s:
            style = "on red"
        elif v > 1.4 * target:
            style = "on yellow"
        elif v >= 0.6 * target:
            style = "on green"
        else:
            style = "on blue"
        cells.append(style)
    text = Text()
    mark = None
    if state.pace_cm_s is not None and state.moving:
        mark = min(width - 1, int(state.pace_cm_s / top * width))
    for k, style in enumerate(cells):
        text.append("▼" if k == mark else " ", style=f"bold white {style}")
    return text


def back_bar(state: LiveState, width: int = 40) -> Text:
    """The back from the hips (left) to the neck (right), regions shaded, the roller marked."""
    length = max(1.0, state.hip_to_neck_cm)
    text = Text()
    pos = state.position_cm
    mark = None if pos is None else max(0, min(width - 1, int(pos / length * width)))
    colours = {"lumbar": "on red", "lower_thoracic": "on grey30", "mid_thoracic": "on grey42", "upper_thoracic": "on grey54"}
    bounds = state.region_bounds_cm or [("upper_thoracic", 0.0, length)]
    for k in range(width):
        x = (k + 0.5) * length / width
        name = next((n for n, a, b in bounds if a <= x < b), bounds[-1][0])
        text.append("●" if k == mark else "·", style=f"bold white {colours.get(name, '')}")
    return text


_CONNECTION = {
    # connection state -> (words, style); "stopped" is a normal end (duration, Ctrl-C), "lost" a
    # sensor that did not come back (the recording is still saved, analysed and stored)
    "connecting": ("connecting…", "dim"),
    "connected": ("connected", "green"),
    "reconnecting": ("reconnecting…", "yellow"),
    "stopped": ("stopped", "bold"),
    "lost": ("lost: what was recorded is kept", "bold red"),
    "disconnected": ("disconnected", "red"),
    "replay": ("replay", "cyan"),
}


def _waiting_text(state: LiveState) -> str | None:
    """What the pace line says before the first sample arrived, else None."""
    if state.session_s > 0 or state.phase == "on_roller" or state.connection in ("stopped", "lost"):
        return None
    return "starting the replay…" if state.connection == "replay" else "waiting for the sensor…"


def sensor_line(state: LiveState) -> Text:
    """Connection and battery, in words that match what happened."""
    words, style = _CONNECTION.get(state.connection, (state.connection, "dim"))
    line = Text(words, style=style)
    pct = state.battery_pct
    if pct is None:
        line.append("   battery: unknown", style="dim")
    elif state.connection == "replay":
        line.append(f"   battery {pct}% (as recorded)")
    elif state.connection == "stopped":
        line.append(f"   battery {pct}% at the end")
    elif state.battery_stale:
        line.append(f"   battery {pct}% (last known)", style="yellow")
    else:
        line.append(f"   battery {pct}%")
    if state.lost_samples:
        line.append(f"   lost {state.lost_samples} samples", style="dim")
    return line


def pace_text(state: LiveState) -> Text:
    """The pace line: the pace in motion with its ± ("2.6 ± 0.3 cm/s  on target"), or what is
    going on instead (waiting, learning the axes, checking that this is rolling, not moving)."""
    waiting = _waiting_text(state)
    if waiting is not None:
        return Text(waiting, style="italic dim")
    if state.activity == "not_rolling" and state.activity_reason and not state.moving:
        return Text(f"not foam rolling: {state.activity_reason}", style="bold yellow")
    if state.phase == "unknown":
        # only without a calibration: with one (pairing, or the capture's) the axes are known
        learning = "learning how the sensor sits on you…"
        if state.axes_source == "learning":
            learning += " (`tracker pair` skips this)"
        return Text(learning, style="italic")
    if state.checking:
        return Text("on the roller: waiting for the first strokes…", style="italic")
    if state.pace_cm_s is None or not state.moving:
        return Text("— (not moving)")
    label = {"slow": "slow", "target": "on target", "fast": "a bit fast", "too_fast": "TOO FAST"}.get(state.pace_band, "")
    style = {"too_fast": "bold red", "fast": "yellow", "target": "green", "slow": "blue"}.get(state.pace_band, "")
    plus = f" ± {state.pace_pm_cm_s:.1f}" if state.pace_pm_cm_s is not None else ""
    return Text(f"{state.pace_cm_s:4.1f}{plus} cm/s  {label}", style=style)


class LiveView:
    """Full-screen live coaching view (rich `Live`); see the module docstring.

    console: where to draw (default: a new stdout Console). screen: use the alternate screen
    (full screen); tests pass False. quiet: no bell and no audio. clock: what `refresh_per_second`
    counts in (wall seconds; a replay that runs faster than real time may pass the session's own
    clock to draw the frames a real-time session would show).
    """

    def __init__(
        self,
        console: Console | None = None,
        *,
        screen: bool = True,
        quiet: bool = False,
        refresh_per_second: float = 4.0,
        title: str = "tracker live",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.console = console or Console()
        self.screen = screen
        self.quiet = quiet
        self.refresh_per_second = refresh_per_second
        self.title = title
        self.bells = 0
        self.recent: list[tuple[float, str, str]] = []  # (session s, kind, message) newest last
        self._live: Any = None
        self.clock = clock
        self._last_draw = -math.inf  # the first update always draws
        self._state = LiveState()
        self._source: Callable[[], LiveState] | None = None
        self._audio: Any = None
        self._audio_checked = False

    # --- lifecycle -------------------------------------------------------------------------------
    def __enter__(self) -> LiveView:
        from rich.live import Live

        self._fetch()
        self._live = Live(
            self.render(self._state),
            console=self.console,
            screen=self.screen,
            auto_refresh=False,
            transient=False,
        )
        self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._fetch()  # the last frame shows the session's end, not the last frame drawn
            self._live.update(self.render(self._state), refresh=True)
            self._live.__exit__(*exc)
            self._live = None
            if self.screen:
                # the alternate screen is gone with the view (or never showed: not a terminal):
                # leave the final frame where the person can read it
                self.console.print(self.render(self._state))

    # --- updates ---------------------------------------------------------------------------------
    def set_state(self, state: LiveState) -> None:
        """Take the state to show without drawing it (before the view is on screen: the first
        frame then shows the session as it is, e.g. calibrated from pairing, not a blank one)."""
        self._state = state

    def follow(self, source: Callable[[], LiveState]) -> None:
        """Take the state from `source` whenever a frame is drawn (`update(None, ...)`): a live
        session builds its state in about what it costs to analyse a block, and most blocks are
        never drawn (a few frames a second)."""
        self._source = source
        self._state = source()

    def _fetch(self) -> None:
        if self._source is not None:
            self._state = self._source()

    def update(self, state: LiveState | None, events: list[LiveEvent] | None = None, *, force: bool = False) -> None:
        """Take a new state (None: the followed source's, when a frame is drawn) and the events
        since the last call; sound new warnings at once, redraw at most `refresh_per_second` (and
        always when a warning arrives or `force`)."""
        if state is not None:
            self._state = state
        warned = False
        for ev in events or ():
            if ev.kind == "warning" and ev.warning is not None:
                self.recent.append((ev.t_s, ev.warning.kind, ev.warning.message))
                del self.recent[:-5]
                warned = True
        if warned:
            self.cue()
        now = self.clock()
        if force or warned or now - self._last_draw >= 1.0 / self.refresh_per_second:
            self._last_draw = now
            if state is None:
                self._fetch()
            self.draw()

    def draw(self) -> None:
        frame = self.render(self._state)
        if self._live is not None:
            self._live.update(frame, refresh=True)
        else:
            self.console.print(frame)

    def cue(self) -> None:
        """The sound cue of a warning: the terminal bell, and a tone when audio is available."""
        if self.quiet:
            return
        self.bells += 1
        try:
            self.console.file.write(BELL)
            self.console.file.flush()
        except (OSError, ValueError):  # a closed or odd terminal must not stop the session
            pass
        self._tone()

    def _tone(self) -> None:
        if not self._audio_checked:
            self._audio_checked = True
            try:
                import simpleaudio  # type: ignore[import-not-found]  # optional, never required

                self._audio = simpleaudio
            except Exception:  # noqa: BLE001  not installed, or no sound library on this system
                self._audio = None
        if self._audio is None:
            return
        try:
            import array

            rate, n = 22050, 22050 // 5
            wave = array.array("h", (int(12000 * math.sin(2 * math.pi * 880 * k / rate)) for k in range(n)))
            self._audio.play_buffer(wave.tobytes(), 1, 2, rate)
        except Exception:  # noqa: BLE001  no sound device: the bell was enough
            log.debug("no audio device; bell only", exc_info=True)
            self._audio = None

    # --- one frame -------------------------------------------------------------------------------
    def render(self, state: LiveState) -> Panel:
        grid = Table.grid(padding=(0, 2))
        grid.add_column(justify="right", style="bold")
        grid.add_column()

        # pace
        grid.add_row("Pace", pace_text(state))
        gauge = pace_gauge(state)
        grid.add_row("", gauge)
        grid.add_row(
            "",
            Text(
                f"slow  | target {state.target_pace_cm_s:g} cm/s |  fast  | too fast > {state.too_fast_pace_cm_s:g} cm/s",
                style="dim",
            ),
        )

        # strokes
        last = state.last_stroke
        last_txt = ""
        if last is not None:
            plus = f" ± {last.pace_pm_cm_s:.1f}" if last.pace_pm_cm_s is not None else ""
            last_txt = f"   last {last.distance_cm:.0f} cm at {last.pace_cm_s:.1f}{plus} cm/s"
        rate_txt = "-" if state.strokes_per_min is None else f"{state.strokes_per_min:.1f}"
        waiting = "   (counted once the rolling starts)" if state.checking else ""
        grid.add_row("Strokes", Text(f"{state.stroke_count}  ({rate_txt}/min){last_txt}{waiting}"))

        # region and the back
        if state.region is not None:
            where = f"{_REGION_LABEL.get(state.region, state.region)}"
            if state.position_cm is not None:
                plus = f" ± {state.position_pm_cm:.0f}" if state.position_pm_cm is not None else ""
                where += f"  ~{state.position_cm:.0f}{plus} cm from the hips"
            if state.posture:
                where += f"  ({state.posture.replace('_', ' ')})"
            grid.add_row("Region", Text(where, style="bold red" if state.region == "lumbar" else ""))
        else:
            grid.add_row("Region", Text({"off_roller": "off the roller", "unknown": "—"}.get(state.phase, "—")))
        grid.add_row("Back", Text("hips ").append(back_bar(state)).append(" neck"))
        regions = "  ".join(f"{_REGION_SHORT.get(k, k)} {format_clock(v)}" for k, v in state.region_time_s.items())
        if regions:
            grid.add_row("", Text(regions, style="dim"))

        # hold timer
        h = state.hold
        if h.active:
            status = {
                "short": ("holding", "cyan"),
                "target": ("in the 20–30 s target", "green"),
                "long": ("past the target: move on", "yellow"),
                "over_limit": (f"OVER {h.limit_s:.0f} s: move on now", "bold red"),
            }[h.status]
            bar_w = 30
            filled = min(bar_w, int(h.elapsed_s / max(h.limit_s, 1.0) * bar_w))
            bar = Text("█" * filled + "░" * (bar_w - filled), style=status[1])
            grid.add_row(
                "Hold",
                Text(f"{h.elapsed_s:4.0f} s  (target {h.target_min_s:.0f}–{h.target_max_s:.0f} s)  {status[0]}  ", style=status[1]).append(bar),
            )
        else:
            done = "no holds yet" if not state.holds_done else f"{state.holds_done} hold{'s' if state.holds_done != 1 else ''} so far"
            grid.add_row("Hold", Text(f"—  ({done}; target {h.target_min_s:.0f}–{h.target_max_s:.0f} s)", style="dim"))

        # time, link, battery
        grid.add_row("Session", Text(f"{format_clock(state.session_s)}   on the roller {format_clock(state.on_roller_s)}"))
        grid.add_row("Sensor", sensor_line(state))

        # warnings
        if self.recent:
            lines = Text()
            for k, (t, kind, msg) in enumerate(reversed(self.recent[-3:])):
                if k:
                    lines.append("\n")
                lines.append(f"⚠ {format_clock(t)} {kind.replace('_', ' ')}: ", style="bold red" if k == 0 else "red")
                lines.append(msg, style="" if k == 0 else "dim")
            grid.add_row("Warnings", lines)
        else:
            grid.add_row("Warnings", Text("none", style="dim"))
        ended = state.connection in ("stopped", "lost")
        footer = Text(("recording ended" if ended else "Ctrl-C stops") + ("   (quiet)" if self.quiet else ""), style="dim")
        return Panel(Group(grid, footer), title=self.title, border_style="red" if self.recent and h.over_limit else "blue")

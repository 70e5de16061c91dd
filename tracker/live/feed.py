"""Glue between the link layer and the live analysis and view (no radio imports here).

    feed = LiveFeed(LiveSession(guidance, rate_hz, calibration), LiveView(quiet=quiet))
    with feed.view:
        await replay_capture(path, realtime=True, on_block=feed)     # DecodedBlock per call
    # recorder: call feed(block) for each decoded block, feed.link(...) on link changes

`feed(block)` never raises (it runs inside BLE callbacks): an analysis or drawing bug is logged
once and counted, and the recording goes on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from tracker.live.state import LiveEvent

log = logging.getLogger(__name__)


class LiveFeed:
    """Callable per decoded block: push into the session, update the view, time the warnings."""

    def __init__(self, session: Any, view: Any = None, *, clock: Any = time.perf_counter) -> None:
        self.session = session
        self.view = view
        # the view takes the session's state when it draws (the first frame shows this session,
        # e.g. calibrated); a view without `follow` is handed a state with every block
        self._follows = view is not None and hasattr(view, "follow")
        if self._follows:
            view.follow(lambda: session.state)
        elif view is not None and hasattr(view, "set_state"):
            view.set_state(session.state)
        self.clock = clock
        self.errors = 0
        self.events: list[LiveEvent] = []
        """Warning events, kept for the benchmark (the rest are dropped after drawing)."""
        self.warning_latency_s: list[float] = []
        """For each warning: clock time when it was displayed minus the arrival time of the block."""
        self.warning_marks: list[tuple[float, float]] = []
        """For each warning: (sensor time of the last sample of the block that raised it, s since
        the stream's first sample; clock time when it was displayed). With the sender's log of
        when each sample left (the emulator's `send_log`) this gives notification-to-display
        latency (benchmarks/live_cost.py)."""

    def __call__(self, block: Any, arrived_s: float | None = None) -> list[LiveEvent]:
        t_in = self.clock() if arrived_s is None else arrived_s
        try:
            events = self.session.push_block(block)
            if self.view is not None:
                self.view.update(None if self._follows else self.session.state, events)
            warnings = [e for e in events if e.kind == "warning"]
            if warnings:
                done = self.clock()
                self.events += warnings
                self.warning_latency_s += [done - t_in] * len(warnings)
                t_last = float(block.t_sensor_s[-1]) if len(block.t_sensor_s) else float("nan")
                self.warning_marks += [(t_last, done)] * len(warnings)
            return events
        except Exception:  # noqa: BLE001  never raise into the radio stack
            self.errors += 1
            if self.errors == 1:
                log.exception("live analysis failed on a block; the recording goes on")
            return []

    def link(self, connection: str | None = None, battery_pct: int | None = None, lost_samples: int | None = None) -> None:
        """Forward the recorder's link state (connection, last battery reading, losses)."""
        self.session.set_link(connection=connection, battery_pct=battery_pct, lost_samples=lost_samples)
        if self.view is not None:
            self.view.update(self.session.state, [], force=True)


class _Block:
    __slots__ = ("t_sensor_s", "acc_m_s2", "gyr_rad_s")

    def __init__(self, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray) -> None:
        self.t_sensor_s, self.acc_m_s2, self.gyr_rad_s = t, acc, gyr


def recording_blocks(recording: Any, samples_per_block: int = 10) -> Iterator[Any]:
    """An `ImuRecording` cut into blocks shaped like `DecodedBlock`s (as notifications deliver)."""
    n = len(recording.t_s)
    for a in range(0, n, samples_per_block):
        b = min(n, a + samples_per_block)
        yield _Block(recording.t_s[a:b], recording.acc_m_s2[a:b], recording.gyr_rad_s[a:b])

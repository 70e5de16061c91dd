"""The live session's results and what it says: strokes, holds, time per region, events.

A stay on the roller counts only once it rolls (`tracker.analysis.activity`: a few clear
strokes; lying on the floor is not foam rolling). Until then its events are held back
(`pending`), and what the view shows stays as it was when the stay began; when the stay rolls
they are delivered (with the times they happened), and when it ends without rolling its strokes,
holds, warnings and time are taken back, as offline leaves them out.
"""

from __future__ import annotations

import copy
import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tracker.guidance import REGIONS, Guidance
from tracker.live.state import LiveEvent
from tracker.live.warnings import LiveWarnings
from tracker.results import Hold, SessionWarning, Stroke


def median(values: list[float]) -> float:
    """`np.median` of a short list of floats (NaN if any is), without numpy's per-call cost:
    the live stages take the median of a hold's recent positions as samples arrive."""
    if not values or math.isnan(sum(values)):  # statistics.median would sort a NaN anywhere
        return math.nan
    return statistics.median(values)


@dataclass
class OpenHold:
    """The hold in progress (or just left, not yet booked)."""

    start_s: float
    """Back-dated start (the end of the stroke that arrived), s."""
    confirmed: bool = False
    """Shown to the person (after `hold_min_s`)."""
    open: bool = True
    """False once the roller moved off the spot (hips down: booked when the next stroke starts)."""
    elapsed_s: float = 0.0
    positions_cm: list[float] = field(default_factory=list)
    """Recent breathing-free positions (their median is the hold's position)."""
    left_s: float | None = None
    """When the still window broke (hips down)."""
    since_s: float | None = None
    """Bridge: the end of the last stroke the fits showed when the timer started."""


class SessionLog:
    """Everything the live session has found and said so far (bounded: the lists keep the last
    `max_events`; the counts and times keep counting)."""

    def __init__(self, guidance: Guidance, rate_hz: float, rules: LiveWarnings, max_events: int) -> None:
        self.guidance = guidance
        self.dt_s = 1.0 / rate_hz
        self.rules = rules
        self.max_events = max_events
        self.strokes: list[Stroke] = []
        self.holds: list[Hold] = []
        self.stroke_count = 0
        self.hold_count = 0
        self.region_time_s = dict.fromkeys(REGIONS, 0.0)
        self.region: str | None = None
        """The region under the roller (None off the roller)."""
        self.on_roller_s = 0.0
        self.events: list[LiveEvent] = []
        self.notes: list[str] = []
        self.now_s = 0.0
        """Session time of the sample being analysed."""
        self.position_cm: float | None = None
        """The contact the gauge shows (None off the roller)."""
        self.pace_cm_s: float | None = None
        """The pace the gauge shows (None off the roller)."""
        self.ticked_until_s = -math.inf
        """Region time is booked up to here (a stretch run again after a change of posture is
        not booked twice)."""
        self.replay_until_s = -math.inf
        """While a stretch is run again after a change of posture: the time it was known."""
        self.on_stroke: Callable[[Stroke], bool] | None = None
        """Told of every stroke while a stay is held back; True when the stay rolls with it."""
        self.pending: list[LiveEvent] | None = None
        """Events of a stay that has not rolled yet (None: none is open, events go out)."""
        self._before: dict | None = None

    # --- a stay that must roll to count --------------------------------------------------------------
    def begin_stay(self) -> None:
        """A stay on the roller begins: hold back what it finds until it rolls."""
        self._before = {
            "strokes": list(self.strokes), "stroke_count": self.stroke_count, "holds": list(self.holds),
            "hold_count": self.hold_count, "region_time_s": dict(self.region_time_s),
            "on_roller_s": self.on_roller_s, "rules": copy.deepcopy(self.rules),
        }  # fmt: skip
        self.pending = []

    def stay_rolled(self) -> None:
        """The stay rolls: what it held back goes out now (with the times it happened)."""
        if self.pending is not None:
            self.events += self.pending
        self.pending = None
        self._before = None

    def end_stay(self, rolled: bool) -> None:
        """The stay ends; if it never rolled, everything it found is taken back."""
        before, self._before = self._before, None
        if rolled or before is None or self.pending is None:
            self.stay_rolled()
            return
        self.pending = None
        dropped = self.stroke_count - before["stroke_count"]
        self.strokes, self.stroke_count = before["strokes"], before["stroke_count"]
        self.holds, self.hold_count = before["holds"], before["hold_count"]
        self.region_time_s, self.on_roller_s = before["region_time_s"], before["on_roller_s"]
        self.rules = before["rules"]
        if dropped:
            self.notes.append(f"left out {dropped} stroke(s) of a stay lying back without rolling")

    @property
    def holding_back(self) -> bool:
        """A stay is open that has not rolled yet."""
        return self.pending is not None

    def shown(self, name: str) -> Any:
        """A count or list as the view may show it: as it was before an open stay that has not
        rolled yet."""
        if self._before is not None and name in self._before:
            return self._before[name]
        return getattr(self, name)

    @property
    def warnings(self) -> list[SessionWarning]:
        return self.rules.warnings

    def emit(self, event: LiveEvent) -> None:
        (self.events if self.pending is None else self.pending).append(event)

    def warn(self, w: SessionWarning) -> None:
        # the rules own the list (they update a warning's span in place); warnings are few
        self.emit(LiveEvent("warning", self.now_s, warning=w))

    def add_stroke(self, stroke: Stroke, t_known: float) -> None:
        self.stroke_count += 1
        self.strokes.append(stroke)
        del self.strokes[: -self.max_events]
        self.emit(LiveEvent("stroke", t_known, stroke=stroke))
        for w in self.rules.stroke_closed(stroke, t_known):
            self.warn(w)
        if self.pending is not None and self.on_stroke is not None and self.on_stroke(stroke):
            self.stay_rolled()

    def add_hold(self, hold: Hold) -> None:
        self.hold_count += 1
        self.holds.append(hold)
        del self.holds[: -self.max_events]
        self.rules.hold_closed(hold)
        self.emit(LiveEvent("hold_ended", self.now_s, hold=hold))

    def withdraw_strokes(self, keep: list[Stroke]) -> list[Stroke]:
        """Strokes after the kept ones leave the list and the count (their events are out);
        returns them."""
        dropped = self.strokes[len(keep) :] if self.strokes[: len(keep)] == keep else []
        if dropped:
            self.strokes[:] = keep
            self.stroke_count -= len(dropped)
        return dropped

    def tick(self, t: float, position_cm: float, turning: bool = False) -> None:
        """One on-roller sample whose contact is final: time per region and the time rules."""
        g = self.guidance
        region = g.region_at(position_cm)
        self.region_time_s[region] += self.dt_s
        if region != self.region:
            self.region = region
            self.emit(LiveEvent("region", t, region=region))
        for w in self.rules.tick(
            t, self.dt_s, position_cm, region, self.on_roller_s, self.region_time_s, turning=turning
        ):
            self.warn(w)

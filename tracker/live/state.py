"""What the live view shows: a snapshot of the streaming analysis, and the events it emits.

Plain dataclasses with no heavy imports (the view and the recorder import them without scipy).
Times are seconds of session time (sensor clock, from the first sample pushed); positions are
centimetres along the back from the hips (estimates); paces are of the roller's contact point.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tracker.results import Hold, SessionWarning, Stroke

#: Kinds of `LiveEvent`.
EVENT_KINDS = (
    "axes_ready",  # body axes known (from calibration at once, else learned on the roller)
    "on_roller",  # lay back onto the roller
    "off_roller",  # got off the roller
    "stroke",  # a stroke closed (at its turn); `stroke` holds it
    "hold_started",  # a hold confirmed (after hold_min_s of stillness; start back-dated)
    "hold_ended",  # a hold ended; `hold` holds it
    "region",  # the contact moved into another region
    "warning",  # a warning fired; `warning` holds it
)

#: Pace band of the gauge: below target (slow), target band, above the too-fast threshold.
PACE_BANDS = ("idle", "slow", "target", "fast", "too_fast")


@dataclass(frozen=True)
class LiveEvent:
    """Something that just happened. `t_s` is when the streaming analysis knew it (session time);
    the object inside carries the back-dated times (a hold's start, a stroke's span)."""

    kind: str
    t_s: float
    stroke: Stroke | None = None
    hold: Hold | None = None
    warning: SessionWarning | None = None
    region: str | None = None


@dataclass
class HoldTimer:
    """The hold in progress: counts toward the target band and warns past the limit."""

    active: bool = False
    start_s: float = 0.0
    elapsed_s: float = 0.0
    position_cm: float | None = None
    region: str | None = None
    target_min_s: float = 20.0
    target_max_s: float = 30.0
    limit_s: float = 60.0

    @property
    def status(self) -> str:
        """"none", "short" (below target), "target" (in 20-30 s), "long" (past target),
        "over_limit" (past the too-long limit)."""
        if not self.active:
            return "none"
        if self.elapsed_s > self.limit_s:
            return "over_limit"
        if self.elapsed_s > self.target_max_s:
            return "long"
        if self.elapsed_s >= self.target_min_s:
            return "target"
        return "short"

    @property
    def over_limit(self) -> bool:
        return self.active and self.elapsed_s > self.limit_s


@dataclass
class LiveState:
    """A snapshot for the live view; `LiveSession.state` returns a fresh copy each time."""

    session_s: float = 0.0
    """Session time (s since the first sample)."""
    phase: str = "unknown"
    """"unknown" (axes not yet known), "off_roller", "on_roller"."""
    posture: str | None = None
    """"hips_down" or "bridge" while on the roller."""
    axes_source: str = "learning"
    """"pairing"/"simulator" (calibration given), "inferred" (learned online), "learning"."""
    pace_cm_s: float | None = None
    """Current pace of the contact along the back (None when not on the roller)."""
    pace_band: str = "idle"
    """One of `PACE_BANDS`."""
    moving: bool = False
    stroke_count: int = 0
    strokes_per_min: float | None = None
    """Strokes per minute of time on the roller; None until there is enough of it (10 s)."""
    last_stroke: Stroke | None = None
    position_cm: float | None = None
    region: str | None = None
    hold: HoldTimer = field(default_factory=HoldTimer)
    holds_done: int = 0
    on_roller_s: float = 0.0
    region_time_s: dict[str, float] = field(default_factory=dict)
    warnings: list[SessionWarning] = field(default_factory=list)
    """The most recent warnings (newest last; capped by the session's `max_warnings`)."""
    warning_count: int = 0
    # set by the recorder / replay (the analysis knows nothing of the link)
    connection: str = "unknown"
    """"connecting", "connected", "reconnecting", "stopped" (the recording ended normally),
    "lost" (the sensor did not come back), "disconnected", "replay", "unknown"."""
    battery_pct: int | None = None
    """Last known battery level; None when never known."""
    battery_stale: bool = False
    """True when the last known level is not current (the link is down)."""
    lost_samples: int = 0
    target_pace_cm_s: float = 2.5
    too_fast_pace_cm_s: float = 5.0
    hip_to_neck_cm: float = 50.0
    region_bounds_cm: list[tuple[str, float, float]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    activity: str = "checking"
    """"foam_rolling" (a stay on the roller has rolled), "checking" (nothing conclusive yet) or
    "not_rolling" (what is seen now is something else: `activity_reason` says what)."""
    activity_reason: str | None = None
    checking: bool = False
    """On the roller, but no rolling yet: what this stay finds is held back (lying on the floor
    is not foam rolling), so strokes, holds and warnings appear once it rolls."""
    pace_pm_cm_s: float | None = None
    """± of `pace_cm_s`: the half-width meant to hold the true pace about 80 % of the time."""
    position_pm_cm: float | None = None
    """± of `position_cm`, cm."""

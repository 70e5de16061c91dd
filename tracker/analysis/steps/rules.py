"""The warning rules' messages, and the too-fast run: one set for offline, live and the history.

Every warning a person sees is built here, so the same condition reads the same wherever it is
found: `tracker analyze`, the live view and the synthetic history all call these builders.
Thresholds come from `Guidance`. Pure Python (no numpy): the history layer imports it.
"""

from __future__ import annotations

from collections.abc import Sequence

from tracker.guidance import Guidance
from tracker.results import Hold, SessionWarning, Stroke

NICE_REGION = {
    "lumbar": "lower back (lumbar spine)",
    "lower_thoracic": "lower ribs (lower thoracic)",
    "mid_thoracic": "mid back (mid thoracic)",
    "upper_thoracic": "upper back (upper thoracic)",
}
"""How each region of `tracker.guidance.REGIONS` is named to the person."""


def nice_region(region: str) -> str:
    return NICE_REGION.get(region, region.replace("_", " "))


def too_fast_warning(run: Sequence[Stroke], guidance: Guidance) -> SessionWarning:
    """A run of fast strokes in a row: spans the run, `value` its mean pace (cm/s)."""
    total = sum(s.duration_s for s in run)
    mean = sum(s.distance_cm for s in run) / total if total > 0 else 0.0
    return SessionWarning(
        "too_fast",
        run[0].start_s,
        run[-1].end_s,
        f"{len(run)} strokes in a row at {mean:.1f} cm/s: slow down to about "
        f"{guidance.target_pace_cm_s:g} cm/s (an inch per second) so the tissue can respond.",
        mean,
    )


def hold_too_long_warning(hold: Hold, guidance: Guidance) -> SessionWarning:
    """A hold longer than `hold_too_long_s`: spans the hold, `value` its duration (s)."""
    g = guidance
    return SessionWarning(
        "hold_too_long",
        hold.start_s,
        hold.end_s,
        f"You held one spot on your {nice_region(hold.region)} for {hold.duration_s:.0f} s; "
        f"keep holds under {g.hold_too_long_s:.0f} s "
        f"({g.hold_target_min_s:.0f}-{g.hold_target_max_s:.0f} s is typical) to avoid bruising.",
        hold.duration_s,
    )


def region_overuse_warning(
    region: str, spent_s: float, start_s: float, end_s: float, guidance: Guidance
) -> SessionWarning:
    """More than `region_budget_s` on one region: from the moment the budget was crossed,
    `value` the time spent there (s)."""
    return SessionWarning(
        "region_overuse",
        start_s,
        end_s,
        f"You spent {spent_s / 60:.1f} min on your {nice_region(region)}; "
        f"{guidance.region_budget_s / 60:.0f} min per region per session is enough.",
        float(spent_s),
    )


def session_too_long_warning(
    on_roller_s: float, start_s: float, end_s: float, guidance: Guidance
) -> SessionWarning:
    """More than `session_too_long_s` on the roller: `value` the time on the roller (s)."""
    return SessionWarning(
        "session_too_long",
        start_s,
        end_s,
        f"{on_roller_s / 60:.0f} min on the roller; more than "
        f"{guidance.session_too_long_s / 60:.0f} min in one session brings no extra benefit: "
        "spread it over the week.",
        float(on_roller_s),
    )


def lumbar_warning(
    start_s: float, end_s: float, *, seconds: float | None = None, ongoing: bool = False
) -> SessionWarning:
    """The roller under the lower back from `start_s` to `end_s`; `seconds` the time it was
    there (default the span; what the region table counts). `ongoing` (the live view, while it
    is there): present tense and no duration yet. `value` is that time (s)."""
    spent = end_s - start_s if seconds is None else seconds
    advice = "a foam roller can strain it: use a duo ball there, or stay above the ribs."
    if ongoing:
        text = f"The roller is under your lower back (lumbar spine); {advice}"
    else:
        text = f"The roller was under your lower back (lumbar spine) for {spent:.0f} s; {advice}"
    return SessionWarning("lumbar", start_s, end_s, text, spent)


class TooFastRuns:
    """Runs of `too_fast_min_strokes` or more strokes faster than `too_fast_pace_cm_s` in a row.

    A slow stroke ends a run, and so does a hold between two strokes (one that starts from
    half a second before the last stroke's end). `step(stroke)` takes strokes as they close and
    returns the run's warning once it is long enough (again, updated, as it grows);
    `hold()` says a hold began; `run(strokes, holds)` gives every run's warning of a session.
    """

    def __init__(self, guidance: Guidance) -> None:
        self.guidance = guidance
        self.strokes: list[Stroke] = []
        """The current run of fast strokes."""

    def clear(self) -> None:
        self.strokes = []

    def hold(self) -> None:
        """A hold between strokes: the run is over."""
        self.strokes = []

    def fast(self, stroke: Stroke) -> bool:
        return stroke.pace_cm_s > self.guidance.too_fast_pace_cm_s

    def warning(self, extra: Stroke | None = None) -> SessionWarning | None:
        """The current run's warning (with `extra` as its next stroke), or None if too short."""
        run = self.strokes if extra is None else [*self.strokes, extra]
        if len(run) < self.guidance.too_fast_min_strokes:
            return None
        return too_fast_warning(run, self.guidance)

    def step(self, stroke: Stroke) -> SessionWarning | None:
        """A stroke closed: the run's warning if it makes (or extends) one, else None."""
        if not self.fast(stroke):
            self.strokes = []
            return None
        self.strokes.append(stroke)
        return self.warning()

    def run(self, strokes: Sequence[Stroke], holds: Sequence[Hold] = ()) -> list[SessionWarning]:
        """Every too-fast run of a whole session, one warning each."""
        hold_starts = sorted(h.start_s for h in holds)
        out: list[SessionWarning] = []
        self.clear()
        last: SessionWarning | None = None
        for s in strokes:
            if self.strokes and self.fast(s) and _any_in(
                hold_starts, self.strokes[-1].end_s - 0.5, s.start_s
            ):
                self.hold()
            if not self.strokes or not self.fast(s):
                if last is not None:
                    out.append(last)
                last = None
            w = self.step(s)
            if w is not None:
                last = w
        if last is not None:
            out.append(last)
        self.clear()
        return out


def _any_in(sorted_values: list[float], lo: float, hi: float) -> bool:
    """Is any value v with lo <= v < hi in the sorted list?"""
    from bisect import bisect_left

    k = bisect_left(sorted_values, lo)
    return k < len(sorted_values) and sorted_values[k] < hi

"""Warnings a person can act on, from strokes, holds and time on the roller (thresholds: Guidance).

The messages and the too-fast run are `tracker.analysis.steps.rules`, shared with the live view.
"""

from __future__ import annotations

import numpy as np

from tracker.analysis.steps import rules
from tracker.analysis.steps.runs import runs
from tracker.guidance import Guidance
from tracker.results import Hold, SessionWarning, Stroke

DEFAULT_GUIDANCE = Guidance()


def sample_durations(t_s: np.ndarray) -> np.ndarray:
    """The time each sample of a uniform analysis grid stands for, in s.

    One grid period each (the median step): the step across a gap in the data (a dropped link,
    lost packets) is unknown time and never counts as time on the roller, rolling, or in a region.
    """
    t = np.asarray(t_s, dtype=float)
    if len(t) < 2:
        return np.zeros(len(t))
    steps = np.diff(t)
    period = float(np.median(steps))
    return np.minimum(np.append(steps, period), period)


def region_indices(position_cm: np.ndarray, guidance: Guidance) -> np.ndarray:
    """Index into `guidance.region_bounds_cm()` for each position (vectorised `region_at`)."""
    ends = np.array([end for _name, _start, end in guidance.region_bounds_cm()][:-1])
    return np.searchsorted(ends, position_cm, side="right")


class WarningRules:
    """too_fast, hold_too_long, region_overuse, session_too_long and lumbar warnings.

    Parameters
    ----------
    guidance
        Every threshold comes from here.
    lumbar_merge_s, lumbar_min_s
        Lumbar spans closer than `lumbar_merge_s` are one span (breathing and the turn at the end
        of a stroke should not split it); spans shorter than `lumbar_min_s` are ignored.
    """

    def __init__(
        self,
        guidance: Guidance = DEFAULT_GUIDANCE,
        lumbar_merge_s: float = 10.0,
        lumbar_min_s: float = 1.0,
    ) -> None:
        self.guidance = guidance
        self.lumbar_merge_s = lumbar_merge_s
        self.lumbar_min_s = lumbar_min_s

    def evaluate(
        self,
        strokes: list[Stroke],
        holds: list[Hold],
        t_s: np.ndarray,
        position_cm: np.ndarray,
        on_roller: np.ndarray,
    ) -> WarningRules:
        """`t_s`, `position_cm` (smoothed, NaN off the roller) and `on_roller` are (M,) per
        sample. Result: `warnings_`, in time order."""
        g = self.guidance
        out: list[SessionWarning] = rules.TooFastRuns(g).run(strokes, holds)
        out += [rules.hold_too_long_warning(h, g) for h in holds if h.duration_s > g.hold_too_long_s]
        dt = sample_durations(t_s)  # a gap's time counts nowhere
        on = on_roller & np.isfinite(position_cm)
        out += self._budgets(t_s, dt, position_cm, on, on_roller)
        if g.warn_lumbar and on.any():
            out += self._lumbar(t_s, position_cm, on, dt)
        out.sort(key=lambda w: (w.start_s, w.kind))
        self.warnings_ = out
        return self

    def _budgets(
        self,
        t_s: np.ndarray,
        dt: np.ndarray,
        position_cm: np.ndarray,
        on: np.ndarray,
        on_roller: np.ndarray,
    ) -> list[SessionWarning]:
        """region_overuse per region, and session_too_long, from the moment the budget is
        crossed to the last sample there."""
        g = self.guidance
        out: list[SessionWarning] = []
        idx = np.flatnonzero(on)
        region_index = region_indices(position_cm[idx], g)
        for k_region, (name, _lo, _hi) in enumerate(g.region_bounds_cm()):
            mine = idx[region_index == k_region]
            if not len(mine):
                continue
            cum = np.cumsum(dt[mine])
            if cum[-1] > g.region_budget_s:
                k = int(np.searchsorted(cum, g.region_budget_s))
                out.append(
                    rules.region_overuse_warning(
                        name, float(cum[-1]), float(t_s[mine[k]]), float(t_s[mine[-1]]), g
                    )
                )
        on_idx = np.flatnonzero(on_roller)
        if on_idx.size:
            cum = np.cumsum(dt[on_idx])
            if cum[-1] > g.session_too_long_s:
                k = int(np.searchsorted(cum, g.session_too_long_s))
                out.append(
                    rules.session_too_long_warning(
                        float(cum[-1]), float(t_s[on_idx[k]]), float(t_s[on_idx[-1]]), g
                    )
                )
        return out

    def _lumbar(
        self, t_s: np.ndarray, position_cm: np.ndarray, on: np.ndarray, dt: np.ndarray
    ) -> list[SessionWarning]:
        """One warning per stretch of lumbar work (stretches closer than `lumbar_merge_s` are
        one); its time is the time the roller was on the lumbar spine within the stretch (what
        the region table counts), not the stretch's length, which also holds the turns above it
        that merged the pieces."""
        lumbar_end = self.guidance.region_bounds_cm()[0][2]
        lumbar = on & (np.nan_to_num(position_cm, nan=np.inf) < lumbar_end)
        merged: list[list[int]] = []  # [first, last] sample of each merged stretch
        for a, b in runs(lumbar):
            if merged and t_s[a] - t_s[merged[-1][1]] <= self.lumbar_merge_s:
                merged[-1][1] = b - 1
            else:
                merged.append([a, b - 1])
        out = []
        for a, b in merged:
            seconds = float(dt[a : b + 1][lumbar[a : b + 1]].sum())
            if seconds >= self.lumbar_min_s:
                out.append(rules.lumbar_warning(float(t_s[a]), float(t_s[b]), seconds=seconds))
        return out

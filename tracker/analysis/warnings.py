"""Warnings a person can act on, from strokes, holds and time on the roller (thresholds: Guidance)."""

from __future__ import annotations

import numpy as np

from tracker.guidance import Guidance
from tracker.results import Hold, Stroke, Warning

DEFAULT_GUIDANCE = Guidance()

_NICE_REGION = {
    "lumbar": "lower back (lumbar spine)",
    "lower_thoracic": "lower ribs (lower thoracic)",
    "mid_thoracic": "mid back (mid thoracic)",
    "upper_thoracic": "upper back (upper thoracic)",
}


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    if not mask.any():
        return []
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(
        zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=False)
    )


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
        """`t_s`, `position_cm` (smoothed, NaN off the roller) and `on_roller` are (M,) per sample."""
        g = self.guidance
        out: list[Warning] = []
        out += self._too_fast(strokes, holds)
        for h in holds:
            if h.duration_s > g.hold_too_long_s:
                out.append(
                    Warning(
                        "hold_too_long",
                        h.start_s,
                        h.end_s,
                        f"You held one spot on your {_NICE_REGION.get(h.region, h.region)} for "
                        f"{h.duration_s:.0f} s; keep holds under {g.hold_too_long_s:.0f} s "
                        f"({g.hold_target_min_s:.0f}-{g.hold_target_max_s:.0f} s is typical) to avoid bruising.",
                        h.duration_s,
                    )
                )
        dt = sample_durations(t_s)
        on = on_roller & np.isfinite(position_cm)
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
                    Warning(
                        "region_overuse",
                        float(t_s[mine[k]]),
                        float(t_s[mine[-1]]),
                        f"You spent {cum[-1] / 60:.1f} min on your {_NICE_REGION.get(name, name)}; "
                        f"{g.region_budget_s / 60:.0f} min per region per session is enough.",
                        float(cum[-1]),
                    )
                )
        on_idx = np.flatnonzero(on_roller)
        if on_idx.size:
            cum = np.cumsum(dt[on_idx])
            if cum[-1] > g.session_too_long_s:
                k = int(np.searchsorted(cum, g.session_too_long_s))
                out.append(
                    Warning(
                        "session_too_long",
                        float(t_s[on_idx[k]]),
                        float(t_s[on_idx[-1]]),
                        f"{cum[-1] / 60:.0f} min on the roller; more than {g.session_too_long_s / 60:.0f} min "
                        "in one session brings no extra benefit: spread it over the week.",
                        float(cum[-1]),
                    )
                )
        if g.warn_lumbar and on.any():
            out += self._lumbar(t_s, position_cm, on, dt)
        out.sort(key=lambda w: (w.start_s, w.kind))
        self.warnings_ = out
        return self

    def _lumbar(
        self, t_s: np.ndarray, position_cm: np.ndarray, on: np.ndarray, dt: np.ndarray
    ) -> list[Warning]:
        """One warning per stretch of lumbar work; its time is the time the roller was on the
        lumbar spine within the stretch (what the region table counts), not the stretch's
        length, which also holds the turns above it that merged the pieces."""
        lumbar_end = self.guidance.region_bounds_cm()[0][2]
        lumbar = on & (np.nan_to_num(position_cm, nan=np.inf) < lumbar_end)
        merged: list[list[int]] = []  # [first, last] sample of each merged stretch
        for a, b in _runs(lumbar):
            if merged and t_s[a] - t_s[merged[-1][1]] <= self.lumbar_merge_s:
                merged[-1][1] = b - 1
            else:
                merged.append([a, b - 1])
        out = []
        for a, b in merged:
            seconds = float(dt[a : b + 1][lumbar[a : b + 1]].sum())
            if seconds < self.lumbar_min_s:
                continue
            out.append(
                Warning(
                    "lumbar",
                    float(t_s[a]),
                    float(t_s[b]),
                    "The roller was under your lower back (lumbar spine) for "
                    f"{seconds:.0f} s; a foam roller can strain it: use a duo ball there, or stay above the ribs.",
                    seconds,
                )
            )
        return out

    def _too_fast(self, strokes: list[Stroke], holds: list[Hold]) -> list[Warning]:
        g = self.guidance
        out: list[Warning] = []
        hold_starts = np.array([h.start_s for h in holds])
        run: list[Stroke] = []

        def flush() -> None:
            if len(run) >= g.too_fast_min_strokes:
                total = sum(s.duration_s for s in run)
                mean = sum(s.distance_cm for s in run) / total if total > 0 else 0.0
                out.append(
                    Warning(
                        "too_fast",
                        run[0].start_s,
                        run[-1].end_s,
                        f"{len(run)} strokes in a row at {mean:.1f} cm/s: slow down to about "
                        f"{g.target_pace_cm_s:g} cm/s (an inch per second) so the tissue can respond.",
                        mean,
                    )
                )
            run.clear()

        for s in strokes:
            if s.pace_cm_s > g.too_fast_pace_cm_s:
                if (
                    run
                    and hold_starts.size
                    and np.any((hold_starts >= run[-1].end_s - 0.5) & (hold_starts < s.start_s))
                ):
                    flush()
                run.append(s)
            else:
                flush()
        flush()
        return out

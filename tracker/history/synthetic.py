"""Synthetic analysed sessions and histories, for benchmarks, notebooks and chart previews.

These are *not* ground truth for the analysis (that is `tracker.simulate`): they are plausible
`SessionAnalysis` objects made directly, fast enough to fill three years of daily sessions in a
few seconds. Rolling follows the guidance in docs/guidance.md: strokes of 8-20 cm back and forth
between the lower back and the shoulder blades at a pace around the 2.5 cm/s rule (some sessions rushed), holds of
10-40 s over tender spots, a 2 Hz position track, time per region, and the warnings that follow.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import numpy as np

from tracker import __version__
from tracker.guidance import Guidance
from tracker.results import Hold, Phase, SessionAnalysis, SessionWarning, Stroke

DEFAULT_GUIDANCE = Guidance()  # frozen: safe as a shared default


def synthetic_session(
    rng: np.random.Generator,
    *,
    on_roller_min: float = 12.0,
    median_pace_cm_s: float = 2.8,
    posture: str = "hips_down",
    guidance: Guidance = DEFAULT_GUIDANCE,
) -> SessionAnalysis:
    """One plausible analysed session of about `on_roller_min` minutes on the roller."""
    lie_down_s = 30.0
    budget_s = on_roller_min * 60.0
    t = lie_down_s
    pos = float(rng.uniform(18, 30))
    low, high = 6.0, guidance.hip_to_neck_cm - 3.0
    strokes: list[Stroke] = []
    holds: list[Hold] = []
    knots_t = [t]
    knots_x = [pos]
    direction = 1.0
    while t < lie_down_s + budget_s:
        if rng.random() < 0.12:
            dur = float(rng.uniform(10, 40)) if rng.random() > 0.05 else float(rng.uniform(60, 80))
            holds.append(Hold(t, t + dur, dur, pos, guidance.region_at(pos)))
            t += dur
            knots_t.append(t)
            knots_x.append(pos)
            continue
        dist = float(rng.uniform(8, 20))
        if not low <= pos + direction * dist <= high:
            direction = -direction
        target = min(max(pos + direction * dist, low), high)
        dist = abs(target - pos)
        if dist < 2:
            direction = -direction
            continue
        pace = float(median_pace_cm_s * np.exp(rng.normal(0, 0.25)))
        dur = dist / pace
        strokes.append(
            Stroke(
                t,
                t + dur,
                dist,
                pace,
                guidance.region_at((pos + target) / 2),
                "toward_head" if target > pos else "toward_hips",
                posture,
                pos,
                target,
            )
        )
        t += dur
        pos = target
        knots_t.append(t)
        knots_x.append(pos)
        direction = -direction
        t += 0.4  # the turn at the end of a stroke
        knots_t.append(t)
        knots_x.append(pos)
    off_roller = t
    track_t = np.arange(lie_down_s, off_roller, 0.5)
    track_x = np.interp(track_t, knots_t, knots_x)
    bounds = guidance.region_bounds_cm()
    edges = np.array([b[2] for b in bounds[:-1]])
    region_idx = np.searchsorted(edges, track_x, side="right")
    region_time = {
        name: float(np.sum(region_idx == i) * 0.5) for i, (name, _a, _b) in enumerate(bounds)
    }
    warnings = _warnings(strokes, holds, region_time, off_roller - lie_down_s, guidance)
    phases = [
        Phase("upright", 0.0, 20.0),
        Phase("transition", 20.0, lie_down_s),
        Phase("on_roller", lie_down_s, off_roller),
        Phase("transition", off_roller, off_roller + 10.0),
        Phase("upright", off_roller + 10.0, off_roller + 20.0),
    ]
    return SessionAnalysis(
        duration_s=off_roller + 20.0,
        on_roller_s=off_roller - lie_down_s,
        rolling_s=float(sum(s.duration_s for s in strokes)),
        strokes=strokes,
        holds=holds,
        warnings=warnings,
        phases=phases,
        region_time_s={k: v for k, v in region_time.items() if v > 0},
        position_track=list(zip(track_t.round(2).tolist(), track_x.round(2).tolist(), strict=True)),
        posture=posture,
        parameters={"guidance": guidance.to_json(), "source": "tracker.history.synthetic"},
        tracker_version=__version__,
        notes=["synthetic session (tracker.history.synthetic), not a measurement"],
    )


def _warnings(
    strokes: list[Stroke],
    holds: list[Hold],
    region_time: dict[str, float],
    on_roller_s: float,
    g: Guidance,
) -> list[SessionWarning]:
    """The warnings such a session would get, worded as the analysis words them
    (`tracker.analysis.steps.rules`); spans are coarse (a whole stay for the time budgets)."""
    from tracker.analysis.steps import rules

    out = rules.TooFastRuns(g).run(strokes, holds)
    out += [rules.hold_too_long_warning(h, g) for h in holds if h.duration_s > g.hold_too_long_s]
    for region, seconds in region_time.items():
        if seconds > g.region_budget_s:
            out.append(rules.region_overuse_warning(region, seconds, 0.0, on_roller_s, g))
    if g.warn_lumbar and region_time.get("lumbar", 0.0) > 10.0:
        out.append(rules.lumbar_warning(0.0, on_roller_s, seconds=region_time["lumbar"]))
    out.sort(key=lambda w: w.start_s)
    return out


def synthetic_history(
    store: object,
    *,
    days: int = 28,
    end: date | None = None,
    tz_name: str = "Europe/Berlin",
    seed: int = 0,
    rest_day_probability: float = 0.35,
    double_day_probability: float = 0.05,
) -> int:
    """Fill `store` (a SessionStore) with about one session a day for `days` days ending at `end`.

    Start times are local (07:00 or evenings up to 23:50, so some sit near midnight) in `tz_name`,
    with the offset in force on that day. Returns the number of sessions stored.
    """
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz_name)
    rng = np.random.default_rng(seed)
    end = end or date.today()
    n = 0
    with store.batch():  # type: ignore[attr-defined]
        for k in range(days):
            day = end - timedelta(days=days - 1 - k)
            if rng.random() < rest_day_probability:
                continue
            count = 2 if rng.random() < double_day_probability else 1
            for j in range(count):
                if j == 0 and rng.random() < 0.6:
                    local = time(7, int(rng.integers(0, 50)))
                else:
                    minute = int(rng.integers(19 * 60, 23 * 60 + 50))
                    local = time(minute // 60, minute % 60)
                start = datetime.combine(day, local, tzinfo=zone)
                rushed = rng.random() < 0.1
                analysis = synthetic_session(
                    rng,
                    on_roller_min=float(rng.uniform(4, 9))
                    if rng.random() > 0.05
                    else float(rng.uniform(15, 25)),
                    median_pace_cm_s=6.0 if rushed else 2.8,
                    posture="bridge" if rng.random() < 0.3 else "hips_down",
                )
                store.add_session(  # type: ignore[attr-defined]
                    analysis,
                    start_utc=start.astimezone(UTC),
                    utc_offset_s=int(start.utcoffset().total_seconds()),  # type: ignore[union-attr]
                    timezone=tz_name,
                    sensor={"name": "synthetic", "address": None},
                )
                n += 1
    return n

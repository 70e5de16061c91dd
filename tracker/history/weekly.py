"""Days and weeks of rolling, in the user's local time, with the load ratio and overuse flags.

Numbers only (pandas); `tracker.history.charts` draws them.

Local time: every session is placed by its own wall clock at the time (`start_local`, i.e. the UTC
start plus the UTC offset stored with it), so a session at 00:30 on a Monday in summer time is on
Monday even though it is still Sunday in UTC, and a trip abroad does not move old sessions. A
session belongs to the day it started on.

"Rolling minutes" are minutes on the roller (`SessionAnalysis.on_roller_s`: strokes and holds):
the tissue load the weekly numbers and the load ratio are about.

Load ratio (docs/guidance.md, [load]): acute load is the rolling minutes of the 7 days ending on a day; chronic
load is the rolling minutes of the 28 days ending on that day divided by 4 (a weekly average that
includes the acute week); the ratio is acute / chronic. It is left undefined (NaN) until the
history spans 28 days, and when the chronic load is zero: a first week of rolling is not a spike.
Bands: above `acwr_high` (1.5) high, `acwr_normal_high`..`acwr_high` elevated, `acwr_normal_low`..
`acwr_normal_high` (0.8-1.3) normal, below `acwr_normal_low` low.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from tracker.guidance import REGIONS, Guidance

DEFAULT_GUIDANCE = Guidance()  # frozen: safe as a shared default

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

WEEKLY_COLUMNS = (
    "sessions", "rolling_min", "days_rolled", "goal_met", "streak_weeks", "median_pace_cm_s",
    "pace_p25_cm_s", "pace_p75_cm_s", "too_fast_share", "holds", "hold_min", "warnings",
    *(f"region_{r}_min" for r in REGIONS), "max_sessions_in_day", "days_over_limit",
    "regions_over_budget", "acute_min", "chronic_min_per_week", "acwr", "load_band", "overuse",
    "overuse_reasons", "in_progress",
)  # fmt: skip


def real_sessions(sessions: pd.DataFrame) -> pd.DataFrame:
    """`sessions` without recordings that never got on the roller (see
    `tracker.history.ingest.never_on_roller`; new ones are not stored, an older database may hold
    some): they are no session toward the goal, the streak or the sessions-a-day limit."""
    from tracker.history.ingest import MIN_ON_ROLLER_S

    if sessions.empty or "on_roller_s" not in sessions:
        return sessions
    empty = sessions["on_roller_s"] < MIN_ON_ROLLER_S
    for col in ("n_strokes", "n_holds"):
        if col in sessions:
            empty &= sessions[col] == 0
    return sessions[~empty] if empty.any() else sessions


def week_start_index(week_start: str) -> int:
    """0 for Monday ... 6 for Sunday; a `ValueError` naming the choices otherwise."""
    try:
        return WEEKDAYS.index(week_start.strip().lower())
    except ValueError:
        raise ValueError(
            f"week_start must be one of {', '.join(WEEKDAYS)}; got {week_start!r}"
        ) from None


def local_day(sessions: pd.DataFrame) -> pd.Series:
    """Local calendar day (midnight Timestamp) each session started on."""
    if "start_local" in sessions:
        local = pd.to_datetime(sessions["start_local"])
    else:
        local = (pd.to_datetime(sessions["start_utc"], utc=True).dt.tz_localize(None)
                 + pd.to_timedelta(sessions["utc_offset_s"], unit="s"))  # fmt: skip
    return local.dt.normalize()


def week_of(days: pd.Series | pd.DatetimeIndex, week_start: str = "monday") -> pd.Series:
    """The first day of the week containing each day (weeks start on `week_start`)."""
    days = pd.Series(pd.to_datetime(days))
    back = (days.dt.day_of_week - week_start_index(week_start)) % 7
    return days.dt.normalize() - pd.to_timedelta(back, unit="D")


def load_band(acwr: float, guidance: Guidance = DEFAULT_GUIDANCE) -> str:
    """'high', 'elevated', 'normal', 'low' or '' (undefined) for a load ratio."""
    if not np.isfinite(acwr):
        return ""
    if acwr > guidance.acwr_high:
        return "high"
    if acwr > guidance.acwr_normal_high:
        return "elevated"
    if acwr >= guidance.acwr_normal_low:
        return "normal"
    return "low"


def _today() -> pd.Timestamp:
    return pd.Timestamp.now().normalize()


def daily_summary(
    sessions: pd.DataFrame,
    *,
    guidance: Guidance = DEFAULT_GUIDANCE,
    end: date | pd.Timestamp | None = None,
) -> pd.DataFrame:
    """One row per local day from the first session's day to `end` (default today; never before the
    last session), days without sessions included.

    Columns: sessions, rolling_min, over_daily_limit (more than `max_sessions_per_day`),
    acute_min (7 days), chronic_min_per_week (28 days / 4), acwr, load_band.
    """
    cols = [
        "sessions",
        "rolling_min",
        "over_daily_limit",
        "acute_min",
        "chronic_min_per_week",
        "acwr",
        "load_band",
    ]
    sessions = real_sessions(sessions)
    if sessions.empty:
        return pd.DataFrame(columns=cols, index=pd.DatetimeIndex([], name="day"))
    day = local_day(sessions)
    per_day = pd.DataFrame(
        {"day": day.to_numpy(), "min": sessions["on_roller_s"].to_numpy() / 60.0}
    )
    grouped = per_day.groupby("day")["min"].agg(["count", "sum"])
    last = max(grouped.index.max(), pd.Timestamp(end).normalize() if end is not None else _today())
    index = pd.date_range(grouped.index.min(), last, freq="D", name="day")
    grouped = grouped.reindex(index, fill_value=0)
    out = pd.DataFrame(index=index)
    out["sessions"] = grouped["count"].astype(int)
    out["rolling_min"] = grouped["sum"].astype(float)
    out["over_daily_limit"] = out["sessions"] > guidance.max_sessions_per_day
    out["acute_min"] = out["rolling_min"].rolling(7, min_periods=1).sum()
    chronic = out["rolling_min"].rolling(28, min_periods=28).sum() / 4.0
    out["chronic_min_per_week"] = chronic
    out["acwr"] = (out["acute_min"] / chronic.where(chronic > 0)).astype(float)
    out["load_band"] = [load_band(v, guidance) for v in out["acwr"].to_numpy()]
    return out


def weekly_summary(
    sessions: pd.DataFrame,
    strokes: pd.DataFrame | None = None,
    *,
    guidance: Guidance = DEFAULT_GUIDANCE,
    weeks: int | None = None,
    end: date | pd.Timestamp | None = None,
) -> pd.DataFrame:
    """One row per week (index `week_start`, local dates), weeks without sessions as zero rows.

    `sessions` is `SessionStore.sessions()` (or any frame with start_local or start_utc +
    utc_offset_s, on_roller_s, n_holds, hold_s, n_warnings, mean_pace_cm_s, too_fast_fraction,
    stroke_s and region_<name>_s). `strokes` (`SessionStore.strokes()`: session_id, pace_cm_s,
    duration_s) gives the weekly pace median and quartiles and the share of stroke time above
    `guidance.too_fast_pace_cm_s`; without it the session means and stored fractions are used.
    `weeks`: only the last N weeks up to the week containing `end` (default today); the load
    ratio and the streak still count the weeks before.

    Columns (units in names): sessions, rolling_min, days_rolled, goal_met (at least
    `goal_sessions_per_week`), streak_weeks (consecutive weeks meeting the goal, ending here; the
    week in progress adds to it once it meets the goal and never breaks it before),
    median_pace_cm_s, pace_p25_cm_s, pace_p75_cm_s, too_fast_share (0..1 of stroke time), holds,
    hold_min, warnings, region_<name>_min, max_sessions_in_day, days_over_limit,
    regions_over_budget (regions above `region_weekly_budget_s`), acute_min,
    chronic_min_per_week, acwr (at the week's last day, or `end` in the current week),
    load_band, overuse (any of: high load ratio, a day over the limit, a region over budget) and
    overuse_reasons (a sentence), in_progress (the week containing today, or `end` unless `end`
    is the week's last day: not over yet).

    Recordings that never got on the roller are left out (`real_sessions`).
    """
    ws = guidance.week_start
    end_day = pd.Timestamp(end).normalize() if end is not None else _today()
    this_week = week_of(pd.Series([end_day]), ws).iloc[0]
    # In progress: the week containing today, or containing `end` unless `end` is its last day
    # (a report `--until` a Sunday covers that whole week).
    open_week = this_week if end is None or end_day < this_week + pd.Timedelta(days=6) else None
    sessions = real_sessions(sessions)
    if sessions.empty:
        if not weeks:
            return pd.DataFrame(
                columns=list(WEEKLY_COLUMNS), index=pd.DatetimeIndex([], name="week_start")
            )
        index = pd.date_range(end=this_week, periods=weeks, freq="7D", name="week_start")
        empty = _empty_weeks(index)
        empty["in_progress"] = index == open_week
        return empty

    day = local_day(sessions)
    week = week_of(day, ws)
    frame = pd.DataFrame(
        {
            "week": week.to_numpy(),
            "day": day.to_numpy(),
            "rolling_min": sessions["on_roller_s"].to_numpy() / 60.0,
            "holds": sessions["n_holds"].to_numpy(),
            "hold_min": sessions["hold_s"].to_numpy() / 60.0,
            "warnings": sessions["n_warnings"].to_numpy(),
            "stroke_s": sessions.get("stroke_s", sessions.get("rolling_s")).to_numpy(),
            "too_fast_s": (
                sessions["too_fast_fraction"] * sessions.get("stroke_s", sessions.get("rolling_s"))
            ).to_numpy(),
            "mean_pace": sessions["mean_pace_cm_s"].to_numpy(),
        },
        index=sessions.index,
    )
    for r in REGIONS:
        col = f"region_{r}_s"
        frame[f"region_{r}_min"] = sessions[col].to_numpy() / 60.0 if col in sessions else 0.0

    last_week = max(frame["week"].max(), week_of(pd.Series([end_day]), ws).iloc[0])
    window = pd.date_range(
        end=week_of(pd.Series([end_day]), ws).iloc[0], periods=weeks or 1, freq="7D"
    )
    first_week = min(frame["week"].min(), window[0]) if weeks else frame["week"].min()
    index = pd.date_range(first_week, last_week, freq="7D", name="week_start")
    g = frame.groupby("week")
    out = pd.DataFrame(index=index)
    out["sessions"] = g.size().reindex(index, fill_value=0).astype(int)
    out["rolling_min"] = g["rolling_min"].sum().reindex(index, fill_value=0.0)
    out["days_rolled"] = g["day"].nunique().reindex(index, fill_value=0).astype(int)
    out["goal_met"] = out["sessions"] >= guidance.goal_sessions_per_week
    # The week containing `end` (today) is still going on: it joins the streak once it meets the
    # goal, and does not break it before (on a Monday, last week's streak still stands).
    out["in_progress"] = out.index == open_week
    met = out["goal_met"].astype(int)
    runs = (met != met.shift()).cumsum()
    streak = met.groupby(runs).cumsum().astype(int)
    pending = out["in_progress"] & ~out["goal_met"]
    streak[pending] = streak.shift(1, fill_value=0)[pending]
    out["streak_weeks"] = streak

    if strokes is not None and not strokes.empty:
        sw = strokes[["session_id", "pace_cm_s"]].copy()
        sw["duration_s"] = (
            strokes["duration_s"]
            if "duration_s" in strokes
            else strokes["end_s"] - strokes["start_s"]
        )
        sw["week"] = frame["week"].reindex(sw["session_id"].to_numpy()).to_numpy()
        sw = sw.dropna(subset=["week"])
        gp = sw.groupby("week")["pace_cm_s"]
        out["median_pace_cm_s"] = gp.median().reindex(index)
        out["pace_p25_cm_s"] = gp.quantile(0.25).reindex(index)
        out["pace_p75_cm_s"] = gp.quantile(0.75).reindex(index)
        fast = sw["duration_s"].where(sw["pace_cm_s"] > guidance.too_fast_pace_cm_s, 0.0)
        share = fast.groupby(sw["week"]).sum() / sw.groupby("week")["duration_s"].sum()
        out["too_fast_share"] = share.reindex(index).fillna(0.0)
    else:
        gm = frame[frame["stroke_s"] > 0].groupby("week")["mean_pace"]
        out["median_pace_cm_s"] = gm.median().reindex(index)
        out["pace_p25_cm_s"] = gm.quantile(0.25).reindex(index)
        out["pace_p75_cm_s"] = gm.quantile(0.75).reindex(index)
        total = g["stroke_s"].sum()
        out["too_fast_share"] = (
            (g["too_fast_s"].sum() / total.where(total > 0)).reindex(index).fillna(0.0)
        )

    out["holds"] = g["holds"].sum().reindex(index, fill_value=0).astype(int)
    out["hold_min"] = g["hold_min"].sum().reindex(index, fill_value=0.0)
    out["warnings"] = g["warnings"].sum().reindex(index, fill_value=0).astype(int)
    region_cols = [f"region_{r}_min" for r in REGIONS]
    for col in region_cols:
        out[col] = g[col].sum().reindex(index, fill_value=0.0)

    daily = daily_summary(sessions, guidance=guidance, end=end_day)
    daily_week = week_of(pd.Series(daily.index), ws).to_numpy()
    dg = daily.groupby(daily_week)
    out["max_sessions_in_day"] = dg["sessions"].max().reindex(index, fill_value=0).astype(int)
    out["days_over_limit"] = dg["over_daily_limit"].sum().reindex(index, fill_value=0).astype(int)
    budget_min = guidance.region_weekly_budget_s / 60.0
    over = out[region_cols] > budget_min
    out["regions_over_budget"] = over.sum(axis=1).astype(int)
    # The ratio at the week's last day (today for the week in progress).
    at = daily.assign(week=daily_week).groupby("week").tail(1).set_index("week")
    out["acute_min"] = at["acute_min"].reindex(index).fillna(0.0)
    out["chronic_min_per_week"] = at["chronic_min_per_week"].reindex(index)
    out["acwr"] = at["acwr"].reindex(index).astype(float)
    out["load_band"] = [load_band(v, guidance) for v in out["acwr"].to_numpy()]
    high = out["acwr"] > guidance.acwr_high
    out["overuse"] = high | (out["days_over_limit"] > 0) | (out["regions_over_budget"] > 0)
    out["overuse_reasons"] = [
        _reasons(out.loc[w], over.loc[w], daily, w, guidance) if out.at[w, "overuse"] else ""
        for w in index
    ]
    out = out[list(WEEKLY_COLUMNS)]
    if weeks:
        out = out.loc[window[0] : window[-1]]
    return out


def _reasons(
    row: pd.Series, over: pd.Series, daily: pd.DataFrame, week: pd.Timestamp, g: Guidance
) -> str:
    parts = []
    if row["acwr"] > g.acwr_high:
        parts.append(f"load ratio {row['acwr']:.2f} > {g.acwr_high:g}")
    if row["days_over_limit"]:
        days = daily.loc[week : week + pd.Timedelta(days=6)]
        for d, n in days.loc[days["over_daily_limit"], "sessions"].items():
            parts.append(f"{n} sessions on {d:%a %d %b}")
    for col, is_over in over.items():
        if is_over:
            region = str(col).removeprefix("region_").removesuffix("_min").replace("_", " ")
            parts.append(f"{region} {row[col]:.1f} min > {g.region_weekly_budget_s / 60:g} min")
    return "; ".join(parts)


def _empty_weeks(index: pd.DatetimeIndex) -> pd.DataFrame:
    out = pd.DataFrame(index=index)
    for col in WEEKLY_COLUMNS:
        if col in ("goal_met", "overuse", "in_progress"):
            out[col] = pd.Series(False, index=index, dtype=bool)
        elif col in ("load_band", "overuse_reasons"):
            out[col] = pd.Series("", index=index, dtype=object)
        elif col in (
            "median_pace_cm_s",
            "pace_p25_cm_s",
            "pace_p75_cm_s",
            "acwr",
            "chronic_min_per_week",
        ):
            out[col] = np.nan
        elif col in ("sessions", "days_rolled", "streak_weeks", "holds", "warnings", "max_sessions_in_day",
                     "days_over_limit", "regions_over_budget"):  # fmt: skip
            out[col] = pd.Series(0, index=index, dtype=int)
        else:
            out[col] = 0.0
    return out

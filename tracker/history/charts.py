"""Charts of the weekly tables and of one session, drawn on an Axes you give.

Compute, then draw (the UpSetPlot way): `tracker.history.weekly` makes the numbers; each
`plot_*` function here draws one table on `ax` and returns it. Nothing here picks a backend, sets a
global style or calls `plt.show`; callers own the figure (a plain `matplotlib.figure.Figure` works,
see `new_figure`). Artists carry a `gid` (e.g. "sessions", "goal", "overuse") so tests and tools
can find them. An empty history draws a friendly empty state instead of failing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from tracker.guidance import REGIONS, Guidance
from tracker.history.weekly import WEEKDAYS, week_of, week_start_index

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from tracker.results import SessionAnalysis

DEFAULT_GUIDANCE = Guidance()  # frozen: safe as a shared default

EMPTY_MESSAGE = (
    "No sessions yet.\nImport a recording with `tracker import FILE`, or try `tracker demo`."
)

SESSIONS_COLOR = "#4C78A8"
MINUTES_COLOR = "#F58518"
OVERUSE_COLOR = "#D62728"
GOAL_COLOR = "#2CA02C"
NO_SESSION_COLOR = "#E8E8E8"
REGION_LABELS = {r: r.replace("_", " ") for r in REGIONS}
_LABEL_BOX = {"boxstyle": "square,pad=0.15", "facecolor": "white", "alpha": 0.75, "edgecolor": "none"}


def new_figure(
    width_in: float = 10.0,
    height_in: float = 4.0,
    *,
    fixed_margins: bool = False,
    right_in: float = 1.0,
) -> Figure:
    """A plain Figure (no pyplot, no global state).

    Constrained layout by default; `fixed_margins=True` uses fixed margins in inches instead,
    which draws about twice as fast (the report uses it: its charts have known labels).
    `right_in` is the right margin then: room for what a chart puts right of its axes (a colour
    bar and its label, a second y axis), and no more, so no chart ends in blank space.
    """
    from matplotlib.figure import Figure

    if not fixed_margins:
        return Figure(figsize=(width_in, height_in), layout="constrained")
    fig = Figure(figsize=(width_in, height_in))
    left_in, bottom_in, top_in = 1.1, 0.6, 0.4
    fig.subplots_adjust(
        left=left_in / width_in,
        right=1 - right_in / width_in,
        bottom=bottom_in / height_in,
        top=1 - top_in / height_in,
    )
    return fig


def empty_state(ax: Axes, title: str, message: str = EMPTY_MESSAGE) -> Axes:
    """Draw the 'nothing to show yet' chart."""
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, fontsize=11,
            color="0.35", gid="empty-state")  # fmt: skip
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_color("0.85")
    ax.set_title(title)
    return ax


def colour_bar(mappable: object, ax: Axes, label: str) -> object:
    """A colour bar right beside `ax`, as tall as it and narrow, in axes coordinates: it takes no
    room from the plot and leaves none empty (`Figure.colorbar(ax=...)` reserves a slot far wider
    than the bar, the blank strip the report's charts used to end in)."""
    cax = ax.inset_axes((1.012, 0.0, 0.018, 1.0))
    bar = ax.figure.colorbar(mappable, cax=cax, label=label)  # type: ignore[arg-type]
    cax.set_gid("colour-bar")
    return bar


def _week_ticks(ax: Axes, index: pd.DatetimeIndex, max_ticks: int = 12) -> None:
    step = max(1, int(np.ceil(len(index) / max_ticks)))
    ticks = np.arange(0, len(index), step)
    ax.set_xticks(ticks)
    ax.set_xticklabels([f"{index[i]:%d %b\n%Y}" if i == ticks[0] or index[i].month == 1 and index[i].day <= 7
                        else f"{index[i]:%d %b}" for i in ticks], fontsize=8)  # fmt: skip
    ax.set_xlim(-0.6, len(index) - 0.4)


def plot_weekly_consistency(
    summary: pd.DataFrame, ax: Axes, *, guidance: Guidance = DEFAULT_GUIDANCE
) -> Axes:
    """Sessions per week (bars, gid "sessions"), minutes on the roller per week (line on a twin
    axis, gid "minutes"), the weekly goal (dashed line, gid "goal") and overuse weeks (red edge
    and a marker above the bar, gid "overuse"). The week in progress (`in_progress`) is a hatched
    bar (gid "this-week") and a hollow point off the line ("this week so far", gid
    "this-week-minutes"). `summary` is `weekly_summary(...)`."""
    title = "Weekly consistency"
    if summary.empty or summary["sessions"].sum() == 0:
        return empty_state(ax, title)
    x = np.arange(len(summary))
    sessions = summary["sessions"].to_numpy(dtype=float)
    overuse = summary["overuse"].to_numpy(dtype=bool)
    if "in_progress" in summary:
        current = summary["in_progress"].to_numpy(dtype=bool)
    else:
        current = np.zeros(len(summary), dtype=bool)
    bars = ax.bar(x, sessions, width=0.75, color=SESSIONS_COLOR, label="sessions", gid="sessions")
    for bar, flagged, now in zip(bars, overuse, current, strict=True):
        if now:  # not over yet: lighter and hatched, so it does not read as a poor week
            bar.set_facecolor("white")
            bar.set_edgecolor(SESSIONS_COLOR)
            bar.set_hatch("///")
            bar.set_gid("this-week")
        if flagged and len(summary) <= 52:  # beyond a year, red edges would paint every bar
            bar.set_edgecolor(OVERUSE_COLOR)
            bar.set_linewidth(1.5)
    ax.axhline(guidance.goal_sessions_per_week, color=GOAL_COLOR, linestyle="--", linewidth=1.5,
               label=f"goal: {guidance.goal_sessions_per_week} a week", gid="goal")  # fmt: skip
    top = max(sessions.max(), guidance.goal_sessions_per_week) + 1.2
    reasons = _overuse_reasons(summary, overuse) if overuse.any() else []
    if overuse.any():
        ax.scatter(x[overuse], sessions[overuse] + 0.35, marker="v", s=30, color=OVERUSE_COLOR,
                   zorder=3, label="overuse", gid="overuse")  # fmt: skip
        top = max([top, *(h + 0.9 + 0.42 * len(lines) for h, lines in zip(sessions[overuse], reasons, strict=False))])
    ax.set_ylim(0, top + 1.0)  # the top: room for the legend
    ax.set_ylabel("sessions per week")
    from matplotlib.ticker import MaxNLocator

    locator = ax.yaxis.get_major_locator()
    if isinstance(locator, MaxNLocator):  # the default AutoLocator is one
        locator.set_params(integer=True)
    twin = ax.twinx()
    minutes = summary["rolling_min"].to_numpy(dtype=float)
    # The line joins complete weeks only: the week in progress would drag it towards zero.
    twin.plot(x[~current], minutes[~current], color=MINUTES_COLOR, marker="o", markersize=3,
              linewidth=1.2, label="minutes on the roller", gid="minutes")  # fmt: skip
    if current.any():
        twin.plot(x[current], minutes[current], linestyle="none", marker="o", markersize=5,
                  markerfacecolor="white", markeredgecolor=MINUTES_COLOR, gid="this-week-minutes",
                  label="this week so far")  # fmt: skip
    twin.set_ylim(0, max(1.0, float(summary["rolling_min"].max())) * 1.15 * (top + 1.0) / top)
    for xi, height, lines in zip(x[overuse], sessions[overuse], reasons, strict=False):
        # on the twin (drawn last), in the bars' coordinates: above the minutes line, readable
        twin.text(xi, height + 0.7, "\n".join(lines), transform=ax.transData, ha="center", va="bottom",
                  fontsize=7, color=OVERUSE_COLOR, gid="overuse-reason", linespacing=1.1, bbox=_LABEL_BOX)  # fmt: skip
    twin.set_ylabel("minutes on the roller", color=MINUTES_COLOR)
    twin.tick_params(axis="y", colors=MINUTES_COLOR)
    _week_ticks(ax, summary.index)
    ax.legend(*_consistency_legend(ax, twin, guidance, current.any(), overuse.any()),
              loc="upper left", fontsize=8, ncols=3, frameon=False)  # fmt: skip
    ax.set_title(title)
    return ax


def _overuse_reasons(summary: pd.DataFrame, overuse: np.ndarray) -> list[list[str]]:
    """Why each overuse week is one, a line per reason ("3 sessions on Wed 25 Nov", "load ratio
    1.62 > 1.5", ...), drawn above its bar while the chart is narrow enough to read (16 weeks)."""
    if len(summary) > 16:
        return []
    reasons = summary["overuse_reasons"].astype(str).to_numpy()[overuse]
    return [[part.strip() for part in why.split(";") if part.strip()] or ["overuse"] for why in reasons]


def _consistency_legend(ax: Axes, twin: Axes, g: Guidance, now: bool, overuse: bool) -> tuple[list, list]:
    """One key for every colour of the consistency chart: bars (and the hatched week in
    progress), the goal, overuse weeks (red edge and marker), the minutes line."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles: list = [Patch(facecolor=SESSIONS_COLOR, label="sessions")]
    if now:
        handles.append(Patch(facecolor="white", edgecolor=SESSIONS_COLOR, hatch="///", label="this week so far"))
    handles.append(Line2D([], [], color=GOAL_COLOR, linestyle="--", linewidth=1.5,
                          label=f"goal: {g.goal_sessions_per_week} a week"))  # fmt: skip
    if overuse:
        handles.append(Line2D([], [], color=OVERUSE_COLOR, marker="v", linestyle="none",
                              label=f"overuse (load ratio > {g.acwr_high:g}, > {g.max_sessions_per_day} sessions a day "
                                    f"or a region > {g.region_weekly_budget_s / 60:g} min a week)"))  # fmt: skip
    handles.append(Line2D([], [], color=MINUTES_COLOR, marker="o", markersize=3, label="minutes on the roller"))
    if now:
        handles.append(Line2D([], [], color=MINUTES_COLOR, marker="o", markerfacecolor="white", linestyle="none",
                              label="minutes this week so far"))  # fmt: skip
    return handles, [h.get_label() for h in handles]


def plot_pace_trend(
    summary: pd.DataFrame, ax: Axes, *, guidance: Guidance = DEFAULT_GUIDANCE
) -> Axes:
    """Weekly median stroke pace (line, gid "median-pace") with its interquartile range (band,
    gid "pace-iqr"), against the target pace (line, gid "target-pace") and the too-fast zone
    (shaded above `too_fast_pace_cm_s`, gid "too-fast-zone")."""
    title = "Rolling pace (speed of the roller along the back)"
    if summary.empty or summary["median_pace_cm_s"].notna().sum() == 0:
        return empty_state(ax, title)
    x = np.arange(len(summary))
    med = summary["median_pace_cm_s"].to_numpy(dtype=float)
    p25 = summary["pace_p25_cm_s"].to_numpy(dtype=float)
    p75 = summary["pace_p75_cm_s"].to_numpy(dtype=float)
    top = max(guidance.too_fast_pace_cm_s * 1.5, float(np.nanmax(p75)) * 1.1)
    ax.axhspan(guidance.too_fast_pace_cm_s, top, color=OVERUSE_COLOR, alpha=0.08, gid="too-fast-zone",
               label=f"too fast (> {guidance.too_fast_pace_cm_s:g} cm/s)")  # fmt: skip
    ax.axhline(guidance.target_pace_cm_s, color=GOAL_COLOR, linestyle="--", linewidth=1.2, gid="target-pace",
               label=f"target {guidance.target_pace_cm_s:g} cm/s (about 1 inch a second)")  # fmt: skip
    ax.fill_between(x, p25, p75, color=SESSIONS_COLOR, alpha=0.2, linewidth=0, gid="pace-iqr",
                    label="middle half of strokes")  # fmt: skip
    ax.plot(
        x,
        med,
        color=SESSIONS_COLOR,
        marker="o",
        markersize=3,
        label="median stroke pace",
        gid="median-pace",
    )
    ax.set_ylim(0, top)
    ax.set_ylabel("pace, cm/s")
    _week_ticks(ax, summary.index)
    ax.legend(loc="upper left", fontsize=8, ncols=2, frameon=False)
    ax.set_title(title)
    return ax


def region_matrix(summary: pd.DataFrame) -> pd.DataFrame:
    """Minutes per region (rows, lumbar first) and week (columns): the heatmap's numbers."""
    cols = [f"region_{r}_min" for r in REGIONS]
    m = summary[cols].T.astype(float)
    m.index = list(REGIONS)
    return m


def plot_region_heatmap(
    summary: pd.DataFrame, ax: Axes, *, guidance: Guidance = DEFAULT_GUIDANCE
) -> Axes:
    """Minutes per region per week as a heatmap (gid "region-heatmap"; rows from the hips up);
    cells above the weekly region budget are outlined in red (gid "over-budget")."""
    title = "Time per region each week"
    if summary.empty or summary["sessions"].sum() == 0:
        return empty_state(ax, title)
    m = region_matrix(summary)
    values = m.to_numpy()
    budget_min = guidance.region_weekly_budget_s / 60.0
    vmax = max(budget_min * 1.5, float(values.max()))
    im = ax.imshow(values, aspect="auto", origin="lower", cmap="Blues", interpolation="nearest",
                   vmin=0, vmax=vmax, gid="region-heatmap")  # fmt: skip
    rows, cols = np.nonzero(values > budget_min)
    if len(rows):
        from matplotlib.collections import PatchCollection
        from matplotlib.patches import Rectangle

        boxes = [Rectangle((c - 0.5, r - 0.5), 1, 1) for r, c in zip(rows, cols, strict=True)]
        ax.add_collection(PatchCollection(boxes, facecolor="none", edgecolor=OVERUSE_COLOR, linewidth=1.5,
                                          gid="over-budget", label=f"over {budget_min:g} min a week"))  # fmt: skip
    if values.shape[1] <= 16:
        for (r, c), v in np.ndenumerate(values):
            if v > 0:
                ax.text(c, r, f"{v:.0f}", ha="center", va="center", fontsize=7,
                        color="white" if v > vmax * 0.6 else "0.2")  # fmt: skip
    ax.set_yticks(range(len(REGIONS)))
    ax.set_yticklabels([REGION_LABELS[r] for r in REGIONS], fontsize=8)
    _week_ticks(ax, summary.index)
    colour_bar(im, ax, "minutes on the roller")
    if len(rows):
        from matplotlib.patches import Patch

        ax.legend(handles=[Patch(facecolor="none", edgecolor=OVERUSE_COLOR, linewidth=1.5,
                                 label=f"over {budget_min:g} min a week: overuse")],
                  loc="lower left", bbox_to_anchor=(0.0, 1.0), fontsize=8, frameon=False, borderaxespad=0.1)  # fmt: skip
        ax.set_title(title, loc="right")
    else:
        ax.set_title(title)
    return ax


def calendar_grid(daily: pd.DataFrame, *, week_start: str = "monday") -> pd.DataFrame:
    """Minutes on the roller per day arranged as weekdays (rows, from `week_start`) by weeks
    (columns); days outside the history are NaN. `daily` is `daily_summary(...)`."""
    start = week_start_index(week_start)
    order = [WEEKDAYS[(start + i) % 7] for i in range(7)]
    if daily.empty:
        return pd.DataFrame(index=order, dtype=float)
    days = pd.Series(daily.index, index=daily.index)
    weeks = week_of(days, week_start)
    row = ((days.dt.day_of_week - start) % 7).to_numpy()
    cols = pd.DatetimeIndex(sorted(set(weeks)))
    grid = np.full((7, len(cols)), np.nan)
    grid[row, cols.get_indexer(weeks)] = daily["rolling_min"].to_numpy(dtype=float)
    return pd.DataFrame(grid, index=order, columns=cols)


def plot_calendar(grid: pd.DataFrame, ax: Axes) -> Axes:
    """Days rolled as a calendar (weekday rows by week columns, colour = minutes; gid "calendar")."""
    title = "Days rolled"
    values = grid.to_numpy(dtype=float)
    if values.size == 0 or np.nansum(values) == 0:
        return empty_state(ax, title)
    shown = np.where(values > 0, values, np.nan)
    from matplotlib.colors import ListedColormap

    # Days in the history without rolling are light grey; days outside it stay blank.
    ax.imshow(np.where(np.isnan(values), np.nan, 0.0), aspect="auto", cmap=ListedColormap([NO_SESSION_COLOR]),
              interpolation="nearest", gid="no-session")  # fmt: skip
    im = ax.imshow(shown, aspect="auto", cmap="Greens", vmin=0, vmax=max(10.0, float(np.nanmax(values))),
                   interpolation="nearest", gid="calendar")  # fmt: skip
    ax.set_yticks(range(7))
    ax.set_yticklabels([d[:3].title() for d in grid.index], fontsize=8)
    _week_ticks(ax, pd.DatetimeIndex(grid.columns))
    colour_bar(im, ax, "minutes")
    from matplotlib.patches import Patch

    # the grey has no place on the colour bar (0 minutes is white there): it gets its own key
    handles = [Patch(facecolor=NO_SESSION_COLOR, edgecolor="0.8", label="no session that day")]
    if np.isnan(values).any():
        handles.append(Patch(facecolor="white", edgecolor="0.8", label="not in your history (before the first session, after today)"))
    ax.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.0, 1.0), fontsize=8, ncols=2,
              frameon=False, borderaxespad=0.1)  # fmt: skip
    ax.set_title(title, loc="right")
    return ax


def plot_session_timeline(
    analysis: SessionAnalysis, ax: Axes, *, guidance: Guidance = DEFAULT_GUIDANCE
) -> Axes:
    """One session: roller position along the back over time (grey line, gid "position"), strokes
    coloured by pace (gid "strokes"), holds as dark bars at their position (gid "holds"), warnings
    as red spans in rows of their own above the back (an inset axes, gid "warning-rows"), region
    bands in the background, labelled; a colour bar for the pace."""
    from matplotlib.collections import LineCollection
    from matplotlib.colors import Normalize

    title = "Session timeline"
    if not analysis.strokes and not analysis.holds and not analysis.position_track:
        return empty_state(ax, title, "Nothing detected on the roller in this session.")
    length = guidance.hip_to_neck_cm
    shades = ("#F3E5E5", "#EEF2F7", "#E4EBF3", "#EEF2F7")
    for (name, lo, hi), shade in zip(guidance.region_bounds_cm(), shades, strict=True):
        ax.axhspan(lo, hi, color=shade, zorder=0, gid=f"region-{name}")
        # Above the track (zorder) on a white box: the line never runs through the words.
        ax.text(0.005, (lo + hi) / 2, REGION_LABELS[name], transform=ax.get_yaxis_transform(), fontsize=7,
                va="center", ha="left", color="0.35", zorder=5, gid="label-region", bbox=_LABEL_BOX)  # fmt: skip
    track = np.asarray(analysis.position_track, dtype=float).reshape(-1, 2)
    if len(track):
        ax.plot(
            track[:, 0] / 60,
            track[:, 1],
            color="0.6",
            linewidth=0.8,
            gid="position",
            label="roller position",
        )
    segments, paces = [], []
    for s in analysis.strokes:
        if len(track):
            inside = (track[:, 0] >= s.start_s) & (track[:, 0] <= s.end_s)
            seg = track[inside]
            if len(seg) < 2 and s.start_cm is not None and s.end_cm is not None:
                seg = np.array([[s.start_s, s.start_cm], [s.end_s, s.end_cm]])
        elif s.start_cm is not None and s.end_cm is not None:
            seg = np.array([[s.start_s, s.start_cm], [s.end_s, s.end_cm]])
        else:
            continue
        if len(seg) >= 2:
            segments.append(np.column_stack([seg[:, 0] / 60, seg[:, 1]]))
            paces.append(s.pace_cm_s)
    norm = Normalize(0, guidance.too_fast_pace_cm_s * 1.5)
    lc = LineCollection(segments, array=np.asarray(paces, dtype=float), cmap="RdYlGn_r", norm=norm,
                        linewidths=2.2, gid="strokes")  # fmt: skip
    ax.add_collection(lc)
    colour_bar(lc, ax, "stroke pace, cm/s")
    if analysis.holds:
        ax.hlines([h.position_cm for h in analysis.holds], [h.start_s / 60 for h in analysis.holds],
                  [h.end_s / 60 for h in analysis.holds], colors="black", linewidth=5, gid="holds",
                  label="hold")  # fmt: skip
    end_min = max([analysis.duration_s / 60, *(seg[-1, 0] for seg in segments)])
    ax.set_xlim(0, end_min)
    top = length * 1.03
    if analysis.warnings:
        top = _warning_rows(analysis, ax, top, end_min)
    ax.set_ylim(0, top)
    ax.set_yticks([t for t in ax.get_yticks() if 0 <= t <= length])
    ax.set_xlabel("minutes from the start")
    ax.set_ylabel("position along the back, cm from the hips (estimate)")
    ax.legend(loc="lower right", fontsize=7, framealpha=0.8, ncols=3)
    ax.set_title(title)
    return ax


WARNING_ROW_AXES = 0.075
"""Height of one warning row, as a fraction of the timeline's axes."""


def _warning_rows(analysis: SessionAnalysis, ax: Axes, back_top: float, end_min: float) -> float:
    """The warnings in a panel of their own across the top of the timeline (gid "warning-rows"):
    one row per kind, labelled "warning: <kind>", over a white ground and under a rule, so no
    row reads as a region of the back. Returns the y limit that keeps the back below the panel."""
    from matplotlib.lines import Line2D

    kinds = list(dict.fromkeys(w.kind for w in analysis.warnings))
    height = min(0.4, WARNING_ROW_AXES * len(kinds) + 0.03)
    rows = ax.inset_axes((0.0, 1.0 - height, 1.0, height), sharex=ax)
    rows.set_gid("warning-rows")
    rows.set_facecolor("white")
    rows.set_ylim(len(kinds) - 0.4, -0.6)  # first kind on top
    rows.set_yticks([])
    rows.tick_params(axis="x", bottom=False, labelbottom=False)
    for side in ("left", "right", "top"):
        rows.spines[side].set_visible(False)
    rows.spines["bottom"].set_color("0.4")
    ys = [kinds.index(w.kind) for w in analysis.warnings]
    rows.hlines(ys, [w.start_s / 60 for w in analysis.warnings],
                [max(w.end_s, w.start_s + 5) / 60 for w in analysis.warnings],
                colors=OVERUSE_COLOR, linewidth=3, gid="warnings")  # fmt: skip
    for i, kind in enumerate(kinds):
        rows.text(0.005, i, f"warning: {kind.replace('_', ' ')}", transform=rows.get_yaxis_transform(),
                  fontsize=7, color=OVERUSE_COLOR, va="center", ha="left", zorder=5,
                  gid="warning-row-label", bbox=_LABEL_BOX)  # fmt: skip
    rows.set_xlim(0, end_min)
    # the key for the red rows lives in the timeline's legend, with the other marks
    ax.add_line(Line2D([], [], color=OVERUSE_COLOR, linewidth=3, label="warning (rows at the top)"))
    return back_top / (1.0 - height)

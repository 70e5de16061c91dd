"""Charts draw exactly the computed numbers: checked on the artists of a plain Figure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import crafted_session, local
from matplotlib.figure import Figure

from tracker.guidance import REGIONS, Guidance
from tracker.history import SessionStore, charts
from tracker.history.weekly import daily_summary, weekly_summary


@pytest.fixture
def history():
    """Weeks of 6 Jan (3 sessions), 13 Jan (none), 20 Jan (3 in one day + 1: overuse)."""
    times = ["2025-01-06T07:00", "2025-01-07T07:00", "2025-01-09T07:00",
             "2025-01-20T07:00", "2025-01-20T12:00", "2025-01-20T19:00", "2025-01-22T07:00"]  # fmt: skip
    with SessionStore() as store:
        for k, t in enumerate(times):
            store.add_session(
                crafted_session(5.0 + k, paces_cm_s=(2.0 + k, 3.0 + k)),
                start_utc=local(t),
                timezone="Europe/Berlin",
            )
        sessions, strokes = store.sessions(), store.stroke_paces()
    return sessions, strokes


def _by_gid(ax, gid):
    in_bars = {id(p) for c in ax.containers for p in c}
    found = [a for a in ax.get_children() if a.get_gid() == gid and id(a) not in in_bars]
    found += [c for c in ax.containers if c.get_label() == gid]  # bar containers: by label
    return found


def test_weekly_consistency_bars_goal_and_overuse(history):
    sessions, strokes = history
    g = Guidance(goal_sessions_per_week=3)
    summary = weekly_summary(sessions, strokes, guidance=g, end=pd.Timestamp("2025-01-26"))
    ax = charts.plot_weekly_consistency(summary, Figure().add_subplot(), guidance=g)
    (bars,) = _by_gid(ax, "sessions")
    assert [b.get_height() for b in bars] == list(summary["sessions"]) == [3, 0, 4]
    (goal,) = _by_gid(ax, "goal")
    assert list(goal.get_ydata()) == [3, 3]
    (marks,) = _by_gid(ax, "overuse")
    assert marks.get_offsets()[:, 0].tolist() == [2.0]  # only the week with 3 sessions on one day
    twin = [a for a in ax.figure.axes if a is not ax][0]
    (minutes,) = [line for line in twin.get_lines() if line.get_gid() == "minutes"]
    np.testing.assert_allclose(minutes.get_ydata(), summary["rolling_min"].to_numpy())
    assert [t.get_text() for t in ax.get_xticklabels()][0].startswith("06 Jan")


def test_pace_trend_line_band_and_guidelines(history):
    sessions, strokes = history
    summary = weekly_summary(sessions, strokes, end=pd.Timestamp("2025-01-26"))
    ax = charts.plot_pace_trend(summary, Figure().add_subplot())
    (median,) = _by_gid(ax, "median-pace")
    np.testing.assert_allclose(median.get_ydata(), summary["median_pace_cm_s"].to_numpy())
    assert np.isnan(median.get_ydata()[1])  # the empty week is a gap, not a zero
    (target,) = _by_gid(ax, "target-pace")
    assert list(target.get_ydata()) == [2.5, 2.5]
    (zone,) = _by_gid(ax, "too-fast-zone")
    assert zone.get_bbox().y0 == pytest.approx(5.0)  # the span starts at the too-fast threshold


def test_region_heatmap_values(history):
    sessions, strokes = history
    summary = weekly_summary(sessions, strokes, end=pd.Timestamp("2025-01-26"))
    ax = charts.plot_region_heatmap(summary, Figure().add_subplot())
    (image,) = _by_gid(ax, "region-heatmap")
    expected = np.array([[summary[f"region_{r}_min"].iloc[w] for w in range(3)] for r in REGIONS])
    np.testing.assert_allclose(image.get_array(), expected)
    # first week: sessions of 5, 6, 7 min split evenly over 4 regions -> 4.5 min each
    np.testing.assert_allclose(expected[:, 0], 4.5)
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "lumbar",
        "lower thoracic",
        "mid thoracic",
        "upper thoracic",
    ]


def test_calendar_grid_places_days_by_weekday(history):
    sessions, _ = history
    daily = daily_summary(sessions, end=pd.Timestamp("2025-01-26"))
    grid = charts.calendar_grid(daily)
    assert list(grid.index[:2]) == ["monday", "tuesday"]
    assert (
        grid.loc["monday", pd.Timestamp("2025-01-20")] == 8 + 9 + 10
    )  # the three sessions that Monday (k = 3, 4, 5)
    assert grid.loc["thursday", pd.Timestamp("2025-01-06")] == 7.0
    assert grid.loc["friday", pd.Timestamp("2025-01-06")] == 0.0
    ax = charts.plot_calendar(grid, Figure().add_subplot())
    (image,) = _by_gid(ax, "calendar")
    shown = np.ma.filled(image.get_array().astype(float), np.nan)
    assert shown[0, 2] == 27.0 and np.isnan(shown[4, 0])  # days without rolling are not coloured
    sunday_grid = charts.calendar_grid(daily, week_start="sunday")
    assert sunday_grid.loc["monday", pd.Timestamp("2025-01-19")] == 27.0


def test_session_timeline_artists():
    a = crafted_session(2.0, paces_cm_s=(2.0, 6.0), holds=2, warnings=1)
    ax = charts.plot_session_timeline(a, Figure().add_subplot())
    (strokes,) = _by_gid(ax, "strokes")
    assert strokes.get_array().tolist() == [2.0, 6.0]
    assert len(strokes.get_segments()) == 2
    (holds,) = _by_gid(ax, "holds")
    assert [seg[0][1] for seg in holds.get_segments()] == [30.0, 30.0]
    (rows,) = [child for child in ax.child_axes if child.get_gid() == "warning-rows"]
    (warnings,) = _by_gid(rows, "warnings")
    np.testing.assert_allclose(warnings.get_segments()[0][:, 0], [30 / 60, 40 / 60])
    bands = [c for c in ax.get_children() if str(c.get_gid()).startswith("region-")]
    assert len(bands) == 4


def test_empty_history_draws_a_friendly_empty_state():
    with SessionStore() as store:
        sessions = store.sessions()
    summary = weekly_summary(sessions, weeks=8)
    for plot in (
        charts.plot_weekly_consistency,
        charts.plot_pace_trend,
        charts.plot_region_heatmap,
    ):
        ax = plot(summary, Figure().add_subplot())
        (text,) = _by_gid(ax, "empty-state")
        assert "tracker import" in text.get_text()
    ax = charts.plot_calendar(charts.calendar_grid(daily_summary(sessions)), Figure().add_subplot())
    assert _by_gid(ax, "empty-state")


def test_charts_never_touch_pyplot_state():
    import sys

    import matplotlib

    before = dict(matplotlib.rcParams)
    charts.plot_session_timeline(crafted_session(1.0), charts.new_figure().add_subplot())
    assert dict(matplotlib.rcParams) == before
    assert (
        "matplotlib.pyplot" not in sys.modules
        or not __import__("matplotlib.pyplot").pyplot.get_fignums()
    )

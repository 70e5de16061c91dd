"""The week in progress never breaks the streak and is not drawn as a poor week."""

from __future__ import annotations

import pandas as pd
from conftest import crafted_session, local
from matplotlib.figure import Figure

from tracker.guidance import Guidance
from tracker.history import SessionStore, charts
from tracker.history.report import write_report
from tracker.history.weekly import weekly_summary

G = Guidance(goal_sessions_per_week=3)


def _sessions(days: list[str]) -> pd.DataFrame:
    with SessionStore() as store:
        for d in days:
            store.add_session(crafted_session(), start_utc=local(f"{d}T07:00"), timezone="Europe/Berlin")
        return store.sessions()


# two complete weeks meeting the goal of 3: 6-12 Jan and 13-19 Jan 2025
TWO_GOOD_WEEKS = ["2025-01-06", "2025-01-08", "2025-01-10", "2025-01-13", "2025-01-15", "2025-01-17"]


def test_on_monday_last_weeks_streak_still_stands():
    weeks = weekly_summary(_sessions(TWO_GOOD_WEEKS), guidance=G, end=pd.Timestamp("2025-01-20"))
    assert list(weeks["in_progress"]) == [False, False, True]
    assert list(weeks["streak_weeks"]) == [1, 2, 2]


def test_the_week_in_progress_joins_the_streak_once_it_meets_the_goal():
    days = [*TWO_GOOD_WEEKS, "2025-01-20", "2025-01-21", "2025-01-22"]
    weeks = weekly_summary(_sessions(days), guidance=G, end=pd.Timestamp("2025-01-22"))
    assert list(weeks["streak_weeks"]) == [1, 2, 3]


def test_a_complete_week_below_the_goal_still_breaks_it():
    weeks = weekly_summary(_sessions(TWO_GOOD_WEEKS), guidance=G, end=pd.Timestamp("2025-01-27"))
    assert list(weeks["in_progress"]) == [False, False, False, True]
    assert list(weeks["streak_weeks"]) == [1, 2, 0, 0]


def test_report_headline_on_a_monday(tmp_path):
    _sessions(TWO_GOOD_WEEKS)
    report = write_report(out_dir=tmp_path / "r", weeks=4, guidance=G, end=pd.Timestamp("2025-01-20").date())
    assert "2 week(s) meeting the goal" in report.html.read_text()


def test_the_week_in_progress_is_drawn_apart_from_the_minutes_line():
    weeks = weekly_summary(_sessions(TWO_GOOD_WEEKS), guidance=G, end=pd.Timestamp("2025-01-20"))
    ax = charts.plot_weekly_consistency(weeks, Figure().add_subplot(), guidance=G)
    twin = [a for a in ax.figure.axes if a is not ax][0]
    (line,) = [ln for ln in twin.get_lines() if ln.get_gid() == "minutes"]
    assert list(line.get_xdata()) == [0, 1]  # complete weeks only: no drop to 0 at the end
    (now,) = [ln for ln in twin.get_lines() if ln.get_gid() == "this-week-minutes"]
    assert list(now.get_xdata()) == [2] and now.get_label() == "this week so far"
    hatched = [p for p in ax.patches if p.get_gid() == "this-week"]
    assert len(hatched) == 1 and hatched[0].get_hatch()

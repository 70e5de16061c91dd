"""Weekly tables: local weeks across midnight and DST, streaks, pace, load ratio and overuse."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import crafted_session, local

from tracker.guidance import Guidance
from tracker.history import SessionStore
from tracker.history.weekly import daily_summary, load_band, weekly_summary


def _store_at(
    times: list[str], tz: str = "Europe/Berlin", minutes: float = 10.0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    with SessionStore() as store:
        for t in times:
            store.add_session(crafted_session(minutes), start_utc=local(t, tz), timezone=tz)
        return store.sessions(), store.stroke_paces()


@pytest.mark.parametrize(
    ("sunday", "monday"),
    [
        ("2025-03-30", "2025-03-31"),  # summer time starts Sunday 30 March 02:00 -> 03:00
        ("2025-10-26", "2025-10-27"),  # summer time ends Sunday 26 October 03:00 -> 02:00
    ],
)
def test_midnight_sessions_land_in_their_local_week_across_dst(sunday, monday):
    sessions, _ = _store_at([f"{sunday}T23:30", f"{monday}T00:30"])
    # In UTC both sessions fall on Sunday; in Berlin the second one is on Monday.
    assert list(sessions["start_utc"].dt.day) == [int(sunday[-2:])] * 2
    weeks = weekly_summary(sessions, end=pd.Timestamp(monday))
    sun = pd.Timestamp(sunday)
    assert list(weeks.index) == [sun - pd.Timedelta(days=6), pd.Timestamp(monday)]
    assert list(weeks["sessions"]) == [1, 1]
    assert list(weeks["days_rolled"]) == [1, 1]


def test_sunday_week_start_moves_the_boundary():
    sessions, _ = _store_at(
        ["2025-03-29T23:30", "2025-03-30T00:30"]
    )  # Saturday night, Sunday morning
    monday_weeks = weekly_summary(sessions, end=pd.Timestamp("2025-03-30"))
    sunday_weeks = weekly_summary(
        sessions, guidance=Guidance(week_start="sunday"), end=pd.Timestamp("2025-03-30")
    )
    assert list(monday_weeks["sessions"]) == [2]
    assert list(sunday_weeks.index) == [pd.Timestamp("2025-03-23"), pd.Timestamp("2025-03-30")]
    assert list(sunday_weeks["sessions"]) == [1, 1]


def test_sessions_keep_their_own_offset_after_travel():
    with SessionStore() as store:
        # Sunday 23:00 in New York is Monday 05:00 in Berlin: it was Sunday for the person rolling.
        store.add_session(
            crafted_session(),
            start_utc=local("2025-06-01T23:00", "America/New_York"),
            timezone="America/New_York",
        )
        sessions = store.sessions()
    weeks = weekly_summary(sessions, end=pd.Timestamp("2025-06-01"))
    assert list(weeks.index) == [pd.Timestamp("2025-05-26")]


def test_empty_weeks_are_zero_rows_and_streaks_count_goal_weeks():
    # week of 6 Jan: 3 sessions (goal), 13 Jan: 3 (goal), 20 Jan: none, 27 Jan: 4 (goal)
    times = ["2025-01-06T07:00", "2025-01-08T07:00", "2025-01-10T07:00",
             "2025-01-13T07:00", "2025-01-14T07:00", "2025-01-15T07:00",
             "2025-01-27T07:00", "2025-01-28T07:00", "2025-01-29T07:00", "2025-01-29T20:00"]  # fmt: skip
    sessions, strokes = _store_at(times)
    weeks = weekly_summary(sessions, strokes, end=pd.Timestamp("2025-02-02"))
    assert list(weeks.index.strftime("%m-%d")) == ["01-06", "01-13", "01-20", "01-27"]
    assert list(weeks["sessions"]) == [3, 3, 0, 4]
    assert list(weeks["days_rolled"]) == [3, 3, 0, 3]
    assert list(weeks["rolling_min"]) == [30.0, 30.0, 0.0, 40.0]
    assert list(weeks["goal_met"]) == [True, True, False, True]
    assert list(weeks["streak_weeks"]) == [1, 2, 0, 1]
    assert weeks["median_pace_cm_s"].isna().tolist() == [False, False, True, False]


def test_weeks_window_keeps_history_for_streak():
    times = [f"2025-01-{d:02d}T07:00" for d in (6, 7, 8, 13, 14, 15, 20, 21, 22)]
    sessions, _ = _store_at(times)
    weeks = weekly_summary(sessions, weeks=2, end=pd.Timestamp("2025-01-26"))
    assert list(weeks.index.strftime("%m-%d")) == ["01-13", "01-20"]
    assert list(weeks["streak_weeks"]) == [2, 3]
    # a window reaching past the history shows zero weeks, not missing ones
    later = weekly_summary(sessions, weeks=3, end=pd.Timestamp("2025-02-09"))
    assert list(later["sessions"]) == [3, 0, 0]


def test_pace_median_and_too_fast_share_from_strokes():
    with SessionStore() as store:
        # one session: strokes of 10 s at 2, 3, 6, 7 cm/s -> median 4.5, too fast (> 5) 20 of 40 s
        store.add_session(
            crafted_session(paces_cm_s=(2.0, 3.0, 6.0, 7.0)),
            start_utc=local("2025-01-07T07:00"),
            timezone="Europe/Berlin",
        )
        # another: 10 s at 2 cm/s and 30 s... (3 strokes) at 4 -> week too fast share 20 / 80
        store.add_session(
            crafted_session(paces_cm_s=(2.0, 4.0, 4.0, 4.0)),
            start_utc=local("2025-01-08T07:00"),
            timezone="Europe/Berlin",
        )
        sessions, strokes = store.sessions(), store.stroke_paces()
    week = weekly_summary(sessions, strokes, end=pd.Timestamp("2025-01-12")).iloc[0]
    assert week["median_pace_cm_s"] == pytest.approx(np.median([2, 3, 6, 7, 2, 4, 4, 4]))
    assert week["too_fast_share"] == pytest.approx(20 / 80)
    # without the stroke table: stored per-session fractions weighted by stroke time give the same share
    assert weekly_summary(sessions, end=pd.Timestamp("2025-01-12")).iloc[0][
        "too_fast_share"
    ] == pytest.approx(20 / 80)


def test_load_ratio_on_a_crafted_history():
    """Four steady weeks (3 x 10 min), then a spike (6 x 10 min), then a light week (1 x 10 min).

    By hand, at the end of each week (Sundays):
      week 4: acute 30, chronic (30+30+30+30)/4 = 30    -> 1.00 normal
      week 5: acute 60, chronic (30+30+30+60)/4 = 37.5  -> 1.60 high
      week 6: acute 10, chronic (30+30+60+10)/4 = 32.5  -> 0.3077 low
    Weeks 1-3 have less than 28 days of history: undefined.
    """
    mondays = pd.date_range("2025-01-06", periods=6, freq="7D")
    times = []
    for k, monday in enumerate(mondays):
        n = {4: 6, 5: 1}.get(k, 3)
        times += [f"{(monday + pd.Timedelta(days=d)):%Y-%m-%d}T07:00" for d in range(n)]
    sessions, _ = _store_at(times)
    weeks = weekly_summary(sessions, end=pd.Timestamp("2025-02-16"))
    assert weeks["acwr"].iloc[:3].isna().all()
    assert weeks["acwr"].iloc[3:].to_numpy() == pytest.approx([1.0, 1.6, 10 / 32.5])
    assert list(weeks["chronic_min_per_week"].iloc[3:]) == pytest.approx([30.0, 37.5, 32.5])
    assert list(weeks["load_band"]) == ["", "", "", "normal", "high", "low"]
    assert list(weeks["overuse"]) == [False, False, False, False, True, False]
    assert "load ratio 1.60" in weeks["overuse_reasons"].iloc[4]
    # Mid-week, Wed 12 Feb: acute = 6, 7, 8 Feb (spike week) + Mon 10 Feb = 40 min; chronic
    # = 16 Jan..12 Feb = weeks of 20 Jan (3) + 27 Jan (3) + 3 Feb (6) + 10 Feb (1) = 130 / 4.
    daily = daily_summary(sessions, end=pd.Timestamp("2025-02-16"))
    day = daily.loc["2025-02-12"]
    assert (day["acute_min"], day["chronic_min_per_week"]) == (40.0, 32.5)
    assert day["acwr"] == pytest.approx(40 / 32.5)
    assert (
        daily.loc["2025-01-06":"2025-02-01", "acwr"].isna().all()
    )  # 27 days of history: undefined
    assert daily.loc["2025-02-02", "acwr"] == pytest.approx(30 / 30)


def test_load_bands_follow_domain_numbers():
    g = Guidance()
    assert [load_band(v, g) for v in (0.5, 0.8, 1.3, 1.31, 1.5, 1.51, float("nan"))] == [
        "low", "normal", "normal", "elevated", "elevated", "high", ""]  # fmt: skip


def test_more_sessions_in_a_day_than_allowed_is_overuse():
    sessions, _ = _store_at(
        ["2025-01-07T07:00", "2025-01-07T12:00", "2025-01-07T21:00", "2025-01-09T07:00"]
    )
    week = weekly_summary(sessions, end=pd.Timestamp("2025-01-12")).iloc[0]
    assert (week["max_sessions_in_day"], week["days_over_limit"], bool(week["overuse"])) == (
        3,
        1,
        True,
    )
    assert "3 sessions on Tue 07 Jan" in week["overuse_reasons"]
    two = weekly_summary(_store_two_a_day(), end=pd.Timestamp("2025-01-19")).iloc[-1]
    assert (two["days_over_limit"], bool(two["overuse"])) == (0, False)


def _store_two_a_day() -> pd.DataFrame:
    with SessionStore() as store:
        for t in ("2025-01-14T07:00", "2025-01-14T20:00"):
            store.add_session(crafted_session(3.0), start_utc=local(t), timezone="Europe/Berlin")
        return store.sessions()


def test_region_beyond_weekly_budget_is_overuse():
    with SessionStore() as store:
        for day in (
            6,
            8,
            10,
        ):  # 3 x 4 min lumbar = 12 min > 10 min budget; mid thoracic 3 x 3 = 9 min
            store.add_session(crafted_session(7.0, regions_s={"lumbar": 240.0, "mid_thoracic": 180.0}),
                              start_utc=local(f"2025-01-{day:02d}T07:00"), timezone="Europe/Berlin")  # fmt: skip
        sessions = store.sessions()
    week = weekly_summary(sessions, end=pd.Timestamp("2025-01-12")).iloc[0]
    assert week["region_lumbar_min"] == 12.0 and week["region_mid_thoracic_min"] == 9.0
    assert week["regions_over_budget"] == 1 and bool(week["overuse"])
    assert week["overuse_reasons"] == "lumbar 12.0 min > 10 min"
    relaxed = weekly_summary(
        sessions, guidance=Guidance(region_weekly_budget_s=900), end=pd.Timestamp("2025-01-12")
    )
    assert not relaxed["overuse"].iloc[0]


def test_empty_history_gives_zero_weeks_or_an_empty_table():
    with SessionStore() as store:
        sessions = store.sessions()
    assert weekly_summary(sessions).empty
    weeks = weekly_summary(sessions, weeks=4, end=pd.Timestamp("2025-01-15"))
    assert (
        len(weeks) == 4
        and weeks["sessions"].sum() == 0
        and weeks.index[-1] == pd.Timestamp("2025-01-13")
    )
    assert daily_summary(sessions).empty


def test_bad_week_start_names_the_choices():
    with pytest.raises(ValueError, match="monday, tuesday"):
        weekly_summary(_store_two_a_day(), guidance=Guidance(week_start="funday"))

"""Helpers for the history tests: crafted analysed sessions with numbers you can add up by hand."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tracker.guidance import REGIONS
from tracker.results import Hold, SessionAnalysis, SessionWarning, Stroke


def crafted_session(
    on_roller_min: float = 10.0,
    *,
    paces_cm_s: tuple[float, ...] = (2.5, 2.5),
    stroke_s: float = 10.0,
    regions_s: dict[str, float] | None = None,
    holds: int = 1,
    warnings: int = 0,
) -> SessionAnalysis:
    """A session whose every number is chosen: strokes of `stroke_s` seconds at the given paces."""
    strokes = []
    t = 30.0
    for i, pace in enumerate(paces_cm_s):
        strokes.append(
            Stroke(
                t,
                t + stroke_s,
                pace * stroke_s,
                pace,
                "mid_thoracic",
                "toward_head" if i % 2 == 0 else "toward_hips",
                "hips_down",
                20.0,
                20.0 + pace * stroke_s,
            )
        )
        t += stroke_s
    hold_list = [
        Hold(t + 20 * k, t + 20 * k + 15.0, 15.0, 30.0, "mid_thoracic") for k in range(holds)
    ]
    warning_list = [SessionWarning("too_fast", 30.0, 40.0, "slow down", 6.0) for _ in range(warnings)]
    return SessionAnalysis(
        duration_s=on_roller_min * 60 + 60,
        on_roller_s=on_roller_min * 60,
        rolling_s=stroke_s * len(paces_cm_s),
        strokes=strokes,
        holds=hold_list,
        warnings=warning_list,
        region_time_s=dict(regions_s or {r: on_roller_min * 15 for r in REGIONS}),  # a quarter each
        position_track=[
            (30.0 + 0.5 * i, 20.0 + (i % 40) * 0.5) for i in range(int(on_roller_min * 120))
        ],
        posture="hips_down",
        parameters={"guidance": {"too_fast_pace_cm_s": 5.0}, "roller_diameter_cm": 15.0},
        tracker_version="0.1.0-test",
    )


def local(text: str, tz: str = "Europe/Berlin") -> datetime:
    """A wall-clock time in `tz` as an aware datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz))


@pytest.fixture
def make_session():
    return crafted_session


@pytest.fixture
def at_local():
    return local

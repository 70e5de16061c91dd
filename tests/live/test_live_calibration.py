"""Live checks a stored calibration against the data, as offline does (issue 8, item 1).

A calibration from pairing that no longer fits (the strap was put on another way) is found out
once enough lying on the roller is in, and the stretch so far is analysed again with the axes
inferred from the samples: the session ends as the offline analysis and the simulator's truth
say. Without the check the whole session reads as nothing (no stroke, no hold).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from _live_helpers import assert_holds_agree, run_live, simulate

from tracker.analysis import analyze
from tracker.imu import MountingCalibration

pytestmark = pytest.mark.slow  # every module fixture replays sessions live


def _turned_about_the_long_axis(rotation: np.ndarray, degrees: float) -> np.ndarray:
    a = np.radians(degrees)
    rz = np.array([[np.cos(a), -np.sin(a), 0.0], [np.sin(a), np.cos(a), 0.0], [0.0, 0.0, 1.0]])
    return rz @ rotation


@pytest.fixture(scope="module")
def wrong():
    sim = simulate(5)
    cal = MountingCalibration(
        _turned_about_the_long_axis(sim.recording.calibration.sensor_to_body, 90.0), source="pairing"
    )
    rec = replace(sim.recording, calibration=cal)
    off = analyze(rec, sim.truth.guidance)
    live, events = run_live(rec, sim.truth.guidance, cal)
    return sim, off, live, events


def test_a_calibration_that_does_not_fit_is_replaced_by_the_inferred_axes(wrong):
    sim, off, live, events = wrong
    assert any("does not fit this recording" in n for n in off.notes)
    assert any("does not fit this recording" in n for n in live.notes)
    again = [n for n in live.notes if "analysed again" in n]
    assert len(again) == 1
    # found out within the first minute, once 20 s of lying were in (not at the 180 s limit)
    ready = [e.t_s for e in events if e.kind == "axes_ready"]
    assert len(ready) == 1 and ready[0] <= 70.0, ready


def test_after_the_check_live_agrees_with_offline_and_the_truth(wrong):
    sim, off, live, _events = wrong
    minutes = sim.recording.duration_s / 60.0
    assert abs(len(live.strokes) - len(off.strokes)) <= minutes
    assert abs(len(live.strokes) - len(sim.truth.strokes)) <= minutes
    assert_holds_agree(5, off, live, sim.truth.holds)
    assert {w.kind for w in live.warnings} == {w.kind for w in off.warnings} == sim.truth.expected_warning_kinds()


def test_a_calibration_that_fits_is_kept_and_nothing_is_analysed_twice():
    sim = simulate(7, duration_s=120.0)
    rec = sim.recording
    live, events = run_live(rec, sim.truth.guidance, rec.calibration)
    assert live.axes.checked
    np.testing.assert_allclose(live.axes.rotation, rec.calibration.sensor_to_body)
    assert not [n for n in live.notes if "analysed again" in n or "does not fit" in n]
    assert not [e for e in events if e.kind == "axes_ready"]  # known from the start

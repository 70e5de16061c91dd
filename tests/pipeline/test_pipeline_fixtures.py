"""The committed fixture captures: they replay through the live decode path, stay in step with the
simulator that made them, and analyse to their ground truth."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tracker.analysis import analyze
from tracker.analysis.evaluation import score_session
from tracker.capture import load_capture, read_capture
from tracker.simulate import GroundTruth, random_script, simulate_session

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
NAMES = ("hips_down", "bridge", "dropped_link")


def _meta(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.meta.json").read_text())


def _truth(name: str) -> GroundTruth:
    return GroundTruth.from_json(json.loads((FIXTURES / f"{name}.truth.json").read_text()))


@pytest.mark.parametrize("name", NAMES)
def test_fixture_decodes_cleanly_and_carries_identity(name):
    contents = read_capture(FIXTURES / f"{name}.capture")
    assert contents.complete and contents.cut_at_byte is None and not contents.corrupt_spans
    assert contents.header["sensor"]["name"].startswith("TRK-")
    assert contents.header["settings"]["sample_rate_hz"] == _meta(name)["sampling_rate_hz"]
    recording = load_capture(FIXTURES / f"{name}.capture")
    decode = recording.source["decode"]
    assert decode["duplicates"] == 0
    assert sum(decode["malformed"].values()) == 0
    assert len(recording) == _meta(name)["samples_recorded"]


@pytest.mark.parametrize("name", ["hips_down", "bridge"])
def test_fixture_samples_equal_the_simulator_bit_for_bit(name):
    """The capture holds exactly the counts the simulator makes for its script and seed: a change
    to the simulator or the decoder that alters samples shows here (then regenerate the fixtures
    with `python fixtures/make_fixtures.py`)."""
    meta = _meta(name)
    sim = simulate_session(
        random_script(meta["seed"], **meta["script"]), seed=meta["seed"], sampling_rate_hz=meta["sampling_rate_hz"]
    )
    recording = load_capture(FIXTURES / f"{name}.capture")
    n = len(sim.counts)
    from tracker.protocol.packets import counts_to_si

    acc, gyr = counts_to_si(sim.counts, sim.accel_range_g, sim.gyro_range_dps)
    np.testing.assert_array_equal(recording.acc_m_s2[:n], acc)
    np.testing.assert_array_equal(recording.gyr_rad_s[:n], gyr)


def test_dropped_link_fixture_marks_the_gap_and_loses_only_the_gap():
    contents = read_capture(FIXTURES / "dropped_link.capture")
    kinds = [e.kind for e in contents.events]
    assert "link_lost" in kinds and "reconnected" in kinds
    recording = load_capture(FIXTURES / "dropped_link.capture")
    decode = recording.source["decode"]
    assert decode["lost_samples"] == _meta("dropped_link")["samples_lost"] > 0
    dt = np.diff(recording.t_s)
    period = 1 / recording.sampling_rate_hz
    gaps = dt[dt > 1.5 * period]
    assert len(gaps) == 1, "one gap, where the link was down"
    assert gaps[0] == pytest.approx((decode["lost_samples"] + 1) * period, rel=0.01)


def test_hips_down_fixture_analyses_to_its_ground_truth():
    recording = load_capture(FIXTURES / "hips_down.capture")
    truth = _truth("hips_down")
    result = analyze(recording)
    scores = score_session(result, truth)
    assert scores["hold_recall"] >= 0.9 and scores["hold_precision"] >= 0.9
    assert scores["hold_duration_err_s"] <= 1.0
    assert abs(scores["stroke_count_err"]) <= 0.15
    assert scores["pace_err"] <= 0.15
    assert result.mean_pace_cm_s == pytest.approx(truth.mean_pace_cm_s, rel=0.12)

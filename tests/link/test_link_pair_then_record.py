"""The README's flow on the emulator, end to end and against the emulator's truth:
`tracker scan`, `tracker pair`, `tracker record`, then the analysis of what was recorded.

The emulated person who pairs is the person the emulator then records (one strap, one way of
standing and lying: `tracker.emulator.emulated_person`), and the recorded session is the
simulator's `simulate_session(seed=0)`, whose truth says when the person lay on the roller and
every stroke and hold. The capture starts at the first sample the emulator streamed, so its time
is the truth's time.
"""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest

from tracker import paths
from tracker.analysis import analyze, analyze_with_details, load_recording
from tracker.analysis.evaluation import score_session
from tracker.cli.main import run as cli
from tracker.emulator import EmulatedPerson, SimulatedSessionSource, emulated_person
from tracker.imu import MountingCalibration

pytestmark = pytest.mark.slow  # every test here streams a whole session or runs the CLI end to end


SESSION_S = 90.0
RATE_HZ = 100
"""The tracker IMU's default rate: the recording stops after `SESSION_S` of samples at it
(`--max-samples`), so its length is the session's whatever the machine's load, and the emulator
streams as fast as the link's flow control allows (`--speed 0`)."""
PAIR_SPEED = "50"
"""Emulator speed of the pairing: its poses are cut by sample count, so the calibration is the
same at any speed (the measured rate the CLI prints is not looked at here)."""


def _truth_until(truth, end_s: float):
    """The truth's events that ended before `end_s` (the recording stops mid-session)."""
    strokes = [s for s in truth.strokes if s.end_s <= end_s - 2.0]
    holds = [h for h in truth.holds if h.end_s <= end_s - 2.0]
    pace = sum(s.distance_cm for s in strokes) / sum(s.duration_s for s in strokes)
    return SimpleNamespace(strokes=strokes, holds=holds, too_fast_spans=[], mean_pace_cm_s=pace)


@pytest.fixture(scope="module")
def flow(tmp_path_factory):
    home = tmp_path_factory.mktemp("tracker-home")
    mp = pytest.MonkeyPatch()
    mp.setenv("TRACKER_HOME", str(home))
    paths.set_data_dir(None)
    try:
        assert cli(["scan", "--emulated", "--timeout", "0.5", "--json"]) == 0  # adverts every 20 ms
        assert cli(["pair", "--emulated", "--yes", "--speed", PAIR_SPEED]) == 0
        capture = home / "session.capture"
        argv = ["record", "--emulated", "--max-samples", str(int(SESSION_S * RATE_HZ)), "--speed", "0"]
        assert cli([*argv, "--out", str(capture)]) == 0
        sensors = json.loads((home / "sensors.json").read_text())
        recording = load_recording(capture)
    finally:
        mp.undo()
        paths.set_data_dir(None)
    truth = SimulatedSessionSource(seed=0).session(100).truth
    return sensors, recording, truth


def test_pair_stores_a_calibration_of_the_strap_that_records(flow):
    sensors, recording, truth = flow
    stored = MountingCalibration.from_json(sensors["sensors"][0]["calibration"])
    assert recording.calibration is not None and recording.calibration.source == "pairing"
    np.testing.assert_allclose(recording.calibration.sensor_to_body, stored.sensor_to_body)
    r, true = stored.sensor_to_body, truth.sensor_to_body
    assert np.degrees(np.arccos(np.clip(r[1] @ true[1], -1, 1))) < 1.0  # the lateral axis
    person = emulated_person(0)
    angle = np.degrees(np.arccos(np.clip((np.trace(r @ true.T) - 1) / 2, -1, 1)))
    assert angle < abs(90.0 - person.standing_pitch_deg) + 1.0  # the rest: up to the lean
    # the lying pitch it implies is a hips-down one (the session is hips down)
    assert 10.0 <= stored.quality["lying_pitch_deg"] <= 40.0


def test_the_recorded_session_is_analysed_right_with_the_pairing(flow):
    _sensors, recording, truth = flow
    assert recording.duration_s == pytest.approx(SESSION_S, abs=3.0)
    result = analyze(recording)
    assert result.parameters["body_axes"]["source"] == "pairing", result.notes
    assert not [n for n in result.notes if "does not fit" in n]
    true_on = [p for p in truth.phases if p.kind == "on_roller"][0]
    assert result.on_roller_s == pytest.approx(recording.duration_s - true_on.start_s, abs=3.0)
    assert result.posture == "hips_down"
    window = _truth_until(truth, recording.duration_s)
    m = score_session(result, window)
    assert len(window.strokes) >= 6
    assert m["matched_strokes"] >= len(window.strokes) - 1
    assert abs(m["found_strokes"] - m["true_strokes"]) <= 2
    assert m["pace_err"] <= 0.15
    assert abs(m["mean_pace_err"]) <= 0.10
    # the pitch offset from how upright the person stood at pairing was taken off
    used = analyze_with_details(recording)[1].sensor_to_body
    err = np.degrees(np.arccos(np.clip((np.trace(used @ truth.sensor_to_body.T) - 1) / 2, -1, 1)))
    assert err < 1.5


def test_pairing_does_no_worse_than_no_pairing_on_the_recording(flow):
    _sensors, recording, truth = flow
    window = _truth_until(truth, recording.duration_s)
    paired = score_session(analyze(recording), window)
    bare = score_session(analyze(_without_calibration(recording)), window)
    assert paired["matched_strokes"] >= bare["matched_strokes"] - 1
    assert paired["pace_err"] <= bare["pace_err"] + 0.03
    assert abs(paired["mean_pace_err"]) <= abs(bare["mean_pace_err"]) + 0.03


def _without_calibration(recording):
    from dataclasses import replace

    return replace(recording, calibration=None)


def test_an_impossible_calibration_is_refused_and_nothing_is_stored(monkeypatch, capsys, _isolated_data_dir):
    """A person who lay head down (the hips above the head, 30° below level) cannot be calibrated
    for rolling: `pair` says what to do in one line, exits 1 and stores no sensor."""
    import tracker.emulator as emulator

    person = emulated_person(0)
    head_down = EmulatedPerson(person.sensor_to_body, 90.0, -30.0)
    real = emulator.calibration_pose_source
    monkeypatch.setattr(
        emulator,
        "calibration_pose_source",
        lambda **kw: real(**{**kw, "person": head_down}),
    )
    assert cli(["pair", "--emulated", "--yes", "--speed", PAIR_SPEED]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    line = err[-1]
    assert "not lying on a roller" in line and "tracker pair" in line, err
    assert not (_isolated_data_dir / "sensors.json").exists()

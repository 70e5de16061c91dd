"""Recordings that are not foam rolling are reported as what they are, never as strokes, holds
or warnings: each of the six activities, from two independent generators (model 2's
`tracker.multibody.activities` and the plain kinematics of `activity_physics`), offline and live;
and mixed recordings, where only the rolling part counts."""

from __future__ import annotations

from dataclasses import replace

import activity_physics as physics
import numpy as np
import pytest

from tracker.analysis import analyze
from tracker.analysis.activity import LiveActivity, SensorActivity, sensor_spans
from tracker.imu import ImuRecording
from tracker.live.feed import recording_blocks
from tracker.live.streaming import LiveSession
from tracker.multibody.activities import ACTIVITY_GENERATORS

SIX = ("walking", "desk_sitting", "lying_still", "stretching", "carried", "on_table")
REASON = {
    # words the reason must hold for each activity: what was seen. A short stretching routine
    # whose poses stay within what rolling allows reads as what it partly is: lying back
    # without rolling.
    "walking": ("walking (steps at",),
    "desk_sitting": ("sitting or standing",),
    "lying_still": ("without rolling",),
    "stretching": ("stretching", "without rolling", "faced down", "head lower"),
    "carried": ("carried about",),
    "on_table": ("no breathing or heartbeat",),
}


def _assert_not_rolling(result, name):
    assert result.activity == "not_rolling", (name, result.activity_reason)
    assert any(words in (result.activity_reason or "") for words in REASON[name]), (name, result.activity_reason)
    assert result.strokes == [] and result.holds == [] and result.warnings == []
    assert result.on_roller_s == 0.0 and result.rolling_s == 0.0 and result.position_track == []
    assert result.uncertainty is None and result.posture is None
    doc = result.to_json()
    assert doc["activity"] == "not_rolling" and doc["activity_reason"] == result.activity_reason


@pytest.mark.parametrize("name", SIX)
@pytest.mark.parametrize("seed", [11, 12])
def test_model_2_activities_are_not_foam_rolling(name, seed):
    act = ACTIVITY_GENERATORS[name](seed, duration_s=150.0)
    _assert_not_rolling(analyze(act.recording), name)


@pytest.mark.parametrize("name", SIX)
@pytest.mark.parametrize("rate", [25.0, 100.0])
def test_plain_kinematics_activities_are_not_foam_rolling(name, rate):
    _assert_not_rolling(analyze(physics.activity(name, 3, rate_hz=rate)), name)


def _live(recording, calibration=None, watch=None):
    live = LiveSession(None, recording.sampling_rate_hz, calibration)
    shown = []
    for block in recording_blocks(recording, 25):
        live.push_block(block)
        state = live.state
        shown.append((state.stroke_count, state.holds_done, len(state.warnings), state.hold.active, state.activity))
    live.finish()
    return live, shown


@pytest.mark.parametrize("name", SIX)
def test_live_never_shows_strokes_and_says_not_foam_rolling(name):
    rec = ACTIVITY_GENERATORS[name](21, duration_s=150.0).recording
    live, shown = _live(rec)
    assert live.strokes == [] and live.holds == [] and live.warnings == []
    assert all(s[0] == 0 and s[1] == 0 and s[2] == 0 and not s[3] for s in shown), name
    assert "foam_rolling" not in {s[4] for s in shown}
    activity, why = live.activity.verdict(live.session_s)
    assert activity == "not_rolling" and why, (name, activity)
    # and the view says so in words
    from rich.console import Console

    from tracker.live.view import LiveView

    console = Console(record=True, width=120, force_terminal=False)
    console.print(LiveView(console, screen=False).render(live.state))
    assert "not foam rolling" in console.export_text()


def _rolling(seed=5, posture="hips_down", duration_s=150.0, rate=100.0):
    from tracker.simulate import random_script, simulate_session

    script = random_script(seed, posture=posture, with_getting_on_off=True, duration_s=duration_s)
    return simulate_session(script, seed=seed, sampling_rate_hz=rate)


def _join(first: ImuRecording, second: ImuRecording, gap_s: float = 0.01) -> ImuRecording:
    """`first` then `second` as one recording (second's clock moved on)."""
    t = np.concatenate([first.t_s, second.t_s + first.t_s[-1] + gap_s])
    return replace(
        second, t_s=t, acc_m_s2=np.concatenate([first.acc_m_s2, second.acc_m_s2]),
        gyr_rad_s=np.concatenate([first.gyr_rad_s, second.gyr_rad_s]), calibration=None,
    )  # fmt: skip


def test_walking_then_rolling_counts_only_the_rolling():
    sim = _rolling()
    mount = np.asarray(sim.truth.sensor_to_body)
    pose, cadence = physics.walking(4, 60.0)
    walk = physics.record(pose, 60.0, 100.0, 4, mount=mount)
    alone = analyze(replace(sim.recording, calibration=None))
    both = analyze(_join(walk, sim.recording))
    assert both.activity == "foam_rolling"
    offset = walk.t_s[-1] + 0.01
    assert both.strokes and min(s.start_s for s in both.strokes) > offset
    assert abs(len(both.strokes) - len(alone.strokes)) <= 1
    assert abs(both.on_roller_s - alone.on_roller_s) <= 2.0
    walked = [a for a in both.other_activities if a.kind == "walking"]
    assert len(walked) == 1 and walked[0].start_s < 5.0 and abs(walked[0].end_s - offset) < 4.0
    assert f"{cadence:.1f}" in walked[0].reason or f"{cadence - 0.1:.1f}" in walked[0].reason or f"{cadence + 0.1:.1f}" in walked[0].reason


def test_rolling_then_the_sensor_left_on_a_table():
    sim = _rolling(seed=7)
    table = physics.record(physics.on_table(2), 120.0, 100.0, 2)
    result = analyze(_join(replace(sim.recording, calibration=None), table))
    assert result.activity == "foam_rolling" and result.strokes
    assert any(a.kind == "on_table" and a.start_s > sim.recording.t_s[-1] - 5 for a in result.other_activities)


def test_live_walking_then_rolling():
    sim = _rolling(seed=6)
    pose, _cadence = physics.walking(5, 60.0)
    walk = physics.record(pose, 60.0, 100.0, 5, mount=np.asarray(sim.truth.sensor_to_body))
    rec = _join(walk, sim.recording)
    live, shown = _live(rec)
    off = analyze(rec)
    assert live.strokes and abs(len(live.strokes) - len(off.strokes)) <= 2
    # while walking it said so, and showed no strokes
    walking = [s for s in shown[: int(50 * 100 / 25)] if s[4] == "not_rolling"]
    assert walking and all(s[0] == 0 for s in walking)
    assert shown[-1][4] == "foam_rolling"


def test_sensor_activity_run_and_step_agree():
    rec = physics.activity("walking", 8, duration_s=40.0, rate_hz=25.0)
    whole, cad = SensorActivity(25.0).run(rec.acc_m_s2, rec.gyr_rad_s)
    one = SensorActivity(25.0)
    stepped = [one.step(a, g) for a, g in zip(rec.acc_m_s2, rec.gyr_rad_s, strict=True)]
    assert [c for c, _ in stepped] == whole.tolist()
    np.testing.assert_allclose([c for _, c in stepped], cad, atol=1e-9)
    assert (whole == 1).mean() > 0.5  # it is walking


def test_live_activity_agrees_with_the_offline_spans():
    rec = physics.activity("on_table", 4, duration_s=150.0, rate_hz=25.0)
    mask, spans = sensor_spans(rec.t_s, rec.acc_m_s2, rec.gyr_rad_s, 25.0)
    assert [s.kind for s in spans] == ["on_table"]
    live = LiveActivity(25.0)
    said = []
    for t, a, g in zip(rec.t_s, rec.acc_m_s2, rec.gyr_rad_s, strict=True):
        live.sensor(t, a, g)
        said.append(live.sensor_kind(t))
    first = next(i for i, s in enumerate(said) if s is not None)
    # live says it once the offline span is a minute long (its start is back-dated by the window)
    assert abs(rec.t_s[first] - (spans[0].start_s + 60.0 + 20.0)) < 2.0
    assert said[-1][0] == "on_table"


def test_not_rolling_is_not_stored_and_says_why(tmp_path):
    from tracker.history import SessionStore
    from tracker.history.ingest import SKIPPED, import_file

    rec = physics.activity("walking", 9, duration_s=90.0)
    path = tmp_path / "walk.csv"
    rows = np.column_stack([rec.t_s, rec.acc_m_s2, rec.gyr_rad_s])
    np.savetxt(path, rows, delimiter=",", header="t,ax,ay,az,gx,gy,gz", comments="", fmt="%.6f")
    with SessionStore() as store:
        out = import_file(store, path)
        assert out.status == SKIPPED and store.count() == 0
    assert "not foam rolling: walking (steps at" in out.line() and "the file is kept" in out.line()
    assert path.exists()


def test_analyze_prints_what_it_was(tmp_path, capsys):
    from tracker.cli.main import run

    rec = physics.activity("on_table", 5, duration_s=120.0)
    path = tmp_path / "table.csv"
    np.savetxt(path, np.column_stack([rec.t_s, rec.acc_m_s2, rec.gyr_rad_s]), delimiter=",",
               header="t,ax,ay,az,gx,gy,gz", comments="", fmt="%.6f")  # fmt: skip
    assert run(["analyze", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Not foam rolling: the sensor lying still" in out and "strokes" not in out.split("Not foam rolling")[1].split("\n")[0]
    assert run(["analyze", str(path), "--json"]) == 0
    import json

    doc = json.loads(capsys.readouterr().out)
    assert doc["activity"] == "not_rolling" and doc["strokes"] == [] and doc["uncertainty"] is None

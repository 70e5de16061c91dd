"""Polar sensors end to end, as a person uses them: scan, pair, record, replay, analyse, store.

The Verity Sense streams a simulated session whose ground truth is exact; its analysis must find
what the simulator did. The H10 (no gyroscope) records, replays and decodes to exactly what the
emulator measured, and its accelerometer-only analysis finds what the simulator did within what
an accelerometer can know (the pairing's standing pose sets the pitch offset: the person's lean
shows in the paces, by as much as the physics says) and as well as analysing the same session's
samples directly: the H10's 1 mG and its clock lose nothing.
"""

from __future__ import annotations

import asyncio
import json

import numpy as np
import pytest

from tracker.analysis.evaluation import score_session
from tracker.capture import read_capture
from tracker.cli.main import run as cli
from tracker.emulator import (
    EmulatedPerson,
    SensorConfig,
    SimulatedSessionSource,
    calibration_pose_source,
)
from tracker.emulator.polar import EmulatedPolarSensor, quantization_step
from tracker.link.driver import StreamSettings
from tracker.link.environment import emulated_environment
from tracker.link.pairing import pair_sensor
from tracker.link.recorder import Recorder
from tracker.link.registry import SensorRegistry
from tracker.link.replay import replay_capture
from tracker.link.scan import find_sensor, scan_sensors
from tracker.simulate import random_script, simulate_session

pytestmark = pytest.mark.slow  # every test here streams a whole session or runs the CLI end to end

SEED = 2025
ROLLER_CM = 12.5
"""The simulated person's roller; `tracker config` is told so before the analysis."""


def run(coro, timeout=180):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def _mounting(seed: int) -> np.ndarray:
    return simulate_session(random_script(seed, duration_s=30, with_getting_on_off=False), seed=seed, sampling_rate_hz=25).truth.sensor_to_body


def _person(source: SimulatedSessionSource) -> EmulatedPerson:
    """The person of a simulated session: their strap, how upright they stand, their pitch lying
    on the roller (as `tracker.emulator.emulated_person` finds them for the default session)."""
    truth = source.session(52).truth
    on_roller = next(p for p in truth.phases if p.kind == "on_roller")
    i = int(np.searchsorted(truth.t_s, on_roller.start_s + 0.5))
    return EmulatedPerson(np.asarray(truth.sensor_to_body), float(truth.script.upright_pitch_deg), float(truth.pitch_deg[i]))


def _angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.degrees(np.arccos(np.clip((np.trace(a @ b.T) - 1) / 2, -1, 1))))


VERITY_PAIR_SPEED = 3.0
"""Emulator speed for pairing a Verity Sense. Its signal check measures the rate from host
receive times over 3 s of sensor time: the faster the emulator, the shorter that window in wall
time and the more a loaded machine's scheduling delays skew it. And its gyroscope starts a
request after its accelerometer: that gap, in sensor time, grows with the speed and moves the
poses (cut from the first aligned sample) towards the emulated person's lying down."""
PAIR_SPEED = 50.0
"""Emulator speed for pairing an H10, whose measured rate the test does not look at: its one
stream's poses are cut by sample count, so the calibration is the same at any speed."""


RECORD_SPEED = 200.0
"""Emulator speed for recording a whole session: these recordings stop by sample count, not by
wall time, so the speed changes only how long the test waits (a Polar sensor sends four frames a
second of session; on a busy machine they leave late, and none is lost)."""


def _pair(kind: str, registry: SensorRegistry, person: EmulatedPerson, speed: float = PAIR_SPEED):
    # The still poses last 1 s each instead of `tracker pair`'s 3 s: the emulated person holds
    # perfectly still, so a second of samples gives the gravity directions as well as three
    # (the signal check keeps its 3 s: it measures the rate). The person stands a little longer
    # than the 4 s the signal check and the standing pose need: a Verity Sense streams its first
    # aligned samples only once both of its streams have started.
    signal_s, pose_s = 3.0, 1.0
    source = calibration_pose_source(stand_s=signal_s + pose_s + 0.5, lie_s=60.0, seed=1, person=person)

    async def go():
        async with emulated_environment(kinds=(kind,), source=source, speed=speed) as env:
            return await pair_sensor(
                env, None, kind=kind, registry=registry, settings=StreamSettings(sample_rate_hz=100, rate_is_default=True),
                signal_s=signal_s, stand_s=pose_s, lie_s=pose_s,
            )  # fmt: skip

    return run(go())


def test_verity_sense_scan_pair_record_replay_analyse_store(tmp_path):
    from dataclasses import replace

    from tracker.analysis import analyze
    from tracker.cli.session_output import store_in_history
    from tracker.history import SessionStore
    from tracker.settings import load_guidance

    script = random_script(SEED, posture="hips_down", with_getting_on_off=True, duration_s=120, roller_diameter_cm=ROLLER_CM)
    mounting = _mounting(SEED)
    source = SimulatedSessionSource(script, seed=SEED, sensor_to_body=mounting)
    truth = source.session(52).truth
    n_session = len(source.session(52).counts)
    registry = SensorRegistry()

    # scan: the Verity Sense is there, told apart from the other kinds (found as soon as heard)
    async def scan():
        async with emulated_environment(kinds=("tracker-imu", "polar-h10", "polar-verity")) as env:
            return await find_sensor(env, None, 10, kind="polar-verity")

    _device, advertisement, driver = run(scan())
    assert driver.kind == "polar-verity" and advertisement.local_name == "Polar Sense C5D6E7F8"

    # pair: bond, check the signal at the sensor's own 52 Hz, calibrate the mounting
    person = _person(source)
    report = _pair("polar-verity", registry, person, speed=VERITY_PAIR_SPEED)
    assert report.signal.nominal_rate_hz == 52 and report.signal.lost_samples == 0 and not report.warnings
    # the strap's rotation, up to how far from vertical the person stands
    assert _angle_deg(report.calibration.sensor_to_body, mounting) < abs(90.0 - person.standing_pitch_deg) + 1.0
    paired = SensorRegistry().default_for(emulated=True, kind="polar-verity")
    assert paired is not None and paired.driver == "polar-verity"

    # record: the whole simulated session, with the pairing's calibration
    out = tmp_path / "verity.capture"

    async def record():
        async with emulated_environment(kinds=("polar-verity",), source=source, speed=RECORD_SPEED) as env:
            recorder = Recorder(
                env,
                out,
                kind="polar-verity",
                settings=StreamSettings(sample_rate_hz=100, rate_is_default=True),
                calibration=paired.calibration,
                max_samples=n_session - 30,
                watchdog_s=3.0,
            )
            return await recorder.run()

    result = run(record())
    assert result.stopped_by == "samples" and result.lost_samples == 0
    header = read_capture(out).header
    assert header["sensor"]["driver"] == "polar-verity"
    assert header["settings"]["pmd"]["GYRO"]["factor"] == 2000 / 32768

    # replay and analyse: what the simulator did (with the person's roller, as `tracker config` sets it)
    assert cli(["config", "roller_diameter_cm", str(ROLLER_CM)]) == 0
    report = run(replay_capture(out))
    assert report.analysis is not None, report.analysis_note
    assert report.recording.has_gyro and report.sampling_rate_hz == 52
    assert report.decode["malformed_total"] == 0 and report.decode["lost_samples"] == 0
    m = score_session(report.analysis, truth)
    assert m["hold_recall"] == 1.0 and m["hold_precision"] >= 0.66
    assert m["hold_duration_err_s"] <= 1.5
    assert abs(m["stroke_count_err"]) <= 0.2 and m["mean_pace_err"] <= 0.1
    assert m["region_time_err"] <= 0.1 and not m["too_fast_false_alarm"]
    # and as good as analysing the simulated session directly: the Polar path loses nothing
    direct = analyze(replace(source.session(52).recording, calibration=paired.calibration), load_guidance())
    d = score_session(direct, truth)
    assert abs(len(report.analysis.strokes) - len(direct.strokes)) <= 1
    assert report.analysis.mean_pace_cm_s == pytest.approx(direct.mean_pace_cm_s, rel=0.03)
    assert m["hold_duration_err_s"] == pytest.approx(d["hold_duration_err_s"], abs=0.3)

    # store: once, as `tracker record` and `tracker replay` do
    line = store_in_history(out, report.analysis, report.recording)
    assert line.startswith("stored as session")
    assert store_in_history(out, report.analysis, report.recording).startswith("already in the history")
    with SessionStore() as store:
        assert store.count() == 1


def test_h10_records_and_decodes_exactly_what_it_measured(tmp_path):
    mounting = _mounting(SEED + 1)
    registry = SensorRegistry()
    source = SimulatedSessionSource(random_script(SEED + 1, duration_s=60), seed=SEED + 1, sensor_to_body=mounting)
    person = _person(source)
    report = _pair("polar-h10", registry, person)
    assert np.isnan(report.signal.gyro_noise_rad_s) and report.signal.nominal_rate_hz == 100
    assert _angle_deg(report.calibration.sensor_to_body, mounting) < abs(90.0 - person.standing_pitch_deg) + 1.0

    out = tmp_path / "h10.capture"

    async def record():
        async with emulated_environment(kinds=("polar-h10",), source=source, speed=RECORD_SPEED) as env:
            # 18 s of sensor time, stopped by sample count (whatever the machine's load)
            recorder = Recorder(env, out, kind="polar-h10", settings=StreamSettings(sample_rate_hz=200), max_samples=18 * 200)
            result = await recorder.run()
            return result, env.sensor

    result, sensor = run(record())
    replayed = run(replay_capture(out))
    rec = replayed.recording
    # decode: exactly the emulator's samples, at its own times
    t_sent, acc_sent = sensor.sent_values("ACC")
    assert len(rec) == len(t_sent) == result.samples > 3000
    np.testing.assert_allclose(rec.acc_m_s2, acc_sent, atol=quantization_step("mG", 1.0) / 2 + 1e-12)
    np.testing.assert_allclose(rec.t_s, (t_sent - t_sent[0]) / 1e9, atol=1e-9)
    assert not rec.has_gyro and rec.calibration is None and replayed.sampling_rate_hz == 200
    # and the source the emulator measured, within the H10's 1 mG
    first = next(f for f in sensor.sent_frames if f.sent).source_index[0]
    config = SensorConfig(200, 4, 500)  # what the emulators ask their source for
    counts = source.counts(first, first + len(rec), config)
    np.testing.assert_allclose(rec.acc_m_s2, counts[:, :3] * config.accel_scale_m_s2, atol=0.5 * 9.80665e-3 + 1e-9)
    # analysed from the accelerometer alone (18 s of sensor time), and it says so
    assert replayed.analysis is not None and replayed.analysis.parameters["has_gyro"] is False
    assert any("no gyroscope" in n for n in replayed.analysis.notes)
    # the strap's heart rate, recorded alongside
    assert replayed.heart_rate["measurements"] >= 2 and replayed.heart_rate["malformed"] == 0
    assert 55 <= replayed.heart_rate["mean_bpm"] <= 70


def test_h10_scan_pair_record_replay_analyse_store(tmp_path):
    """A whole session through an emulated H10 at 50 Hz, analysed from its accelerometer alone."""
    from dataclasses import replace

    from tracker.analysis import analyze
    from tracker.cli.session_output import store_in_history
    from tracker.history import SessionStore
    from tracker.protocol.pmd import MILLI_G_M_S2
    from tracker.settings import load_guidance

    rate = 50
    script = random_script(SEED + 2, posture="hips_down", with_getting_on_off=True, duration_s=150, roller_diameter_cm=ROLLER_CM, fast=True)
    mounting = _mounting(SEED + 2)
    source = SimulatedSessionSource(script, seed=SEED + 2, sensor_to_body=mounting)
    session = source.session(rate)
    truth = session.truth
    registry = SensorRegistry()

    async def scan():
        async with emulated_environment(kinds=("tracker-imu", "polar-h10", "polar-verity")) as env:
            return await scan_sensors(env, 0.5)  # each sensor advertises every 20 ms

    assert "polar-h10" in {s.driver for s in run(scan())}
    person = _person(source)
    report = _pair("polar-h10", registry, person)
    assert report.signal.nominal_rate_hz == 100 and np.isnan(report.signal.gyro_noise_rad_s)
    paired = SensorRegistry().default_for(emulated=True, kind="polar-h10")
    assert paired is not None and paired.driver == "polar-h10"

    out = tmp_path / "h10.capture"

    async def record():
        async with emulated_environment(kinds=("polar-h10",), source=source, speed=RECORD_SPEED) as env:
            recorder = Recorder(
                env, out, kind="polar-h10", settings=StreamSettings(sample_rate_hz=rate),
                calibration=paired.calibration, max_samples=len(session.counts) - 30, watchdog_s=3.0,
            )  # fmt: skip
            return await recorder.run()

    result = run(record())
    assert result.stopped_by == "samples" and result.lost_samples == 0
    assert read_capture(out).header["sensor"]["driver"] == "polar-h10"

    assert cli(["config", "roller_diameter_cm", str(ROLLER_CM)]) == 0
    replayed = run(replay_capture(out))
    analysis = replayed.analysis
    assert analysis is not None, replayed.analysis_note
    assert not replayed.recording.has_gyro and replayed.sampling_rate_hz == rate
    info = analysis.parameters["accel_only"]
    assert analysis.parameters["has_gyro"] is False and info["pitch_reference"] == "pairing"
    assert any("no gyroscope" in n and "at pairing" in n for n in analysis.notes)
    m = score_session(analysis, truth)
    assert m["hold_recall"] == 1.0 and m["hold_precision"] >= 0.75
    assert m["hold_duration_err_s"] <= 1.0 and abs(m["stroke_count_err"]) <= 0.15
    assert m["too_fast_sets_warned"] == m["too_fast_sets"] > 0
    # the pace: off by the person's lean at pairing, as the physics says (-cot(pitch / 2) times
    # the lean), plus what the analysis gets wrong with exact axes (a few %)
    on = np.isfinite(truth.position_cm)
    lean = np.radians(90.0 - person.standing_pitch_deg)
    predicted = -lean / np.tan(0.5 * np.radians(np.median(truth.pitch_deg[on])))
    assert m["mean_pace_err"] == pytest.approx(predicted, abs=0.1)
    assert abs(m["mean_pace_err"]) <= info["hips_down_pace_uncertainty_fraction"] + 0.1
    # as good as the same session's samples analysed directly, as the H10 measures them (whole
    # milli-g, no gyroscope): the radio, the PMD frames and the H10's clock lose nothing
    rec = session.recording
    h10 = replace(
        rec,
        gyr_rad_s=np.full_like(rec.gyr_rad_s, np.nan),
        acc_m_s2=np.rint(rec.acc_m_s2 / MILLI_G_M_S2) * MILLI_G_M_S2,
        calibration=paired.calibration,
    )
    direct = analyze(h10, load_guidance())
    assert abs(len(analysis.strokes) - len(direct.strokes)) <= 1
    assert analysis.mean_pace_cm_s == pytest.approx(direct.mean_pace_cm_s, rel=0.03)
    assert len(analysis.holds) == len(direct.holds)

    line = store_in_history(out, analysis, replayed.recording)
    assert line.startswith("stored as session")
    with SessionStore() as store:
        assert store.count() == 1


def test_cli_flows_for_both_polar_sensors(tmp_path, capsys):
    assert cli(["pair", "--emulated", "--sensor", "polar-verity", "--yes", "--speed", str(VERITY_PAIR_SPEED)]) == 0
    assert "Paired Polar Sense C5D6E7F8" in capsys.readouterr().out
    verity = tmp_path / "v.capture"
    # 10 s of sensor time at 52 Hz (the 300 samples asked for below are 6 s of it), streamed as
    # fast as the link allows: stopped by sample count, so a loaded machine records just as much
    argv = ["record", "--emulated", "--sensor", "polar-verity", "--max-samples", "520", "--speed", "0"]
    assert cli([*argv, "--out", str(verity)]) == 0
    assert str(verity) in capsys.readouterr().out
    assert cli(["replay", str(verity), "--json"]) == 0
    replayed = json.loads(capsys.readouterr().out)
    assert replayed["sensor"]["driver"] == "polar-verity" and replayed["sampling_rate_hz"] == 52
    assert replayed["samples"] > 300 and replayed["decode"]["malformed_total"] == 0

    h10 = tmp_path / "h.capture"
    # 100 s of the emulated person at 100 Hz: standing, lying back, rolling (under 80 s it is not
    # foam rolling yet)
    argv = ["record", "--emulated", "--sensor", "polar-h10", "--max-samples", "10000", "--speed", "0"]
    assert cli([*argv, "--out", str(h10)]) == 0
    out = capsys.readouterr().out
    assert str(h10) in out and "no gyroscope" in out and "stored as session 1" in out
    assert h10.stat().st_size > 10_000  # kept
    assert cli(["analyze", str(h10), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["parameters"]["has_gyro"] is False and "accel_only" in doc["parameters"]
    assert any("no gyroscope" in n for n in doc["notes"])


@pytest.mark.parametrize(
    "argv, words",
    [
        (["record", "--emulated", "--sensor", "polar-verity", "--rate", "100", "--duration", "1"], "52"),
        (["pair", "--emulated", "--sensor", "polar-h10", "--rate", "52"], "25, 50, 100, 200"),
    ],
)

def test_cli_usage_mistakes_for_polar_sensors(argv, words, capsys):
    assert cli(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0]


def test_cli_record_when_the_sensor_refuses_to_start(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(EmulatedPolarSensor, "_check_start", lambda *a, **k: 13)  # in its charger
    out = tmp_path / "refused.capture"
    assert cli(["record", "--emulated", "--sensor", "polar-h10", "--duration", "2", "--out", str(out)]) == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("tracker: error")]
    assert len(errors) == 1 and "ERROR_DEVICE_IN_CHARGER" in errors[0] and "charger" in errors[0]
    contents = read_capture(out)  # what there is (the refusal itself) is kept
    assert contents.complete and len(contents.notifications["control"]) >= 2


def test_record_and_replay_live_with_an_h10(tmp_path, capsys):
    """The live view works for a sensor without a gyroscope: it says so, and the session is
    analysed and stored from its accelerometer alone."""
    h10 = tmp_path / "h.capture"
    # 60 s of the emulated person at 100 Hz, rolling from about 20 s: foam rolling, so it is
    # stored (under about 40 s it is not yet); stopped by sample count, so the emulator streams as
    # fast as the live analysis of every sample keeps up with
    argv = ["record", "--emulated", "--sensor", "polar-h10", "--live", "--quiet", "--max-samples", "6000", "--speed", "0"]
    assert cli([*argv, "--out", str(h10)]) == 0
    out = capsys.readouterr().out
    for element in ("Pace", "Strokes", "Region", "Hold", "Sensor"):
        assert element in out, element
    assert "no gyroscope" in out and "stored as session" in out
    assert cli(["replay", str(h10), "--live", "--quiet", "--speed", "100"]) == 0
    out = capsys.readouterr().out
    assert "Sensor  replay" in out and "no gyroscope" in out

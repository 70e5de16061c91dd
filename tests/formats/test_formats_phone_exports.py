"""Phone recordings: Sensor Logger and phyphox exports of a simulated session, written the way
the apps write them (see phone_exports.py), read back to the simulator's truth, and analysed as
well as the same session recorded as a capture."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta

import numpy as np
import pytest
from phone_exports import (
    _table,
    java_number,
    phone_streams,
    write_phyphox,
    write_sensor_logger,
)

from tracker.analysis import analyze
from tracker.analysis.evaluation import score_session
from tracker.capture import write_capture_from_counts
from tracker.cli.main import run
from tracker.formats import load_recording
from tracker.simulate import random_script, simulate_session


def matched_fraction(t: np.ndarray, reference: np.ndarray, tol: float) -> float:
    """Share of `t` that has a `reference` time within `tol`."""
    i = np.clip(np.searchsorted(reference, t), 1, len(reference) - 1)
    nearest = np.minimum(np.abs(reference[i] - t), np.abs(reference[i - 1] - t))
    return float(np.mean(nearest <= tol))


# The capture's tolerances against the truth (tests/pipeline/test_pipeline_fixtures.py)
TOLERANCES = {
    "hold_recall": 0.9,
    "hold_precision": 0.9,
    "hold_duration_err_s": 1.0,
    "stroke_count_err": 0.15,
    "pace_err": 0.15,
}


@pytest.fixture(scope="module")
def sim():
    script = random_script(2001, posture="hips_down", duration_s=120, with_getting_on_off=True)
    return simulate_session(script, seed=2001, sampling_rate_hz=100)


@pytest.fixture(scope="module")
def streams(sim):
    # the accelerometer at ~100 Hz and the gyroscope at ~104 Hz, each with its own phase and jitter
    return phone_streams(sim, acc_rate=100.0, gyr_rate=104.0, seed=1)


@pytest.fixture(scope="module")
def exports(tmp_path_factory, streams):
    d = tmp_path_factory.mktemp("exports")
    return {
        "sensor-logger-android-zip": write_sensor_logger(d / "android.zip", streams),
        "sensor-logger-android-folder": write_sensor_logger(d / "android", streams, as_zip=False),
        "sensor-logger-ios-zip": write_sensor_logger(d / "ios.zip", streams, platform="ios"),
        "sensor-logger-ios-standardised": write_sensor_logger(
            d / "ios-std", streams, platform="ios", standardised=True, as_zip=False
        ),
        "phyphox-separate-zip": write_phyphox(d / "phyphox.zip", streams),
        "phyphox-combined-semicolon-comma": write_phyphox(
            d / "phyphox-combined.zip", streams, layout="combined", sep=";", decimal=","
        ),
        "phyphox-one-time-column-tab-comma": write_phyphox(
            d / "phyphox-shared", streams, layout="shared", sep="\t", decimal=",", as_zip=False
        ),
        "phyphox-plain-csv": write_phyphox(
            d / "Raw Data.csv", streams, layout="combined", as_zip=False, meta=False
        ),
    }


@pytest.mark.parametrize(
    "name",
    [
        "sensor-logger-android-zip",
        "sensor-logger-android-folder",
        "sensor-logger-ios-zip",
        "sensor-logger-ios-standardised",
        "phyphox-separate-zip",
        "phyphox-combined-semicolon-comma",
        "phyphox-one-time-column-tab-comma",
        "phyphox-plain-csv",
    ],
)
def test_export_reads_back_to_the_truth(sim, streams, exports, name):
    rec = load_recording(exports[name])
    app = "Sensor Logger" if name.startswith("sensor") else "phyphox"
    assert rec.source["format"].startswith(f"{app} export")
    assert rec.source["notes"][0].startswith(f"read as a {app} export")
    # the accelerometer's own clock is kept: every sample is one the phone logged
    if rec.start_utc is None:  # a plain phyphox CSV: its experiment time is the session's time
        t_abs = rec.t_s + rec.source["t0_s"]
    else:
        t_abs = rec.t_s + (rec.start_utc - streams.start_utc).total_seconds()
    assert matched_fraction(t_abs, streams.t_acc, tol=2e-5) > 0.99
    # values in tracker's frame and units: the simulator's specific force and rotation rate
    truth = sim.trace(t_abs)
    acc_err = rec.acc_m_s2 - (truth["acc_m_s2"] + sim.truth.accel_bias_m_s2)
    gyr_err = rec.gyr_rad_s - (truth["gyr_rad_s"] + sim.truth.gyro_bias_rad_s)
    assert np.sqrt(np.mean(acc_err**2)) < 0.05  # the phone's noise is 0.02 m/s²
    assert np.sqrt(np.mean(gyr_err**2)) < 0.02  # 0.003 rad/s noise plus interpolation
    if name != "phyphox-plain-csv":  # the start comes from the export's own Unix times
        assert abs(
            rec.start_utc - (streams.start_utc + timedelta(seconds=float(t_abs[0])))
        ) < timedelta(milliseconds=1)
    else:
        assert rec.start_utc is None and any(
            "start time is not known" in n for n in rec.source["notes"]
        )


@pytest.fixture(scope="module")
def capture_scores(sim, tmp_path_factory):
    path = tmp_path_factory.mktemp("capture") / "session.capture"
    write_capture_from_counts(
        path, sim.counts, sim.sampling_rate_hz, sim.accel_range_g, sim.gyro_range_dps
    )
    result = analyze(load_recording(path))
    return result, score_session(result, sim.truth)


@pytest.mark.parametrize(
    "name",
    [
        "sensor-logger-android-zip",
        "sensor-logger-ios-zip",
        "phyphox-separate-zip",
        "phyphox-combined-semicolon-comma",
    ],
)
def test_export_analyses_as_well_as_the_capture(sim, exports, capture_scores, name):
    capture, cap = capture_scores
    result = analyze(load_recording(exports[name]))
    got = score_session(result, sim.truth)
    for scores in (cap, got):
        assert scores["hold_recall"] >= TOLERANCES["hold_recall"]
        assert scores["hold_precision"] >= TOLERANCES["hold_precision"]
        assert scores["hold_duration_err_s"] <= TOLERANCES["hold_duration_err_s"]
        assert abs(scores["stroke_count_err"]) <= TOLERANCES["stroke_count_err"]
        assert scores["pace_err"] <= TOLERANCES["pace_err"]
    # and the two agree with each other
    assert len(result.strokes) == pytest.approx(len(capture.strokes), abs=1)
    assert len(result.holds) == len(capture.holds)
    assert got["pace_err"] <= cap["pace_err"] + 0.03
    assert got["hold_duration_err_s"] <= cap["hold_duration_err_s"] + 0.3
    assert result.mean_pace_cm_s == pytest.approx(capture.mean_pace_cm_s, rel=0.08)
    assert result.on_roller_s == pytest.approx(capture.on_roller_s, abs=2.0)


def test_ios_signs_are_flipped_unless_standardised(exports):
    ios = load_recording(exports["sensor-logger-ios-zip"])
    std = load_recording(exports["sensor-logger-ios-standardised"])
    android = load_recording(exports["sensor-logger-android-zip"])
    assert np.allclose(ios.acc_m_s2, android.acc_m_s2, atol=1e-9)
    assert np.allclose(std.acc_m_s2, android.acc_m_s2, atol=1e-9)
    assert any("iOS acceleration signs flipped" in n for n in ios.source["notes"])
    assert not any("flipped" in n for n in std.source["notes"])


def test_a_sensor_logger_file_given_alone_reads_its_whole_export(exports):
    folder = exports["sensor-logger-android-folder"]
    rec = load_recording(folder / "Gyroscope.csv")
    assert rec.has_gyro and rec.source["kind"] == "sensor-logger"


def test_phyphox_pause_becomes_a_gap(tmp_path, streams):
    path = write_phyphox(tmp_path / "paused.zip", streams, pause=(50.0, 58.0))
    rec = load_recording(path)
    steps = np.diff(rec.t_s)
    big = np.flatnonzero(steps > 1.0)
    assert len(big) == 1
    assert steps[big[0]] == pytest.approx(8.0, abs=0.05)
    assert rec.t_s[big[0]] + (rec.start_utc - streams.start_utc).total_seconds() == pytest.approx(
        50.0, abs=0.05
    )
    assert any("paused 1 time" in n for n in rec.source["notes"])


def test_phone_without_gyroscope_is_accelerometer_only(tmp_path, streams, capsys):
    """A phone without a gyroscope (or with it switched off) gives an accelerometer-only
    recording (tracker/formats writes NaN rates): `tracker analyze` analyses it from the
    accelerometer alone, and says so."""
    sl = write_sensor_logger(tmp_path / "nogyro.zip", streams, leave_out=("Gyroscope.csv",))
    ph = write_phyphox(tmp_path / "acc.zip", streams, layout="acc-only")
    for path in (sl, ph):
        rec = load_recording(path)
        assert not rec.has_gyro and np.isnan(rec.gyr_rad_s).all()
        assert len(rec) == len(streams.t_acc)
        assert run(["analyze", str(path), "--json"]) == 0
        doc = json.loads(capsys.readouterr().out)
        assert doc["parameters"]["has_gyro"] is False and doc["summary"]["strokes"] > 0
        assert any("no gyroscope" in n for n in doc["notes"])
        assert run(["analyze", str(path)]) == 0
        out = capsys.readouterr().out
        assert "read as" in out.splitlines()[0] and "no gyroscope" in out


def test_cli_says_which_format_it_read(exports, capsys):
    assert run(["analyze", str(exports["sensor-logger-ios-zip"])]) == 0
    out = capsys.readouterr().out
    assert "read as a Sensor Logger export (iOS" in out and "On the roller" in out
    assert run(["analyze", str(exports["phyphox-separate-zip"]), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["notes"][0].startswith("read as a phyphox export")


def test_import_stores_phone_exports_once_with_their_start_time(exports, tmp_path, capsys):
    folder = tmp_path / "export folder"
    shutil.copytree(exports["sensor-logger-android-folder"], folder)
    files = [str(exports["phyphox-separate-zip"]), str(folder)]
    assert run(["import", *files]) == 0
    captured = capsys.readouterr()
    assert captured.out.count("imported          ") == 2
    assert (
        "read as a phyphox export" in captured.err
        and "read as a Sensor Logger export" in captured.err
    )
    assert "2025-03-01" in captured.out
    assert run(["import", *files]) == 0  # the same export again changes nothing
    assert capsys.readouterr().out.count("already imported") == 2
    assert run(["sessions", "--json"]) == 0
    sessions = json.loads(capsys.readouterr().out)
    assert len(sessions) == 2


def test_the_table_writer_writes_what_java_number_writes_value_by_value():
    """The whole-table phyphox writer (a row at a time, exponents fixed after) against the
    per-value `java_number`: every exponent shape, NaN padding and both decimal marks."""
    rng = np.random.default_rng(5)
    values = np.concatenate([
        [0.0, -0.0, 1.0, -1.0, 9.9999999999, 1e-5, -1e-5, 1e5, 1e10, 1e-10, 1e100, -1e-100,
         1e-300, 5e-324, 1.7e308, np.nan, np.inf, -np.inf],
        rng.normal(0, 1, 200) * 10.0 ** rng.integers(-120, 120, 200),
    ])  # fmt: skip
    short = values[:7]
    for sep, decimal in ((",", "."), (";", ","), ("\t", ",")):
        text = _table([("a", values), ("b", short)], sep, decimal)
        lines = text.splitlines()
        assert lines[0] == sep.join(['"a"', '"b"'])
        want = [
            sep.join([java_number(v, decimal), java_number(short[i], decimal) if i < len(short) else "NaN"])
            for i, v in enumerate(values.tolist())
        ]
        assert lines[1:] == want

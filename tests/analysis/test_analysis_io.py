"""Bad input at the edge: every problem gives one line that says what to do (and a CLI exit code)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from tracker.analysis import analyze, load_recording
from tracker.cli.main import run
from tracker.errors import CsvFormatError, InputFileError, RecordingTooShortError
from tracker.simulate import random_script, simulate_session

HEADER = "t,ax,ay,az,gx,gy,gz"


@pytest.fixture(scope="module")
def sim():
    """A short session with getting on and off (transitions make the gyro-unit check work)."""
    return simulate_session(random_script(11, duration_s=60), seed=11, sampling_rate_hz=50)


def write_csv(path, cols, header=HEADER, fmt="%.6f"):
    np.savetxt(path, cols, delimiter=",", header=header, comments="", fmt=fmt)
    return path


def test_csv_round_trip_any_column_order_extra_columns(tmp_path, sim):
    cols = sim.recording.to_columns()
    order = [6, 0, 3, 1, 5, 2, 4]  # gz,t,az,ax,gy,ay,gx
    names = HEADER.split(",")
    extra = np.arange(len(cols))[:, None]
    table = np.column_stack([cols[:, order], extra])
    path = write_csv(
        tmp_path / "s.csv", table, header=",".join([names[i] for i in order] + ["temperature"])
    )
    rec = load_recording(path)
    assert np.allclose(rec.acc_m_s2, sim.recording.acc_m_s2, atol=1e-6)
    assert np.allclose(rec.gyr_rad_s, sim.recording.gyr_rad_s, atol=1e-6)
    assert rec.sampling_rate_hz == pytest.approx(50.0, rel=1e-3)


def test_detection_by_content_not_extension(tmp_path, sim):
    path = write_csv(
        tmp_path / "session.capture", sim.recording.to_columns()
    )  # a CSV named .capture
    assert len(load_recording(path)) == len(sim.recording)


def test_capture_file_loads_through_the_capture_decoder(tmp_path, sim):
    capture = pytest.importorskip("tracker.capture")
    path = tmp_path / "s.trkcap"
    capture.write_capture_from_counts(path, sim.counts, 50.0, sim.accel_range_g, sim.gyro_range_dps)
    rec = load_recording(path)
    assert len(rec) == len(sim.recording)
    assert np.allclose(rec.acc_m_s2, sim.recording.acc_m_s2, atol=1e-9)


def _expect(tmp_path, path, error, *needles):
    with pytest.raises(error) as info:
        load_recording(path)
    line = info.value.one_line()
    assert "\n" not in line
    for needle in needles:
        assert needle in line, line
    return line


def test_missing_column_names_it_and_the_expected_set(tmp_path, sim):
    cols = sim.recording.to_columns()[:, :6]
    path = write_csv(tmp_path / "m.csv", cols, header="t,ax,ay,az,gx,gy")
    _expect(tmp_path, path, CsvFormatError, "'gz'", "t,ax,ay,az,gx,gy,gz", "m/s²", "rad/s")


def test_empty_file(tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("")
    _expect(tmp_path, path, CsvFormatError, "empty")


def test_header_only_is_too_short(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text(HEADER + "\n")
    _expect(tmp_path, path, RecordingTooShortError, "no samples")


def test_non_numeric_cell_names_line_and_column(tmp_path, sim):
    path = write_csv(tmp_path / "n.csv", sim.recording.to_columns())
    lines = path.read_text().splitlines()
    cells = lines[100].split(",")
    cells[4] = "abc"
    lines[100] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    _expect(tmp_path, path, CsvFormatError, "line 101", "gx", "'abc'")


def test_time_backwards_names_the_line(tmp_path, sim):
    cols = sim.recording.to_columns()
    cols[200, 0] = cols[198, 0]
    path = write_csv(tmp_path / "b.csv", cols)
    _expect(tmp_path, path, CsvFormatError, "line 202", "backwards", "sort")


def test_time_in_milliseconds(tmp_path, sim):
    cols = sim.recording.to_columns()
    cols[:, 0] *= 1000.0
    _expect(
        tmp_path,
        write_csv(tmp_path / "ms.csv", cols),
        CsvFormatError,
        "milliseconds",
        "divide by 1000",
    )


def test_acceleration_in_g(tmp_path, sim):
    cols = sim.recording.to_columns()
    cols[:, 1:4] /= 9.80665
    _expect(
        tmp_path,
        write_csv(tmp_path / "g.csv", cols),
        CsvFormatError,
        "in g",
        "multiply ax, ay, az by 9.80665",
    )


def test_rotation_in_deg_per_s(tmp_path, sim):
    cols = sim.recording.to_columns()
    cols[:, 4:7] = np.degrees(cols[:, 4:7])
    _expect(tmp_path, write_csv(tmp_path / "d.csv", cols), CsvFormatError, "deg/s", "pi/180")


def test_short_nan_runs_are_interpolated_and_noted(tmp_path, sim):
    cols = sim.recording.to_columns()
    cols[300:305, 2] = np.nan
    rec = load_recording(write_csv(tmp_path / "nan.csv", cols))
    assert np.all(np.isfinite(rec.acc_m_s2))
    assert any("interpolated 5 samples" in n for n in rec.source["notes"])


def test_many_nans_are_an_error(tmp_path, sim):
    cols = sim.recording.to_columns()
    cols[::10, 5] = np.nan
    _expect(tmp_path, write_csv(tmp_path / "nans.csv", cols), CsvFormatError, "missing values")


def test_long_nan_run_is_an_error(tmp_path, sim):
    cols = sim.recording.to_columns()
    cols[1000:1040, 1] = np.nan  # 0.8 s at 50 Hz
    _expect(tmp_path, write_csv(tmp_path / "nanrun.csv", cols), CsvFormatError, "line 1002")


def test_duplicated_timestamps_dropped_and_noted(tmp_path, sim):
    cols = sim.recording.to_columns()
    cols = np.insert(cols, 50, cols[49], axis=0)
    rec = load_recording(write_csv(tmp_path / "dup.csv", cols))
    assert len(rec) == len(sim.recording)
    assert any("repeated" in n for n in rec.source["notes"])


def test_too_short(tmp_path, sim):
    cols = sim.recording.to_columns()[:200]  # 4 s
    _expect(
        tmp_path, write_csv(tmp_path / "short.csv", cols), RecordingTooShortError, "at least 10 s"
    )


def test_binary_garbage(tmp_path):
    path = tmp_path / "x.bin"
    path.write_bytes(bytes(range(256)) * 4)
    _expect(tmp_path, path, InputFileError, "neither")


def test_gaps_short_bridged_long_split(sim):
    rec = sim.recording
    keep = np.ones(len(rec), dtype=bool)
    keep[500:520] = False  # 0.4 s: bridged
    keep[1500:1750] = False  # 5 s: split, unknown
    from dataclasses import replace

    gappy = replace(
        rec, t_s=rec.t_s[keep], acc_m_s2=rec.acc_m_s2[keep], gyr_rad_s=rec.gyr_rad_s[keep]
    )
    result = analyze(gappy)
    assert any("bridged 1 short gap" in n for n in result.notes)
    unknown = [p for p in result.phases if p.kind == "unknown"]
    assert len(unknown) == 1 and unknown[0].end_s - unknown[0].start_s == pytest.approx(
        5.02, abs=0.05
    )


# --- the same through the CLI: one line on stderr, non-zero exit --------------------------------
@pytest.mark.parametrize(
    "mutate, needle",
    [
        (lambda c: c[:, :6], "no column 'gz'"),
        (lambda c: np.column_stack([c[:, :1] * 1000, c[:, 1:]]), "milliseconds"),
        (lambda c: np.column_stack([c[:, :1], c[:, 1:4] / 9.80665, c[:, 4:]]), "in g"),
        (lambda c: c[:100], "at least 10 s"),
    ],
)
def test_cli_bad_input(tmp_path, sim, capsys, mutate, needle):
    cols = mutate(sim.recording.to_columns())
    header = HEADER if cols.shape[1] == 7 else "t,ax,ay,az,gx,gy"
    path = write_csv(tmp_path / "bad.csv", cols, header=header)
    code = run(["analyze", str(path), "--json"])
    out, err = capsys.readouterr()
    assert code == 1
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("tracker: error:") and needle in err


def test_cli_missing_file(tmp_path, capsys):
    assert run(["analyze", str(tmp_path / "nope.csv")]) == 1
    assert "no such file" in capsys.readouterr().err


def test_cli_bad_roller_diameter(tmp_path, sim, capsys):
    path = write_csv(tmp_path / "ok.csv", sim.recording.to_columns())
    assert run(["analyze", str(path), "--roller-diameter", "150"]) == 2
    assert "centimetres" in capsys.readouterr().err


def test_cli_json_is_one_document(tmp_path, sim, capsys):
    path = write_csv(tmp_path / "ok.csv", sim.recording.to_columns())
    assert run(["analyze", str(path), "--json", "--roller-diameter", "15"]) == 0
    out = capsys.readouterr().out
    doc = json.loads(out)
    for key in (
        "duration_s",
        "on_roller_s",
        "rolling_s",
        "strokes",
        "pauses",
        "warnings",
        "summary",
    ):
        assert key in doc
    assert set(doc["summary"]) >= {"strokes", "pauses", "mean_pace_cm_s", "too_fast_fraction"}
    assert doc["parameters"]["guidance"]["roller_diameter_cm"] == 15.0
    assert math.isclose(doc["duration_s"], sim.truth.duration_s, abs_tol=0.05)


def test_cli_summary_for_people(tmp_path, sim, capsys):
    path = write_csv(tmp_path / "ok.csv", sim.recording.to_columns())
    assert run(["analyze", str(path)]) == 0
    out = capsys.readouterr().out
    assert "On the roller" in out and "cm/s" in out

"""Bad phone exports and unknown layouts: one line that says what is wrong and what to do, exit
status 1 (2 for a mistake in the options), and nothing stored."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest
from phone_exports import phone_streams, shift_gyro, write_phyphox, write_sensor_logger

from tracker.cli.main import run
from tracker.errors import CsvFormatError, InputFileError, RecordingTooShortError, UsageError
from tracker.formats import load_recording
from tracker.simulate import random_script, simulate_session


@pytest.fixture(scope="module")
def streams():
    sim = simulate_session(
        random_script(7, duration_s=40, with_getting_on_off=False), seed=7, sampling_rate_hz=50
    )
    return phone_streams(sim, seed=2)


def expect(path, error, *needles, **kwargs):
    with pytest.raises(error) as info:
        load_recording(path, **kwargs)
    line = info.value.one_line()
    assert "\n" not in line
    for needle in needles:
        assert needle in line, line
    return line


def expect_cli(capsys, args, code, *needles):
    assert run(args) == code
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and err.startswith("tracker: error:"), err
    for needle in needles:
        assert needle in err, err
    return err


# --- truncated and damaged files ------------------------------------------------------------------
@pytest.mark.parametrize("keep", [0.3, 0.9, 0.999])
def test_zip_cut_short(tmp_path, streams, capsys, keep):
    full = write_sensor_logger(tmp_path / "full.zip", streams).read_bytes()
    cut = tmp_path / "cut.zip"
    cut.write_bytes(full[: int(len(full) * keep)])
    expect(cut, InputFileError, "cut short or damaged", "export or copy the zip again")
    expect_cli(capsys, ["analyze", str(cut)], 1, "cut short or damaged")
    assert run(["import", str(cut)]) == 1
    out, err = capsys.readouterr()
    assert "cut short or damaged" in err  # a failed import is reported on stderr
    assert run(["sessions", "--json"]) == 0 and capsys.readouterr().out.strip() == "[]"


def test_damaged_member_in_a_zip(tmp_path, streams):
    path = write_sensor_logger(tmp_path / "bad.zip", streams)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("Gyroscope.csv")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    for k in range(200, 240):  # flip bytes inside the compressed data
        data[start + k] ^= 0xFF
    path.write_bytes(bytes(data))
    expect(path, InputFileError, "Gyroscope.csv", "damaged", "export or copy the zip again")


def test_sensor_logger_file_cut_mid_line_loses_only_that_line(tmp_path, streams):
    folder = write_sensor_logger(tmp_path / "export", streams, as_zip=False)
    text = (folder / "TotalAcceleration.csv").read_text()
    (folder / "TotalAcceleration.csv").write_text(
        text[: len(text) - 25]
    )  # a logger killed mid-write
    rec = load_recording(folder)
    assert any("dropped the incomplete last line" in n for n in rec.source["notes"])


def test_sensor_logger_file_with_a_broken_line_inside(tmp_path, streams):
    folder = write_sensor_logger(tmp_path / "export", streams, as_zip=False)
    lines = (folder / "Gyroscope.csv").read_text().splitlines()
    lines[100] = lines[100][:20]
    (folder / "Gyroscope.csv").write_text("\n".join(lines) + "\n")
    expect(folder, CsvFormatError, "Gyroscope.csv line 101 has too few cells")


def test_phyphox_file_cut_to_its_header(tmp_path, streams):
    path = write_phyphox(tmp_path / "p.zip", streams)
    with zipfile.ZipFile(path) as z:
        files = {n: z.read(n) for n in z.namelist()}
    files["Gyroscope.csv"] = files["Gyroscope.csv"].split(b"\n", 1)[0] + b"\n"
    with zipfile.ZipFile(path, "w") as z:
        for n, b in files.items():
            z.writestr(n, b)
    expect(path, RecordingTooShortError, "Gyroscope.csv", "no samples")


# --- missing files -------------------------------------------------------------------------------
def test_ios_export_without_gravity(tmp_path, streams, capsys):
    path = write_sensor_logger(
        tmp_path / "ios.zip", streams, platform="ios", leave_out=("Gravity.csv",)
    )
    expect(
        path, InputFileError, "no Gravity.csv", "Accelerometer.csv (gravity removed)", "switch on"
    )
    expect_cli(capsys, ["analyze", str(path)], 1, "no Gravity.csv")


def test_export_without_metadata_cannot_tell_ios_from_android(tmp_path, streams):
    path = write_sensor_logger(tmp_path / "ios.zip", streams, platform="ios", metadata=False)
    expect(path, InputFileError, "Metadata.csv", "iOS or Android", "give the whole export")


def test_export_without_any_acceleration(tmp_path, streams):
    path = write_sensor_logger(
        tmp_path / "gyro.zip",
        streams,
        leave_out=("TotalAcceleration.csv", "Accelerometer.csv", "Gravity.csv"),
    )
    expect(path, InputFileError, "no acceleration file")


def test_phyphox_linear_acceleration_is_refused_with_the_reason(tmp_path):
    text = '"Time (s)","Linear Acceleration x (m/s^2)","Linear Acceleration y (m/s^2)","Linear Acceleration z (m/s^2)"\n'
    text += "".join(f"{i / 100:.9E},1.0E-2,2.0E-2,3.0E-2\n" for i in range(3000))
    path = tmp_path / "linear.csv"
    path.write_text(text)
    expect(path, InputFileError, "Linear Acceleration", "gravity removed", "Acceleration with g")


# --- clocks that do not belong together ------------------------------------------------------------
def test_gyroscope_from_another_recording(tmp_path, streams, capsys):
    path = write_sensor_logger(tmp_path / "mixed.zip", shift_gyro(streams, 3600.0))
    expect(
        path,
        InputFileError,
        "do not overlap in time",
        "TotalAcceleration.csv",
        "Gyroscope.csv",
        "export them together",
    )
    expect_cli(capsys, ["analyze", str(path)], 1, "do not overlap")


def test_clocks_that_overlap_too_briefly(tmp_path, streams):
    path = write_phyphox(tmp_path / "brief.zip", shift_gyro(streams, streams.t_acc[-1] - 5.0))
    expect(path, RecordingTooShortError, "overlap for only", "at least 10 s")


def test_clocks_that_overlap_in_part_keep_the_overlap(tmp_path, streams):
    path = write_sensor_logger(tmp_path / "part.zip", shift_gyro(streams, 12.0))
    rec = load_recording(path)
    assert rec.duration_s == pytest.approx(streams.t_acc[-1] - 12.0, abs=0.1)
    assert any("recorded without the gyroscope were left out" in n for n in rec.source["notes"])


# --- wrong columns, unknown layouts ----------------------------------------------------------------
def test_sensor_logger_file_missing_an_axis(tmp_path, streams):
    folder = write_sensor_logger(tmp_path / "export", streams, as_zip=False)
    text = (
        (folder / "Gyroscope.csv")
        .read_text()
        .replace("time,seconds_elapsed,z,y,x", "time,seconds_elapsed,z,y,w")
    )
    (folder / "Gyroscope.csv").write_text(text)
    expect(folder, CsvFormatError, "Gyroscope.csv has no column 'x'", "time,seconds_elapsed,z,y,x")


def test_unknown_csv_names_the_formats_and_suggests_columns(tmp_path, capsys):
    path = tmp_path / "log.csv"
    rows = ["Timestamp,AccX,AccY,AccZ,GyroX,GyroY,GyroZ,Temp"] + [
        f"{1000 + 10 * i},0.1,0.2,9.8,0.5,0.1,0.2,30" for i in range(2000)
    ]
    path.write_text("\n".join(rows) + "\n")
    line = expect(
        path,
        CsvFormatError,
        "has no column 't'",
        "Sensor Logger export",
        "phyphox export",
        "--columns t=Timestamp,ax=AccX,ay=AccY,az=AccZ,gx=GyroX,gy=GyroY,gz=GyroZ",
    )
    assert "t,ax,ay,az,gx,gy,gz" in line
    expect_cli(capsys, ["analyze", str(path)], 1, "--columns t=Timestamp")


def test_folder_without_a_recording(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(b"\xff\xd8\xff" + bytes(100))
    (folder / "notes.txt").write_text("hello\n")
    expect(folder, InputFileError, "holds no recording tracker reads", "Sensor Logger", "phyphox")


def test_zip_without_a_recording(tmp_path):
    path = tmp_path / "x.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.md", "nothing here")
    expect(path, InputFileError, "is a zip that holds no recording", "readme.md")


def test_options_that_do_not_apply_to_an_export(tmp_path, streams, capsys):
    path = write_sensor_logger(tmp_path / "a.zip", streams)
    with pytest.raises(UsageError):
        load_recording(path, columns="t=time,ax=x,ay=y,az=z")
    expect_cli(
        capsys,
        ["analyze", str(path), "--gyro-unit", "deg/s"],
        2,
        "apply to plain CSV files",
        "Sensor Logger",
    )


@pytest.mark.parametrize(
    "columns, needle",
    [
        ("t=Timestamp,ax=AccX,ay=AccY", "needs az"),
        ("t=Timestamp,ax=AccX,ay=AccY,az=AccZ,gx=GyroX", "give all of gx, gy, gz"),
        ("t=Timestamp,q=AccX", "'q' is not one of"),
        ("t Timestamp", "is not KEY=COLUMN"),
        ("t=-Timestamp,ax=AccX,ay=AccY,az=AccZ", "cannot be negated"),
        ("t=#0,ax=#2,ay=#3,az=#4", "not a column position"),
    ],
)
def test_bad_columns_option_is_a_usage_error(tmp_path, capsys, columns, needle):
    path = tmp_path / "log.csv"
    path.write_text("Timestamp,AccX,AccY,AccZ\n1,2,3,4\n")
    expect_cli(capsys, ["analyze", str(path), "--columns", columns], 2, needle)


def test_columns_naming_a_column_the_file_lacks(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("Timestamp,AccX,AccY,AccZ\n" + "".join(f"{i},0,0,9.8\n" for i in range(100)))
    expect(
        path,
        CsvFormatError,
        "has no column 'AccW'",
        "its columns are: Timestamp,AccX,AccY,AccZ",
        columns="t=Timestamp,ax=AccX,ay=AccY,az=AccW",
    )


def test_import_reports_each_bad_export_and_keeps_the_good(tmp_path, streams, capsys):
    good = write_phyphox(tmp_path / "good.zip", streams)
    bad = write_sensor_logger(tmp_path / "bad.zip", shift_gyro(streams, 3600.0))
    assert run(["import", str(good), str(bad)]) == 1
    out, err = capsys.readouterr()
    assert "imported" in out and "do not overlap" in out
    assert run(["sessions", "--json"]) == 0
    assert len(__import__("json").loads(capsys.readouterr().out)) == 1
    assert np.isfinite(1.0)


def test_excel_workbook_is_named(tmp_path):
    path = tmp_path / "phyphox.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
    expect(path, InputFileError, "is an Excel workbook", "as CSV")


def test_folder_of_recordings_asks_for_the_files(tmp_path, capsys):
    folder = tmp_path / "captures"
    folder.mkdir()
    for name in ("a.capture", "b.capture"):
        (folder / name).write_bytes(b"tracker-capture 1.0\n")
    expect(folder, InputFileError, "is a folder of 2 files", "give the files themselves")
    expect_cli(capsys, ["analyze", str(folder)], 1, "folder of 2 files")


def test_a_sensor_logger_file_in_a_busy_folder(tmp_path, streams):
    # the user gave Gyroscope.csv from a Downloads folder full of other things
    folder = write_sensor_logger(tmp_path / "Downloads", streams, as_zip=False)
    for i in range(600):
        (folder / f"photo{i}.jpg").write_bytes(b"\xff\xd8")
    rec = load_recording(folder / "Gyroscope.csv")
    assert rec.has_gyro and rec.source["kind"] == "sensor-logger"


def test_a_gap_in_the_gyroscope_stays_a_gap(tmp_path, streams):
    keep = (streams.t_gyr < 20.0) | (streams.t_gyr > 21.0)
    gappy = type(streams)(
        streams.t_acc, streams.total, streams.gravity, streams.t_gyr[keep], streams.gyr[keep]
    )
    rec = load_recording(write_sensor_logger(tmp_path / "gap.zip", gappy))
    steps = np.diff(rec.t_s)
    assert steps.max() == pytest.approx(1.0, abs=0.05)  # never filled in
    assert any("Gyroscope.csv has gaps" in n for n in rec.source["notes"])

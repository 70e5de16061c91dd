"""Other CSV layouts through --columns, and the CSV reader's handling of what loggers write."""

from __future__ import annotations

import numpy as np
import pytest
from phone_exports import write_movesense_style

from tracker.cli.main import run
from tracker.errors import CsvFormatError
from tracker.formats import ColumnMapping, UnitOverrides, load_recording
from tracker.formats import table as table_module
from tracker.simulate import random_script, simulate_session

HEADER = "t,ax,ay,az,gx,gy,gz"


@pytest.fixture(scope="module")
def sim():
    return simulate_session(random_script(11, duration_s=60), seed=11, sampling_rate_hz=50)


def test_movesense_style_log_through_columns_and_units(tmp_path, sim, capsys):
    path = write_movesense_style(tmp_path / "movesense.csv", sim.recording)
    with pytest.raises(CsvFormatError) as info:
        load_recording(path)
    assert "--columns t=Timestamp,ax=AccX" in info.value.one_line()
    mapping = "t=Timestamp,ax=AccX,ay=AccY,az=AccZ,gx=GyroX,gy=GyroY,gz=GyroZ"
    rec = load_recording(path, columns=mapping, units=UnitOverrides.of(time="ms", gyro="deg/s"))
    assert np.allclose(rec.t_s, sim.recording.t_s, atol=1e-6)
    assert np.allclose(rec.acc_m_s2, sim.recording.acc_m_s2, atol=1e-4)
    assert np.allclose(rec.gyr_rad_s, sim.recording.gyr_rad_s, atol=1e-3)
    assert rec.source["format"] == f"CSV with --columns {mapping}"
    # detection alone names both remaining problems at once
    with pytest.raises(CsvFormatError) as info:
        load_recording(path, columns=mapping)
    assert "milliseconds" in info.value.one_line() and "--gyro-unit deg/s" in info.value.one_line()
    assert (
        run(
            [
                "analyze",
                str(path),
                "--columns",
                mapping,
                "--time-unit",
                "ms",
                "--gyro-unit",
                "deg/s",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert (
        f"movesense.csv: read as a CSV with --columns {mapping}" in out and "On the roller" in out
    )


def test_positional_columns_for_a_file_without_header(tmp_path, sim):
    cols = sim.recording.to_columns()[:, [0, 4, 5, 6, 1, 2, 3]]  # t, gyro, acc
    path = tmp_path / "nohead.csv"
    np.savetxt(path, cols, delimiter=";", fmt="%.9g")
    with pytest.raises(CsvFormatError) as info:
        load_recording(path)
    assert (
        "has no header row" in info.value.one_line() and "--columns t=#1" in info.value.one_line()
    )
    rec = load_recording(path, columns="t=#1,ax=#5,ay=#6,az=#7,gx=#2,gy=#3,gz=#4")
    assert np.allclose(rec.acc_m_s2, sim.recording.acc_m_s2, atol=1e-6)
    assert len(rec) == len(sim.recording)


def test_negated_axes(tmp_path, sim):
    cols = sim.recording.to_columns().copy()
    cols[:, [1, 4]] *= -1  # a logger whose x axis points the other way
    path = tmp_path / "flip.csv"
    np.savetxt(path, cols, delimiter=",", header="time,x,y,z,wx,wy,wz", comments="", fmt="%.9g")
    rec = load_recording(path, columns="t=time,ax=-x,ay=y,az=z,gx=-wx,gy=wy,gz=wz")
    assert np.allclose(rec.acc_m_s2, sim.recording.acc_m_s2, atol=1e-6)
    assert np.allclose(rec.gyr_rad_s, sim.recording.gyr_rad_s, atol=1e-6)


def test_accelerometer_only_csv(tmp_path, sim):
    path = tmp_path / "acc.csv"
    np.savetxt(
        path,
        sim.recording.to_columns()[:, :4],
        delimiter=",",
        header="t,ax,ay,az",
        comments="",
        fmt="%.9g",
    )
    rec = load_recording(path)
    assert not rec.has_gyro and np.allclose(rec.acc_m_s2, sim.recording.acc_m_s2, atol=1e-6)


def test_column_mapping_text_round_trip():
    m = ColumnMapping.parse(" t = Time (s) , ax=-Acc X, ay=Acc Y, az=Acc Z ")
    assert m.names["t"] == "Time (s)" and m.signs["ax"] == -1.0 and not m.has_gyro
    assert ColumnMapping.parse(m.text()) == m


# --- what loggers write ---------------------------------------------------------------------------
def _write(path, lines):
    path.write_text("\n".join(lines) + "\n")
    return path


def _rows(sim, fmt="{:.6f}", sep=","):
    return [sep.join(fmt.format(v) for v in r) for r in sim.recording.to_columns()]


def test_quoted_header_bom_crlf_and_blank_lines(tmp_path, sim):
    rows = _rows(sim)
    rows.insert(500, "")
    rows.insert(1000, "   ")
    path = tmp_path / "windows.csv"
    path.write_bytes(
        ("\ufeff" + '"t","ax","ay","az","gx","gy","gz"\r\n' + "\r\n".join(rows) + "\r\n").encode()
    )
    rec = load_recording(path)
    assert len(rec) == len(sim.recording)
    assert np.allclose(rec.acc_m_s2, sim.recording.acc_m_s2, atol=1e-5)


def test_line_numbers_count_blank_lines(tmp_path, sim):
    rows = _rows(sim)
    rows.insert(10, "")
    rows[600] = rows[600].replace(rows[600].split(",")[2], "oops", 1)
    path = _write(tmp_path / "x.csv", [HEADER, *rows])
    with pytest.raises(CsvFormatError) as info:
        load_recording(path)
    assert "line 602, column ay: 'oops' is not a number" in info.value.one_line()


def test_bad_cell_in_a_later_chunk_is_found(tmp_path, sim, monkeypatch):
    monkeypatch.setattr(table_module, "CHUNK_ROWS", 256)
    rows = _rows(sim)
    cells = rows[2000].split(",")
    cells[5] = "n/a?"
    rows[2000] = ",".join(cells)
    path = _write(tmp_path / "x.csv", [HEADER, *rows])
    with pytest.raises(CsvFormatError) as info:
        load_recording(path)
    assert "line 2002, column gy: 'n/a?' is not a number" in info.value.one_line()


def test_chunked_reading_gives_the_same_numbers(tmp_path, sim, monkeypatch):
    path = _write(tmp_path / "x.csv", [HEADER, *_rows(sim, "{:.9g}")])
    whole = load_recording(path)
    monkeypatch.setattr(table_module, "CHUNK_ROWS", 333)
    chunked = load_recording(path)
    assert np.array_equal(whole.acc_m_s2, chunked.acc_m_s2) and np.array_equal(
        whole.t_s, chunked.t_s
    )


def test_infinite_value(tmp_path, sim):
    rows = _rows(sim)
    rows[40] = rows[40].rsplit(",", 1)[0] + ",1e400"
    path = _write(tmp_path / "x.csv", [HEADER, *rows])
    with pytest.raises(CsvFormatError) as info:
        load_recording(path)
    assert "line 42, column gz: infinite value" in info.value.one_line()


def test_extra_cells_on_some_rows_are_ignored(tmp_path, sim):
    rows = _rows(sim)
    rows[7] += ",extra,cells"
    path = _write(tmp_path / "x.csv", [HEADER, *rows])
    assert len(load_recording(path)) == len(sim.recording)


def test_not_utf8(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"t,ax,ay,az,gx,gy,gz\n" + "0,é,0,0,0,0,0\n".encode("latin-1") * 100)
    with pytest.raises(CsvFormatError) as info:
        load_recording(path)
    assert "is not UTF-8 text" in info.value.one_line()

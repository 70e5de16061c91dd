"""Inputs that used to get the wrong message: a capture cut inside its signature, and a CSV
exported with ';' between columns and ',' as the decimal mark (now read)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tracker.analysis import load_recording
from tracker.cli.main import run
from tracker.errors import RecordingTooShortError

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


@pytest.mark.parametrize("k", [5, 12, 19])
def test_capture_cut_inside_its_signature(tmp_path, capsys, k):
    path = tmp_path / "cut.dat"  # by content, whatever the name
    path.write_bytes((FIXTURES / "hips_down.capture").read_bytes()[:k])
    with pytest.raises(RecordingTooShortError) as info:
        load_recording(path)
    assert f"is a capture cut after {k} bytes: nothing to analyse" in info.value.one_line()
    assert run(["analyze", str(path)]) == 1
    assert "capture cut after" in capsys.readouterr().err


def test_capture_cut_after_its_header(tmp_path):
    data = (FIXTURES / "hips_down.capture").read_bytes()
    path = tmp_path / "cut.capture"
    path.write_bytes(data[:600])
    with pytest.raises(RecordingTooShortError) as info:
        load_recording(path)
    assert "cut after 600 bytes" in info.value.one_line()


def test_semicolons_and_decimal_commas_load(tmp_path):
    # A spreadsheet in a comma-decimal locale writes ';' between columns and ',' as the decimal
    # mark. This used to be refused; phyphox writes the same, so tracker reads both now.
    rows = ["t;ax;ay;az;gx;gy;gz"] + [
        f"{i * 0.02:.6f};0,1;0,2;9,8;0,0;0,0;0,0".replace(".", ",") for i in range(1000)
    ]
    path = tmp_path / "excel.csv"
    path.write_text("\n".join(rows) + "\n")
    rec = load_recording(path)
    assert len(rec) == 1000
    assert rec.t_s[1] == pytest.approx(0.02)
    assert rec.acc_m_s2[0].tolist() == pytest.approx([0.1, 0.2, 9.8])


def test_semicolons_with_decimal_points_still_load(tmp_path):
    from tracker.simulate import random_script, simulate_session

    sim = simulate_session(random_script(3, duration_s=30), seed=3, sampling_rate_hz=50)
    cols = sim.recording.to_columns()
    rows = ["t;ax;ay;az;gx;gy;gz"] + [";".join(f"{v:.6f}" for v in r) for r in cols]
    path = tmp_path / "semi.csv"
    path.write_text("\n".join(rows) + "\n")
    assert len(load_recording(path)) == len(cols)

"""The notebook API: `tracker.analyze(data)` on a DataFrame, a path or a recording, its frames
with the store's columns, `tracker.signals`, bad input, and notebooks/session.ipynb executed."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import tracker
from tracker.analysis import analyze as analyze_recording
from tracker.errors import CsvFormatError, UsageError
from tracker.results import HOLD_COLUMNS, PHASE_COLUMNS, STROKE_COLUMNS, WARNING_COLUMNS
from tracker.simulate import random_script, simulate_session

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "session.ipynb"


@pytest.fixture(scope="module")
def session():
    sim = simulate_session(random_script(7, fast=True, duration_s=150.0), seed=7, attach_calibration=True)
    rec = sim.recording
    df = pd.DataFrame({"t": rec.t_s, **{c: rec.acc_m_s2[:, k] for k, c in enumerate(("ax", "ay", "az"))},
                       **{c: rec.gyr_rad_s[:, k] for k, c in enumerate(("gx", "gy", "gz"))}})  # fmt: skip
    return sim, df


def test_import_tracker_stays_light():
    out = subprocess.run(
        [sys.executable, "-c", "import sys, tracker; print(sorted(m for m in ('numpy', 'scipy', 'pandas', 'vqf') if m in sys.modules))"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert out.stdout.strip() == "[]"


def test_a_dataframe_a_path_and_a_recording_give_the_pipelines_result(session, tmp_path):
    sim, df = session
    rec = sim.recording
    want = analyze_recording(rec)
    shuffled = df[["gz", "t", "ax", "ay", "az", "gx", "gy"]].assign(extra=1.0)
    from_df = tracker.analyze(shuffled, calibration=rec.calibration, sampling_rate_hz=rec.sampling_rate_hz)
    assert from_df.strokes == want.strokes and from_df.holds == want.holds
    assert from_df.warnings == want.warnings
    assert tracker.analyze(rec).strokes == want.strokes
    path = tmp_path / "session.csv"
    df.to_csv(path, index=False, float_format="%.9g")
    from_file = tracker.analyze(str(path), calibration=rec.calibration)
    assert len(from_file.strokes) == len(want.strokes)
    assert abs(from_file.mean_pace_cm_s - want.mean_pace_cm_s) < 0.05


def test_frames_have_the_columns_of_the_store_and_the_export(session, tmp_path, monkeypatch):
    from tracker.history import SessionStore

    sim, df = session
    result = tracker.analyze(df, calibration=sim.recording.calibration)
    frames = {
        "strokes": (result.strokes_frame(), STROKE_COLUMNS, len(result.strokes)),
        "holds": (result.holds_frame(), HOLD_COLUMNS, len(result.holds)),
        "warnings": (result.warnings_frame(), WARNING_COLUMNS, len(result.warnings)),
        "phases": (result.phases_frame(), PHASE_COLUMNS, len(result.phases)),
    }
    with SessionStore(tmp_path / "s.sqlite3") as store:
        store.add_session(result, start_utc=datetime(2026, 1, 5, 7, 0, tzinfo=UTC), utc_offset_s=0)
        stored = {"strokes": store.strokes(), "holds": store.holds(), "warnings": store.warnings()}
    for name, (frame, columns, n) in frames.items():
        assert list(frame.columns) == list(columns) and len(frame) == n > 0, name
        if name in stored:
            assert list(stored[name].columns) == ["session_id", *columns], name
            pd.testing.assert_frame_equal(
                stored[name].drop(columns="session_id").reset_index(drop=True), frame,
                check_dtype=False, atol=1e-6,
            )  # fmt: skip
    s = frames["strokes"][0]
    np.testing.assert_allclose(s.duration_s, s.end_s - s.start_s)
    assert result.track_frame().columns.tolist() == ["t_s", "position_cm"]
    empty = replace(result, strokes=[]).strokes_frame()
    assert list(empty.columns) == list(STROKE_COLUMNS) and empty.empty


def test_signals_are_the_analysis_at_its_rate(session):
    sim, df = session
    sig = tracker.signals(df, calibration=sim.recording.calibration)
    assert sig.columns.tolist() == ["t_s", "pitch_deg", "position_cm", "smooth_position_cm", "phase", "posture"]
    assert 24.0 < 1.0 / np.median(np.diff(sig.t_s)) < 26.0
    on = sig.phase == "on_roller"
    assert on.any() and (~on).any()
    assert sig.position_cm[~on].isna().all() and sig.position_cm[on].notna().mean() > 0.9
    assert set(sig.posture[on]) == {"hips_down"}


def test_options_are_guidance_settings_or_named(session):
    sim, df = session
    result = tracker.analyze(df, roller_diameter_cm=12.0, too_fast_pace_cm_s=6.0, calibration=sim.recording.calibration)
    g = result.parameters["guidance"]
    assert g["roller_diameter_cm"] == 12.0 and g["too_fast_pace_cm_s"] == 6.0
    with pytest.raises(UsageError, match="unknown option.*rollr_diameter_cm"):
        tracker.analyze(df, rollr_diameter_cm=12.0)


def test_bad_data_says_what_to_give(session):
    _sim, df = session
    with pytest.raises(UsageError, match="no column az") as err:
        tracker.analyze(df.drop(columns="az"))
    assert "t,ax,ay,az,gx,gy,gz in s, m/s², rad/s" in err.value.one_line()
    with pytest.raises(UsageError, match="no column gz"):
        tracker.analyze(df.drop(columns="gz"))
    with pytest.raises(UsageError, match="cannot analyse a list"):
        tracker.analyze([1, 2, 3])
    with pytest.raises(CsvFormatError, match="DataFrame"):
        tracker.analyze(df.assign(ax=df.ax / 9.80665, ay=df.ay / 9.80665, az=df.az / 9.80665))  # in g


def test_a_dataframe_without_gyro_columns_is_an_accelerometer_only_recording(session):
    from tracker.analysis.api import recording_from_frame

    _sim, df = session
    rec = recording_from_frame(df.drop(columns=["gx", "gy", "gz"]))
    assert not rec.has_gyro and np.isnan(rec.gyr_rad_s).all() and len(rec) == len(df)


def _kernel_for_this_interpreter(where: Path) -> str:
    name = "tracker-test-python"
    spec = where / "kernels" / name
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "tracker tests", "language": "python",
    }))  # fmt: skip
    return name


@pytest.mark.slow
def test_the_session_notebook_runs(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    kernel = _kernel_for_this_interpreter(tmp_path / "jupyter")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert "tracker.analyze(" in nb.cells[1].source and "strokes_frame()" in nb.cells[3].source
    nbclient.NotebookClient(
        nb, kernel_name=kernel, timeout=180, resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "".join(o.get("text", "") for o in outputs)
    assert "strokes at" in text and "true;" in text
    tables = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert any("pace_cm_s" in t and "direction" in t for t in tables)
    assert len([o for o in outputs if "image/png" in o.get("data", {})]) == 1


def test_the_analysis_and_the_live_session_import_neither_scipy_nor_pandas():
    """The analysis's filters are its own (tracker/analysis/steps/iir.py, checked against
    scipy.signal in tests/analysis/test_steps_iir.py): analysing a file starts quickly."""
    code = (
        "import sys, tracker\n"
        f"tracker.analyze({str(ROOT / 'fixtures' / 'bridge.capture')!r})\n"
        "from tracker.live.streaming import LiveSession\n"
        "LiveSession(None, 100.0)\n"
        "print(sorted(m.split('.')[0] for m in sys.modules if m.split('.')[0] in ('scipy', 'pandas')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

"""The history commands end to end: import, sessions, show, export, report."""

from __future__ import annotations

import json
import os
import re
import sys
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from conftest import crafted_session, local

from tracker import paths
from tracker.cli.main import run
from tracker.history import SessionStore, ingest


@pytest.fixture(scope="module")
def sim_csv(tmp_path_factory):
    """A simulated session written as CSV (what a user exports from another logger)."""
    from tracker.simulate import random_script, simulate_session

    sim = simulate_session(random_script(5, duration_s=90), seed=5, sampling_rate_hz=50)
    path = tmp_path_factory.mktemp("csv") / "session.csv"
    np.savetxt(
        path,
        sim.recording.to_columns(),
        delimiter=",",
        header="t,ax,ay,az,gx,gy,gz",
        comments="",
        fmt="%.6f",
    )
    return path, sim


@pytest.fixture
def fake_analysis(monkeypatch):
    """Stand in for tracker.analysis.analyze (tested on its own): the loader stays real."""
    calls = []

    def analyze(recording, guidance):
        calls.append(guidance)
        return crafted_session(recording.duration_s / 60 * 0.8)

    monkeypatch.setattr(ingest, "_default_analyze", analyze)
    return calls


def test_import_csv_then_again_is_idempotent(sim_csv, fake_analysis, capsys):
    path, sim = sim_csv
    mtime = datetime(2025, 3, 31, 0, 40, tzinfo=UTC).timestamp()
    os.utime(path, (mtime, mtime))
    assert run(["import", str(path), "--timezone", "Europe/Berlin", "--roller-diameter", "12"]) == 0
    out = capsys.readouterr().out
    assert re.match(rf"imported\s+{re.escape(str(path))} -> session 1 \(", out)
    assert fake_analysis[0].roller_diameter_cm == 12.0
    assert run(["import", str(path)]) == 0
    assert "already imported" in capsys.readouterr().out and len(fake_analysis) == 1
    with SessionStore() as store:
        s = store.session(1)
    # A CSV has no start time: the file's mtime minus the recording's length, in the zone given.
    expected = mtime - sim.recording.duration_s
    assert s.start_utc.timestamp() == pytest.approx(expected, abs=1e-3)
    assert s.timezone == "Europe/Berlin" and s.utc_offset_s == 7200
    assert s.capture_sha256 == ingest.file_sha256(path) and s.capture_path == str(path.resolve())


def test_import_start_option_for_csv(sim_csv, fake_analysis, tmp_path, capsys):
    path = tmp_path / "copy.csv"
    path.write_bytes(sim_csv[0].read_bytes())
    assert (
        run(["import", str(path), "--start", "2025-10-26T23:30", "--timezone", "Europe/Berlin"])
        == 0
    )
    with SessionStore() as store:
        s = store.session(1)
    assert s.start_utc == datetime(2025, 10, 26, 22, 30, tzinfo=UTC) and s.utc_offset_s == 3600


def test_import_keeps_good_files_and_fails_bad_ones(sim_csv, fake_analysis, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("time,x,y\n1,2,3\n")
    missing = tmp_path / "nope.cap"
    code = run(["import", str(sim_csv[0]), str(bad), str(missing)])
    out = capsys.readouterr()
    assert code == 1
    lines = out.out.splitlines()
    assert lines[0].startswith("imported")
    assert lines[1].startswith(f"failed            {bad}: ") and "gz" in lines[1]
    assert lines[2] == f"failed            {missing}: {missing} does not exist"
    assert "1 of 3 file(s) stored or already there; 2 failed" in out.err
    with SessionStore() as store:
        assert store.count() == 1


def test_import_bad_timezone_is_a_usage_error(sim_csv, capsys):
    assert run(["import", str(sim_csv[0]), "--timezone", "Mars/Olympus"]) == 2
    assert "unknown time zone 'Mars/Olympus'" in capsys.readouterr().err


def test_import_with_the_real_analysis(sim_csv, capsys):
    analysis = pytest.importorskip("tracker.analysis")
    if not hasattr(analysis, "analyze"):
        pytest.skip("tracker.analysis.analyze has not landed yet")
    path, sim = sim_csv
    assert run(["import", str(path), "--timezone", "UTC"]) == 0
    with SessionStore() as store:
        s = store.session(1)
    assert s.analysis.duration_s == pytest.approx(sim.recording.duration_s, abs=0.5)
    assert abs(len(s.analysis.strokes) - len(sim.truth.strokes)) <= max(
        2, 0.2 * len(sim.truth.strokes)
    )


def _fill(n=3):
    with SessionStore() as store:
        for k in range(n):
            store.add_session(crafted_session(5.0 + k, paces_cm_s=(2.0, 6.0), holds=1, warnings=1),
                              start_utc=local(f"2025-01-{6 + k:02d}T07:00"), timezone="Europe/Berlin",
                              sensor={"name": "Roller IMU"}, checksum=f"{k:064x}")  # fmt: skip


def test_sessions_table_json_and_filters(capsys):
    assert run(["sessions"]) == 0
    assert "No sessions stored yet" in capsys.readouterr().out
    _fill()
    assert run(["sessions", "--since", "2025-01-07"]) == 0
    out = capsys.readouterr().out
    assert "2025-01-07 07:00 +0100" in out and "2025-01-06" not in out and "2 session(s)" in out
    assert run(["sessions", "--json", "--until", "2025-01-06"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in rows] == [1] and rows[0]["start_local"] == "2025-01-06T07:00:00+01:00"
    assert rows[0]["n_strokes"] == 2 and rows[0]["too_fast_fraction"] == 0.5


def test_sessions_bad_dates(capsys):
    assert run(["sessions", "--since", "06.01.2025"]) == 2
    assert "--since '06.01.2025' is not a date; use YYYY-MM-DD" in capsys.readouterr().err
    assert run(["sessions", "--since", "2025-02-01", "--until", "2025-01-01"]) == 2


def test_show_prints_everything_and_writes_the_timeline(tmp_path, capsys):
    _fill()
    png = tmp_path / "t.png"
    assert run(["show", "2", "--out", str(png)]) == 0
    out = capsys.readouterr().out
    assert (
        "Session 2" in out
        and "Strokes" in out
        and "Holds" in out
        and "Warnings" in out
        and "slow down" in out
    )
    assert f"timeline chart: {png}" in out and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert run(["show", "2"]) == 0
    default = paths.data_dir() / "charts" / "session-2.png"
    assert str(default) in capsys.readouterr().out and default.stat().st_mode & 0o777 == 0o600
    assert run(["show", "99"]) == 2
    assert (
        "no session 99; list the stored sessions with `tracker sessions`" in capsys.readouterr().err
    )


def test_export_csv_and_jsonl(tmp_path, capsys):
    _fill()
    assert run(["export", "--format", "csv", "--out", str(tmp_path / "x")]) == 0
    import pandas as pd

    sessions = pd.read_csv(tmp_path / "x" / "sessions.csv")
    strokes = pd.read_csv(tmp_path / "x" / "strokes.csv")
    assert (
        list(sessions["id"]) == [1, 2, 3]
        and len(strokes) == 6
        and set(strokes["session_id"]) == {1, 2, 3}
    )
    assert (tmp_path / "x" / "warnings.csv").stat().st_mode & 0o777 == 0o600
    assert run(["export", "--format", "jsonl", "--out", str(tmp_path / "x.jsonl")]) == 0
    lines = (tmp_path / "x.jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    assert (
        len(lines) == 3
        and len(first["strokes"]) == 2
        and first["warnings"][0]["kind"] == "too_fast"
    )
    assert first["parameters"]["roller_diameter_cm"] == 15.0
    assert run(["export", "--format", "parquet", "--out", str(tmp_path / "p")]) == 0
    assert len(pd.read_parquet(tmp_path / "p" / "holds.parquet")) == 3


def test_export_parquet_without_pyarrow_says_what_to_install(monkeypatch, tmp_path, capsys):
    # the command could not do its job (1), it was not a usage mistake (2)
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    assert run(["export", "--format", "parquet", "--out", str(tmp_path / "p")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install 'tracker[parquet]'" in err
    assert run(["export", "--format", "xlsx"]) == 2


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs = []

    def handle_starttag(self, tag, attrs):
        self.refs += [v for k, v in attrs if k in ("src", "href")]


def _assert_links_resolve(html_path: Path) -> int:
    parser = _Links()
    parser.feed(html_path.read_text())
    for ref in parser.refs:
        if ref.startswith("data:image/png;base64,"):
            continue
        assert "://" not in ref and not ref.startswith("/"), ref  # relative only
        assert (html_path.parent / ref).is_file(), ref
    return len(parser.refs)


def test_report_writes_charts_and_a_page_whose_links_all_resolve(tmp_path, capsys):
    _fill()
    out = tmp_path / "rep"
    assert run(["report", "--weeks", "6", "--out", str(out), "--until", "2025-01-12"]) == 0
    printed = capsys.readouterr().out
    assert f"report: {out / 'index.html'}" in printed
    assert _assert_links_resolve(out / "index.html") >= 15
    names = sorted(p.name for p in out.iterdir())
    assert names.count("index.html") == 1 and len([n for n in names if n.endswith(".svg")]) == 5
    for p in out.iterdir():
        assert p.stat().st_mode & 0o777 == 0o600, p
    page = (out / "index.html").read_text()
    # --weeks 6, but the history starts in the week of 6 Jan: one week, not five empty ones first
    assert page.count("<tr") == 2  # header + 1 week
    assert "<td>2025-01-06</td><td>3</td>" in page and "2024-12-" not in page
    assert "<h1>Foam rolling: 1 week, 6 Jan – 12 Jan 2025</h1>" in page


def test_report_on_an_empty_history_is_friendly(tmp_path, capsys):
    out = tmp_path / "empty"
    assert run(["report", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "No sessions yet" in captured.err
    assert "No sessions yet" in (out / "index.html").read_text()
    assert _assert_links_resolve(out / "index.html") == 15
    assert (out / "weekly_consistency.png").stat().st_size > 0


def test_report_bad_week_start(capsys):
    assert run(["report", "--week-start", "caturday"]) == 2
    assert "week_start must be one of" in capsys.readouterr().err


def test_corrupt_database_gives_one_clear_line_and_stays_untouched(capsys):
    db = paths.database_path()
    db.write_bytes(b"\x00garbage" * 1000)
    before = db.read_bytes()
    for argv in (["sessions"], ["report"], ["show", "1"], ["export"]):
        assert run(argv) == 1
        err = capsys.readouterr().err
        assert (
            err.count("\n") == 1
            and err.startswith("tracker: error: session database")
            and "move it aside" in err
        )
    assert db.read_bytes() == before


def test_every_history_command_has_an_example(capsys):
    for cmd in ("import", "sessions", "show", "export", "report"):
        assert run([cmd, "--help"]) == 0
        assert "Example: tracker " + cmd in capsys.readouterr().out

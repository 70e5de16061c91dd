"""Issue 10 in the history: output files never follow a symlink and end 0600 (item 4), hostile
stored strings are shown as text (item 5), damaged databases are one line and read-only commands
create nothing beside them (item 6), implausible sessions are refused (item 7), and a single
failed import is an error on stderr (item 9)."""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from conftest import crafted_session

from tracker import paths
from tracker.cli.main import run
from tracker.history.ingest import FAILED, IMPORTED, store_recording
from tracker.history.store import SessionStore
from tracker.imu import ImuRecording

HOSTILE_NAME = "[red]X\x1b[2J[/]"


def _store(analysis=None, *, start=None, sensor=None):
    with SessionStore() as store:
        return store.add_session(
            analysis or crafted_session(),
            start_utc=start or datetime(2025, 3, 3, 18, 0, tzinfo=UTC),
            utc_offset_s=3600,
            timezone="Europe/Berlin",
            sensor=sensor or {"name": "TRK-0001", "address": "C0:FF:EE:00:00:01"},
        )[0]


# --- item 4: output files ----------------------------------------------------------------------
def test_show_out_replaces_a_symlink_and_never_writes_through_it(tmp_path, capsys):
    sid = _store()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    link = tmp_path / "chart.png"
    link.symlink_to(victim)
    assert run(["show", str(sid), "--out", str(link)]) == 0
    assert victim.read_text() == "precious"
    assert not link.is_symlink() and link.read_bytes()[:4] == b"\x89PNG"
    assert link.stat().st_mode & 0o777 == 0o600


def test_show_out_over_an_existing_open_file_leaves_it_0600(tmp_path, capsys):
    sid = _store()
    out = tmp_path / "chart.png"
    out.write_bytes(b"old")
    out.chmod(0o644)
    assert run(["show", str(sid), "--out", str(out)]) == 0
    assert out.stat().st_mode & 0o777 == 0o600 and out.read_bytes()[:4] == b"\x89PNG"


def test_report_charts_replace_symlinks_and_end_0600(tmp_path, capsys):
    _store()
    out = tmp_path / "report"
    out.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    (out / "pace_trend.png").symlink_to(victim)
    (out / "calendar.svg").write_text("old")
    (out / "calendar.svg").chmod(0o644)
    assert run(["report", "--out", str(out), "--until", "2025-03-09"]) == 0
    assert victim.read_text() == "precious"
    for f in out.iterdir():
        assert not f.is_symlink() and f.stat().st_mode & 0o777 == 0o600, f


def test_the_shared_writer_replaces_symlinks(tmp_path):
    victim = tmp_path / "victim"
    victim.write_bytes(b"keep")
    target = tmp_path / "out.bin"
    target.symlink_to(victim)
    paths.write_private_atomic(target, b"new")
    assert victim.read_bytes() == b"keep" and target.read_bytes() == b"new"
    assert not target.is_symlink() and target.stat().st_mode & 0o777 == 0o600


# --- item 5: hostile stored strings ---------------------------------------------------------------
def test_show_prints_a_hostile_sensor_name_as_text(capsys):
    analysis = crafted_session()
    analysis.warnings[:0] = []
    sid = _store(analysis, sensor={"name": HOSTILE_NAME, "address": "[/]"})
    assert run(["show", str(sid)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\\x1b[2J" in out and "[red]X" in out


def test_report_with_a_hostile_sensor_name_and_note(tmp_path, capsys):
    analysis = crafted_session()
    analysis.notes.append("<script>alert(1)</script> [bold]x\x1b]0;t\x07")
    _store(analysis, sensor={"name": "<script>" + HOSTILE_NAME, "address": "x"})
    out = tmp_path / "report"
    assert run(["report", "--out", str(out), "--until", "2025-03-09"]) == 0
    printed = capsys.readouterr()
    assert "\x1b" not in printed.out + printed.err
    assert "<script>" not in (out / "index.html").read_text()


# --- item 6: damaged databases --------------------------------------------------------------------
def _database_with_non_text_schema(path):
    """quick_check of this database quotes an index name that is not UTF-8."""
    c = sqlite3.connect(path)
    c.executescript("CREATE TABLE t(a TEXT, b TEXT); CREATE INDEX ia ON t(a); CREATE INDEX ib ON t(b);")
    c.executemany("INSERT INTO t VALUES (?, ?)", [(str(i), str(-i)) for i in range(200)])
    c.commit()
    c.execute("PRAGMA writable_schema=ON")
    rb = c.execute("SELECT rootpage FROM sqlite_master WHERE name='ib'").fetchone()[0]
    c.execute("UPDATE sqlite_master SET rootpage=?, name=CAST(x'ff6961' AS TEXT) WHERE name='ia'", (rb,))
    c.commit()
    c.close()


@pytest.mark.parametrize("command", [["sessions"], ["import", "x.csv"], ["export", "--format", "jsonl"]])
def test_database_error_with_bytes_that_are_not_text_is_one_line(_isolated_data_dir, tmp_path, capsys, command):
    _isolated_data_dir.mkdir(parents=True, exist_ok=True)
    db = _isolated_data_dir / "sessions.sqlite3"
    _database_with_non_text_schema(db)
    before = db.read_bytes()
    os.chdir(tmp_path)
    assert run(command) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "damaged" in err and "Traceback" not in err
    assert db.read_bytes() == before


def test_read_only_commands_create_nothing_beside_the_database(_isolated_data_dir, tmp_path, capsys):
    _store()
    data_dir = _isolated_data_dir
    for extra in data_dir.glob("sessions.sqlite3-*"):
        extra.unlink()
    listing = sorted(os.listdir(data_dir))
    assert run(["sessions"]) == 0 and run(["export", "--format", "jsonl", "--out", str(tmp_path / "e.jsonl")]) == 0
    assert sorted(os.listdir(data_dir)) == listing
    # and a damaged one: refused, still nothing created
    db = data_dir / "sessions.sqlite3"
    raw = bytearray(db.read_bytes())
    for k in range(4096 + 100, len(raw), 7):
        raw[k] = 0xFF
    db.write_bytes(bytes(raw))
    assert run(["sessions"]) == 1
    assert "damaged" in capsys.readouterr().err
    assert sorted(os.listdir(data_dir)) == listing


def test_an_empty_database_file_is_named_as_such(_isolated_data_dir, capsys):
    _isolated_data_dir.mkdir(parents=True, exist_ok=True)
    (_isolated_data_dir / "sessions.sqlite3").write_bytes(b"")
    assert run(["sessions"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is empty (0 bytes)" in err and "schema version" not in err
    assert sorted(os.listdir(_isolated_data_dir)) == ["sessions.sqlite3"]


def test_a_file_that_is_not_sqlite_is_named_as_such(_isolated_data_dir, capsys):
    _isolated_data_dir.mkdir(parents=True, exist_ok=True)
    (_isolated_data_dir / "sessions.sqlite3").write_bytes(b"PK\x03\x04 a zip file")
    assert run(["sessions"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not an SQLite database" in err and "move it aside" in err


# --- item 7: implausible sessions -----------------------------------------------------------------
def _recording(start):
    import numpy as np

    n = 100
    return ImuRecording(np.arange(n) / 10.0, np.zeros((n, 3)), np.zeros((n, 3)), 10.0, start_utc=start,
                        utc_offset_s=0, timezone="UTC", source={"sensor": {"address": "A", "name": "n"}})  # fmt: skip


@pytest.mark.parametrize(
    ("start", "analysis", "says"),
    [
        (datetime(1734, 8, 21, tzinfo=UTC), crafted_session(), "before 2000"),
        (datetime.now(UTC) + timedelta(days=400), crafted_session(), "in the future"),
        (datetime(2025, 3, 3, tzinfo=UTC), "clock jump", "clock jumped"),
        (datetime(2025, 3, 3, tzinfo=UTC), None, "on the roller in a"),
    ],
)
def test_implausible_sessions_are_refused_with_one_line(start, analysis, says):
    if analysis is None:
        analysis = crafted_session(10.0)
        analysis.duration_s = 60.0  # 10 min on the roller in a 1 min recording
    elif analysis == "clock jump":  # "149999917.1 min on the roller" after a host clock jump
        analysis = crafted_session(10.0)
        analysis.on_roller_s = 149999917.1 * 60
        analysis.duration_s = analysis.on_roller_s + 60
    with SessionStore() as store:
        outcome = store_recording(store, analysis, _recording(start))
        assert outcome.status == FAILED and says in outcome.reason and "\n" not in outcome.line()
        assert store.count() == 0
    from tracker.history.ingest import implausible

    assert implausible(crafted_session(), datetime(2025, 3, 3, tzinfo=UTC)) is None


def test_a_plausible_session_is_stored():
    with SessionStore() as store:
        outcome = store_recording(store, crafted_session(), _recording(datetime(2025, 3, 3, tzinfo=UTC)))
        assert outcome.status == IMPORTED and store.count() == 1


def test_import_with_a_start_before_2000_is_refused(tmp_path, capsys, monkeypatch):
    from tracker.history import ingest

    monkeypatch.setattr(ingest, "_default_analyze", lambda recording, guidance: crafted_session(0.1))
    csv = tmp_path / "s.csv"
    rows = ["t,ax,ay,az,gx,gy,gz"] + [f"{i / 50:.2f},0,0,9.81,0,0,0" for i in range(50 * 12)]
    csv.write_text("\n".join(rows) + "\n")
    assert run(["import", str(csv), "--start", "1734-08-21T10:00+00:00"]) == 1
    out = capsys.readouterr()
    assert "before 2000" in out.err and out.out == ""  # item 9: a single failure is on stderr

"""History you control: replay leaves it alone unless --store; delete asks, then takes a session
out with everything stored with it in one transaction and keeps the capture; edit re-dates a
session; the same samples are never stored twice."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from conftest import crafted_session, local

from tracker import paths
from tracker.cli.main import run
from tracker.history import SessionStore
from tracker.history.edits import CHILD_TABLES

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def _copy(tmp_path: Path, name: str) -> Path:
    target = tmp_path / f"{name}.capture"
    shutil.copy(FIXTURES / f"{name}.capture", target)
    return target


def _children(session_id: int) -> dict[str, int]:
    conn = sqlite3.connect(paths.database_path())
    try:
        return {
            t: conn.execute(f"SELECT COUNT(*) FROM {t} WHERE session_id = ?", (session_id,)).fetchone()[0]
            for t in CHILD_TABLES
        }
    finally:
        conn.close()


def _import_two(tmp_path: Path, capsys) -> tuple[Path, Path]:
    bridge, hips = _copy(tmp_path, "bridge"), _copy(tmp_path, "hips_down")
    assert run(["import", str(bridge), str(hips)]) == 0
    capsys.readouterr()
    return bridge, hips


# --- replay ------------------------------------------------------------------------------------
def test_replay_leaves_the_history_alone_without_store(tmp_path, capsys):
    capture = _copy(tmp_path, "bridge")
    for _ in range(2):
        assert run(["replay", str(capture)]) == 0
        out = capsys.readouterr().out
        assert "strokes" in out and "not stored in the history" in out and "--store" in out
    assert not paths.database_path().exists(), "replay must not even create the database"
    assert run(["replay", str(capture), "--store"]) == 0
    assert "stored as session 1" in capsys.readouterr().out
    with SessionStore(read_only=True) as store:
        assert store.count() == 1


# --- delete ------------------------------------------------------------------------------------
def test_delete_with_yes_removes_the_session_and_all_its_rows_and_keeps_the_capture(tmp_path, capsys):
    bridge, _hips = _import_two(tmp_path, capsys)
    before = hashlib.sha256(bridge.read_bytes()).hexdigest()
    with SessionStore(read_only=True) as store:
        bridge_id = next(r.id for r in store.session_rows() if r.capture_path == str(bridge.resolve()))
    assert sum(_children(bridge_id).values()) > 0
    assert run(["delete", str(bridge_id), "--yes"]) == 0
    out = capsys.readouterr().out
    assert f"deleted session {bridge_id}" in out and str(bridge.resolve()) in out
    assert _children(bridge_id) == dict.fromkeys(CHILD_TABLES, 0)
    with SessionStore(read_only=True) as store:
        assert [r.id for r in store.session_rows()] == [3 - bridge_id]
        assert sum(_children(3 - bridge_id).values()) > 0, "the other session keeps its rows"
    assert hashlib.sha256(bridge.read_bytes()).hexdigest() == before, "the capture is kept as it was"
    # and the capture brings the session back
    assert run(["import", str(bridge)]) == 0
    assert "imported" in capsys.readouterr().out
    with SessionStore(read_only=True) as store:
        assert store.count() == 2


@pytest.mark.parametrize(("answer", "deleted"), [("y\n", True), ("n\n", False), ("\n", False), ("", False)])
def test_delete_asks_first(tmp_path, capsys, monkeypatch, answer, deleted):
    import io

    _import_two(tmp_path, capsys)
    monkeypatch.setattr("sys.stdin", io.StringIO(answer))
    assert run(["delete", "1"]) == (0 if deleted else 1)
    captured = capsys.readouterr()
    assert "Delete this session from your history?" in captured.err
    assert "2.0 min on the roller" in captured.err or "3.3 min on the roller" in captured.err
    with SessionStore(read_only=True) as store:
        assert store.count() == (1 if deleted else 2)
    if not deleted:
        assert "nothing deleted" in captured.err


def test_delete_with_an_unknown_id_deletes_nothing(tmp_path, capsys):
    _import_two(tmp_path, capsys)
    assert run(["delete", "1", "7", "9", "--yes"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no sessions 7, 9" in err and "nothing was changed" in err
    with SessionStore(read_only=True) as store:
        assert store.count() == 2


def test_delete_is_one_transaction(tmp_path, capsys):
    """A failure after the children are gone (here: on the session row itself) rolls all back."""
    _import_two(tmp_path, capsys)
    rows_before = _children(1)

    class FailingOnSessions:
        def __init__(self, conn: sqlite3.Connection) -> None:
            self.conn = conn

        def __getattr__(self, name: str):
            return getattr(self.conn, name)

        def executemany(self, sql: str, args):
            if sql.startswith("DELETE FROM sessions"):
                raise sqlite3.OperationalError("simulated failure")
            return self.conn.executemany(sql, args)

    with SessionStore() as store:
        store._conn = FailingOnSessions(store._conn)  # type: ignore[assignment]
        with pytest.raises(sqlite3.OperationalError):
            store.delete_sessions([1])
        store._conn = store._conn.conn
    assert _children(1) == rows_before
    with SessionStore(read_only=True) as store:
        assert store.count() == 2


# --- edit --------------------------------------------------------------------------------------
def test_edit_redates_a_session_in_its_zone(tmp_path, capsys):
    _import_two(tmp_path, capsys)
    assert run(["edit", "1", "--start", "2025-07-01T07:45", "--timezone", "Europe/Berlin"]) == 0
    assert "session 1 now starts 2025-07-01 07:45 +0200" in capsys.readouterr().out
    with SessionStore(read_only=True) as store:
        (row,) = [r for r in store.session_rows() if r.id == 1]
        assert row.start_utc.isoformat() == "2025-07-01T05:45:00+00:00"
        assert row.utc_offset_s == 7200 and row.timezone == "Europe/Berlin"
        frame = store.sessions()
        assert str(frame.loc[1, "start_local"]) == "2025-07-01 07:45:00"
        # the date filters follow the new date
        assert [r.id for r in store.session_rows(until=date(2025, 12, 31))] == [1]
    # winter in the zone the session now has: its own offset then
    assert run(["edit", "1", "--start", "2025-01-10T18:00"]) == 0
    assert "2025-01-10 18:00 +0100" in capsys.readouterr().out
    # an explicit offset wins
    assert run(["edit", "1", "--start", "2025-01-10T18:00Z"]) == 0
    assert "2025-01-10 19:00 +0100" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["edit", "1"], "nothing to change"),
        (["edit", "9", "--start", "2025-01-01T10:00"], "no session 9"),
        (["edit", "1", "--start", "yesterday"], "cannot read start time"),
        (["edit", "1", "--start", "2025-01-01T10:00", "--timezone", "Mars/Olympus"], "Mars/Olympus"),
    ],
)
def test_edit_mistakes_are_one_line_and_change_nothing(tmp_path, capsys, argv, needle):
    _import_two(tmp_path, capsys)
    with SessionStore(read_only=True) as store:
        before = store.session_rows()
    assert run(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and needle in err
    with SessionStore(read_only=True) as store:
        assert store.session_rows() == before


def test_importing_again_with_start_points_to_edit(tmp_path, capsys):
    bridge, _ = _import_two(tmp_path, capsys)
    assert run(["import", str(bridge), "--start", "2025-01-01T10:00"]) == 0
    out = capsys.readouterr().out
    assert "already imported" in out and "tracker edit" in out and "--start" in out


# --- the same samples, stored once -------------------------------------------------------------
def _csv(path: Path, newline: str, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray) -> Path:
    lines = ["t,ax,ay,az,gx,gy,gz"] + [
        ",".join(repr(float(v)) for v in (ti, *a, *g)) for ti, a, g in zip(t, acc, gyr, strict=True)
    ]
    path.write_bytes((newline.join(lines) + newline).encode())
    return path


def test_the_same_samples_in_files_with_other_bytes_are_one_session(tmp_path, capsys):
    from tracker.analysis.io import load_recording

    rec = load_recording(FIXTURES / "hips_down.capture")
    unix = _csv(tmp_path / "a.csv", "\n", rec.t_s, rec.acc_m_s2, rec.gyr_rad_s)
    dos = _csv(tmp_path / "b.csv", "\r\n", rec.t_s, rec.acc_m_s2, rec.gyr_rad_s)
    assert unix.read_bytes() != dos.read_bytes()
    assert run(["import", str(unix), "--start", "2025-03-01T10:00"]) == 0
    assert "-> session 1" in capsys.readouterr().out
    # the same minute, and another minute: either way the same recording
    for start in ("2025-03-01T10:00", "2025-03-01T11:30"):
        assert run(["import", str(dos), "--start", start]) == 0
        out = capsys.readouterr().out
        assert "already imported" in out and "same samples" in out
    with SessionStore(read_only=True) as store:
        assert store.count() == 1


def test_a_session_without_strokes_has_no_pace_not_a_pace_of_zero(capsys):
    import json

    with SessionStore() as store:
        store.add_session(crafted_session(3.0, paces_cm_s=(), holds=2), start_utc=local("2025-01-06T07:00"),
                          timezone="Europe/Berlin")  # fmt: skip
    assert run(["sessions"]) == 0
    row = capsys.readouterr().out.splitlines()[1]
    assert " 0.0 " not in row and "–" in row
    assert run(["sessions", "--json"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert listed["mean_pace_cm_s"] is None and listed["n_strokes"] == 0
    assert run(["show", "1"]) == 0
    assert "mean pace" not in capsys.readouterr().out

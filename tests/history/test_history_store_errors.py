"""The store tells a full disk, a read-only data directory and a damaged file apart.

Only a file SQLite itself calls damaged is "damaged"; a full disk or a read-only mount leave a
healthy database healthy, and the messages say so. Real read-only mounts and full disks are made
with a private mount namespace (`unshare -m`, root only); those tests skip elsewhere.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import crafted_session, local

from tracker import paths
from tracker.errors import DatabaseCorruptError, DiskFullError, StorageError
from tracker.history import SessionStore

TESTS = Path(__file__).resolve().parent


def _fill(store: SessionStore, n: int = 3) -> None:
    for day in range(1, n + 1):
        store.add_session(crafted_session(), start_utc=local(f"2025-02-{day:02d}T07:00"), timezone="Europe/Berlin")


def test_full_disk_on_write_is_not_damage_and_keeps_what_was_stored():
    with SessionStore() as store:
        _fill(store)
        pages = store._conn.execute("PRAGMA page_count").fetchone()[0]
        # SQLite's own limit on the file's size: the write fails exactly as on a full disk.
        store._conn.execute(f"PRAGMA max_page_count = {pages}")
        with pytest.raises(DiskFullError) as info:
            store.add_session(crafted_session(60.0, paces_cm_s=(2.5,) * 400), start_utc=local("2025-02-09T07:00"),
                              timezone="Europe/Berlin")  # fmt: skip
    line = info.value.one_line()
    assert "disk full (or I/O error)" in line and "nothing stored was changed" in line
    assert "damaged" not in line and "import" not in line
    with SessionStore() as store:
        assert store.count() == 3


def test_damage_is_one_line_with_safe_advice():
    with SessionStore() as store:
        for day in range(1, 29):
            store.add_session(crafted_session(20.0, paces_cm_s=(2.5,) * 60), start_utc=local(f"2025-02-{day:02d}T07:00"),
                              timezone="Europe/Berlin")  # fmt: skip
        path = store.path
    data = bytearray(path.read_bytes())
    for k in range(3, len(data) // 4096, 3):
        data[k * 4096 : k * 4096 + 64] = b"\xa5" * 64
    path.write_bytes(bytes(data))
    before = path.read_bytes()
    for read_only in (False, True):
        with pytest.raises(DatabaseCorruptError) as info:
            SessionStore(read_only=read_only)
        err = info.value
        assert "\n" not in err.message and "\n" not in (err.hint or "")
        assert len(err.message) < len(str(path)) + 160  # no pasted integrity-check report
        assert "left untouched" in err.message
        assert "backup" in err.hint and "move it aside" in err.hint
    assert path.read_bytes() == before


def test_read_only_open_of_a_missing_database_is_empty_and_creates_nothing():
    home = paths.data_dir(create=False)
    with SessionStore(read_only=True) as store:
        assert store.session_rows() == [] and store.count() == 0
        assert len(store.sessions()) == 0
        with pytest.raises(StorageError, match="read-only"):
            store.add_session(crafted_session(), start_utc=local("2025-02-09T07:00"), timezone="Europe/Berlin")
    assert not (home / "sessions.sqlite3").exists()


def test_read_only_open_writes_nothing():
    with SessionStore() as store:
        _fill(store)
        path = store.path
    before = path.read_bytes()
    with SessionStore(read_only=True) as store:
        assert [r.id for r in store.session_rows()] == [1, 2, 3]
        assert store.session(2).analysis.strokes
        with pytest.raises(StorageError, match="read-only"):
            store.add_session(crafted_session(), start_utc=local("2025-02-09T07:00"), timezone="Europe/Berlin")
    assert path.read_bytes() == before  # (SQLite may add its shared-memory index next to it)


# --- real read-only mounts and full disks -------------------------------------------------------
def _namespace_ok(tmp_path: Path) -> bool:
    if sys.platform != "linux" or shutil.which("unshare") is None:
        return False
    probe = tmp_path / "probe"
    probe.mkdir()
    r = subprocess.run(["unshare", "-m", "sh", "-c", f"mount -t tmpfs -o size=64k none '{probe}'"],
                       capture_output=True)  # fmt: skip
    return r.returncode == 0


_SCRIPT = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {tests!r})
    from conftest import crafted_session, local
    from tracker.errors import TrackerError
    from tracker.history import SessionStore

    def attempt(label, fn):
        try:
            print(label, "ok", fn())
        except TrackerError as exc:
            print(label, type(exc).__name__, exc.one_line())

    db = {db!r}
    attempt("rows-ro", lambda: [r.id for r in SessionStore(db, read_only=True).session_rows()])
    attempt("rows-default", lambda: [r.id for r in SessionStore(db).session_rows()])
    attempt("show", lambda: len(SessionStore(db, read_only=True).session(1).analysis.strokes))
    attempt("add", lambda: SessionStore(db).add_session(crafted_session(60.0, paces_cm_s=(2.5,) * 2000),
            start_utc=local("2025-03-01T07:00"), timezone="Europe/Berlin")[1])
    """
)


def _run_in_namespace(tmp_path: Path, db: Path, mount: str) -> dict[str, str]:
    script = tmp_path / "script.py"
    script.write_text(_SCRIPT.format(tests=str(TESTS), db=str(db)))
    r = subprocess.run(["unshare", "-m", "sh", "-c", f"{mount} && exec '{sys.executable}' '{script}'"],
                       capture_output=True, text=True, timeout=120)  # fmt: skip
    assert r.returncode == 0, r.stderr
    return {line.split(" ", 1)[0]: line.split(" ", 1)[1] for line in r.stdout.splitlines()}


def test_read_only_mount_reads_and_refuses_writes_plainly(tmp_path):
    if not _namespace_ok(tmp_path):
        pytest.skip("needs root and unshare to mount a read-only folder")
    folder = tmp_path / "data"
    folder.mkdir()
    with SessionStore(folder / "sessions.sqlite3") as store:
        _fill(store)
    before = (folder / "sessions.sqlite3").read_bytes()
    out = _run_in_namespace(tmp_path, folder / "sessions.sqlite3",
                            f"mount --bind '{folder}' '{folder}' && mount -o remount,bind,ro '{folder}'")  # fmt: skip
    assert out["rows-ro"] == "ok [1, 2, 3]"
    assert out["rows-default"] == "ok [1, 2, 3]"
    assert out["show"] == "ok 2"
    assert out["add"].startswith("StorageError") and "is read-only" in out["add"] and "damaged" not in out["add"]
    assert (folder / "sessions.sqlite3").read_bytes() == before


def test_full_disk_mount_is_reported_as_full_and_loses_nothing(tmp_path):
    if not _namespace_ok(tmp_path):
        pytest.skip("needs root and unshare to mount a small tmpfs")
    src = tmp_path / "src"
    src.mkdir()
    with SessionStore(src / "sessions.sqlite3") as store:
        _fill(store)
    size_kb = (src / "sessions.sqlite3").stat().st_size // 1024 + 24
    folder = tmp_path / "small"
    folder.mkdir()
    out = _run_in_namespace(
        tmp_path, folder / "sessions.sqlite3",
        f"mount -t tmpfs -o size={size_kb}k none '{folder}' && cp '{src}/sessions.sqlite3' '{folder}/'",
    )  # fmt: skip
    assert out["rows-ro"] == "ok [1, 2, 3]" and out["rows-default"] == "ok [1, 2, 3]"
    assert out["add"].startswith("DiskFullError"), out["add"]
    assert "disk full (or I/O error)" in out["add"] and "nothing stored was changed" in out["add"]

"""Folders: what tracker creates is 0700; folders the user chose are never chmod-ed; a read-only
data directory that exists does not stop commands that only read it."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest
from conftest import crafted_session, local

from tracker import paths
from tracker.capture.synthetic import write_capture_from_counts
from tracker.history import SessionStore
from tracker.history.export import export_store
from tracker.history.report import write_report


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def shared_dir(tmp_path):
    """A user's shared folder, like /tmp: world-writable with the sticky bit."""
    d = tmp_path / "shared"
    d.mkdir()
    d.chmod(0o1777)
    return d


def _one_session():
    with SessionStore() as store:
        store.add_session(crafted_session(), start_utc=local("2025-01-06T07:00"), timezone="Europe/Berlin")


def test_export_into_a_shared_folder_leaves_the_folder_alone(shared_dir):
    _one_session()
    with SessionStore() as store:
        (out,) = export_store(store, "jsonl", shared_dir / "all.jsonl")
        export_store(store, "csv", shared_dir)
    assert _mode(shared_dir) == 0o1777  # sticky bit and all kept
    assert _mode(out) == 0o600
    assert _mode(shared_dir / "sessions.csv") == 0o600


def test_report_into_an_existing_folder_leaves_it_alone(tmp_path):
    _one_session()
    out = tmp_path / "my-report"
    out.mkdir()
    out.chmod(0o755)
    write_report(out_dir=out, weeks=2, end=local("2025-01-08T00:00").date())
    assert _mode(out) == 0o755
    assert _mode(out / "index.html") == 0o600


def test_missing_parents_of_an_out_file_are_created_private(shared_dir):
    target = shared_dir / "p" / "sub" / "r.capture"
    write_capture_from_counts(target, np.zeros((50, 6), dtype=np.int16), 50.0)
    assert _mode(shared_dir) == 0o1777
    assert _mode(shared_dir / "p") == 0o700  # an intermediate folder tracker made, not only the last
    assert _mode(shared_dir / "p" / "sub") == 0o700
    assert _mode(target) == 0o600


def test_an_existing_data_dir_the_user_chose_is_not_chmod_ed(tmp_path, monkeypatch):
    home = tmp_path / "shared-home"
    home.mkdir()
    home.chmod(0o750)
    monkeypatch.setenv("TRACKER_HOME", str(home))
    _one_session()
    assert _mode(home) == 0o750
    assert _mode(home / "sessions.sqlite3") == 0o600
    paths.set_data_dir(home)
    paths.data_dir()
    assert _mode(home) == 0o750


def test_a_new_data_dir_and_captures_folder_are_created_0700(tmp_path, monkeypatch):
    home = tmp_path / "a" / "b" / "home"
    monkeypatch.setenv("TRACKER_HOME", str(home))
    captures = paths.captures_dir()
    for d in (tmp_path / "a", tmp_path / "a" / "b", home, captures):
        assert _mode(d) == 0o700, d


def test_an_existing_directory_is_not_touched(tmp_path, monkeypatch):
    """A read-only data directory: ensure_private_dir must neither mkdir nor chmod it."""
    calls = []
    monkeypatch.setattr(os, "chmod", lambda *a, **k: calls.append(("chmod", a)))
    real_mkdir = os.mkdir
    monkeypatch.setattr(os, "mkdir", lambda *a, **k: (calls.append(("mkdir", a)), real_mkdir(*a, **k)))
    home = tmp_path / "existing"
    home.mkdir(mode=0o755)
    home.chmod(0o755)
    calls.clear()
    paths.set_data_dir(home)
    assert paths.data_dir() == home
    paths.config_path()
    paths.ensure_private_dir(home)
    assert calls == []


def test_a_file_in_the_way_is_a_storage_error(tmp_path):
    from tracker.errors import StorageError

    (tmp_path / "f").write_text("x")
    with pytest.raises(StorageError, match="cannot create directory"):
        paths.ensure_private_dir(tmp_path / "f" / "sub")
    with pytest.raises(StorageError):
        paths.ensure_private_dir(tmp_path / "f")

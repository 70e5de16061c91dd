"""`tracker record`, `replay` and `import` store a session exactly once, whichever comes first."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tracker.cli.main import run
from tracker.history import SessionStore

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def test_replay_then_import_then_replay_store_one_session(tmp_path, capsys):
    capture = tmp_path / "bridge.capture"
    shutil.copy(FIXTURES / "bridge.capture", capture)
    assert run(["replay", str(capture), "--store"]) == 0
    assert "stored as session 1" in capsys.readouterr().out
    assert run(["import", str(capture)]) == 0
    assert "already imported" in capsys.readouterr().out
    assert run(["replay", str(capture), "--store"]) == 0
    assert "already in the history as session 1" in capsys.readouterr().out
    with SessionStore() as store:
        assert store.count() == 1
        stored = store.session(1)
    assert stored.analysis.strokes, "the stored session keeps its strokes"


@pytest.mark.slow
def test_recorded_session_is_stored_and_importing_its_capture_changes_nothing(capsys):
    # 70 s of the emulated person (100 Hz, as fast as the link goes): on the roller from about
    # 20 s, so there are strokes to store
    assert run(["record", "--emulated", "--max-samples", "7000", "--speed", "0"]) == 0
    out = capsys.readouterr().out
    assert "stored as session 1" in out
    capture = Path(out.split(" to ", 1)[1].split("\n", 1)[0].strip())
    assert capture.exists() and capture.stat().st_mode & 0o077 == 0
    assert run(["import", str(capture)]) == 0
    assert "already imported" in capsys.readouterr().out
    with SessionStore() as store:
        assert store.count() == 1
        stored = store.session(1)
    # the summary printed after recording is of the session that was stored
    assert "this session:" in out
    assert stored.analysis.strokes and f"{len(stored.analysis.strokes)} strokes" in out

"""One recording is at most one session, and a recording that never got on the roller is none.

Ground truth: the simulator (a person who stands and sits, never lying back onto the roller) and
the fixture captures (a copy, a cut copy and a damaged copy are the same recording).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from conftest import crafted_session, local

from tracker.capture.synthetic import write_capture_from_counts
from tracker.history import SessionStore
from tracker.history.ingest import (
    ALREADY,
    IMPORTED,
    SKIPPED,
    NotStoredError,
    import_file,
    store_analysis,
)
from tracker.history.weekly import daily_summary, weekly_summary
from tracker.results import SessionAnalysis
from tracker.simulate import Segment, SessionScript, simulate_session

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


@pytest.fixture(scope="module")
def standing_capture(tmp_path_factory):
    """18 s of standing and sitting down (Ctrl-C before lying back): never on the roller."""
    script = SessionScript(segments=(Segment("stand", 8.0), Segment("sit_down", 3.0), Segment("sit", 7.0)))
    sim = simulate_session(script, seed=5, sampling_rate_hz=50.0)
    assert sim.truth.on_roller_s == 0.0
    path = tmp_path_factory.mktemp("cap") / "ctrl-c.capture"
    write_capture_from_counts(path, sim.counts, 50.0)
    return path


def test_a_recording_never_on_the_roller_is_skipped_and_kept(standing_capture):
    before = standing_capture.read_bytes()
    with SessionStore() as store:
        outcome = import_file(store, standing_capture)
        assert outcome.status == SKIPPED and outcome.ok and outcome.session_id is None
        assert "never on the roller" in outcome.line() and "not stored" in outcome.line()
        assert store.count() == 0
    assert standing_capture.read_bytes() == before


def test_store_analysis_refuses_a_recording_never_on_the_roller(standing_capture):
    from tracker.analysis import analyze
    from tracker.analysis.io import load_recording

    recording = load_recording(standing_capture)
    analysis = analyze(recording)
    with SessionStore() as store:
        with pytest.raises(NotStoredError, match="never on the roller"):
            store_analysis(store, analysis, recording, capture_path=standing_capture)
        assert store.count() == 0


def _empty() -> SessionAnalysis:
    return SessionAnalysis(duration_s=18.0, on_roller_s=0.0, rolling_s=0.0, strokes=[], holds=[], warnings=[],
                           region_time_s={}, position_track=[], posture=None, parameters={}, tracker_version="0.0.9")  # fmt: skip


def test_empty_sessions_in_an_old_database_count_toward_nothing():
    # An older tracker stored Ctrl-C recordings: 3 real sessions on Monday plus 2 empty ones.
    with SessionStore() as store:
        for hour in (7, 12, 18):
            store.add_session(crafted_session(), start_utc=local(f"2025-01-06T{hour:02d}:00"), timezone="Europe/Berlin")
        for minute in (5, 9):
            store.add_session(_empty(), start_utc=local(f"2025-01-06T19:{minute:02d}"), timezone="Europe/Berlin")
        sessions = store.sessions()
    assert len(sessions) == 5
    week = weekly_summary(sessions, end=pd.Timestamp("2025-01-12")).iloc[0]
    assert week["sessions"] == 3 and week["max_sessions_in_day"] == 3
    daily = daily_summary(sessions, end=pd.Timestamp("2025-01-12"))
    assert daily.loc["2025-01-06", "sessions"] == 3


def _copies(tmp_path: Path) -> tuple[Path, Path, Path]:
    full = tmp_path / "hips_down.capture"
    shutil.copy(FIXTURES / "hips_down.capture", full)
    data = full.read_bytes()
    cut = tmp_path / "hips_down-cut.capture"
    cut.write_bytes(data[: len(data) * 6 // 10])
    damaged = tmp_path / "hips_down-damaged.capture"
    bad = bytearray(data)
    mid = len(bad) * 85 // 100  # in the second half: the recording's start stays readable
    bad[mid : mid + 200] = b"\x5a" * 200
    damaged.write_bytes(bytes(bad))
    return full, cut, damaged


def test_a_capture_and_its_cut_and_damaged_copies_are_one_session(tmp_path):
    full, cut, damaged = _copies(tmp_path)
    with SessionStore() as store:
        first = import_file(store, full)
        assert first.status == IMPORTED
        for copy in (cut, damaged):
            outcome = import_file(store, copy)
            assert outcome.status == ALREADY and outcome.session_id == first.session_id, outcome.line()
        assert store.count() == 1


def test_a_longer_copy_after_a_cut_one_is_reported_and_the_stored_one_kept(tmp_path):
    full, cut, _ = _copies(tmp_path)
    with SessionStore() as store:
        first = import_file(store, cut)
        assert first.status == IMPORTED
        kept = store.session(first.session_id).analysis.duration_s
        outcome = import_file(store, full)
        assert outcome.status == ALREADY and outcome.session_id == first.session_id
        assert "longer" in outcome.line() and "kept" in outcome.line()
        assert store.count() == 1 and store.session(first.session_id).analysis.duration_s == kept


def test_same_sensor_and_start_is_one_session_at_the_store_too():
    with SessionStore() as store:
        sensor = {"address": "C0:FF:EE:00:1A:2B", "name": "TRK-1A2B"}
        a, created = store.add_session(crafted_session(), start_utc=local("2025-01-06T07:00:00.2"), sensor=sensor,
                                       checksum="a" * 64)  # fmt: skip
        b, again = store.add_session(crafted_session(), start_utc=local("2025-01-06T07:00:00.205"), sensor=sensor,
                                     checksum="b" * 64)  # fmt: skip
        assert created and not again and a == b
        # another sensor, or the same one a second later, is another session
        _, other = store.add_session(crafted_session(), start_utc=local("2025-01-06T07:00:00.5"),
                                     sensor={"address": "AA:BB:CC:DD:EE:FF"})  # fmt: skip
        _, later = store.add_session(crafted_session(), start_utc=local("2025-01-06T07:00:01.2"), sensor=sensor)
        # without a sensor (CSV files) only the checksum counts
        _, csv1 = store.add_session(crafted_session(), start_utc=local("2025-01-06T07:00:00.2"), checksum="c" * 64)
        _, csv2 = store.add_session(crafted_session(), start_utc=local("2025-01-06T07:00:00.2"), checksum="c" * 64)
        assert other and later and csv1 and not csv2
        assert store.count() == 4


def test_two_fixture_sessions_of_one_emulated_sensor_stay_two(tmp_path):
    # The emulator streamed these two sessions back to back, 0.37 s apart: different recordings.
    with SessionStore() as store:
        outcomes = [import_file(store, FIXTURES / f"{name}.capture") for name in ("hips_down", "bridge")]
        assert [o.status for o in outcomes] == [IMPORTED, IMPORTED]
        assert store.count() == 2

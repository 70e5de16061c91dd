"""The session store: round trip, idempotence, migration, corruption, permissions, concurrency."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from datetime import UTC, date, datetime

import numpy as np
import pytest
from conftest import crafted_session, local

from tracker import paths
from tracker.errors import DatabaseCorruptError, StorageError, UsageError
from tracker.history import SessionStore, schema


def test_round_trip_keeps_every_field():
    a = crafted_session(12.0, paces_cm_s=(2.0, 6.0, 3.0), holds=2, warnings=1)
    with SessionStore() as store:
        sid, created = store.add_session(
            a, start_utc=local("2025-03-30T23:30"), timezone="Europe/Berlin",
            sensor={"address": "AA:BB:CC:DD:EE:FF", "name": "Roller IMU"}, capture_path="/x/s.cap", checksum="ab" * 32,
        )  # fmt: skip
        assert created
        got = store.session(sid)
    assert got.analysis.strokes == a.strokes
    assert got.analysis.holds == a.holds
    assert got.analysis.warnings == a.warnings
    assert got.analysis.region_time_s == a.region_time_s
    assert got.analysis.parameters == a.parameters and got.analysis.tracker_version == "0.1.0-test"
    np.testing.assert_allclose(
        got.analysis.position_track, a.position_track, rtol=1e-6
    )  # float32 storage
    # 23:30 CEST (UTC+2, summer time began that morning) is 21:30 UTC.
    assert got.start_utc == datetime(2025, 3, 30, 21, 30, tzinfo=UTC)
    assert got.utc_offset_s == 7200 and got.timezone == "Europe/Berlin"
    assert (got.sensor_address, got.sensor_name, got.capture_sha256) == (
        "AA:BB:CC:DD:EE:FF",
        "Roller IMU",
        "ab" * 32,
    )


def test_summary_columns_are_computed_from_the_analysis():
    # strokes: 10 s at 2, 6, 3 cm/s -> mean 11/3, too fast (> 5) 10 s of 30 s
    a = crafted_session(12.0, paces_cm_s=(2.0, 6.0, 3.0), holds=2)
    with SessionStore() as store:
        store.add_session(a, start_utc=local("2025-01-06T07:00"), timezone="Europe/Berlin")
        row = store.session_rows()[0]
        df = store.sessions()
    assert row.mean_pace_cm_s == pytest.approx(11 / 3)
    assert row.too_fast_fraction == pytest.approx(1 / 3)
    assert (row.n_strokes, row.n_holds, row.hold_s) == (3, 2, 30.0)
    assert df.loc[1, "stroke_s"] == 30.0 and df.loc[1, "region_mid_thoracic_s"] == 180.0


def test_same_capture_twice_changes_nothing():
    a = crafted_session()
    with SessionStore() as store:
        first = store.add_session(
            a, start_utc=local("2025-01-06T07:00"), timezone="Europe/Berlin", checksum="c" * 64
        )
        before = store._conn.execute("SELECT COUNT(*) FROM strokes").fetchone()[0]
        again = store.add_session(
            a, start_utc=local("2025-01-07T07:00"), timezone="Europe/Berlin", checksum="c" * 64
        )
        after = store._conn.execute("SELECT COUNT(*) FROM strokes").fetchone()[0]
        assert first == (1, True) and again == (1, False)
        assert store.count() == 1 and before == after == 2
        assert store.session(1).start_utc.day == 6


def test_date_filters_use_local_dates():
    with SessionStore() as store:
        # Monday 00:30 in Berlin is still Sunday in UTC: the filter must use the local date.
        store.add_session(
            crafted_session(), start_utc=local("2025-03-31T00:30"), timezone="Europe/Berlin"
        )
        store.add_session(
            crafted_session(), start_utc=local("2025-03-30T23:30"), timezone="Europe/Berlin"
        )
        assert [r.start_local.day for r in store.session_rows(since=date(2025, 3, 31))] == [31]
        assert [r.start_local.day for r in store.session_rows(until=date(2025, 3, 30))] == [30]
        assert len(store.sessions(since=date(2025, 3, 31))) == 1


def test_regions_a_session_never_reached_are_zero():
    with SessionStore() as store:
        store.add_session(
            crafted_session(regions_s={"mid_thoracic": 60.0}),
            start_utc=local("2025-01-06T07:00"),
            timezone="Europe/Berlin",
        )
        df = store.sessions()
    assert (df.loc[1, "region_mid_thoracic_s"], df.loc[1, "region_lumbar_s"]) == (60.0, 0.0)


def test_unknown_session_is_a_usage_error():
    with SessionStore() as store, pytest.raises(UsageError, match="no session 42"):
        store.session(42)


def test_naive_start_is_refused():
    with SessionStore() as store, pytest.raises(ValueError, match="timezone-aware"):
        store.add_session(crafted_session(), start_utc=datetime(2025, 1, 1, 7, 0))


def test_files_are_private():
    with SessionStore() as store:
        store.add_session(
            crafted_session(), start_utc=local("2025-01-06T07:00"), timezone="Europe/Berlin"
        )
        db = store.path
        for f in db.parent.glob("sessions.sqlite3*"):
            assert f.stat().st_mode & 0o777 == 0o600, f
    assert db.parent.stat().st_mode & 0o777 == 0o700


def _v1_database(path):
    """A database exactly as the first release made it, with one session."""
    conn = sqlite3.connect(path, isolation_level=None)
    schema.MIGRATIONS[0](conn)
    conn.execute("PRAGMA user_version = 1")
    conn.execute(
        "INSERT INTO sessions (id, start_utc, start_local, utc_offset_s, timezone, duration_s, on_roller_s, rolling_s, "
        "n_strokes, n_holds, n_warnings, hold_s, mean_pace_cm_s, too_fast_fraction, tracker_version, parameters_json, "
        "capture_sha256, imported_utc) VALUES (1, '2024-06-03T05:00:00.000000Z', '2024-06-03T07:00:00.000000', 7200, "
        "'Europe/Berlin', 700, 600, 30, 3, 1, 0, 20, 3, 0, '0.0.9', '{}', 'd0', '2024-06-03T06:00:00.000000Z')"
    )
    rows = [(1, 0, 30.0, 40.0, 30.0, 3.0, "mid_thoracic"), (1, 1, 40.0, 50.0, 30.0, 3.0, "mid_thoracic"),
            (1, 2, 50.0, 60.0, 30.0, 3.0, "lumbar")]  # fmt: skip
    conn.executemany(
        "INSERT INTO strokes (session_id, idx, start_s, end_s, distance_cm, pace_cm_s, region, direction, posture) "
        "VALUES (?,?,?,?,?,?,?,'toward_head','hips_down')",
        rows,
    )
    conn.execute("INSERT INTO holds VALUES (1, 0, 70.0, 90.0, 20.0, 10.0, 'lumbar')")
    conn.close()


def test_migration_from_v1_backfills_regions_and_keeps_data(tmp_path):
    path = tmp_path / "old.sqlite3"
    _v1_database(path)
    with SessionStore(path) as store:
        assert store.schema_version == schema.SCHEMA_VERSION == 4
        s = store.session(1)
        # v1 had no region table: v2 adds it, from strokes (10 s each) and holds (20 s).
        assert s.analysis.region_time_s == {"mid_thoracic": 20.0, "lumbar": 30.0}
        assert len(s.analysis.strokes) == 3 and s.analysis.position_track == []
        assert store.sessions().loc[1, "stroke_s"] == 30.0
        # and the migrated store takes new sessions with their tracks
        sid, _ = store.add_session(
            crafted_session(), start_utc=local("2025-01-06T07:00"), timezone="Europe/Berlin"
        )
        assert store.session(sid).analysis.position_track


def test_reading_commands_upgrade_an_older_database_once(capsys):
    """A newer tracker on an older database: `tracker sessions` (which opens read-only) upgrades it
    when it can write, rather than sending the user round in circles."""
    from tracker.cli.main import run

    path = paths.database_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    _v1_database(path)
    assert run(["sessions", "--json"]) == 0
    assert [r["id"] for r in __import__("json").loads(capsys.readouterr().out)] == [1]
    with SessionStore(path, read_only=True) as store:
        assert store.schema_version == schema.SCHEMA_VERSION


def test_an_older_database_that_cannot_be_written_says_what_to_do(tmp_path, monkeypatch):
    path = tmp_path / "old.sqlite3"
    _v1_database(path)
    before = path.read_bytes()
    monkeypatch.setattr(SessionStore, "_writable", lambda self: False)  # a read-only mount
    with pytest.raises(StorageError, match="needs write access") as info:
        SessionStore(path, read_only=True)
    assert "make the data directory writable" in info.value.hint
    assert path.read_bytes() == before


def test_newer_schema_is_refused_and_untouched(tmp_path):
    path = tmp_path / "new.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StorageError, match="newer"):
        SessionStore(path)
    assert path.read_bytes() == before


def test_not_a_database_is_reported_and_untouched():
    path = paths.database_path()
    path.write_bytes(b"these are my notes, not a database\n" * 100)
    before = path.read_bytes()
    with pytest.raises(DatabaseCorruptError) as info:
        SessionStore()
    assert path.read_bytes() == before
    line = info.value.one_line()
    assert "\n" not in line and str(path) in line and "move it aside" in line


def test_damaged_pages_are_reported_and_untouched():
    with SessionStore() as store:
        for day in range(1, 29):
            store.add_session(crafted_session(20.0, paces_cm_s=(2.5,) * 60), start_utc=local(f"2025-02-{day:02d}T07:00"),
                              timezone="Europe/Berlin")  # fmt: skip
        path = store.path
    data = bytearray(path.read_bytes())
    assert len(data) > 40 * 4096
    page = 4096
    for k in range(3, len(data) // page, 3):  # scribble over every third page's b-tree header
        data[k * page : k * page + 64] = b"\xa5" * 64
    path.write_bytes(bytes(data))
    before = path.read_bytes()
    with pytest.raises(DatabaseCorruptError, match="damaged"):
        SessionStore()
    assert path.read_bytes() == before


_WORKER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {tests!r})
    from conftest import crafted_session, local
    from tracker.history import SessionStore
    first, last = int(sys.argv[1]), int(sys.argv[2])
    store = SessionStore({db!r})
    for k in range(first, last):
        store.add_session(crafted_session(5.0, paces_cm_s=(2.5,) * 40), start_utc=local(f"2025-01-01T07:{{k:02d}}"),
                          timezone="Europe/Berlin", checksum=f"{{k:064x}}")
    store.close()
    """
)


def test_two_processes_importing_at_once_lose_nothing(tmp_path):
    db = str(tmp_path / "shared.sqlite3")
    SessionStore(db).close()  # both workers start from the same migrated file
    script = _WORKER.format(tests=os.path.dirname(__file__), db=db)
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    # different and overlapping captures: 0..29 and 15..44
    procs = [subprocess.Popen([sys.executable, "-c", script, a, b], env=env, stderr=subprocess.PIPE)
             for a, b in (("0", "30"), ("15", "45"))]  # fmt: skip
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()
    with SessionStore(db) as store:
        assert store.count() == 45
        checksums = {r[0] for r in store._conn.execute("SELECT capture_sha256 FROM sessions")}
        assert checksums == {f"{k:064x}" for k in range(45)}
        per_session = store._conn.execute(
            "SELECT COUNT(*) FROM strokes GROUP BY session_id"
        ).fetchall()
        assert [n for (n,) in per_session] == [40] * 45


def _v3_database(path):
    """A database as schema v3 made it (before uncertainty), with one session."""
    _v1_database(path)
    conn = sqlite3.connect(path, isolation_level=None)
    for step in schema.MIGRATIONS[1:3]:
        step(conn)
    conn.execute("PRAGMA user_version = 3")
    conn.close()


def test_a_v3_database_upgrades_to_v4_and_keeps_its_sessions(tmp_path):
    """Schema v4 adds the ± of pace and position: old sessions keep every number and read as
    "not assessed" (None), never as a ± of 0; new sessions store theirs, per stroke and hold."""
    from dataclasses import replace

    from tracker.results import ActivitySpan, Uncertainty

    path = tmp_path / "v3.sqlite3"
    _v3_database(path)
    with SessionStore(path) as store:
        assert store.schema_version == 4
        old = store.session(1)
        assert len(old.analysis.strokes) == 3 and old.analysis.region_time_s == {"mid_thoracic": 20.0, "lumbar": 30.0}
        assert old.analysis.uncertainty is None and old.analysis.other_activities == []
        assert all(s.pace_pm_cm_s is None and s.snr is None for s in old.analysis.strokes)
        assert old.analysis.holds[0].position_pm_cm is None
        assert store.session_rows()[0].mean_pace_pm_cm_s is None
        a = crafted_session(paces_cm_s=(2.0, 3.0))
        a.strokes = [replace(s, pace_pm_cm_s=0.4, snr=3.5) for s in a.strokes]
        a.holds = [replace(h, position_pm_cm=4.5) for h in a.holds]
        a.uncertainty = Uncertainty(0.5, 0.2, 4.5, {"hips_down": 4.5}, caveats=["a reason"])
        a.other_activities = [ActivitySpan("walking", 0.0, 25.0, "walking (steps at 1.8 Hz)")]
        sid, _ = store.add_session(a, start_utc=local("2025-01-06T07:00"), timezone="Europe/Berlin")
        new = store.session(sid).analysis
        assert new.strokes == a.strokes and new.holds == a.holds
        assert new.uncertainty == a.uncertainty and new.other_activities == a.other_activities
        frame = store.sessions()
        assert frame.loc[sid, "mean_pace_pm_cm_s"] == 0.5 and frame.loc[sid, "position_pm_cm"] == 4.5
        assert np.isnan(frame.loc[1, "mean_pace_pm_cm_s"])
        assert store.strokes()["pace_pm_cm_s"].tolist()[-2:] == [0.4, 0.4]
        assert store.holds()["position_pm_cm"].tolist()[-1] == 4.5

"""Exports: never overwritten without --force; Parquet times are real timestamps; a missing
pyarrow is exit 1 with the install line; and the pooled, Hive-partitioned dataset answers the
README's DuckDB query with the same weekly minutes tracker computes."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import crafted_session, local

from tracker import paths
from tracker.cli.main import run
from tracker.history import SessionStore
from tracker.history.weekly import weekly_summary

README = Path(__file__).resolve().parents[2] / "README.md"


def _fill(home: Path | None = None, starts=("2025-01-06T07:00", "2025-01-08T19:30", "2025-02-03T07:00")) -> None:
    path = (home / "sessions.sqlite3") if home is not None else None
    with SessionStore(path) as store:
        for k, t in enumerate(starts):
            store.add_session(crafted_session(4.0 + 3 * k, paces_cm_s=(2.0, 3.0), warnings=1), start_utc=local(t),
                              timezone="Europe/Berlin", checksum=f"{k + len(str(home)):064x}")  # fmt: skip


@pytest.mark.parametrize(("fmt", "name"), [("csv", "x"), ("parquet", "p"), ("jsonl", "x.jsonl")])
def test_export_never_overwrites_without_force(tmp_path, capsys, fmt, name):
    _fill()
    out = tmp_path / name
    assert run(["export", "--format", fmt, "--out", str(out)]) == 0
    written = sorted(p for p in ([out] if out.is_file() else out.iterdir()))
    before = {p: p.read_bytes() for p in written}
    capsys.readouterr()
    assert run(["export", "--format", fmt, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "already" in err and "--force" in err
    assert {p: p.read_bytes() for p in written} == before, "nothing was touched"
    with SessionStore() as store:
        store.delete_sessions([1])
    assert run(["export", "--format", fmt, "--out", str(out), "--force"]) == 0
    assert {p: p.read_bytes() for p in written} != before, "--force replaced the export"
    for p in written:
        assert p.stat().st_mode & 0o777 == 0o600


def test_parquet_times_are_timestamps_duckdb_reads(tmp_path):
    duckdb = pytest.importorskip("duckdb")
    _fill()
    out = tmp_path / "p"
    assert run(["export", "--format", "parquet", "--out", str(out)]) == 0
    con = duckdb.connect()
    types = con.execute(
        f"SELECT typeof(start_utc), typeof(start_local), start_utc, start_local "
        f"FROM read_parquet('{out / 'sessions.parquet'}') ORDER BY id LIMIT 1"
    ).fetchone()
    assert types[:2] == ("TIMESTAMP WITH TIME ZONE", "TIMESTAMP")
    assert pd.Timestamp(types[2]).tz_convert("UTC") == pd.Timestamp("2025-01-06T06:00Z")
    assert pd.Timestamp(types[3]) == pd.Timestamp("2025-01-06T07:00")  # the wall clock in Berlin


def test_a_missing_pyarrow_is_exit_1_with_the_install_line(monkeypatch, tmp_path, capsys):
    _fill()
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    for argv in (["export", "--format", "parquet", "--out", str(tmp_path / "p")],
                 ["export", "--partitioned", str(tmp_path / "pool")]):  # fmt: skip
        assert run(argv) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "pip install 'tracker[parquet]'" in err
    assert not (tmp_path / "p").exists() and not (tmp_path / "pool").exists()


# --- the pooled dataset ------------------------------------------------------------------------
def _readme_query(dataset: Path) -> str:
    """The README's DuckDB query, with its dataset path pointed at `dataset`."""
    block = re.search(r"```sql\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
    assert block, "the README shows a DuckDB query over the partitioned export"
    sql = block.group(1)
    assert "study-data/" in sql and "hive_partitioning = true" in sql
    return sql.replace("study-data/", f"{dataset}/")


def test_readme_duckdb_query_over_a_pooled_partitioned_export(tmp_path, capsys):
    duckdb = pytest.importorskip("duckdb")
    pool = tmp_path / "study-data"
    people = {"P01": ("2025-01-06T07:00", "2025-01-08T19:30", "2025-02-03T07:00"),
              "P02": ("2025-01-07T21:00", "2025-01-29T06:45")}  # fmt: skip
    expected = {}
    for person, starts in people.items():
        home = tmp_path / person
        _fill(home, starts)
        assert run(["--data-dir", str(home), "export", "--partitioned", str(pool), "--person", person]) == 0
        assert f"person={person}" in capsys.readouterr().out
        with SessionStore(home / "sessions.sqlite3", read_only=True) as store:
            weeks = weekly_summary(store.sessions(), end=pd.Timestamp("2025-02-09"))
        expected[person] = {w.date(): round(m, 1) for w, m in weeks["rolling_min"].items() if m > 0}
    # Hive layout: person / year / month, the month of each session's local start
    leaves = sorted(str(p.relative_to(pool)) for p in pool.rglob("*.parquet"))
    assert "sessions/person=P01/year=2025/month=1/part-0.parquet" in leaves
    assert "sessions/person=P01/year=2025/month=2/part-0.parquet" in leaves
    assert "strokes/person=P02/year=2025/month=1/part-0.parquet" in leaves
    for leaf in pool.rglob("*.parquet"):
        assert leaf.stat().st_mode & 0o777 == 0o600
    con = duckdb.connect()
    columns = [r[0] for r in con.execute(
        f"DESCRIBE SELECT * FROM read_parquet('{pool}/sessions/*/*/*/*.parquet', hive_partitioning = true)").fetchall()]
    assert {"person", "year", "month", "start_utc", "on_roller_s"} <= set(columns)
    assert "capture_path" not in columns and "sensor_address" not in columns  # nothing that names a home or a device
    rows = con.execute(_readme_query(pool)).fetchall()
    got: dict[str, dict] = {}
    for person, week, minutes, *_rest in rows:
        got.setdefault(person, {})[pd.Timestamp(week).date()] = minutes
    assert got == expected


def test_a_second_export_of_one_person_needs_force_and_keeps_the_others(tmp_path, capsys):
    pytest.importorskip("pyarrow")
    pool = tmp_path / "pool"
    for person in ("P01", "P02"):
        _fill(tmp_path / person)
        assert run(["--data-dir", str(tmp_path / person), "export", "--partitioned", str(pool), "--person", person]) == 0
    others = {p: p.read_bytes() for p in pool.rglob("person=P02/**/*.parquet")}
    assert others
    argv = ["--data-dir", str(tmp_path / "P01"), "export", "--partitioned", str(pool), "--person", "P01"]
    capsys.readouterr()
    assert run(argv) == 2
    assert "already holds an export for person P01" in capsys.readouterr().err
    with SessionStore(tmp_path / "P01" / "sessions.sqlite3") as store:
        store.delete_sessions([3])  # the February session
    assert run([*argv, "--force"]) == 0
    assert not list(pool.rglob("person=P01/year=2025/month=2"))
    assert {p: p.read_bytes() for p in pool.rglob("person=P02/**/*.parquet")} == others


def test_partitioned_mistakes(tmp_path, capsys):
    _fill()
    for argv, needle in (
        (["export", "--partitioned", str(tmp_path / "d"), "--person", "../etc"], "cannot name a partition"),
        (["export", "--partitioned", str(tmp_path / "d"), "--format", "csv"], "drop --format"),
        (["export", "--person", "P01"], "--person goes with --partitioned"),
    ):
        assert run(argv) == 2
        assert needle in capsys.readouterr().err


def test_the_default_person_is_one_pseudonym_kept_in_the_settings(tmp_path, capsys):
    pytest.importorskip("pyarrow")
    _fill()
    assert run(["export", "--partitioned", str(tmp_path / "a")]) == 0
    first = re.search(r"person=(\S+)", capsys.readouterr().out).group(1)
    assert re.fullmatch(r"p-[0-9a-f]{8}", first)
    assert run(["export", "--partitioned", str(tmp_path / "b")]) == 0
    assert f"person={first}" in capsys.readouterr().out
    assert paths.config_path().stat().st_mode & 0o777 == 0o600
    assert run(["config"]) == 0  # the settings file still reads as settings

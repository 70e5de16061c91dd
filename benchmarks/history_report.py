"""Benchmark: the report and `tracker sessions` over three years of daily sessions.

Generates ~1,100 synthetic analysed sessions (tracker.history.synthetic: strokes, holds, warnings,
2 Hz position tracks) into a temporary data directory, then times
  1. write_report(weeks=12) and write_report over all ~157 weeks, in process (imports excluded);
  2. `tracker report` and `tracker sessions` as commands (a fresh interpreter each, so imports count).
Targets (issue 4): report <= 3 s, `tracker sessions` <= 0.5 s.

Run: python benchmarks/history_report.py
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path


def _timed(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    home = Path(tempfile.mkdtemp(prefix="tracker-bench-"))
    os.environ["TRACKER_HOME"] = str(home)
    from tracker.history.report import write_report
    from tracker.history.store import SessionStore
    from tracker.history.synthetic import synthetic_history

    t = time.perf_counter()
    with SessionStore() as store:
        n = synthetic_history(store, days=3 * 365 + 1, end=date.today(), seed=7, rest_day_probability=0.0,
                              double_day_probability=0.01)  # fmt: skip
        strokes = store._conn.execute("SELECT COUNT(*) FROM strokes").fetchone()[0]
        holds = store._conn.execute("SELECT COUNT(*) FROM holds").fetchone()[0]
    gen_s = time.perf_counter() - t
    size_mb = (home / "sessions.sqlite3").stat().st_size / 1e6
    print(
        f"history: {n} sessions, {strokes} strokes, {holds} holds, db {size_mb:.1f} MB, generated in {gen_s:.1f} s"
    )

    write_report(weeks=12)  # warm imports and font cache
    r12 = _timed(lambda: write_report(weeks=12, out_dir=home / "r12"))
    rall = _timed(lambda: write_report(weeks=157, out_dir=home / "rall"))
    print(f"write_report(weeks=12), in process:   {r12:.2f} s (median of 3)")
    print(f"write_report(weeks=157), in process:  {rall:.2f} s (median of 3)")

    exe = [sys.executable, "-m", "tracker"]
    env = dict(os.environ)

    def cmd(*args: str) -> None:
        subprocess.run(
            [*exe, *args], env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    c_report = _timed(lambda: cmd("report", "--weeks", "12", "--out", str(home / "c12")))
    c_sessions = _timed(lambda: cmd("sessions"))
    c_sessions_json = _timed(lambda: cmd("sessions", "--json"))
    print(
        f"`tracker report --weeks 12` command:  {c_report:.2f} s (target <= 3 s; includes interpreter start and imports)"
    )
    print(f"`tracker sessions` command:           {c_sessions:.2f} s (target <= 0.5 s; {n} rows)")
    print(f"`tracker sessions --json` command:    {c_sessions_json:.2f} s")
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")


if __name__ == "__main__":
    main()

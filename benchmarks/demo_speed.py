"""Benchmark: `tracker demo` wall time, this checkout against an older commit, as a ratio.

The machine is shared, so absolute seconds mean little: both versions run in the same Python
environment (this one's dependencies), the older one from `git archive` of BASELINE put first on
sys.path (BOOT), alternately (old, new, new, old, ...), each in a fresh data directory with its output
piped (as in CI). The ratio of the wall-time medians is the result; the spread of the per-pair
ratios says how noisy the run was; the CPU-time ratio (user + system of each run) is printed too,
as it moves less when other work shares the machine.

Run: python benchmarks/demo_speed.py [--baseline COMMIT] [--runs N] [--weeks W]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _export(commit: str, into: Path) -> Path:
    """The tracker package of `commit`, unpacked into `into` (no worktree, nothing left in git)."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", commit, "tracker"],
        check=True, capture_output=True,
    ).stdout  # fmt: skip
    tar = into / "baseline.tar"
    tar.write_bytes(archive)
    with tarfile.open(tar) as t:
        t.extractall(into / "src", filter="data")
    return into / "src"


# `python -c BOOT SRC ARGS...`: tracker from SRC (an empty SRC: the installed one). An editable
# install's import hook comes before PYTHONPATH, so the baseline's path goes first and the hook out.
BOOT = """
import sys
src, args = sys.argv[1], sys.argv[2:]
if src:
    sys.meta_path[:] = [f for f in sys.meta_path if "__editable__" not in getattr(f, "__module__", "")]
    sys.path.insert(0, src)
import tracker, tracker.cli.main as m
assert not src or tracker.__file__.startswith(src), tracker.__file__
sys.argv = ["tracker", *args]
m.main()
"""


def _command(src: str, *args: str) -> list[str]:
    return [sys.executable, "-c", BOOT, src, *args]


def _run_demo(src: str, weeks: int, home: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child: user + system)."""
    env = {**os.environ, "MPLBACKEND": "Agg", "TRACKER_HOME": str(home)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    done = subprocess.run(
        _command(src, "demo", "--weeks", str(weeks)),
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    elapsed = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"demo failed ({done.returncode}): {done.stderr[-400:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", default="759fe69", help="commit to compare against (default: before issue 12)")
    parser.add_argument("--runs", type=int, default=5, help="runs of each version")
    parser.add_argument("--weeks", type=int, default=6, help="tracker demo --weeks (6 is the default demo)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tracker-demo-bench-") as tmp:
        tmp_path = Path(tmp)
        baseline = _export(args.baseline, tmp_path)
        old: list[float] = []
        new: list[float] = []
        cpu: dict[str, list[float]] = {"old": [], "new": []}
        for i in range(args.runs):
            order = [("old", str(baseline)), ("new", "")]
            if i % 2:
                order.reverse()
            for label, path in order:
                home = Path(tempfile.mkdtemp(dir=tmp))
                seconds, cpu_s = _run_demo(path, args.weeks, home)
                (old if label == "old" else new).append(seconds)
                cpu[label].append(cpu_s)
                print(f"run {i + 1} {label}: {seconds:.2f} s wall, {cpu_s:.2f} s CPU", flush=True)
    ratios = [n / o for n, o in zip(new, old, strict=True)]
    print(f"baseline {args.baseline}: median {statistics.median(old):.2f} s (min {min(old):.2f}, max {max(old):.2f})")
    print(f"this checkout:    median {statistics.median(new):.2f} s (min {min(new):.2f}, max {max(new):.2f})")
    print(f"ratio new/old of the medians: {statistics.median(new) / statistics.median(old):.2f} "
          f"(per pair: min {min(ratios):.2f}, max {max(ratios):.2f})")  # fmt: skip
    cpu_ratio = statistics.median(cpu["new"]) / statistics.median(cpu["old"])
    print(f"CPU time (less sensitive to other load): median {statistics.median(cpu['old']):.2f} s -> "
          f"{statistics.median(cpu['new']):.2f} s, ratio {cpu_ratio:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()

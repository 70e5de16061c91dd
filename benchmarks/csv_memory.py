"""Peak memory (RSS) of reading a CSV recording: `tracker.formats.load_recording` on a 2 M-row
and a 10 M-row `t,ax,ay,az,gx,gy,gz` file, before and after in the same run.

Target (issue 10): peak RSS at most about 3x the file size plus a fixed 300 MB.

Each load runs in its own Python process, which reports its peak RSS (`resource.getrusage`,
`ru_maxrss`) and the load time; the interpreter and imports are part of the fixed share. The files
are a simulated session at 100 Hz tiled to length, written like the test CSVs (`%.6f`, about 61
bytes a row: the 10 M-row file is ~612 MB, the size the issue measured).

"Before" is the loader of an earlier commit (`--before REF`, default the commit before
`tracker.formats` existed), read from git into a temporary module; it is skipped when git or the
commit is missing, or when this machine has too little free memory for it (it needs ~12x the file).

Run: python benchmarks/csv_memory.py [--rows 2000000 10000000] [--before REF] [--dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_BEFORE = "759fe69"
FIXED_MB = 300.0
RATIO = 3.0

CHILD = r"""
import importlib.util, json, resource, sys, time
kind, path, legacy = sys.argv[1], sys.argv[2], sys.argv[3]
if kind == "before":
    spec = importlib.util.spec_from_file_location("legacy_io", legacy)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    load = module.load_recording
else:
    from tracker.formats import load_recording as load
import numpy  # imported before the clock starts in both cases
t0 = time.perf_counter()
rec = load(path)
elapsed = time.perf_counter() - t0
peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"rows": len(rec), "seconds": elapsed, "peak_mb": peak_kb / 1024}))
"""


def write_csv(path: Path, rows: int) -> None:
    """A simulated session at 100 Hz, tiled to `rows` rows (time keeps increasing)."""
    from tracker.simulate import random_script, simulate_session

    sim = simulate_session(random_script(5, duration_s=120), seed=5, sampling_rate_hz=100)
    values = sim.recording.to_columns()[:, 1:]
    tile = [",".join(f"{v:.6f}" for v in row) for row in values]
    n = len(tile)
    with path.open("w") as fh:
        fh.write("t,ax,ay,az,gx,gy,gz\n")
        for a in range(0, rows, 200_000):
            b = min(rows, a + 200_000)
            fh.write("".join(f"{i / 100:.6f},{tile[i % n]}\n" for i in range(a, b)))


def legacy_loader(ref: str, into: Path) -> Path | None:
    try:
        text = subprocess.run(
            ["git", "show", f"{ref}:tracker/analysis/io.py"],
            cwd=ROOT, capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return None
    if "def load_recording" not in text or "tracker.formats" in text:
        return None
    path = into / "legacy_io.py"
    path.write_text(text)
    return path


def available_mb() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("inf")


def measure(kind: str, csv: Path, legacy: Path | None) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, kind, str(csv), str(legacy or "")],
        cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    if out.returncode != 0:
        return {"error": (out.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[2_000_000, 10_000_000])
    parser.add_argument("--before", default=DEFAULT_BEFORE, help="git commit of the old loader")
    parser.add_argument("--dir", type=Path, default=None, help="where to write the CSVs (default: a temp dir)")
    args = parser.parse_args()

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, {platform.python_implementation()} "
          f"{platform.python_version()}, {platform.system()} {platform.release()}")  # fmt: skip
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        tmp_path = Path(tmp)
        legacy = legacy_loader(args.before, tmp_path)
        if legacy is None:
            print(f"before: no loader at {args.before} (not a git checkout?): measuring after only")
        print(f"{'rows':>10} {'file MB':>8} {'loader':>7} {'peak MB':>8} {'x file':>7} {'target MB':>9} {'load s':>7}")
        for rows in args.rows:
            csv = tmp_path / f"rows-{rows}.csv"
            t0 = time.perf_counter()
            write_csv(csv, rows)
            size_mb = csv.stat().st_size / 2**20
            target = RATIO * size_mb + FIXED_MB
            print(f"# wrote {csv.name} in {time.perf_counter() - t0:.0f} s", flush=True)
            kinds = ["after"]
            if legacy is not None:
                if available_mb() > 14 * size_mb + 1024:
                    kinds = ["before", "after"]
                else:
                    print(f"# before skipped for {rows} rows: {available_mb():.0f} MB free, it needs ~{12 * size_mb:.0f}")
            for kind in kinds:
                r = measure(kind, csv, legacy)
                if "error" in r:
                    print(f"{rows:>10} {size_mb:>8.0f} {kind:>7} failed: {r['error']}")
                    continue
                verdict = "ok" if r["peak_mb"] <= target else "OVER"
                print(
                    f"{rows:>10} {size_mb:>8.0f} {kind:>7} {r['peak_mb']:>8.0f} "
                    f"{r['peak_mb'] / size_mb:>7.2f} {target:>9.0f} {r['seconds']:>7.1f}  {verdict}",
                    flush=True,
                )
            csv.unlink()


if __name__ == "__main__":
    main()

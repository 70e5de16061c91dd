"""Speed and memory of `tracker.analysis.analyze`.

    python benchmarks/analysis_speed.py [--accel-only]

Targets (issue 3): a 30-minute 100 Hz session in <= 0.5 s; a 2-hour 400 Hz session in <= 10 s
with peak memory under 1 GB. Each case runs in its own subprocess: the session is simulated
first, then the analysis is timed (best of 3 for the short case) and its peak memory measured
with tracemalloc (Python and numpy allocations made by the analysis) and, for the whole
process, the maximum resident set size (which includes the simulator and its arrays).
`--accel-only` times the same sessions with the gyroscope taken away (a Polar H10's analysis:
the gyro-free orientation stage instead of VQF).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, resource, sys, time, tracemalloc
sys.path.insert(0, {root!r})
from tracker.analysis import analyze
from tracker.simulate import random_script, simulate_session
minutes, rate, repeats = {minutes}, {rate}, {repeats}
sim = simulate_session(random_script(77, posture="mixed", duration_s=minutes * 60.0), seed=77, sampling_rate_hz=rate)
rec = sim.recording
del sim
if {accel_only}:
    import numpy as np
    from dataclasses import replace
    rec = replace(rec, gyr_rad_s=np.full_like(rec.gyr_rad_s, np.nan))
analyze(rec)  # warm imports (scipy, vqf) outside the timing
best = float("inf")
for _ in range(repeats):
    t0 = time.perf_counter()
    result = analyze(rec)
    best = min(best, time.perf_counter() - t0)
tracemalloc.start()
analyze(rec)
_, peak = tracemalloc.get_traced_memory()
tracemalloc.stop()
print(json.dumps({{"samples": len(rec), "seconds": best, "peak_alloc_mb": peak / 2**20,
                  "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "input_mb": (rec.acc_m_s2.nbytes + rec.gyr_rad_s.nbytes + rec.t_s.nbytes) / 2**20,
                  "strokes": len(result.strokes)}}))
"""


def run_case(minutes: float, rate: float, repeats: int, accel_only: bool = False) -> dict:
    code = CHILD.format(root=str(ROOT), minutes=minutes, rate=rate, repeats=repeats, accel_only=accel_only)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=1800, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    accel_only = "--accel-only" in sys.argv[1:]
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
    print("accelerometer only (gyro NaN)\n" if accel_only else "")
    print(
        "| session | samples | analysis time | target | peak allocated by analysis | max RSS (incl. simulator) |"
    )
    print("|---|---|---|---|---|---|")
    for minutes, rate, repeats, target in (
        (30, 100, 3, "≤ 0.5 s"),
        (120, 400, 1, "≤ 10 s, < 1 GB"),
    ):
        r = run_case(minutes, rate, repeats, accel_only)
        print(
            f"| {minutes} min at {rate} Hz | {r['samples']:,} | {r['seconds']:.2f} s | {target} "
            f"| {r['peak_alloc_mb']:.0f} MB | {r['maxrss_mb']:.0f} MB |"
        )


if __name__ == "__main__":
    main()

"""Simulator speed and memory: a 30-minute session at 100 Hz and a 2-hour session at 400 Hz.

Run: python benchmarks/simulate_speed.py
Each case runs in a fresh process so peak memory (ru_maxrss) belongs to that case alone.
"""

from __future__ import annotations

import json
import subprocess
import sys

CASE = """
import json, resource, time
from tracker.simulate import random_script, simulate_session
script = random_script(1, posture="mixed", fast=True, duration_s={duration})
best = float("inf")
for _ in range({repeats}):
    t0 = time.perf_counter()
    sim = simulate_session(script, seed=1, sampling_rate_hz={rate})
    best = min(best, time.perf_counter() - t0)
print(json.dumps({{"samples": len(sim.recording), "strokes": len(sim.truth.strokes),
                  "holds": len(sim.truth.holds), "best_s": best,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def main() -> None:
    print(f"{'case':<22}{'samples':>10}{'strokes':>9}{'holds':>7}{'best s':>9}{'peak MB':>9}")
    for name, duration, rate, repeats in (("30 min @ 100 Hz", 1800, 100, 5), ("2 h @ 400 Hz", 7200, 400, 2)):
        code = CASE.format(duration=duration, rate=rate, repeats=repeats)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        r = json.loads(out.stdout)
        print(f"{name:<22}{r['samples']:>10}{r['strokes']:>9}{r['holds']:>7}{r['best_s']:>9.3f}{r['peak_mb']:>9.0f}")


if __name__ == "__main__":
    main()

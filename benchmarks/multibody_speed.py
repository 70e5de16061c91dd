"""How long model 2 (`tracker.multibody`) takes to simulate a session, and its peak memory.

    python benchmarks/multibody_speed.py

Target (issue 8): 30 min at 100 Hz in a few seconds. Each case runs in a fresh process so the
peak RSS is its own; the table is markdown for BENCHMARKS.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CASES = [
    ("30 min at 100 Hz, mixed", "random_session(1, posture='mixed', duration_s=1800, rate_hz=100)"),
    ("30 min at 400 Hz, mixed", "random_session(1, posture='mixed', duration_s=1800, rate_hz=400)"),
    ("5 min at 25 Hz, bridge", "random_session(2, posture='bridge', duration_s=300, rate_hz=25)"),
    ("10 min walking at 100 Hz", "walking(3, duration_s=600, rate_hz=100)"),
]

CHILD = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
from tracker.multibody import random_session
from tracker.multibody.activities import walking
t0 = time.perf_counter()
out = {call}
elapsed = time.perf_counter() - t0
print(json.dumps({{"samples": len(out.recording), "s": elapsed,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def main() -> None:
    print("| case | samples | time | peak RSS |\n| --- | --- | --- | --- |")
    for name, call in CASES:
        res = subprocess.run(
            [sys.executable, "-c", CHILD.format(root=str(ROOT), call=call)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        r = json.loads(res.stdout.strip().splitlines()[-1])
        print(f"| {name} | {r['samples']:,} | {r['s']:.2f} s | {r['rss_mb']:.0f} MB |")


if __name__ == "__main__":
    main()

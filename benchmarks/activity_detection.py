"""How often recordings that are not foam rolling are reported as such (`tracker.analysis.activity`).

    python benchmarks/activity_detection.py [--seeds 20] [--jobs 2] [--no-live]

The six activities (walking, desk sitting, lying still, stretching, the sensor carried about,
the sensor on a table), each from two independent generators: model 2's
`tracker.multibody.activities` (a person's pose sampled through model 2's sensor: any rate,
datasheet errors) and the plain rigid-body kinematics of tests/analysis/activity_physics.py (its
own sensor noise, 25-200 Hz). Each recording is analysed offline and, unless `--no-live`, live
(one sample block after another through `LiveSession`); a detection is the analysis saying
"not_rolling" with no strokes, holds or warnings, and live never showing a stroke. "kind right"
is whether the reason names the activity (a short stretching routine read as "lying back
without rolling" is detected, not named). Real rolling sessions are the other side:
`benchmarks/analysis_accuracy.py` reports how many of its 144 were recognised as rolling.

Seeds 300+ (model 2) and 400+ (physics); the detector's thresholds were chosen on seeds 100-140.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "analysis"))

SIX = ("walking", "desk_sitting", "lying_still", "stretching", "carried", "on_table")
NAMES = {
    "walking": ("walking (steps",),
    "desk_sitting": ("sitting or standing",),
    "lying_still": ("without rolling",),
    "stretching": ("stretching", "faced down", "head lower"),
    "carried": ("carried about",),
    "on_table": ("no breathing or heartbeat",),
}
RATES = (25.0, 50.0, 100.0, 200.0)


def run_one(job: tuple[str, str, int, bool]) -> dict[str, Any]:
    generator, name, seed, live = job
    from tracker.analysis import analyze

    if generator == "model 2":
        from tracker.multibody.activities import ACTIVITY_GENERATORS

        rec = ACTIVITY_GENERATORS[name](seed, duration_s=180.0).recording
    else:
        import activity_physics

        rec = activity_physics.activity(name, seed, duration_s=180.0, rate_hz=RATES[seed % len(RATES)])
    r = analyze(rec)
    out: dict[str, Any] = {
        "generator": generator, "name": name, "seed": seed, "rate": rec.sampling_rate_hz,
        "detected": r.activity == "not_rolling" and not (r.strokes or r.holds or r.warnings),
        "kind_right": any(w in (r.activity_reason or "") for w in NAMES[name]),
        "reason": r.activity_reason,
    }  # fmt: skip
    if live:
        from tracker.live.feed import recording_blocks
        from tracker.live.streaming import LiveSession

        session = LiveSession(None, rec.sampling_rate_hz, None)
        shown = 0
        for block in recording_blocks(rec, 25):
            session.push_block(block)
            shown = max(shown, session.state.stroke_count)
        session.finish()
        activity, why = session.activity.verdict(session.session_s)
        out.update(live_detected=activity == "not_rolling" and not session.strokes and shown == 0,
                   live_strokes_shown=shown, live_reason=why)  # fmt: skip
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 epilog="Example: nice python benchmarks/activity_detection.py --seeds 20 --jobs 2")  # fmt: skip
    ap.add_argument("--seeds", type=int, default=20, help="recordings per activity and generator")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--no-live", action="store_true", help="offline only")
    args = ap.parse_args(argv)
    jobs = [(g, n, base + i, not args.no_live) for g, base in (("model 2", 300), ("physics", 400))
            for n in SIX for i in range(args.seeds)]  # fmt: skip
    t0 = time.perf_counter()
    if args.jobs > 1:
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(args.jobs) as pool:
            rows = list(pool.map(run_one, jobs))
    else:
        rows = [run_one(j) for j in jobs]
    print(f"Activity detection: {len(rows)} recordings of 180 s ({time.perf_counter() - t0:.0f} s wall, {args.jobs} job(s))\n")
    live = not args.no_live
    head = "| activity | generator | n | offline: not rolling | kind right |" + (" live: not rolling, no stroke shown |" if live else "")
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for name in SIX:
        for g in ("model 2", "physics"):
            grp = [r for r in rows if r["name"] == name and r["generator"] == g]
            cells = f"| {name} | {g} | {len(grp)} | {sum(r['detected'] for r in grp)}/{len(grp)} | {sum(r['kind_right'] for r in grp)}/{len(grp)} |"
            if live:
                cells += f" {sum(r['live_detected'] for r in grp)}/{len(grp)} |"
            print(cells)
    misses = [r for r in rows if not r["detected"] or (live and not r["live_detected"])]
    for r in misses:
        print(f"\nmissed: {r['generator']} {r['name']} seed {r['seed']} at {r['rate']:g} Hz: offline {r['reason']!r}"
              + (f", live {r['live_reason']!r} ({r['live_strokes_shown']} strokes shown)" if live else ""))  # fmt: skip


if __name__ == "__main__":
    main()

"""Live analysis cost: per-sample time and CPU share at 100 Hz and 400 Hz, and warning latency.

    python benchmarks/live_cost.py

Feeds simulated 5-minute sessions (hips down, too-fast sets, long holds) through `LiveSession`
in blocks the size of a notification (about 10 samples at 100 Hz, 40 at 400 Hz), as fast as it
goes, and reports the CPU time per sample and the share of one core it would take in real time.

Latency: measured from the moment a block is handed to the live feed (what the recorder does
right after `StreamDecoder.feed` returns) to the moment the warning has been drawn into a rich
console (the view's `update`). The radio and decode part of "notification to displayed warning"
is not included here (see benchmarks/link_soak.py for the link's own latency).
"""

from __future__ import annotations

import io
import os
import platform
import time

import numpy as np


def main() -> None:
    from rich.console import Console

    from tracker.guidance import Guidance
    from tracker.live.feed import LiveFeed, recording_blocks
    from tracker.live.streaming import LiveSession
    from tracker.live.view import LiveView
    from tracker.simulate import random_script, simulate_session

    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}")
    for rate, block in ((100.0, 10), (400.0, 40)):
        per_sample = []
        for seed in (4, 5):
            g = Guidance()
            sim = simulate_session(random_script(seed, fast=True, long_holds=True, guidance=g), seed=seed,
                                   sampling_rate_hz=rate, guidance=g, attach_calibration=True)
            rec = sim.recording
            live = LiveSession(g, rate, rec.calibration)
            blocks = list(recording_blocks(rec, block))
            t0 = time.process_time()
            for b in blocks:
                live.push_block(b)
            cpu = time.process_time() - t0
            per_sample.append(cpu / len(rec.t_s))
        us = 1e6 * float(np.median(per_sample))
        print(f"{rate:5.0f} Hz: {us:6.1f} µs/sample (CPU), {us * rate / 1e4:5.2f} % of one core in real time"
              f"  [analysis only, blocks of {block}]")

    # with the view drawing at 4 Hz (what the CLI does), and the warning latency
    g = Guidance()
    sim = simulate_session(random_script(4, fast=True, long_holds=True, guidance=g), seed=4, guidance=g,
                           attach_calibration=True)
    rec = sim.recording
    console = Console(file=io.StringIO(), width=110, force_terminal=True)
    view = LiveView(console, screen=False, quiet=True)
    latencies = []
    cpu = 0.0
    for _rep in range(3):
        feed = LiveFeed(LiveSession(g, rec.sampling_rate_hz, rec.calibration), view)
        blocks = list(recording_blocks(rec, 10))
        t0 = time.process_time()
        for b in blocks:
            feed(b)
        cpu += time.process_time() - t0
        latencies += feed.warning_latency_s
    us = 1e6 * cpu / (3 * len(rec.t_s))
    lat = np.array(latencies) * 1e3
    print(f"100 Hz with the view: {us:6.1f} µs/sample, {us * 100 / 1e4:5.2f} % of one core "
          "(the view redraws at most 4x/s of wall time; here wall time runs ~100x faster, so this over-counts drawing)")
    print(f"block pushed -> warning drawn: p50 {np.percentile(lat, 50):.2f} ms, p99 {np.percentile(lat, 99):.2f} ms "
          f"over {len(lat)} warnings (excludes radio and decode)")


if __name__ == "__main__":
    main()

"""Live analysis cost: per-sample time and CPU share at 100 Hz and 400 Hz, and warning latency.

    python benchmarks/live_cost.py

Feeds simulated 5-minute sessions through `LiveSession` in blocks the size of a notification
(about 10 samples at 100 Hz, 40 at 400 Hz), as fast as it goes, and reports the CPU time per
sample and the share of one core it would take in real time: hips down (too-fast sets, long
holds), and bridge and mixed sessions, where the bridge's segmentation is fitted on a trailing
window every `bridge_refit_s` (tracker/live/bridge.py) and dominates the cost (the fast-move
matched filter beside it, tracker/live/fast_moves.py, is a few µs per analysis sample).

Latency, two ways:

* in process: from the moment a block is handed to the live feed (what the recorder does right
  after `StreamDecoder.feed` returns) to the moment the warning has been drawn into a rich console;
* on the emulated link (the issue's "notification to displayed warning"): the emulated sensor
  (Bumble virtual radio, bleak backend) streams a simulated fast session at `--speed` times real
  time to a `Recorder(on_block=LiveFeed(...))`; for each warning, from the moment the emulator
  handed the notification carrying the warning's last sample to the Bluetooth stack
  (`EmulatedSensor.send_log[...].send_monotonic_s`) to the moment the view drew it
  (`LiveFeed.warning_marks`, same `time.monotonic` clock). The sensor's pairing calibration is
  given (as after `tracker pair`), so no warning waits for the body axes to be learned.

    python benchmarks/live_cost.py [--speed 4] [--link-seconds 150] [--skip-cost]

Replay cost (what the live tests pay: they replay whole simulated sessions through
`LiveSession`, as `tests/live/_live_helpers.run_live` does, `finish` included): CPU seconds per
second of session replayed, for hips-down, bridge and mixed sessions at several block sizes.
Against another checkout (main), interleaved, so the shared machine's load hits both alike:
each round runs both trees in fresh processes (same interpreter, PYTHONPATH set to the tree),
alternating which goes first, and prints the ratio per case as the median over rounds with
its range:

    python benchmarks/live_cost.py --replay                       # this tree only
    python benchmarks/live_cost.py --against /work/main --rounds 5
"""

from __future__ import annotations

import io
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


def main() -> None:
    from rich.console import Console

    from tracker.guidance import Guidance
    from tracker.live.feed import LiveFeed, recording_blocks
    from tracker.live.streaming import LiveSession
    from tracker.live.view import LiveView
    from tracker.simulate import random_script, simulate_session

    print(f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    for posture, seeds in (("hips_down", (4, 5)), ("bridge", (31, 33)), ("mixed", (32, 36))):
        for rate, block in ((100.0, 10), (400.0, 40)):
            per_sample = []
            worst = 0.0
            for seed in seeds:
                g = Guidance()
                script = random_script(seed, posture=posture, fast=True, long_holds=True, guidance=g)
                sim = simulate_session(script, seed=seed, sampling_rate_hz=rate, guidance=g, attach_calibration=True)
                rec = sim.recording
                live = LiveSession(g, rate, rec.calibration)
                blocks = list(recording_blocks(rec, block))
                t0 = time.process_time()
                for b in blocks:
                    t1 = time.process_time()
                    live.push_block(b)
                    worst = max(worst, time.process_time() - t1)
                cpu = time.process_time() - t0
                per_sample.append(cpu / len(rec.t_s))
            us = 1e6 * float(np.median(per_sample))
            print(f"{posture:9s} {rate:5.0f} Hz: {us:6.1f} µs/sample (CPU), {us * rate / 1e4:5.2f} % of one core in real time"
                  f"  [analysis only, blocks of {block}; slowest block {1e3 * worst:.0f} ms]")

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


REPLAY_CASES = (
    # (posture, seed, rate Hz, block size in samples, with a gyroscope)
    ("hips_down", 4, 100.0, 1, True),
    ("hips_down", 4, 100.0, 10, True),
    ("hips_down", 4, 100.0, 40, True),
    ("hips_down", 4, 400.0, 40, True),
    ("bridge", 31, 100.0, 10, True),
    ("mixed", 32, 100.0, 10, True),
    ("hips_down", 4, 100.0, 10, False),
)


def replay_cost() -> dict[str, float]:
    """CPU seconds per second of session for each of `REPLAY_CASES` (a fast session with long
    holds and the pairing calibration, as the live tests simulate them), replayed whole."""
    from dataclasses import replace

    from tracker.guidance import Guidance
    from tracker.live.feed import recording_blocks
    from tracker.live.streaming import LiveSession
    from tracker.simulate import random_script, simulate_session

    out = {}
    for posture, seed, rate, block, gyro in REPLAY_CASES:
        g = Guidance()
        script = random_script(seed, posture=posture, fast=True, long_holds=True, guidance=g)
        rec = simulate_session(script, seed=seed, sampling_rate_hz=rate, guidance=g, attach_calibration=True).recording
        if not gyro:  # a Polar H10: no rates at all
            rec = replace(rec, gyr_rad_s=np.full_like(rec.gyr_rad_s, np.nan))
        blocks = list(recording_blocks(rec, block))
        t0 = time.process_time()
        live = LiveSession(g, rec.sampling_rate_hz, rec.calibration, has_gyro=gyro)
        for b in blocks:
            live.push_block(b)
        live.finish()
        cpu = time.process_time() - t0
        kind = "" if gyro else " (no gyro)"
        out[f"{posture}{kind} {rate:.0f} Hz, blocks of {block}"] = cpu / float(rec.t_s[-1] - rec.t_s[0])
    return out


def print_replay(costs: dict[str, float]) -> None:
    for case, per_s in costs.items():
        print(f"{case:42s} {1e3 * per_s:7.2f} ms CPU per second replayed ({1 / per_s:6.0f}x real time)")


def compare(other: Path, rounds: int) -> None:
    """`replay_cost` of this tree and of `other`, in fresh processes, interleaved."""
    here = Path(__file__).resolve().parents[1]
    runs: dict[Path, list[dict[str, float]]] = {here: [], other: []}
    for r in range(rounds):
        order = (other, here) if r % 2 == 0 else (here, other)
        for tree in order:
            env = dict(os.environ, PYTHONPATH=str(tree))
            done = subprocess.run([sys.executable, __file__, "--replay", "--json"], env=env, check=True,
                                  capture_output=True, text=True)  # fmt: skip
            runs[tree].append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(f"round {r + 1}/{rounds} done", file=sys.stderr)
    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}; load average "
          f"{os.getloadavg()[0]:.1f} at the end; {rounds} rounds, interleaved")  # fmt: skip
    print(f"{'case':42s} {other.name + ' (ms/s)':>14s} {here.name + ' (ms/s)':>16s}   ratio (median, range)")
    for case in runs[here][0]:
        a = np.array([x[case] for x in runs[other]])
        b = np.array([x[case] for x in runs[here]])
        ratio = a / b
        print(f"{case:42s} {1e3 * np.median(a):14.2f} {1e3 * np.median(b):16.2f}   "
              f"{np.median(ratio):5.2f}x ({ratio.min():.2f}-{ratio.max():.2f})")  # fmt: skip


async def _link_run(seed: int, speed: float, duration_s: float, rate_hz: int = 100) -> tuple[list[float], int]:
    """One emulated-link recording; returns notification->display latencies (s) and warnings."""
    import tempfile
    from pathlib import Path

    from rich.console import Console

    from tracker.emulator.sources import SimulatedSessionSource
    from tracker.guidance import Guidance
    from tracker.link.driver import StreamSettings
    from tracker.link.environment import emulated_environment
    from tracker.link.recorder import Recorder
    from tracker.live.feed import LiveFeed
    from tracker.live.streaming import LiveSession
    from tracker.live.view import LiveView
    from tracker.simulate import random_script

    g = Guidance()
    source = SimulatedSessionSource(random_script(seed, fast=True, duration_s=duration_s, guidance=g),
                                    seed=seed, guidance=g, attach_calibration=True)
    calibration = source.session(rate_hz).recording.calibration
    console = Console(file=io.StringIO(), width=110, force_terminal=True)
    feed = LiveFeed(LiveSession(g, float(rate_hz), calibration), LiveView(console, screen=False, quiet=True),
                    clock=time.monotonic)
    n_samples = int(duration_s * rate_hz)
    with tempfile.TemporaryDirectory() as tmp:
        async with emulated_environment(source=source, seed=seed, speed=speed) as env:
            rec = Recorder(env, Path(tmp) / "bench.capture", settings=StreamSettings(sample_rate_hz=rate_hz),
                           duration_s=duration_s / speed + 30.0, max_samples=n_samples, on_block=feed)
            await rec.run()
            log = [p for p in env.sensor.send_log if p.sent]
    if not log or not feed.warning_marks:
        return [], 0
    # the decoder's time 0 is the first sample delivered: the first packet sent of the stream
    first = log[0].sample_start
    starts = np.array([p.sample_start for p in log])
    sent = np.array([p.send_monotonic_s for p in log])
    out = []
    for t_last, shown in feed.warning_marks:
        idx = first + int(round(t_last * rate_hz))
        k = int(np.searchsorted(starts, idx, side="right")) - 1
        if k >= 0 and log[k].sample_start <= idx < log[k].sample_stop:
            out.append(shown - float(sent[k]))
    return out, len(feed.warning_marks)


def link_latency(speed: float, budget_s: float) -> None:
    """Notification -> displayed warning on the emulated link (see the module docstring)."""
    import asyncio

    lat: list[float] = []
    n_warn = 0
    t_start = time.monotonic()
    duration_s = 120.0
    for seed in (4, 5, 7, 8, 11, 13):
        if time.monotonic() - t_start + duration_s / speed + 5 > budget_s:
            break
        got, n = asyncio.run(_link_run(seed, speed, duration_s))
        lat += got
        n_warn += n
    if not lat:
        print("emulated link: no warning fired (nothing to time)")
        return
    ms = np.array(lat) * 1e3
    print(f"emulated link at {speed:g}x real time, 100 Hz: notification sent -> warning drawn: "
          f"p50 {np.percentile(ms, 50):.1f} ms, p99 {np.percentile(ms, 99):.1f} ms, max {ms.max():.1f} ms "
          f"over {len(ms)} warnings ({n_warn} fired; {time.monotonic() - t_start:.0f} s wall)")


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--speed", type=float, default=6.0, help="emulator time scale (1 = real time)")
    ap.add_argument("--link-seconds", type=float, default=80.0, help="wall-time budget of the link part")
    ap.add_argument("--skip-cost", action="store_true", help="only the emulated-link latency")
    ap.add_argument("--replay", action="store_true", help="only the replay cost (CPU per second replayed)")
    ap.add_argument("--json", action="store_true", help="with --replay: one JSON line")
    ap.add_argument("--against", type=Path, help="compare the replay cost with this checkout (e.g. /work/main)")
    ap.add_argument("--rounds", type=int, default=5, help="with --against: interleaved rounds")
    args = ap.parse_args()
    if args.against is not None:
        compare(args.against.resolve(), args.rounds)
        raise SystemExit(0)
    if args.replay:
        costs = replay_cost()
        if args.json:
            print(json.dumps(costs))
        else:
            print_replay(costs)
        raise SystemExit(0)
    if not args.skip_cost:
        main()
    link_latency(args.speed, args.link_seconds)

"""Speed of this tree against another checkout (today's main), as ratios measured in one run.

    git worktree add --detach ../tracker-main main
    python benchmarks/speed_ratio.py --baseline ../tracker-main [--rounds 5]

The machine is shared, so absolute times mean little: each case runs in a fresh process, the
baseline and this tree alternately (A B A B ...), and the ratio of the medians is reported with
its spread (the ratio of each round's pair, min..max) as the noise. Cases:

* `analysis 2 h @ 400 Hz` and `analysis 30 min @ 100 Hz`: `tracker.analysis.analyze` on a
  simulated mixed session (imports warmed up first; the recording is simulated once and loaded
  from a cache file by both sides), wall and CPU time of the process (all its threads);
* `tracker analyze 30 min @ 100 Hz`: the whole command as a person runs it on a capture file,
  interpreter start and imports included (wall time of the process);
* `tracker --help`: the same for the help screen (what every command's start costs);
* `decode, short last packet`: `decode_packet_array` on 2 h at 400 Hz of MTU-247 packets whose
  last packet holds fewer samples, against copying the same bytes with `numpy.frombuffer(...)
  .copy()` in the same process (the ceiling): reported as the share of that ceiling reached.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

ANALYSIS = r"""
import json, sys, time
import numpy as np
from tracker.analysis import analyze
from tracker.imu import ImuRecording
d = np.load({cache!r})
rec = ImuRecording(d["t"], d["acc"], d["gyr"], float(d["rate"]))
analyze(rec)  # imports and caches warm
t0, c0 = time.perf_counter(), time.process_time()
analyze(rec)
print(json.dumps({{"seconds": time.perf_counter() - t0, "cpu_seconds": time.process_time() - c0}}))
"""

DECODE = r"""
import json, time
import numpy as np
from tracker.protocol import packets
rng = np.random.default_rng(0)
counts = rng.integers(-32768, 32767, size=(2 * 3600 * 400 - 7, 6), dtype=np.int16)  # last packet short
pk = packets.encode_stream(counts, 400, 247)
blob = b"".join(pk)
buf = np.frombuffer(blob, np.uint8)
lengths = np.fromiter(map(len, pk), np.int64, len(pk))
offsets = np.concatenate([[0], np.cumsum(lengths[:-1])])
def best(fn, n=5):
    out = []
    for _ in range(n):
        t0 = time.perf_counter(); fn(); out.append(time.perf_counter() - t0)
    return min(out)
t_copy = best(lambda: np.frombuffer(blob, np.uint8).copy())
t_dec = best(lambda: packets.decode_packet_array(buf, offsets, lengths))
assert np.array_equal(packets.decode_packet_array(buf, offsets, lengths).samples, counts)
print(json.dumps({"seconds": t_dec, "ceiling_share": t_copy / t_dec}))
"""


def _child(root: Path, code: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(root), "MPLBACKEND": "Agg"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True, cwd=root)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _cli(root: Path, capture: Path, home: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(root), "MPLBACKEND": "Agg", "TRACKER_HOME": home}
    code = "import sys; from tracker.cli.main import main; sys.argv = ['tracker', 'analyze', sys.argv[1]]; main()"
    return _timed_process([sys.executable, "-c", code, str(capture)], env, root, check=True)


def _timed_process(cmd: list[str], env: dict, root: Path, *, check: bool = False) -> dict:
    """Wall time of a child process, and its CPU time (user + system): on a shared machine the
    CPU time moves far less with other people's load than the wall time does."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, capture_output=True, env=env, check=check, cwd=root)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"seconds": wall, "cpu_seconds": cpu}


def _cli_help(root: Path, home: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(root), "TRACKER_HOME": home}
    code = "import sys; from tracker.cli.main import main; sys.argv = ['tracker', '--help']; main()"
    return _timed_process([sys.executable, "-c", code], env, root)


def _simulate(minutes: float, rate: int, path: Path) -> None:
    code = (
        "import numpy as np, sys\n"
        "from tracker.simulate import random_script, simulate_session\n"
        f"sim = simulate_session(random_script(77, posture='mixed', duration_s={minutes} * 60.0), seed=77, sampling_rate_hz={rate})\n"
        "r = sim.recording\n"
        f"np.savez({str(path)!r}, t=r.t_s, acc=r.acc_m_s2, gyr=r.gyr_rad_s, rate=r.sampling_rate_hz, counts=sim.counts)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})


def _capture(npz: Path, path: Path) -> None:
    code = (
        "import numpy as np\n"
        "from tracker.capture import write_capture_from_counts\n"
        f"d = np.load({str(npz)!r})\n"
        f"write_capture_from_counts({str(path)!r}, d['counts'], float(d['rate']))\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})


def _compare(name: str, rounds: int, run) -> dict:
    base, this = [], []
    for _ in range(rounds):
        base.append(run("baseline"))
        this.append(run("this"))
    tb = [r["seconds"] for r in base]
    tt = [r["seconds"] for r in this]
    pairs = [b / a for a, b in zip(tb, tt, strict=True)]
    row = {
        "case": name,
        "baseline_s": statistics.median(tb),
        "this_s": statistics.median(tt),
        "ratio": statistics.median(tt) / statistics.median(tb),
        "ratio_min": min(pairs),
        "ratio_max": max(pairs),
    }
    if "cpu_seconds" in this[0]:
        cb = [r["cpu_seconds"] for r in base]
        ct = [r["cpu_seconds"] for r in this]
        cpu_pairs = [b / a for a, b in zip(cb, ct, strict=True)]
        row.update(cpu_base=statistics.median(cb), cpu_this=statistics.median(ct),
                   cpu_ratio=statistics.median(ct) / statistics.median(cb),
                   cpu_min=min(cpu_pairs), cpu_max=max(cpu_pairs))  # fmt: skip
    if "ceiling_share" in this[0]:
        row["ceiling_base"] = statistics.median(r["ceiling_share"] for r in base)
        row["ceiling_this"] = statistics.median(r["ceiling_share"] for r in this)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", type=Path, required=True, help="a checkout of the version to compare with")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--cases", default="analysis_2h,analysis_30min,cli_30min,cli_help,decode")
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "tracker-speed-ratio")
    args = ap.parse_args()
    roots = {"baseline": args.baseline.resolve(), "this": ROOT}
    args.cache.mkdir(parents=True, exist_ok=True)
    rows = []
    for case in args.cases.split(","):
        if case.startswith("analysis"):
            minutes, rate = (120, 400) if case == "analysis_2h" else (30, 100)
            npz = args.cache / f"session_{minutes}min_{rate}hz.npz"
            if not npz.exists():
                _simulate(minutes, rate, npz)
            code = ANALYSIS.format(cache=str(npz))
            rows.append(_compare(f"analysis {minutes} min @ {rate} Hz", args.rounds, lambda side, c=code: _child(roots[side], c)))
        elif case == "cli_30min":
            npz = args.cache / "session_30min_100hz.npz"
            if not npz.exists():
                _simulate(30, 100, npz)
            capture = args.cache / "session_30min_100hz.capture"
            if not capture.exists():
                _capture(npz, capture)
            with tempfile.TemporaryDirectory() as home:
                _cli(roots["this"], capture, home)  # file cache warm for both
                rows.append(_compare("tracker analyze 30 min @ 100 Hz (whole process)", args.rounds,
                                     lambda side, h=home, c=capture: _cli(roots[side], c, h)))
        elif case == "cli_help":
            with tempfile.TemporaryDirectory() as home:
                rows.append(_compare("tracker --help (whole process)", args.rounds,
                                     lambda side, h=home: _cli_help(roots[side], h)))
        elif case == "decode":
            rows.append(_compare("decode 2 h @ 400 Hz, short last packet", args.rounds,
                                 lambda side: _child(roots[side], DECODE)))
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; {args.rounds} rounds, interleaved\n")
    print("| case | baseline (median) | this (median) | ratio | ratio per round (noise) |")
    print("|---|---|---|---|---|")
    for r in rows:
        extra = ""
        if "ceiling_this" in r:
            extra = f"; share of a frombuffer copy: {r['ceiling_base']:.2f} -> {r['ceiling_this']:.2f}"
        if "cpu_this" in r:
            extra = (f"; CPU time {r['cpu_base']:.3f} s -> {r['cpu_this']:.3f} s, **{r['cpu_ratio']:.2f}x** "
                     f"({r['cpu_min']:.2f}-{r['cpu_max']:.2f})")
        print(f"| {r['case']} | {r['baseline_s']:.3f} s | {r['this_s']:.3f} s | **{r['ratio']:.2f}x** | {r['ratio_min']:.2f}-{r['ratio_max']:.2f}{extra} |")


if __name__ == "__main__":
    main()

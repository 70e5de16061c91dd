"""Reading hostile captures: time to read an 8 MiB file whatever its bytes (issue 10, item 1).

Each file is a short intact capture followed by hostile bytes, to the size asked:

- sync-every-9: a sync marker `A5 5A` every 9 bytes, each claiming a length that reaches near the
  end of the file (every one of them a CRC over the rest of the file for a naive reader);
- sync-random-lengths: the same markers with random plausible lengths (up to 1 MiB);
- random: uniformly random bytes (a sync marker every 64 kB by chance);
- tiny-spans: a damaged span every 32 bytes: 8 garbage bytes before a tiny intact record;
- zeros: nothing but zero bytes;
- intact: no damage at all, a capture of the size asked (400 Hz, MTU 247): the everyday case, to
  show it did not get slower.

The reader of this tree (`read_capture`, then `load_capture` with the decode) is timed against
the reader before this work (`--before`, a git revision: its `tracker/capture/reader.py`, loaded
beside the current one), interleaved in one run. The old reader is quadratic on the sync-marker
tails, so where it took more than a second at `--before-max-mib` its 8 MiB time is extrapolated
(x², said so in the output) rather than waited for; elsewhere it is measured.

Run: python benchmarks/hostile_capture.py [--mib 8] [--before 759fe69] [--before-max-mib 1]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tracker.capture import format as fmt  # noqa: E402
from tracker.capture import (  # noqa: E402
    load_capture,
    read_capture,
    resync,  # noqa: E402
    write_capture_from_counts,
)
from tracker.errors import TrackerError  # noqa: E402

KINDS = ("intact", "sync-every-9", "sync-random-lengths", "random", "tiny-spans", "zeros")


def _head(tmp: Path) -> bytes:
    counts = (np.arange(100 * 30 * 6) % 400).astype(np.int16).reshape(-1, 6)
    cap = write_capture_from_counts(tmp / "head.capture", counts, 100)
    return cap.path.read_bytes()


def _tail(kind: str, n: int, rng: np.random.Generator) -> bytes:
    if kind == "zeros":
        return bytes(n)
    out = bytearray(rng.integers(0, 256, n, dtype=np.uint8).tobytes())
    if kind == "sync-every-9":
        for k in range(0, n - 8, 9):
            out[k : k + 7] = fmt.SYNC + b"\x02" + max(0, n - k - 64).to_bytes(4, "little")
    elif kind == "sync-random-lengths":
        lengths = rng.integers(0, 1 << 20, n // 9 + 1)
        for i, k in enumerate(range(0, n - 8, 9)):
            out[k : k + 7] = fmt.SYNC + b"\x02" + int(lengths[i]).to_bytes(4, "little")
    elif kind == "tiny-spans":
        record = fmt.encode_record(fmt.RecordType.NOTIFICATIONS, 0, fmt.BLOCK_HEAD.pack(1, 0))  # intact, empty
        step = 8 + len(record)
        for k in range(0, n - step, step):
            out[k + 8 : k + step] = record
    return bytes(out)


def _old_reader(rev: str):
    """The reader module as it was at `rev`, importable beside the current one."""
    source = subprocess.run(
        ["git", "show", f"{rev}:tracker/capture/reader.py"], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    path = Path(tempfile.mkdtemp()) / "reader_before.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("tracker.capture.reader_before", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _timed(fn, path: Path) -> tuple[float, float]:
    """(wall, CPU) seconds: the machine is shared, so CPU time is the steadier of the two."""
    t, c = time.perf_counter(), time.process_time()
    with contextlib.suppress(TrackerError):  # a one-line error is a fine answer: time is what counts
        fn(path)
    return time.perf_counter() - t, time.process_time() - c


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mib", type=float, default=8.0)
    ap.add_argument("--before", default="759fe69", help="git revision of the reader to compare with")
    ap.add_argument("--before-max-mib", type=float, default=1.0)
    ap.add_argument("--kinds", nargs="*", choices=KINDS)
    args = ap.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, numpy {np.__version__}")
    old = _old_reader(args.before)
    t = time.process_time()
    resync.shift_many(np.zeros(1, np.uint32), np.ones(1, np.int64))
    print(f"one-time table build for the vectorised CRC check: {time.process_time() - t:.3f} s CPU")
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        head = _head(tmp)
        sizes = sorted({0.5, args.before_max_mib, args.mib})
        print("times in CPU seconds (wall seconds in brackets); before/now is the ratio of CPU times")
        print(f"{'tail':20} {'MiB':>4} {'read now':>13} {'load now':>13} {'read before':>16} {'before/now':>10}")
        for kind in args.kinds or KINDS:
            before_at: tuple[float, float] | None = None
            for mib in sizes:
                n = int(mib * 1024 * 1024) - len(head)
                path = tmp / f"{kind}.capture"
                if kind == "intact":
                    samples = int(mib * 1024 * 1024 / 13.2)
                    counts = (np.arange(samples * 6) % 1000).astype(np.int16).reshape(-1, 6)
                    write_capture_from_counts(tmp / "intact-new.capture", counts, 400)
                    os.replace(tmp / "intact-new.capture", path)
                else:
                    path.write_bytes(head + _tail(kind, n, rng))
                now = min((_timed(read_capture, path) for _ in range(2)), key=lambda x: x[1])
                load = _timed(load_capture, path)
                if mib <= args.before_max_mib or (before_at is not None and before_at[1] < 1.0):
                    wall, before = _timed(old.read_capture, path)
                    before_at = (mib, before)
                    note = f"{before:8.2f} ({wall:5.1f})"
                else:
                    m0, t0 = before_at
                    before = t0 * (mib / m0) ** 2
                    note = f"~{before:.0f} (x² of {m0:g} MiB)"
                print(
                    f"{kind:20} {mib:4.1f} {now[1]:6.3f} ({now[0]:4.2f}) {load[1]:6.3f} ({load[0]:4.2f}) "
                    f"{note:>16} {before / max(now[1], 1e-3):10.0f}"
                )


if __name__ == "__main__":
    main()

"""Decode speed of the Polar (PMD) path: frames per second, samples per second, µs per frame.

Two realistic streams of an hour each, built with the emulated sensors' encoder:

- a Polar H10: ACC at 200 Hz in raw frames of type 1, 36 samples each (a full 232-byte MTU);
- a Polar Verity Sense: ACC and GYRO at 52 Hz in delta-compressed frames (0x80), 13 samples each.

Measured: `decode_frame` alone; the live path (`PmdStreamDecoder.feed`, one frame per call:
median and p99 µs; the H10 sends about 6 frames a second, the Verity 8); and a whole capture
(written with `CaptureWriter`, then `load_capture`: read, decode, align, ImuRecording).

Run: python benchmarks/pmd_decode.py [--minutes M]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tracker.capture import CaptureWriter, load_capture  # noqa: E402
from tracker.protocol import pmd, pmd_sensor  # noqa: E402
from tracker.protocol.pmd_stream import PmdStreamDecoder  # noqa: E402

T0 = 599_616_000_000_000_000


def frames(name: str, minutes: float, rate: int, per_frame: int, ftype: int, compressed: bool, phase: float = 0.0):
    rng = np.random.default_rng(1)
    n = int(minutes * 60 * rate) // per_frame * per_frame
    walk = np.cumsum(rng.integers(-40, 41, (n, 3)), axis=0) % 4000 - 2000  # smooth-ish motion
    period = 1e9 / rate
    out = []
    for k in range(0, n, per_frame):
        ts = T0 + round((k + per_frame - 1 + phase) * period)
        out.append((ts, pmd_sensor.encode_frame(name, ts, ftype, walk[k : k + per_frame].tolist(), compressed=compressed)))
    return n, out


def sensors(minutes: float) -> dict[str, tuple[int, list[bytes], dict]]:
    n_h10, h10 = frames("ACC", minutes, 200, 36, 1, False)
    n_acc, acc = frames("ACC", minutes, 52, 13, 0, True)
    _, gyr = frames("GYRO", minutes, 52, 13, 0, True, phase=0.5)
    verity = [p for _, p in sorted(acc + gyr, key=lambda f: f[0])]
    return {
        "polar-h10": (n_h10, [p for _, p in h10], {"ACC": {"sample_rate": 200, "factor": 1.0}}),
        "polar-verity": (
            n_acc,
            verity,
            {"ACC": {"sample_rate": 52, "factor": 8 / 32768}, "GYRO": {"sample_rate": 52, "factor": 2000 / 32768}},
        ),
    }


def measure(kind: str, n: int, payloads: list[bytes], settings: dict) -> None:
    t = time.perf_counter()
    decoded = sum(len(pmd.decode_frame(p, sample_rate_hz=200).samples) for p in payloads[:2000])
    per_frame = (time.perf_counter() - t) / min(2000, len(payloads))
    print(f"{kind}: {len(payloads)} frames, {n} samples per stream")
    print(f"  decode_frame: {1e6 * per_frame:.1f} µs per frame ({decoded / 2000 / per_frame / 1e3:.0f} k samples/s)")

    measurements = tuple(settings)
    dec = PmdStreamDecoder(measurements, settings, keep_samples=False)
    lat = np.empty(len(payloads))
    for i, p in enumerate(payloads):
        a = time.perf_counter_ns()
        dec.feed(p, i * 0.1)
        lat[i] = (time.perf_counter_ns() - a) / 1e3
    print(f"  live feed(): median {np.median(lat):.0f} µs, p99 {np.percentile(lat, 99):.0f} µs per frame")

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.capture"
        header = {
            "sensor": {"driver": kind},
            "settings": {"sample_rate_hz": settings["ACC"]["sample_rate"], "accel_range_g": 8, "gyro_range_dps": 2000, "pmd": settings},
        }
        with CaptureWriter(path, header, background_flush=False, fsync=False) as w:
            for i, p in enumerate(payloads):
                w.write_notification(10**9 + i * 10**8, p)
        t = time.perf_counter()
        rec = load_capture(path)
        dt = time.perf_counter() - t
        size = path.stat().st_size
    print(
        f"  load_capture: {dt:.2f} s for {len(rec)} samples ({len(rec) / dt / 1e3:.0f} k samples/s, "
        f"{n / (settings['ACC']['sample_rate'] * 60):.0f} min of session; file {size / 1e6:.1f} MB)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=60.0)
    args = ap.parse_args()
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    for kind, (n, payloads, settings) in sensors(args.minutes).items():
        measure(kind, n, payloads, settings)


if __name__ == "__main__":
    main()

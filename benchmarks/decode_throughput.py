"""Decode throughput of the protocol layer, in samples per second.

A realistic stream: 2 h at 400 Hz (2.88 million samples) of random int16 counts, in MTU-247
packets (19 samples, 151,579 notifications) and in MTU-23 packets (1 sample, 2.88 million
notifications). Measured paths:

- batch decode of a contiguous buffer (`decode_packet_array`: what a capture replay does),
- batch decode of a list of bytes objects (`decode_data_packets`),
- the full stream decoder (`StreamDecoder.feed_many`: unwrap, gaps, duplicates, drift, scaling),
- a whole capture file: write it, then `load_capture` (read + decode + ImuRecording),
- the live path, one notification per `feed` call: median and p99 µs per notification
  (targets: < 40 µs for a 1-sample notification, < 60 µs for a 19-sample one),
- the capture writer on the live path: `write_notification` latency at 400 Hz while its background
  thread writes and fsyncs every 0.5 s (the call must never wait for the disk).

Run: python benchmarks/decode_throughput.py [--minutes M]
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

from tracker.capture import (  # noqa: E402
    CaptureWriter,
    host_time_ns,
    load_capture,
    write_capture_from_counts,
)
from tracker.protocol import packets, spec  # noqa: E402
from tracker.protocol.stream import StreamDecoder  # noqa: E402

RATE = 400


def best_of(fn, repeat=3):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def run_mtu(counts: np.ndarray, mtu: int) -> None:
    n = len(counts)
    pk = packets.encode_stream(counts, RATE, mtu)
    spp = spec.samples_per_packet(mtu)
    host = (np.arange(len(pk)) * spp + spp - 1) / RATE + 0.01
    blob = b"".join(pk)
    buf = np.frombuffer(blob, np.uint8)
    lengths = np.fromiter(map(len, pk), np.int64, len(pk))
    offsets = np.concatenate([[0], np.cumsum(lengths[:-1])])
    print(f"\nMTU {mtu}: {len(pk):,} notifications of {spp} samples")

    t, batch = best_of(lambda: packets.decode_packet_array(buf, offsets, lengths))
    assert np.array_equal(batch.samples, counts)
    print(f"  decode_packet_array (contiguous buffer): {n / t / 1e6:8.2f} M samples/s  ({t:.3f} s)")
    t, _ = best_of(lambda: packets.decode_data_packets(pk))
    print(f"  decode_data_packets (list of bytes):     {n / t / 1e6:8.2f} M samples/s  ({t:.3f} s)")

    def stream():
        dec = StreamDecoder(RATE)
        chunk = 1 << 16
        for a in range(0, len(pk), chunk):
            dec.feed_array(buf, offsets[a : a + chunk], lengths[a : a + chunk], host[a : a + chunk])
        return dec

    t, dec = best_of(stream, repeat=2)
    assert dec.stats.samples == n and dec.stats.lost_samples == 0
    print(f"  StreamDecoder.feed_array (64k chunks):   {n / t / 1e6:8.2f} M samples/s  ({t:.3f} s)")

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.cap"
        t0 = time.perf_counter()
        write_capture_from_counts(path, counts, RATE, att_mtu=mtu, battery_pct=None)
        tw = time.perf_counter() - t0
        size = path.stat().st_size
        t, rec = best_of(lambda: load_capture(path), repeat=1)
        assert len(rec) == n
        print(
            f"  capture file {size / 1e6:.1f} MB ({size / n:.1f} B/sample), written in {tw:.2f} s"
        )
        print(
            f"  load_capture (read + decode + recording): {n / t / 1e6:8.2f} M samples/s  ({t:.3f} s)"
        )

    target_us = 40 if spp == 1 else 60
    for keep in (False, True):
        live = StreamDecoder(RATE, keep_samples=keep)
        m = min(len(pk), 20000)
        lat = np.empty(m)
        for i in range(m):
            t0 = time.perf_counter()
            live.feed(pk[i], host[i])
            lat[i] = time.perf_counter() - t0
        assert live.stats.samples == min(n, m * spp)
        print(
            f"  live feed() (keep_samples={keep!s:5}): median {np.median(lat) * 1e6:5.1f} µs, "
            f"p99 {np.percentile(lat, 99) * 1e6:5.1f} µs per notification (target < {target_us} µs; "
            f"{np.sum(lat) / m * RATE / spp * 100:.2f} % of one core at {RATE} Hz)"
        )


def run_writer(seconds: float = 5.0) -> None:
    """write_notification latency at the live rate with the default flush policy (fsync on)."""
    one = np.zeros((1, 6), np.int16)
    settings = {"sample_rate_hz": RATE, "accel_range_g": 4, "gyro_range_dps": 500}
    with tempfile.TemporaryDirectory(dir=Path.home()) as tmp:  # a real disk, not a tmpfs
        w = CaptureWriter(Path(tmp) / "lat.cap", {"settings": settings})
        m = int(seconds * RATE)
        lat = np.empty(m)
        start = time.monotonic()
        for i in range(m):
            delay = start + i / RATE - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            p = packets.encode_data_packet(i, i * 2500, one)
            t0 = time.perf_counter()
            w.write_notification(host_time_ns(), p)
            lat[i] = time.perf_counter() - t0
        w.close()
    q = np.percentile(lat, [50, 99, 99.9]) * 1e6
    print(
        f"\nCaptureWriter.write_notification at {RATE} Hz for {seconds:g} s (background fsync every "
        f"0.5 s): median {q[0]:.1f} µs, p99 {q[1]:.0f} µs, p99.9 {q[2]:.0f} µs, max {lat.max() * 1e3:.2f} ms"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=120.0)
    args = ap.parse_args()
    n = int(args.minutes * 60 * RATE)
    counts = np.random.default_rng(0).integers(-32768, 32768, (n, 6)).astype(np.int16)
    print(f"python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} cores")
    print(f"stream: {args.minutes:g} min at {RATE} Hz = {n:,} samples")
    for mtu in (247, 23):
        run_mtu(counts, mtu)
    run_writer()


if __name__ == "__main__":
    main()

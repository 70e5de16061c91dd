"""Soak the emulated link: N minutes at 400 Hz through bleak + Bumble into a capture, zero loss.

    python benchmarks/link_soak.py [--minutes 10] [--rate 400] [--speed 1]

Streams the emulated sensor in real time (speed 1) through the same `Recorder` as `tracker record`,
then decodes the capture file from disk and checks it against the emulator's source and send log:
lost samples, duplicates, bit-exactness, the achieved sample rate. Latency is measured per data
notification, from the instant its last sample existed in the sensor (the emulator's
`due_monotonic_s`) to the moment the app has decoded it (the recorder's clock, same monotonic
clock): "notification-to-sample" latency, median and p99. A second figure starts from when the
emulator's notify call returned (`send_monotonic_s`, a lower bound that excludes the sensor-side
queueing).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


async def soak(minutes: float, rate_hz: int, speed: float) -> dict[str, float]:
    from tracker.capture import decode_capture, read_capture
    from tracker.emulator import SensorConfig
    from tracker.link.driver import StreamSettings
    from tracker.link.environment import emulated_environment
    from tracker.link.recorder import Recorder

    out = Path(tempfile.mkdtemp(prefix="link-soak-")) / "soak.capture"
    wall_s = minutes * 60.0 / speed
    async with emulated_environment(seed=11, speed=speed, battery_drain_pct_per_h=1.0) as env:
        recorder = Recorder(env, out, settings=StreamSettings(sample_rate_hz=rate_hz), duration_s=wall_s)
        recorder.track_arrivals = True
        t0 = time.perf_counter()
        result = await recorder.run()
        elapsed = time.perf_counter() - t0
        sensor = env.sensor
        sent = [p for p in sensor.send_log if p.sent]
        by_key = {p.payload[:8]: p for p in sent}
        lat_due, lat_sent = [], []
        for key, t_avail in recorder.arrivals:
            packet = by_key.get(key)
            if packet is not None:
                lat_due.append(t_avail - packet.due_monotonic_s)
                lat_sent.append(t_avail - packet.send_monotonic_s)
        truth = sensor.source.counts(sent[0].sample_start, sent[-1].sample_stop, SensorConfig(rate_hz, 4, 500))
    contents = read_capture(out)
    decoder = decode_capture(contents)
    got = decoder.counts()
    stats = decoder.stats
    lat_due_ms = np.array(lat_due) * 1e3
    lat_sent_ms = np.array(lat_sent) * 1e3
    t = decoder.t_sensor_s()
    report = {
        "minutes_requested": minutes,
        "sensor_seconds": float(t[-1] - t[0]) if len(t) else 0.0,
        "wall_seconds": elapsed,
        "samples": int(len(got)),
        "samples_sent": int(len(truth)),
        "lost_samples": int(stats.lost_samples),
        "duplicates": int(stats.duplicates),
        "malformed": int(stats.malformed_total),
        "bit_exact": bool(got.shape == truth.shape and np.array_equal(got, truth)),
        "rate_hz_achieved": float(len(got) / (t[-1] - t[0] + 1.0 / rate_hz)) if len(t) > 1 else 0.0,
        "notifications": int(result.notifications),
        "reconnects": int(result.reconnects),
        "latency_ms_median": float(np.median(lat_due_ms)) if len(lat_due_ms) else float("nan"),
        "latency_ms_p99": float(np.percentile(lat_due_ms, 99)) if len(lat_due_ms) else float("nan"),
        "latency_from_send_ms_median": float(np.median(lat_sent_ms)) if len(lat_sent_ms) else float("nan"),
        "latency_from_send_ms_p99": float(np.percentile(lat_sent_ms, 99)) if len(lat_sent_ms) else float("nan"),
        "capture_bytes": out.stat().st_size,
    }
    out.unlink()
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=int, default=400)
    parser.add_argument("--speed", type=float, default=1.0, help="emulator time scale (1 = real time)")
    args = parser.parse_args()
    report = asyncio.run(soak(args.minutes, args.rate, args.speed))
    print(f"link soak: {args.minutes:g} min at {args.rate} Hz, speed {args.speed:g}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}")
    for key, value in report.items():
        print(f"  {key:32s} {value:.3f}" if isinstance(value, float) else f"  {key:32s} {value}")
    ok = report["lost_samples"] == 0 and report["duplicates"] == 0 and report["bit_exact"]
    print("PASS: zero loss, bit exact" if ok else "FAIL: loss, duplicates or mismatch")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

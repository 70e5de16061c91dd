"""`tracker replay --realtime` paces a capture by the session's own time (the sensor timestamps),
so a capture written faster than real time still plays at its real pace times --speed."""

from __future__ import annotations

import asyncio
import time

import numpy as np

from tracker.capture import CaptureWriter, load_capture, read_capture
from tracker.link.replay import replay_capture
from tracker.protocol import packets


def _fast_capture(path, rate_hz: int = 50, seconds: float = 20.0) -> float:
    counts = (
        np.random.default_rng(1).integers(-3000, 3000, (int(rate_hz * seconds), 6)).astype(np.int16)
    )
    settings = {"sample_rate_hz": rate_hz, "accel_range_g": 4, "gyro_range_dps": 500}
    with CaptureWriter(path, {"settings": settings}, background_flush=False, fsync=False) as w:
        for i, payload in enumerate(packets.encode_stream(counts, rate_hz, 83)):
            w.write_notification(1_000_000_000 + i * 10_000, payload)  # 10 µs apart: "instant"
    return (len(counts) - 1) / rate_hz


def test_fast_written_capture_replays_at_session_pace(tmp_path):
    path = tmp_path / "fast.capture"
    duration = _fast_capture(path)
    imu = read_capture(path).imu
    assert (imu.host_time_ns[-1] - imu.host_time_ns[0]) / 1e9 < 0.01  # the premise: compressed
    blocks = []
    t0 = time.monotonic()
    report = asyncio.run(
        replay_capture(path, realtime=True, speed=50.0, analyze=False, on_block=blocks.append)
    )
    wall = time.monotonic() - t0
    assert wall >= 0.5 * duration / 50.0, wall
    assert report.samples == len(load_capture(path))
    assert sum(len(b) for b in blocks) == report.samples

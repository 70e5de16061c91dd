"""A capture written faster than real time (fixtures, demos, a replayed upload) keeps its blocks
small too: a few damaged bytes cost about a second of samples, never a minute."""

from __future__ import annotations

import numpy as np
import pytest

from tracker.capture import CaptureWriter, load_capture, read_capture
from tracker.protocol import packets, spec


def fast_capture(path, rate_hz: int, seconds: float, att_mtu: int, seed: int = 0) -> int:
    """Every notification written within a few ms of host time (as the fixtures were); returns the
    number of samples written."""
    n = int(rate_hz * seconds)
    counts = np.random.default_rng(seed).integers(-3000, 3000, (n, 6)).astype(np.int16)
    settings = {"sample_rate_hz": rate_hz, "accel_range_g": 4, "gyro_range_dps": 500}
    with CaptureWriter(
        path, {"sensor": {"name": "TRK-0001"}, "settings": settings},
        background_flush=False, fsync=False,
    ) as w:  # fmt: skip
        for i, payload in enumerate(packets.encode_stream(counts, rate_hz, att_mtu)):
            w.write_notification(1_000_000_000 + i * 1000, payload)
    return n


def flip_middle(path, k: int = 8) -> None:
    data = bytearray(path.read_bytes())
    mid = len(data) // 2
    for i in range(mid, mid + k):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(("rate_hz", "att_mtu"), [(50, 247), (50, 83), (400, 23), (400, 247)])
def test_eight_flipped_bytes_lose_about_a_second_at_most(tmp_path, rate_hz, att_mtu):
    path = tmp_path / "fast.capture"
    written = fast_capture(path, rate_hz, 150.0, att_mtu)
    flip_middle(path)
    c = read_capture(path)
    assert len(c.corrupt_spans) == 1
    lost_s = (written - len(load_capture(path))) / rate_hz
    # a block holds at most ~0.5 s of samples; damage can touch two blocks
    assert 0 < lost_s <= 1.0 + spec.MAX_SAMPLES_PER_PACKET / rate_hz, lost_s


def test_small_blocks_cost_little_space(tmp_path):
    """The cap must not bloat a real-rate capture: record overhead stays a few per cent."""
    path = tmp_path / "fast.capture"
    fast_capture(path, 400, 60.0, 23)
    c = read_capture(path)
    payload_bytes = int(c.imu.lengths.sum())
    per_notification = 10  # host time + length, the block's columns
    framing = path.stat().st_size - payload_bytes - per_notification * len(c.imu)
    assert framing / path.stat().st_size < 0.03, framing


def test_the_cap_follows_a_rate_change(tmp_path):
    """A settings update to a higher rate makes the blocks hold the same span of time."""
    path = tmp_path / "rate.capture"
    counts = np.zeros((2000, 6), np.int16)
    with CaptureWriter(
        path, {"settings": {"sample_rate_hz": 25, "accel_range_g": 4, "gyro_range_dps": 500}},
        background_flush=False, fsync=False,
    ) as w:  # fmt: skip
        for i, p in enumerate(packets.encode_stream(counts[:100], 25, 23)):
            w.write_notification(1000 + i, p)
        w.update_header(5000, settings={"sample_rate_hz": 400})
        for i, p in enumerate(packets.encode_stream(counts, 400, 23)):
            w.write_notification(6000 + i, p)
    c = read_capture(path)
    # 1900 of the 2000 notifications at 400 Hz (one sample each) in blocks of at most 0.5 s
    assert c.records >= 2000 / (400 * 0.5)
    assert c.records < 2000 / 20  # and not one record per notification

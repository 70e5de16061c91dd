"""Captures made from synthetic streams, for tests, fixtures and demos.

`write_capture_from_counts` packs raw counts exactly as the sensor would (sequence numbers,
timestamps, STREAM_START, samples per packet for the MTU), stamps host receive times with a
one-sided radio latency and an optional clock drift, can lose, duplicate or corrupt packets and
drop the link, and writes it all through `CaptureWriter`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tracker.capture.writer import CaptureHeader, CaptureWriter
from tracker.protocol import control, packets, spec

DEFAULT_SENSOR = {
    "name": "TRK-1A2B",
    "address": "C0:FF:EE:00:1A:2B",
    "manufacturer": "Tracker Project",
    "model": "TRK-IMU1",
    "serial": "0000C0FF1A2B",
    "firmware_revision": "1.0.0",
    "protocol_version": spec.PROTOCOL_VERSION,
}


@dataclass(frozen=True)
class SyntheticCapture:
    path: Path
    packets_sent: int
    """Packets the 'sensor' produced (before loss)."""
    packets_written: int
    """Notifications in the file (after loss and duplication, with injected ones)."""
    delivered: np.ndarray
    """(N,) bool: which samples of `counts` reached the file (in a packet that was not lost)."""
    sample_times_us: np.ndarray
    """(N,) int64: the sensor timestamp of every sample (unwrapped µs)."""


def write_capture_from_counts(
    path: str | os.PathLike[str],
    counts: np.ndarray,
    sample_rate_hz: float,
    accel_range_g: int = spec.DEFAULT_ACCEL_RANGE_G,
    gyro_range_dps: int = spec.DEFAULT_GYRO_RANGE_DPS,
    att_mtu: int = 247,
    *,
    first_timestamp_us: int = 123_456,
    start_utc_ns: int = 1_767_000_000_000_000_000,
    latency_s: tuple[float, float] = (0.004, 0.030),
    drift_ppm: float = 0.0,
    lost_packets: Iterable[int] = (),
    duplicated_packets: Iterable[int] = (),
    injected: dict[int, bytes] | None = None,
    link_drop: tuple[float, float] | None = None,
    battery_pct: tuple[int, int] | None = (95, 94),
    calibration: dict[str, Any] | None = None,
    sensor: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
    seed: int = 0,
    flush_interval_s: float = 0.5,
) -> SyntheticCapture:
    """Write `counts` ((N, 6) int16 raw ax..gz) as a capture of a sensor streaming at
    `sample_rate_hz` over a link of `att_mtu`.

    Host receive time of a packet = (its last sample's sensor time) x (1 + drift_ppm/1e6) + a
    uniform latency in `latency_s`, on a host clock whose UTC anchor is `start_utc_ns`.
    `lost_packets` / `duplicated_packets` are packet indices; `injected` maps a packet index to
    bytes sent just before it (e.g. a malformed packet). `link_drop=(at_s, for_s)` cuts the link
    at sensor time `at_s` for `for_s` seconds: packets in between are lost, and `link_lost` /
    `reconnected` events are written, and the stream restarts with STREAM_START and sequence 0
    (the sensor clock keeps running), as a reconnecting recorder would see it.
    """
    raw = np.asarray(counts, dtype=np.int16)
    n = raw.shape[0]
    period_us = 1e6 / sample_rate_hz
    spp = spec.samples_per_packet(att_mtu)
    sample_t = first_timestamp_us + (np.arange(n) * period_us).astype(np.int64)

    # cut into streams at the link drop: samples taken while the link is down are never sent
    segments: list[tuple[int, int]] = [(0, n)]
    drop_lo = drop_hi = None
    if link_drop is not None:
        at_s, for_s = link_drop
        drop_lo = int(np.searchsorted(sample_t - first_timestamp_us, at_s * 1e6))
        drop_hi = int(np.searchsorted(sample_t - first_timestamp_us, (at_s + for_s) * 1e6))
        segments = [(0, drop_lo), (drop_hi, n)]

    plist: list[bytes] = []
    pstart: list[int] = []  # first sample index of each packet
    pcount: list[int] = []
    for lo, hi in segments:
        if hi <= lo:
            continue
        pk = packets.encode_stream(
            raw[lo:hi], sample_rate_hz, att_mtu, first_timestamp_us=int(sample_t[lo])
        )
        plist += pk
        pstart += list(range(lo, hi, spp))
        pcount += [min(spp, hi - s) for s in range(lo, hi, spp)]
    pstart_a = np.array(pstart, np.int64)
    pend_t = sample_t[pstart_a + np.array(pcount) - 1] - first_timestamp_us
    rng = np.random.default_rng(seed)
    host_rel_ns = (
        pend_t * 1e3 * (1 + drift_ppm * 1e-6) + rng.uniform(*latency_s, len(plist)) * 1e9
    ).astype(np.int64)
    host0 = 10_000_000_000  # the monotonic clock's value when the first sample was taken
    host_ns = host0 + host_rel_ns

    lost = set(lost_packets)
    dups = set(duplicated_packets)
    injected = dict(injected or {})
    delivered = np.zeros(n, bool)
    header = CaptureHeader(
        sensor={**DEFAULT_SENSOR, **(sensor or {})},
        settings={
            "sample_rate_hz": sample_rate_hz,
            "accel_range_g": accel_range_g,
            "gyro_range_dps": gyro_range_dps,
            "att_mtu": att_mtu,
            "samples_per_packet": spp,
        },
        calibration=calibration,
        clock={"host_clock": "monotonic", "anchor_host_ns": host0, "anchor_utc_ns": start_utc_ns},
        extra={"synthetic": True, **(extra or {})},
    )
    written = 0
    out = Path(path)
    with CaptureWriter(
        out, header, flush_interval_s=flush_interval_s, background_flush=False, fsync=False
    ) as w:
        if battery_pct is not None:
            w.write_notification(
                host0, control.encode_battery_level(battery_pct[0]), source="battery"
            )
        drop_at_s = link_drop[0] if link_drop is not None else 0.0
        second_stream = drop_hi is not None and drop_hi < n
        for j, payload in enumerate(plist):
            t = int(host_ns[j])
            if second_stream and pstart[j] == drop_hi:
                w.write_event(
                    host0 + int(drop_at_s * 1e9), "link_lost", reason="synthetic link drop"
                )
                w.write_event(t - 1_000_000, "reconnected")
            if j in injected:
                w.write_notification(t - 1000, injected[j])
                written += 1
            if j in lost:
                continue
            w.write_notification(t, payload)
            written += 1
            delivered[pstart[j] : pstart[j] + pcount[j]] = True
            if j in dups:
                w.write_notification(t + 1000, payload)
                written += 1
        if battery_pct is not None:
            w.write_notification(
                int(host_ns[-1]) if len(host_ns) else host0,
                control.encode_battery_level(battery_pct[1]),
                source="battery",
            )
    return SyntheticCapture(out, len(plist), written, delivered, sample_t)

"""What a stream decoder delivers: blocks of timed samples, and its counters.

`stream.StreamDecoder` returns a `DecodedBlock` from each `feed` call and keeps a `DecodeStats`;
the live view and the recorder read these, a capture stores the statistics in its source.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, cast

import numpy as np


@dataclass(frozen=True)
class DecodedBlock:
    """The new samples one `feed` call delivered, in time order."""

    t_sensor_s: np.ndarray
    """(n,) float64 s: unwrapped sensor time since the decoder's first delivered sample."""
    acc_m_s2: np.ndarray
    """(n, 3) float64 m/s²: specific force in the sensor frame."""
    gyr_rad_s: np.ndarray
    """(n, 3) float64 rad/s: rotation rate in the sensor frame."""
    counts: np.ndarray
    """(n, 6) int16 raw counts ax, ay, az, gx, gy, gz as sent."""
    sequence: np.ndarray
    """(p,) uint16 sequence numbers of the packets delivered."""
    host_time_s: np.ndarray
    """(p,) float64 host receive time of those packets (the caller's clock)."""
    lost_samples_before: int
    """Samples lost in gaps between the previous block and the end of this one."""

    def __len__(self) -> int:
        return int(self.t_sensor_s.shape[0])


@dataclass(frozen=True)
class SampleBlock:
    """The new samples of a decoder whose stream carries no raw counts and no per-sample
    sequence numbers (Polar PMD frames, a phone's pushes); read as a `DecodedBlock` is."""

    t_sensor_s: np.ndarray
    """(n,) s, sensor time since the decoder's origin."""
    acc_m_s2: np.ndarray
    """(n, 3) m/s²."""
    gyr_rad_s: np.ndarray
    """(n, 3) rad/s; NaN without a gyroscope."""
    host_time_s: np.ndarray
    """(p,) host receive time of what delivered them (the caller's clock)."""
    lost_samples_before: int
    sequence: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint16))
    """Always empty: no sequence numbers in these streams."""

    def __len__(self) -> int:
        return int(self.t_sensor_s.shape[0])


class StatsSummary:
    """What every decoder's counters derive alike (mixed into their dataclasses)."""

    malformed: dict[str, int]
    samples: int
    lost_samples: int

    @property
    def malformed_total(self) -> int:
        return sum(self.malformed.values())

    @property
    def loss_fraction(self) -> float:
        total = self.samples + self.lost_samples
        return self.lost_samples / total if total else 0.0

    def to_json(self) -> dict[str, Any]:
        out = asdict(cast(Any, self))  # a dataclass: every user of this mixin is one
        out["malformed_total"] = self.malformed_total
        out["loss_fraction"] = round(self.loss_fraction, 9)
        return out


@dataclass
class DecodeStats(StatsSummary):
    """Counters of a `StreamDecoder` (all since it was created).

    Every fed notification ends up in exactly one of `malformed`, `packets_delivered`,
    `duplicates`, `out_of_order`, `implausible` (a rejected packet that later joins a
    resynchronised chain moves from `implausible`/`out_of_order` to `packets_delivered`).
    """

    packets: int = 0
    """Notifications fed."""
    packets_delivered: int = 0
    samples: int = 0
    """Samples delivered."""
    malformed: dict[str, int] = field(default_factory=dict)
    """Malformed notifications by `MalformedReason` value."""
    duplicates: int = 0
    out_of_order: int = 0
    """Packets dropped because their samples lie before the last delivered one (not duplicates),
    including packets of an abandoned candidate chain that went backwards."""
    implausible: int = 0
    """Packets dropped for an unexplained forward time jump, including packets of a candidate
    chain that was abandoned (too short to resynchronise)."""
    gaps: int = 0
    lost_samples: int = 0
    """Samples missing in gaps, from the sensor timestamps (includes time the link was down)."""
    lost_packets: int = 0
    """Packets missing according to the sequence counter (within a stream)."""
    sequence_jumps: int = 0
    """Delivered packets whose sequence number jumped in a way the timestamps contradict (no lost
    packets are counted for them)."""
    resyncs: int = 0
    """Times the decoder abandoned its chain for a new one (lost STREAM_START, clock jump)."""
    stream_starts: int = 0
    clock_resets: int = 0
    """New chains placed by host time: STREAM_START without the clock moving forward, and
    resynchronisations onto a clock that restarted or jumped."""
    timestamp_wraps: int = 0
    sensor_overflows: int = 0
    clipped_packets: int = 0
    drift_ppm: float | None = None
    """Estimated host-clock seconds per sensor-clock second, minus 1, in ppm (positive: the sensor
    clock runs slow). None until `drift_min_span_s` of data."""
    drift_trusted: bool = False
    """Whether `drift_ppm` is within `max_drift_ppm` (else it is reported but not applied)."""
    drift_note: str = ""

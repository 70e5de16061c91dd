"""Pure functions between protocol bytes and values (see firmware_protocol.md).

Everything that decodes takes untrusted radio bytes and never raises on them: a frame that does
not follow the document comes back as a `Malformed` value carrying a `MalformedReason`, its bytes
and a one-line explanation. Encoders take trusted values and raise `ValueError` on a programming
mistake.

Frames and their functions:

| frame                        | encode                       | decode                                    |
| ---------------------------- | ---------------------------- | ----------------------------------------- |
| data notification            | `encode_data_packet`         | `decode_data_packet`, `decode_data_packets` (batch) |
| a stream of samples          | `encode_stream`              | `tracker.protocol.stream.StreamDecoder`   |

The control plane (control point, status record, battery level, advertisement) is in
`tracker.protocol.control`.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tracker.protocol import spec

_HEADER = struct.Struct(spec.HEADER_FORMAT)
_STATUS = struct.Struct(spec.STATUS_FORMAT)


# --- what a bad frame is ---------------------------------------------------------------------
class MalformedReason(enum.StrEnum):
    """Why a frame was rejected. The values are stable: they key statistics and logs."""

    EMPTY = "empty"
    """Zero bytes."""
    TRUNCATED = "truncated"
    """Fewer bytes than the header, or than the header's sample count announces."""
    WRONG_VERSION = "wrong_version"
    """Byte 0 is not a protocol major version this decoder understands."""
    BAD_COUNT = "bad_count"
    """The sample count is 0 or above MAX_SAMPLES_PER_PACKET."""
    LENGTH_MISMATCH = "length_mismatch"
    """More bytes than the header's sample count announces."""
    BAD_VALUE = "bad_value"
    """A field holds a value the document does not allow (e.g. battery level above 100)."""


#: Integer codes of the reasons in batch results (0 means the packet is valid).
REASON_CODES: dict[MalformedReason, int] = {r: i + 1 for i, r in enumerate(MalformedReason)}
REASON_BY_CODE: dict[int, MalformedReason] = {v: k for k, v in REASON_CODES.items()}


@dataclass(frozen=True)
class Malformed:
    """A frame that does not follow firmware_protocol.md; never raised, always returned."""

    reason: MalformedReason
    detail: str
    payload: bytes
    version: int | None = None
    """The version byte when there was one (lets pairing raise ProtocolVersionError)."""

    @property
    def hex(self) -> str:
        return self.payload.hex(" ")

    def __str__(self) -> str:
        shown = self.payload[:LOG_HEX_BYTES].hex(" ") or "-"
        more = " ..." if len(self.payload) > LOG_HEX_BYTES else ""
        return f"{self.reason.value}: {self.detail} [{len(self.payload)} bytes: {shown}{more}]"


LOG_HEX_BYTES = 64
"""Bytes of a malformed frame shown in logs (a 5 kB garbage frame must not flood the log)."""


# --- data packets ----------------------------------------------------------------------------
@dataclass(frozen=True)
class DataPacket:
    """One decoded data notification."""

    version: int
    sequence: int
    """u16, wraps at 65536."""
    timestamp_us: int
    """Sensor clock at the first sample, µs, wraps at 2**32."""
    flags: spec.PacketFlag
    samples: np.ndarray
    """(count, 6) int16 raw counts: ax, ay, az, gx, gy, gz."""

    @property
    def count(self) -> int:
        return int(self.samples.shape[0])

    def sample_times_us(self, sample_rate_hz: float) -> np.ndarray:
        """Sensor time of each sample (µs, not wrapped): t0 + i * 1e6 / rate."""
        return self.timestamp_us + np.arange(self.count) * (1e6 / sample_rate_hz)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DataPacket):
            return NotImplemented
        return (self.version, self.sequence, self.timestamp_us, int(self.flags)) == (
            other.version,
            other.sequence,
            other.timestamp_us,
            int(other.flags),
        ) and np.array_equal(self.samples, other.samples)

    __hash__ = None  # type: ignore[assignment]


def packet_size(count: int) -> int:
    """Bytes of a data packet carrying `count` samples."""
    return spec.HEADER_SIZE + spec.SAMPLE_SIZE * count


def encode_data_packet(
    sequence: int, timestamp_us: int, samples: np.ndarray, flags: int = 0
) -> bytes:
    """One data notification.

    `samples` is an (n, 6) int16 array of raw ax, ay, az, gx, gy, gz counts, 1 <= n <= 19;
    `sequence` and `timestamp_us` are taken modulo their wrap; `flags` is a `spec.PacketFlag`.
    """
    raw = np.asarray(samples)
    if raw.ndim != 2 or raw.shape[1] != 6 or not 1 <= raw.shape[0] <= spec.MAX_SAMPLES_PER_PACKET:
        raise ValueError(f"samples must be (1..{spec.MAX_SAMPLES_PER_PACKET}, 6); got {raw.shape}")
    if flags & spec.COUNT_MASK:
        raise ValueError("flags must only use the high 3 bits of byte 1")
    header = _HEADER.pack(
        spec.PROTOCOL_VERSION,
        (raw.shape[0] & spec.COUNT_MASK) | int(flags),
        sequence % spec.SEQUENCE_WRAP,
        timestamp_us % spec.TIMESTAMP_WRAP_US,
    )
    return header + raw.astype("<i2", copy=False).tobytes()


def decode_data_packet(payload: bytes | bytearray | memoryview) -> DataPacket | Malformed:
    """One data notification from untrusted bytes; never raises."""
    data = bytes(payload)
    n = len(data)
    if n == 0:
        return Malformed(MalformedReason.EMPTY, "empty notification", data)
    if n < spec.HEADER_SIZE:
        return Malformed(
            MalformedReason.TRUNCATED,
            f"{n} bytes, shorter than the {spec.HEADER_SIZE}-byte header",
            data,
            data[0],
        )
    version, count_flags, sequence, timestamp_us = _HEADER.unpack_from(data)
    if version != spec.PROTOCOL_VERSION:
        return Malformed(
            MalformedReason.WRONG_VERSION,
            f"protocol version {version}, this decoder understands {spec.PROTOCOL_VERSION}",
            data,
            version,
        )
    count = count_flags & spec.COUNT_MASK
    if not 1 <= count <= spec.MAX_SAMPLES_PER_PACKET:
        return Malformed(
            MalformedReason.BAD_COUNT,
            f"sample count {count}, allowed 1..{spec.MAX_SAMPLES_PER_PACKET}",
            data,
            version,
        )
    expected = packet_size(count)
    if n < expected:
        return Malformed(
            MalformedReason.TRUNCATED, f"{n} bytes, {count} samples need {expected}", data, version
        )
    if n > expected:
        return Malformed(
            MalformedReason.LENGTH_MISMATCH,
            f"{n} bytes, {count} samples need exactly {expected}",
            data,
            version,
        )
    samples = (
        np.frombuffer(data, dtype="<i2", offset=spec.HEADER_SIZE).reshape(count, 6).astype(np.int16)
    )
    return DataPacket(
        version, sequence, timestamp_us, spec.PacketFlag(count_flags & ~spec.COUNT_MASK), samples
    )


@dataclass(frozen=True)
class PacketBatch:
    """Many data notifications decoded at once (`decode_data_packets`), in arrival order.

    Per packet (P,): `reason` (0 = valid, else a key of `REASON_BY_CODE`), `version`, `count`,
    `flags`, `sequence`, `timestamp_us` (the header fields are 0 where the packet was too short to
    hold them), `sample_start` (index of the packet's first sample in `samples`; valid packets only
    own samples). `samples` is (S, 6) int16 raw counts of every valid packet, in packet order.
    """

    reason: np.ndarray
    version: np.ndarray
    count: np.ndarray
    flags: np.ndarray
    sequence: np.ndarray
    timestamp_us: np.ndarray
    sample_start: np.ndarray
    samples: np.ndarray

    @property
    def valid(self) -> np.ndarray:
        return self.reason == 0

    def __len__(self) -> int:
        return int(self.reason.shape[0])


def _header_dtype(count: int) -> np.dtype:
    return np.dtype(
        [
            ("version", "u1"),
            ("count_flags", "u1"),
            ("sequence", "<u2"),
            ("timestamp_us", "<u4"),
            ("samples", "<i2", (count, 6)),
        ]
    )


_DTYPES = {k: _header_dtype(k) for k in range(1, spec.MAX_SAMPLES_PER_PACKET + 1)}


def decode_packet_array(
    buffer: np.ndarray, offsets: np.ndarray, lengths: np.ndarray
) -> PacketBatch:
    """Decode the packets found at `buffer[offsets[i] : offsets[i] + lengths[i]]`, vectorised.

    `buffer` is a 1-D uint8 array (for example a whole capture file), `offsets`/`lengths` are (P,)
    integer arrays that must lie inside it (the caller's framing guarantees that; it is checked).
    Packets of the same length are decoded together by one `frombuffer` view, so the cost is a few
    numpy operations per distinct length, not per packet.
    """
    buf = np.asarray(buffer, dtype=np.uint8).reshape(-1)
    off = np.asarray(offsets, dtype=np.int64).reshape(-1)
    ln = np.asarray(lengths, dtype=np.int64).reshape(-1)
    p = off.shape[0]
    if ln.shape[0] != p:
        raise ValueError("offsets and lengths must have the same length")
    if p and (off.min() < 0 or ln.min() < 0 or (off + ln).max() > buf.shape[0]):
        raise ValueError("a packet lies outside the buffer")

    if p and ln.min() >= 2:  # the usual case: every packet has the first two bytes
        version = buf[off]
        count_flags = buf[off + 1]
    else:
        version = np.zeros(p, np.uint8)
        count_flags = np.zeros(p, np.uint8)
        has1 = ln >= 1
        has2 = ln >= 2
        version[has1] = buf[off[has1]]
        count_flags[has2] = buf[off[has2] + 1]
    count = count_flags & spec.COUNT_MASK

    reason = np.zeros(p, np.uint8)
    expected = spec.HEADER_SIZE + spec.SAMPLE_SIZE * count.astype(np.int64)
    # Checked in reverse order of precedence so the first failing check wins (as in the scalar path).
    reason[ln > expected] = REASON_CODES[MalformedReason.LENGTH_MISMATCH]
    reason[ln < expected] = REASON_CODES[MalformedReason.TRUNCATED]
    reason[(count == 0) | (count > spec.MAX_SAMPLES_PER_PACKET)] = REASON_CODES[
        MalformedReason.BAD_COUNT
    ]
    reason[version != spec.PROTOCOL_VERSION] = REASON_CODES[MalformedReason.WRONG_VERSION]
    reason[ln < spec.HEADER_SIZE] = REASON_CODES[MalformedReason.TRUNCATED]
    reason[ln == 0] = REASON_CODES[MalformedReason.EMPTY]

    valid = reason == 0
    n_samples = np.where(valid, count, 0).astype(np.int64)
    sample_start = np.zeros(p, np.int64)
    if p:
        np.cumsum(n_samples[:-1], out=sample_start[1:])
    total = int(n_samples.sum())
    samples = np.empty((total, 6), np.int16)
    sequence = np.zeros(p, np.uint16)
    timestamp = np.zeros(p, np.uint32)

    # Header fields of invalid packets that still have a whole header (useful in logs and stats).
    hdr_only = (~valid) & (ln >= spec.HEADER_SIZE)
    if hdr_only.any():
        idx = off[hdr_only][:, None] + np.arange(spec.HEADER_SIZE)
        rows = np.ascontiguousarray(buf[idx]).view(_HEADER_ONLY).reshape(-1)
        sequence[hdr_only] = rows["sequence"]
        timestamp[hdr_only] = rows["timestamp_us"]

    if total:
        for k in np.unique(count[valid]):
            _copy_samples(buf, off, valid & (count == int(k)), int(k), sample_start, samples, sequence, timestamp)

    return PacketBatch(
        reason=reason,
        version=version,
        count=count,
        flags=count_flags & ~np.uint8(spec.COUNT_MASK),
        sequence=sequence,
        timestamp_us=timestamp,
        sample_start=sample_start,
        samples=samples,
    )


_MAX_RUNS = 64
"""Packets of one length that lie in this many runs or fewer are copied run by run; more (a
stream that mixes lengths packet by packet) are gathered and scattered at once."""


def _copy_samples(
    buf: np.ndarray,
    off: np.ndarray,
    mask: np.ndarray,
    k: int,
    sample_start: np.ndarray,
    samples: np.ndarray,
    sequence: np.ndarray,
    timestamp: np.ndarray,
) -> None:
    """Samples and header fields of the valid packets of `k` samples (`mask`) into the outputs.

    Consecutive packets of one length that follow each other in the buffer (a stream is mostly
    that: full packets, a shorter last one, a damaged one here and there) are one contiguous
    block in and one contiguous block out: a run is copied with one `frombuffer` view and one
    slice assignment, which keeps the decode near the speed of a plain copy whatever the mix."""
    sel = np.flatnonzero(mask)
    size = packet_size(k)
    o = off[sel]
    breaks = np.flatnonzero((np.diff(sel) != 1) | (np.diff(o) != size)) + 1
    if len(breaks) + 1 <= _MAX_RUNS:
        bounds = np.concatenate([[0], breaks, [len(sel)]])
        for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
            m = b - a
            rows = buf[o[a] : o[a] + m * size].view(_DTYPES[k])
            p0 = int(sel[a])  # the run is packets p0 .. p0 + m - 1
            sequence[p0 : p0 + m] = rows["sequence"]
            timestamp[p0 : p0 + m] = rows["timestamp_us"]
            first = int(sample_start[p0])
            # one strided copy straight into place (no contiguous temporary)
            samples[first : first + m * k].reshape(m, k, 6)[...] = rows["samples"]
        return
    # gather, in chunks so the index array stays small (~8 MB), then scatter
    m = len(sel)
    rows_u8 = np.empty(m * size, np.uint8)
    step = max(1, (1 << 20) // size)
    cols = np.arange(size)
    for a in range(0, m, step):
        b = min(m, a + step)
        rows_u8[a * size : b * size] = buf[(o[a:b, None] + cols).reshape(-1)]
    rows = rows_u8.view(_DTYPES[k]).reshape(m)
    sequence[sel] = rows["sequence"]
    timestamp[sel] = rows["timestamp_us"]
    dest = (sample_start[sel][:, None] + np.arange(k)).reshape(-1)
    samples[dest] = rows["samples"].reshape(-1, 6)


_HEADER_ONLY = np.dtype(
    [("version", "u1"), ("count_flags", "u1"), ("sequence", "<u2"), ("timestamp_us", "<u4")]
)


def decode_data_packets(payloads: Sequence[bytes]) -> PacketBatch:
    """Decode a batch of data notifications (bytes-like objects), vectorised; never raises."""
    if len(payloads) == 1:  # the live path: one notification per call; struct beats numpy here
        return _batch_of_one(payloads[0])
    lengths = np.fromiter(map(len, payloads), dtype=np.int64, count=len(payloads))
    offsets = np.zeros(len(payloads), np.int64)
    if len(payloads):
        np.cumsum(lengths[:-1], out=offsets[1:])
    blob = b"".join(payloads)
    return decode_packet_array(np.frombuffer(blob, np.uint8), offsets, lengths)


def _batch_of_one(payload: bytes) -> PacketBatch:
    one = decode_data_packet(payload)
    zero = np.zeros(1, np.int64)
    if isinstance(one, Malformed):
        data = bytes(payload)
        header = _HEADER.unpack_from(data) if len(data) >= spec.HEADER_SIZE else (0, 0, 0, 0)
        version = data[0] if data else 0
        count_flags = data[1] if len(data) > 1 else 0
        return PacketBatch(
            reason=np.array([REASON_CODES[one.reason]], np.uint8),
            version=np.array([version], np.uint8),
            count=np.array([count_flags & spec.COUNT_MASK], np.uint8),
            flags=np.array([count_flags & ~spec.COUNT_MASK & 0xFF], np.uint8),
            sequence=np.array([header[2]], np.uint16),
            timestamp_us=np.array([header[3]], np.uint32),
            sample_start=zero,
            samples=np.empty((0, 6), np.int16),
        )
    return PacketBatch(
        reason=np.zeros(1, np.uint8),
        version=np.array([one.version], np.uint8),
        count=np.array([one.count], np.uint8),
        flags=np.array([int(one.flags)], np.uint8),
        sequence=np.array([one.sequence], np.uint16),
        timestamp_us=np.array([one.timestamp_us], np.uint32),
        sample_start=zero,
        samples=one.samples,
    )


def encode_stream(
    counts: np.ndarray,
    sample_rate_hz: float,
    att_mtu: int = 247,
    *,
    first_sequence: int = 0,
    first_timestamp_us: int = 0,
    stream_start: bool = True,
    samples_per_packet: int | None = None,
) -> list[bytes]:
    """Cut (N, 6) int16 `counts` into data notifications as the sensor does, vectorised.

    Sample i is taken at `first_timestamp_us + i * 1e6 / rate` (rounded down to whole µs, as a
    sensor with an integer µs clock would stamp it); packet j carries samples [j*spp, (j+1)*spp),
    sequence `first_sequence + j`; the first packet has STREAM_START when `stream_start`, a packet
    with a value at either end of the int16 range has CLIPPED. The last packet may be shorter. `samples_per_packet` defaults to what `att_mtu` allows.
    """
    raw = np.asarray(counts)
    if raw.ndim != 2 or raw.shape[1] != 6:
        raise ValueError(f"counts must be (N, 6); got {raw.shape}")
    spp = samples_per_packet or spec.samples_per_packet(att_mtu)
    if not 1 <= spp <= spec.MAX_SAMPLES_PER_PACKET:
        raise ValueError(f"samples_per_packet must be 1..{spec.MAX_SAMPLES_PER_PACKET}")
    n = raw.shape[0]
    full = n // spp
    packets: list[bytes] = []
    if full:
        arr = np.zeros(full, _DTYPES[spp])
        index = np.arange(full, dtype=np.int64)
        arr["version"] = spec.PROTOCOL_VERSION
        arr["count_flags"] = spp
        arr["sequence"] = (first_sequence + index) % spec.SEQUENCE_WRAP
        stamps = first_timestamp_us + (index * spp * 1e6 / sample_rate_hz).astype(np.int64)
        arr["timestamp_us"] = stamps % spec.TIMESTAMP_WRAP_US
        arr["samples"] = raw[: full * spp].astype(np.int16).reshape(full, spp, 6)
        block = arr["samples"].reshape(full, -1)
        clipped = np.any((block == 32767) | (block == -32768), axis=1)
        arr["count_flags"][clipped] |= int(spec.PacketFlag.CLIPPED)
        if stream_start:
            arr["count_flags"][0] |= int(spec.PacketFlag.STREAM_START)
        blob = arr.tobytes()
        size = packet_size(spp)
        packets = [blob[i : i + size] for i in range(0, len(blob), size)]
    if n > full * spp:
        j = full
        rest = raw[full * spp :]
        flags = spec.PacketFlag.STREAM_START if (stream_start and j == 0) else spec.PacketFlag(0)
        if np.any((rest == 32767) | (rest == -32768)):
            flags |= spec.PacketFlag.CLIPPED
        t0 = first_timestamp_us + int(j * spp * 1e6 / sample_rate_hz)
        packets.append(encode_data_packet(first_sequence + j, t0, rest, flags))
    return packets


# --- scaling ---------------------------------------------------------------------------------
def counts_to_si(
    counts: np.ndarray, accel_range_g: int, gyro_range_dps: int
) -> tuple[np.ndarray, np.ndarray]:
    """(N, 6) int16 counts -> ((N, 3) m/s², (N, 3) rad/s) with the document's scale factors."""
    raw = np.asarray(counts)
    acc = raw[:, :3].astype(np.float64) * spec.accel_scale_m_s2(accel_range_g)
    gyr = raw[:, 3:6].astype(np.float64) * spec.gyro_scale_rad_s(gyro_range_dps)
    return acc, gyr


def si_to_counts(
    acc_m_s2: np.ndarray, gyr_rad_s: np.ndarray, accel_range_g: int, gyro_range_dps: int
) -> tuple[np.ndarray, np.ndarray]:
    """Quantise SI values to int16 counts as the sensor does (round to nearest, saturate at the
    range ends). Returns ((N, 6) int16 counts, (N,) bool clipped)."""
    acc = np.asarray(acc_m_s2, dtype=np.float64) / spec.accel_scale_m_s2(accel_range_g)
    gyr = np.asarray(gyr_rad_s, dtype=np.float64) / spec.gyro_scale_rad_s(gyro_range_dps)
    scaled = np.rint(np.concatenate([acc, gyr], axis=1))
    clipped = np.any((scaled > 32767) | (scaled < -32768), axis=1)
    return np.clip(scaled, -32768, 32767).astype(np.int16), clipped

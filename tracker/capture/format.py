"""The capture file's bytes: signature, record framing and record types (docs/capture-format.md).

    file    = signature record*
    signature = b"tracker-capture 1.0\\n"                      (ASCII: magic, major.minor, newline)
    record  = sync type length host_time_ns payload crc32
              sync          2 bytes  A5 5A
              type          u8       RecordType
              length        u32 LE   bytes of payload (at most MAX_PAYLOAD)
              host_time_ns  i64 LE   host clock when the record was made (see the header's "clock")
              payload       length bytes
              crc32         u32 LE   zlib.crc32 of type, length, host_time_ns and payload

A notification block's payload is columnar so a reader decodes it without a per-notification loop:

    source u8, n u32, host_time_ns n x i64 LE, length n x u16 LE, the n payloads back to back
"""

from __future__ import annotations

import enum
import json
import math
import struct
import zlib
from typing import Any

import numpy as np

MAGIC = b"tracker-capture "
FORMAT_MAJOR = 1
FORMAT_MINOR = 1
"""1.1 added HEADER_COPY records and the header copy in the END record (readers of 1.0 skip the
former with a warning and ignore the latter)."""
FORMAT_VERSION = f"{FORMAT_MAJOR}.{FORMAT_MINOR}"
SIGNATURE = MAGIC + FORMAT_VERSION.encode("ascii") + b"\n"
MAX_SIGNATURE = 32
"""A signature line longer than this is not a capture's."""

SYNC = b"\xa5\x5a"
RECORD_HEAD = struct.Struct("<2sBIq")
"""sync, type, payload length, host_time_ns."""
CRC = struct.Struct("<I")
RECORD_OVERHEAD = RECORD_HEAD.size + CRC.size  # 19 bytes
MAX_PAYLOAD = 16 * 1024 * 1024
"""A declared length above this is corruption (writers keep records far smaller)."""
MAX_JSON_PAYLOAD = 1024 * 1024
"""A JSON record (header, event, ...) longer than this is unreadable: writers keep them to a few kB."""
CRC_RESIDUE = 0x2144DF1C
"""`zlib.crc32(m + crc32(m) as 4 little-endian bytes)` for every m: a record is intact exactly when
the CRC of everything after its sync marker, its own CRC included, is this constant."""

BLOCK_HEAD = struct.Struct("<BI")
"""source u8, notification count u32."""


class RecordType(enum.IntEnum):
    HEADER = 0x01
    """JSON: the capture header; the first record of every file."""
    NOTIFICATIONS = 0x02
    """Binary: a block of raw notifications of one source with their host receive times."""
    EVENT = 0x03
    """JSON: {"kind": ..., ...}: link lost, reconnected, note, ..."""
    HEADER_UPDATE = 0x04
    """JSON: fields merged into the header from here on (calibration learned later, new settings)."""
    HEADER_COPY = 0x05
    """JSON: the header as it stands here, repeated so that a damaged header costs nothing
    (format 1.1; see `header_copy`)."""
    END = 0x7F
    """JSON: written by a clean close; its absence means the recording was interrupted."""


class Source(enum.IntEnum):
    """Which characteristic a notification came from."""

    IMU = 1
    """The sensor's data characteristic: firmware_protocol.md data packets, or PMD data frames
    for a Polar sensor (the header's `sensor.driver` says which)."""
    BATTERY = 2
    """Battery Level 0x2A19 (notifications and reads)."""
    CONTROL = 3
    """Control-point indications (responses)."""
    STATUS = 4
    """Status record reads."""
    HEART_RATE = 5
    """Heart Rate Measurement 0x2A37 notifications (a Polar H10's, recorded alongside)."""


SOURCE_BY_NAME = {s.name.lower(): s for s in Source}


JSON_TYPES = frozenset(
    {RecordType.HEADER, RecordType.EVENT, RecordType.HEADER_UPDATE, RecordType.HEADER_COPY, RecordType.END}
)
KNOWN_TYPES = frozenset(int(t) for t in RecordType)

NOT_COPIED = ("extra", "notes")
"""Header keys a HEADER_COPY leaves out: free-form, possibly large, and not needed to read samples."""


def header_copy(header: dict[str, Any]) -> dict[str, Any]:
    """What a HEADER_COPY (and the END record's `header`) repeats of the header: every key but the
    free-form ones, so whatever a sensor kind adds to `sensor` or `settings` is copied too."""
    return {k: v for k, v in header.items() if k not in NOT_COPIED}


def looks_like_capture(head: bytes) -> bool:
    """Whether the first bytes of a file are a capture's, even with its signature damaged: the
    signature itself (or a start of it: a file cut there), or a signature-sized first line that
    differs from it in at most 3 bytes and is followed by a record's sync marker."""
    if head.startswith(MAGIC) or (len(head) < len(SIGNATURE) and SIGNATURE.startswith(head)):
        return True
    n = len(SIGNATURE)
    if len(head) < n + len(SYNC) or head[n : n + len(SYNC)] != SYNC:
        return False
    return sum(a != b for a, b in zip(head[:n], SIGNATURE, strict=True)) <= 3


def encode_record(rtype: int, host_time_ns: int, payload: bytes) -> bytes:
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"record payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    head = RECORD_HEAD.pack(SYNC, rtype, len(payload), host_time_ns)
    crc = zlib.crc32(payload, zlib.crc32(head[2:]))
    return head + payload + CRC.pack(crc)


def finite_json(obj: Any) -> Any:
    """`obj` with every NaN or infinite float replaced by None: JSON has no such numbers, and a
    capture must never hold a value a strict reader refuses."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: finite_json(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [finite_json(v) for v in obj]
    return obj


def encode_json_record(rtype: int, host_time_ns: int, obj: dict[str, Any]) -> bytes:
    text = json.dumps(finite_json(obj), separators=(",", ":"), sort_keys=True, allow_nan=False)
    return encode_record(rtype, host_time_ns, text.encode("utf-8"))


def encode_block(source: int, host_times_ns: list[int], payloads: list[bytes]) -> bytes:
    """The payload of a NOTIFICATIONS record."""
    n = len(payloads)
    lengths = np.fromiter(map(len, payloads), dtype=np.int64, count=n)
    if n and lengths.max() > 0xFFFF:
        raise ValueError("a notification is longer than 65535 bytes")
    return (
        BLOCK_HEAD.pack(source, n)
        + np.asarray(host_times_ns, dtype="<i8").tobytes()
        + lengths.astype("<u2").tobytes()
        + b"".join(payloads)
    )

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
import struct
import zlib
from typing import Any

import numpy as np

MAGIC = b"tracker-capture "
FORMAT_MAJOR = 1
FORMAT_MINOR = 0
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


def encode_record(rtype: int, host_time_ns: int, payload: bytes) -> bytes:
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"record payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    head = RECORD_HEAD.pack(SYNC, rtype, len(payload), host_time_ns)
    crc = zlib.crc32(payload, zlib.crc32(head[2:]))
    return head + payload + CRC.pack(crc)


def encode_json_record(rtype: int, host_time_ns: int, obj: dict[str, Any]) -> bytes:
    return encode_record(
        rtype, host_time_ns, json.dumps(obj, separators=(",", ":"), sort_keys=True).encode("utf-8")
    )


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

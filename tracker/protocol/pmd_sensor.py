"""The sensor side of PMD: what an emulated Polar sensor reads and writes (`tracker.protocol.pmd`).

Requests as a sensor parses them (`parse_request`, with the status to refuse a malformed one),
control-point responses, the feature read, and data frames (raw and delta-compressed) built
from integer samples. The tables, and the host side these must satisfy, are in `pmd`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from tracker.protocol.pmd import (
    _LAYOUTS,
    CONTROL_POINT_RESPONSE_CODE,
    FEATURE_BITS,
    FEATURE_READ_CODE,
    MEASUREMENT_TYPE_MASK,
    RECORDING_TYPE_OFFLINE,
    OpCode,
    PmdError,
    _measurement_value,
    measurement_name,
    parse_settings,
)


@dataclass(frozen=True)
class PmdRequest:
    """A control-point request as the sensor reads it (`parse_request`)."""

    op_code: int
    measurement_type: int
    offline: bool
    settings: dict[str, Any]


def parse_request(payload: bytes) -> PmdRequest | tuple[int, int, int]:
    """The sensor side: a request, or `(op_code, measurement_type, status)` to refuse it with.

    Refusals: no bytes or no measurement byte -> ERROR_INVALID_LENGTH; an op code the SDK does
    not define -> ERROR_INVALID_OP_CODE; settings that do not parse -> ERROR_INVALID_PARAMETER.
    """
    data = bytes(payload)
    if not data:
        return 0, 0, 4
    op = data[0]
    mtype = data[1] & MEASUREMENT_TYPE_MASK if len(data) > 1 else 0
    if op not in {int(o) for o in OpCode}:
        return op, mtype, 1
    if op not in _MEASUREMENT_OPS:
        return PmdRequest(op, mtype, False, {})
    if len(data) < 2:
        return op, 0, 4
    if op != OpCode.REQUEST_MEASUREMENT_START and len(data) > 2:
        return op, mtype, 4
    try:
        settings = parse_settings(data[2:])
    except PmdError:
        return op, mtype, 5
    return PmdRequest(op, mtype, bool(data[1] & RECORDING_TYPE_OFFLINE), settings)


_MEASUREMENT_OPS = {
    OpCode.GET_MEASUREMENT_SETTINGS,
    OpCode.REQUEST_MEASUREMENT_START,
    OpCode.STOP_MEASUREMENT,
    OpCode.GET_SDK_MODE_MEASUREMENT_SETTINGS,
}
"""Requests whose second byte names a measurement type."""


def encode_cp_response(
    op_code: int, measurement_type: int, status: int, parameters: bytes = b"", *, more: bool = False
) -> bytes:
    """The sensor side: `F0 op type status more parameters`."""
    return bytes(
        [
            CONTROL_POINT_RESPONSE_CODE,
            op_code & 0xFF,
            measurement_type & 0xFF,
            status & 0xFF,
            int(more),
        ]
    ) + bytes(parameters)


def encode_features(features: Iterable[str], size: int = 17) -> bytes:
    """The sensor side of `parse_features` (17 bytes, as an H10 answers)."""
    out = bytearray(max(3, size))
    out[0] = FEATURE_READ_CODE
    for name in features:
        i, bit = FEATURE_BITS[name]
        out[i] |= bit
    return bytes(out)


# --- data frames ---------------------------------------------------------------------------------------
def _delta_blocks(samples: Sequence[Sequence[int]], channels: int, max_block: int = 255) -> bytes:
    out = bytearray()
    for start in range(1, len(samples), max_block):
        chunk = samples[start : start + max_block]
        prev = samples[start - 1]
        deltas = []
        for s in chunk:
            deltas.append([s[c] - prev[c] for c in range(channels)])
            prev = s
        width = max(max((abs(d) for row in deltas for d in row), default=0), 1).bit_length() + 1
        big = 0
        for k, row in enumerate(deltas):
            for c, d in enumerate(row):
                big |= (d & ((1 << width) - 1)) << ((k * channels + c) * width)
        nbytes = (width * channels * len(chunk) + 7) // 8
        out += bytes([width, len(chunk)]) + big.to_bytes(nbytes, "little")
    return bytes(out)


def encode_frame(
    measurement_type: int | str,
    timestamp_ns: int,
    frame_type: int,
    samples: Sequence[Sequence[int]],
    *,
    compressed: bool = False,
) -> bytes:
    """A data frame of integer samples (the emulated sensors' side of `decode_frame`).

    Raw: each value in the layout's bytes. Delta-compressed: the first sample as reference at
    the layout's resolution, then blocks of up to 255 deltas at the narrowest width that holds
    them. `timestamp_ns` is the last sample's time.
    """
    mtype = _measurement_value(measurement_type)
    layout = _LAYOUTS.get((mtype, compressed, frame_type))
    if layout is None or layout.unit == "gyro_float":
        raise ValueError(
            f"cannot encode {measurement_name(mtype)} frame type {frame_type} (compressed={compressed})"
        )
    size = layout.bits // 8
    head = (
        bytes([mtype])
        + int(timestamp_ns).to_bytes(8, "little")
        + bytes([frame_type | (0x80 if compressed else 0)])
    )
    low, high = -(1 << (layout.bits - 1)), (1 << (layout.bits - 1)) - 1
    for s in samples:
        if len(s) != layout.channels or any(not low <= int(v) <= high for v in s):
            raise ValueError(
                f"sample {list(s)} does not fit {layout.channels} channels of {layout.bits} bits"
            )
    if not compressed:
        return head + b"".join(
            int(v).to_bytes(size, "little", signed=True) for s in samples for v in s
        )
    if not samples:
        return head
    ref = b"".join(int(v).to_bytes(size, "little", signed=True) for v in samples[0])
    return head + ref + _delta_blocks([[int(v) for v in s] for s in samples], layout.channels)

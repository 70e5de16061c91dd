"""The control plane of the tracker IMU, as pure functions between bytes and values
(firmware_protocol.md): control point requests and responses, the status record, the battery
level and the advertisement.

The same rules as `tracker.protocol.packets`: decoders take untrusted radio bytes and never raise
on them (a bad frame comes back as a `packets.Malformed`), encoders raise `ValueError` on a
programming mistake.

| frame                        | encode                       | decode                       |
| ---------------------------- | ---------------------------- | ---------------------------- |
| control point write          | `encode_control_request`     | `decode_control_request`     |
| control point indication     | `encode_control_response`    | `decode_control_response`    |
| status record (read)         | `encode_status_record`       | `decode_status_record`       |
| battery level (read, notify) | `encode_battery_level`       | `decode_battery_level`       |
| advertisement (31 bytes)     | `encode_advertisement`       | `decode_advertisement`       |
"""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass, field

from tracker.protocol import spec
from tracker.protocol.packets import Malformed, MalformedReason

_STATUS = struct.Struct(spec.STATUS_FORMAT)


# --- control point ---------------------------------------------------------------------------
_OPCODE_PARAMS: dict[int, str] = {
    spec.Opcode.START_STREAM: "",
    spec.Opcode.STOP_STREAM: "",
    spec.Opcode.SET_SAMPLE_RATE: "<H",
    spec.Opcode.SET_RANGES: "<BH",
    spec.Opcode.IDENTIFY: "<B",
}
IDENTIFY_SECONDS = (1, 30)
"""Inclusive bounds of the IDENTIFY duration."""


@dataclass(frozen=True)
class ControlRequest:
    """A well-formed control-point command; only the fields of its opcode are set."""

    opcode: spec.Opcode
    sample_rate_hz: int | None = None
    accel_range_g: int | None = None
    gyro_range_dps: int | None = None
    identify_s: int | None = None


@dataclass(frozen=True)
class ControlRequestRejected:
    """A control-point write the sensor must refuse, with the result code to indicate."""

    opcode: int
    """The request's first byte (0 for an empty write)."""
    result: spec.ResultCode
    detail: str


def encode_control_request(
    opcode: spec.Opcode | int,
    *,
    sample_rate_hz: int | None = None,
    accel_range_g: int | None = None,
    gyro_range_dps: int | None = None,
    identify_s: int | None = None,
) -> bytes:
    """The bytes to write to the control point. Values are range-checked only for their field size,
    so tests can build requests the sensor must refuse."""
    op = spec.Opcode(opcode)
    if op is spec.Opcode.SET_SAMPLE_RATE:
        if sample_rate_hz is None:
            raise ValueError("SET_SAMPLE_RATE needs sample_rate_hz")
        return struct.pack("<BH", op, sample_rate_hz)
    if op is spec.Opcode.SET_RANGES:
        if accel_range_g is None or gyro_range_dps is None:
            raise ValueError("SET_RANGES needs accel_range_g and gyro_range_dps")
        return struct.pack("<BBH", op, accel_range_g, gyro_range_dps)
    if op is spec.Opcode.IDENTIFY:
        return struct.pack("<BB", op, 5 if identify_s is None else identify_s)
    if op in (spec.Opcode.START_STREAM, spec.Opcode.STOP_STREAM):
        return bytes([op])
    raise ValueError(f"{op.name} is not a request opcode")


def decode_control_request(
    data: bytes | bytearray | memoryview,
) -> ControlRequest | ControlRequestRejected:
    """What the sensor makes of a control-point write (the emulator's parser); never raises.

    Checks, in order: empty -> INVALID_LENGTH; unknown opcode -> OPCODE_NOT_SUPPORTED; length other
    than the opcode's -> INVALID_LENGTH; parameter outside its table -> INVALID_PARAMETER. The
    state check (BUSY) belongs to the sensor, which knows its state.
    """
    raw = bytes(data)
    if not raw:
        return ControlRequestRejected(0, spec.ResultCode.INVALID_LENGTH, "empty write")
    op_byte = raw[0]
    if op_byte not in _OPCODE_PARAMS:
        return ControlRequestRejected(
            op_byte, spec.ResultCode.OPCODE_NOT_SUPPORTED, f"unknown opcode 0x{op_byte:02x}"
        )
    op = spec.Opcode(op_byte)
    fmt = _OPCODE_PARAMS[op]
    size = struct.calcsize(fmt) if fmt else 0
    if len(raw) != 1 + size:
        return ControlRequestRejected(
            op_byte,
            spec.ResultCode.INVALID_LENGTH,
            f"{op.name} takes {1 + size} bytes, got {len(raw)}",
        )
    values = struct.unpack_from(fmt, raw, 1) if fmt else ()
    bad = spec.ResultCode.INVALID_PARAMETER
    if op is spec.Opcode.SET_SAMPLE_RATE:
        (rate,) = values
        if rate not in spec.SAMPLE_RATES_HZ:
            return ControlRequestRejected(
                op_byte, bad, f"sample rate {rate} Hz not in {spec.SAMPLE_RATES_HZ}"
            )
        return ControlRequest(op, sample_rate_hz=rate)
    if op is spec.Opcode.SET_RANGES:
        acc, gyr = values
        if acc not in spec.ACCEL_RANGES_G:
            return ControlRequestRejected(
                op_byte, bad, f"accelerometer range {acc} g not in {spec.ACCEL_RANGES_G}"
            )
        if gyr not in spec.GYRO_RANGES_DPS:
            return ControlRequestRejected(
                op_byte, bad, f"gyroscope range {gyr} dps not in {spec.GYRO_RANGES_DPS}"
            )
        return ControlRequest(op, accel_range_g=acc, gyro_range_dps=gyr)
    if op is spec.Opcode.IDENTIFY:
        (seconds,) = values
        if not IDENTIFY_SECONDS[0] <= seconds <= IDENTIFY_SECONDS[1]:
            return ControlRequestRejected(
                op_byte, bad, f"identify duration {seconds} s not in 1..30"
            )
        return ControlRequest(op, identify_s=seconds)
    return ControlRequest(op)


@dataclass(frozen=True)
class ControlResponse:
    """A control-point indication: the result of one request."""

    request_opcode: int
    result: int
    """A `spec.ResultCode` value; an unknown code (newer firmware) is kept as its integer."""

    @property
    def ok(self) -> bool:
        return self.result == spec.ResultCode.SUCCESS

    @property
    def result_name(self) -> str:
        try:
            return spec.ResultCode(self.result).name
        except ValueError:
            return f"UNKNOWN_0x{self.result:02x}"

    @property
    def hint(self) -> str | None:
        try:
            return spec.RESULT_HINTS.get(spec.ResultCode(self.result))
        except ValueError:
            return "update tracker: the sensor answered with a result code it does not know"


def encode_control_response(request_opcode: int, result: spec.ResultCode | int) -> bytes:
    """The 3-byte indication: RESPONSE (0x80), request opcode, result code."""
    return bytes([spec.Opcode.RESPONSE, request_opcode & 0xFF, int(result) & 0xFF])


def decode_control_response(data: bytes | bytearray | memoryview) -> ControlResponse | Malformed:
    """An indication from the control point; longer ones (newer minor versions) keep their first
    3 bytes and ignore the rest. Never raises."""
    raw = bytes(data)
    if not raw:
        return Malformed(MalformedReason.EMPTY, "empty indication", raw)
    if raw[0] != spec.Opcode.RESPONSE:
        return Malformed(
            MalformedReason.BAD_VALUE, f"first byte 0x{raw[0]:02x}, expected 0x80", raw
        )
    if len(raw) < 3:
        return Malformed(MalformedReason.TRUNCATED, f"{len(raw)} bytes, a response has 3", raw)
    return ControlResponse(raw[1], raw[2])


# --- status record ---------------------------------------------------------------------------
@dataclass(frozen=True)
class StatusRecord:
    """The status characteristic: what the sensor is doing and how it is configured."""

    protocol_version: int
    state: int
    """A `spec.SensorState` value; unknown states of newer firmware are kept as integers."""
    sample_rate_hz: int
    accel_range_g: int
    gyro_range_dps: int
    samples_per_packet: int
    clock_us: int
    """The sensor clock when the record was read, µs, wraps at 2**32 (same clock as packets)."""
    extra: bytes = field(default=b"", compare=False)
    """Trailing bytes of a longer record from a newer minor version (ignored)."""

    @property
    def streaming(self) -> bool:
        return self.state == spec.SensorState.STREAMING


def encode_status_record(record: StatusRecord) -> bytes:
    return (
        _STATUS.pack(
            record.protocol_version,
            record.state,
            record.sample_rate_hz,
            record.accel_range_g,
            record.gyro_range_dps,
            record.samples_per_packet,
            record.clock_us % spec.TIMESTAMP_WRAP_US,
        )
        + record.extra
    )


def decode_status_record(data: bytes | bytearray | memoryview) -> StatusRecord | Malformed:
    """The status record from untrusted bytes; never raises.

    Byte 0 is the protocol major version in every version of the protocol: a different major is
    `wrong_version` (with `.version` set) before any other check. Records longer than 12 bytes
    (newer minor versions) are accepted and the trailing bytes kept in `extra`.
    """
    raw = bytes(data)
    if not raw:
        return Malformed(MalformedReason.EMPTY, "empty status record", raw)
    if raw[0] != spec.PROTOCOL_VERSION:
        return Malformed(
            MalformedReason.WRONG_VERSION,
            f"protocol version {raw[0]}, this tracker understands {spec.PROTOCOL_VERSION}",
            raw,
            raw[0],
        )
    if len(raw) < spec.STATUS_SIZE:
        return Malformed(
            MalformedReason.TRUNCATED,
            f"{len(raw)} bytes, the status record has {spec.STATUS_SIZE}",
            raw,
            raw[0],
        )
    version, state, rate, acc, gyr, spp, clock = _STATUS.unpack_from(raw)
    return StatusRecord(version, state, rate, acc, gyr, spp, clock, raw[spec.STATUS_SIZE :])


# --- battery ---------------------------------------------------------------------------------
def encode_battery_level(percent: int) -> bytes:
    if not 0 <= percent <= 100:
        raise ValueError("battery level must be 0..100 %")
    return bytes([percent])


def decode_battery_level(data: bytes | bytearray | memoryview) -> int | Malformed:
    """Battery Level (0x2A19): one byte, 0..100 %; anything else is malformed. Never raises."""
    raw = bytes(data)
    if not raw:
        return Malformed(MalformedReason.EMPTY, "empty battery level", raw)
    if len(raw) != 1:
        return Malformed(
            MalformedReason.LENGTH_MISMATCH, f"{len(raw)} bytes, battery level has 1", raw
        )
    if raw[0] > 100:
        return Malformed(MalformedReason.BAD_VALUE, f"battery level {raw[0]} % above 100", raw)
    return raw[0]


# --- advertisement ---------------------------------------------------------------------------
AD_FLAGS = 0x01
AD_COMPLETE_128_UUIDS = 0x07
AD_COMPLETE_LOCAL_NAME = 0x09
ADV_FLAGS_VALUE = 0x06
"""LE General Discoverable Mode | BR/EDR Not Supported."""
MAX_ADVERTISEMENT_SIZE = 31


@dataclass(frozen=True)
class Advertisement:
    """What the sensor advertises (legacy advertising data; there is no scan response)."""

    name: str | None
    service_uuids: tuple[str, ...]
    flags: int | None

    @property
    def is_tracker_sensor(self) -> bool:
        return spec.IMU_SERVICE_UUID in self.service_uuids


def sensor_name(serial: str) -> str:
    """The advertised name for a serial number: "TRK-" + its last 4 characters, upper case."""
    return spec.NAME_PREFIX + serial[-4:].upper()


def encode_advertisement(name: str) -> bytes:
    """The 31-byte advertising data: flags, complete local name, complete 128-bit UUID list."""
    name_bytes = name.encode("utf-8")
    uuid_le = uuid.UUID(spec.IMU_SERVICE_UUID).bytes[::-1]
    data = (
        bytes([2, AD_FLAGS, ADV_FLAGS_VALUE])
        + bytes([1 + len(name_bytes), AD_COMPLETE_LOCAL_NAME])
        + name_bytes
        + bytes([17, AD_COMPLETE_128_UUIDS])
        + uuid_le
    )
    if len(data) > MAX_ADVERTISEMENT_SIZE:
        raise ValueError(f"advertisement is {len(data)} bytes; the name must be at most 8 bytes")
    return data


def decode_advertisement(data: bytes | bytearray | memoryview) -> Advertisement | Malformed:
    """Parse AD structures (length, type, value); unknown types are skipped. Never raises."""
    raw = bytes(data)
    if not raw:
        return Malformed(MalformedReason.EMPTY, "empty advertisement", raw)
    if len(raw) > MAX_ADVERTISEMENT_SIZE:
        return Malformed(
            MalformedReason.LENGTH_MISMATCH,
            f"{len(raw)} bytes, legacy advertising data has at most 31",
            raw,
        )
    name: str | None = None
    uuids: list[str] = []
    flags: int | None = None
    i = 0
    while i < len(raw):
        length = raw[i]
        if length == 0:  # padding: the rest is zeros
            break
        if i + 1 + length > len(raw):
            return Malformed(
                MalformedReason.TRUNCATED, f"AD structure at byte {i} runs past the end", raw
            )
        ad_type, value = raw[i + 1], raw[i + 2 : i + 1 + length]
        if ad_type == AD_FLAGS and len(value) == 1:
            flags = value[0]
        elif ad_type in (AD_COMPLETE_LOCAL_NAME, 0x08):
            name = value.decode("utf-8", errors="replace")
        elif ad_type in (AD_COMPLETE_128_UUIDS, 0x06):
            if len(value) % 16:
                return Malformed(
                    MalformedReason.LENGTH_MISMATCH, f"128-bit UUID list of {len(value)} bytes", raw
                )
            uuids += [
                str(uuid.UUID(bytes=value[j : j + 16][::-1])) for j in range(0, len(value), 16)
            ]
        i += 1 + length
    return Advertisement(name, tuple(uuids), flags)

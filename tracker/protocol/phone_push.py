"""Sensor Logger's HTTP push messages: what one pushed body holds, and how a capture keeps it.

The app's own document (tszheichoi/awesome-sensor-logger, PUSHING.md, "Typescript Payload
Schema") describes every message, HTTP push and MQTT alike, as one JSON object:

    {"messageId": 0, "sessionId": "identifier", "deviceId": "identifier",
     "payload": [{"name": "accelerometer", "time": 1698501144401773000,
                  "values": {"x": ..., "y": ..., "z": ...}, "accuracy": 3}, ...]}

`messageId` goes up by one per message, `sessionId` is the same for all messages of one
recording and `deviceId` for all messages of one phone; `time` is UTC nanoseconds since the
epoch. Motion readings ("XYZReading") are named `accelerometer` (gravity removed), `gravity`,
`gyroscope`, their `...uncalibrated` twins and `magnetometer`, with `values` x, y, z in the units
of UNITS.md (m/s², rad/s); an Android phone also pushes `totalacceleration` (gravity in, as its
TotalAcceleration.csv). Other readings (location, battery, ...) are kept in the capture and
otherwise ignored. The app builds the body in JavaScript, so `time` arrives as a JSON number
rounded to a double (256 ns steps today); it is read as an integer either way.

`parse_message(body)` checks a body and returns its motion readings as arrays, or raises
`PushFormatError` with a short reason (`reason` is a counter name). Nothing here raises anything
else, whatever the bytes.

A capture stores each pushed body raw, as notifications of source 1 (docs/capture-format.md,
"Phone"): a notification holds at most 65,535 bytes, so a body is cut into parts, each prefixed
with two bytes, its index and the number of parts (`body_parts`); `BodyAssembler` puts them back
together and counts bodies that lost a part.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import msgspec
import numpy as np

IOS_FLIP_NOTE = "iOS acceleration signs flipped to the Android convention (COORDINATES.md)"


def acceleration_sign(platform: str | None, standardised: bool) -> float:
    """What turns the app's acceleration and gravity into tracker's (Android's) convention: -1 for
    iOS unless "Standardise Units & Frames" was on (COORDINATES.md, CROSSPLATFORM.md), else +1.
    The gyroscope and TotalAcceleration (Android only) never need it. Files
    (`tracker.formats.sensor_logger`) and live pushes (`tracker.protocol.phone_stream`) both use
    this rule."""
    return -1.0 if platform == "ios" and not standardised else 1.0

MOTION_NAMES = ("totalacceleration", "accelerometer", "gravity", "gyroscope")
"""The readings tracker uses (lower case, as pushed)."""
PART_HEAD = 2
"""Bytes before each part of a body in a capture notification: part index, part count."""
MAX_PART = 0xFFFF - PART_HEAD
MAX_PARTS = 255
MAX_BODY_BYTES = MAX_PART * MAX_PARTS
"""The largest body a capture can keep (about 16 MiB); the server's own limit is far lower."""
MAX_ABS_VALUE = 1e4
"""A motion value beyond this (m/s², rad/s) is not a phone's reading (the largest phone
accelerometer range is 32 g, about 314 m/s²)."""


class PushFormatError(ValueError):
    """A pushed body that is not a Sensor Logger message; `reason` is a short counter name."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass
class Readings:
    """One sensor's readings in a message, in the order pushed."""

    time_ns: np.ndarray
    """(n,) int64, UTC ns since the epoch."""
    xyz: np.ndarray
    """(n, 3) float64 in the app's units (m/s², rad/s)."""


@dataclass
class PushMessage:
    message_id: int | None
    session_id: str | None
    device_id: str | None
    readings: dict[str, Readings] = field(default_factory=dict)
    """The motion readings by name (`MOTION_NAMES` only)."""
    names: dict[str, int] = field(default_factory=dict)
    """How many readings of every name the message held (motion or not)."""
    skipped: int = 0
    """Motion readings left out: no usable time or values."""


class _Reading(msgspec.Struct):
    name: str
    time: Any = None
    values: Any = None


class _Message(msgspec.Struct):
    payload: list[_Reading]
    messageId: Any = None  # noqa: N815  the app's own key
    sessionId: Any = None  # noqa: N815
    deviceId: Any = None  # noqa: N815


class _Xyz(msgspec.Struct):
    x: float | None = None
    y: float | None = None
    z: float | None = None


class _TypedReading(msgspec.Struct):
    name: str
    time: Any = None
    values: _Xyz | None = None


class _TypedMessage(msgspec.Struct):
    payload: list[_TypedReading]
    messageId: Any = None  # noqa: N815  the app's own key
    sessionId: Any = None  # noqa: N815
    deviceId: Any = None  # noqa: N815


_DECODER = msgspec.json.Decoder(_Message)
_TYPED_DECODER = msgspec.json.Decoder(_TypedMessage)
"""The app's own messages: every `values` an object whose x, y, z (where present) are JSON
numbers. Its floats are checked as whole columns; any other body takes the lenient path."""
_MAX_DEPTH_BYTES = 64
"""`{` and `[` beyond this many in a row at the start mean nesting no message has."""


def _time_ns(value: Any) -> int | None:
    """A reading's `time` as integer ns: a JSON integer, a float (a JS number) or digits."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value < 2**63 else None
    if isinstance(value, float):
        return int(value) if math.isfinite(value) and 0 < value < 9.2e18 else None
    if isinstance(value, str) and value.isdigit() and len(value) <= 19:
        return _time_ns(int(value))
    return None


def _xyz(values: Any) -> tuple[float, float, float] | None:
    if not isinstance(values, dict):
        return None
    out = []
    for key in ("x", "y", "z"):
        v = values.get(key)
        if isinstance(v, bool) or not isinstance(v, int | float | str):
            return None
        try:
            f = float(v)
        except ValueError:
            return None
        if not math.isfinite(f) or abs(f) > MAX_ABS_VALUE:
            return None
        out.append(f)
    return out[0], out[1], out[2]


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value[:128]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)[:128]
    return None


def parse_message(body: bytes) -> PushMessage:
    """A pushed body's motion readings (see the module docstring); `PushFormatError` otherwise."""
    if not body.strip():
        raise PushFormatError("empty", "an empty body")
    head = body.lstrip()[:_MAX_DEPTH_BYTES]
    if len(head) == _MAX_DEPTH_BYTES and not head.strip(b"[{ \t\r\n"):
        raise PushFormatError("not_json", "JSON nested deeper than any message")
    try:
        typed = _TYPED_DECODER.decode(body)
    except (msgspec.DecodeError, RecursionError):
        pass  # the lenient decoder says what is wrong, or reads values of other types
    else:
        msg = _message(typed)
        _typed_readings(msg, typed.payload)
        return msg
    try:
        raw = _DECODER.decode(body)
    except msgspec.ValidationError as exc:
        raise PushFormatError("not_a_message", f"not a Sensor Logger message ({exc})") from None
    except (msgspec.DecodeError, RecursionError) as exc:
        raise PushFormatError("not_json", f"not JSON ({exc})") from None
    msg = _message(raw)
    _lenient_readings(msg, raw.payload)
    return msg


def _message(raw: _Message | _TypedMessage) -> PushMessage:
    message_id = raw.messageId if isinstance(raw.messageId, int) and not isinstance(raw.messageId, bool) else None
    return PushMessage(message_id, _text(raw.sessionId), _text(raw.deviceId))


def _typed_readings(msg: PushMessage, payload: list[_TypedReading]) -> None:
    """The motion readings of a typed message: times one by one, values checked by column."""
    columns: dict[str, tuple[list[int], list[tuple[float | None, float | None, float | None]]]] = {}
    for reading in payload:
        name = reading.name.strip().lower()[:64]
        msg.names[name] = msg.names.get(name, 0) + 1
        if name not in MOTION_NAMES:
            continue
        t = reading.time
        if type(t) is not int or not 0 < t < 2**63:  # the app's own (a JSON integer) inline
            t = _time_ns(t)
        v = reading.values
        if t is None or v is None:
            msg.skipped += 1
            continue
        times, values = columns.setdefault(name, ([], []))
        times.append(t)
        values.append((v.x, v.y, v.z))
    for name, (times, values) in columns.items():
        xyz = np.array(values, np.float64)  # a missing axis (None) is NaN
        with np.errstate(invalid="ignore"):
            ok = (np.abs(xyz) <= MAX_ABS_VALUE).all(axis=1)  # NaN and inf fail too
        msg.skipped += int(ok.size - np.count_nonzero(ok))
        if ok.any():
            msg.readings[name] = Readings(np.array(times, np.int64)[ok], xyz[ok])


def _lenient_readings(msg: PushMessage, payload: list[_Reading]) -> None:
    """The motion readings of any message, value by value (numbers as text are read too)."""
    columns: dict[str, tuple[list[int], list[tuple[float, float, float]]]] = {}
    for reading in payload:
        name = reading.name.strip().lower()[:64]
        msg.names[name] = msg.names.get(name, 0) + 1
        if name not in MOTION_NAMES:
            continue
        t = _time_ns(reading.time)
        xyz = _xyz(reading.values)
        if t is None or xyz is None:
            msg.skipped += 1
            continue
        times, values = columns.setdefault(name, ([], []))
        times.append(t)
        values.append(xyz)
    for name, (times, values) in columns.items():
        msg.readings[name] = Readings(np.array(times, np.int64), np.array(values, np.float64))


# --- bodies in a capture ---------------------------------------------------------------------------
def body_parts(body: bytes) -> list[bytes]:
    """The capture notifications that keep `body`: parts of at most `MAX_PART` bytes, each after
    its index and the part count (one byte each). ValueError for a body beyond `MAX_BODY_BYTES`."""
    if len(body) > MAX_BODY_BYTES:
        raise ValueError(f"a body of {len(body)} bytes (a capture keeps at most {MAX_BODY_BYTES})")
    count = max(1, -(-len(body) // MAX_PART))
    return [
        bytes((i, count)) + body[i * MAX_PART : (i + 1) * MAX_PART] for i in range(count)
    ]


class BodyAssembler:
    """Capture notifications back to the bodies they keep, in order.

    `add(part)` returns the body once its last part came, else None. A body that lost a part (in
    damage) is counted once in `incomplete` and never decoded; a notification too short to be a
    part is counted in `malformed_parts`."""

    def __init__(self) -> None:
        self.incomplete = 0
        self.malformed_parts = 0
        self._parts: list[bytes] = []
        self._count = 0  # parts of the body in progress (0: none in progress)
        self._next = 0
        self._broken = False

    def add(self, part: bytes) -> bytes | None:
        if len(part) < PART_HEAD or part[1] == 0 or part[0] >= part[1]:
            self.malformed_parts += 1
            self._broken = self._broken or self._count > 0
            return None
        index, count = part[0], part[1]
        if index == 0:
            if self._count:
                self.incomplete += 1  # the body in progress never got its last part
            self._parts, self._count, self._next, self._broken = [], count, 0, False
        elif not self._count or count != self._count or index != self._next:
            if self._count and count != self._count:
                self.incomplete += 1  # another body's part: the one in progress is lost
            self._parts, self._count, self._broken = [], count, True
        self._next = index + 1
        if not self._broken:
            self._parts.append(part[PART_HEAD:])
        if index + 1 < count:
            return None
        broken, parts = self._broken, self._parts
        self._parts, self._count, self._next, self._broken = [], 0, 0, False
        if broken:
            self.incomplete += 1
            return None
        return b"".join(parts)

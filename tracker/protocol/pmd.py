"""Polar Measurement Data (PMD): the bytes of Polar's open sensor protocol, pure functions.

Everything here follows Polar's own SDK (polarofficial/polar-ble-sdk: `BlePMDClient`,
`PmdDataFrame`, `AccData`, `GyrData`, `PmdSetting`, `PmdTimeStampUtils`,
`PmdControlPointResponse` and their unit tests) and its documents (the online-measurement
document, the Polar Measurement Data Specification, TimeSystemExplained.md). Radio bytes are
untrusted: every length is checked, and the only exception raised for bad bytes is `PmdError`
(a `ValueError`).

The link (PMD service FB005C80-...): the host reads the control point for the features, enables
indications on the control point and notifications on the data characteristic, then writes
requests to the control point; each is answered by an indication

    F0  op_code  measurement_type  status  more  parameters...

and, once a measurement is started, the data characteristic notifies frames

    measurement_type u8 | timestamp u64 LE (ns since 2000-01-01, the last sample's) |
    frame_type u8 (bit 7: delta-compressed) | samples...

The surface (stable; outside tools test it):

- `decode_frame(payload, previous_timestamp_ns=0, sample_rate_hz=0, factor=1.0) -> PmdFrame`
- `sample_timestamps(previous_timestamp_ns, frame_timestamp_ns, sample_count, sample_rate_hz)`
- `parse_cp_response(payload) -> PmdCpResponse`
- `encode_request(op, measurement_type, settings=None, offline=False) -> bytes`
- `parse_features(payload) -> set[str]`

plus the tables and `parse_settings`/`encode_settings`. The sensor side (what the emulated
Polar sensors parse and build) is `tracker.protocol.pmd_sensor`.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# --- GATT ----------------------------------------------------------------------------------
PMD_SERVICE_UUID = "fb005c80-02e7-f387-1cad-8acd2d8df0c8"
PMD_CONTROL_POINT_UUID = "fb005c81-02e7-f387-1cad-8acd2d8df0c8"
"""Read (features), write with response (requests), indicate (responses)."""
PMD_DATA_UUID = "fb005c82-02e7-f387-1cad-8acd2d8df0c8"
"""Notify: data frames."""

MIN_ATT_MTU = 232
"""The ATT MTU Polar's SDK asks for; smaller links are refused (ERROR_INVALID_MTU) or starve."""

CONTROL_POINT_RESPONSE_CODE = 0xF0
"""First byte of every control-point response indication."""
FEATURE_READ_CODE = 0x0F
"""First byte of the control point's read value (the feature bit fields follow)."""
ONLINE_MEASUREMENT_STOPPED = 0x01
"""First byte of an unsolicited indication: the sensor stopped these measurement types itself."""

PMD_SENSOR_KINDS: dict[str, tuple[str, ...]] = {
    "polar-h10": ("ACC",),
    "polar-verity": ("ACC", "GYRO"),
}
"""Sensor kinds that speak PMD, and the measurements tracker streams from each (timeline first)."""
FRAME_HEADER_SIZE = 10
"""measurement type (1) + timestamp (8) + frame type (1)."""
POLAR_EPOCH_UNIX_NS = 946_684_800_000_000_000
"""2000-01-01T00:00:00Z in ns since the Unix epoch (TimeSystemExplained.md)."""
MILLI_G_M_S2 = 9.80665e-3
"""m/s² per mG (standard gravity / 1000)."""


class PmdError(ValueError):
    """Bytes that are not what PMD says, or an SDK error case of the timestamp rule.

    `reason` is a short stable key ("too_short", "unsupported_frame", "timestamp", ...) for
    counting; the message says what was wrong for a person.
    """

    def __init__(self, message: str, reason: str = "malformed") -> None:
        super().__init__(message)
        self.reason = reason


# --- tables (names exactly as the SDK's enums) ------------------------------------------------
class MeasurementType(enum.IntEnum):
    ECG = 0
    PPG = 1
    ACC = 2
    PPI = 3
    GYRO = 5
    MAGNETOMETER = 6
    SKIN_TEMP = 7
    SDK_MODE = 9
    LOCATION = 10
    PRESSURE = 11
    TEMPERATURE = 12
    OFFLINE_RECORDING = 13
    OFFLINE_HR = 14
    OFFLINE_TEMP = 15


MEASUREMENT_TYPE_MASK = 0x3F
RECORDING_TYPE_OFFLINE = 0x80
"""Bit 7 of a request's measurement byte: offline recording instead of online streaming."""

FEATURE_BITS: dict[str, tuple[int, int]] = {
    # name: (byte index in the feature read, bit mask)
    "ECG": (1, 0x01),
    "PPG": (1, 0x02),
    "ACC": (1, 0x04),
    "PPI": (1, 0x08),
    "GYRO": (1, 0x20),
    "MAGNETOMETER": (1, 0x40),
    "SKIN_TEMP": (1, 0x80),
    "SDK_MODE": (2, 0x02),
    "LOCATION": (2, 0x04),
    "PRESSURE": (2, 0x08),
    "TEMPERATURE": (2, 0x10),
    "OFFLINE_RECORDING": (2, 0x20),
    "OFFLINE_HR": (2, 0x40),
}


class OpCode(enum.IntEnum):
    """Control-point requests, client to sensor (`PmdControlPointCommandClientToService`)."""

    GET_MEASUREMENT_SETTINGS = 1
    REQUEST_MEASUREMENT_START = 2
    STOP_MEASUREMENT = 3
    GET_SDK_MODE_MEASUREMENT_SETTINGS = 4
    GET_MEASUREMENT_STATUS = 5
    GET_SDK_MODE_STATUS = 6
    GET_OFFLINE_RECORDING_TRIGGER_STATUS = 7
    SET_OFFLINE_RECORDING_TRIGGER_MODE = 8
    SET_OFFLINE_RECORDING_TRIGGER_SETTINGS = 9


REQUEST_OPS = {
    "get_settings": OpCode.GET_MEASUREMENT_SETTINGS,
    "start": OpCode.REQUEST_MEASUREMENT_START,
    "stop": OpCode.STOP_MEASUREMENT,
}

STATUS_NAMES = {
    0: "SUCCESS",
    1: "ERROR_INVALID_OP_CODE",
    2: "ERROR_INVALID_MEASUREMENT_TYPE",
    3: "ERROR_NOT_SUPPORTED",
    4: "ERROR_INVALID_LENGTH",
    5: "ERROR_INVALID_PARAMETER",
    6: "ERROR_ALREADY_IN_STATE",
    7: "ERROR_INVALID_RESOLUTION",
    8: "ERROR_INVALID_SAMPLE_RATE",
    9: "ERROR_INVALID_RANGE",
    10: "ERROR_INVALID_MTU",
    11: "ERROR_INVALID_NUMBER_OF_CHANNELS",
    12: "ERROR_INVALID_STATE",
    13: "ERROR_DEVICE_IN_CHARGER",
    14: "ERROR_DISK_FULL",
    15: "ERROR_INVALID_SOURCE_MEASUREMENT_TYPE",
    16: "ERROR_INVALID_SOURCE_MEASUREMENT_RATE",
    17: "ERROR_INVALID_DERIVED_MEASUREMENT_SETTINGS_GROUP",
    18: "ERROR_INVALID_DERIVED_MEASUREMENT_METHOD",
}
"""`PmdControlPointResponseCode`; any other value is the SDK's UNKNOWN_ERROR."""
UNKNOWN_STATUS = "UNKNOWN_ERROR"
SUCCESS = 0

STATUS_HINTS = {
    1: "the sensor does not know this request; update its firmware (Polar Flow app) or tracker",
    2: "this sensor cannot measure that; check which sensor kind you chose (--sensor)",
    3: "this sensor does not offer that measurement; check which sensor kind you chose (--sensor)",
    4: "tracker and the sensor disagree on the protocol; update the sensor's firmware or tracker",
    5: "use the settings the sensor offers (see `tracker record --help`)",
    6: "the sensor is already streaming to another app: close that app, or switch the sensor off and on",
    7: "use the resolution the sensor offers",
    8: "use a sample rate the sensor offers (see `tracker record --help`)",
    9: "use a range the sensor offers",
    10: "the Bluetooth link is too small (ATT MTU); update the computer's Bluetooth stack or use another adapter",
    11: "use the number of channels the sensor offers",
    12: "the sensor is busy (SDK mode, a recording, or first-time setup not done); finish that in the Polar app",
    13: "take the sensor off its charger",
    14: "the sensor's memory is full; delete its recordings in the Polar app",
}


def status_name(status: int) -> str:
    """The SDK's name of a control-point status ("ERROR_INVALID_RESOLUTION"; else UNKNOWN_ERROR)."""
    return STATUS_NAMES.get(int(status), UNKNOWN_STATUS)


def op_name(op_code: int) -> str:
    try:
        return OpCode(op_code).name
    except ValueError:
        return f"UNKNOWN_OP_CODE_0x{int(op_code) & 0xFF:02X}"


def measurement_name(measurement_type: int) -> str:
    try:
        return MeasurementType(int(measurement_type) & MEASUREMENT_TYPE_MASK).name
    except ValueError:
        return "UNKNOWN_TYPE"


def _measurement_value(measurement_type: int | str) -> int:
    if isinstance(measurement_type, str):
        try:
            return int(MeasurementType[measurement_type.upper()])
        except KeyError:
            raise ValueError(
                f"unknown measurement type {measurement_type!r}; use one of {[m.name for m in MeasurementType]}"
            ) from None
    value = int(measurement_type)
    if not 0 <= value <= MEASUREMENT_TYPE_MASK:
        raise ValueError(f"measurement type {value} is outside 0..63")
    return value


# --- settings -----------------------------------------------------------------------------------
class SettingType(enum.IntEnum):
    """`PmdSetting.PmdSettingType`, with the size of one value in bytes (`SETTING_SIZES`)."""

    SAMPLE_RATE = 0
    RESOLUTION = 1
    RANGE = 2
    RANGE_MILLIUNIT = 3
    CHANNELS = 4
    FACTOR = 5


SETTING_SIZES = {
    SettingType.SAMPLE_RATE: 2,
    SettingType.RESOLUTION: 2,
    SettingType.RANGE: 2,
    SettingType.RANGE_MILLIUNIT: 4,
    SettingType.CHANNELS: 1,
    SettingType.FACTOR: 4,
}
SETTING_KEYS = {t: t.name.lower() for t in SettingType}
"""Setting type -> the key used in settings dicts ("sample_rate", ..., "factor")."""
_SETTING_BY_KEY = {v: k for k, v in SETTING_KEYS.items()}


def _signed(value: int, size: int) -> int:
    bits = 8 * size
    return value - (1 << bits) if value & (1 << (bits - 1)) else value


def parse_settings(parameters: bytes) -> dict[str, Any]:
    """Settings parameters -> {"sample_rate": [...], ..., "factor": float}; raises PmdError.

    Each setting is `type u8, count u8, count values` (little-endian, signed, of the type's
    size). Only the types present appear; values keep their order. "factor" is the single
    IEEE-754 float the sensor sends in a start response.
    """
    data = bytes(parameters)
    out: dict[str, Any] = {}
    if len(data) <= 1:  # the SDK reads nothing from 0 or 1 bytes
        return out
    pos = 0
    while pos < len(data):
        if pos + 2 > len(data):
            raise PmdError(f"settings end inside a setting header at byte {pos}", "settings")
        code, count = data[pos], data[pos + 1]
        pos += 2
        try:
            kind = SettingType(code)
        except ValueError:
            raise PmdError(f"unknown setting type {code} at byte {pos - 2}", "settings") from None
        size = SETTING_SIZES[kind]
        if pos + size * count > len(data):
            raise PmdError(
                f"setting {kind.name} says {count} values but the parameters end first", "settings"
            )
        raw = [
            int.from_bytes(data[pos + i * size : pos + (i + 1) * size], "little")
            for i in range(count)
        ]
        pos += size * count
        if kind is SettingType.FACTOR:
            if count:
                out["factor"] = float(struct.unpack("<f", raw[0].to_bytes(4, "little"))[0])
        else:
            out[SETTING_KEYS[kind]] = [_signed(v, size) for v in raw]
    return out


def encode_settings(settings: Mapping[str, int | float | Sequence[int]]) -> bytes:
    """{"sample_rate": 52 or [25, 50], ..., "factor": 2.44e-4} -> setting bytes, in the order given.

    An int is one value (count 1), a sequence is the list a get-settings response offers;
    "factor" is a float. Raises ValueError for unknown keys or values that do not fit.
    """
    out = bytearray()
    for key, value in settings.items():
        kind = _SETTING_BY_KEY.get(key)
        if kind is None:
            raise ValueError(f"unknown setting {key!r}; use one of {sorted(_SETTING_BY_KEY)}")
        if kind is SettingType.FACTOR:
            out += bytes([kind, 1]) + struct.pack("<f", float(value))  # type: ignore[arg-type]
            continue
        values = [value] if isinstance(value, int) else list(value)  # type: ignore[arg-type]
        size = SETTING_SIZES[kind]
        low = -(1 << (8 * size - 1)) if size == 4 else 0
        high = (1 << (8 * size)) - 1
        if len(values) > 255:
            raise ValueError(f"setting {key!r} has more than 255 values")
        out += bytes([kind, len(values)])
        for v in values:
            if not isinstance(v, int) or isinstance(v, bool) or not low <= v <= high:
                raise ValueError(f"setting {key!r} value {v!r} does not fit in {size} byte(s)")
            out += (v & ((1 << (8 * size)) - 1)).to_bytes(size, "little")
    return bytes(out)


# --- control point ------------------------------------------------------------------------------
@dataclass(frozen=True)
class PmdCpResponse:
    """One control-point response indication (`PmdControlPointResponse`)."""

    op_code: int
    measurement_type: int
    status: int
    more: bool
    parameters: bytes
    settings: dict[str, Any] = field(default_factory=dict)
    """`parameters` as settings when they are settings (get-settings and start responses);
    {} otherwise (a success response may carry other parameters, e.g. a measurement status)."""
    offline: bool = False

    @property
    def status_name(self) -> str:
        return status_name(self.status)

    @property
    def op_name(self) -> str:
        return op_name(self.op_code)

    @property
    def measurement_name(self) -> str:
        return measurement_name(self.measurement_type)

    @property
    def ok(self) -> bool:
        return self.status == SUCCESS


def parse_cp_response(payload: bytes) -> PmdCpResponse:
    """A control-point indication `F0 op type status [more params...]`; raises PmdError.

    As in the SDK, `more` and `parameters` are only read from a SUCCESS response, and an
    unknown status byte is kept (its name is UNKNOWN_ERROR).
    """
    data = bytes(payload)
    if data and data[0] != CONTROL_POINT_RESPONSE_CODE:
        what = (
            " (the sensor stopping a measurement by itself)"
            if data[0] == ONLINE_MEASUREMENT_STOPPED
            else ""
        )
        raise PmdError(
            f"control-point indication starts with 0x{data[0]:02X}, not the response code 0xF0{what}",
            "not_a_response",
        )
    if len(data) < 4:
        raise PmdError(
            f"control-point response of {len(data)} bytes; at least 4 are needed", "too_short"
        )
    status = data[3]
    more = False
    parameters = b""
    settings: dict[str, Any] = {}
    if status == SUCCESS:
        more = len(data) > 4 and data[4] != 0
        parameters = data[5:]
        try:
            settings = parse_settings(parameters)
        except PmdError:
            settings = {}
    return PmdCpResponse(
        op_code=data[1],
        measurement_type=data[2] & MEASUREMENT_TYPE_MASK,
        status=status,
        more=more,
        parameters=parameters,
        settings=settings,
        offline=bool(data[2] & RECORDING_TYPE_OFFLINE),
    )


def encode_request(
    op: str,
    measurement_type: int | str,
    settings: Mapping[str, int] | None = None,
    offline: bool = False,
) -> bytes:
    """A control-point request: `op` is "get_settings", "start" or "stop".

    `settings` (start only) are written in the order given, one value each: {"sample_rate": 200,
    "resolution": 16, "range": 8}. "factor" is the sensor's to say, not the host's (ValueError).
    """
    code = REQUEST_OPS.get(op)
    if code is None:
        raise ValueError(f"unknown request {op!r}; use one of {sorted(REQUEST_OPS)}")
    head = bytes(
        [code, _measurement_value(measurement_type) | (RECORDING_TYPE_OFFLINE if offline else 0)]
    )
    if not settings:
        return head
    if code is not OpCode.REQUEST_MEASUREMENT_START:
        raise ValueError(f"only a start request carries settings, not {op!r}")
    if "factor" in settings:
        raise ValueError(
            "factor is not a request setting: the sensor sends it in its start response"
        )
    for key, value in settings.items():
        if not isinstance(value, int) or isinstance(value, bool):
            raise ValueError(f"setting {key!r} must be one int in a request; got {value!r}")
    return head + encode_settings(settings)


# --- features --------------------------------------------------------------------------------
def parse_features(payload: bytes) -> set[str]:
    """The control point's read value (`0F` + bit fields) -> {"ECG", "ACC", ...}; PmdError if
    it is not a feature read."""
    data = bytes(payload)
    if len(data) < 2 or data[0] != FEATURE_READ_CODE:
        raise PmdError(
            f"not a PMD feature read ({data[:4].hex(' ') or 'no bytes'}); it starts with 0F",
            "not_features",
        )
    return {name for name, (i, bit) in FEATURE_BITS.items() if i < len(data) and data[i] & bit}


# --- timestamps ---------------------------------------------------------------------------------
def sample_timestamps(
    previous_timestamp_ns: int, frame_timestamp_ns: int, sample_count: int, sample_rate_hz: float
) -> list[int]:
    """Each sample's time, ns, by the SDK's rule (`PmdTimeStampUtils.getTimeStamps`).

    The frame's timestamp is its last sample's. With a previous frame's timestamp the samples
    are spread evenly after it; without one (0) they are spaced at the sample rate backwards
    from the frame's. Arithmetic in doubles, rounded half to even, as the SDK does. Raises
    PmdError in the SDK's error cases: no samples; no previous timestamp and no sample rate;
    a frame not after the previous one; times that would fall before the epoch.
    """
    prev, ts, n = int(previous_timestamp_ns), int(frame_timestamp_ns), int(sample_count)
    if n <= 0:
        raise PmdError("a frame without samples has no sample times", "timestamp")
    if prev == 0:
        if not sample_rate_hz or sample_rate_hz <= 0:
            raise PmdError(
                "sample times of a first frame need the sample rate (previous timestamp and rate are both 0)",
                "timestamp",
            )
        delta = (1.0 / float(sample_rate_hz)) * 1000 * 1000 * 1000
    else:
        if ts <= prev:
            raise PmdError(
                f"frame timestamp {ts} is not after the previous frame's {prev}", "timestamp"
            )
        delta = float(ts - prev) / float(n)
    if float(ts) < delta * float(n):
        raise PmdError(
            f"sample times would be negative: frame timestamp {ts} minus {delta * n:.0f} ns",
            "timestamp",
        )
    if prev == 0:
        start = float(ts) - delta * (n - 1)
        if not start > 0:
            raise PmdError(f"first sample time {start:.0f} ns is not positive", "timestamp")
    else:
        start = float(prev) + delta
    return [round(start + delta * i) for i in range(n - 1)] + [ts]


# --- data frames ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class PmdFrame:
    """One decoded data frame.

    `samples`: n tuples of `channels` values: ints in mG for ACC, floats in °/s for GYRO, after
    the SDK's factor rule. `timestamps_ns`: n sample times (ns since 2000-01-01).
    """

    measurement_type: int
    frame_type: int
    compressed: bool
    timestamp_ns: int
    samples: list[tuple[Any, ...]]
    timestamps_ns: list[int]
    truncated: bool = False
    """The frame was cut short: `samples` are its complete ones, timed from the previous frame."""
    note: str = ""
    """What was odd about the content (a delta block skipped, bytes left over), else ""."""

    @property
    def measurement_name(self) -> str:
        return measurement_name(self.measurement_type)

    def __len__(self) -> int:
        return len(self.samples)


@dataclass(frozen=True)
class _Layout:
    channels: int
    bits: int
    """Resolution of one value (raw: its size; delta: the reference sample's)."""
    unit: str
    """"raw_int", "acc_g", "acc_factor", "gyro_int", "gyro_float"."""


_LAYOUTS: dict[tuple[int, bool, int], _Layout] = {
    # (measurement, compressed, frame type) -> layout, as AccData and GyrData decode them
    (MeasurementType.ACC, False, 0): _Layout(3, 8, "raw_int"),
    (MeasurementType.ACC, False, 1): _Layout(3, 16, "raw_int"),
    (MeasurementType.ACC, False, 2): _Layout(3, 24, "raw_int"),
    (MeasurementType.ACC, True, 0): _Layout(3, 16, "acc_g"),
    (MeasurementType.ACC, True, 1): _Layout(3, 16, "acc_factor"),
    (MeasurementType.GYRO, True, 0): _Layout(3, 16, "gyro_int"),
    (MeasurementType.GYRO, True, 1): _Layout(3, 32, "gyro_float"),
}
MAX_FRAME_TYPE = 10
"""The SDK knows frame types 0..10 (`PmdDataFrameType`)."""


def _wrap32(v: np.ndarray) -> np.ndarray:
    """Kotlin's 32-bit Int arithmetic: values wrapped into -2**31..2**31-1."""
    return ((v + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def _delta_block(block: bytes, width: int, channels: int, complete: int) -> np.ndarray:
    """(complete, channels) signed deltas of `width` bits, LSB first (`parseDeltaFrame`)."""
    bits = np.unpackbits(np.frombuffer(block, np.uint8), bitorder="little")[
        : complete * channels * width
    ]
    values = bits.reshape(-1, width).astype(np.int64) @ (
        np.int64(1) << np.arange(width, dtype=np.int64)
    )
    values = np.where(values & (1 << (width - 1)), values - (1 << width), values)
    return values.reshape(complete, channels)


def _delta_samples(
    content: bytes, channels: int, bits: int, float_bits: bool
) -> tuple[np.ndarray, bool, str]:
    """`BlePMDClient.parseDeltaFramesAll` with its guards: (samples (n, channels) int64, cut
    short, note).

    A reference sample (channels values of ceil(bits/8) bytes), then blocks of `delta size u8,
    sample count u8, count*channels deltas of `delta size` bits, LSB first`. Each delta is
    added to the previous sample (32-bit arithmetic, as in Kotlin). A cut block keeps its
    complete samples; a block with delta size 0 is skipped (as the iOS SDK does); a delta
    size over 32 bits ends the frame there.
    """
    size = (bits + 7) // 8
    if len(content) < channels * size:
        return np.zeros((0, channels), np.int64), bool(content), ""
    ref = [
        _signed(
            int.from_bytes(content[c * size : (c + 1) * size], "little"), 4 if float_bits else size
        )
        for c in range(channels)
    ]
    parts = [np.array([ref], np.int64)]
    last = parts[0][-1]
    pos = channels * size
    note = ""
    cut = False
    while pos < len(content):
        if pos + 2 > len(content):
            cut = True
            break
        width, count = content[pos], content[pos + 1]
        pos += 2
        if width == 0:
            note = note or "a delta block with a delta size of 0 bits was skipped"
            continue
        if width > 32:
            note = f"a delta block says {width}-bit deltas (at most 32); the rest of the frame was dropped"
            break
        nbytes = (width * channels * count + 7) // 8
        block = content[pos : pos + nbytes]
        pos += nbytes
        complete = min(count, (len(block) * 8) // (width * channels))
        if complete:
            block_samples = _wrap32(
                last + np.cumsum(_delta_block(block, width, channels, complete), axis=0)
            )
            parts.append(block_samples)
            last = block_samples[-1]
        if complete < count:
            cut = True
            break
    return np.concatenate(parts), cut, note


def _raw_samples(content: bytes, channels: int, size: int) -> tuple[np.ndarray, bool]:
    """Raw frames: (n, channels) signed little-endian values of `size` bytes, and whether bytes
    were left over (a cut sample)."""
    step = size * channels
    n = len(content) // step
    data = np.frombuffer(content, np.uint8, n * step).reshape(n * channels, size).astype(np.int64)
    values = data @ (np.int64(1) << (8 * np.arange(size, dtype=np.int64)))
    values = np.where(values & (1 << (8 * size - 1)), values - (1 << (8 * size)), values)
    return values.reshape(n, channels), n * step != len(content)


def _kotlin_to_int(values: np.ndarray) -> np.ndarray:
    """Float.toInt(): toward zero, NaN is 0, beyond Int's range its ends (as float64 ints)."""
    with np.errstate(invalid="ignore"):
        out = np.nan_to_num(
            np.trunc(values.astype(np.float64)), nan=0.0, posinf=2**31 - 1, neginf=-(2**31)
        )
    return np.clip(out, -(2**31), 2**31 - 1)


def _scale(raw: np.ndarray, unit: str, factor: float) -> np.ndarray:
    """The SDK's factor rule per frame kind, in Kotlin's Float (IEEE single) arithmetic and
    Float.toInt()'s truncation for ACC: (n, channels) float64 values (whole numbers for ACC)."""
    f = np.float32(factor)
    if unit == "raw_int" or (unit == "acc_factor" and f == 1.0):
        return raw.astype(np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        if unit in ("acc_g", "acc_factor"):  # type 0: G units * factor * 1000 -> mG
            k = f * np.float32(1000.0) if unit == "acc_g" else f
            return _kotlin_to_int(raw.astype(np.float32) * k)
        if unit == "gyro_int":
            values = raw.astype(np.float32)
        else:  # gyro_float: the integers are IEEE-754 bit patterns
            values = (raw & 0xFFFFFFFF).astype(np.uint32).view(np.float32)
        if f != 1.0:
            values = values * f
    return values.astype(np.float64)


def frame_header(payload: bytes) -> tuple[int, int, int, bool]:
    """(measurement type, timestamp ns, frame type, compressed) of a data frame; PmdError if
    shorter than the 10-byte header."""
    data = bytes(payload)
    if len(data) < FRAME_HEADER_SIZE:
        raise PmdError(
            f"PMD data frame too short: {len(data)} bytes, the header alone is {FRAME_HEADER_SIZE}",
            "too_short",
        )
    return (
        data[0] & MEASUREMENT_TYPE_MASK,
        int.from_bytes(data[1:9], "little"),
        data[9] & 0x7F,
        bool(data[9] & 0x80),
    )


def frame_values(
    payload: bytes, *, factor: float = 1.0
) -> tuple[tuple[int, int, int, bool], np.ndarray, bool, str]:
    """A frame's header, its samples as an (n, channels) float64 array in PMD's units after the
    SDK's factor rule (what `decode_frame` returns, without the per-sample times), whether it
    was cut short, and a note. Raises PmdError like `decode_frame` (but never for timestamps)."""
    data = bytes(payload)
    header = frame_header(data)
    mtype, _ts, ftype, compressed = header
    if ftype > MAX_FRAME_TYPE:
        raise PmdError(
            f"frame type {ftype} is not defined (the SDK knows 0..{MAX_FRAME_TYPE})",
            "unsupported_frame",
        )
    layout = _LAYOUTS.get((mtype, compressed, ftype))
    if layout is None:
        kind = "delta-compressed" if compressed else "raw"
        raise PmdError(
            f"{measurement_name(mtype)} {kind} frame type {ftype} is not decoded (tracker reads ACC and GYRO)",
            "unsupported_frame",
        )
    content = data[FRAME_HEADER_SIZE:]
    note = ""
    if compressed:
        raw, truncated, note = _delta_samples(
            content, layout.channels, layout.bits, layout.unit == "gyro_float"
        )
    else:
        raw, truncated = _raw_samples(content, layout.channels, layout.bits // 8)
    return header, _scale(raw, layout.unit, factor), truncated, note


def decode_frame(
    payload: bytes,
    *,
    previous_timestamp_ns: int = 0,
    sample_rate_hz: float = 0,
    factor: float = 1.0,
) -> PmdFrame:
    """One PMD data frame -> `PmdFrame` (ACC frame types 0, 1, 2 and 0x80, 0x81; GYRO 0x80, 0x81).

    `previous_timestamp_ns` is the timestamp of the previous frame of the same measurement and
    frame type (0 for the first), `sample_rate_hz` the rate requested at start, `factor` the one
    the start response gave. A frame cut short decodes its complete samples (`truncated`).
    Raises PmdError only for a frame shorter than its header, a measurement/frame type the SDK
    does not decode as ACC or GYRO, and the timestamp rule's error cases.
    """
    (mtype, ts, ftype, compressed), values, truncated, note = frame_values(payload, factor=factor)
    if mtype == MeasurementType.ACC:
        samples: list[tuple[Any, ...]] = [tuple(s) for s in values.astype(np.int64).tolist()]
    else:
        samples = [tuple(s) for s in values.tolist()]
    times: list[int] = []
    if samples:
        if truncated and previous_timestamp_ns and sample_rate_hz and sample_rate_hz > 0:
            # the frame's timestamp belongs to samples that never arrived: time the complete
            # ones from the previous frame at the sample rate instead
            period = 1e9 / float(sample_rate_hz)
            times = [
                int(previous_timestamp_ns) + round(period * (k + 1)) for k in range(len(samples))
            ]
        else:
            times = sample_timestamps(previous_timestamp_ns, ts, len(samples), sample_rate_hz)
    return PmdFrame(mtype, ftype, compressed, ts, samples, times, truncated, note)

"""What the JSON records of a capture may hold: types, ranges, finite numbers, nesting depth.

A capture comes from a file, and a file can hold anything: every JSON record (header, header copy,
header update, event, end) is checked here before any of its values is used, so a crafted value
(a rate of 0 or 1e300, a range of 10**400, a clock anchor of 1e30, `settings: "x"`, JSON nested
100,000 deep) becomes a `RecordError` naming the field, never a traceback further down.

The checks are declared as msgspec structs (types and `Meta` ranges) rather than written by hand:
msgspec validates while it parses, names the field in its message (`$.settings.sample_rate_hz`),
and imports in milliseconds. Unknown keys are allowed everywhere (a newer minor version may add
some) and kept in the dict the reader returns; only the declared ones are checked.

Adding a field for a new kind of sensor is one line in `Settings` or `Sensor` (optional, with a
range and its unit in the name): the header, its copies, `stream_started` events and settings
updates all use these two structs.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import msgspec
import numpy as np
from msgspec import Meta, Struct

from tracker.capture.format import MAX_JSON_PAYLOAD

MAX_DEPTH = 32
"""Deepest nesting of objects and arrays accepted in a JSON record (the writer's go 4 deep)."""

I64 = Annotated[int, Meta(ge=-(2**63), le=2**63 - 1)]
Text = Annotated[str, Meta(max_length=512)]
Name = Annotated[str, Meta(max_length=64)]
LongText = Annotated[str, Meta(max_length=10_000)]
Seconds = Annotated[float, Meta(ge=0, le=1e9)]
Count = Annotated[int, Meta(ge=0, le=2**63 - 1)]


class RecordError(ValueError):
    """A JSON record that does not hold what its type says; `field` names the culprit."""

    def __init__(self, field: str | None, problem: str) -> None:
        super().__init__(f"{field}: {problem}" if field else problem)
        self.field = field
        self.problem = problem


# --- the pieces ------------------------------------------------------------------------------
class PmdMeasurement(Struct):
    """One measurement's settings as a Polar sensor confirmed them in its start response
    (docs/capture-format.md, "Sensor kinds"): rate in Hz, resolution in bits, range in g or °/s,
    and the factor that scales delta-compressed samples."""

    sample_rate: Annotated[int, Meta(ge=1, le=10_000)] | None = None
    resolution: Annotated[int, Meta(ge=1, le=64)] | None = None
    range: Annotated[int, Meta(ge=0, le=100_000)] | None = None
    channels: Annotated[int, Meta(ge=1, le=16)] | None = None
    factor: Annotated[float, Meta(gt=0, le=1e6)] | None = None


class PhoneSettings(Struct):
    """How a phone's pushed readings are read (docs/capture-format.md, "Phone"): the app, and
    the platform whose sign convention its acceleration follows."""

    app: Name | None = None
    platform: Annotated[str, Meta(pattern="^(android|ios)$")] | None = None
    standardised: bool | None = None
    """Sensor Logger's "Standardise Units & Frames" (iOS then uses Android's signs)."""


class Settings(Struct):
    """How raw counts become SI units. Required in a header; every key optional in an update."""

    sample_rate_hz: Annotated[float, Meta(ge=1, le=10_000)]
    accel_range_g: Annotated[int, Meta(ge=1, le=64)]
    gyro_range_dps: Annotated[int, Meta(ge=0, le=10_000)]
    """0 for a sensor without a gyroscope (the Polar H10)."""
    att_mtu: Annotated[int, Meta(ge=23, le=517)] | None = None
    samples_per_packet: Annotated[int, Meta(ge=1, le=1024)] | None = None
    protocol_version: Annotated[int, Meta(ge=0, le=255)] | None = None
    pmd: dict[Name, PmdMeasurement] | None = None
    """A Polar sensor's settings as it confirmed them, by measurement (ACC, GYRO)."""
    phone: PhoneSettings | None = None
    """A phone's: which app pushed, on which platform."""


SCALE_KEYS = ("sample_rate_hz", "accel_range_g", "gyro_range_dps")
"""The settings that change how raw counts become samples (a new sensor kind adds its own here):
two statements of the settings disagree only when these differ."""


class SettingsUpdate(Struct):
    """`Settings` where every key is optional (a header update may name only what changed)."""

    sample_rate_hz: Annotated[float, Meta(ge=1, le=10_000)] | None = None
    accel_range_g: Annotated[int, Meta(ge=1, le=64)] | None = None
    gyro_range_dps: Annotated[int, Meta(ge=0, le=10_000)] | None = None
    pmd: dict[Name, PmdMeasurement] | None = None
    phone: PhoneSettings | None = None
    att_mtu: Annotated[int, Meta(ge=23, le=517)] | None = None
    samples_per_packet: Annotated[int, Meta(ge=1, le=1024)] | None = None
    protocol_version: Annotated[int, Meta(ge=0, le=255)] | None = None


class Sensor(Struct):
    """Who the sensor was: what it advertised and what its Device Information said."""

    name: Text | None = None
    address: Name | None = None
    driver: Name | None = None
    manufacturer: Text | None = None
    model: Text | None = None
    serial: Text | None = None
    firmware_revision: Text | None = None
    protocol_version: Annotated[int, Meta(ge=0, le=255)] | None = None
    battery_pct_at_start: Annotated[int, Meta(ge=0, le=100)] | None = None


class Clock(Struct):
    """How host times map to UTC: utc = anchor_utc_ns + (host_time_ns - anchor_host_ns)."""

    host_clock: Name = "monotonic"
    anchor_host_ns: I64 | None = None
    anchor_utc_ns: Annotated[int, Meta(ge=0, le=2**63 - 1)] | None = None


Unit = Annotated[float, Meta(ge=-1.5, le=1.5)]
QualityValue = Annotated[float, Meta(ge=-1e12, le=1e12)] | Text | bool | None


class Calibration(Struct):
    sensor_to_body: tuple[tuple[Unit, Unit, Unit], tuple[Unit, Unit, Unit], tuple[Unit, Unit, Unit]]
    source: Name = "pairing"
    quality: dict[Name, QualityValue] | None = None


UtcOffset = Annotated[int, Meta(ge=-18 * 3600, le=18 * 3600)]


class Header(Struct):
    """The HEADER record (docs/capture-format.md, "Header")."""

    settings: Settings
    sensor: Sensor | None = None
    calibration: Calibration | None = None
    clock: Clock | None = None
    format: Name | None = None
    format_version: Name | None = None
    tracker_version: Name | None = None
    created_utc: Name | None = None
    timezone: Name | None = None
    utc_offset_s: UtcOffset | None = None
    notes: LongText | None = None
    extra: dict[Text, Any] | None = None


class HeaderCopy(Header):
    """A HEADER_COPY record, and the `header` of the END record: the header as it stands there."""

    settings_epoch: Count = 0
    """How many settings updates came before it (0: the header's own settings)."""
    imu_notifications: Count | None = None
    """IMU notifications the writer had written before it."""


class HeaderUpdate(Struct):
    settings: SettingsUpdate | None = None
    sensor: Sensor | None = None
    calibration: Calibration | None = None
    clock: Clock | None = None
    timezone: Name | None = None
    utc_offset_s: UtcOffset | None = None
    notes: LongText | None = None
    extra: dict[Text, Any] | None = None


class End(Struct):
    notifications: Count | None = None
    records: Count | None = None
    closed_utc: Name | None = None
    header: HeaderCopy | None = None


# --- events ----------------------------------------------------------------------------------
class Event(Struct):
    """Any event: a `kind`; the kinds below check their own fields too."""

    kind: Name


class StreamStarted(SettingsUpdate):
    """The settings in effect when a stream started (the sensor's own report)."""


class LinkLost(Struct):
    reason: Text | None = None


class Reconnected(Struct):
    after: Text | None = None
    gap_s: Seconds | None = None
    attempts: Count | None = None


class SensorSilent(Struct):
    silent_s: Seconds


class Note(Struct):
    text: LongText | None = None


class Stopped(Struct):
    reason: Text | None = None


EVENT_FIELDS: dict[str, type[Struct]] = {
    "stream_started": StreamStarted,
    "link_lost": LinkLost,
    "reconnected": Reconnected,
    "sensor_silent": SensorSilent,
    "note": Note,
    "recording_stopped": Stopped,
    "stream_stopped": Stopped,
}
"""Event kinds with checked fields; other kinds are kept with only `kind` checked."""


# --- decoding --------------------------------------------------------------------------------
_NON_FINITE = re.compile(rb"-?Infinity|NaN")


def _in_string(payload: bytes) -> np.ndarray:
    """For each byte, whether it lies inside a JSON string (quotes included). Vectorised and
    linear: a quote counts when an even number of backslashes precedes it."""
    b = np.frombuffer(payload, np.uint8)
    idx = np.arange(b.size)
    last_plain = np.maximum.accumulate(np.where(b != ord("\\"), idx, -1))
    backslashes = idx - 1 - np.concatenate(([-1], last_plain[:-1]))
    quote = (b == ord('"')) & (backslashes % 2 == 0)
    opened = np.cumsum(quote) % 2 == 1
    return opened | quote


def json_depth(payload: bytes) -> int:
    """How deeply objects and arrays nest in `payload` (brackets inside strings do not count);
    when that cannot exceed `MAX_DEPTH`, an upper bound found faster (the number of brackets)."""
    opening = payload.count(b"[") + payload.count(b"{")
    if opening <= MAX_DEPTH:
        return opening
    b = np.frombuffer(payload, np.uint8)
    outside = ~_in_string(payload)
    step = (np.isin(b, (ord("["), ord("{"))) & outside).astype(np.int64) - (
        np.isin(b, (ord("]"), ord("}"))) & outside
    )
    return int(np.cumsum(step).max(initial=0))


NON_FINITE = frozenset({"NaN", "Infinity", "-Infinity"})
"""What a bare NaN, Infinity or -Infinity reads as: a string, which no number field accepts, so
the check names the field (and says it was not a number) instead of the record failing to parse."""


def _quote_non_finite(payload: bytes) -> bytes:
    """Bare NaN, Infinity and -Infinity outside strings turned into strings."""
    hits = [m.span() for m in _NON_FINITE.finditer(payload)]
    if not hits:
        return payload
    inside = _in_string(payload)
    out, last = [], 0
    for a, b in hits:
        if not inside[a]:
            out += [payload[last:a], b'"' + payload[a:b] + b'"']
            last = b
    return b"".join([*out, payload[last:]])


def _problem(exc: msgspec.MsgspecError) -> RecordError:
    text = str(exc)
    field = None
    if " - at `$" in text:
        text, _, where = text.rpartition(" - at `$")
        field = where.rstrip("`").lstrip(".") or None
    text = text.replace("`", "")
    if field is not None and "[...]" in field:
        field = None  # inside a free-form value: msgspec cannot say where
    if text == "Number out of range":
        text = "a number out of range (beyond ±1.8e308)"
    return RecordError(field, text if text[1:2].isupper() else text[:1].lower() + text[1:])


def parse_json(payload: bytes) -> dict[str, Any]:
    """The JSON object in a record's payload; `RecordError` for anything else.

    Bare NaN and Infinity (which older writers' `json.dumps` could write) read as the strings
    "NaN" and "Infinity" (see `NON_FINITE`).
    """
    if len(payload) > MAX_JSON_PAYLOAD:
        raise RecordError(None, f"a JSON record of {len(payload)} bytes (at most {MAX_JSON_PAYLOAD})")
    depth = json_depth(payload)
    if depth > MAX_DEPTH:
        raise RecordError(None, f"JSON nested {depth} deep (at most {MAX_DEPTH})")
    if b"NaN" in payload or b"Infinity" in payload:
        payload = _quote_non_finite(payload)
    try:
        obj = msgspec.json.decode(payload)
    except RecursionError:  # pragma: no cover  json_depth keeps it from happening
        raise RecordError(None, "JSON nested too deep") from None
    except msgspec.MsgspecError as exc:
        raise _problem(exc) from None
    if not isinstance(obj, dict):
        raise RecordError(None, f"a JSON {type(obj).__name__}, not an object")
    return obj


_STEP = re.compile(r"\.?([^.\[\]]+)|\[(\d+)\]")


def _value_at(obj: Any, field: str) -> Any:
    """The value at a msgspec path such as `calibration.sensor_to_body[0][1]` (None if absent)."""
    for key, index in _STEP.findall(field):
        try:
            obj = obj[int(index)] if index else obj[key]
        except (KeyError, IndexError, TypeError, ValueError):
            return None
    return obj


def _named(exc: msgspec.MsgspecError, obj: Any) -> RecordError:
    err = _problem(exc)
    if err.field is not None:
        value = _value_at(obj, err.field)
        if isinstance(value, str) and value in NON_FINITE:
            return RecordError(err.field, f"{value} is not a usable number")
    return err


def check(obj: dict[str, Any], schema: type[Struct]) -> dict[str, Any]:
    """`obj` when it satisfies `schema` (unknown keys allowed and kept), else `RecordError`."""
    try:
        msgspec.convert(obj, schema, strict=True)
    except msgspec.MsgspecError as exc:
        raise _named(exc, obj) from None
    return obj


ESSENTIAL = frozenset({"settings"})
"""Header keys without which samples cannot be read; any other unusable key is dropped with a note."""


def repaired(obj: dict[str, Any], schema: type[Struct]) -> tuple[dict[str, Any], list[str]]:
    """`obj` checked against `schema`, with every unusable non-essential top-level key removed;
    and a note per removed key naming the field. `RecordError` when an essential key (or the
    record as a whole) is unusable."""
    obj = dict(obj)
    notes: list[str] = []
    for _ in range(len(obj) + 1):
        try:
            return check(obj, schema), notes
        except RecordError as exc:
            top = re.split(r"[.\[]", exc.field or "", maxsplit=1)[0]
            if not top or top in ESSENTIAL or top not in obj:
                raise
            del obj[top]
            notes.append(f"{exc}; it was ignored")
    raise RecordError(None, "too many unusable fields")


def check_event(obj: dict[str, Any]) -> dict[str, Any]:
    check(obj, Event)
    fields = EVENT_FIELDS.get(obj["kind"])
    if fields is not None:
        check({k: v for k, v in obj.items() if k != "kind"}, fields)
    return obj


def check_settings(settings: Any) -> dict[str, Any]:
    """Complete settings (after merging updates) that can scale samples."""
    if not isinstance(settings, dict):
        raise RecordError("settings", f"expected object, got {type(settings).__name__}")
    try:
        msgspec.convert(settings, Settings, strict=True)
    except msgspec.MsgspecError as exc:
        err = _named(exc, settings)
        raise RecordError(f"settings.{err.field}" if err.field else "settings", err.problem) from None
    return settings


def settings_in(obj: dict[str, Any]) -> dict[str, Any]:
    """The settings keys of a `stream_started` event (which carries them at its top level)."""
    return {k: obj[k] for k in SettingsUpdate.__struct_fields__ if k in obj}

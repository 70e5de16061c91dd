"""Emulated Polar sensors: an H10 chest strap and a Verity Sense, real GATT peripherals on Bumble.

They speak PMD as Polar's SDK and documents describe it (`tracker.protocol.pmd`):

- advertising: flags, the name ("Polar H10 1A2B3C4D", "Polar Sense 1A2B3C4D": model and device
  ID) and the Heart Rate service UUID 0x180D, as the real ones advertise; no scan response;
- PMD service FB005C80-...: control point FB005C81 (read: the feature bits; write with
  response: requests; indicate: `F0 op type status more params` responses) and data FB005C82
  (notify). No bond is needed (Polar sensors stream unbonded; pairing is accepted);
- requests: get settings (what the sensor offers), start (checked value by value: the H10
  needs sample rate, resolution and range; each wrong one gets its own status), stop; a start
  while streaming is ERROR_ALREADY_IN_STATE, a link below an ATT MTU of 232 ERROR_INVALID_MTU,
  an op code that is not implemented ERROR_INVALID_OP_CODE;
- data: the H10's accelerometer in raw frames of type 1 (16-bit mG); the Verity Sense's
  accelerometer and gyroscope in delta-compressed frames of type 0 (0x80), each stream with
  its own timestamps, with the factor (units per count) in the start response; the gyro samples
  half a period after the accelerometer's, as two separate chips would;
- Heart Rate 0x180D (H10: measurement notifications every second, body sensor location chest),
  Battery 0x180F, Device Information 0x180A (Polar Electro Oy, model, serial, firmware).

Both measure what the tracker IMU emulator measures (`tracker.emulator.sources`: the simulated
session by default), converted to Polar's units. Faults: `drop_link` (Peripheral), `refuse_start`
(the next start gets a status), `inject_frame` (raw bytes on the data characteristic),
`go_silent`. `sent_frames` logs every frame with what the sensor measured (SI) and the integers sent.

Deviations, on purpose: the Verity Sense offers only ACC and GYRO at 52 Hz (its normal mode;
the real one also streams PPG, PPI and the magnetometer, and more rates in SDK mode); no
offline recording, SDK mode or time setting; the sensor clock starts at the model's default time.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from bumble import att
from bumble.controller import Controller
from bumble.device import Connection, Device
from bumble.gatt import Characteristic, CharacteristicValue, Service
from bumble.link import LocalLink

from tracker.emulator.peripheral import Peripheral, SensorClock, refuse_read, refuse_write
from tracker.emulator.sources import (
    SampleSource,
    SensorConfig,
    as_source,
    counts_to_si,
    default_source,
)
from tracker.protocol import heart_rate as hr
from tracker.protocol import pmd, spec
from tracker.protocol import pmd_sensor as sensor_side

logger = logging.getLogger(__name__)

MANUFACTURER = "Polar Electro Oy"
DEFAULT_TIME_NS = {"polar-h10": 599_616_000_000_000_000, "polar-verity": 536_580_000_000_000_000}
"""Sensor time at power-on, ns since 2000-01-01 (TimeSystemExplained.md: an H10 restarts at
2019-01-01T00:00:00Z, a Verity Sense at 2017-01-01T10:00:00Z)."""
FRAME_MAX_AGE_S = 0.25
"""A frame leaves once its oldest sample is this old (or the MTU is full)."""
_STATUS = {name: code for code, name in pmd.STATUS_NAMES.items()}


@dataclass(frozen=True)
class MeasurementSpec:
    """What one measurement offers, how a start request must look, and how its frames are built."""

    offered: dict[str, list[int]]
    """The get-settings answer: {"sample_rate": [...], "resolution": [...], "range": [...], ...}."""
    required: tuple[str, ...]
    """Settings a start request must carry (else ERROR_INVALID_PARAMETER)."""
    frame_type: int
    compressed: bool
    unit: str
    """"mG" (raw ints) or "G" / "dps" (ints of `range / 32768` per count, the factor)."""
    phase: float = 0.0
    """Sample instants offset by this fraction of a period (a separate chip's own grid)."""


@dataclass(frozen=True)
class SentFrame:
    """One data frame the sensor built, whether or not it went on air."""

    measurement: str
    timestamps_ns: list[int]
    values: np.ndarray = field(repr=False)
    """(n, 3) what the sensor measured, SI (m/s² or rad/s), before Polar's quantization."""
    source_index: tuple[int, int]
    """Source sample indices [start, stop) of its samples."""
    payload: bytes = field(repr=False)
    sent: bool
    dropped: str | None
    ints: np.ndarray = field(repr=False, default_factory=lambda: np.zeros((0, 3), np.int64))
    """(n, 3) the integers the frame carries (mG, or counts of the factor)."""


@dataclass
class _Stream:
    name: str
    spec: MeasurementSpec
    rate_hz: int
    range: int
    factor: float
    start_index: int
    next_k: int = 0
    task: asyncio.Task[None] | None = None


def quantization_step(unit: str, factor: float) -> float:
    """SI size of one transmitted integer: what a decoded value may differ from the measured one
    by, twice over for the accelerometer's delta frames (rounding here, truncation in the SDK)."""
    if unit == "mG":
        return pmd.MILLI_G_M_S2
    if unit == "G":
        return factor * spec.STANDARD_GRAVITY_M_S2 + pmd.MILLI_G_M_S2
    return factor * math.pi / 180.0


def _quantize(si: np.ndarray, unit: str, range_: int, factor: float) -> np.ndarray:
    """SI values (n, 3) -> the integers sent: mG (raw frames), else counts of `factor`."""
    if unit == "mG":
        return np.clip(np.rint(si / pmd.MILLI_G_M_S2), -range_ * 1000, range_ * 1000).astype(
            np.int64
        )
    per_count = factor * (spec.STANDARD_GRAVITY_M_S2 if unit == "G" else math.pi / 180.0)
    return np.clip(np.rint(si / per_count), -32768, 32767).astype(np.int64)


class EmulatedPolarSensor(Peripheral):
    """A Polar sensor speaking PMD (see the module docstring); use `EmulatedPolarH10` or
    `EmulatedVeritySense`.

    Keywords: `link`, `controller_factory`, `hci_transport` as `Peripheral`; `address`;
    `device_id` (8 hex digits, in the name and serial); `source` (a `SampleSource` or raw counts
    at the tracker IMU's default ranges; default the simulated session); `speed` (1 real time,
    > 1 faster, 0 as fast as flow control allows); `clock_drift_ppm`; `initial_time_ns` (sensor
    clock at power-on, ns since 2000-01-01); `battery_pct`; `heart_rate_bpm`; `seed`;
    `send_log_limit` (keep only the newest frames in `sent_frames`).
    """

    kind = ""
    model = ""
    name_prefix = ""
    firmware_revision = ""
    features: frozenset[str] = frozenset()
    measurements: dict[str, MeasurementSpec] = {}
    has_heart_rate = False

    def __init__(
        self,
        link: LocalLink | None = None,
        *,
        controller_factory: Callable[[str], Controller] | None = None,
        hci_transport: str | None = None,
        address: str = "E0:00:00:00:00:01",
        device_id: str = "1A2B3C4D",
        source: SampleSource | np.ndarray | None = None,
        speed: float | None = 1.0,
        clock_drift_ppm: float = 15.0,
        initial_time_ns: int | None = None,
        battery_pct: int = 91,
        heart_rate_bpm: float = 62.0,
        seed: int = 0,
        send_log_limit: int | None = None,
    ) -> None:
        device_id = device_id.strip().upper()
        if len(device_id) != 8 or any(c not in "0123456789ABCDEF" for c in device_id):
            raise ValueError(f"device_id must be 8 hex digits; got {device_id!r}")
        if speed is not None and speed < 0:
            raise ValueError(f"speed must be >= 0 (0 = as fast as possible); got {speed}")
        if not 0 <= battery_pct <= 100:
            raise ValueError(f"battery_pct must be 0..100; got {battery_pct}")
        super().__init__(
            link,
            name=f"{self.name_prefix}{device_id}",
            address=address,
            irk_seed=f"polar-irk/{self.kind}/{device_id}/{address.upper()}",
            controller_factory=controller_factory,
            hci_transport=hci_transport,
        )
        self.max_att_mtu = 247
        self.device_id = device_id
        self.serial_number = device_id
        self.speed = float(speed or 0.0)
        self.clock_drift_ppm = float(clock_drift_ppm)
        self.seed = int(seed)
        self.heart_rate_bpm = float(heart_rate_bpm)
        self._initial_time_ns = int(
            DEFAULT_TIME_NS.get(self.kind, 0) if initial_time_ns is None else initial_time_ns
        )
        self._source: SampleSource = (
            default_source(seed=self.seed) if source is None else as_source(source, 100)
        )
        self._source_origin_ns: int | None = None
        self._battery = int(battery_pct)
        self._clock: SensorClock | None = None
        self._streams: dict[str, _Stream] = {}
        self._refusals: deque[int] = deque()
        self._silent_until = 0.0
        self._cp_char: Characteristic[bytes] | None = None
        self._data_char: Characteristic[bytes] | None = None
        self._battery_char: Characteristic[bytes] | None = None
        self._hr_char: Characteristic[bytes] | None = None
        self.sent_frames: list[SentFrame] | deque[SentFrame] = (
            [] if send_log_limit is None else deque(maxlen=int(send_log_limit))
        )
        self.control_log: list[tuple[bytes, int, int, dict[str, bool]]] = []
        """(request, op code, status, {"cp_indicate": .., "data_notify": ..} at the time) per write."""
        self.heart_rates: list[int] = []

    # --- public state ------------------------------------------------------------------------
    @property
    def advertising_data(self) -> bytes:
        name = self.name.encode()
        return b"\x02\x01\x06" + bytes([len(name) + 1, 0x09]) + name + b"\x03\x03\x0d\x18"

    @property
    def source(self) -> SampleSource:
        return self._source

    @property
    def streaming(self) -> set[str]:
        return set(self._streams)

    @property
    def battery_level(self) -> int:
        return self._battery

    def sensor_time_ns(self) -> int:
        return self._initial_time_ns if self._clock is None else self._clock.now()

    def sent_values(
        self, measurement: str = "ACC", *, only_sent: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """(timestamps ns (N,), SI values (N, 3)) of every frame of `measurement` sent (or built)."""
        frames = [
            f
            for f in self.sent_frames
            if f.measurement == measurement and (f.sent or not only_sent)
        ]
        if not frames:
            return np.zeros(0, np.int64), np.zeros((0, 3))
        return np.concatenate(
            [np.asarray(f.timestamps_ns, np.int64) for f in frames]
        ), np.concatenate([f.values for f in frames])

    def describe(self) -> dict[str, Any]:
        return {
            "emulated": True,
            "kind": self.kind,
            "name": self.name,
            "address": self.address,
            "speed": self.speed,
            "clock_drift_ppm": self.clock_drift_ppm,
            "source": self._source.describe(),
        }

    # --- faults --------------------------------------------------------------------------------
    def refuse_start(self, status: int | str = "ERROR_INVALID_STATE", count: int = 1) -> None:
        """Answer the next `count` start requests with `status` (a code or an SDK name)."""
        code = _STATUS[status] if isinstance(status, str) else int(status)
        self._refusals.extend([code] * int(count))

    async def inject_frame(self, payload: bytes) -> None:
        """Notify raw bytes on the data characteristic (broken frames for tests)."""
        if self._connection is not None and self._data_char is not None:
            await self.device.gatt_server.notify_subscriber(
                self._connection, self._data_char, bytes(payload)
            )

    async def go_silent(self, seconds: float) -> None:
        """Stay connected but send no data frames for `seconds` (frames due meanwhile are lost)."""
        self._silent_until = max(self._silent_until, time.monotonic() + float(seconds))

    async def set_battery(self, level_pct: int) -> None:
        if not 0 <= level_pct <= 100:
            raise ValueError(f"battery level must be 0..100; got {level_pct}")
        self._battery = int(level_pct)
        if (
            self._device is not None
            and self._battery_char is not None
            and self._connection is not None
        ):
            await self.device.gatt_server.notify_subscribers(
                self._battery_char, bytes([self._battery])
            )

    # --- Peripheral hooks ------------------------------------------------------------------------
    def _powered_on(self) -> None:
        self._clock = SensorClock(
            self._initial_time_ns, self.clock_drift_ppm, self.speed, units_per_s=1e9
        )

    def _stopping_now(self) -> None:
        self._stop_all()

    def _connected(self, connection: Connection) -> None:
        if self.has_heart_rate:
            self._spawn(self._heart_rate_loop(connection))

    def _disconnected(self, connection: Connection, reason: int) -> None:
        self._stop_all()

    def _build_gatt(self, device: Device) -> list[Service]:
        perm = att.Attribute.Permissions
        props = Characteristic.Properties

        def read_only(value: bytes | Callable[[Connection], bytes]) -> CharacteristicValue[bytes]:
            reader = value if callable(value) else (lambda _c, v=value: v)
            return CharacteristicValue(read=reader, write=refuse_write)

        self._cp_char = Characteristic(
            pmd.PMD_CONTROL_POINT_UUID,
            props.READ | props.WRITE | props.INDICATE,
            perm.READABLE | perm.WRITEABLE,
            CharacteristicValue(
                read=lambda _c: sensor_side.encode_features(self.features),
                write=self._on_control_write,
            ),
        )
        self._data_char = Characteristic(
            pmd.PMD_DATA_UUID,
            props.NOTIFY,
            perm(0),
            CharacteristicValue(read=refuse_read, write=refuse_write),
        )
        self._battery_char = Characteristic(
            spec.BATTERY_LEVEL_UUID,
            props.READ | props.NOTIFY,
            perm.READABLE,
            read_only(lambda _c: bytes([self._battery])),
        )
        dis = [
            (spec.MANUFACTURER_NAME_UUID, MANUFACTURER),
            (spec.MODEL_NUMBER_UUID, self.model),
            (spec.SERIAL_NUMBER_UUID, self.serial_number),
            (spec.FIRMWARE_REVISION_UUID, self.firmware_revision),
        ]
        services = [
            Service(pmd.PMD_SERVICE_UUID, [self._cp_char, self._data_char]),
            Service(spec.BATTERY_SERVICE_UUID, [self._battery_char]),
            Service(
                spec.DEVICE_INFO_SERVICE_UUID,
                [
                    Characteristic(uuid, props.READ, perm.READABLE, read_only(text.encode()))
                    for uuid, text in dis
                ],
            ),
        ]
        if self.has_heart_rate:
            self._hr_char = Characteristic(
                hr.HEART_RATE_MEASUREMENT_UUID,
                props.NOTIFY,
                perm(0),
                CharacteristicValue(read=refuse_read, write=refuse_write),
            )
            location: Characteristic[bytes] = Characteristic(
                hr.BODY_SENSOR_LOCATION_UUID,
                props.READ,
                perm.READABLE,
                read_only(bytes([hr.BODY_SENSOR_LOCATION_CHEST])),
            )
            services.insert(0, Service(hr.HEART_RATE_SERVICE_UUID, [self._hr_char, location]))
        return services

    # --- control point -------------------------------------------------------------------------
    async def _on_control_write(self, connection: Connection, value: bytes) -> None:
        request = bytes(value)
        op, mtype, status, params = self.execute_control(request, att_mtu=connection.att_mtu)
        assert self._cp_char is not None and self._data_char is not None
        subscribed = {
            "cp_indicate": self._subscribed(connection, self._cp_char, 0x02),
            "data_notify": self._subscribed(connection, self._data_char, 0x01),
        }
        self.control_log.append((request, op, status, subscribed))
        if subscribed[
            "cp_indicate"
        ]:  # executed either way; the answer goes out only when asked for
            response = sensor_side.encode_cp_response(op, mtype, status, params)
            self._spawn(self._indicate(connection, response))

    def execute_control(self, request: bytes, *, att_mtu: int = 247) -> tuple[int, int, int, bytes]:
        """Run one request; (op code, measurement type, status, response parameters). No radio."""
        parsed = sensor_side.parse_request(request)
        if isinstance(parsed, tuple):
            op, mtype, status = parsed
            return op, mtype, status, b""
        op, mtype = parsed.op_code, parsed.measurement_type
        name = pmd.measurement_name(mtype)
        if op not in (
            pmd.OpCode.GET_MEASUREMENT_SETTINGS,
            pmd.OpCode.REQUEST_MEASUREMENT_START,
            pmd.OpCode.STOP_MEASUREMENT,
        ):
            return op, mtype, _STATUS["ERROR_INVALID_OP_CODE"], b""
        if name == "UNKNOWN_TYPE":
            return op, mtype, _STATUS["ERROR_INVALID_MEASUREMENT_TYPE"], b""
        mspec = self.measurements.get(name)
        if mspec is None or parsed.offline:
            return op, mtype, _STATUS["ERROR_NOT_SUPPORTED"], b""
        if op == pmd.OpCode.GET_MEASUREMENT_SETTINGS:
            return op, mtype, 0, pmd.encode_settings(mspec.offered)
        if op == pmd.OpCode.STOP_MEASUREMENT:
            if name not in self._streams:
                return op, mtype, _STATUS["ERROR_ALREADY_IN_STATE"], b""
            self._stop(name)
            return op, mtype, 0, b""
        status = self._check_start(name, mspec, parsed.settings, att_mtu)
        if status:
            return op, mtype, status, b""
        factor = self._start(name, mspec, parsed.settings)
        params = pmd.encode_settings({"factor": factor}) if mspec.unit != "mG" else b""
        return op, mtype, 0, params

    def _check_start(
        self, name: str, mspec: MeasurementSpec, settings: dict[str, Any], att_mtu: int
    ) -> int:
        if name in self._streams:
            return _STATUS["ERROR_ALREADY_IN_STATE"]
        if self._refusals:
            return self._refusals.popleft()
        if att_mtu < pmd.MIN_ATT_MTU:
            return _STATUS["ERROR_INVALID_MTU"]
        if any(key not in settings for key in mspec.required):
            return _STATUS["ERROR_INVALID_PARAMETER"]
        checks = {
            "sample_rate": "ERROR_INVALID_SAMPLE_RATE",
            "resolution": "ERROR_INVALID_RESOLUTION",
            "range": "ERROR_INVALID_RANGE",
            "channels": "ERROR_INVALID_NUMBER_OF_CHANNELS",
        }
        for key, values in settings.items():
            if key not in checks:
                return _STATUS["ERROR_INVALID_PARAMETER"]
            offered = mspec.offered.get(key, [3] if key == "channels" else [])
            if len(values) != 1 or values[0] not in offered:
                return _STATUS[checks[key]]
        return 0

    async def _indicate(self, connection: Connection, payload: bytes) -> None:
        assert self._cp_char is not None
        try:
            await self.device.gatt_server.indicate_subscriber(connection, self._cp_char, payload)
        except Exception as exc:  # noqa: BLE001  a vanished host never confirms; the sensor carries on
            logger.warning(
                "%s: control-point indication %s not confirmed: %s", self.name, payload.hex(), exc
            )

    # --- streaming ----------------------------------------------------------------------------------
    def _start(self, name: str, mspec: MeasurementSpec, settings: dict[str, Any]) -> float:
        assert self._clock is not None
        rate = int(settings.get("sample_rate", mspec.offered["sample_rate"])[0])
        range_ = int(settings.get("range", mspec.offered["range"])[0])
        factor = 1.0 if mspec.unit == "mG" else range_ / 32768.0  # exact in float32
        now = self._clock.now()
        if self._source_origin_ns is None:
            self._source_origin_ns = now
        period = 1e9 / rate
        start_index = max(0, math.ceil((now - self._source_origin_ns) / period - mspec.phase))
        stream = _Stream(name, mspec, rate, range_, factor, start_index)
        self._streams[name] = stream
        stream.task = self._spawn(self._stream_loop(stream))
        return factor

    def _stop(self, name: str) -> None:
        stream = self._streams.pop(name, None)
        if stream is not None and stream.task is not None:
            stream.task.cancel()

    def _stop_all(self) -> None:
        for name in list(self._streams):
            self._stop(name)

    def _time_ns(self, stream: _Stream, index: int) -> int:
        assert self._source_origin_ns is not None
        return self._source_origin_ns + round((index + stream.spec.phase) * 1e9 / stream.rate_hz)

    async def _stream_loop(self, stream: _Stream) -> None:
        assert self._clock is not None
        clock = self._clock
        try:
            while self._streams.get(stream.name) is stream and self._connection is not None:
                connection = self._connection
                n = max(1, math.ceil(FRAME_MAX_AGE_S * stream.rate_hz - 1e-9))
                last = stream.start_index + stream.next_k + n - 1
                due = clock.host_time(self._time_ns(stream, last))
                if self.speed > 0:
                    await self._wait_until_due(due)
                    if (
                        self._streams.get(stream.name) is not stream
                        or self._connection is not connection
                    ):
                        return
                else:
                    clock.catch_up(self._time_ns(stream, last))
                await self._send_frame(stream, connection, n)
                if self.speed == 0:
                    await self._flow_control(connection)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("%s: %s streaming failed", self.name, stream.name)
            self._streams.pop(stream.name, None)

    def _si(self, stream: _Stream, start: int, stop: int) -> np.ndarray:
        """What the sensor measures for source samples [start, stop) (gyro: between samples)."""
        config = SensorConfig(
            stream.rate_hz, spec.DEFAULT_ACCEL_RANGE_G, spec.DEFAULT_GYRO_RANGE_DPS
        )
        extra = 1 if stream.spec.phase else 0
        acc, gyr = counts_to_si(self._source.counts(start, stop + extra, config), config)
        si = acc if stream.name == "ACC" else gyr
        if extra:  # the sample half a period later: linear interpolation between neighbours
            si = si[:-1] + stream.spec.phase * (si[1:] - si[:-1])
        return si

    async def _send_frame(self, stream: _Stream, connection: Connection, n: int) -> None:
        assert self._data_char is not None
        start = stream.start_index + stream.next_k
        mspec = stream.spec
        limit = max(pmd.FRAME_HEADER_SIZE + 6, connection.att_mtu - 3)
        values = self._si(stream, start, start + n)
        ints = _quantize(values, mspec.unit, stream.range, stream.factor)
        times = [self._time_ns(stream, start + k) for k in range(n)]
        payload = sensor_side.encode_frame(
            stream.name, times[-1], mspec.frame_type, ints.tolist(), compressed=mspec.compressed
        )
        while len(payload) > limit and n > 1:  # fewer samples until the frame fits the link
            n -= 1
            payload = sensor_side.encode_frame(
                stream.name,
                times[n - 1],
                mspec.frame_type,
                ints[:n].tolist(),
                compressed=mspec.compressed,
            )
        dropped = None
        if time.monotonic() < self._silent_until:
            dropped = "silent"
        elif not self._subscribed(connection, self._data_char, 0x01):
            dropped = "unsubscribed"
        if dropped is None:
            await self.device.gatt_server.notify_subscriber(connection, self._data_char, payload)
        self.sent_frames.append(
            SentFrame(
                stream.name,
                times[:n],
                values[:n],
                (start, start + n),
                payload,
                dropped is None,
                dropped,
                ints[:n],
            )
        )
        stream.next_k += n

    # --- heart rate ------------------------------------------------------------------------------
    async def _heart_rate_loop(self, connection: Connection) -> None:
        """One Heart Rate Measurement a second of sensor time while the host listens."""
        assert self._hr_char is not None
        beat = 0
        while self._connection is connection:
            await asyncio.sleep(1.0 / (self.speed or 50.0))
            if not self._subscribed(connection, self._hr_char, 0x01):
                continue
            bpm = self.heart_rate_bpm + 3.0 * math.sin(beat / 9.0)
            rr = round(60.0 / bpm * 1024)
            beat += 1
            payload = hr.encode_heart_rate(round(bpm), [rr])
            try:
                await self.device.gatt_server.notify_subscriber(connection, self._hr_char, payload)
            except Exception as exc:  # noqa: BLE001  the host left; the loop ends with the link
                logger.debug("heart rate notification failed: %s", exc)
                return
            self.heart_rates.append(round(bpm))


class EmulatedPolarH10(EmulatedPolarSensor):
    """A Polar H10 chest strap: ECG and ACC over PMD (ACC emulated), Heart Rate, Battery, DIS."""

    kind = "polar-h10"
    model = "H10"
    name_prefix = "Polar H10 "
    firmware_revision = "3.1.1"
    features = frozenset({"ECG", "ACC"})
    has_heart_rate = True
    measurements = {
        "ACC": MeasurementSpec(
            offered={"sample_rate": [25, 50, 100, 200], "resolution": [16], "range": [2, 4, 8]},
            required=("sample_rate", "resolution", "range"),
            frame_type=1,
            compressed=False,
            unit="mG",
        )
    }


class EmulatedVeritySense(EmulatedPolarSensor):
    """A Polar Verity Sense in its normal mode: ACC and GYRO at 52 Hz, delta-compressed."""

    kind = "polar-verity"
    model = "Polar Sense"
    name_prefix = "Polar Sense "
    firmware_revision = "2.1.0"
    features = frozenset({"ACC", "GYRO"})
    measurements = {
        "ACC": MeasurementSpec(
            offered={"sample_rate": [52], "resolution": [16], "range": [8], "channels": [3]},
            required=("sample_rate",),
            frame_type=0,
            compressed=True,
            unit="G",
        ),
        "GYRO": MeasurementSpec(
            offered={"sample_rate": [52], "resolution": [16], "range": [2000], "channels": [3]},
            required=("sample_rate",),
            frame_type=0,
            compressed=True,
            unit="dps",
            phase=0.5,
        ),
    }


POLAR_EMULATORS: dict[str, type[EmulatedPolarSensor]] = {
    EmulatedPolarH10.kind: EmulatedPolarH10,
    EmulatedVeritySense.kind: EmulatedVeritySense,
}

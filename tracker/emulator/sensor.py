"""The emulated sensor: a real GATT peripheral on Bumble speaking protocol version 1.

One `EmulatedSensor` is one sensor: a Bumble `Device` with its own virtual controller on a
`bumble.link.LocalLink` (or, with `hci_transport=`, a host on any Bumble HCI transport such as a
USB dongle, where it becomes a sensor any phone can see). It implements `firmware_protocol.md`
from the tables in `tracker.protocol.spec`:

- advertising: flags, the name "TRK-XXXX" and the 128-bit IMU service UUID: 31 bytes, no scan
  response; 20 ms interval; stops while connected (one host at a time);
- IMU service: data (notify; subscribing needs an LE Secure Connections bond), control point
  (write with response + indicate, same requirement; results as [0x80, opcode, result] indications),
  status (read, open); Battery Service (level, read + notify, drains while streaming); Device
  Information (manufacturer, model, serial, firmware revision). Every read-only attribute refuses
  writes, and every attribute without a value refuses reads (a Bumble server would otherwise never
  answer and the client waits 30 s);
- SMP: LE Secure Connections only (a legacy request fails with Authentication Requirements),
  Just Works, bonding; bonds (at most 4, oldest replaced) and each bond's CCCD values kept in a
  `BondStore` and restored when the bonded host encrypts again (`bonded_access.BondedAccess`);
- streaming paced to the sample rate against a monotonic clock (`speed` scales time; 0 streams as
  fast as flow control allows), timestamps from a sensor clock with drift (ppm) and any initial
  value (wrap tests), STREAM_START / CLIPPED / SENSOR_OVERFLOW flags, samples per packet from
  the negotiated MTU capped so no sample waits over 100 ms, a last short packet on STOP_STREAM;
- faults: `drop_link` (out of range), `lose_packets`, `go_silent`, `overflow_fifo`, battery level
  and drain (0 % powers off); a host that vanishes without disconnecting is dropped after 0.5 s
  with reason 0x08, as a supervision timeout would;
- a send log (`send_log`) of every packet the firmware produced: stream, sequence, source sample
  range, counts, bytes, whether it went on air, and when.

Deviations from firmware_protocol.md, on purpose: advertising stays at 20 ms (no slow phase after
30 s), and no connection-parameter update is requested (the virtual link has no air timing).

Time model: samples exist on the sensor's own grid (period exact in µs); a packet leaves when its
last sample exists. Sample `k` of a stream has sensor time `S0 + k * period` and host time
`clock.host_time(S0 + k * period)`; `S0` is the first grid instant at or after START_STREAM, the grid
being anchored at the source's origin. While disconnected or not streaming, samples are produced
by nobody and lost, but the sensor clock runs on, so the next stream's timestamps show the gap.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from bumble import att
from bumble.controller import Controller
from bumble.device import Connection, Device
from bumble.gatt import (
    Characteristic,
    CharacteristicValue,
    Service,
)
from bumble.link import LocalLink

from tracker.emulator.bonded_access import BondedAccess
from tracker.emulator.bonds import BondStore
from tracker.emulator.peripheral import (
    POWER_OFF_REASON,
    Peripheral,
    SensorClock,
    refuse_read,
    refuse_write,
    validate_address,
)
from tracker.emulator.sources import (
    SampleSource,
    SensorConfig,
    as_source,
    default_source,
    is_clipped,
)
from tracker.protocol import control, spec
from tracker.protocol.packets import encode_data_packet

logger = logging.getLogger(__name__)

MAX_ATT_MTU = 247
"""Largest ATT MTU the sensor accepts (19 samples per notification; see spec.MAX_SAMPLES_PER_PACKET)."""
# --- records ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class SentPacket:
    """One data packet the sensor produced, whether or not it went on air.

    `sent` is False when a fault swallowed it (`dropped` says which: "lost", "silent") or when no
    one was subscribed ("unsubscribed"); the sequence counter advanced either way.
    """

    stream: int
    """1 for the first START_STREAM of this sensor's life, 2 for the next, ..."""
    packet_index: int
    """Packets since the stream started (the unwrapped sequence number)."""
    sequence: int
    """On-air sequence number (packet_index mod 2**16)."""
    sample_start: int
    """Source sample index of the packet's first sample (see sources.py for the time model)."""
    sample_stop: int
    sensor_time_us: int
    """Unwrapped sensor time of the first sample, µs."""
    timestamp_us: int
    """On-air timestamp (sensor_time_us mod 2**32)."""
    flags: int
    counts: np.ndarray = field(repr=False)
    """(n, 6) int16: exactly the samples in the packet."""
    payload: bytes = field(repr=False)
    sent: bool
    dropped: str | None
    due_monotonic_s: float
    """time.monotonic() at which the packet's last sample existed."""
    send_monotonic_s: float
    """time.monotonic() when the notification was handed to the Bluetooth stack."""


@dataclass
class _Stream:
    number: int
    config: SensorConfig
    start_index: int
    """Source index of sample 0."""
    start_us: int
    """Unwrapped sensor time of sample 0."""
    next_k: int = 0
    next_packet: int = 0


def advertising_data_for(name: str) -> bytes:
    """Flags + complete local name + the IMU service UUID: the sensor's whole advertisement (31 bytes)."""
    return control.encode_advertisement(name)


class EmulatedSensor(Peripheral):
    """An emulated IMU sensor on Bumble. Use as `async with EmulatedSensor(link) as sensor:`.

    Parameters (all keyword except `link`):
      link: the `LocalLink` to live on (ignored with `hci_transport`); a new one when None.
      controller_factory: `name -> Controller` already on `link` (e.g. `VirtualRadio.create_controller`);
        by default the sensor makes its own virtual controller with 251-byte ACL packets.
      hci_transport: a Bumble transport spec ("usb:0", "tcp-client:127.0.0.1:9000") to run the sensor
        as the host of that controller instead of on `link`.
      address: random static address. serial_number: hex digits (>= 4); the advertised name is
        "TRK-" + its last 4 (upper case).
      source: a `SampleSource` or (N, 6) int16 counts at `sampling_rate_hz`; default: a simulated
        rolling session (`sources.default_source`).
      sampling_rate_hz, accel_range_g, gyro_range_dps: the power-on settings (spec tables).
      battery_pct: starting level (0..100); battery_drain_pct_per_h: drain while streaming, in
        sensor time (so `speed` scales it too). At 0 % the sensor powers off.
      speed: 1.0 real time, > 1 faster, 0 (or None) as fast as the link's flow control allows.
      clock_drift_ppm: how much faster the sensor's clock runs than the host's.
      initial_timestamp_us: sensor clock at power-on (e.g. 2**32 - 2_000_000 to see the wrap 2 s
        later); random when None (from `seed`).
      bond_store: a `BondStore`, or a path to persist one (0600 JSON); in memory when None.
      seed: makes the random parts (initial clock, packet loss) reproducible.
      send_log_limit: keep only the newest this many packets in `send_log` (None: all of them;
        long-running emulators should set it).
      max_packet_age_ms: keep the oldest sample of a packet younger than this when it leaves
        (§4: shorter packets at low rates: 10 samples at 100 Hz, 3 at 25 Hz); None: always full
        packets (`spec.samples_per_packet(mtu)`).
      battery_notify_interval_s: at most one drain notification per this much sensor time (§7:
        60 s); `set_battery` always notifies.
    """

    def __init__(
        self,
        link: LocalLink | None = None,
        *,
        controller_factory: Callable[[str], Controller] | None = None,
        hci_transport: str | None = None,
        address: str = "F8:00:00:00:C0:DE",
        serial_number: str = "00000000C0DE",
        source: SampleSource | np.ndarray | None = None,
        sampling_rate_hz: int = spec.DEFAULT_SAMPLE_RATE_HZ,
        accel_range_g: int = spec.DEFAULT_ACCEL_RANGE_G,
        gyro_range_dps: int = spec.DEFAULT_GYRO_RANGE_DPS,
        battery_pct: float = 87.0,
        battery_drain_pct_per_h: float = 5.0,
        speed: float | None = 1.0,
        clock_drift_ppm: float = 20.0,
        initial_timestamp_us: int | None = None,
        bond_store: BondStore | str | Path | None = None,
        manufacturer: str = "tracker project",
        model: str = "TRK-1 (emulated)",
        firmware_revision: str = "1.0.0",
        seed: int = 0,
        max_packet_age_ms: float | None = 100.0,
        battery_notify_interval_s: float = 60.0,
        send_log_limit: int | None = None,
    ) -> None:
        if sampling_rate_hz not in spec.SAMPLE_RATES_HZ:
            raise ValueError(
                f"sampling_rate_hz must be one of {spec.SAMPLE_RATES_HZ}; got {sampling_rate_hz}"
            )
        if accel_range_g not in spec.ACCEL_RANGES_G:
            raise ValueError(
                f"accel_range_g must be one of {spec.ACCEL_RANGES_G}; got {accel_range_g}"
            )
        if gyro_range_dps not in spec.GYRO_RANGES_DPS:
            raise ValueError(
                f"gyro_range_dps must be one of {spec.GYRO_RANGES_DPS}; got {gyro_range_dps}"
            )
        serial = serial_number.strip()
        if len(serial) != 12 or any(c not in "0123456789abcdefABCDEF" for c in serial):
            raise ValueError(f"serial_number must be 12 hex digits (§1); got {serial_number!r}")
        for label, text in (
            ("manufacturer", manufacturer),
            ("model", model),
            ("firmware_revision", firmware_revision),
        ):
            if not 0 < len(text.encode()) <= 20:
                raise ValueError(f"{label} must be 1..20 bytes of UTF-8 (§1); got {text!r}")
        if not 0 <= battery_pct <= 100:
            raise ValueError(f"battery_pct must be 0..100; got {battery_pct}")
        if speed is not None and speed < 0:
            raise ValueError(f"speed must be >= 0 (0 = as fast as possible); got {speed}")
        self.serial_number = serial.upper()
        valid_address = str(validate_address(address))
        super().__init__(
            link,
            name=control.sensor_name(self.serial_number),
            address=valid_address,
            irk_seed=f"trk-irk/{self.serial_number}/{valid_address}",
            controller_factory=controller_factory,
            hci_transport=hci_transport,
        )
        self.manufacturer = manufacturer
        self.model = model
        self.firmware_revision = firmware_revision
        self.speed = float(speed or 0.0)
        self.clock_drift_ppm = float(clock_drift_ppm)
        self.seed = int(seed)
        self._rng = np.random.default_rng([self.seed, 0x10551])
        if initial_timestamp_us is None:
            initial_timestamp_us = int(self._rng.integers(0, spec.TIMESTAMP_WRAP_US))
        self._initial_timestamp_us = int(initial_timestamp_us)
        self._source: SampleSource = (
            default_source(seed=self.seed)
            if source is None
            else as_source(source, sampling_rate_hz)
        )
        self._source_origin_us: int | None = None
        self.config = SensorConfig(sampling_rate_hz, accel_range_g, gyro_range_dps)
        self.bond_store = bond_store if isinstance(bond_store, BondStore) else BondStore(bond_store)
        self._battery = float(battery_pct)
        self.battery_drain_pct_per_h = float(battery_drain_pct_per_h)
        self.battery_notify_interval_s = float(battery_notify_interval_s)
        self._battery_notified_us: int | None = None
        self.max_packet_age_ms = max_packet_age_ms

        # Tests read the whole log; a sensor left running for hours (`tracker emulate`, a long
        # emulated recording) keeps only the newest `send_log_limit` packets, so memory stays flat.
        self.send_log: list[SentPacket] | deque[SentPacket] = (
            [] if send_log_limit is None else deque(maxlen=int(send_log_limit))
        )
        self.identify_requests: list[int] = []
        """Seconds of every accepted IDENTIFY command, in order."""
        self.control_log: list[tuple[bytes, int, int]] = []
        """(request bytes, opcode, result code) of every control-point write that got a result."""

        self._clock: SensorClock | None = None
        self._stream: _Stream | None = None
        self._stream_task: asyncio.Task[None] | None = None
        self._stream_count = 0
        self._lose_count = 0
        self._lose_probability = 0.0
        self._silent_until = 0.0
        self._fifo_overflow = 0
        self._battery_notified: int | None = None
        self._streaming_event = asyncio.Event()
        self._data_char: Characteristic[bytes] | None = None
        self._control_char: Characteristic[bytes] | None = None
        self._battery_char: Characteristic[bytes] | None = None
        self._access = BondedAccess(self.bond_store)

    # --- public state ------------------------------------------------------------------------
    @property
    def source(self) -> SampleSource:
        return self._source

    @property
    def state(self) -> spec.SensorState:
        return spec.SensorState.STREAMING if self._stream is not None else spec.SensorState.IDLE

    @property
    def samples_per_packet(self) -> int:
        return spec.samples_per_packet(self.att_mtu)

    @property
    def battery_pct(self) -> float:
        return self._battery

    @property
    def battery_level(self) -> int:
        """The level as the Battery Service reports it (whole percent, rounded up while > 0)."""
        return int(min(100, max(0, math.ceil(self._battery - 1e-9))))

    @property
    def advertising_data(self) -> bytes:
        return advertising_data_for(self.name)

    def sensor_clock_us(self) -> int:
        """The sensor clock now, unwrapped (µs; packets carry it mod 2**32)."""
        if self._clock is None:
            return self._initial_timestamp_us
        return self._clock.now()

    def sent_counts(self, stream: int | None = None, *, only_sent: bool = True) -> np.ndarray:
        """(N, 6) int16: the samples of every packet that went on air (of one `stream`), in order."""
        rows = [
            p.counts
            for p in self.send_log
            if (stream is None or p.stream == stream) and (p.sent or not only_sent)
        ]
        return np.concatenate(rows) if rows else np.empty((0, 6), np.int16)

    def describe(self) -> dict[str, Any]:
        """Identity, settings and source, for capture headers and logs."""
        return {
            "emulated": True,
            "name": self.name,
            "address": self.address,
            "serial_number": self.serial_number,
            "manufacturer": self.manufacturer,
            "model": self.model,
            "firmware_revision": self.firmware_revision,
            "sampling_rate_hz": self.config.sampling_rate_hz,
            "accel_range_g": self.config.accel_range_g,
            "gyro_range_dps": self.config.gyro_range_dps,
            "speed": self.speed,
            "clock_drift_ppm": self.clock_drift_ppm,
            "source": self._source.describe(),
        }

    # --- waiting -----------------------------------------------------------------------------
    async def wait_streaming(self, timeout: float = 10.0) -> None:
        await asyncio.wait_for(self._streaming_event.wait(), timeout)

    # --- life cycle (the rest is Peripheral's) ----------------------------------------------
    def _setup_device(self, device: Device) -> None:
        self._access.configure(device)
        device.gatt_server.max_mtu = MAX_ATT_MTU

    def _powered_on(self) -> None:
        self._clock = SensorClock(self._initial_timestamp_us, self.clock_drift_ppm, self.speed)

    def _stopping_now(self) -> None:
        self._stop_stream()

    def _connected(self, connection: Connection) -> None:
        connection.on(
            connection.EVENT_CONNECTION_ENCRYPTION_CHANGE, lambda: self._access.restore_cccds(self.device, connection)
        )

    def _disconnected(self, connection: Connection, reason: int) -> None:
        self._stop_stream()

    def set_source(self, source: SampleSource | np.ndarray) -> None:
        """Use another source from the next START_STREAM on; that moment becomes its origin."""
        self._source = as_source(source, self.config.sampling_rate_hz)
        self._source_origin_us = None

    # --- faults ------------------------------------------------------------------------------
    async def lose_packets(self, count: int = 0, *, probability: float | None = None) -> None:
        """Lose the next `count` data packets, and/or each one with `probability` from now on.

        Lost packets never go on air but use their sequence numbers (the host sees a gap).
        `probability=0` ends random loss.
        """
        if count < 0:
            raise ValueError("count must be >= 0")
        self._lose_count += int(count)
        if probability is not None:
            if not 0.0 <= probability <= 1.0:
                raise ValueError("probability must be within 0..1")
            self._lose_probability = float(probability)

    async def go_silent(self, seconds: float, *, wait: bool = False) -> None:
        """Stay connected but send no data for `seconds` (packets due meanwhile are lost).

        The control point keeps answering. With `wait`, returns when the silence is over.
        """
        if seconds < 0:
            raise ValueError("seconds must be >= 0")
        self._silent_until = max(self._silent_until, time.monotonic() + seconds)
        if wait:
            await asyncio.sleep(seconds)

    async def overflow_fifo(self, samples: int) -> None:
        """Lose `samples` samples inside the sensor (its FIFO overflowed) before the next packet.

        The next packet carries SENSOR_OVERFLOW and a timestamp `samples` periods later than
        it would have; the sequence counter does not skip (no packet was lost on air).
        """
        if samples < 1:
            raise ValueError("samples must be >= 1")
        self._fifo_overflow += int(samples)

    @property
    def silent(self) -> bool:
        return time.monotonic() < self._silent_until

    async def set_battery(self, level_pct: float) -> None:
        """Set the battery level (0..100); subscribers get a notification when the whole % changes."""
        if not 0 <= level_pct <= 100:
            raise ValueError(f"battery level must be 0..100; got {level_pct}")
        was_empty = self._battery <= 0
        self._battery = float(level_pct)
        await self._notify_battery()
        if self._battery <= 0:
            await self._power_off_empty()
        elif was_empty and self._device is not None and not self._powered:
            self._powered = True  # charged: comes back
            await self._start_advertising()

    def set_battery_drain(self, pct_per_h: float) -> None:
        """Battery drain while streaming, % per hour of sensor time."""
        if pct_per_h < 0:
            raise ValueError("drain must be >= 0")
        self.battery_drain_pct_per_h = float(pct_per_h)

    # --- GATT --------------------------------------------------------------------------------
    def _build_gatt(self, device: Device) -> list[Service]:
        perm = att.Attribute.Permissions
        props = Characteristic.Properties

        def read_only(value: bytes | Callable[[Connection], bytes]) -> CharacteristicValue[bytes]:
            reader = value if callable(value) else (lambda _c, v=value: v)
            return CharacteristicValue(read=reader, write=refuse_write)

        self._data_char = Characteristic(
            spec.DATA_CHAR_UUID,
            props.NOTIFY,
            perm(0),
            CharacteristicValue(read=refuse_read, write=refuse_write),
        )
        self._control_char = Characteristic(
            spec.CONTROL_POINT_UUID,
            props.WRITE | props.INDICATE,
            perm.WRITEABLE,  # access decided by `BondedAccess.require_bond`
            CharacteristicValue(read=refuse_read, write=self._on_control_write),
        )
        for characteristic in (self._data_char, self._control_char):
            characteristic.descriptors = [self._access.cccd(device, characteristic)]
        status_char: Characteristic[bytes] = Characteristic(
            spec.STATUS_CHAR_UUID, props.READ, perm.READABLE, read_only(self._status_bytes)
        )
        self._battery_char = Characteristic(
            spec.BATTERY_LEVEL_UUID,
            props.READ | props.NOTIFY,
            perm.READABLE,
            read_only(lambda _c: bytes([self.battery_level])),
        )
        self._battery_char.descriptors = [self._access.cccd(device, self._battery_char, bonded_only=False)]
        dis = [
            (spec.MANUFACTURER_NAME_UUID, self.manufacturer),
            (spec.MODEL_NUMBER_UUID, self.model),
            (spec.SERIAL_NUMBER_UUID, self.serial_number),
            (spec.FIRMWARE_REVISION_UUID, self.firmware_revision),
        ]
        return [
            Service(spec.IMU_SERVICE_UUID, [self._data_char, self._control_char, status_char]),
            Service(spec.BATTERY_SERVICE_UUID, [self._battery_char]),
            Service(
                spec.DEVICE_INFO_SERVICE_UUID,
                [
                    Characteristic(uuid, props.READ, perm.READABLE, read_only(text.encode()))
                    for uuid, text in dis
                ],
            ),
        ]

    def subscriptions(self) -> dict[str, int]:
        """CCCD values of the connected host by characteristic UUID (1 notify, 2 indicate)."""
        if self._connection is None or self._device is None:
            return {}
        return self._access.subscriptions(self._device, self._connection)

    def _status_bytes(self, connection: Connection | None = None) -> bytes:
        mtu = connection.att_mtu if connection is not None else self.att_mtu
        return control.encode_status_record(
            control.StatusRecord(
                protocol_version=spec.PROTOCOL_VERSION,
                state=int(self.state),
                sample_rate_hz=self.config.sampling_rate_hz,
                accel_range_g=self.config.accel_range_g,
                gyro_range_dps=self.config.gyro_range_dps,
                samples_per_packet=spec.samples_per_packet(mtu),
                clock_us=self.sensor_clock_us(),
            )
        )

    # --- control point -----------------------------------------------------------------------
    async def _on_control_write(self, connection: Connection, value: bytes) -> None:
        await self._access.require_bond(connection)
        request = bytes(value)
        stream = self._stream
        opcode, result = self.execute_control(request)
        self.control_log.append((request, int(opcode), int(result)))
        if opcode == spec.Opcode.STOP_STREAM and stream is not None:
            await self._send_tail(stream, connection)
        # §5: executed even if indications are off (then the response goes nowhere); sent after
        # the write response, which Bumble sends when this handler returns.
        assert self._control_char is not None
        if self._subscribed(connection, self._control_char, 0x02):
            self._spawn(self._indicate(connection, control.encode_control_response(opcode, result)))

    def execute_control(self, request: bytes) -> tuple[int, spec.ResultCode]:
        """Run one control-point request; returns (request opcode, result code). No radio involved.

        Parsing (length, opcode, parameter tables) is `control.decode_control_request`, shared with
        the protocol document; the state checks are the sensor's: START_STREAM while streaming,
        and SET_SAMPLE_RATE / SET_RANGES while streaming, are BUSY; STOP_STREAM while idle succeeds.
        """
        parsed = control.decode_control_request(request)
        if isinstance(parsed, control.ControlRequestRejected):
            logger.info(
                "%s: control point refused %s: %s", self.name, bytes(request).hex(), parsed.detail
            )
            return parsed.opcode, parsed.result
        op, R = parsed.opcode, spec.ResultCode
        streaming = self._stream is not None
        if op is spec.Opcode.START_STREAM:
            if streaming:
                return op, R.BUSY
            self._start_stream()
        elif op is spec.Opcode.STOP_STREAM:
            self._stop_stream()
        elif op is spec.Opcode.SET_SAMPLE_RATE:
            if streaming:
                return op, R.BUSY
            assert parsed.sample_rate_hz is not None
            self.config = SensorConfig(
                parsed.sample_rate_hz, self.config.accel_range_g, self.config.gyro_range_dps
            )
        elif op is spec.Opcode.SET_RANGES:
            if streaming:
                return op, R.BUSY
            assert parsed.accel_range_g is not None and parsed.gyro_range_dps is not None
            self.config = SensorConfig(
                self.config.sampling_rate_hz, parsed.accel_range_g, parsed.gyro_range_dps
            )
        elif op is spec.Opcode.IDENTIFY:
            assert parsed.identify_s is not None
            self.identify_requests.append(parsed.identify_s)
            logger.info("%s: identify for %d s (blink, buzz)", self.name, parsed.identify_s)
        return op, R.SUCCESS

    async def _indicate(self, connection: Connection, payload: bytes) -> None:
        assert self._control_char is not None
        try:
            await self.device.gatt_server.indicate_subscriber(
                connection, self._control_char, payload
            )
        except Exception as exc:  # noqa: BLE001  a vanished host never confirms; the sensor carries on
            logger.warning(
                "%s: control-point indication %s not confirmed: %s", self.name, payload.hex(), exc
            )

    # --- streaming ---------------------------------------------------------------------------
    def _start_stream(self) -> None:
        assert self._clock is not None
        now_us = self._clock.now()
        if self._source_origin_us is None:
            self._source_origin_us = now_us
        period = self.config.period_us
        start_index = -(-(now_us - self._source_origin_us) // period)  # first grid instant >= now
        self._stream_count += 1
        self._stream = _Stream(
            number=self._stream_count,
            config=self.config,
            start_index=start_index,
            start_us=self._source_origin_us + start_index * period,
        )
        self._streaming_event.set()
        self._stream_task = self._spawn(self._stream_loop(self._stream))

    def _stop_stream(self) -> None:
        self._stream = None
        self._streaming_event.clear()
        if self._stream_task is not None:
            self._stream_task.cancel()
            self._stream_task = None

    def _packet_samples(self, connection: Connection, config: SensorConfig) -> int:
        """Samples in a full packet: what the MTU allows, capped by `max_packet_age_ms` (§4)."""
        n = spec.samples_per_packet(connection.att_mtu)
        if self.max_packet_age_ms is not None:
            n = min(
                n, max(1, math.ceil(self.max_packet_age_ms * 1e-3 * config.sampling_rate_hz - 1e-9))
            )
        return n

    async def _stream_loop(self, stream: _Stream) -> None:
        assert self._clock is not None
        clock = self._clock
        period = stream.config.period_us
        try:
            while self._stream is stream and self._connection is not None:
                connection = self._connection
                n = self._packet_samples(connection, stream.config)
                # Samples lost inside the sensor (overflow_fifo): time moves on, the packet says so.
                overflow, self._fifo_overflow = self._fifo_overflow, 0
                stream.next_k += overflow
                last_us = stream.start_us + (stream.next_k + n - 1) * period
                due = clock.host_time(last_us)
                if self.speed > 0:
                    await self._wait_until_due(due)
                    if self._stream is not stream or self._connection is not connection:
                        return
                else:
                    clock.catch_up(last_us)
                await self._send_packet(stream, connection, n, due, overflow=bool(overflow))
                if self.speed == 0:
                    await self._flow_control(connection)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("%s: streaming failed", self.name)
            if self._stream is stream:
                self._stream = None
                self._streaming_event.clear()

    async def _send_tail(self, stream: _Stream, connection: Connection) -> None:
        """STOP_STREAM: send the samples the sensor already holds as one last short packet (§4)."""
        if self._clock is None or self.speed == 0:
            return
        period = stream.config.period_us
        taken = (self._clock.now() - stream.start_us) // period + 1  # samples that exist by now
        pending = int(taken - stream.next_k)
        if pending >= 1:
            n = min(pending, spec.samples_per_packet(connection.att_mtu))
            due = self._clock.host_time(stream.start_us + (stream.next_k + n - 1) * period)
            await self._send_packet(stream, connection, n, due, overflow=False)

    async def _send_packet(
        self, stream: _Stream, connection: Connection, n: int, due: float, *, overflow: bool
    ) -> None:
        """Build packet `stream.next_packet` from the next `n` samples; send it unless a fault eats it."""
        assert self._data_char is not None
        period = stream.config.period_us
        k = stream.next_k
        first_us = stream.start_us + k * period
        counts = self._source.counts(
            stream.start_index + k, stream.start_index + k + n, stream.config
        )
        flags = spec.PacketFlag.SENSOR_OVERFLOW if overflow else spec.PacketFlag(0)
        if stream.next_packet == 0:
            flags |= spec.PacketFlag.STREAM_START
        if is_clipped(counts):
            flags |= spec.PacketFlag.CLIPPED
        payload = encode_data_packet(stream.next_packet, first_us, counts, int(flags))
        dropped = self._drop_reason(connection)
        if dropped is None:
            await self.device.gatt_server.notify_subscriber(connection, self._data_char, payload)
        self.send_log.append(
            SentPacket(
                stream=stream.number,
                packet_index=stream.next_packet,
                sequence=stream.next_packet % spec.SEQUENCE_WRAP,
                sample_start=stream.start_index + k,
                sample_stop=stream.start_index + k + n,
                sensor_time_us=first_us,
                timestamp_us=first_us % spec.TIMESTAMP_WRAP_US,
                flags=int(flags),
                # A read-only view of the bytes sent: the log holds each sample once.
                counts=np.frombuffer(payload, "<i2", offset=spec.HEADER_SIZE).reshape(-1, 6),
                payload=payload,
                sent=dropped is None,
                dropped=dropped,
                due_monotonic_s=due,
                send_monotonic_s=time.monotonic(),
            )
        )
        stream.next_k += n
        stream.next_packet += 1
        await self._drain_battery(n * period * 1e-6 / 3600.0)

    def _drop_reason(self, connection: Connection) -> str | None:
        assert self._data_char is not None
        if time.monotonic() < self._silent_until:
            return "silent"
        if self._lose_count > 0:
            self._lose_count -= 1
            return "lost"
        if self._lose_probability > 0 and self._rng.random() < self._lose_probability:
            return "lost"
        if not self._subscribed(connection, self._data_char, 0x01):
            return "unsubscribed"
        return None

    # --- battery -----------------------------------------------------------------------------
    async def _drain_battery(self, hours: float) -> None:
        if self.battery_drain_pct_per_h <= 0 or self._battery <= 0:
            return
        self._battery = max(0.0, self._battery - self.battery_drain_pct_per_h * hours)
        now_us = self.sensor_clock_us()
        quiet = (
            self._battery_notified_us is not None
            and now_us - self._battery_notified_us < self.battery_notify_interval_s * 1e6
        )
        if self.battery_level != self._battery_notified and (not quiet or self._battery <= 0):
            await self._notify_battery()
        if self._battery <= 0:
            self._spawn(self._power_off_empty())

    async def _notify_battery(self) -> None:
        level = self.battery_level
        self._battery_notified = level
        self._battery_notified_us = self.sensor_clock_us()
        if (
            self._device is not None
            and self._battery_char is not None
            and self._connection is not None
        ):
            try:
                await self._device.gatt_server.notify_subscribers(
                    self._battery_char, bytes([level])
                )
            except Exception as exc:  # noqa: BLE001  a notification that cannot go out is not the sensor's problem
                logger.debug("battery notification failed: %s", exc)

    async def _power_off_empty(self) -> None:
        logger.info("%s: battery empty, powering off", self.name)
        self._powered = False
        self._stop_stream()
        self._advertising_event.clear()
        with contextlib.suppress(Exception):
            await self.device.stop_advertising()
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.disconnect(POWER_OFF_REASON)

"""What the link layer needs from a kind of sensor: one `SensorDriver` per sensor family.

The link code (scan, pair, record) is the same for every sensor; a driver says how to recognise
the sensor in an advertisement, how to read its identity, configure it, start and stop its data
stream, and how the raw notifications it produces are decoded. Adding a sensor (the Polar H10's
accelerometer via PMD, a Movesense) is one module in `tracker.link.drivers` plus a line in
`DRIVERS`.

Notifications are captured raw: the driver hands each one to the recorder as `(source, payload)`
where `source` names the characteristic with the capture's source names ("imu", "battery",
"control"); the capture keeps the bytes
with the host receive time and decoding happens from those bytes, live or on replay, through the
decoder the driver names (`decoder_for`).

Optional: `capture_settings(effective) -> dict`, the settings a capture must keep once streaming
started (the recorder writes them as a header update; Polar sensors need their per-measurement
PMD settings and factors there), and `stream_started(effective)` on a decoder that learns its
settings from the sensor's answers (called by the recorder and pairing after `start`).

Sensor kinds (`SENSOR_KINDS`): "tracker-imu" (firmware_protocol.md), "polar-h10", "polar-verity".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from bleak import BleakClient
    from bleak.backends.device import BLEDevice
    from bleak.backends.scanner import AdvertisementData

RecordSink = Callable[[str, bytes], None]
"""Called by a driver for every notification: (source name, raw payload). Must not raise."""


@dataclass(frozen=True)
class StreamSettings:
    """What the user asked the sensor to stream."""

    sample_rate_hz: int = 100
    accel_range_g: int = 4
    gyro_range_dps: int = 500
    rate_is_default: bool = False
    """The person did not choose the rate: a sensor that cannot stream `sample_rate_hz` uses its
    own usual rate instead (a Verity Sense streams at 52 Hz) rather than refusing."""

    def to_json(self) -> dict[str, int]:
        return {
            "sample_rate_hz": self.sample_rate_hz,
            "accel_range_g": self.accel_range_g,
            "gyro_range_dps": self.gyro_range_dps,
        }


@dataclass
class SensorIdentity:
    """What a sensor said about itself on connection."""

    address: str
    name: str
    driver: str
    protocol_version: int | None = None
    device_info: dict[str, str] = field(default_factory=dict)
    """Device Information Service strings: manufacturer, model, serial, firmware."""
    battery_pct: int | None = None
    status: dict[str, Any] = field(default_factory=dict)
    """Driver-specific state read on connection (e.g. streaming state, rate, ranges)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "name": self.name,
            "driver": self.driver,
            "protocol_version": self.protocol_version,
            "device_info": dict(self.device_info),
            "battery_pct": self.battery_pct,
            "status": dict(self.status),
        }


@runtime_checkable
class SensorDriver(Protocol):
    """One sensor family. Stateless between connections except for what `start` sets up."""

    kind: str
    """Stable identifier stored in the sensor registry and in captures (e.g. "tracker-imu")."""
    data_source: str
    """The record source that carries IMU samples (what the decoder consumes)."""

    def matches(self, device: BLEDevice, advertisement: AdvertisementData) -> bool:
        """Whether an advertisement is from a sensor of this family."""
        ...

    async def read_identity(self, client: BleakClient) -> SensorIdentity:
        """Device information, battery, protocol version; raises ProtocolVersionError."""
        ...

    async def start(self, client: BleakClient, settings: StreamSettings, sink: RecordSink) -> dict[str, Any]:
        """Subscribe, configure and start streaming; returns the settings in effect."""
        ...

    async def stop(self, client: BleakClient) -> None:
        """Stop streaming (best effort: the link may already be gone)."""
        ...

    def battery_from_record(self, source: str, payload: bytes) -> int | None:
        """Battery percentage when the record is a battery notification, else None."""
        ...

    def decoder_for(self, settings: dict[str, Any], *, keep_samples: bool = True) -> Any:
        """A fresh streaming decoder for this family's data records (never raises on bad bytes);
        `keep_samples=False` for a long live recording that only needs counters."""
        ...


SENSOR_KINDS = ("tracker-imu", "polar-h10", "polar-verity")
"""Every sensor kind tracker speaks to (the `kind` of a driver, stored in captures and the registry)."""


def all_drivers() -> list[SensorDriver]:
    """Every supported sensor family, in matching order."""
    from tracker.link.drivers.polar import PolarH10Driver, PolarVerityDriver
    from tracker.link.drivers.tracker_imu import TrackerImuDriver

    return [TrackerImuDriver(), PolarH10Driver(), PolarVerityDriver()]


def notify_stream_started(decoder: Any, effective: dict[str, Any]) -> None:
    """Tell a decoder the settings a sensor confirmed at start (a no-op for decoders that know
    them from the start, like the tracker IMU's)."""
    started = getattr(decoder, "stream_started", None)
    if callable(started):
        started(effective)


def driver_by_kind(kind: str) -> SensorDriver:
    """A fresh driver of this sensor kind; KeyError for an unknown one."""
    for driver in all_drivers():
        if driver.kind == kind:
            return driver
    raise KeyError(kind)


def match_driver(device: BLEDevice, advertisement: AdvertisementData) -> SensorDriver | None:
    for driver in all_drivers():
        if driver.matches(device, advertisement):
            return driver
    return None

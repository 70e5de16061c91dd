"""Where the radio is: the machine's own Bluetooth (bleak's platform backend) or an emulated one.

Every link operation takes a `LinkEnvironment` and passes `env.scanner_kwargs()` to
`BleakScanner(...)` and `env.client_kwargs()` to `BleakClient(...)`; that is the only difference
between a real sensor and the emulator. `emulated_environment()` starts a `VirtualRadio` with an
`EmulatedSensor` on it (the emulator's own API) and yields the environment with the Bumble
backend; `real_environment()` yields the platform's.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from tracker.errors import NoBluetoothError

logger = logging.getLogger(__name__)

EMULATED_HINT = "use --emulated to try tracker with the emulated sensor"


@dataclass
class LinkEnvironment:
    """The bleak backend and keyword arguments for one radio, plus the emulated sensor if any."""

    emulated: bool
    scanner_backend: type | None = None
    client_backend: type | None = None
    backend_kwargs: dict[str, Any] = field(default_factory=dict)
    radio: Any = None
    """The `tracker.ble.virtual.VirtualRadio` when emulated."""
    sensor: Any = None
    """The (first) emulated sensor when emulated: an `EmulatedSensor` or a Polar one."""
    sensors: dict[str, Any] = field(default_factory=dict)
    """Every emulated sensor on the virtual radio, by sensor kind."""

    def scanner_kwargs(self) -> dict[str, Any]:
        if self.scanner_backend is None:
            return dict(self.backend_kwargs)
        return {"backend": self.scanner_backend, **self.backend_kwargs}

    def client_kwargs(self) -> dict[str, Any]:
        if self.client_backend is None:
            return dict(self.backend_kwargs)
        return {"backend": self.client_backend, **self.backend_kwargs}


def bluetooth_unavailable(exc: BaseException) -> NoBluetoothError | None:
    """The NoBluetoothError an exception from bleak's platform backend means, or None.

    bleak reports a missing adapter differently per OS: BleakBluetoothNotAvailableError (bleak 1+),
    a D-Bus error or a missing system-bus socket on Linux, an OSError elsewhere.
    """
    from bleak.exc import BleakBluetoothNotAvailableError, BleakDBusError, BleakError

    text = str(exc).lower()
    missing = isinstance(exc, BleakBluetoothNotAvailableError | BleakDBusError | FileNotFoundError | ConnectionRefusedError)
    said_so = isinstance(exc, BleakError) and any(
        phrase in text for phrase in ("no bluetooth adapter", "not available", "powered off")
    )
    if missing or said_so:
        return NoBluetoothError(
            f"no usable Bluetooth on this machine: {_why_no_bluetooth(exc)}",
            hint=f"switch Bluetooth on, or {EMULATED_HINT}",
        )
    return None


def _why_no_bluetooth(exc: BaseException) -> str:
    """A plain sentence for the person, not the exception's repr ("[Errno 2] No such file...")."""
    if isinstance(exc, FileNotFoundError | ConnectionRefusedError):
        # Linux: bleak cannot reach the D-Bus system bus, so BlueZ is not there to ask
        return "the Bluetooth service is not running, or there is no adapter"
    text = " ".join(str(exc).split()).rstrip(".")
    if not text:
        return "the Bluetooth adapter is missing or switched off"
    return text[:1].lower() + text[1:]


SEND_LOG_LIMIT = 50_000
"""Packets an emulator that runs for long keeps in its send log: over an hour at 100 Hz, about
20 MB at most (the log is for tests and the latency benchmark; nothing else reads it)."""


@contextlib.asynccontextmanager
async def real_environment() -> AsyncIterator[LinkEnvironment]:
    """The machine's own Bluetooth through bleak's platform backend."""
    yield LinkEnvironment(emulated=False)


EMULATED_POLAR: dict[str, dict[str, Any]] = {
    "polar-h10": {"address": "D0:10:00:00:00:10", "device_id": "B1A2C3D4"},
    "polar-verity": {"address": "D0:10:00:00:00:20", "device_id": "C5D6E7F8"},
}
"""Addresses and device IDs of the emulated Polar sensors (fixed, so a pairing is found again)."""


def _emulated_sensor(kind: str, radio: Any, common: dict[str, Any], sensor_kwargs: dict[str, Any]) -> Any:
    from tracker.emulator import EmulatedSensor
    from tracker.emulator.polar import POLAR_EMULATORS

    if kind == "tracker-imu":
        return EmulatedSensor(radio.link, controller_factory=radio.create_controller, **common, **sensor_kwargs)
    if kind in POLAR_EMULATORS:
        return POLAR_EMULATORS[kind](radio.link, controller_factory=radio.create_controller, **common, **EMULATED_POLAR[kind])
    raise ValueError(f"no emulator for sensor kind {kind!r}")


@contextlib.asynccontextmanager
async def emulated_environment(
    *,
    source: Any = None,
    seed: int = 0,
    speed: float | None = 1.0,
    bond_store_path: Any = None,
    kinds: tuple[str, ...] = ("tracker-imu",),
    send_log_limit: int | None = None,
    **sensor_kwargs: Any,
) -> AsyncIterator[LinkEnvironment]:
    """A VirtualRadio with emulated sensors advertising on it, and the Bumble bleak backend.

    `kinds` are the sensors on the radio ("tracker-imu", "polar-h10", "polar-verity"; the first
    is `env.sensor`). `source` is what they measure (a `tracker.emulator.sources.SampleSource`;
    the emulators' default is the simulated rolling session); `speed` > 1 streams faster than
    real time (tests); extra keywords go to the tracker IMU's `EmulatedSensor`. On exit the
    sensors stop and the radio powers off.
    """
    from tracker.ble.bumble_backend import BumbleClient, BumbleScanner
    from tracker.ble.virtual import VirtualRadio

    if not kinds:
        raise ValueError("an emulated environment needs at least one sensor kind")
    radio = VirtualRadio()
    common: dict[str, Any] = {"seed": seed, "speed": speed, "send_log_limit": send_log_limit}
    if source is not None:
        common["source"] = source
    sensors = {kind: _emulated_sensor(kind, radio, common, sensor_kwargs) for kind in dict.fromkeys(kinds)}
    try:
        for sensor in sensors.values():
            await sensor.start()
        radio.central(bond_store_path=bond_store_path)
        yield LinkEnvironment(
            emulated=True,
            scanner_backend=BumbleScanner,
            client_backend=BumbleClient,
            backend_kwargs={"radio": radio},
            radio=radio,
            sensor=sensors[kinds[0]],
            sensors=sensors,
        )
    finally:
        for sensor in sensors.values():
            with contextlib.suppress(Exception):
                await sensor.stop()
        await radio.close()

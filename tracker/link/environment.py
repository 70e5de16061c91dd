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
    """The `tracker.emulator.EmulatedSensor` when emulated."""

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


@contextlib.asynccontextmanager
async def emulated_environment(
    *,
    source: Any = None,
    seed: int = 0,
    speed: float = 1.0,
    bond_store_path: Any = None,
    **sensor_kwargs: Any,
) -> AsyncIterator[LinkEnvironment]:
    """A VirtualRadio with an EmulatedSensor advertising on it, and the Bumble bleak backend.

    `source` is what the emulated IMU measures (a `tracker.emulator.sources.SampleSource`; the
    emulator's default is the simulated rolling session); `speed` > 1 streams faster than real
    time (tests); extra keywords go to `EmulatedSensor`. On exit the sensor stops and the radio
    powers off.
    """
    from tracker.ble.bumble_backend import BumbleClient, BumbleScanner
    from tracker.ble.virtual import VirtualRadio
    from tracker.emulator import EmulatedSensor

    radio = VirtualRadio()
    kwargs: dict[str, Any] = {"seed": seed, "speed": speed, **sensor_kwargs}
    if source is not None:
        kwargs["source"] = source
    sensor = EmulatedSensor(radio.link, controller_factory=radio.create_controller, **kwargs)
    try:
        await sensor.start()
        radio.central(bond_store_path=bond_store_path)
        yield LinkEnvironment(
            emulated=True,
            scanner_backend=BumbleScanner,
            client_backend=BumbleClient,
            backend_kwargs={"radio": radio},
            radio=radio,
            sensor=sensor,
        )
    finally:
        with contextlib.suppress(Exception):
            await sensor.stop()
        await radio.close()

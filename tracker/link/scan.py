"""Finding sensors: a scan through bleak, matched against the supported sensor drivers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from tracker.errors import SensorNotFoundError
from tracker.link.driver import SensorDriver, match_driver
from tracker.link.environment import LinkEnvironment, bluetooth_unavailable

NOT_FOUND_HINT = "is it switched on and nearby? run `tracker scan` to see what is in range"


@dataclass
class FoundSensor:
    """One sensor seen in a scan."""

    name: str
    address: str
    rssi: int
    driver: str
    battery: str = "unknown"
    """Battery as shown to a person: not in the advertisement, so the last level read (with its
    age, from the sensor registry) or "unknown"; never a made-up number."""
    battery_pct: int | None = None
    battery_stale: bool = True
    paired: bool = False
    default: bool = False
    device: Any = None
    """bleak `BLEDevice` (pass it to `BleakClient`)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "address": self.address,
            "rssi": self.rssi,
            "driver": self.driver,
            "battery_pct": self.battery_pct,
            "battery_stale": self.battery_stale,
            "battery": self.battery,
            "paired": self.paired,
            "default": self.default,
        }


@contextlib.asynccontextmanager
async def _scanner(env: LinkEnvironment, callback: Any) -> AsyncIterator[Any]:
    from bleak import BleakScanner

    scanner = BleakScanner(detection_callback=callback, **env.scanner_kwargs())
    try:
        await scanner.start()
    except Exception as exc:
        no_bt = bluetooth_unavailable(exc)
        if no_bt is not None:
            raise no_bt from exc
        raise
    try:
        yield scanner
    finally:
        with contextlib.suppress(Exception):
            await scanner.stop()


async def scan_sensors(
    env: LinkEnvironment, timeout_s: float = 5.0, *, registry: Any = None, kind: str | None = None
) -> list[FoundSensor]:
    """Every supported sensor heard within `timeout_s` (only those of `kind` when given),
    strongest signal first."""
    found: dict[str, FoundSensor] = {}

    def on_advertisement(device: Any, advertisement: Any) -> None:
        driver = match_driver(device, advertisement)
        if driver is None or (kind is not None and driver.kind != kind):
            return
        name = advertisement.local_name or device.name or ""
        found[device.address.upper()] = FoundSensor(
            name=name, address=device.address, rssi=int(advertisement.rssi), driver=driver.kind, device=device
        )

    async with _scanner(env, on_advertisement):
        await asyncio.sleep(timeout_s)
    if registry is not None:
        for sensor in found.values():
            record = registry.get(sensor.address)
            if record is not None:
                sensor.paired = True
                sensor.default = registry.default_address == sensor.address.upper()
                sensor.battery = record.battery_text()
                sensor.battery_pct = record.last_battery_pct
    return sorted(found.values(), key=lambda s: (-s.rssi, s.name))


async def find_sensor(
    env: LinkEnvironment, target: str | None, timeout_s: float = 10.0, *, kind: str | None = None
) -> tuple[Any, Any, SensorDriver]:
    """(BLEDevice, AdvertisementData, driver) of the sensor named or addressed by `target`.

    `target` None means the first supported sensor heard (of `kind`, when given: "polar-h10",
    ...). Raises `SensorNotFoundError` with what to do when nothing matching answers within
    `timeout_s`.
    """
    wanted = target.strip().upper() if target else None
    hit: asyncio.Future[tuple[Any, Any, SensorDriver]] = asyncio.get_running_loop().create_future()

    def on_advertisement(device: Any, advertisement: Any) -> None:
        if hit.done():
            return
        driver = match_driver(device, advertisement)
        if driver is None or (kind is not None and driver.kind != kind):
            return
        name = (advertisement.local_name or device.name or "").upper()
        if wanted is None or wanted in (device.address.upper(), name):
            hit.set_result((device, advertisement, driver))

    async with _scanner(env, on_advertisement):
        try:
            return await asyncio.wait_for(asyncio.shield(hit), timeout_s)
        except TimeoutError:
            what = f"sensor {target!r}" if target else (f"{kind} sensor" if kind else "supported sensor")
            raise SensorNotFoundError(
                f"no {what} answered within {timeout_s:.0f} s", address=target, hint=NOT_FOUND_HINT
            ) from None

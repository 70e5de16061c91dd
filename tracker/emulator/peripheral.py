"""What every emulated sensor shares: a Bumble GATT peripheral's life on a virtual link.

`Peripheral` is the base of the tracker IMU (`sensor.EmulatedSensor`) and the Polar sensors
(`polar.EmulatedPolarH10`, `polar.EmulatedVeritySense`): a Bumble `Device` with its own virtual
controller on a `bumble.link.LocalLink` (or the host of any Bumble HCI transport), advertising
every 20 ms with no scan response, one host at a time, and the faults and facts of a real
radio that the virtual link lacks (see BLE_NOTES.md):

- `drop_link` walks out of range: disconnect with reason 0x08, stay silent, come back;
- a host that vanishes without disconnecting is dropped after 0.5 s with reason 0x08, as a
  supervision timeout would;
- every read-only attribute refuses writes and every attribute without a value refuses reads
  (`refuse_read`, `refuse_write`): a Bumble server would otherwise never answer.

Subclasses build their GATT database (`_build_gatt`), set up pairing (`_setup_device`), and hear
about connections (`_connected`, `_disconnected`) and power (`_powered_on`, `_stopping_now`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from bumble import att, hci
from bumble.controller import Controller
from bumble.device import Connection, Device, DeviceConfiguration
from bumble.gatt import Characteristic, Service
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

logger = logging.getLogger(__name__)

ACL_DATA_PACKET_LENGTH = 251
"""Bytes per ACL packet of a sensor's virtual controller (LE data length extension maximum)."""
ADVERTISING_INTERVAL_MS = 20.0
OUT_OF_RANGE_REASON = (
    hci.HCI_CONNECTION_TIMEOUT_ERROR
)  # 0x08: what a host sees when a sensor walks away
POWER_OFF_REASON = hci.HCI_REMOTE_DEVICE_TERMINATED_CONNECTION_DUE_TO_POWER_OFF_ERROR  # 0x15
PRESENCE_CHECK_S = 0.5
FLOW_PENDING_PACKETS = 8
"""speed=0: wait for the controller to drain once this many notifications are queued."""


@dataclass(frozen=True)
class Disconnection:
    monotonic_s: float
    reason: int
    peer_address: str


class SensorClock:
    """A sensor's clock in `units_per_s` ticks (µs, ns): runs at `speed * (1 + drift)` times host
    time and never goes backwards."""

    def __init__(
        self, initial: int, drift_ppm: float, speed: float, units_per_s: float = 1e6
    ) -> None:
        self.units_per_s = float(units_per_s)
        self.ratio = (speed if speed > 0 else 1.0) * (1.0 + drift_ppm * 1e-6)
        self.anchor_host_s = time.monotonic()
        self.anchor = int(initial)

    def now(self, host_s: float | None = None) -> int:
        host = time.monotonic() if host_s is None else host_s
        return self.anchor + int(
            math.floor((host - self.anchor_host_s) * self.units_per_s * self.ratio)
        )

    def host_time(self, sensor_time: float) -> float:
        return self.anchor_host_s + (sensor_time - self.anchor) / (self.units_per_s * self.ratio)

    def catch_up(self, sensor_time: int) -> None:
        """Make `now` at least `sensor_time` (speed=0 streams run ahead of host time)."""
        host = time.monotonic()
        if sensor_time > self.now(host):
            self.anchor_host_s, self.anchor = host, int(sensor_time)


def validate_address(address: str) -> hci.Address:
    try:
        parsed = hci.Address(address, hci.Address.RANDOM_DEVICE_ADDRESS)
    except (ValueError, TypeError) as exc:
        raise ValueError(
            f"address {address!r} is not a Bluetooth address like 'F8:00:00:00:C0:DE'"
        ) from exc
    if not parsed.is_static:
        raise ValueError(f"address {address} must be a random static address (first byte C0..FF)")
    if str(parsed).upper().startswith("F0:F1:F2:F3:F4:F5"):
        raise ValueError("F0:F1:F2:F3:F4:F5 is bumble-gatt-dump's own address; choose another")
    return parsed


def random_sensor_address(rng: np.random.Generator | None = None) -> str:
    """A random static address for a sensor (first byte C0..FF, never F0:F1:F2:F3:F4:F5)."""
    raw = bytearray(
        os.urandom(6) if rng is None else rng.integers(0, 256, 6, dtype=np.uint8).tobytes()
    )
    raw[0] |= 0xC0
    if bytes(raw) == bytes.fromhex("F0F1F2F3F4F5"):
        raw[5] ^= 0xFF
    return ":".join(f"{b:02X}" for b in raw)


def refuse_read(_connection: Connection) -> bytes:
    raise att.ATT_Error(att.ATT_READ_NOT_PERMITTED_ERROR)


def refuse_write(_connection: Connection, _value: bytes) -> None:
    raise att.ATT_Error(att.ATT_WRITE_NOT_PERMITTED_ERROR)


class Peripheral:
    """A GATT peripheral on a Bumble virtual link. Use as `async with Subclass(link) as sensor:`.

    `link`: the `LocalLink` to live on (ignored with `hci_transport`; a new one when None);
    `controller_factory`: `name -> Controller` already on `link` (e.g.
    `VirtualRadio.create_controller`); `hci_transport`: a Bumble transport spec to be the host of
    that controller instead. `name` is advertised; `irk_seed` makes a stable identity resolving key.
    """

    max_att_mtu = 247

    def __init__(
        self,
        link: LocalLink | None,
        *,
        name: str,
        address: str,
        irk_seed: str,
        controller_factory: Callable[[str], Controller] | None = None,
        hci_transport: str | None = None,
    ) -> None:
        self.address = str(validate_address(address))
        self.name = name
        self._irk_seed = irk_seed
        self._link = link if link is not None or hci_transport is not None else LocalLink()
        self._controller_factory = controller_factory
        self._hci_transport_spec = hci_transport
        self.disconnections: list[Disconnection] = []
        self._device: Device | None = None
        self._controller: Controller | None = None
        self._transport: Any = None
        self._connection: Connection | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._advertise_after: float = 0.0  # monotonic time before which the sensor stays silent
        self._powered = False
        self._stopping = False
        self._connected_event = asyncio.Event()
        self._disconnected_event = asyncio.Event()
        self._disconnected_event.set()
        self._advertising_event = asyncio.Event()

    # --- for subclasses --------------------------------------------------------------------------
    @property
    def advertising_data(self) -> bytes:
        raise NotImplementedError

    def _build_gatt(self, device: Device) -> list[Service]:
        raise NotImplementedError

    def _setup_device(self, device: Device) -> None:
        """Keystore, pairing, MTU: before the GATT database is added."""
        device.gatt_server.max_mtu = self.max_att_mtu

    def _powered_on(self) -> None:
        """Called once the device is powered on (start clocks here)."""

    def _stopping_now(self) -> None:
        """Called first thing in `stop` (stop streams here)."""

    def _connected(self, connection: Connection) -> None:
        """A host connected (the only one)."""

    def _disconnected(self, connection: Connection, reason: int) -> None:
        """The host disconnected (stop streams here)."""

    # --- public state ------------------------------------------------------------------------------
    @property
    def link(self) -> LocalLink | None:
        return self._link

    @property
    def device(self) -> Device:
        """The underlying Bumble device (after `start`)."""
        if self._device is None:
            raise RuntimeError("the sensor is not started; use `async with ...` or `await start()`")
        return self._device

    @property
    def connected(self) -> bool:
        return self._connection is not None

    @property
    def connection(self) -> Connection | None:
        return self._connection

    @property
    def advertising(self) -> bool:
        return self._device is not None and bool(self._device.is_advertising)

    @property
    def att_mtu(self) -> int:
        return self._connection.att_mtu if self._connection is not None else att.ATT_DEFAULT_MTU

    async def wait_connected(self, timeout: float = 10.0) -> Connection:
        await asyncio.wait_for(self._connected_event.wait(), timeout)
        assert self._connection is not None
        return self._connection

    async def wait_disconnected(self, timeout: float = 10.0) -> None:
        await asyncio.wait_for(self._disconnected_event.wait(), timeout)

    async def wait_advertising(self, timeout: float = 10.0) -> None:
        await asyncio.wait_for(self._advertising_event.wait(), timeout)

    # --- life cycle ----------------------------------------------------------------------------------
    async def __aenter__(self) -> Any:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> Any:
        """Power on: controller, GATT database, advertising. Returns self."""
        if self._device is not None:
            return self
        config = DeviceConfiguration()
        config.name = self.name
        config.address = hci.Address(self.address, hci.Address.RANDOM_DEVICE_ADDRESS)
        # A stable identity resolving key per sensor (Bumble's default is all zeros).
        config.irk = hashlib.sha256(self._irk_seed.encode()).digest()[:16]
        config.advertising_interval_min = ADVERTISING_INTERVAL_MS
        config.advertising_interval_max = ADVERTISING_INTERVAL_MS
        config.advertising_data = self.advertising_data
        config.scan_response_data = b""
        if self._hci_transport_spec is not None:
            from bumble.transport import open_transport

            self._transport = await open_transport(self._hci_transport_spec)
            host = Host(self._transport.source, self._transport.sink)
        else:
            assert self._link is not None
            if self._controller_factory is not None:
                controller = self._controller_factory(f"{self.name}-controller")
            else:
                controller = Controller(f"{self.name}-controller", link=self._link)
            controller.le_acl_data_packet_length = ACL_DATA_PACKET_LENGTH
            self._controller = controller
            host = Host(controller, AsyncPipeSink(controller))
        device = Device(config=config, host=host)
        self._setup_device(device)
        device.add_services(self._build_gatt(device))
        device.on(device.EVENT_CONNECTION, self._on_connection)
        self._device = device
        await device.power_on()
        self._powered_on()
        self._powered = True
        await self._start_advertising()
        if self._controller is not None and self._link is not None:
            self._spawn(self._watch_peer_presence())
        return self

    async def stop(self) -> None:
        """Power off cleanly: stop streaming, disconnect (reason 0x15), leave the link. Idempotent."""
        if self._device is None or self._stopping:
            return
        self._stopping = True
        self._powered = False
        self._stopping_now()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._device.stop_advertising(), 2.0)
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._connection.disconnect(POWER_OFF_REASON), 2.0)
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._device.power_off(), 2.0)
        if self._controller is not None and self._link is not None:
            with contextlib.suppress(KeyError, ValueError):
                self._link.remove_controller(self._controller)
        if self._transport is not None:
            with contextlib.suppress(Exception):
                await self._transport.close()
        self._advertising_event.clear()
        self._device = None

    async def drop_link(self, out_of_range_s: float = 5.0) -> None:
        """Walk out of range: disconnect with reason 0x08, stay invisible `out_of_range_s`, come back.

        Returns once the link is down; advertising resumes in the background after
        `out_of_range_s` (`await wait_advertising()` for it). A stream ends with the link: the host
        must subscribe and start again, and the samples in between are lost.
        """
        if out_of_range_s < 0:
            raise ValueError("out_of_range_s must be >= 0")
        self._advertise_after = time.monotonic() + out_of_range_s
        device = self.device
        self._advertising_event.clear()
        with contextlib.suppress(Exception):
            await device.stop_advertising()
        connection = self._connection
        if connection is not None:
            self._disconnected(connection, OUT_OF_RANGE_REASON)
            await connection.disconnect(OUT_OF_RANGE_REASON)
            await self.wait_disconnected(5.0)
        self._spawn(self._advertise_later(out_of_range_s))

    # --- connections ---------------------------------------------------------------------------------
    def _on_connection(self, connection: Connection) -> None:
        if connection.role != hci.Role.PERIPHERAL:
            return
        if self._connection is not None:
            # One host at a time, as on the real sensors.
            self._spawn(
                connection.disconnect(hci.HCI_CONNECTION_REJECTED_DUE_TO_LIMITED_RESOURCES_ERROR)
            )
            return
        logger.info("%s: connected to %s", self.name, connection.peer_address)
        self._connection = connection
        self._advertising_event.clear()
        self._disconnected_event.clear()
        self._connected_event.set()
        connection.on(
            connection.EVENT_DISCONNECTION,
            lambda reason: self._on_disconnection(connection, reason),
        )
        self._connected(connection)

    def _on_disconnection(self, connection: Connection, reason: int) -> None:
        if connection is not self._connection:
            return
        logger.info(
            "%s: disconnected from %s (reason 0x%02X)", self.name, connection.peer_address, reason
        )
        self.disconnections.append(
            Disconnection(time.monotonic(), int(reason), str(connection.peer_address))
        )
        self._disconnected(connection, int(reason))
        self._connection = None
        self._connected_event.clear()
        self._disconnected_event.set()
        if not self._stopping and self._powered:
            self._spawn(self._advertise_later(self._advertise_after - time.monotonic()))

    async def _advertise_later(self, delay_s: float) -> None:
        if delay_s > 0:
            await asyncio.sleep(delay_s)
        if self._stopping or not self._powered or self._connection is not None:
            return
        if time.monotonic() < self._advertise_after - 1e-3:
            return  # a later drop_link moved the comeback; its own task will advertise
        await self._start_advertising()

    async def _start_advertising(self) -> None:
        device = self.device
        await device.start_advertising(
            advertising_data=self.advertising_data,
            scan_response_data=b"",
            advertising_interval_min=ADVERTISING_INTERVAL_MS,
            advertising_interval_max=ADVERTISING_INTERVAL_MS,
            auto_restart=False,
        )
        self._advertising_event.set()

    async def _watch_peer_presence(self) -> None:
        """Emulate the supervision timeout the virtual link lacks.

        A host whose controller left the link (a Bumble tool that exited without disconnecting)
        would otherwise stay "connected" forever; a real sensor notices after its supervision
        timeout and disconnects with reason 0x08.
        """
        controller, link = self._controller, self._link
        assert controller is not None and link is not None
        while True:
            await asyncio.sleep(PRESENCE_CHECK_S)
            for ll_connection in list(controller.le_connections.values()):
                peer = link.find_le_controller(ll_connection.peer_address)
                if peer is None or peer is controller:
                    logger.info(
                        "%s: host %s vanished; supervision timeout",
                        self.name,
                        ll_connection.peer_address,
                    )
                    controller.on_le_disconnected(ll_connection, OUT_OF_RANGE_REASON)

    def _subscribed(
        self, connection: Connection, characteristic: Characteristic[bytes], bit: int
    ) -> bool:
        """Whether the host's CCCD of `characteristic` has `bit` (1 notify, 2 indicate) set."""
        cccd = self.device.gatt_server.subscribers.get(connection, {}).get(characteristic.handle)
        return cccd is not None and len(cccd) == 2 and bool(cccd[0] & bit)

    async def _flow_control(self, connection: Connection) -> None:
        """speed=0: let the controller drain before queueing more notifications."""
        queue = self.device.host.le_acl_packet_queue
        if queue is not None and queue.pending >= FLOW_PENDING_PACKETS:
            with contextlib.suppress(ValueError):
                await queue.drain(connection.handle)
        else:
            await asyncio.sleep(0)

    async def _wait_until_due(self, due: float) -> None:
        """A paced stream (speed > 0): sleep until host time `due`, when the next packet's last
        sample exists. Behind schedule (a loaded machine, a very high `speed`) the packets due
        go out back to back, but the event loop runs between every two of them.

        Bumble's `notify_subscriber` queues a packet and returns without ever suspending, so a
        late stream loop that only awaited it would hold the loop until it caught up: the host
        on the same loop (the central, its GATT requests, the recorder's watchdog) would wait,
        and a stream that could not catch up would starve everything else for good.
        """
        delay = due - time.monotonic()
        await asyncio.sleep(delay if delay > 0 else 0)

    def _spawn(self, coroutine: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

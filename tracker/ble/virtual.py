"""A virtual radio: Bumble devices on one in-process `LocalLink`, each with its own controller.

The emulated sensor (a GATT peripheral) and the central that `BumbleScanner`/`BumbleClient` drive
both live on a `VirtualRadio`. Nothing leaves the process unless a controller is attached to a
Bumble transport (`attach_transport`, used by `tracker emulate --expose`).

Facts this module encodes (measured, see BLE_NOTES.md):
- the virtual controller's default ACL packet length (27) throttles big notifications: use 251;
- the virtual controller never completes "LE create connection cancel", so a connect that times
  out would leave the controller stuck with a pending connection: `VirtualController` finishes
  the cancel the way a real controller does (connection complete with status 0x02);
- the identity resolving key defaults to zeros: every device gets a random one.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from bumble import hci
from bumble.controller import Controller
from bumble.device import Device, DeviceConfiguration
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

from tracker.ble import quiet

logger = logging.getLogger(__name__)
quiet.install()  # Bumble's per-packet debug text is built only when DEBUG is on (tracker.ble.quiet)

ACL_DATA_PACKET_LENGTH = 251
"""Bytes per ACL packet of every virtual controller (the LE data length extension maximum)."""

ADVERTISING_INTERVAL_MS = 20.0
"""Advertising interval for virtual peripherals (Bumble's default of 1 s makes every scan slow)."""


class VirtualController(Controller):
    """A Bumble virtual controller that completes a cancelled LE connection attempt.

    A real controller answers "LE Create Connection Cancel" with a command complete and then an LE
    Connection Complete event with status UNKNOWN_CONNECTION_IDENTIFIER (0x02); Bumble's host then
    fails the pending connect. Bumble's virtual controller only says "success" and stays pending,
    which makes the next connect fail with "command disallowed".
    """

    def on_hci_le_create_connection_cancel_command(self, command: Any) -> Any:
        pending = self.pending_le_connection
        result = super().on_hci_le_create_connection_cancel_command(command)
        if pending is not None:
            self.pending_le_connection = None
            peer = pending.peer_address

            def complete_cancel() -> None:
                self.send_hci_packet(
                    hci.HCI_LE_Connection_Complete_Event(
                        status=hci.HCI_ErrorCode.UNKNOWN_CONNECTION_IDENTIFIER_ERROR,
                        connection_handle=0,
                        role=hci.Role.CENTRAL,
                        peer_address_type=peer.address_type,
                        peer_address=peer,
                        connection_interval=0,
                        peripheral_latency=0,
                        supervision_timeout=0,
                        central_clock_accuracy=0,
                    )
                )

            # After the command complete event, as on a real controller.
            asyncio.get_running_loop().call_soon(complete_cancel)
        return result


def random_static_address() -> str:
    """A random static LE address ("C0:..." to "FF:...": the two top bits set), as a string."""
    raw = bytearray(os.urandom(6))
    raw[0] |= 0xC0
    return ":".join(f"{b:02X}" for b in raw)


class VirtualRadio:
    """One in-process Bluetooth LE "air": a `LocalLink` and the controllers/devices on it.

    Usage::

        radio = VirtualRadio()
        sensor_device = radio.create_device("TRK-0001", address="C4:11:22:33:44:55")
        await sensor_device.power_on()
        central = radio.create_device("tracker-central")

    Every device gets its own `VirtualController` (ACL packets of 251 bytes), a random IRK and a
    20 ms advertising interval. `radio.central()` is the one central the bleak backend shares.
    """

    def __init__(self) -> None:
        self.link = LocalLink()
        self.controllers: list[Controller] = []
        self.devices: list[Device] = []
        self._central: Any = None  # tracker.ble.bumble_backend.BumbleAdapter, created lazily
        self._transports: list[Any] = []

    def create_controller(self, name: str, *, public_address: str | None = None) -> VirtualController:
        """A new virtual controller on this radio's link."""
        controller = VirtualController(name, link=self.link, public_address=public_address)
        controller.le_acl_data_packet_length = ACL_DATA_PACKET_LENGTH
        self.controllers.append(controller)
        return controller

    def create_device(
        self,
        name: str,
        *,
        address: str | None = None,
        config: DeviceConfiguration | None = None,
    ) -> Device:
        """A Bumble `Device` (not yet powered on) with its own controller on this radio.

        `address` is the device's random static address (a fresh one when omitted). Call
        `await device.power_on()` before use.
        """
        config = config or DeviceConfiguration()
        config.name = name
        config.address = hci.Address(address or random_static_address())
        if config.irk == bytes(16):
            config.irk = os.urandom(16)
        config.advertising_interval_min = ADVERTISING_INTERVAL_MS
        config.advertising_interval_max = ADVERTISING_INTERVAL_MS
        controller = self.create_controller(f"{name}-controller")
        host = Host(controller, AsyncPipeSink(controller))
        device = Device(config=config, host=host)
        self.devices.append(device)
        return device

    async def attach_transport(self, transport_name: str) -> Controller:
        """Expose a new virtual controller of this link on a Bumble HCI transport.

        A host on the other end (for example `bumble-scan tcp-client:127.0.0.1:PORT`) then sees
        this radio's peripherals as if they were on real air. `transport_name` is any Bumble
        transport spec, e.g. "tcp-server:_:9000" or "pty:ble".
        """
        from bumble.transport import open_transport

        transport = await open_transport(transport_name)
        self._transports.append(transport)
        controller = VirtualController(
            f"exposed-{len(self._transports)}",
            host_source=transport.source,
            host_sink=transport.sink,
            link=self.link,
        )
        controller.le_acl_data_packet_length = ACL_DATA_PACKET_LENGTH
        self.controllers.append(controller)
        return controller

    def central(self, *, bond_store_path: os.PathLike[str] | str | None = None) -> Any:
        """The shared central adapter of this radio (created on first use).

        Returns a `tracker.ble.bumble_backend.BumbleAdapter`. `bond_store_path` (only honoured on
        the first call) persists bonds to a 0600 JSON file; in memory otherwise.
        """
        if self._central is None:
            from tracker.ble.bumble_backend import BumbleAdapter

            self._central = BumbleAdapter(self, bond_store_path=bond_store_path)
        return self._central

    async def close(self) -> None:
        """Power everything off and close exposed transports (idempotent)."""
        if self._central is not None:
            await self._central.close()
        for device in self.devices:
            try:
                await asyncio.wait_for(device.power_off(), 2.0)
            except Exception:  # noqa: BLE001  shutting down: a device that cannot power off is gone anyway
                logger.debug("power_off failed for %s", device.name, exc_info=True)
        for transport in self._transports:
            try:
                await transport.close()
            except Exception:  # noqa: BLE001
                logger.debug("closing transport failed", exc_info=True)
        self._transports.clear()

    async def __aenter__(self) -> VirtualRadio:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

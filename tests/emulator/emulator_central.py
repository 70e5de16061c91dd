"""A Bumble central on the emulated sensor's link: Bumble's own GATT client, independent of tracker.ble.

Only for the emulator's tests: it decodes with the spec's layout, not with tracker's decoder.
"""

from __future__ import annotations

import asyncio
import os
import struct

from bumble import hci
from bumble.controller import Controller
from bumble.device import Advertisement, Connection, Device, DeviceConfiguration, Peer
from bumble.host import Host
from bumble.keys import MemoryKeyStore
from bumble.link import LocalLink
from bumble.pairing import PairingConfig, PairingDelegate
from bumble.transport.common import AsyncPipeSink

from tracker.protocol import spec


def decode_packet(payload: bytes) -> tuple[int, int, int, int, list[tuple[int, ...]]]:
    """(version, count_flags, sequence, timestamp_us, samples) straight from spec's layout."""
    version, count_flags, sequence, timestamp = struct.unpack_from(spec.HEADER_FORMAT, payload)
    count = count_flags & spec.COUNT_MASK
    assert len(payload) == spec.HEADER_SIZE + count * spec.SAMPLE_SIZE, payload.hex()
    samples = [
        struct.unpack_from(spec.SAMPLE_FORMAT, payload, spec.HEADER_SIZE + i * spec.SAMPLE_SIZE)
        for i in range(count)
    ]
    return version, count_flags, sequence, timestamp, samples


class Central:
    """One host on `link`, with its own controller and an in-memory bond store."""

    def __init__(self, link: LocalLink, address: str = "C2:11:22:33:44:01") -> None:
        self.controller = Controller("test-central", link=link)
        self.controller.le_acl_data_packet_length = 251
        config = DeviceConfiguration()
        config.name = "test-central"
        config.address = hci.Address(address)
        config.irk = os.urandom(16)
        self.device = Device(
            config=config, host=Host(self.controller, AsyncPipeSink(self.controller))
        )
        self.device.keystore = MemoryKeyStore()
        self.device.pairing_config_factory = lambda _c: PairingConfig(
            sc=True,
            mitm=False,
            bonding=True,
            delegate=PairingDelegate(io_capability=PairingDelegate.IoCapability.NO_OUTPUT_NO_INPUT),
        )
        self.connection: Connection | None = None
        self.peer: Peer | None = None
        self.disconnect_reasons: list[int] = []

    async def power_on(self) -> Central:
        await self.device.power_on()
        return self

    async def scan(self, seconds: float) -> list[Advertisement]:
        seen: list[Advertisement] = []
        self.device.on("advertisement", seen.append)
        await self.device.start_scanning(active=False, filter_duplicates=False)
        try:
            await asyncio.sleep(seconds)
        finally:
            await self.device.stop_scanning()
            self.device.remove_listener("advertisement", seen.append)
        return seen

    async def connect(self, address: str, timeout: float = 5.0) -> Peer:
        connection = await asyncio.wait_for(
            self.device.connect(hci.Address(address), own_address_type=hci.OwnAddressType.RANDOM),
            timeout,
        )
        connection.on("disconnection", self.disconnect_reasons.append)
        self.connection = connection
        self.peer = Peer(connection)
        return self.peer

    async def discover(self, mtu: int | None = 247) -> Peer:
        assert self.peer is not None
        if mtu is not None:
            await self.peer.request_mtu(mtu)
        await self.peer.discover_services()
        for service in self.peer.services:
            await service.discover_characteristics()
            for characteristic in service.characteristics:
                await characteristic.discover_descriptors()
        return self.peer

    def characteristic(self, uuid: str):
        assert self.peer is not None
        (found,) = self.peer.get_characteristics_by_uuid(uuid_from(uuid))
        return found


def uuid_from(text: str):
    from bumble.core import UUID

    return UUID(text)


class Session:
    """A paired central with the data and control-point subscriptions set up."""

    def __init__(self, central: Central) -> None:
        self.central = central
        self.packets: list[tuple[float, bytes]] = []
        self.indications: asyncio.Queue[bytes] = asyncio.Queue()
        self.battery: list[int] = []
        self.data = central.characteristic(spec.DATA_CHAR_UUID)
        self.control = central.characteristic(spec.CONTROL_POINT_UUID)

    async def subscribe(self) -> Session:
        import time

        await self.data.subscribe(lambda v: self.packets.append((time.monotonic(), bytes(v))))
        await self.control.subscribe(
            lambda v: self.indications.put_nowait(bytes(v)), prefer_notify=False
        )
        battery = self.central.characteristic(spec.BATTERY_LEVEL_UUID)
        await battery.subscribe(lambda v: self.battery.append(bytes(v)[0]))
        return self

    async def command(self, request: bytes, timeout: float = 3.0) -> bytes:
        """Write a control-point request and return its indication."""
        await self.control.write_value(request, with_response=True)
        return await asyncio.wait_for(self.indications.get(), timeout)

    def decoded(self) -> list[tuple[int, int, int, int, list[tuple[int, ...]]]]:
        return [decode_packet(p) for _, p in self.packets]


async def open_session(
    central: Central,
    address: str,
    *,
    mtu: int | None = 247,
    pair: bool = True,
    encrypt: bool = False,
) -> Session:
    """Connect, exchange the MTU, discover; then pair (new bond) or encrypt (existing bond)."""
    await central.connect(address)
    await central.discover(mtu)
    if pair:
        await central.connection.pair()
    elif encrypt:
        await central.connection.encrypt()
    return Session(central)

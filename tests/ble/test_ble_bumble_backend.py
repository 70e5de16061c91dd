"""The bleak backend over Bumble, through plain bleak, against a minimal peripheral of our own.

These tests exercise the backend alone (not the emulator): scanning, connecting, GATT discovery,
reads and writes, notifications, bonding, refused access, timeouts and disconnections.
"""

from __future__ import annotations

import asyncio
import json
import os

import pytest
from ble_minimal_peripheral import (
    ADDRESS,
    NAME,
    NO_READ_UUID,
    NOTIFY_UUID,
    READ_UUID,
    SERVICE_UUID,
    WRITE_UUID,
    MinimalPeripheral,
)
from bleak import BleakClient, BleakScanner
from bleak.exc import BleakDeviceNotFoundError, BleakError, BleakGATTProtocolError

from tracker.ble.bumble_backend import BumbleClient, BumbleScanner
from tracker.ble.virtual import VirtualRadio

BATTERY_LEVEL = "00002a19-0000-1000-8000-00805f9b34fb"


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 30))


async def until(predicate, timeout: float = 10.0) -> None:
    """Wait for something the test expects to happen (never a fixed sleep: a loaded machine only
    makes it later)."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.005)


async def _setup(bond_store_path=None):
    radio = VirtualRadio()
    peripheral = await MinimalPeripheral(radio).start()
    if bond_store_path is not None:
        radio.central(bond_store_path=bond_store_path)
    return radio, peripheral


def test_scanner_reports_name_address_rssi_and_service():
    async def go():
        radio, _ = await _setup()
        try:
            # Both scan at once: once the first has heard the advertisement, so has the second,
            # which filters it out.
            async with (
                BleakScanner(backend=BumbleScanner, radio=radio, service_uuids=[SERVICE_UUID]) as scanner,
                BleakScanner(backend=BumbleScanner, radio=radio, service_uuids=["0000aaaa-0000-1000-8000-00805f9b34fb"]) as other,
            ):
                await until(lambda: ADDRESS in scanner.discovered_devices_and_advertisement_data)
                await until(lambda: len(scanner.discovered_devices_and_advertisement_data[ADDRESS][1].service_uuids) > 0)
            seen = scanner.discovered_devices_and_advertisement_data
            filtered_out = other.discovered_devices
            device = await BleakScanner.find_device_by_name(NAME, timeout=3, backend=BumbleScanner, radio=radio)
            return seen, filtered_out, device
        finally:
            await radio.close()

    seen, filtered_out, device = run(go())
    assert list(seen) == [ADDRESS]
    ble_device, adv = seen[ADDRESS]
    assert ble_device.name == NAME and adv.local_name == NAME
    assert adv.service_uuids == [SERVICE_UUID]
    assert isinstance(adv.rssi, int) and -127 <= adv.rssi < 0
    assert filtered_out == []
    assert device is not None and device.address == ADDRESS


def test_gatt_discovery_read_write_and_refused_read():
    async def go():
        radio, peripheral = await _setup()
        try:
            device = await BleakScanner.find_device_by_address(ADDRESS, timeout=3, backend=BumbleScanner, radio=radio)
            async with BleakClient(device, backend=BumbleClient, radio=radio, timeout=5) as client:
                service = client.services.get_service(SERVICE_UUID)
                props = {c.uuid: c.properties for c in service.characteristics}
                value = await client.read_gatt_char(READ_UUID)
                battery = await client.read_gatt_char(BATTERY_LEVEL)
                with pytest.raises(BleakGATTProtocolError) as refused:
                    await client.read_gatt_char(NO_READ_UUID)
                await client.write_gatt_char(WRITE_UUID, b"\x01\x02", response=True)
                await client.write_gatt_char(WRITE_UUID, b"\x03", response=False)
                await until(lambda: len(peripheral.written) >= 2)
                cccd = client.services.get_characteristic(NOTIFY_UUID).get_descriptor("00002902-0000-1000-8000-00805f9b34fb")
                return client.mtu_size, props, bytes(value), bytes(battery), refused.value, list(peripheral.written), cccd
        finally:
            await radio.close()

    mtu, props, value, battery, refused, written, cccd = run(go())
    assert mtu == 247
    assert props[READ_UUID] == ["read"]
    assert set(props[WRITE_UUID]) == {"write", "write-without-response"}
    assert props[NOTIFY_UUID] == ["notify"]
    assert cccd is not None
    assert value == b"hello" and battery == bytes([87])
    assert int(refused.code) == 0x02  # READ_NOT_PERMITTED
    assert written == [b"\x01\x02", b"\x03"]


def test_notify_needs_bond_then_every_notification_arrives_once():
    async def go():
        radio, peripheral = await _setup()
        try:
            got: list[bytes] = []
            device = await BleakScanner.find_device_by_address(ADDRESS, timeout=3, backend=BumbleScanner, radio=radio)
            async with BleakClient(device, backend=BumbleClient, radio=radio, timeout=5) as client:
                with pytest.raises(BleakGATTProtocolError) as refused:
                    await client.start_notify(NOTIFY_UUID, lambda _c, data: got.append(bytes(data)))
                await client.pair()
                await client.start_notify(NOTIFY_UUID, lambda _c, data: got.append(bytes(data)))
                for i in range(200):
                    await peripheral.notify(i.to_bytes(2, "little") * 100)
                await until(lambda: len(got) >= 200)
                await client.stop_notify(NOTIFY_UUID)
                await peripheral.notify(b"after stop")
                # ATT is ordered: when a read sent after it is answered, a notification that was
                # going to arrive has arrived
                await client.read_gatt_char(READ_UUID)
            return refused.value, got
        finally:
            await radio.close()

    refused, got = run(go())
    assert int(refused.code) == 0x0F  # INSUFFICIENT_ENCRYPTION
    # The refused subscription left no callback behind: each notification exactly once, in order.
    assert got == [i.to_bytes(2, "little") * 100 for i in range(200)]


def test_bond_is_reused_and_persisted_private(tmp_path):
    store = tmp_path / "bonds.json"

    async def go():
        radio, peripheral = await _setup(bond_store_path=store)
        try:
            async with BleakClient(ADDRESS, backend=BumbleClient, radio=radio, timeout=5, pair=True) as client:
                first_keys = json.loads(store.read_text())
                assert client._backend._connection.is_encrypted
            pairings = []
            peripheral.device.on("pairing", lambda *a: pairings.append(a))
            async with BleakClient(ADDRESS, backend=BumbleClient, radio=radio, timeout=5, pair=True) as client:
                encrypted = client._backend._connection.is_encrypted
            return first_keys, pairings, encrypted
        finally:
            await radio.close()

    keys, pairings, encrypted = run(go())
    assert ADDRESS in keys and keys[ADDRESS].get("ltk")
    assert encrypted and pairings == []  # encrypted with the stored bond, no second pairing
    assert (os.stat(store).st_mode & 0o777) == 0o600


def test_connect_to_absent_device_times_out_and_link_stays_usable():
    async def go():
        radio, _ = await _setup()
        try:
            # connect's own timeout (0.5 s) ends the attempt: a hang would hit ours (10 s) instead
            with pytest.raises(BleakDeviceNotFoundError):
                await asyncio.wait_for(
                    BleakClient("C9:09:09:09:09:09", backend=BumbleClient, radio=radio, timeout=0.5).connect(), 10
                )
            # The virtual controller now completes the cancel: the next connect works.
            async with BleakClient(ADDRESS, backend=BumbleClient, radio=radio, timeout=5) as client:
                return client.is_connected
        finally:
            await radio.close()

    assert run(go())


def test_unsolicited_disconnect_calls_back_and_solicited_does_not():
    async def go():
        radio, peripheral = await _setup()
        try:
            calls = []
            dropped = asyncio.Event()

            def on_disconnect(client):
                calls.append(client)
                dropped.set()

            client = BleakClient(ADDRESS, backend=BumbleClient, radio=radio, timeout=5, disconnected_callback=on_disconnect)
            await client.connect()
            connection = next(iter(peripheral.device.connections.values()))
            await connection.disconnect(0x08)
            await asyncio.wait_for(dropped.wait(), 3)
            after_drop = client.is_connected
            with pytest.raises(BleakError):
                await client.read_gatt_char(READ_UUID)
            await client.connect()
            await client.disconnect()
            # nothing to wait for: a solicited disconnect must not call back; give a callback
            # that was wrongly scheduled the chance to run
            await asyncio.sleep(0.05)
            return len(calls), after_drop
        finally:
            await radio.close()

    n_calls, after_drop = run(go())
    assert after_drop is False
    assert n_calls == 1


def test_backend_without_radio_says_what_is_missing():
    with pytest.raises(BleakError, match="radio=VirtualRadio"):
        BleakScanner(backend=BumbleScanner)

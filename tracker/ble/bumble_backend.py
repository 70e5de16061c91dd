"""A bleak backend over a Bumble central on a `VirtualRadio` (or any Bumble link).

Application code stays plain bleak; only `backend=` and one keyword differ::

    radio = VirtualRadio()
    device = await BleakScanner.find_device_by_name("TRK-0001", backend=BumbleScanner, radio=radio)
    async with BleakClient(device, backend=BumbleClient, radio=radio, pair=True) as client:
        await client.start_notify(DATA_CHAR_UUID, on_data)

Pieces:
- `BumbleAdapter`: the one Bumble central of a radio. It powers the device on once, holds the bond
  store (a 0600 JSON file when a path is given, memory otherwise), shares scanning between
  scanners (reference counted) and serialises LE connects (a controller takes one pending LE
  connect at a time).
- `BumbleScanner(BaseBleakScanner)`: advertisements as bleak `BLEDevice` + `AdvertisementData`.
- `BumbleClient(BaseBleakClient)`: connect (bounded by `timeout`), pair (LE Secure Connections,
  Just Works, bonding), GATT discovery into bleak's public service objects, reads, writes,
  notifications and indications, MTU, and the disconnected callback for unsolicited drops.

Errors come out as bleak's: `BleakGATTProtocolError` for an ATT error response (e.g. insufficient
encryption), `BleakDeviceNotFoundError` when the address never answers, `TimeoutError` for a
connect that does not complete, `BleakError` for the rest, with the reason in the message.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient, NotifyCallback
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakDeviceNotFoundError, BleakError, BleakGATTProtocolError
from bleak.uuids import normalize_uuid_str
from bumble import att, core, hci, pairing
from bumble.device import Advertisement, Connection, Device, Peer
from bumble.gatt import Characteristic
from bumble.keys import KeyStore, MemoryKeyStore, PairingKeys

from tracker.ble.virtual import VirtualRadio

logger = logging.getLogger(__name__)

PREFERRED_MTU = 247
"""ATT MTU the central asks for (what `spec.MAX_SAMPLES_PER_PACKET` is sized for)."""

_PROPERTY_NAMES = {
    Characteristic.Properties.BROADCAST: "broadcast",
    Characteristic.Properties.READ: "read",
    Characteristic.Properties.WRITE_WITHOUT_RESPONSE: "write-without-response",
    Characteristic.Properties.WRITE: "write",
    Characteristic.Properties.NOTIFY: "notify",
    Characteristic.Properties.INDICATE: "indicate",
    Characteristic.Properties.AUTHENTICATED_SIGNED_WRITES: "authenticated-signed-writes",
    Characteristic.Properties.EXTENDED_PROPERTIES: "extended-properties",
}


def bleak_uuid(uuid: core.UUID) -> str:
    """Bumble UUID -> bleak's normalised lower-case 128-bit string."""
    return normalize_uuid_str(uuid.to_hex_str("-"))


def address_string(address: hci.Address) -> str:
    """The address as bleak shows it: "C4:11:22:33:44:55", without Bumble's type suffix."""
    return address.to_string(False)


# --- bond store ------------------------------------------------------------------------------
class PrivateJsonKeyStore(KeyStore):
    """Bumble key store in one JSON file, readable by the user only, replaced atomically.

    Bond keys let anyone who holds them impersonate the sensor to this machine, so the file is
    0600 in the (0700) data directory, written through `tracker.paths.write_private_atomic`.
    """

    def __init__(self, path: os.PathLike[str] | str) -> None:
        self.path = Path(path)
        self._keys: dict[str, dict[str, Any]] = {}
        if self.path.exists():
            try:
                loaded = json.loads(self.path.read_text(encoding="utf-8"))
                if isinstance(loaded, dict):
                    self._keys = {str(k): v for k, v in loaded.items() if isinstance(v, dict)}
            except (OSError, ValueError) as exc:
                logger.warning("bond store %s unreadable (%s); starting without bonds", self.path, exc)

    def _save(self) -> None:
        from tracker.paths import write_private_atomic

        write_private_atomic(self.path, json.dumps(self._keys, indent=1, sort_keys=True).encode())

    async def delete(self, name: str) -> None:
        if self._keys.pop(name, None) is not None:
            self._save()

    async def update(self, name: str, keys: PairingKeys) -> None:
        self._keys.setdefault(name, {}).update(keys.to_dict())
        self._save()

    async def get(self, name: str) -> PairingKeys | None:
        entry = self._keys.get(name)
        return PairingKeys.from_dict(entry) if entry is not None else None

    async def get_all(self) -> list[tuple[str, PairingKeys]]:
        return [(name, PairingKeys.from_dict(entry)) for name, entry in self._keys.items()]


# --- adapter ---------------------------------------------------------------------------------
class BumbleAdapter:
    """The one Bumble central of a `VirtualRadio`, shared by every scanner and client on it.

    Get it with `radio.central(bond_store_path=...)`; do not construct two per radio.
    """

    def __init__(self, radio: VirtualRadio, *, bond_store_path: os.PathLike[str] | str | None = None) -> None:
        self.radio = radio
        self.device: Device = radio.create_device("tracker-central")
        self.device.keystore = (
            PrivateJsonKeyStore(bond_store_path) if bond_store_path is not None else MemoryKeyStore()
        )
        # LE Secure Connections, bonding, no input/output (Just Works): what a headless sensor
        # without a display can do. MITM protection would need a passkey on the sensor.
        self.device.pairing_config_factory = lambda _connection: pairing.PairingConfig(
            sc=True,
            mitm=False,
            bonding=True,
            delegate=pairing.PairingDelegate(
                io_capability=pairing.PairingDelegate.IoCapability.NO_OUTPUT_NO_INPUT
            ),
        )
        self._start_lock = asyncio.Lock()
        self._connect_lock = asyncio.Lock()
        self._scan_users = 0
        self._scan_lock = asyncio.Lock()
        self._advertisement_listeners: set[Callable[[Advertisement], None]] = set()
        self._started = False
        self.device.on("advertisement", self._on_advertisement)

    async def ensure_started(self) -> None:
        async with self._start_lock:
            if not self._started:
                await self.device.power_on()
                # Bumble reads the resolving keys only at power-on; bonds from the file count too.
                await self.device.refresh_resolving_list()
                self._started = True

    async def close(self) -> None:
        self._advertisement_listeners.clear()
        if self._started and self.device.is_scanning:
            with contextlib.suppress(Exception):
                await self.device.stop_scanning()

    # scanning (shared, reference counted)
    def _on_advertisement(self, advertisement: Advertisement) -> None:
        for listener in list(self._advertisement_listeners):
            try:
                listener(advertisement)
            except Exception:  # noqa: BLE001  a listener's bug must not stop the radio
                logger.exception("advertisement listener failed")

    async def start_scanning(self, listener: Callable[[Advertisement], None], *, active: bool) -> None:
        await self.ensure_started()
        async with self._scan_lock:
            self._advertisement_listeners.add(listener)
            self._scan_users += 1
            if not self.device.is_scanning:
                # filter_duplicates=False: every advertisement refreshes RSSI, as on BlueZ.
                await self.device.start_scanning(active=active, filter_duplicates=False)

    async def stop_scanning(self, listener: Callable[[Advertisement], None]) -> None:
        async with self._scan_lock:
            self._advertisement_listeners.discard(listener)
            self._scan_users = max(0, self._scan_users - 1)
            if self._scan_users == 0 and self.device.is_scanning and not self._connect_lock.locked():
                await self.device.stop_scanning()

    # connecting (serialised)
    async def connect(self, address: hci.Address, *, timeout_s: float) -> Connection:
        """Connect to `address`, one LE connect at a time, within `timeout_s` in total.

        Raises `TimeoutError` if the peer did not answer in time.
        """
        await self.ensure_started()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        async with asyncio.timeout(timeout_s):
            await self._connect_lock.acquire()
        try:
            device = self.device
            resolver = device.address_resolver
            if resolver is not None and resolver.can_resolve_to(address):
                # A bonded peer may use a resolvable private address: Bumble would scan for it
                # without a time limit, so do that scan here, bounded.
                remaining = max(0.05, deadline - loop.time())
                address = await asyncio.wait_for(device.find_peer_by_identity_address(address), remaining)
            remaining = max(0.05, deadline - loop.time())
            # Skip Bumble's own (unbounded) identity scan now that the address is known; the
            # flag is read once, before connect_le's first await.
            saved = device.address_resolution_offload
            device.address_resolution_offload = True
            try:
                task = asyncio.ensure_future(device.connect_le(address, timeout=remaining))
                await asyncio.sleep(0)
            finally:
                device.address_resolution_offload = saved
            try:
                # connect_le handles its own timeout (cancel + wait, completed by
                # VirtualController); never cancel it from outside or the controller stays
                # with a pending connect.
                return await asyncio.shield(task)
            except core.TimeoutError as exc:
                raise TimeoutError(f"no connection to {address_string(address)} within {timeout_s:.1f} s") from exc
        finally:
            self._connect_lock.release()


def _adapter_for(radio: VirtualRadio | None, kwargs: dict[str, Any]) -> BumbleAdapter:
    if radio is None:
        raise BleakError(
            "the Bumble backend needs radio=VirtualRadio(...) (pass it through BleakScanner/BleakClient kwargs)"
        )
    return radio.central(bond_store_path=kwargs.get("bond_store_path"))


# --- scanner ---------------------------------------------------------------------------------
def advertisement_data(advertisement: Advertisement) -> AdvertisementData:
    """Bumble advertisement -> bleak `AdvertisementData` (name, services, data, RSSI)."""
    data = advertisement.data
    T = core.AdvertisingData.Type
    name = data.get(T.COMPLETE_LOCAL_NAME) or data.get(T.SHORTENED_LOCAL_NAME)
    uuids: list[str] = []
    for kind in (
        T.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
        T.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
        T.COMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS,
        T.INCOMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS,
        T.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
        T.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
    ):
        for group in data.get_all(kind):
            for uuid in group if isinstance(group, list) else [group]:
                text = bleak_uuid(uuid)
                # Bumble merges the scan response into the data: keep each UUID once.
                if text not in uuids:
                    uuids.append(text)
    service_data: dict[str, bytes] = {}
    for kind in (T.SERVICE_DATA_16_BIT_UUID, T.SERVICE_DATA_32_BIT_UUID, T.SERVICE_DATA_128_BIT_UUID):
        for item in data.get_all(kind):
            uuid, value = cast("tuple[Any, bytes]", item)  # Bumble types the value as a union of all kinds
            service_data[bleak_uuid(uuid)] = bytes(value)
    manufacturer: dict[int, bytes] = {}
    for company, value in data.get_all(T.MANUFACTURER_SPECIFIC_DATA):
        manufacturer[int(company)] = bytes(value)
    tx_power = data.get(T.TX_POWER_LEVEL)
    return AdvertisementData(
        local_name=str(name) if name is not None else None,
        manufacturer_data=manufacturer,
        service_data=service_data,
        service_uuids=uuids,
        tx_power=int(tx_power) if tx_power is not None else None,
        rssi=int(advertisement.rssi),
        platform_data=(advertisement,),
    )


class BumbleScanner(BaseBleakScanner):
    """bleak scanner backend over the radio's Bumble central (keyword `radio=` required)."""

    def __init__(
        self,
        detection_callback: Any,
        service_uuids: list[str] | None,
        scanning_mode: str = "active",
        *,
        radio: VirtualRadio | None = None,
        bluez: Any = None,
        cb: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(detection_callback, service_uuids)
        self._adapter = _adapter_for(radio, kwargs)
        self._active = scanning_mode != "passive"
        self._scanning = False

    def _on_advertisement(self, advertisement: Advertisement) -> None:
        adv = advertisement_data(advertisement)
        if not self.is_allowed_uuid(adv.service_uuids):
            return
        address = address_string(advertisement.address)
        device = self.create_or_update_device(
            address, address, adv.local_name, advertisement.address, adv
        )
        self.call_detection_callbacks(device, adv)

    async def start(self) -> None:
        self.seen_devices = {}
        if not self._scanning:
            await self._adapter.start_scanning(self._on_advertisement, active=self._active)
            self._scanning = True

    async def stop(self) -> None:
        if self._scanning:
            self._scanning = False
            await self._adapter.stop_scanning(self._on_advertisement)


# --- client ----------------------------------------------------------------------------------
def _gatt_error(exc: BaseException, what: str) -> BaseException:
    """Bumble exception -> the bleak exception an application expects."""
    if isinstance(exc, att.ATT_Error):
        return BleakGATTProtocolError(int(exc.error_code))
    if isinstance(exc, asyncio.CancelledError | core.ConnectionError):
        return BleakError(f"{what}: the link was lost")
    if isinstance(exc, core.TimeoutError | TimeoutError):
        return TimeoutError(f"{what}: no answer from the device")
    return BleakError(f"{what}: {exc}")


class BumbleClient(BaseBleakClient):
    """bleak client backend over the radio's Bumble central (keyword `radio=` required).

    Extra keyword: `bond_store_path` (first use of a radio only) persists bonds to a 0600 file.
    """

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        *,
        disconnected_callback: Callable[[], None] | None = None,
        timeout: float = 10.0,
        radio: VirtualRadio | None = None,
        services: set[str] | None = None,
        bluez: Any = None,
        winrt: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout)
        self._adapter = _adapter_for(radio, kwargs)
        if isinstance(address_or_ble_device, BLEDevice):
            self._name = address_or_ble_device.name or address_or_ble_device.address
            details = address_or_ble_device.details
            self._hci_address = details if isinstance(details, hci.Address) else hci.Address(self.address)
        else:
            self._name = address_or_ble_device
            self._hci_address = hci.Address(address_or_ble_device)
        self._service_filter = services
        self._connection: Connection | None = None
        self._peer: Peer | None = None
        self._closing = False
        self._subscribers: dict[int, Callable[[bytes], None]] = {}

    # properties
    @property
    def name(self) -> str:
        return self._name

    @property
    def mtu_size(self) -> int:
        return int(self._connection.att_mtu) if self._connection is not None else 23

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    # connectivity
    async def connect(self, pair: bool = False, **kwargs: Any) -> None:
        if self._connection is not None:
            return
        self._closing = False
        try:
            connection = await self._adapter.connect(self._hci_address, timeout_s=self._timeout)
        except TimeoutError as exc:
            raise BleakDeviceNotFoundError(
                self.address, f"device {self.address} did not answer within {self._timeout:.1f} s"
            ) from exc
        except core.BaseBumbleError as exc:
            raise BleakError(f"cannot connect to {self.address}: {exc}") from exc
        self._connection = connection
        connection.on(connection.EVENT_DISCONNECTION, self._on_disconnection)
        self._peer = Peer(connection)
        try:
            async with asyncio.timeout(self._timeout):
                await self._peer.request_mtu(PREFERRED_MTU)
                if pair:
                    await self.pair()
                self.services = await self._discover()
        except BaseException as exc:
            # Leave no half-open link behind.
            await self.disconnect()
            if isinstance(exc, BleakError | TimeoutError | asyncio.CancelledError):
                raise
            raise _gatt_error(exc, f"setting up the link to {self.address}") from exc

    def _on_disconnection(self, reason: int) -> None:
        solicited = self._closing
        self._connection = None
        self._peer = None
        self._subscribers.clear()
        logger.info("disconnected from %s (reason 0x%02X%s)", self.address, reason, ", ours" if solicited else "")
        if not solicited and self._disconnected_callback is not None:
            try:
                self._disconnected_callback()
            except Exception:  # noqa: BLE001  an application bug must not break the radio stack
                logger.exception("disconnected callback failed")

    async def disconnect(self) -> None:
        connection = self._connection
        if connection is None:
            return
        self._closing = True
        try:
            await asyncio.wait_for(
                connection.disconnect(hci.HCI_REMOTE_USER_TERMINATED_CONNECTION_ERROR), 5.0
            )
        except Exception as exc:  # noqa: BLE001  the link may already be gone: that is what we wanted
            logger.debug("disconnect from %s: %s", self.address, exc)
        finally:
            self._connection = None
            self._peer = None
            self._subscribers.clear()

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        """Encrypt the link with LE Secure Connections: the stored bond if there is one, or pair
        (Just Works, bonding) and store the new keys."""
        connection = self._require_connection()
        if connection.is_encrypted:
            return
        keystore = self._adapter.device.keystore
        keys = await keystore.get(str(connection.peer_address)) if keystore is not None else None
        if keys is not None and (keys.ltk is not None or keys.ltk_central is not None):
            try:
                await asyncio.wait_for(connection.encrypt(), self._timeout)
                return
            except hci.HCI_Error as exc:
                if self._connection is None:
                    raise BleakError(f"the sensor {self.address} dropped the link during encryption") from exc
                # The sensor lost its side of the bond (reset, or re-paired with someone else).
                logger.warning(
                    "stored bond with %s refused (%s); pairing again", self.address, exc
                )
                if keystore is not None:
                    await keystore.delete(str(connection.peer_address))
        try:
            await asyncio.wait_for(connection.pair(), self._timeout)
        except core.ProtocolError as exc:
            raise BleakError(f"pairing with {self.address} refused by the device: {exc.error_name or exc}") from exc
        except (core.BaseBumbleError, asyncio.CancelledError) as exc:
            if self._connection is None:
                raise BleakError(f"the sensor {self.address} dropped the link while pairing") from exc
            raise BleakError(f"pairing with {self.address} failed: {exc}") from exc
        except TimeoutError as exc:
            raise BleakError(f"pairing with {self.address} timed out") from exc

    async def unpair(self) -> None:
        keystore = self._adapter.device.keystore
        if keystore is not None:
            with contextlib.suppress(KeyError):
                await keystore.delete(str(self._hci_address))
        await self.disconnect()

    # GATT
    def _require_connection(self) -> Connection:
        if self._connection is None:
            raise BleakError("Not connected")
        return self._connection

    def _require_peer(self) -> Peer:
        self._require_connection()
        assert self._peer is not None
        return self._peer

    async def _discover(self) -> BleakGATTServiceCollection:
        peer = self._require_peer()
        collection = BleakGATTServiceCollection()
        await peer.discover_services()
        mtu = lambda: self.mtu_size - 3  # noqa: E731  evaluated when bleak asks
        for service in peer.services:
            service_uuid = bleak_uuid(service.uuid)
            if self._service_filter and service_uuid not in self._service_filter:
                continue
            bleak_service = BleakGATTService(service, service.handle, service_uuid)
            collection.add_service(bleak_service)
            for characteristic in await service.discover_characteristics():
                properties = [name for flag, name in _PROPERTY_NAMES.items() if characteristic.properties & flag]
                bleak_char = BleakGATTCharacteristic(
                    characteristic,
                    characteristic.handle,
                    bleak_uuid(characteristic.uuid),
                    properties,  # type: ignore[arg-type]
                    mtu,
                    bleak_service,
                )
                collection.add_characteristic(bleak_char)
                for descriptor in await characteristic.discover_descriptors():
                    collection.add_descriptor(
                        BleakGATTDescriptor(descriptor, descriptor.handle, bleak_uuid(descriptor.type), bleak_char)
                    )
        return collection

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        peer = self._require_peer()
        try:
            return bytearray(await peer.gatt_client.read_value(characteristic.handle))
        except Exception as exc:
            raise _gatt_error(exc, f"reading {characteristic.uuid}") from exc

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        peer = self._require_peer()
        try:
            return bytearray(await peer.gatt_client.read_value(descriptor.handle))
        except Exception as exc:
            raise _gatt_error(exc, f"reading descriptor {descriptor.uuid}") from exc

    async def write_gatt_char(self, characteristic: BleakGATTCharacteristic, data: Any, response: bool) -> None:
        peer = self._require_peer()
        try:
            await peer.gatt_client.write_value(characteristic.handle, bytes(data), with_response=response)
        except Exception as exc:
            raise _gatt_error(exc, f"writing {characteristic.uuid}") from exc

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: Any) -> None:
        peer = self._require_peer()
        try:
            await peer.gatt_client.write_value(descriptor.handle, bytes(data), with_response=True)
        except Exception as exc:
            raise _gatt_error(exc, f"writing descriptor {descriptor.uuid}") from exc

    async def start_notify(
        self, characteristic: BleakGATTCharacteristic, callback: NotifyCallback, **kwargs: Any
    ) -> None:
        peer = self._require_peer()
        proxy = characteristic.obj

        def subscriber(value: bytes) -> None:
            try:
                callback(bytearray(value))
            except Exception:  # noqa: BLE001  never raise into the radio stack
                logger.exception("notification callback for %s failed", characteristic.uuid)

        client = peer.gatt_client
        try:
            await client.subscribe(proxy, subscriber, prefer_notify=True)
        except Exception as exc:
            # Bumble registers the subscriber before writing the CCCD and keeps it when the
            # write is refused: a retry would then deliver every notification twice.
            for table in (client.notification_subscribers, client.indication_subscribers):
                registered = table.get(characteristic.handle)
                if registered is not None:
                    registered.discard(subscriber)
                    if registered <= {proxy}:
                        table.pop(characteristic.handle, None)
            raise _gatt_error(exc, f"subscribing to {characteristic.uuid}") from exc
        self._subscribers[characteristic.handle] = subscriber

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        peer = self._require_peer()
        subscriber = self._subscribers.pop(characteristic.handle, None)
        try:
            await peer.gatt_client.unsubscribe(characteristic.obj, subscriber)
        except Exception as exc:
            raise _gatt_error(exc, f"unsubscribing from {characteristic.uuid}") from exc

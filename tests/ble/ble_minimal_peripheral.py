"""A minimal Bumble GATT peripheral for testing the bleak backend on its own.

Independent of tracker.emulator on purpose: the backend's tests must not depend on the emulator's
protocol logic. It advertises a name and one 128-bit service, has a readable characteristic, a
characteristic that refuses reads, a writable one (with and without response), a notify
characteristic whose CCCD needs an encrypted link, the Battery and Device Information services,
and counts what it received.
"""

from __future__ import annotations

import asyncio

from bumble import att, data_types
from bumble.core import AdvertisingData
from bumble.device import Device
from bumble.gatt import (
    GATT_CLIENT_CHARACTERISTIC_CONFIGURATION_DESCRIPTOR,
    Characteristic,
    CharacteristicValue,
    Descriptor,
    Service,
)
from bumble.profiles.battery_service import BatteryService
from bumble.profiles.device_information_service import DeviceInformationService

from tracker.ble.virtual import VirtualRadio

SERVICE_UUID = "0d5e0001-3b9c-4c8e-9a52-1f2e3d4c5b6a"
READ_UUID = "0d5e0002-3b9c-4c8e-9a52-1f2e3d4c5b6a"
WRITE_UUID = "0d5e0003-3b9c-4c8e-9a52-1f2e3d4c5b6a"
NOTIFY_UUID = "0d5e0004-3b9c-4c8e-9a52-1f2e3d4c5b6a"
NO_READ_UUID = "0d5e0005-3b9c-4c8e-9a52-1f2e3d4c5b6a"
NAME = "MINI-01"
ADDRESS = "C6:01:02:03:04:05"


class MinimalPeripheral:
    def __init__(self, radio: VirtualRadio, *, name: str = NAME, address: str = ADDRESS) -> None:
        self.device: Device = radio.create_device(name, address=address)
        self.written: list[bytes] = []
        self.subscribed = asyncio.Event()

        def on_write(_connection, value: bytes) -> None:
            self.written.append(bytes(value))

        def refuse_read(_connection):
            raise att.ATT_Error(att.ErrorCode.READ_NOT_PERMITTED)

        self.notify_char = Characteristic(
            NOTIFY_UUID, Characteristic.Properties.NOTIFY, Characteristic.READABLE, b""
        )
        server = self.device.gatt_server
        cccd = Descriptor(
            GATT_CLIENT_CHARACTERISTIC_CONFIGURATION_DESCRIPTOR,
            att.Attribute.READABLE | att.Attribute.WRITEABLE | att.Attribute.WRITE_REQUIRES_ENCRYPTION,
            att.AttributeValueV2(
                lambda bearer: server.read_cccd(bearer, self.notify_char),
                write=lambda bearer, value: server.write_cccd(bearer, self.notify_char, value),
            ),
        )
        self.notify_char.descriptors = [cccd]
        self.notify_char.on("subscription", lambda *_: self.subscribed.set())
        service = Service(
            SERVICE_UUID,
            [
                Characteristic(READ_UUID, Characteristic.Properties.READ, Characteristic.READABLE, b"hello"),
                Characteristic(
                    NO_READ_UUID,
                    Characteristic.Properties.READ,
                    Characteristic.READABLE,
                    CharacteristicValue(read=refuse_read),
                ),
                Characteristic(
                    WRITE_UUID,
                    Characteristic.Properties.WRITE | Characteristic.Properties.WRITE_WITHOUT_RESPONSE,
                    Characteristic.WRITEABLE,
                    CharacteristicValue(write=on_write),
                ),
                self.notify_char,
            ],
        )
        self.battery = BatteryService(lambda _connection: 87)
        dis = DeviceInformationService(manufacturer_name="Test", model_number="M1", serial_number="0001", firmware_revision="1.0.0")
        self.device.add_services([service, self.battery, dis])
        self.device.advertising_data = bytes(
            AdvertisingData(
                [
                    data_types.Flags(0x06),
                    data_types.CompleteLocalName(name),
                    data_types.CompleteListOf128BitServiceUUIDs([self._uuid(SERVICE_UUID)]),
                ]
            )
        )

    @staticmethod
    def _uuid(text: str):
        from bumble.core import UUID

        return UUID(text)

    async def start(self) -> MinimalPeripheral:
        await self.device.power_on()
        await self.device.start_advertising(auto_restart=True)
        return self

    async def notify(self, payload: bytes) -> None:
        await self.device.notify_subscribers(self.notify_char, payload)

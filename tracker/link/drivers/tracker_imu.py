"""Driver for the tracker IMU (firmware_protocol.md, version 1), through plain bleak.

GATT use, in the order the link needs it:
1. open reads (no bond needed): Device Information strings, Battery Level, the status record
   (protocol version, state, rate, ranges, samples per packet);
2. on an encrypted (bonded) link: subscribe to control-point indications, data notifications and
   battery notifications, then control-point commands: stop (if streaming), sample rate, ranges,
   start. Every command is a write with response answered by an indication
   `RESPONSE, opcode, result`; any result but SUCCESS raises `ControlPointError` with the hint
   from `spec.RESULT_HINTS`.
"""

from __future__ import annotations

import asyncio
import logging
import struct
from typing import TYPE_CHECKING, Any

from tracker.errors import ControlPointError, PairingError, ProtocolVersionError, SensorError
from tracker.link.driver import RecordSink, SensorIdentity, StreamSettings
from tracker.protocol import spec

if TYPE_CHECKING:
    from bleak import BleakClient
    from bleak.backends.device import BLEDevice
    from bleak.backends.scanner import AdvertisementData

logger = logging.getLogger(__name__)

COMMAND_TIMEOUT_S = 3.0
"""How long to wait for the control point's indication after a command."""

_DIS_FIELDS = {
    "manufacturer": spec.MANUFACTURER_NAME_UUID,
    "model": spec.MODEL_NUMBER_UUID,
    "serial": spec.SERIAL_NUMBER_UUID,
    "firmware": spec.FIRMWARE_REVISION_UUID,
}
# ATT error codes that mean "this needs an encrypted/bonded link".
_SECURITY_ERRORS = {0x05, 0x08, 0x0C, 0x0F}


def decode_status(payload: bytes) -> dict[str, Any]:
    """The status record as a dict; raises SensorError if it is too short to be one.

    Longer records are accepted (later minor versions may append fields, per the versioning rules).
    """
    if len(payload) < spec.STATUS_SIZE:
        raise SensorError(
            f"the sensor's status record is {len(payload)} bytes, expected {spec.STATUS_SIZE}",
            hint="this is not a tracker sensor, or its firmware is broken; update the firmware",
        )
    version, state, rate, acc_range, gyro_range, per_packet, clock = struct.unpack_from(spec.STATUS_FORMAT, payload)
    try:
        state_name = spec.SensorState(state).name.lower()
    except ValueError:
        state_name = f"unknown({state})"
    return {
        "protocol_version": version,
        "state": state_name,
        "sample_rate_hz": rate,
        "accel_range_g": acc_range,
        "gyro_range_dps": gyro_range,
        "samples_per_packet": per_packet,
        "sensor_clock_us": clock,
    }


def check_protocol_version(version: int, address: str | None = None) -> None:
    """Raise ProtocolVersionError (with what to update) unless `version` is the one we speak."""
    if version == spec.PROTOCOL_VERSION:
        return
    if version > spec.PROTOCOL_VERSION:
        hint = "update tracker (`pip install -U tracker`) to a version that speaks it"
    else:
        hint = "update the sensor's firmware to protocol version 1"
    raise ProtocolVersionError(
        f"the sensor speaks protocol version {version}; this tracker speaks version {spec.PROTOCOL_VERSION}",
        version=version,
        hint=hint,
    )


def _is_security_refusal(exc: BaseException) -> bool:
    from bleak.exc import BleakGATTProtocolError

    return isinstance(exc, BleakGATTProtocolError) and int(exc.code) in _SECURITY_ERRORS


class TrackerImuDriver:
    """The tracker IMU over bleak. One instance per connection user (it keeps the command queue)."""

    kind = "tracker-imu"
    data_source = "imu"
    product = "tracker sensor"
    sample_rates_hz = spec.SAMPLE_RATES_HZ

    def __init__(self) -> None:
        self._responses: asyncio.Queue[bytes] | None = None

    # --- recognising --------------------------------------------------------------------------
    def matches(self, device: BLEDevice, advertisement: AdvertisementData) -> bool:
        if spec.IMU_SERVICE_UUID in [u.lower() for u in advertisement.service_uuids]:
            return True
        name = advertisement.local_name or device.name or ""
        return name.startswith(spec.NAME_PREFIX)

    # --- identity ------------------------------------------------------------------------------
    async def read_identity(self, client: BleakClient) -> SensorIdentity:
        identity = SensorIdentity(address=client.address, name=client.name, driver=self.kind)
        for key, uuid in _DIS_FIELDS.items():
            if client.services.get_characteristic(uuid) is None:
                continue
            raw = await client.read_gatt_char(uuid)
            identity.device_info[key] = bytes(raw).decode("utf-8", errors="replace").rstrip("\x00").strip()
        if client.services.get_characteristic(spec.BATTERY_LEVEL_UUID) is not None:
            identity.battery_pct = self.battery_from_record("battery", bytes(await client.read_gatt_char(spec.BATTERY_LEVEL_UUID)))
        if client.services.get_characteristic(spec.STATUS_CHAR_UUID) is None:
            raise SensorError(
                f"{client.address} has no tracker status characteristic",
                address=client.address,
                hint="this is not a tracker sensor; pick another with `tracker scan`",
            )
        identity.status = decode_status(bytes(await client.read_gatt_char(spec.STATUS_CHAR_UUID)))
        identity.protocol_version = int(identity.status["protocol_version"])
        check_protocol_version(identity.protocol_version, client.address)
        return identity

    # --- streaming -------------------------------------------------------------------------------
    async def start(self, client: BleakClient, settings: StreamSettings, sink: RecordSink) -> dict[str, Any]:
        if settings.sample_rate_hz not in spec.SAMPLE_RATES_HZ:
            raise SensorError(
                f"sample rate {settings.sample_rate_hz} Hz is not supported",
                hint=f"use one of {', '.join(map(str, spec.SAMPLE_RATES_HZ))} Hz",
            )
        self._responses = asyncio.Queue()
        responses = self._responses

        def on_control(_char: Any, data: bytearray) -> None:
            payload = bytes(data)
            sink("control", payload)
            responses.put_nowait(payload)

        def on_data(_char: Any, data: bytearray) -> None:
            sink(self.data_source, bytes(data))

        def on_battery(_char: Any, data: bytearray) -> None:
            sink("battery", bytes(data))

        try:
            await client.start_notify(spec.CONTROL_POINT_UUID, on_control)
            status = decode_status(bytes(await client.read_gatt_char(spec.STATUS_CHAR_UUID)))
            check_protocol_version(int(status["protocol_version"]), client.address)
            if status["state"] == "streaming":
                await self._command(client, spec.Opcode.STOP_STREAM)
            if status["sample_rate_hz"] != settings.sample_rate_hz:
                await self._command(client, spec.Opcode.SET_SAMPLE_RATE, struct.pack("<H", settings.sample_rate_hz))
            if (status["accel_range_g"], status["gyro_range_dps"]) != (settings.accel_range_g, settings.gyro_range_dps):
                await self._command(
                    client, spec.Opcode.SET_RANGES, struct.pack("<BH", settings.accel_range_g, settings.gyro_range_dps)
                )
            # Subscribe before starting so the first packet is not missed.
            await client.start_notify(spec.DATA_CHAR_UUID, on_data)
            if client.services.get_characteristic(spec.BATTERY_LEVEL_UUID) is not None:
                await client.start_notify(spec.BATTERY_LEVEL_UUID, on_battery)
            await self._command(client, spec.Opcode.START_STREAM)
        except Exception as exc:
            if _is_security_refusal(exc):
                raise PairingError(
                    f"the sensor {client.address} refused access: the link is not bonded",
                    address=client.address,
                    hint="run `tracker pair` to bond with it (keep it close and switched on)",
                ) from exc
            raise
        status = decode_status(bytes(await client.read_gatt_char(spec.STATUS_CHAR_UUID)))
        return {
            "sample_rate_hz": status["sample_rate_hz"],
            "accel_range_g": status["accel_range_g"],
            "gyro_range_dps": status["gyro_range_dps"],
            "samples_per_packet": status["samples_per_packet"],
            "att_mtu": client.mtu_size,
            "protocol_version": status["protocol_version"],
        }

    async def stop(self, client: BleakClient) -> None:
        if not client.is_connected:
            return
        try:
            await self._command(client, spec.Opcode.STOP_STREAM)
        except Exception as exc:  # noqa: BLE001  best effort: the link may be going away
            logger.info("stop streaming on %s: %s", client.address, exc)

    async def identify(self, client: BleakClient, seconds: int = 5) -> None:
        """Blink/buzz the sensor so the user can tell which one it is."""
        await self._command(client, spec.Opcode.IDENTIFY, bytes([max(1, min(30, seconds))]))

    async def _command(self, client: BleakClient, opcode: spec.Opcode, params: bytes = b"") -> None:
        if self._responses is None:
            raise RuntimeError("start() subscribes to the control point before commands")
        while not self._responses.empty():  # stale answers from a previous command
            self._responses.get_nowait()
        await client.write_gatt_char(spec.CONTROL_POINT_UUID, bytes([opcode]) + params, response=True)
        try:
            async with asyncio.timeout(COMMAND_TIMEOUT_S):
                while True:
                    answer = await self._responses.get()
                    if len(answer) >= 3 and answer[0] == spec.Opcode.RESPONSE and answer[1] == opcode:
                        break
                    logger.warning("unexpected control-point indication %s", answer.hex())
        except TimeoutError as exc:
            raise SensorError(
                f"the sensor did not answer command {opcode.name}",
                address=client.address,
                hint="power-cycle the sensor and try again",
            ) from exc
        result = answer[2]
        if result != spec.ResultCode.SUCCESS:
            try:
                code = spec.ResultCode(result)
                name, hint = code.name, spec.RESULT_HINTS.get(code)
            except ValueError:
                name, hint = f"0x{result:02X}", "update tracker or the sensor firmware"
            raise ControlPointError(
                f"the sensor refused {opcode.name}: {name}", opcode=int(opcode), result_code=result, hint=hint
            )

    # --- records ---------------------------------------------------------------------------------
    def battery_from_record(self, source: str, payload: bytes) -> int | None:
        if source != "battery" or len(payload) != 1 or payload[0] > 100:
            return None
        return int(payload[0])

    def decoder_for(self, settings: dict[str, Any], *, keep_samples: bool = True) -> Any:
        from tracker.protocol.stream import StreamDecoder

        return StreamDecoder(
            sample_rate_hz=float(settings.get("sample_rate_hz", spec.DEFAULT_SAMPLE_RATE_HZ)),
            accel_range_g=int(settings.get("accel_range_g", spec.DEFAULT_ACCEL_RANGE_G)),
            gyro_range_dps=int(settings.get("gyro_range_dps", spec.DEFAULT_GYRO_RANGE_DPS)),
            keep_samples=keep_samples,
        )

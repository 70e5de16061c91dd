"""Drivers for Polar sensors over PMD (Polar Measurement Data): the H10 and the Verity Sense.

GATT use, in the order the link needs it (as Polar's SDK does it, `BlePMDClient`):
1. identity: Device Information strings, Battery Level, and the PMD control point's read value
   (the feature bits: which measurements the sensor offers);
2. enable indications on the PMD control point and notifications on PMD data before any command
   (the SDK refuses commands otherwise); check the ATT MTU (at least 232, `pmd.MIN_ATT_MTU`);
3. per measurement (H10: ACC; Verity Sense: ACC then GYRO): get its settings, choose from what
   it offers (the H10 needs sample rate, resolution and range in a start request), start it, and
   take the factor from the start response. A start refused with ERROR_ALREADY_IN_STATE (the
   sensor kept streaming across a dropped link) is stopped and started again;
4. Heart Rate (0x2A37) and Battery notifications when the sensor has them.

Every control-point status other than SUCCESS becomes a one-line `PmdControlPointError` with the
SDK's status name and what to do. Notifications go raw to the recorder: data frames as "imu",
control-point indications as "control", heart rate as "heart_rate", battery as "battery".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from tracker.errors import PairingError, PmdControlPointError, SensorError
from tracker.link.driver import RecordSink, SensorIdentity, StreamSettings
from tracker.protocol import heart_rate as hr
from tracker.protocol import pmd, spec
from tracker.protocol.pmd_stream import PMD_SENSOR_KINDS, PmdStreamDecoder

if TYPE_CHECKING:
    from bleak import BleakClient
    from bleak.backends.device import BLEDevice
    from bleak.backends.scanner import AdvertisementData

logger = logging.getLogger(__name__)

COMMAND_TIMEOUT_S = 5.0
"""How long to wait for the control point's indication after a request."""

_DIS_FIELDS = {
    "manufacturer": spec.MANUFACTURER_NAME_UUID,
    "model": spec.MODEL_NUMBER_UUID,
    "serial": spec.SERIAL_NUMBER_UUID,
    "firmware": spec.FIRMWARE_REVISION_UUID,
}
_SECURITY_ERRORS = {0x05, 0x08, 0x0C, 0x0F}
_ALREADY_IN_STATE = 6
_SETTING_ORDER = ("sample_rate", "resolution", "range", "channels")


class PolarPmdDriver:
    """A Polar sensor family over PMD. One instance per connection user (it keeps the queue)."""

    kind = ""
    data_source = "imu"
    product = ""
    """How a person calls it ("Polar H10")."""
    name_prefix = ""
    default_rate_hz = 100
    range_key = {"ACC": "accel_range_g", "GYRO": "gyro_range_dps"}

    def __init__(self) -> None:
        self._responses: asyncio.Queue[bytes] | None = None
        self._started: list[str] = []

    @property
    def measurements(self) -> tuple[str, ...]:
        return PMD_SENSOR_KINDS[self.kind]

    # --- recognising ------------------------------------------------------------------------
    def matches(self, device: BLEDevice, advertisement: AdvertisementData) -> bool:
        name = advertisement.local_name or device.name or ""
        return name.startswith(self.name_prefix)

    # --- identity --------------------------------------------------------------------------------
    async def read_identity(self, client: BleakClient) -> SensorIdentity:
        identity = SensorIdentity(address=client.address, name=client.name, driver=self.kind)
        for key, uuid in _DIS_FIELDS.items():
            if client.services.get_characteristic(uuid) is None:
                continue
            raw = await client.read_gatt_char(uuid)
            identity.device_info[key] = bytes(raw).decode("utf-8", errors="replace").rstrip("\x00").strip()
        if client.services.get_characteristic(spec.BATTERY_LEVEL_UUID) is not None:
            level = bytes(await client.read_gatt_char(spec.BATTERY_LEVEL_UUID))
            identity.battery_pct = self.battery_from_record("battery", level)
        if client.services.get_characteristic(pmd.PMD_CONTROL_POINT_UUID) is None:
            raise SensorError(
                f"{client.address} has no Polar measurement (PMD) service",
                address=client.address,
                hint=f"this is not a {self.product} that streams motion; pick another with `tracker scan`",
            )
        try:
            features = pmd.parse_features(bytes(await client.read_gatt_char(pmd.PMD_CONTROL_POINT_UUID)))
        except pmd.PmdError as exc:
            raise SensorError(
                f"the {self.product} answered its feature read with {exc}",
                address=client.address,
                hint="update the sensor's firmware in the Polar Flow app",
            ) from exc
        missing = [m for m in self.measurements if m not in features]
        if missing:
            raise SensorError(
                f"the {self.product} does not offer {' and '.join(missing)} (it offers {', '.join(sorted(features)) or 'nothing'})",
                address=client.address,
                hint="update its firmware in the Polar Flow app, or choose the right --sensor kind",
            )
        identity.status = {"features": sorted(features)}
        return identity

    # --- streaming -------------------------------------------------------------------------------
    async def start(self, client: BleakClient, settings: StreamSettings, sink: RecordSink) -> dict[str, Any]:
        self._responses = asyncio.Queue()
        responses = self._responses
        self._started = []

        def on_control(_char: Any, data: bytearray) -> None:
            payload = bytes(data)
            sink("control", payload)
            responses.put_nowait(payload)

        def on_data(_char: Any, data: bytearray) -> None:
            sink(self.data_source, bytes(data))

        try:
            # indications on the control point and notifications on data, before any command
            await client.start_notify(pmd.PMD_CONTROL_POINT_UUID, on_control)
            await client.start_notify(pmd.PMD_DATA_UUID, on_data)
            mtu = int(client.mtu_size)
            if mtu < pmd.MIN_ATT_MTU:
                raise SensorError(
                    f"the Bluetooth link to the {self.product} carries {mtu}-byte packets (ATT MTU); PMD needs {pmd.MIN_ATT_MTU}",
                    address=client.address,
                    hint="update the computer's Bluetooth stack (BlueZ 5.50 or later) or use another adapter",
                )
            streams = {m: await self._start_measurement(client, m, settings) for m in self.measurements}
            await self._subscribe_extras(client, sink)
        except Exception as exc:
            with contextlib.suppress(Exception):
                await self.stop(client)
            if _is_security_refusal(exc):
                raise PairingError(
                    f"the {self.product} {client.address} refused access",
                    address=client.address,
                    hint="remove it from the system's Bluetooth settings, then run `tracker pair` again",
                ) from exc
            raise
        acc = streams["ACC"]
        return {
            "sample_rate_hz": acc["sample_rate"],
            "accel_range_g": acc["range"],
            "gyro_range_dps": streams["GYRO"]["range"] if "GYRO" in streams else 0,
            "att_mtu": mtu,
            "pmd": streams,
        }

    async def _start_measurement(self, client: BleakClient, name: str, settings: StreamSettings) -> dict[str, Any]:
        offered = (await self._request(client, "get_settings", name)).settings
        chosen = self._choose(name, offered, settings)
        try:
            response = await self._request(client, "start", name, chosen)
        except PmdControlPointError as exc:
            if exc.status != _ALREADY_IN_STATE:
                raise
            # still streaming from before (a dropped link, another app): stop, then start again
            logger.info("%s %s was already streaming; restarting it", self.product, name)
            await self._request(client, "stop", name)
            response = await self._request(client, "start", name, chosen)
        self._started.append(name)
        return {**chosen, "factor": float(response.settings.get("factor", 1.0))}

    def _choose(self, name: str, offered: dict[str, Any], settings: StreamSettings) -> dict[str, int]:
        """The start request's settings, from what the sensor offers (in the SDK's order)."""
        rates = [int(r) for r in offered.get("sample_rate", [])]
        if not rates:
            raise SensorError(
                f"the {self.product} offers no sample rate for {name}",
                hint="update its firmware in the Polar Flow app",
            )
        rate = int(settings.sample_rate_hz)
        if rate not in rates:
            if not settings.rate_is_default:
                listed = ", ".join(map(str, sorted(rates)))
                raise SensorError(
                    f"the {self.product} streams {name} at {listed} Hz, not {rate} Hz",
                    hint=f"use --rate {min(rates, key=lambda r: abs(r - rate))}, or leave --rate out",
                )
            rate = self.default_rate_hz if self.default_rate_hz in rates else min(rates, key=lambda r: abs(r - rate))
        chosen = {"sample_rate": rate}
        if offered.get("resolution"):
            chosen["resolution"] = int(max(offered["resolution"]))
        ranges = [int(r) for r in offered.get("range", [])]
        if ranges:
            wanted = int(getattr(settings, self.range_key[name]))
            chosen["range"] = wanted if wanted in ranges else max(ranges)
        if offered.get("channels"):
            chosen["channels"] = int(max(offered["channels"]))
        return {key: chosen[key] for key in _SETTING_ORDER if key in chosen}

    async def _subscribe_extras(self, client: BleakClient, sink: RecordSink) -> None:
        """Heart rate (recorded alongside) and battery notifications, when the sensor has them."""
        if client.services.get_characteristic(hr.HEART_RATE_MEASUREMENT_UUID) is not None:
            await client.start_notify(hr.HEART_RATE_MEASUREMENT_UUID, lambda _c, d: sink("heart_rate", bytes(d)))
        if client.services.get_characteristic(spec.BATTERY_LEVEL_UUID) is not None:
            await client.start_notify(spec.BATTERY_LEVEL_UUID, lambda _c, d: sink("battery", bytes(d)))

    async def stop(self, client: BleakClient) -> None:
        if not client.is_connected or self._responses is None:
            return
        for name in reversed(self._started):
            try:
                await self._request(client, "stop", name)
            except Exception as exc:  # noqa: BLE001  best effort: the link may be going away
                logger.info("stop %s on %s: %s", name, client.address, exc)
        self._started = []

    async def _request(
        self, client: BleakClient, op: str, name: str, settings: dict[str, int] | None = None
    ) -> pmd.PmdCpResponse:
        """Write one request; its response (parameters joined over `more` indications), or a
        one-line PmdControlPointError / SensorError."""
        if self._responses is None:
            raise RuntimeError("start() subscribes to the control point before requests")
        while not self._responses.empty():  # stale answers of an earlier request
            self._responses.get_nowait()
        payload = pmd.encode_request(op, name, settings)
        await client.write_gatt_char(pmd.PMD_CONTROL_POINT_UUID, payload, response=True)
        foreign: list[str] = []
        parts: list[pmd.PmdCpResponse] = []
        try:
            async with asyncio.timeout(COMMAND_TIMEOUT_S):
                while not parts or parts[-1].more:
                    answer = await self._responses.get()
                    response = self._match(answer, payload[0], foreign)
                    if response is not None:
                        parts.append(response)
        except TimeoutError as exc:
            seen = f" (it sent {len(foreign)} indication(s) tracker does not understand: {', '.join(foreign[:3])})" if foreign else ""
            raise SensorError(
                f"the {self.product} did not answer the {op.replace('_', ' ')} request for {name}{seen}",
                address=client.address,
                hint="switch the sensor off and on (take the H10 off its strap for a minute), then try again",
            ) from exc
        first = parts[0]
        if not first.ok:
            raise PmdControlPointError(
                f"the {self.product} refused to {op.replace('_', ' ')} {name}: {first.status_name} ({first.status})",
                op_code=first.op_code,
                status=first.status,
                status_name=first.status_name,
                measurement=name,
                hint=pmd.STATUS_HINTS.get(first.status, "update the sensor's firmware in the Polar Flow app, or tracker"),
            )
        if len(parts) == 1:
            return first
        parameters = b"".join(p.parameters for p in parts)
        with contextlib.suppress(pmd.PmdError):
            return pmd.PmdCpResponse(first.op_code, first.measurement_type, 0, False, parameters, pmd.parse_settings(parameters))
        return pmd.PmdCpResponse(first.op_code, first.measurement_type, 0, False, parameters, {})

    def _match(self, answer: bytes, op_code: int, foreign: list[str]) -> pmd.PmdCpResponse | None:
        """The response to `op_code`, or None (logged) for anything else on the control point."""
        try:
            response = pmd.parse_cp_response(answer)
        except pmd.PmdError as exc:
            if answer[:1] == bytes([pmd.ONLINE_MEASUREMENT_STOPPED]):
                logger.warning("the %s stopped measurements by itself: %s", self.product, answer.hex())
            else:
                foreign.append(answer[:8].hex())
                logger.warning("control-point indication skipped (%s): %s", exc, answer.hex())
            return None
        if response.op_code != op_code:
            foreign.append(answer[:8].hex())
            logger.warning("control-point response to another request skipped: %s", answer.hex())
            return None
        return response

    # --- records ---------------------------------------------------------------------------------
    def battery_from_record(self, source: str, payload: bytes) -> int | None:
        if source != "battery" or len(payload) != 1 or payload[0] > 100:
            return None
        return int(payload[0])

    def decoder_for(self, settings: dict[str, Any], *, keep_samples: bool = True) -> PmdStreamDecoder:
        return PmdStreamDecoder.for_kind(self.kind, settings, keep_samples=keep_samples)

    def capture_settings(self, effective: dict[str, Any]) -> dict[str, Any]:
        """What a capture must keep once streaming started: the settings in effect, with the
        per-measurement PMD settings and factors replay needs (docs/capture-format.md)."""
        return dict(effective)


class PolarH10Driver(PolarPmdDriver):
    """Polar H10 chest strap: accelerometer only (25-200 Hz, ±2/4/8 g), heart rate alongside."""

    kind = "polar-h10"
    product = "Polar H10"
    name_prefix = "Polar H10 "
    default_rate_hz = 100
    sample_rates_hz = (25, 50, 100, 200)


class PolarVerityDriver(PolarPmdDriver):
    """Polar Verity Sense: accelerometer and gyroscope at 52 Hz (normal mode)."""

    kind = "polar-verity"
    product = "Polar Verity Sense"
    name_prefix = "Polar Sense "
    default_rate_hz = 52
    sample_rates_hz = (52,)


def _is_security_refusal(exc: BaseException) -> bool:
    from bleak.exc import BleakGATTProtocolError

    return isinstance(exc, BleakGATTProtocolError) and int(exc.code) in _SECURITY_ERRORS

"""Bluetooth Heart Rate Measurement (0x2A37), as a Polar H10 notifies it: pure functions.

    flags u8 | heart rate u8 or u16 | [energy expended u16] | [RR intervals u16 ...]

flags bit 0: heart rate is u16; bits 1-2: sensor contact (bit 1 contact detected, bit 2 contact
supported); bit 3: energy expended present (kJ); bit 4: RR intervals present (1/1024 s each).
The test vectors are those of Polar's SDK (`BleHrClientTest`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

HEART_RATE_SERVICE_UUID = "0000180d-0000-1000-8000-00805f9b34fb"
HEART_RATE_MEASUREMENT_UUID = "00002a37-0000-1000-8000-00805f9b34fb"
BODY_SENSOR_LOCATION_UUID = "00002a38-0000-1000-8000-00805f9b34fb"
BODY_SENSOR_LOCATION_CHEST = 1

_FORMAT_U16 = 0x01
_CONTACT = 0x02
_CONTACT_SUPPORTED = 0x04
_ENERGY = 0x08
_RR = 0x10


@dataclass(frozen=True)
class HeartRate:
    bpm: int
    sensor_contact: bool
    sensor_contact_supported: bool
    energy_kj: int | None = None
    rr_1024: list[int] = field(default_factory=list)
    """RR intervals as sent, in 1/1024 s."""

    @property
    def rr_ms(self) -> list[int]:
        """RR intervals in ms (rounded)."""
        return [round(rr * 1000 / 1024) for rr in self.rr_1024]


class HeartRateError(ValueError):
    """Bytes that are not a heart rate measurement."""


def decode_heart_rate(payload: bytes) -> HeartRate:
    """One 0x2A37 notification; raises HeartRateError when a field it announces is missing."""
    data = bytes(payload)
    if not data:
        raise HeartRateError("empty heart rate measurement")
    flags = data[0]
    pos = 1
    size = 2 if flags & _FORMAT_U16 else 1
    if len(data) < pos + size:
        raise HeartRateError(f"heart rate measurement of {len(data)} bytes lacks its value")
    bpm = int.from_bytes(data[pos : pos + size], "little")
    pos += size
    energy = None
    if flags & _ENERGY:
        if len(data) < pos + 2:
            raise HeartRateError("heart rate measurement announces energy expended but ends")
        energy = int.from_bytes(data[pos : pos + 2], "little")
        pos += 2
    rr: list[int] = []
    if flags & _RR:
        rest = data[pos:]
        if len(rest) % 2:
            raise HeartRateError("heart rate measurement ends inside an RR interval")
        rr = [int.from_bytes(rest[i : i + 2], "little") for i in range(0, len(rest), 2)]
    return HeartRate(bpm, bool(flags & _CONTACT), bool(flags & _CONTACT_SUPPORTED), energy, rr)


def encode_heart_rate(bpm: int, rr_1024: list[int] | None = None, *, contact: bool = True) -> bytes:
    """The sensor side: u8 heart rate, contact supported (and detected), optional RR intervals."""
    flags = _CONTACT_SUPPORTED | (_CONTACT if contact else 0)
    body = bytes([max(0, min(255, int(bpm)))])
    if rr_1024:
        flags |= _RR
        body += b"".join(int(max(0, min(0xFFFF, r))).to_bytes(2, "little") for r in rr_1024)
    return bytes([flags]) + body

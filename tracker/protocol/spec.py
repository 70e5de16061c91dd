"""The sensor protocol's tables, one-to-one with `firmware_protocol.md` (version 1).

Change a number here only together with the document; the document's worked examples are test
vectors (tests/protocol/test_protocol_doc_vectors.py).
"""

from __future__ import annotations

import enum
import math

PROTOCOL_VERSION = 1
"""Major protocol version carried in byte 0 of every data packet and in the status record."""

# --- GATT ------------------------------------------------------------------------------------
_BASE = "-6b2e-4f3c-9d1e-7a5c0f00d0c5"
IMU_SERVICE_UUID = "b8a10001" + _BASE
DATA_CHAR_UUID = "b8a10002" + _BASE  # notify; encrypted link required to subscribe
CONTROL_POINT_UUID = "b8a10003" + _BASE  # write with response + indicate; encrypted link required
STATUS_CHAR_UUID = "b8a10004" + _BASE  # read; open (carries no health data)

BATTERY_SERVICE_UUID = "0000180f-0000-1000-8000-00805f9b34fb"
BATTERY_LEVEL_UUID = "00002a19-0000-1000-8000-00805f9b34fb"
DEVICE_INFO_SERVICE_UUID = "0000180a-0000-1000-8000-00805f9b34fb"
MANUFACTURER_NAME_UUID = "00002a29-0000-1000-8000-00805f9b34fb"
MODEL_NUMBER_UUID = "00002a24-0000-1000-8000-00805f9b34fb"
SERIAL_NUMBER_UUID = "00002a25-0000-1000-8000-00805f9b34fb"
FIRMWARE_REVISION_UUID = "00002a26-0000-1000-8000-00805f9b34fb"

# --- advertisement ---------------------------------------------------------------------------
NAME_PREFIX = "TRK-"
"""Advertised complete local name: "TRK-" + 4 upper-case hex digits (the serial's last two bytes).

Flags (3 bytes) + name (2 + 8 bytes) + complete list of 128-bit service UUIDs (2 + 16 bytes)
= 31 bytes, the whole legacy advertising payload. There is no scan response.
"""

# --- data packet -----------------------------------------------------------------------------
HEADER_FORMAT = "<BBHI"
"""version u8, count_flags u8, sequence u16, first-sample timestamp u32 (µs, wraps at 2**32)."""
HEADER_SIZE = 8
SAMPLE_FORMAT = "<6h"
"""ax, ay, az, gx, gy, gz as int16, scaled by the configured full-scale ranges."""
SAMPLE_SIZE = 12
COUNT_MASK = 0x1F
"""Low 5 bits of byte 1: samples in this packet, 1..MAX_SAMPLES_PER_PACKET."""
MAX_SAMPLES_PER_PACKET = 19
"""(247 - 3 - 8) // 12: what fits in one notification at the largest MTU the sensor accepts."""
TIMESTAMP_WRAP_US = 1 << 32
SEQUENCE_WRAP = 1 << 16


class PacketFlag(enum.IntFlag):
    """High 3 bits of byte 1 of a data packet."""

    STREAM_START = 0x20
    """First packet after a start-streaming command; the sequence counter restarts at 0."""
    SENSOR_OVERFLOW = 0x40
    """The sensor's FIFO overflowed before this packet: samples were lost inside the sensor."""
    CLIPPED = 0x80
    """At least one value in this packet sits at the end of its range (saturated)."""


def samples_per_packet(att_mtu: int) -> int:
    """How many samples the sensor puts in one notification for a negotiated ATT MTU."""
    payload = max(att_mtu, 23) - 3
    return max(1, min(MAX_SAMPLES_PER_PACKET, (payload - HEADER_SIZE) // SAMPLE_SIZE))


# --- ranges and rates ------------------------------------------------------------------------
SAMPLE_RATES_HZ = (25, 50, 100, 200, 400)
ACCEL_RANGES_G = (2, 4, 8, 16)
GYRO_RANGES_DPS = (125, 250, 500, 1000, 2000)
DEFAULT_SAMPLE_RATE_HZ = 100
DEFAULT_ACCEL_RANGE_G = 4
DEFAULT_GYRO_RANGE_DPS = 500
STANDARD_GRAVITY_M_S2 = 9.80665


def accel_scale_m_s2(range_g: int) -> float:
    """m/s² per LSB for an accelerometer full-scale range of ±`range_g` g."""
    return range_g * STANDARD_GRAVITY_M_S2 / 32768.0


def gyro_scale_rad_s(range_dps: int) -> float:
    """rad/s per LSB for a gyroscope full-scale range of ±`range_dps` °/s."""
    return range_dps * (math.pi / 180.0) / 32768.0


# --- control point ---------------------------------------------------------------------------
class Opcode(enum.IntEnum):
    START_STREAM = 0x01
    """No parameters."""
    STOP_STREAM = 0x02
    """No parameters."""
    SET_SAMPLE_RATE = 0x03
    """u16 rate in Hz, one of SAMPLE_RATES_HZ; only while not streaming."""
    SET_RANGES = 0x04
    """u8 accelerometer range in g, u16 gyroscope range in °/s; only while not streaming."""
    IDENTIFY = 0x05
    """u8 seconds (1..30): blink the LED and buzz so the user can tell which sensor this is."""
    RESPONSE = 0x80
    """First byte of every indication: RESPONSE, request opcode, result code."""


class ResultCode(enum.IntEnum):
    SUCCESS = 0x01
    OPCODE_NOT_SUPPORTED = 0x02
    INVALID_PARAMETER = 0x03
    INVALID_LENGTH = 0x04
    BUSY = 0x05
    """Not allowed in the current state (for example changing the rate while streaming)."""
    OPERATION_FAILED = 0x06


RESULT_HINTS = {
    ResultCode.OPCODE_NOT_SUPPORTED: "the sensor firmware does not know this command; update the firmware or tracker",
    ResultCode.INVALID_PARAMETER: "use a supported value (see `tracker pair --help`)",
    ResultCode.INVALID_LENGTH: "tracker and firmware disagree on the protocol; update both",
    ResultCode.BUSY: "stop streaming first",
    ResultCode.OPERATION_FAILED: "power-cycle the sensor and try again",
}

# --- status record ---------------------------------------------------------------------------
STATUS_FORMAT = "<BBHBHBI"
"""protocol version u8, state u8, sample rate u16 (Hz), accel range u8 (g), gyro range u16 (°/s),
samples per packet u8, sensor clock now u32 (µs, same clock as packet timestamps)."""
STATUS_SIZE = 12


class SensorState(enum.IntEnum):
    IDLE = 0
    STREAMING = 1

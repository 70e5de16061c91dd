"""The emulated sensor: a real GATT peripheral on Bumble speaking `firmware_protocol.md`.

    from bumble.link import LocalLink
    from tracker.emulator import EmulatedSensor

    async with EmulatedSensor(LocalLink(), speed=1.0) as sensor:
        ...  # a central on the same link scans for sensor.name, pairs, subscribes, streams

See `sensor.py` for the GATT database, the time model and the faults, `sources.py` for what the
sensor measures, `bonds.py` for its bond store.
"""

from tracker.emulator.bonds import BondStore
from tracker.emulator.peripheral import (
    OUT_OF_RANGE_REASON,
    POWER_OFF_REASON,
    Disconnection,
    Peripheral,
    random_sensor_address,
)
from tracker.emulator.sensor import (
    MAX_ATT_MTU,
    EmulatedSensor,
    SentPacket,
    advertising_data_for,
)
from tracker.emulator.sources import (
    POSE_PITCH_DEG,
    ArraySource,
    EmulatedPerson,
    MotionScriptSource,
    MotionStep,
    SampleSource,
    SensorConfig,
    SimulatedSessionSource,
    calibration_pose_source,
    default_source,
    emulated_person,
    quantize,
)

__all__ = [
    "MAX_ATT_MTU",
    "OUT_OF_RANGE_REASON",
    "POSE_PITCH_DEG",
    "POWER_OFF_REASON",
    "ArraySource",
    "BondStore",
    "Disconnection",
    "EmulatedPerson",
    "EmulatedSensor",
    "MotionScriptSource",
    "MotionStep",
    "Peripheral",
    "SampleSource",
    "SensorConfig",
    "SentPacket",
    "SimulatedSessionSource",
    "advertising_data_for",
    "calibration_pose_source",
    "default_source",
    "emulated_person",
    "quantize",
    "random_sensor_address",
]

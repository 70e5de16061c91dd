"""With a real radio and a real sensor only (opt-in: TRACKER_HARDWARE=1, and TRACKER_SENSOR=<name or
address> for the tests that connect). The same application code as the emulated tests, on bleak's
platform backend."""

from __future__ import annotations

import asyncio
import os

import pytest

pytestmark = pytest.mark.hardware


def _sensor() -> str:
    name = os.environ.get("TRACKER_SENSOR")
    if not name:
        pytest.skip("set TRACKER_SENSOR to the name or address of a switched-on sensor")
    return name


def test_real_radio_scans():
    from tracker.link.environment import real_environment
    from tracker.link.scan import scan_sensors

    async def go():
        async with real_environment() as env:
            return await scan_sensors(env, 5.0)

    found = asyncio.run(go())
    assert all(s.name and s.address for s in found)


def test_real_sensor_records_ten_seconds(tmp_path):
    from tracker.capture import load_capture
    from tracker.link.environment import real_environment
    from tracker.link.recorder import Recorder

    target = _sensor()

    async def go():
        async with real_environment() as env:
            return await Recorder(env, tmp_path / "real.capture", target=target, duration_s=10.0).run()

    result = asyncio.run(go())
    recording = load_capture(tmp_path / "real.capture")
    assert result.samples == len(recording) > 0
    assert recording.source["decode"]["duplicates"] == 0

"""The link layer end to end: plain bleak -> Bumble backend -> virtual radio -> emulated sensor.

Ground truth is the emulator: its sample source (what the IMU measured) and its send log (what
went on air). The emulator runs faster than real time (`speed`) so a minute of data takes seconds.
"""

from __future__ import annotations

import asyncio
import json

import numpy as np
import pytest
from bleak import BleakClient
from waiting import until

from tracker.capture import decode_capture, read_capture
from tracker.emulator import SensorConfig, calibration_pose_source, emulated_person
from tracker.errors import DiskFullError, PairingError, SensorNotFoundError, SensorSilentError
from tracker.link.driver import StreamSettings
from tracker.link.environment import emulated_environment
from tracker.link.pairing import pair_sensor
from tracker.link.recorder import Recorder
from tracker.link.registry import SensorRegistry
from tracker.link.scan import find_sensor, scan_sensors


def run(coro, timeout=60):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def decoded_counts(path):
    contents = read_capture(path)
    decoder = decode_capture(contents)
    return contents, decoder


def test_scan_finds_the_emulated_sensor():
    async def go():
        async with emulated_environment(seed=1) as env:
            found = await scan_sensors(env, 0.5)  # the sensor advertises every 20 ms
            return found, env.sensor.name, env.sensor.address

    found, name, address = run(go())
    assert [(s.name, s.address) for s in found] == [(name, address)]
    assert name.startswith("TRK-") and isinstance(found[0].rssi, int)
    assert found[0].battery == "unknown" and found[0].battery_pct is None


def test_a_sensor_that_is_not_there_says_what_to_do():
    async def go():
        async with emulated_environment(seed=1) as env:
            await find_sensor(env, "TRK-FFFF", timeout_s=0.3)

    with pytest.raises(SensorNotFoundError) as err:
        run(go())
    assert "tracker scan" in err.value.hint


def test_pair_bonds_checks_signal_calibrates_and_stores_default(tmp_path):
    source = calibration_pose_source(stand_s=6.0, lie_s=60.0, seed=5)

    async def go():
        # the poses are cut by sample count: the calibration is the same at any speed
        async with emulated_environment(source=source, seed=5, speed=50.0) as env:
            registry = SensorRegistry(tmp_path / "sensors.json")
            report = await pair_sensor(env, None, registry=registry)
            return report, env.sensor.bond_store.has_le_sc_bond(env.radio.central().device.random_address.to_string(False))

    report, bonded = run(go())
    assert bonded
    r, truth = report.calibration.sensor_to_body, source.sensor_to_body
    person = emulated_person(5)
    # the two poses fix the lateral axis exactly, the rest up to how upright the person stood
    assert np.degrees(np.arccos(np.clip(r[1] @ truth[1], -1, 1))) < 1.0
    angle = np.degrees(np.arccos(np.clip((np.trace(r @ truth.T) - 1) / 2, -1, 1)))
    lean = abs(90.0 - person.standing_pitch_deg)
    assert abs(angle - lean) < 1.0
    implied = 90.0 - (person.standing_pitch_deg - person.lying_pitch_deg)
    assert report.calibration.quality["lying_pitch_deg"] == pytest.approx(implied, abs=1.0)
    assert report.identity.protocol_version == 1 and report.identity.device_info["serial"]
    assert report.signal.lost_samples == 0 and report.signal.malformed == 0
    assert report.signal.acc_noise_m_s2 < 0.1
    stored = json.loads((tmp_path / "sensors.json").read_text())
    assert stored["default"] == report.identity.address.upper()
    assert stored["sensors"][0]["calibration"]["source"] == "pairing"
    assert stored["sensors"][0]["last_battery_pct"] is not None and stored["sensors"][0]["last_battery_utc"]
    assert (tmp_path / "sensors.json").stat().st_mode & 0o777 == 0o600


def test_unbonded_access_is_refused_with_a_clear_error():
    async def go():
        async with emulated_environment(seed=2) as env:
            device, _adv, driver = await find_sensor(env, None, 2)
            async with BleakClient(device, timeout=5, **env.client_kwargs()) as client:  # no pair=
                await driver.read_identity(client)  # open reads work without a bond
                await driver.start(client, StreamSettings(), lambda *_: None)

    with pytest.raises(PairingError) as err:
        run(go())
    assert "not bonded" in err.value.message and "tracker pair" in err.value.hint


@pytest.mark.slow
@pytest.mark.parametrize("rate_hz", [100, 400])
def test_a_minute_streams_bit_exact_from_the_source(tmp_path, rate_hz):
    # 62 s of sensor time, stopped by sample count: on a loaded machine the emulator sends late,
    # so a wall-clock duration would stream less; the speed only sets how long the test waits
    speed = 100.0
    out = tmp_path / f"s{rate_hz}.capture"

    async def go():
        async with emulated_environment(seed=3, speed=speed) as env:
            recorder = Recorder(env, out, settings=StreamSettings(sample_rate_hz=rate_hz), max_samples=62 * rate_hz)
            result = await recorder.run()
            return result, env.sensor

    result, sensor = run(go(), timeout=90)
    contents, decoder = decoded_counts(out)
    got = decoder.counts()
    assert contents.complete
    assert len(got) >= 60 * rate_hz, f"only {len(got) / rate_hz:.1f} s streamed"
    log = [p for p in sensor.send_log if p.sent]
    assert {p.stream for p in log} == {1}
    config = SensorConfig(rate_hz, 4, 500)
    truth = sensor.source.counts(log[0].sample_start, log[-1].sample_stop, config)
    # Every sample the sensor measured, in order, nothing lost or duplicated, bit for bit.
    assert got.shape == truth.shape
    assert np.array_equal(got, truth)
    stats = decoder.stats
    assert stats.lost_samples == 0 and stats.duplicates == 0 and stats.malformed_total == 0
    assert result.samples == len(got) and result.reconnects == 0


@pytest.mark.slow
def test_link_drop_reconnects_marks_the_gap_and_duplicates_nothing(tmp_path):
    out = tmp_path / "drop.capture"
    speed = 10.0

    async def go():
        async with emulated_environment(seed=4, speed=speed) as env:
            recorder = Recorder(env, out, settings=StreamSettings(sample_rate_hz=200), watchdog_s=1.0)

            async def walk_away():
                # some data, the sensor out of range, back, some more data, then stop
                await until(lambda: recorder.progress().samples >= 400)
                await env.sensor.drop_link(out_of_range_s=0.4)
                await until(lambda: recorder.progress().reconnects >= 1)
                resumed = recorder.progress().samples
                await until(lambda: recorder.progress().samples >= resumed + 400)
                recorder.stop()

            fault = asyncio.create_task(walk_away())
            result = await recorder.run()
            await fault
            return result, env.sensor

    result, sensor = run(go())
    contents, decoder = decoded_counts(out)
    kinds = [e.kind for e in contents.events]
    assert "link_lost" in kinds and "reconnected" in kinds
    assert kinds.index("link_lost") < kinds.index("reconnected")
    assert result.reconnects == 1 and len(result.gaps) == 1
    sent = [p for p in sensor.send_log if p.sent]
    assert {p.stream for p in sent} == {1, 2}
    config = SensorConfig(200, 4, 500)
    truth = np.concatenate(
        [
            sensor.source.counts(min(p.sample_start for p in sent if p.stream == s), max(p.sample_stop for p in sent if p.stream == s), config)
            for s in (1, 2)
        ]
    )
    got = decoder.counts()
    assert np.array_equal(got, truth)  # all before and after the drop, nothing twice
    stats = decoder.stats
    assert stats.duplicates == 0 and stats.stream_starts == 2
    # The gap shows in the sensor's timeline: samples produced while out of range are lost.
    stream2 = min(p.sample_start for p in sent if p.stream == 2)
    stream1_end = max(p.sample_stop for p in sent if p.stream == 1)
    assert stats.lost_samples == stream2 - stream1_end > 0


def test_silent_sensor_is_detected_and_the_file_kept(tmp_path):
    out = tmp_path / "silent.capture"

    async def go():
        async with emulated_environment(seed=6, speed=10.0) as env:
            # a packet every 10 ms at this speed: a quarter second without one is silence
            recorder = Recorder(env, out, watchdog_s=0.25, max_silent_episodes=1, reconnect_give_up_s=5)

            async def hang():
                await until(lambda: recorder.progress().samples >= 100)
                await env.sensor.go_silent(3600)

            fault = asyncio.create_task(hang())
            try:
                await recorder.run()
            finally:
                fault.cancel()

    with pytest.raises(SensorSilentError) as err:
        run(go())
    assert "power-cycle" in err.value.hint
    contents, decoder = decoded_counts(out)
    assert [e.kind for e in contents.events].count("sensor_silent") == 2
    assert decoder.samples_kept > 0 and contents.complete


def test_disk_full_stops_with_disk_full_error_and_keeps_what_was_written(tmp_path, monkeypatch):
    import errno

    from tracker.capture import writer as writer_module

    out = tmp_path / "full.capture"
    real_write = writer_module.CaptureWriter.write_notification
    calls = {"n": 0}

    def write_until_full(self, host_time_ns, payload, source="imu"):
        calls["n"] += 1
        if calls["n"] > 30:
            from tracker.paths import raise_storage_error

            raise_storage_error(OSError(errno.ENOSPC, "No space left on device"), self.path)
        return real_write(self, host_time_ns, payload, source)

    monkeypatch.setattr(writer_module.CaptureWriter, "write_notification", write_until_full)

    async def go():
        async with emulated_environment(seed=7, speed=20.0) as env:
            await Recorder(env, out, duration_s=10.0).run()

    with pytest.raises(DiskFullError):
        run(go())
    contents, decoder = decoded_counts(out)
    assert decoder.samples_kept > 0

"""The Polar drivers end to end: plain bleak -> Bumble backend -> virtual radio -> emulated Polar
H10 / Verity Sense speaking PMD.

Ground truth is the emulator: what it measured (its sample source, per frame in `sent_frames`),
its control-point log (what was asked, in which subscription state, and what it answered).
"""

from __future__ import annotations

import asyncio
import logging

import numpy as np
import pytest
from bleak import BleakClient
from waiting import until

from tracker.capture import load_capture, read_capture
from tracker.emulator.polar import EmulatedPolarH10, EmulatedVeritySense, quantization_step
from tracker.errors import PmdControlPointError, SensorError
from tracker.link.driver import StreamSettings
from tracker.link.drivers.polar import PolarH10Driver, PolarVerityDriver
from tracker.link.environment import emulated_environment
from tracker.link.recorder import Recorder
from tracker.link.scan import find_sensor, scan_sensors
from tracker.protocol import pmd
from tracker.protocol.heart_rate import decode_heart_rate


def run(coro, timeout=90):
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def _started(env, kind, settings, *, sink=None, before=None):
    """Connect to the emulated sensor of `kind`, read its identity, start it; (driver, identity,
    effective, records)."""
    records: list[tuple[str, bytes]] = []
    device, _adv, driver = await find_sensor(env, None, 3, kind=kind)
    client = BleakClient(device, timeout=5, **env.client_kwargs())
    await client.connect()
    identity = await driver.read_identity(client)
    if before is not None:
        before(env.sensors[kind])
    effective = await driver.start(client, settings, sink or (lambda s, p: records.append((s, p))))
    return client, driver, identity, effective, records


def test_scan_tells_the_kinds_apart():
    async def go():
        async with emulated_environment(kinds=("tracker-imu", "polar-h10", "polar-verity")) as env:
            # every sensor advertises every 20 ms: a half-second window hears each many times,
            # even on a loaded machine
            return await scan_sensors(env, 0.5), await scan_sensors(env, 0.5, kind="polar-verity")

    every, verity = run(go())
    assert {(s.driver, s.name.split(" ")[0]) for s in every} == {
        ("tracker-imu", "TRK-C0DE"),
        ("polar-h10", "Polar"),
        ("polar-verity", "Polar"),
    }
    assert [s.name for s in verity] == ["Polar Sense C5D6E7F8"]


def test_h10_identity_subscriptions_before_commands_and_the_start_request():
    async def go():
        async with emulated_environment(kinds=("polar-h10",), speed=12.0) as env:
            client, driver, identity, effective, records = await _started(env, "polar-h10", StreamSettings(sample_rate_hz=200))
            await until(lambda: sum(s == "imu" for s, _ in records) >= 3)
            await driver.stop(client)
            await client.disconnect()
            return identity, effective, records, env.sensor

    identity, effective, records, sensor = run(go())
    assert isinstance(sensor, EmulatedPolarH10)
    assert identity.driver == "polar-h10" and identity.device_info["manufacturer"] == "Polar Electro Oy"
    assert identity.device_info["model"] == "H10" and identity.status["features"] == ["ACC", "ECG"]
    assert identity.protocol_version is None and identity.battery_pct == 91
    # indications on the control point and notifications on data were on before the first command
    assert sensor.control_log and all(log[3] == {"cp_indicate": True, "data_notify": True} for log in sensor.control_log)
    requests = [bytes(log[0]) for log in sensor.control_log]
    assert requests[0] == pmd.encode_request("get_settings", "ACC")
    # the H10 needs sample rate, resolution and range in its start request
    assert requests[1] == pmd.encode_request("start", "ACC", {"sample_rate": 200, "resolution": 16, "range": 4})
    assert requests[-1] == pmd.encode_request("stop", "ACC") and sensor.control_log[-1][2] == 0
    assert effective["pmd"] == {"ACC": {"sample_rate": 200, "resolution": 16, "range": 4, "factor": 1.0}}
    assert effective["sample_rate_hz"] == 200 and effective["att_mtu"] >= pmd.MIN_ATT_MTU
    sources = {s for s, _ in records}
    assert {"control", "imu"} <= sources
    frames = [p for s, p in records if s == "imu"]
    assert all(pmd.frame_header(p)[0:3:2] == (2, 1) for p in frames)  # ACC, raw frame type 1


def test_verity_takes_the_factor_from_its_start_response_and_decodes_to_what_it_measured():
    async def go():
        async with emulated_environment(kinds=("polar-verity",), speed=12.0) as env:
            settings = StreamSettings(sample_rate_hz=100, rate_is_default=True)
            client, driver, _identity, effective, records = await _started(env, "polar-verity", settings)
            sent = env.sensor.sent_frames
            # frames of both measurements, each several times over, all of them received
            await until(lambda: min(sum(f.sent and f.measurement == m for f in sent) for m in ("ACC", "GYRO")) >= 8)
            await until(lambda: sum(s == "imu" for s, _ in records) >= sum(f.sent for f in sent))
            await driver.stop(client)
            await client.disconnect()
            return effective, records, env.sensor

    effective, records, sensor = run(go())
    assert isinstance(sensor, EmulatedVeritySense)
    acc, gyr = effective["pmd"]["ACC"], effective["pmd"]["GYRO"]
    assert acc == {"sample_rate": 52, "resolution": 16, "range": 8, "channels": 3, "factor": 8 / 32768}
    assert gyr["range"] == 2000 and gyr["factor"] == 2000 / 32768
    decoder = PolarVerityDriver().decoder_for({"pmd": effective["pmd"]})
    for i, (source, payload) in enumerate(records):
        if source == "imu":
            decoder.feed(payload, i * 0.01)
    rec = decoder.to_recording()
    assert rec.has_gyro and rec.sampling_rate_hz == 52 and decoder.stats.malformed_total == 0
    # every aligned accelerometer sample is one the sensor measured, within Polar's quantization
    t_acc, acc_truth = sensor.sent_values("ACC")
    t_gyr, gyr_truth = sensor.sent_values("GYRO")
    origin = min(t_acc[0], t_gyr[0])
    t_truth = (t_acc - origin) / 1e9
    first = int(np.searchsorted(t_acc, t_gyr[0]))  # accelerometer samples before the gyro's first are left out
    n = len(rec)
    np.testing.assert_allclose(rec.t_s, t_truth[first : first + n] - t_truth[first], atol=1e-9)
    step_acc = quantization_step("G", 8 / 32768)
    np.testing.assert_allclose(rec.acc_m_s2, acc_truth[first : first + n], atol=step_acc)
    # gyro interpolated onto the accelerometer's instants: between its two neighbours
    g_at = np.column_stack(
        [np.interp(t_truth[first : first + n], (t_gyr - origin) / 1e9, gyr_truth[:, k]) for k in range(3)]
    )
    np.testing.assert_allclose(rec.gyr_rad_s, g_at, atol=quantization_step("dps", 2000 / 32768))


def test_a_late_polar_stream_lets_the_host_run_between_its_frames():
    """The loop was held (a busy machine) while frames fell due: the emulated H10 sends them back
    to back, and the rest of the event loop, its host included, runs between every two."""
    import time

    async def go():
        async with emulated_environment(kinds=("polar-h10",), speed=20.0) as env:
            client, driver, _identity, _effective, records = await _started(env, "polar-h10", StreamSettings(sample_rate_hz=200))
            await until(lambda: sum(s == "imu" for s, _ in records) >= 2)
            frames = env.sensor.sent_frames
            seen: list[int] = []

            async def ticker():
                while True:
                    seen.append(len(frames))
                    await asyncio.sleep(0)

            task = asyncio.create_task(ticker())
            await asyncio.sleep(0)
            before = len(frames)
            time.sleep(0.3)  # the loop is held: about 30 frames fall due at 20x
            await until(lambda: len(frames) >= before + 25)
            task.cancel()
            await driver.stop(client)
            await client.disconnect()
            return seen

    seen = run(go())
    assert max(np.diff(seen)) <= 2, "frames sent in one burst, with nothing else running in between"


@pytest.mark.parametrize(
    "status, name",
    [("ERROR_DEVICE_IN_CHARGER", "ERROR_DEVICE_IN_CHARGER (13)"), (0x7F, "UNKNOWN_ERROR (127)")],
)
def test_a_start_the_sensor_refuses_is_one_line_with_its_status(status, name):
    async def go():
        async with emulated_environment(kinds=("polar-h10",), speed=12.0) as env:
            await _started(env, "polar-h10", StreamSettings(), before=lambda s: s.refuse_start(status))

    with pytest.raises(PmdControlPointError) as err:
        run(go())
    line = err.value.one_line()
    assert "\n" not in line and name in line and "refused to start ACC" in line
    assert err.value.measurement == "ACC" and err.value.status_name == name.split(" ")[0]
    if status == "ERROR_DEVICE_IN_CHARGER":
        assert "charger" in err.value.hint


def test_a_rate_the_sensor_does_not_offer_says_which_it_does():
    async def go():
        async with emulated_environment(kinds=("polar-verity",), speed=12.0) as env:
            await _started(env, "polar-verity", StreamSettings(sample_rate_hz=100))

    with pytest.raises(SensorError) as err:
        run(go())
    assert "52 Hz, not 100 Hz" in err.value.message and "--rate 52" in err.value.hint


def test_a_sensor_still_streaming_is_stopped_and_started_again():
    def already_streaming(sensor):
        request = pmd.encode_request("start", "ACC", {"sample_rate": 100, "resolution": 16, "range": 4})
        assert sensor.execute_control(request)[2] == 0

    async def go():
        async with emulated_environment(kinds=("polar-h10",), speed=12.0) as env:
            client, driver, *_ = await _started(env, "polar-h10", StreamSettings(), before=already_streaming)
            statuses = [log[2] for log in env.sensor.control_log]
            await client.disconnect()
            return statuses

    statuses = run(go())
    assert statuses == [0, 6, 0, 0]  # settings, ALREADY_IN_STATE, stop, start


def test_unknown_control_point_indications_are_skipped_and_the_silence_explained(caplog):
    """Indications tracker does not understand (unknown op codes, foreign bytes) never pass for
    an answer; with no real answer the error says what came instead."""

    class FakeClient:
        address = "D0:10:00:00:00:10"

        def __init__(self, driver, answers):
            self.driver, self.answers = driver, answers

        async def write_gatt_char(self, _uuid, payload, response=True):
            for answer in self.answers(payload):
                self.driver._responses.put_nowait(answer)

    driver = PolarH10Driver()
    driver._responses = asyncio.Queue()
    foreign = [bytes.fromhex("F0 09 02 00 00"), bytes.fromhex("77 01 02"), bytes.fromhex("01 02")]
    ok = pmd.encode_request("get_settings", "ACC")

    async def answered():
        client = FakeClient(driver, lambda p: [*foreign, bytes.fromhex("F0 01 02 00 00 00 01 64 00")])
        return await driver._request(client, "get_settings", "ACC")

    with caplog.at_level(logging.WARNING):
        response = asyncio.run(answered())
    assert response.settings == {"sample_rate": [100]} and ok == bytes.fromhex("01 02")
    assert sum("skipped" in r.getMessage() for r in caplog.records) == 2
    assert any("stopped measurements by itself" in r.getMessage() for r in caplog.records)

    import tracker.link.drivers.polar as polar_module

    async def unanswered(monkey_timeout):
        polar_module.COMMAND_TIMEOUT_S = monkey_timeout
        client = FakeClient(driver, lambda p: foreign)
        await driver._request(client, "get_settings", "ACC")

    saved = polar_module.COMMAND_TIMEOUT_S
    try:
        with pytest.raises(SensorError) as err:
            asyncio.run(unanswered(0.2))
    finally:
        polar_module.COMMAND_TIMEOUT_S = saved
    assert "did not answer" in err.value.message and "f009020000" in err.value.message


def test_the_emulated_sensors_refuse_bad_requests_with_the_sdk_statuses():
    h10 = EmulatedPolarH10()
    h10._clock = None  # no radio: execute_control is the sensor's logic alone
    cases = {
        b"": "ERROR_INVALID_LENGTH",
        bytes([0x42, 0x02]): "ERROR_INVALID_OP_CODE",
        bytes([0x05]): "ERROR_INVALID_OP_CODE",  # GET_MEASUREMENT_STATUS: not emulated
        pmd.encode_request("get_settings", 0x3E): "ERROR_INVALID_MEASUREMENT_TYPE",
        pmd.encode_request("start", "GYRO", {"sample_rate": 52}): "ERROR_NOT_SUPPORTED",
        pmd.encode_request("start", "ACC", {"sample_rate": 200}): "ERROR_INVALID_PARAMETER",
        pmd.encode_request("start", "ACC", {"sample_rate": 52, "resolution": 16, "range": 8}): "ERROR_INVALID_SAMPLE_RATE",
        pmd.encode_request("start", "ACC", {"sample_rate": 200, "resolution": 14, "range": 8}): "ERROR_INVALID_RESOLUTION",
        pmd.encode_request("start", "ACC", {"sample_rate": 200, "resolution": 16, "range": 16}): "ERROR_INVALID_RANGE",
        pmd.encode_request("start", "ACC", {"sample_rate": 200, "resolution": 16, "range": 8}, offline=True): "ERROR_NOT_SUPPORTED",
        pmd.encode_request("stop", "ACC"): "ERROR_ALREADY_IN_STATE",
        bytes([0x02, 0x02, 0x00, 0x05]): "ERROR_INVALID_PARAMETER",  # settings cut short
    }
    for request, status in cases.items():
        assert pmd.status_name(h10.execute_control(request)[2]) == status, request.hex()
    small = pmd.encode_request("start", "ACC", {"sample_rate": 200, "resolution": 16, "range": 8})
    assert pmd.status_name(h10.execute_control(small, att_mtu=185)[2]) == "ERROR_INVALID_MTU"
    settings = h10.execute_control(pmd.encode_request("get_settings", "ACC"))[3]
    assert pmd.parse_settings(settings) == {"sample_rate": [25, 50, 100, 200], "resolution": [16], "range": [2, 4, 8]}


def test_h10_recording_keeps_heart_rate_and_broken_frames_cost_nothing_else(tmp_path, caplog):
    out = tmp_path / "h10.capture"
    speed = 12.0

    async def go():
        async with emulated_environment(kinds=("polar-h10",), speed=speed) as env:
            sensor = env.sensor
            recorder = Recorder(env, out, kind="polar-h10", settings=StreamSettings(sample_rate_hz=200))

            async def break_frames():
                await until(lambda: recorder.progress().samples >= 100)
                good = next(f.payload for f in sensor.sent_frames if f.sent)
                for bad in (good[:7], bytes([0x02]) + good[1:9] + b"\x7f" + good[10:], bytes([0x00]) + good[1:]):
                    await sensor.inject_frame(bad)
                # good frames keep coming after the broken ones, then the recording ends
                after = recorder.progress().samples
                await until(lambda: recorder.progress().samples >= after + 200)
                recorder.stop()

            fault = asyncio.create_task(break_frames())
            result = await recorder.run()
            await fault
            return result, sensor

    with caplog.at_level(logging.WARNING, logger="tracker.protocol.pmd_stream"):
        result, sensor = run(go())
    contents = read_capture(out)
    assert contents.header["sensor"]["driver"] == "polar-h10" and contents.complete
    assert contents.header["settings"]["pmd"]["ACC"]["sample_rate"] == 200
    rec = load_capture(out)
    decode = rec.source["decode"]
    assert decode["malformed"] == {"too_short": 1, "unsupported_frame": 1, "unexpected_measurement": 1}
    assert any("PMD frame skipped" in r.getMessage() for r in caplog.records)
    # every frame the sensor sent is in the recording, once, in order: nothing else was lost
    t_sent, acc_sent = sensor.sent_values("ACC")
    assert len(rec) == len(t_sent) == result.samples and decode["lost_samples"] == 0
    np.testing.assert_allclose(rec.acc_m_s2, acc_sent, atol=quantization_step("mG", 1.0) / 2 + 1e-12)
    np.testing.assert_allclose(rec.t_s, (t_sent - t_sent[0]) / 1e9, atol=1e-9)
    assert not rec.has_gyro
    # the H10's heart rate, recorded alongside
    rates = [decode_heart_rate(p).bpm for _, p in contents.notifications["heart_rate"]]
    assert rates and rates == sensor.heart_rates[: len(rates)]


@pytest.mark.slow
def test_a_dropped_link_reconnects_restarts_the_streams_and_counts_the_gap(tmp_path):
    out = tmp_path / "drop.capture"

    async def go():
        async with emulated_environment(kinds=("polar-verity",), speed=12.0) as env:
            sensor = env.sensor
            recorder = Recorder(env, out, kind="polar-verity", settings=StreamSettings(rate_is_default=True), watchdog_s=1.0)

            async def walk_away():
                await until(lambda: len(sensor.streaming) >= 2 and recorder.progress().samples >= 150)
                await sensor.drop_link(out_of_range_s=0.4)
                await until(lambda: recorder.progress().reconnects >= 1)
                resumed = recorder.progress().samples
                await until(lambda: recorder.progress().samples >= resumed + 150)
                recorder.stop()

            fault = asyncio.create_task(walk_away())
            result = await recorder.run()
            await fault
            return result, sensor

    result, sensor = run(go())
    assert result.reconnects == 1
    contents = read_capture(out)
    kinds = [e.kind for e in contents.events]
    assert kinds.index("link_lost") < kinds.index("reconnected")
    assert kinds.count("stream_started") == 2
    rec = load_capture(out)
    decode = rec.source["decode"]
    # every frame sent is decoded once; the samples not measured while away are counted as lost
    t_acc, _ = sensor.sent_values("ACC")
    assert decode["duplicates"] == 0 and decode["malformed_total"] == 0 and decode["gaps"] >= 1
    first = [f for f in sensor.sent_frames if f.measurement == "ACC" and f.sent]
    by_stream = np.diff([f.source_index[0] for f in first])
    missing = int(sum(d - 13 for d in by_stream if d > 13))
    assert decode["lost_by_measurement"]["ACC"] == missing > 0
    assert rec.has_gyro and np.all(np.diff(rec.t_s) > 0)
    # the timeline spans what was sent, less the accelerometer samples no gyro sample covered
    # (before the gyro started, after its last frame): at most a few frames' worth
    assert (t_acc[-1] - t_acc[0]) / 1e9 - 1.0 <= rec.t_s[-1] <= (t_acc[-1] - t_acc[0]) / 1e9

"""The emulated sensor against Bumble's own central on the same virtual link.

Ground truth: the spec's tables and byte layout (decoded here with struct, not with tracker's
decoder), and the sample source's counts (independent arrays the emulator did not make).
"""

from __future__ import annotations

import asyncio
import os
import struct
import time

import numpy as np
import pytest
from bumble import att
from bumble.link import LocalLink
from emulator_central import Central, decode_packet, open_session

from tracker.emulator import ArraySource, BondStore, EmulatedSensor, SimulatedSessionSource
from tracker.protocol import control, spec

R = spec.ResultCode


def run(coroutine, timeout: float = 30.0):
    return asyncio.run(asyncio.wait_for(coroutine, timeout))


def known_counts(n: int, seed: int = 7) -> np.ndarray:
    """Source counts the emulator cannot have invented: seeded random, with saturated values."""
    counts = np.random.default_rng(seed).integers(-30000, 30000, size=(n, 6), dtype=np.int16)
    counts[5, 2] = 32767  # saturated -> CLIPPED on the packet holding sample 5
    return counts


def rate_request(hz: int) -> bytes:
    return struct.pack("<BH", spec.Opcode.SET_SAMPLE_RATE, hz)


def response(opcode: int, result: R) -> bytes:
    return bytes([0x80, opcode, result])


async def wait_until(predicate, timeout: float = 10.0, step: float = 0.005) -> None:
    """Wait for what the test expects to happen (never a fixed sleep: a loaded machine only makes
    it later)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached")
        await asyncio.sleep(step)


async def all_sent_arrived(sensor, session) -> None:
    """After STOP_STREAM: every packet the sensor put on air has reached the central."""
    await wait_until(lambda: len(session.packets) >= sum(p.sent for p in sensor.send_log))


# --- advertising and GATT --------------------------------------------------------------------
def test_advertisement_carries_name_and_service_uuid_in_31_bytes():
    async def main():
        link = LocalLink()
        async with EmulatedSensor(
            link, serial_number="0000c0ffa7b3", address="D2:00:00:00:00:01"
        ) as sensor:
            central = await Central(link).power_on()
            seen = [
                a for a in await central.scan(0.3) if str(a.address).startswith("D2:00:00:00:00:01")
            ]
            assert seen, "the central saw no advertisement from the sensor"
            raw = seen[-1].data_bytes
            assert len(raw) <= 31
            decoded = control.decode_advertisement(raw)
            assert decoded.name == "TRK-A7B3" == sensor.name
            assert decoded.service_uuids == (spec.IMU_SERVICE_UUID,)
            assert decoded.flags == 0x06

    run(main())


def test_gatt_reads_and_unbonded_access_is_refused():
    async def main():
        link = LocalLink()
        async with EmulatedSensor(
            link, serial_number="00000000BEEF", battery_pct=64, firmware_revision="1.2.3"
        ) as sensor:
            central = await Central(link).power_on()
            session = await open_session(central, sensor.address, mtu=247, pair=False)
            assert central.connection.att_mtu == 247
            read = lambda uuid: central.characteristic(uuid).read_value()  # noqa: E731
            assert await read(spec.SERIAL_NUMBER_UUID) == b"00000000BEEF"
            assert await read(spec.FIRMWARE_REVISION_UUID) == b"1.2.3"
            assert (await read(spec.MANUFACTURER_NAME_UUID)) and (
                await read(spec.MODEL_NUMBER_UUID)
            )
            assert await read(spec.BATTERY_LEVEL_UUID) == bytes([64])
            status = control.decode_status_record(await read(spec.STATUS_CHAR_UUID))
            assert (status.protocol_version, status.state, status.sample_rate_hz) == (
                1,
                spec.SensorState.IDLE,
                100,
            )
            assert (status.accel_range_g, status.gyro_range_dps, status.samples_per_packet) == (
                4,
                500,
                19,
            )

            # No read handler must mean an answer, not the 30 s ATT timeout.
            with pytest.raises(att.ATT_Error) as refused:
                await asyncio.wait_for(session.data.read_value(), 2.0)
            assert refused.value.error_code == att.ATT_READ_NOT_PERMITTED_ERROR
            with pytest.raises(att.ATT_Error) as refused:
                await central.characteristic(spec.SERIAL_NUMBER_UUID).write_value(
                    b"x", with_response=True
                )
            assert refused.value.error_code == att.ATT_WRITE_NOT_PERMITTED_ERROR

            # Unbonded: subscribing to data and writing the control point are refused.
            got: list[bytes] = []
            with pytest.raises(att.ATT_Error) as refused:
                await session.data.subscribe(got.append)
            assert refused.value.error_code == att.ATT_INSUFFICIENT_AUTHENTICATION_ERROR
            with pytest.raises(att.ATT_Error) as refused:
                await session.control.write_value(
                    bytes([spec.Opcode.START_STREAM]), with_response=True
                )
            assert refused.value.error_code in (
                att.ATT_INSUFFICIENT_ENCRYPTION_ERROR,
                att.ATT_INSUFFICIENT_AUTHENTICATION_ERROR,
            )
            await asyncio.sleep(0.2)
            assert sensor.state == spec.SensorState.IDLE and not got and not sensor.send_log

    run(main())


# --- streaming -------------------------------------------------------------------------------
def test_paired_stream_decodes_to_the_source_counts_bit_for_bit():
    source = known_counts(400)
    wrap_soon = spec.TIMESTAMP_WRAP_US - 1_000_000  # the u32 timestamp wraps 1 s into the stream

    async def main():
        link = LocalLink()
        async with EmulatedSensor(
            link,
            source=ArraySource(source, 200),
            sampling_rate_hz=200,
            speed=0,
            initial_timestamp_us=wrap_soon,
        ) as sensor:
            session = await (
                await open_session(await Central(link).power_on(), sensor.address)
            ).subscribe()
            assert await session.command(bytes([1])) == response(1, R.SUCCESS)
            await wait_until(
                lambda: sum(len(decode_packet(p)[4]) for _, p in session.packets) >= 380
            )
            assert await session.command(bytes([2])) == response(2, R.SUCCESS)
            await all_sent_arrived(sensor, session)
            return sensor, session

    sensor, session = run(main())
    decoded = session.decoded()
    assert all(d[0] == spec.PROTOCOL_VERSION for d in decoded)
    samples = np.array([s for d in decoded for s in d[4]], dtype=np.int16)
    n = min(len(samples), len(source))
    np.testing.assert_array_equal(
        samples[:n], source[:n]
    )  # the stream starts at the source's origin
    np.testing.assert_array_equal(samples, sensor.sent_counts()[: len(samples)])
    sequences = [d[2] for d in decoded]
    assert sequences == list(range(len(decoded)))
    flags = [d[1] & ~spec.COUNT_MASK for d in decoded]
    assert flags[0] & spec.PacketFlag.STREAM_START and not any(
        f & spec.PacketFlag.STREAM_START for f in flags[1:]
    )
    assert flags[0] & spec.PacketFlag.CLIPPED and not any(
        f & spec.PacketFlag.CLIPPED for f in flags[1:]
    )
    # 19 samples per packet at 200 Hz = 95 000 µs between packet timestamps, across the wrap.
    stamps = np.array([d[3] for d in decoded], dtype=np.int64)
    steps = np.diff(stamps) % spec.TIMESTAMP_WRAP_US
    assert set(steps.tolist()) == {19 * 5000}
    assert (np.diff(stamps) < 0).any(), "the timestamp should have wrapped"


@pytest.mark.parametrize(
    ("mtu", "rate", "per_packet"),
    [(None, 400, 1), (100, 400, 7), (247, 400, 19), (247, 100, 10), (247, 25, 3)],
)
def test_samples_per_packet_follow_the_mtu_and_the_100_ms_age_limit(mtu, rate, per_packet):
    async def main():
        link = LocalLink()
        async with EmulatedSensor(
            link, source=known_counts(200), speed=0, sampling_rate_hz=rate
        ) as sensor:
            session = await (
                await open_session(await Central(link).power_on(), sensor.address, mtu=mtu)
            ).subscribe()
            await session.command(bytes([1]))
            await wait_until(lambda: len(session.packets) >= 10)
            await session.command(bytes([2]))
            return session

    session = run(main())
    sizes = {len(p) for _, p in session.packets[:10]}
    assert sizes == {spec.HEADER_SIZE + per_packet * spec.SAMPLE_SIZE}
    assert {d[1] & spec.COUNT_MASK for d in session.decoded()[:10]} == {per_packet}


def test_control_point_results_and_status():
    async def main():
        link = LocalLink()
        async with EmulatedSensor(link, speed=1.0) as sensor:
            central = await Central(link).power_on()
            session = await open_session(central, sensor.address)
            # Indications not enabled yet: executed anyway (§5), the response goes nowhere.
            await session.control.write_value(bytes([0x05, 2]), with_response=True)
            assert sensor.identify_requests == [2]
            await session.subscribe()
            status = lambda: central.characteristic(spec.STATUS_CHAR_UUID).read_value()  # noqa: E731

            assert await session.command(rate_request(123)) == response(3, R.INVALID_PARAMETER)
            assert await session.command(bytes([0x09])) == response(0x09, R.OPCODE_NOT_SUPPORTED)
            assert await session.command(bytes([0x03, 0x64])) == response(3, R.INVALID_LENGTH)
            assert await session.command(bytes([0x01, 0x00])) == response(1, R.INVALID_LENGTH)
            assert await session.command(bytes([0x04, 3, 0xF4, 0x01])) == response(
                4, R.INVALID_PARAMETER
            )
            assert await session.command(bytes([0x05, 0])) == response(5, R.INVALID_PARAMETER)
            assert await session.command(bytes([0x05, 3])) == response(5, R.SUCCESS)
            assert sensor.identify_requests == [2, 3]
            assert session.indications.empty(), "the request before subscribing had no response"

            assert await session.command(rate_request(200)) == response(3, R.SUCCESS)
            assert await session.command(bytes([0x04, 8, 0xE8, 0x03])) == response(4, R.SUCCESS)
            record = control.decode_status_record(await status())
            assert (
                record.state,
                record.sample_rate_hz,
                record.accel_range_g,
                record.gyro_range_dps,
            ) == (
                spec.SensorState.IDLE,
                200,
                8,
                1000,
            )

            assert await session.command(bytes([1])) == response(1, R.SUCCESS)
            assert control.decode_status_record(await status()).state == spec.SensorState.STREAMING
            assert await session.command(rate_request(100)) == response(3, R.BUSY)
            assert await session.command(bytes([0x04, 4, 0xF4, 0x01])) == response(4, R.BUSY)
            assert await session.command(bytes([1])) == response(1, R.BUSY)
            assert await session.command(bytes([2])) == response(2, R.SUCCESS)
            assert await session.command(bytes([2])) == response(2, R.SUCCESS)  # idempotent
            record = control.decode_status_record(await status())
            assert (record.state, record.sample_rate_hz) == (spec.SensorState.IDLE, 200)
            # The status clock is the packets' clock: it moves forward in µs, at the host's pace
            # (each reading lies between the host times before and after its read).
            t0 = time.monotonic()
            first = control.decode_status_record(await status()).clock_us
            t1 = time.monotonic()
            await asyncio.sleep(0.2)  # let it run: any time will do
            t2 = time.monotonic()
            later = control.decode_status_record(await status()).clock_us
            t3 = time.monotonic()
            moved_s = ((later - first) % spec.TIMESTAMP_WRAP_US) / 1e6
            assert (t2 - t1) * (1 - 1e-3) - 2e-6 <= moved_s <= (t3 - t0) * (1 + 1e-3) + 2e-6

    run(main())


def test_bond_is_kept_and_reused_on_reconnect(tmp_path):
    bonds = tmp_path / "bonds.json"

    async def main():
        link = LocalLink()
        async with EmulatedSensor(link, bond_store=bonds, speed=0) as sensor:
            central = await Central(link).power_on()
            session = await open_session(central, sensor.address)
            assert sensor.bond_store.peers(), "pairing should have stored a bond"
            await session.subscribe()
            await central.connection.disconnect()
            await sensor.wait_disconnected()
            await sensor.wait_advertising()

            pairings: list[object] = []
            central.device.on("pairing", pairings.append)
            session = await open_session(
                central, sensor.address, pair=False, encrypt=True
            )  # stored keys
            # §1: the bonded host's CCCDs are back before it writes them again.
            assert sensor.subscriptions() == {
                spec.DATA_CHAR_UUID.upper(): 1,
                spec.CONTROL_POINT_UUID.upper(): 2,
                spec.BATTERY_LEVEL_UUID.upper(): 1,
            }
            await session.subscribe()
            assert await session.command(bytes([1])) == response(1, R.SUCCESS)
            await wait_until(lambda: len(session.packets) >= 3)
            assert not pairings
        return BondStore(bonds).peers()

    assert run(main()), "the bond file should reload"
    if os.name == "posix":
        assert (bonds.stat().st_mode & 0o777) == 0o600


# --- faults ----------------------------------------------------------------------------------
def test_drop_link_disconnects_out_of_range_then_comes_back_with_a_visible_gap():
    async def main():
        link = LocalLink()
        async with EmulatedSensor(
            link, source=known_counts(5000), speed=1.0, sampling_rate_hz=100
        ) as sensor:
            central = await Central(link).power_on()
            session = await (await open_session(central, sensor.address)).subscribe()
            await session.command(bytes([1]))
            await wait_until(lambda: len(session.packets) >= 3)
            dropped_at = time.monotonic()
            await sensor.drop_link(out_of_range_s=0.5)
            await wait_until(lambda: central.disconnect_reasons)
            assert central.disconnect_reasons == [0x08]
            assert not sensor.advertising
            early = [
                a for a in await central.scan(0.3) if a.address == central.connection.peer_address
            ]
            assert not early, "an out-of-range sensor must not advertise"
            await sensor.wait_advertising(3.0)
            assert time.monotonic() - dropped_at >= 0.48

            second = await (
                await open_session(central, sensor.address, pair=False, encrypt=True)
            ).subscribe()
            assert await second.command(bytes([1])) == response(1, R.SUCCESS)
            await wait_until(lambda: len(second.packets) >= 2)
            return sensor, session, second

    sensor, first, second = run(main())
    one = [p for p in sensor.send_log if p.stream == 1]
    two = [p for p in sensor.send_log if p.stream == 2]
    assert two and two[0].sequence == 0 and two[0].flags & spec.PacketFlag.STREAM_START
    gap_samples = two[0].sample_start - one[-1].sample_stop
    assert gap_samples >= 48, "samples produced while out of range (0.5 s at 100 Hz) are lost"
    last_of_one = one[-1].sensor_time_us + (one[-1].sample_stop - one[-1].sample_start) * 10_000
    assert two[0].sensor_time_us - last_of_one == gap_samples * 10_000  # the clock ran on
    decoded = [decode_packet(p) for _, p in second.packets]
    n = two[0].sample_stop - two[0].sample_start
    np.testing.assert_array_equal(
        np.array([s for d in decoded for s in d[4]], np.int16)[:n],
        known_counts(5000)[two[0].sample_start : two[0].sample_start + n],
    )


def test_lose_packets_leaves_sequence_gaps():
    async def main():
        link = LocalLink()
        async with EmulatedSensor(link, speed=0) as sensor:
            session = await (
                await open_session(await Central(link).power_on(), sensor.address)
            ).subscribe()
            await sensor.lose_packets(3)
            await session.command(bytes([1]))
            await wait_until(lambda: len(session.packets) >= 20)
            await session.command(bytes([2]))
            await all_sent_arrived(sensor, session)
            return sensor, session

    sensor, session = run(main())
    sequences = [d[2] for d in session.decoded()]
    assert sequences[0] == 3, "packets 0..2 were lost: the first to arrive carries sequence 3"
    assert sequences == list(range(3, 3 + len(sequences)))
    lost = [p.sequence for p in sensor.send_log if p.dropped == "lost"]
    assert lost == [0, 1, 2]


def test_random_loss_with_probability():
    async def main():
        link = LocalLink()
        async with EmulatedSensor(link, speed=0, seed=3) as sensor:
            session = await (
                await open_session(await Central(link).power_on(), sensor.address)
            ).subscribe()
            await sensor.lose_packets(probability=0.3)
            await session.command(bytes([1]))
            await wait_until(lambda: len(sensor.send_log) >= 200)
            await session.command(bytes([2]))
            await all_sent_arrived(sensor, session)
            return sensor, session

    sensor, session = run(main())
    received = {d[2] for d in session.decoded()}
    lost = {p.sequence for p in sensor.send_log if p.dropped == "lost"}
    assert 0.15 < len(lost) / len(sensor.send_log) < 0.45
    assert not received & lost and received | lost == {p.sequence for p in sensor.send_log}


def test_go_silent_stops_data_but_keeps_the_link():
    async def main():
        link = LocalLink()
        async with EmulatedSensor(link, speed=1.0, sampling_rate_hz=400) as sensor:
            central = await Central(link).power_on()
            session = await (await open_session(central, sensor.address)).subscribe()
            await session.command(bytes([1]))
            await wait_until(lambda: len(session.packets) >= 3)
            start = time.monotonic()
            await sensor.go_silent(0.6)
            # The control point still answers.
            status = control.decode_status_record(
                await central.characteristic(spec.STATUS_CHAR_UUID).read_value()
            )
            assert status.state == spec.SensorState.STREAMING
            # Data comes back by itself once the silence is over, on the same link.
            await wait_until(lambda: any(p.sent and p.send_monotonic_s >= start + 0.6 for p in sensor.send_log))
            await wait_until(lambda: len(session.packets) >= sum(p.sent for p in sensor.send_log))
            assert sensor.connected and not central.disconnect_reasons
            return sensor, start

    sensor, start = run(main())
    silent = [p for p in sensor.send_log if p.dropped == "silent"]
    assert silent, "packets were due while silent"
    # no data while silent: nothing went on air between the start and the end of the silence
    assert not any(p.sent and start + 0.01 < p.send_monotonic_s < start + 0.6 for p in sensor.send_log)


def test_battery_drains_while_streaming_and_notifies():
    async def main():
        link = LocalLink()
        async with EmulatedSensor(
            link,
            speed=1.0,
            battery_pct=50.2,
            battery_drain_pct_per_h=2 * 3600,
            battery_notify_interval_s=0,
        ) as sensor:
            central = await Central(link).power_on()
            session = await (await open_session(central, sensor.address)).subscribe()
            await session.command(bytes([1]))
            await wait_until(lambda: len(session.battery) >= 2, timeout=5.0)
            await session.command(bytes([2]))
            await sensor.set_battery(17)
            await wait_until(lambda: session.battery[-1] == 17)
            level = await central.characteristic(spec.BATTERY_LEVEL_UUID).read_value()
            return session.battery, level

    levels, level = run(main())
    drained = levels[:-1]
    assert drained == sorted(drained, reverse=True) and drained[0] <= 50 and len(set(drained)) >= 2
    assert level == bytes([17])


def test_battery_empty_powers_the_sensor_off():
    async def main():
        link = LocalLink()
        async with EmulatedSensor(link, speed=1.0) as sensor:
            central = await Central(link).power_on()
            await open_session(central, sensor.address)
            await sensor.set_battery(0)
            await wait_until(lambda: central.disconnect_reasons)
            assert central.disconnect_reasons == [0x15]
            assert not sensor.advertising

    run(main())


def test_a_vanished_host_is_noticed_like_a_supervision_timeout():
    async def main():
        link = LocalLink()
        async with EmulatedSensor(link, speed=1.0) as sensor:
            central = await Central(link).power_on()
            await open_session(central, sensor.address, pair=False)
            link.remove_controller(
                central.controller
            )  # a Bumble tool exiting without disconnecting
            await sensor.wait_disconnected(3.0)
            assert sensor.disconnections[-1].reason == 0x08
            await sensor.wait_advertising(3.0)

    run(main())


@pytest.mark.slow
def test_pacing_at_real_time_takes_the_stream_duration():
    async def main():
        link = LocalLink()
        async with EmulatedSensor(
            link, speed=1.0, sampling_rate_hz=100, clock_drift_ppm=0
        ) as sensor:
            session = await (
                await open_session(await Central(link).power_on(), sensor.address)
            ).subscribe()
            started = time.monotonic()
            await session.command(bytes([1]))
            # Sample 59 is taken 0.59 s after the first one; its packet cannot leave earlier.
            # (6 packets of 10 samples: enough to see the schedule; real time makes it slow.)
            await wait_until(
                lambda: sum(len(decode_packet(p)[4]) for _, p in session.packets) >= 60, timeout=10
            )
            elapsed = time.monotonic() - started
            await session.command(bytes([2]))
            return elapsed, sensor

    elapsed, sensor = run(main())
    # Paced, never early: 60 samples at 100 Hz cannot all arrive before 0.59 s (a loaded machine
    # only makes it later, so there is no upper bound on the wall time here).
    assert elapsed > 0.55
    # The schedule itself is real time: each packet is due when its last sample exists on the
    # sensor's 100 Hz grid (independent of how busy the machine is).
    log = [p for p in sensor.send_log if p.stream == 1]
    due = np.array([p.due_monotonic_s for p in log])
    last_sample = np.array([p.sample_stop - 1 for p in log])
    np.testing.assert_allclose(np.diff(due), np.diff(last_sample) / 100.0, atol=1e-6)
    lateness = np.array([p.send_monotonic_s - p.due_monotonic_s for p in sensor.send_log])
    assert (lateness > -0.002).all(), "no packet may leave before its last sample exists"
    assert np.median(lateness) < 0.05


def test_a_late_stream_sends_its_backlog_and_lets_the_host_run_in_between():
    """A busy machine held the event loop: the packets that fell due meanwhile go out back to
    back, and the rest of the loop (here a ticker; in tracker, the central and the recorder)
    runs between every two of them, instead of waiting until the stream has caught up."""

    async def main():
        link = LocalLink()
        async with EmulatedSensor(link, speed=10.0, sampling_rate_hz=100) as sensor:
            session = await (
                await open_session(await Central(link).power_on(), sensor.address)
            ).subscribe()
            await session.command(bytes([1]))
            await wait_until(lambda: len(session.packets) >= 2)
            ticks: list[float] = []

            async def ticker():
                while True:
                    ticks.append(time.monotonic())
                    await asyncio.sleep(0)

            task = asyncio.create_task(ticker())
            await asyncio.sleep(0)
            time.sleep(0.3)  # the loop is held: 300 samples (30 packets) fall due at 10x
            held_until = time.monotonic()
            await wait_until(lambda: sensor.send_log[-1].due_monotonic_s > held_until)
            task.cancel()
            await session.command(bytes([2]))
            return sensor, ticks, held_until

    sensor, ticks, held_until = run(main())
    late = [p for p in sensor.send_log if p.due_monotonic_s < held_until <= p.send_monotonic_s]
    assert len(late) >= 20, len(late)
    assert [p.packet_index for p in late] == list(range(late[0].packet_index, late[0].packet_index + len(late)))
    ticks_arr = np.array(ticks)
    between = [
        int(np.count_nonzero((ticks_arr > a.send_monotonic_s) & (ticks_arr < b.send_monotonic_s)))
        for a, b in zip(late, late[1:], strict=False)
    ]
    assert min(between) >= 1, between


def test_stop_disconnects_cleanly_and_leaves_the_link():
    async def main():
        link = LocalLink()
        central = None
        async with EmulatedSensor(link, speed=1.0) as sensor:
            central = await Central(link).power_on()
            session = await (await open_session(central, sensor.address)).subscribe()
            await session.command(bytes([1]))
            await wait_until(lambda: session.packets)
        await wait_until(lambda: central.disconnect_reasons)
        assert central.disconnect_reasons == [0x15]  # remote device powered off
        assert link.controllers == {central.controller}

    run(main())


def test_sensor_runs_as_host_of_a_controller_on_an_hci_transport():
    """The path of a USB dongle: here a virtual controller of the link, exposed over TCP."""
    import socket

    from bumble.controller import Controller
    from bumble.transport import open_transport

    async def main():
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        link = LocalLink()
        transport = await open_transport(f"tcp-server:127.0.0.1:{port}")
        try:
            Controller("exposed", host_source=transport.source, host_sink=transport.sink, link=link)
            async with EmulatedSensor(
                None, hci_transport=f"tcp-client:127.0.0.1:{port}", speed=0
            ) as sensor:
                central = await Central(link).power_on()
                session = await (await open_session(central, sensor.address)).subscribe()
                assert await session.command(bytes([1])) == response(1, R.SUCCESS)
                await wait_until(lambda: len(session.packets) >= 5)
        finally:
            await transport.close()

    run(main())


def test_fifo_overflow_skips_samples_and_flags_the_next_packet():
    source = known_counts(2000)

    async def main():
        link = LocalLink()
        async with EmulatedSensor(link, source=source, speed=0, sampling_rate_hz=400) as sensor:
            session = await (
                await open_session(await Central(link).power_on(), sensor.address)
            ).subscribe()
            await sensor.overflow_fifo(50)
            await session.command(bytes([1]))
            await wait_until(lambda: len(session.packets) >= 5)
            await session.command(bytes([2]))
            return session

    decoded = run(main()).decoded()
    first = decoded[0]
    assert first[1] & spec.PacketFlag.SENSOR_OVERFLOW and first[1] & spec.PacketFlag.STREAM_START
    assert not any(d[1] & spec.PacketFlag.SENSOR_OVERFLOW for d in decoded[1:])
    assert [d[2] for d in decoded] == list(range(len(decoded)))  # nothing lost on air
    np.testing.assert_array_equal(np.array(first[4], np.int16), source[50:69])
    assert (decoded[1][3] - first[3]) % spec.TIMESTAMP_WRAP_US == 19 * 2500


def test_legacy_pairing_is_refused():
    from bumble.pairing import PairingConfig, PairingDelegate

    async def main():
        link = LocalLink()
        async with EmulatedSensor(link) as sensor:
            central = await Central(link).power_on()
            central.device.pairing_config_factory = lambda _c: PairingConfig(
                sc=False, mitm=False, bonding=True, delegate=PairingDelegate()
            )
            await central.connect(sensor.address)
            with pytest.raises(Exception) as failed:
                await asyncio.wait_for(central.connection.pair(), 5.0)
            assert getattr(failed.value, "error_code", None) == 0x03  # Authentication Requirements
            assert not sensor.bond_store.peers()

    run(main())


def test_bond_store_keeps_the_newest_four(tmp_path):
    from bumble.keys import PairingKeys

    async def main():
        store = BondStore(tmp_path / "b.json")
        for i in range(6):
            keys = PairingKeys()
            keys.ltk = PairingKeys.Key(value=bytes([i]) * 16)
            await store.update(f"C2:00:00:00:00:0{i}/P", keys)
        return store.peers()

    assert run(main()) == [f"C2:00:00:00:00:0{i}/P" for i in range(2, 6)]
    assert BondStore(tmp_path / "b.json").peers() == [f"C2:00:00:00:00:0{i}/P" for i in range(2, 6)]


def test_stop_sends_the_samples_already_taken():
    async def main():
        link = LocalLink()
        async with EmulatedSensor(link, speed=1.0, sampling_rate_hz=100) as sensor:
            session = await (
                await open_session(await Central(link).power_on(), sensor.address)
            ).subscribe()
            await session.command(bytes([1]))
            await wait_until(lambda: len(session.packets) >= 3)
            await asyncio.sleep(0.045)  # mid-packet: some samples taken, not yet sent
            stopped_at = time.monotonic()
            assert await session.command(bytes([2])) == response(2, R.SUCCESS)
            await wait_until(lambda: any(p.send_monotonic_s >= stopped_at for p in sensor.send_log))
            return sensor, stopped_at

    sensor, stopped_at = run(main())
    log = sensor.send_log
    tail = [p for p in log if p.send_monotonic_s >= stopped_at]
    assert len(tail) == 1 and 1 <= len(tail[0].counts) <= 10
    assert all(a.sample_stop == b.sample_start for a, b in zip(log, log[1:], strict=False))


def test_streams_the_simulated_session_bit_for_bit():
    source = SimulatedSessionSource(seed=2)

    async def main():
        link = LocalLink()
        async with EmulatedSensor(link, source=source, speed=0, sampling_rate_hz=100) as sensor:
            session = await (
                await open_session(await Central(link).power_on(), sensor.address)
            ).subscribe()
            await session.command(bytes([1]))
            await wait_until(lambda: len(session.packets) >= 40)
            await session.command(bytes([2]))
            return session

    decoded = run(main()).decoded()
    samples = np.array([s for d in decoded for s in d[4]], np.int16)
    np.testing.assert_array_equal(samples, np.asarray(source.session(100).counts)[: len(samples)])


def test_bounded_send_log_keeps_the_newest_packets():
    """A long-running emulator (`tracker emulate`) must not grow its send log without bound."""

    async def main():
        link = LocalLink()
        async with EmulatedSensor(link, speed=0, send_log_limit=25) as sensor:
            session = await (
                await open_session(await Central(link).power_on(), sensor.address)
            ).subscribe()
            await session.command(bytes([1]))
            await wait_until(lambda: len(session.packets) >= 80)
            await session.command(bytes([2]))
            await asyncio.sleep(0.05)
            return sensor, session

    sensor, session = run(main())
    log = list(sensor.send_log)
    assert len(log) == 25
    # the newest ones: consecutive, ending at the last packet the central received
    assert [p.packet_index for p in log] == list(range(log[0].packet_index, log[0].packet_index + 25))
    assert log[-1].sequence == session.decoded()[-1][2]

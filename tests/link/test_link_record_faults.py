"""`tracker record` when the sensor is lost for good partway: what was recorded is analysed and
stored, then one line says why the recording broke off (an empty battery by that name), exit 1.
Also: the calibration `pair --emulated` stored is used by `record --emulated`, and a second Ctrl-C
while the session is being saved never kills the process without a word."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from waiting import until, until_sync

from tracker.capture import read_capture
from tracker.cli.main import run
from tracker.history import SessionStore
from tracker.link import environment as environment_module
from tracker.link import recorder as recorder_module

pytestmark = pytest.mark.slow  # every test here streams a whole session or runs the CLI end to end

SPEED = 100.0
"""Emulated sensor time per wall second. Nothing here is paced by wall time but the faults'
watchdogs, which wait for silence (and a stream at any speed is not silent): the faster the
emulator, the sooner the session before the fault is there."""
SESSION_BEFORE_FAULT_S = 44.0
"""Session streamed before the fault: the simulated person is on the roller from about 20 s, so
there is a session to analyse and store."""


def _sent_session_s(sensor) -> float:
    """Seconds of session the emulated sensor has put on air so far."""
    sent = [p for p in sensor.send_log if p.sent]
    return (sent[-1].sensor_time_us - sent[0].sensor_time_us) / 1e6 if sent else 0.0


def _fault_after(monkeypatch, fault, give_up_s: float = 0.3) -> None:
    """Record against an emulator that suffers `fault(sensor)` once it has streamed
    `SESSION_BEFORE_FAULT_S` (however long that takes on a loaded machine), with a recorder that
    gives up after one reconnect attempt (a 0.25 s rescan) instead of a minute. Its watchdog waits
    0.25 s of silence: a stream at this speed sends a packet every millisecond or so, and a
    loaded machine's false alarm only costs a reconnect (any data resets the count)."""
    real_env = environment_module.emulated_environment

    @contextlib.asynccontextmanager
    async def faulty(**kwargs):
        async with real_env(**kwargs) as env:

            async def strike() -> None:
                await until(lambda: _sent_session_s(env.sensor) >= SESSION_BEFORE_FAULT_S, timeout=60)
                await fault(env.sensor)

            task = asyncio.create_task(strike())
            try:
                yield env
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    monkeypatch.setattr(environment_module, "emulated_environment", faulty)
    patient = functools.partial(
        recorder_module.Recorder, watchdog_s=0.25, max_silent_episodes=1, reconnect_give_up_s=give_up_s, scan_timeout_s=0.25
    )
    monkeypatch.setattr(recorder_module, "Recorder", patient)


async def _walk_away(sensor) -> None:
    await sensor.drop_link(out_of_range_s=3600)


async def _go_silent(sensor) -> None:
    await sensor.go_silent(3600)


async def _battery_dies(sensor) -> None:
    await sensor.set_battery(0)


@pytest.mark.parametrize(
    ("fault", "says"),
    [(_walk_away, "did not come back"), (_go_silent, "sent no data"), (_battery_dies, "battery is empty")],
    ids=["out_of_range", "silent", "battery_empty"],
)

def test_a_lost_sensor_still_gives_a_stored_session_then_exit_1(monkeypatch, tmp_path, capsys, fault, says):
    _fault_after(monkeypatch, fault)
    out = tmp_path / "broken.capture"
    code = run(["record", "--emulated", "--speed", str(SPEED), "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 1, captured.err
    assert "stored as session 1" in captured.out and "this session:" in captured.out
    last = captured.err.strip().splitlines()[-1]
    assert last.startswith("tracker: error:") and says in last, captured.err
    if fault is _battery_dies:
        assert "closer" not in last and "charge" in last
    with SessionStore() as store:
        assert store.count() == 1
        assert store.session(1).capture_path == str(out.resolve())
    assert run(["import", str(out)]) == 0  # the very capture that was stored: nothing twice
    assert "already imported" in capsys.readouterr().out


def test_the_live_view_of_a_lost_sensor_ends_lost_not_stopped(monkeypatch, tmp_path, capsys):
    _fault_after(monkeypatch, _walk_away)
    code = run(["record", "--emulated", "--live", "--quiet", "--speed", str(SPEED), "--out", str(tmp_path / "x.capture")])
    captured = capsys.readouterr()
    assert code == 1, captured.err
    final = captured.out[captured.out.rindex("tracker live") :]
    assert "lost: what was recorded is kept" in final and "stopped" not in final


def test_record_emulated_uses_the_calibration_pair_emulated_stored(capsys):
    assert run(["pair", "--emulated", "--yes", "--speed", "50"]) == 0  # poses cut by sample count
    capsys.readouterr()
    # 100 s of the emulated person at 100 Hz, so that it rolls (under 80 s it is not foam rolling
    # yet), streamed as fast as the link allows
    assert run(["record", "--emulated", "--max-samples", "10000", "--speed", "0"]) == 0
    out = capsys.readouterr().out
    assert "stored as session 1" in out
    capture = Path(out.split(" to ", 1)[1].split("\n", 1)[0].strip())
    header = read_capture(capture).header
    assert header.get("calibration") and header["calibration"]["source"] == "pairing"
    with SessionStore() as store:
        notes = store.session(1).analysis.notes
    assert not any("no mounting calibration" in n for n in notes), notes


def test_a_second_ctrl_c_while_saving_never_ends_silently(tmp_path):
    """First Ctrl-C ends the recording; a second one soon after lands in the analysis, the store or
    the exit. Whatever it hits, the process ends on its own terms: either stored (0) or a line
    saying how to store the kept capture (130), never killed by the signal without a word."""
    env = {**os.environ, "TRACKER_HOME": str(tmp_path / "home")}
    out = tmp_path / "twice.capture"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tracker", "record", "--emulated", "--speed", str(SPEED), "--out", str(out)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        until_sync(lambda: out.exists() and out.stat().st_size >= 80_000)
        proc.send_signal(signal.SIGINT)
        time.sleep(0.3)  # not a wait for anything: the second Ctrl-C may land in any phase after the first
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode in (0, 130), (proc.returncode, stderr)
    if proc.returncode == 130:
        assert f"stopped before the session was stored; store it with: tracker import {out}" in stderr
    else:
        assert "stored as session" in stdout


def test_a_sensor_lost_on_a_low_battery_is_called_a_battery_problem():
    from tracker.cli.record_command import LOW_BATTERY_PCT, _failure_line
    from tracker.errors import LinkLostError

    lost = LinkLostError("the link dropped and did not come back", hint="bring the sensor closer")
    assert "battery is empty" in _failure_line(lost, 0).one_line()
    low = _failure_line(lost, LOW_BATTERY_PCT).one_line()
    assert f"battery at {LOW_BATTERY_PCT} %" in low and "closer" not in low
    assert _failure_line(lost, LOW_BATTERY_PCT + 1) is lost and _failure_line(lost, None) is lost


def test_a_sensor_with_an_empty_battery_is_given_up_on_early(monkeypatch, tmp_path, capsys):
    """The last battery reading was 0 %: the sensor switched itself off, so the recorder stops
    waiting for it long before its usual minute (here 60 s, shortened to 0.5 s for an empty one)."""
    monkeypatch.setattr(recorder_module, "EMPTY_BATTERY_GIVE_UP_S", 0.5)
    _fault_after(monkeypatch, _battery_dies, give_up_s=60.0)
    started = time.monotonic()
    code = run(["record", "--emulated", "--speed", str(SPEED), "--out", str(tmp_path / "empty.capture")])
    assert code == 1
    assert time.monotonic() - started < 30.0, "waited the full minute for a sensor with no battery"
    assert "battery is empty" in capsys.readouterr().err

"""The link commands: scan, record, replay, emulate; exit codes and one-line errors."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from waiting import until_sync

from tracker.cli.main import run as cli


def _tracker_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "tracker", *args]


def test_scan_json_is_one_list_of_sensors(capsys):
    # every emulated sensor advertises every 20 ms: half a second hears each many times
    assert cli(["scan", "--emulated", "--timeout", "0.5", "--json"]) == 0
    out = capsys.readouterr().out
    sensors = json.loads(out)
    # the emulated radio holds one sensor of each kind: tracker IMU, Polar H10, Polar Verity Sense
    assert isinstance(sensors, list) and len(sensors) == 3
    assert all({"name", "address", "rssi", "driver"} <= set(s) for s in sensors)
    by_kind = {s["driver"]: s["name"] for s in sensors}
    assert by_kind["tracker-imu"].startswith("TRK-")
    assert by_kind["polar-h10"].startswith("Polar H10 ") and by_kind["polar-verity"].startswith("Polar Sense ")
    assert all(isinstance(s["rssi"], int) for s in sensors)


def test_scan_by_sensor_kind(capsys):
    assert cli(["scan", "--emulated", "--timeout", "0.5", "--json", "--sensor", "polar-h10"]) == 0
    sensors = json.loads(capsys.readouterr().out)
    assert [s["driver"] for s in sensors] == ["polar-h10"]
    assert cli(["scan", "--emulated", "--sensor", "polar-h9"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "polar-h10" in err[0]


def test_record_for_a_duration_then_replay(tmp_path, capsys):
    out = tmp_path / "rec.capture"
    # 3 s of sensor time (the 100 samples asked for below are 1 s of it)
    assert cli(["record", "--emulated", "--duration", "0.5", "--out", str(out), "--speed", "6"]) == 0
    printed = capsys.readouterr().out
    assert str(out) in printed and out.stat().st_mode & 0o777 == 0o600
    assert cli(["replay", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["samples"] > 100 and report["complete"] is True
    assert report["decode"]["lost_samples"] == 0


def test_record_default_path_is_in_the_captures_dir(capsys, _isolated_data_dir):
    assert cli(["record", "--emulated", "--max-samples", "200", "--speed", "0"]) == 0
    files = list((_isolated_data_dir / "captures").glob("*.capture"))
    assert len(files) == 1 and str(files[0]) in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [["scan", "--bogus"], ["record", "--emulated", "--rate", "33", "--duration", "1"], ["replay"]],
)
def test_bad_usage_exits_2(argv, capsys):
    assert cli(argv) == 2


def test_replay_of_a_missing_file_is_one_line_and_nonzero(tmp_path, capsys):
    code = cli(["replay", str(tmp_path / "nope.capture")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and len(err) == 1 and err[0].startswith("tracker: error:") and "does not exist" in err[0]


def test_replay_of_a_file_that_is_not_a_capture(tmp_path, capsys):
    bogus = tmp_path / "x.capture"
    bogus.write_text("hello")
    assert cli(["replay", str(bogus)]) != 0
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_record_refuses_to_overwrite(tmp_path, capsys):
    existing = tmp_path / "exists.capture"
    existing.write_bytes(b"keep me")
    assert cli(["record", "--emulated", "--duration", "1", "--out", str(existing)]) == 1
    assert existing.read_bytes() == b"keep me"
    assert "already exists" in capsys.readouterr().err


def test_truncated_capture_replays_with_a_cut_note(tmp_path, capsys):
    out = tmp_path / "full.capture"
    # 3 s of sensor time, streamed as fast as the link allows
    assert cli(["record", "--emulated", "--max-samples", "300", "--out", str(out), "--speed", "0"]) == 0
    capsys.readouterr()
    data = out.read_bytes()
    cut = tmp_path / "cut.capture"
    cut.write_bytes(data[: int(len(data) * 0.6)])
    assert cli(["replay", str(cut)]) == 0
    captured = capsys.readouterr()
    assert "cut" in captured.err and "samples" in captured.out


@pytest.mark.slow
def test_kill_9_during_record_leaves_a_file_that_replays(tmp_path, capsys):
    out = tmp_path / "killed.capture"
    env = {**os.environ, "TRACKER_HOME": str(tmp_path / "home")}
    proc = subprocess.Popen(
        _tracker_cmd("record", "--emulated", "--speed", "10", "--out", str(out)),  # samples sooner
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # Wait until a few flushed blocks of samples are on disk, then kill it mid-recording.
        until_sync(lambda: out.exists() and out.stat().st_size >= 6000)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    assert cli(["replay", str(out), "--json"]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["samples"] > 0 and report["complete"] is False
    assert "cut" in captured.err or report["notes"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
@pytest.mark.parametrize("kind, prefix", [("tracker-imu", "TRK-"), ("polar-h10", "Polar H10 ")])
def test_emulate_exposes_the_sensor_to_an_outside_bumble_host(kind, prefix):
    from bumble import hci
    from bumble.device import Device
    from bumble.transport import open_transport

    port = _free_port()
    proc = subprocess.Popen(
        _tracker_cmd("emulate", "--expose", f"tcp-server:_:{port}", "--sensor", kind),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )

    async def probe() -> tuple[str, str]:
        transport = None
        for _ in range(150):
            try:
                transport = await open_transport(f"tcp-client:127.0.0.1:{port}")
                break
            except (OSError, ConnectionError):
                await asyncio.sleep(0.1)
        assert transport is not None, "tracker emulate never opened its port"
        try:
            host = Device.with_hci("probe", hci.Address("C2:22:22:22:22:22"), transport.source, transport.sink)
            await host.power_on()
            found: asyncio.Future[tuple[str, str]] = asyncio.get_running_loop().create_future()

            def on_adv(adv) -> None:
                name = adv.data.get(0x09)
                if name and not found.done():
                    found.set_result((adv.address.to_string(False), name))

            host.on("advertisement", on_adv)
            await host.start_scanning()
            return await asyncio.wait_for(found, 10)
        finally:
            await transport.close()

    try:
        address, name = asyncio.run(asyncio.wait_for(probe(), 30))
    finally:
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=15)
    assert name.startswith(prefix) and address
    assert proc.returncode == 0, err
    assert "stopped" in err


def test_every_link_command_has_an_example(capsys):
    for command in ("scan", "pair", "record", "replay", "emulate"):
        assert cli([command, "--help"]) == 0
        assert "Example: tracker " + command in capsys.readouterr().out


def test_main_help_stays_light():
    code = (
        "import sys, tracker.cli.main;"
        "heavy=[m for m in ('bleak','bumble','numpy','tracker.emulator') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30).stdout.strip()
    assert "bleak" not in out and "bumble" not in out and "tracker.emulator" not in out


def test_default_capture_name_is_utc_start(tmp_path):
    from tracker.cli.record_command import _default_capture_path

    path = _default_capture_path()
    assert Path(path).suffix == ".capture" and path.name[:8].isdigit() and "T" in path.name


def test_real_radio_missing_says_use_emulated(capsys):
    code = cli(["scan", "--timeout", "0.5", "--json"])
    if code == 0:
        pytest.skip("this machine has a working Bluetooth adapter")
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--emulated" in err[0]

"""A damaged sensors.json is kept (moved aside, and said so) before pairing writes a new one, and
tracker's log lines reach the terminal as plain "note: …" lines, never as Python's "WARNING:name:"."""

from __future__ import annotations

import json
import logging

import numpy as np

from tracker.cli.logs import configure_logging, reset_logging
from tracker.cli.main import run
from tracker.imu import MountingCalibration
from tracker.link.registry import SensorRecord, SensorRegistry

DAMAGED = '{"version": 1, "default": "AA:BB", "sensors": [{"address": "AA:BB", "calibration": {"sensor_to_bo'


def test_pairing_over_a_damaged_registry_moves_it_aside_first(tmp_path, caplog):
    path = tmp_path / "sensors.json"
    path.write_text(DAMAGED)
    with caplog.at_level(logging.WARNING, logger="tracker.link.registry"):
        registry = SensorRegistry(path)
        assert registry.sensors == {} and registry.damaged
        calibration = MountingCalibration(sensor_to_body=np.eye(3))
        registry.upsert(SensorRecord(address="F8:00:00:00:C0:DE", name="TRK-C0DE", driver="tracker-imu", calibration=calibration))
        registry.save()
    kept = list(tmp_path.glob("sensors.json.damaged-*"))
    assert len(kept) == 1 and kept[0].read_text() == DAMAGED  # the old calibrations can still be recovered
    assert json.loads(path.read_text())["default"] == "F8:00:00:00:C0:DE"
    assert any(str(kept[0]) in r.getMessage() for r in caplog.records)
    SensorRegistry(path).save()  # a readable registry is simply rewritten, nothing more moved aside
    assert len(list(tmp_path.glob("sensors.json.damaged-*"))) == 1


def test_a_damaged_registry_is_a_note_on_stderr_not_a_python_log_line(_isolated_data_dir, capsys):
    _isolated_data_dir.mkdir(parents=True, exist_ok=True)
    (_isolated_data_dir / "sensors.json").write_text(DAMAGED)
    assert run(["scan", "--emulated", "--timeout", "0.5", "--json"]) == 0  # adverts every 20 ms
    captured = capsys.readouterr()
    assert len(json.loads(captured.out)) == 3  # stdout stays one JSON document (3 emulated sensors)
    notes = [line for line in captured.err.splitlines() if line.strip()]
    assert notes and all(line.startswith("note: ") for line in notes), captured.err
    assert "sensors.json" in captured.err and "WARNING" not in captured.err


def test_technical_warnings_need_verbose(capsys):
    try:
        configure_logging(verbose=False)
        logging.getLogger("tracker.protocol.stream").warning("data stream resynchronised after 3 bytes")
        logging.getLogger("tracker.link.registry").warning("something the user can act on")
    finally:
        reset_logging()
    err = capsys.readouterr().err
    assert err == "note: something the user can act on\n"
    try:
        configure_logging(verbose=True)
        logging.getLogger("tracker.protocol.stream").warning("data stream resynchronised after 3 bytes")
    finally:
        reset_logging()
    assert "WARNING tracker.protocol.stream: data stream resynchronised" in capsys.readouterr().err
    assert not [h for h in logging.getLogger().handlers if type(h).__name__ == "_StderrHandler"]  # removed again

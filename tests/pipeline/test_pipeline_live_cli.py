"""`tracker record --emulated --live` and `tracker replay --live`: the coaching view on the real paths."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tracker.cli.main import run

pytestmark = pytest.mark.slow  # every test here streams a whole session or runs the CLI end to end


FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def test_record_live_on_the_emulated_sensor_shows_the_view_and_stores_the_session(capsys):
    # 48 s of sensor time at 100 Hz, rolling from about 20 s (about 40 s are needed for a session
    # to store), stopped by sample count: the emulator streams as fast as the live analysis of
    # every sample keeps up with
    assert run(["record", "--emulated", "--live", "--quiet", "--max-samples", "4800", "--speed", "0"]) == 0
    out = capsys.readouterr().out
    for element in ("Pace", "target 2.5 cm/s", "Strokes", "Region", "Hold", "Session", "Sensor", "battery", "Warnings"):
        assert element in out, element
    assert re.search(r"Session\s+00:[3-5]\d", out), "48 s of sensor time streamed"
    assert "stored as session 1" in out


def test_replay_live_at_speed_shows_holds_and_warnings(capsys):
    # the fastest replay there is: the live view's pacing is not what is tested here
    assert run(["replay", str(FIXTURES / "hips_down.capture"), "--live", "--speed", "100"]) == 0
    out = capsys.readouterr().out
    assert "Sensor  replay" in out
    assert "hold_too_long" in out or "held one spot" in out.lower() or "60 s" in out
    assert "\a" in out, "a warning rings the terminal bell"


def test_live_and_json_do_not_mix(capsys):
    assert run(["replay", str(FIXTURES / "hips_down.capture"), "--live", "--json"]) == 2
    assert "do not go together" in capsys.readouterr().err

"""`tracker record --emulated --live` and `tracker replay --live`: the coaching view on the real paths."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tracker.cli.main import run

pytestmark = pytest.mark.slow  # every test here streams a whole session or runs the CLI end to end


FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def test_record_live_on_the_emulated_sensor_shows_the_view_and_stores_the_session(capsys):
    # 48 s of sensor time, rolling from about 20 s (about 40 s are needed for a session to store).
    # The live analysis of every sample, not the emulator, limits the speed: at 20x it takes a
    # fraction of a core, so a busy machine still streams the whole 48 s
    assert run(["record", "--emulated", "--live", "--quiet", "--duration", "2.4", "--speed", "20"]) == 0
    out = capsys.readouterr().out
    for element in ("Pace", "target 2.5 cm/s", "Strokes", "Region", "Hold", "Session", "Sensor", "battery", "Warnings"):
        assert element in out, element
    assert re.search(r"Session\s+00:[3-5]\d", out), "about 48 s of sensor time streamed at 20x"
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

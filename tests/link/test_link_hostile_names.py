"""A sensor that advertises a hostile name (issue 10, item 5): Rich markup that would crash or
recolour, and a terminal escape that clears the screen. scan, pair, record (with replay and show
of what it recorded) print it as the text it is, through the emulated sensor on Bumble's virtual
radio and the real bleak code."""

from __future__ import annotations

import pytest

from tracker.capture import read_capture
from tracker.cli.main import run
from tracker.protocol import control

NAMES = ["[/]", "[red]X", "\x1b[2J"]  # at most 8 bytes: the advertisement holds no more


@pytest.fixture(params=NAMES, ids=["closing-tag", "markup", "clear-screen"])
def hostile_name(request, monkeypatch):
    monkeypatch.setattr(control, "sensor_name", lambda serial: request.param)
    return request.param


def _visible(name: str) -> str:
    return name.replace("\x1b", "\\x1b")


def test_scan_shows_a_hostile_name_as_text(hostile_name, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # the whole table on one line each
    assert run(["scan", "--emulated", "--timeout", "0.5"]) == 0  # the sensor advertises every 20 ms
    out = capsys.readouterr()
    assert "\x1b" not in out.out + out.err and "Traceback" not in out.err
    assert _visible(hostile_name) in out.out
    assert "tracker pair F8:00:00:00:C0:DE" in out.out  # the hint names what a shell can take


def test_pair_then_record_show_a_hostile_name_as_text(hostile_name, tmp_path, capsys):
    assert run(["pair", "--emulated", "--yes", "--speed", "50"]) == 0  # poses cut by sample count
    out = capsys.readouterr()
    assert "\x1b" not in out.out + out.err and _visible(hostile_name) in out.out + out.err
    capture = tmp_path / "rec.capture"
    assert run(["record", "--emulated", "--max-samples", "400", "--speed", "0", "--out", str(capture)]) == 0
    out = capsys.readouterr()
    assert "\x1b" not in out.out + out.err and "Traceback" not in out.err
    assert read_capture(capture).header["sensor"]["name"] == hostile_name
    assert run(["replay", str(capture)]) == 0
    out = capsys.readouterr()
    assert "\x1b" not in out.out + out.err and _visible(hostile_name) in out.out

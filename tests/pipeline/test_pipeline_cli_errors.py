"""Bad input to `tracker` gives one clear line that says what to do, the right exit status, and
loses nothing: usage errors, settings analysis could not use, messages that must fit the case."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tracker import paths
from tracker.cli.main import run
from tracker.guidance import ROLLER_DIAMETER_RANGE_CM, SETTING_RANGES, Guidance, guidance_problem

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def _one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("tracker: error: ") and "Usage:" not in err
    return lines[0]


# --- 1. usage errors ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("argv", "needles"),
    [
        (["show", "abc"], ["show:", "'abc'", "session id", "tracker show --help"]),
        (["frobnicate"], ["no such command 'frobnicate'", "tracker --help"]),
        (["sesions"], ["did you mean 'sessions'?"]),
        (["record", "--emulatd"], ["record:", "--emulatd", "did you mean --emulated?", "tracker record --help"]),
        (["report", "--weeks", "0"], ["report:", "--weeks must be at least 1, not 0", "tracker report --help"]),
        (["replay"], ["replay:", "missing argument", "tracker replay --help"]),
        (["record", "--emulated", "--max-samples", "0"], ["record:", "--max-samples must be at least 1, not 0", "tracker record --help"]),
    ],
)
def test_usage_errors_are_one_line_naming_the_command_and_its_help(argv, needles, capsys):
    assert run(argv) == 2
    captured = capsys.readouterr()
    line = _one_error_line(captured.err)
    for needle in needles:
        assert needle in line, line
    assert captured.out == ""


def test_no_arguments_still_shows_the_help(capsys):
    assert run([]) == 2
    assert "Commands" in capsys.readouterr().err


# --- 6. settings --------------------------------------------------------------------------------
def test_the_defaults_are_valid_settings():
    assert guidance_problem(Guidance()) is None
    assert set(SETTING_RANGES) == {f.name for f in dataclasses.fields(Guidance) if f.name not in ("warn_lumbar", "week_start")}


@pytest.mark.parametrize(
    ("name", "value", "needles"),
    [
        ("roller_diameter_cm", "-3", ["negative", "between 4 and 40 cm"]),
        ("roller_diameter_cm", "0", ["between 4 and 40 cm", "not 0"]),
        ("roller_diameter_cm", "1000", ["between 4 and 40 cm"]),
        ("target_pace_cm_s", "nan", ["finite"]),
        ("target_pace_cm_s", "inf", ["finite"]),
        ("hold_target_min_s", "100", ["hold_target_max_s (30 s)"]),
        ("hold_too_long_s", "5", ["between 10 and 1800 s"]),
        ("hold_too_long_s", "25", ["hold_target_max_s (30 s)"]),
        ("lumbar_fraction", "2", ["between 0.1 and 0.6"]),
        ("too_fast_pace_cm_s", "0", ["between 1 and 50 cm/s"]),
        ("too_fast_pace_cm_s", "2", ["target_pace_cm_s (2.5 cm/s)"]),
        ("goal_sessions_per_week", "0", ["between 1 and 21"]),
        ("goal_sessions_per_week", "2.5", ["whole number"]),
    ],
)
def test_config_refuses_values_analysis_could_not_use(name, value, needles, capsys):
    assert run(["config", name, value]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert name in line
    for needle in needles:
        assert needle in line, line
    assert not paths.config_path().exists()


def test_a_good_value_is_saved_and_floats_print_short(capsys):
    assert run(["config", "hold_target_max_s", "45"]) == 0
    assert run(["config", "hold_target_min_s", "40"]) == 0  # fits the new maximum
    capsys.readouterr()
    assert run(["config"]) == 0
    listing = capsys.readouterr().out
    assert "0.333" in listing and "0.3333" not in listing and "1800.0" not in listing
    saved = json.loads(paths.config_path().read_text())["guidance"]
    assert saved == {"hold_target_max_s": 45.0, "hold_target_min_s": 40.0}


def test_a_settings_file_holding_nan_is_refused_before_recording(tmp_path, capsys):
    paths.data_dir()
    paths.config_path().write_text(json.dumps({"guidance": {"roller_diameter_cm": math.nan}}))
    out = tmp_path / "never.capture"
    assert run(["record", "--emulated", "--duration", "1", "--out", str(out)]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert "roller_diameter_cm" in line and "tracker config" in line
    assert not out.exists()


def test_one_roller_diameter_range_for_analyze_and_import(capsys):
    low, high = ROLLER_DIAMETER_RANGE_CM
    capture = FIXTURES / "bridge.capture"
    inside = f"{low + 0.5:g}"
    assert run(["analyze", str(capture), "--roller-diameter", inside, "--json"]) == 0
    assert run(["import", str(capture), "--roller-diameter", inside]) == 0
    capsys.readouterr()
    for command in (["analyze", str(capture)], ["import", str(capture)]):
        assert run([*command, "--roller-diameter", f"{high + 1:g}"]) == 2
        assert f"{high:g}" in _one_error_line(capsys.readouterr().err)


# --- 3. replay: not analysed, and a history that cannot be written --------------------------------
def test_a_cut_capture_replays_with_status_0_and_says_not_analysed(tmp_path, capsys):
    cut = tmp_path / "cut.capture"
    cut.write_bytes((FIXTURES / "bridge.capture").read_bytes()[:4000])
    assert run(["replay", str(cut)]) == 0
    out = capsys.readouterr().out
    assert "not analysed" in out and "at least" in out


def test_replay_store_exits_1_when_the_history_cannot_be_written(tmp_path, capsys, monkeypatch):
    from tracker.history.store import SessionStore

    capture = tmp_path / "bridge.capture"
    shutil.copy(FIXTURES / "bridge.capture", capture)

    def read_only(*_args, **_kwargs):  # what SQLite says in a read-only data directory
        raise sqlite3.OperationalError("attempt to write a readonly database")

    monkeypatch.setattr(SessionStore, "add_session", read_only)
    assert run(["replay", str(capture), "--store"]) == 1
    captured = capsys.readouterr()
    assert "strokes" in captured.out or "No strokes" in captured.out  # the summary came first
    line = _one_error_line(captured.err)
    assert "readonly" in line and f"tracker import {capture}" in line
    assert capture.read_bytes() == (FIXTURES / "bridge.capture").read_bytes()


# --- 7. messages that fit the case --------------------------------------------------------------
def test_record_into_a_folder_says_it_is_a_folder(tmp_path, capsys):
    assert run(["record", "--emulated", "--duration", "1", "--out", str(tmp_path)]) == 1
    line = _one_error_line(capsys.readouterr().err)
    assert "is a folder" in line and "already exists" not in line


def test_two_recordings_in_the_same_second_get_different_names():
    from tracker.cli.record_command import _default_capture_path, _release_capture_name

    now = datetime(2025, 3, 1, 10, 15, 0, tzinfo=UTC)
    first = _default_capture_path(now)
    second = _default_capture_path(now)
    assert first != second
    assert first.name == "20250301T101500Z.capture" and second.name == "20250301T101500Z-2.capture"
    _release_capture_name(first)
    _release_capture_name(second)
    assert not list(first.parent.glob(".*reserved"))


def test_sessions_outside_the_date_range_say_how_many_are_stored(capsys):
    assert run(["import", str(FIXTURES / "bridge.capture")]) == 0
    capsys.readouterr()
    assert run(["sessions", "--since", "2999-01-01"]) == 0
    out = capsys.readouterr().out
    assert "No sessions in that date range (1 stored" in out and "Import one" not in out


def test_summary_leaves_out_an_empty_time_per_region_line():
    from rich.console import Console

    from tracker.analysis import analyze, load_recording
    from tracker.cli.summary import print_session_summary

    result = analyze(load_recording(FIXTURES / "bridge.capture"), Guidance())
    nothing = dataclasses.replace(result, region_time_s=dict.fromkeys(result.region_time_s, 0.0))
    console = Console(record=True, width=200)
    print_session_summary(nothing, "t", console)
    assert "Time per region" not in console.export_text()


def test_import_help_names_the_capture_extension_record_writes(capsys):
    assert run(["import", "--help"]) == 0
    text = capsys.readouterr().out
    assert ".capture" in text and "*.cap " not in text and "(.cap)" not in text


def test_scan_without_a_radio_says_it_in_a_sentence():
    from tracker.link.environment import bluetooth_unavailable

    error = bluetooth_unavailable(FileNotFoundError(2, "No such file or directory"))
    assert error is not None
    line = error.one_line()
    assert "Errno" not in line and "FileNotFoundError" not in line and "--emulated" in line


def test_emulate_with_a_bad_transport_does_not_say_it_stopped(capsys):
    assert run(["emulate", "--expose", "nonsense:x"]) == 2
    err = capsys.readouterr().err
    assert "stopped" not in err.lower()
    assert "nonsense:x" in _one_error_line(err)


def test_output_cut_short_by_its_reader_ends_quietly(tmp_path):
    """`tracker sessions | head -1`: the reader is gone before tracker writes (read end closed
    first), and tracker ends quietly with status 0, as the module docstring of tracker.cli.main says."""
    env = {**os.environ, "TRACKER_HOME": str(tmp_path / "home")}
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "tracker", "sessions"], stdout=write_end, stderr=subprocess.PIPE, env=env, timeout=60
        )
    finally:
        os.close(write_end)
    assert proc.returncode == 0 and proc.stderr == b"", proc.stderr

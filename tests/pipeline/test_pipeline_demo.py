"""`tracker demo`: simulated weeks through the emulated sensor, the analysis and the history."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from tracker.cli.main import run
from tracker.demo import DEMO_MARKER, plan_sessions


def test_plan_is_about_three_a_week_with_one_overuse_week():
    plans = plan_sessions(weeks=6, end=date(2026, 3, 29), timezone="Europe/Berlin", seed=3)
    assert 10 <= len(plans) <= 30
    # the second-to-last week carries the load spike: a day with three sessions
    days = [p.start_utc.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Berlin")).date() for p in plans]
    assert max(days.count(d) for d in set(days)) == 3
    assert {p.posture for p in plans} >= {"hips_down", "bridge"}
    assert plans == plan_sessions(weeks=6, end=date(2026, 3, 29), timezone="Europe/Berlin", seed=3)


@pytest.mark.slow
def test_demo_runs_the_whole_pipeline(tmp_path, capsys):
    # the plan is of the week up to today: take a seed that plans several sessions this week and
    # one that plans fewer, whatever the day
    planned = {seed: len(plan_sessions(weeks=1, seed=seed)) for seed in range(30)}
    many = next(seed for seed, n in planned.items() if n >= 2)
    few = next(seed for seed, n in planned.items() if 1 <= n < planned[many])
    target = tmp_path / "demo"
    assert run(["demo", "--weeks", "1", "--dir", str(target), "--seed", str(many)]) == 0
    captured = capsys.readouterr()
    out = captured.out
    report = Path(re.search(r"report: (\S+)", out).group(1))
    assert report.exists() and report.name == "index.html"
    sessions = int(re.search(r"(\d+) simulated sessions", out).group(1))
    assert sessions >= 1
    captures = sorted((target / "captures").glob("*.capture"))
    assert len(captures) == sessions
    # not a terminal: progress is plain lines, one per step, as it happens; no unknown totals
    err = captured.err.splitlines()
    assert [line for line in err if line.startswith("session ")] == [
        line for line in err if re.fullmatch(r"session \d+/\d+: .+", line)
    ]
    assert sum(line.startswith("session ") for line in err) == sessions
    assert "drawing the report" in err and "None" not in captured.err
    assert (target / "sessions.sqlite3").stat().st_mode & 0o077 == 0
    # the stored sessions are the demo's, listed through the normal command
    assert run(["--data-dir", str(target), "sessions", "--json"]) == 0
    listed = __import__("json").loads(capsys.readouterr().out)
    assert len(listed) == sessions
    # a second run replaces the demo's own directory, and nothing else: with a seed that plans
    # fewer sessions, so no capture of the first run may be left over
    assert run(["demo", "--weeks", "1", "--dir", str(target), "--seed", str(few)]) == 0
    second = int(re.search(r"(\d+) simulated sessions", capsys.readouterr().out).group(1))
    assert second < sessions
    assert len(sorted((target / "captures").glob("*.capture"))) == second
    assert (target / DEMO_MARKER).exists()


def test_demo_refuses_a_directory_that_is_not_its_own(tmp_path, capsys):
    precious = tmp_path / "mine"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    assert run(["demo", "--weeks", "1", "--dir", str(precious)]) == 2
    err = capsys.readouterr().err
    assert "not a tracker demo directory" in err and err.count("\n") == 1
    assert (precious / "notes.txt").read_text() == "keep me"


@pytest.mark.parametrize("weeks", ["0", "x"])
def test_demo_bad_weeks(weeks, capsys):
    assert run(["demo", "--weeks", weeks]) == 2


def test_bumble_debug_text_is_built_only_when_debug_logging_is_on(caplog):
    """Bumble formats every packet into its debug log with f-strings; with DEBUG off that text is
    not built (the demo's biggest waste), with DEBUG on it is all there, and str() still gives
    the full text (without colour codes while DEBUG is off)."""
    import logging

    from bumble import hci, host

    import tracker.ble.virtual  # noqa: F401  installs tracker.ble.quiet

    packet = hci.HCI_Reset_Command()
    bumble_logger = logging.getLogger("bumble")
    level = bumble_logger.level
    bumble_logger.setLevel(logging.WARNING)
    try:
        _check_lazy(packet, host, caplog)
    finally:
        bumble_logger.setLevel(level)


def _check_lazy(packet, host, caplog) -> None:
    import logging

    assert f"{packet}" == "HCI_Reset_Command"
    assert str(packet) == "HCI_RESET_COMMAND" and host.color("x", "green") == "x"
    with caplog.at_level(logging.DEBUG, logger="bumble"):
        coloured = host.color("HCI_RESET_COMMAND", "green")
        assert coloured != "HCI_RESET_COMMAND" and "HCI_RESET_COMMAND" in coloured
        assert f"{packet}" == str(packet) == coloured

"""`tracker config` and the settings every command reads."""

from __future__ import annotations

import json
import os

from tracker import paths
from tracker.cli.main import run
from tracker.settings import load_guidance


def test_config_lists_changes_and_persists_privately(capsys):
    assert run(["config", "roller_diameter_cm", "12"]) == 0
    assert run(["config", "week_start", "Sunday"]) == 0
    capsys.readouterr()
    assert run(["config"]) == 0
    listing = capsys.readouterr().out
    assert "roller_diameter_cm" in listing and "(changed)" in listing
    guidance = load_guidance()
    assert guidance.roller_diameter_cm == 12.0 and guidance.week_start == "sunday"
    assert os.stat(paths.config_path()).st_mode & 0o777 == 0o600
    # a command option still wins over the stored setting
    assert load_guidance(roller_diameter_cm=10.0).roller_diameter_cm == 10.0


def test_config_bad_values_are_one_line_errors(capsys):
    for argv, needle in (
        (["config", "roller_diameter_cm", "abc"], "takes a float"),
        (["config", "nonsense", "1"], "no setting"),
        (["config", "week_start", "someday"], "day of the week"),
        (["config", "hold_too_long_s", "--", "-5"], "negative"),
    ):
        assert run(argv) == 2
        err = capsys.readouterr().err
        assert needle in err and err.count("\n") == 1, err
    assert not paths.config_path().exists()


def test_a_broken_settings_file_says_how_to_recover(capsys):
    paths.data_dir()
    paths.config_path().write_text("{not json")
    assert run(["config"]) == 2
    assert "delete it to go back to the defaults" in capsys.readouterr().err
    paths.config_path().write_text(json.dumps({"guidance": {"frobnicate": 1}}))
    assert run(["config"]) == 2
    assert "unknown setting" in capsys.readouterr().err

"""The layout's promises: layers import only what is above them, the CLI starts without the heavy
libraries, every command explains itself with an example, and the code stays lint-clean."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    return set(json.loads(out.stdout.splitlines()[-1]))


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [
        ("tracker.cli.main", {"scipy", "bleak", "bumble", "pandas", "matplotlib", "vqf"}),
        ("tracker.analysis", {"bleak", "bumble", "pandas", "matplotlib"}),
        ("tracker.formats", {"bleak", "bumble", "scipy", "pandas", "matplotlib", "vqf", "tracker.analysis"}),
        ("tracker.protocol.stream", {"bleak", "bumble", "scipy", "pandas", "matplotlib"}),
        ("tracker.capture", {"bleak", "bumble", "scipy", "pandas", "matplotlib"}),
        ("tracker.history.report", {"bleak", "bumble", "scipy.signal", "vqf"}),
        ("tracker.results", {"numpy", "scipy", "bleak", "pandas"}),
    ],
)
def test_layers_import_only_what_they_need(module, forbidden):
    loaded = _modules_after(f"import {module}")
    assert not (loaded & forbidden), f"{module} pulls in {sorted(loaded & forbidden)}"


def _commands() -> list[str]:
    from typer.main import get_command

    from tracker.cli.main import app

    return sorted(get_command(app).commands)  # type: ignore[attr-defined]


@pytest.mark.parametrize("command", _commands())
def test_every_command_has_help_with_an_example(command, capsys):
    from tracker.cli.main import run

    assert run([command, "--help"]) == 0
    assert "Example" in capsys.readouterr().out


def test_version_matches_the_package_metadata(capsys):
    from importlib.metadata import version

    from tracker.cli.main import run

    assert run(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"tracker {version('tracker')}"


def test_unknown_command_and_option_exit_2(capsys):
    from tracker.cli.main import run

    assert run(["frobnicate"]) == 2
    assert run(["analyze", "--frobnicate", "x"]) == 2


@pytest.mark.skipif(shutil.which("ruff") is None and not (Path(sys.executable).parent / "ruff").exists(), reason="ruff not installed")
def test_ruff_is_clean():
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    result = subprocess.run([ruff, "check", "tracker", "tests", "benchmarks", "fixtures"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr

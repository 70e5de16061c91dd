"""Shared test setup: every test gets its own private data directory and a headless matplotlib."""

from __future__ import annotations

import os
import sys

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

# Keep compiled bytecode (git-ignored __pycache__) even where PYTHONDONTWRITEBYTECODE is set:
# without it every xdist worker compiles tracker and rewrites the tests' asserts again (about
# half of each worker's collection), and so does every `python -m tracker` a test starts.
sys.dont_write_bytecode = False


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path, monkeypatch):
    """No test may read or write a real user's data directory."""
    from tracker import paths

    home = tmp_path / "tracker-home"
    monkeypatch.setenv("TRACKER_HOME", str(home))
    paths.set_data_dir(None)
    yield home
    paths.set_data_dir(None)


def pytest_xdist_auto_num_workers(config):
    """`-n auto`: one worker more than the cores this process may use. About a fifth of the
    suite's time waits on real time (emulated sensors paced like real ones, silences and
    watchdogs, subprocesses, a browser): a spare worker runs tests meanwhile. Measured in
    BENCHMARKS.md ("Test suite"); PYTEST_XDIST_AUTO_NUM_WORKERS still decides when set."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None  # xdist's own hook reads it
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return cores + 1


def pytest_collection_modifyitems(config, items):
    _heavy_modules_first(items)
    if os.environ.get("TRACKER_HARDWARE") == "1":
        return
    skip = pytest.mark.skip(reason="needs a physical Bluetooth radio; set TRACKER_HARDWARE=1")
    for item in items:
        if "hardware" in item.keywords:
            item.add_marker(skip)


def _heavy_modules_first(items) -> None:
    """Modules with the most `slow` tests run first. pytest-xdist hands whole modules to its
    workers (`--dist loadscope`: a module's fixtures are made once) in collection order
    (`--no-loadscope-reorder`); a long module started last would leave the other cores idle
    while it ends. The order inside a module is kept."""
    slow: dict[str, int] = {}
    for item in items:
        key = item.nodeid.split("::")[0]
        slow[key] = slow.get(key, 0) + (1 if item.get_closest_marker("slow") else 0)
    items.sort(key=lambda item: -slow[item.nodeid.split("::")[0]])

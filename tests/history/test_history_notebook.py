"""notebooks/weekly_consistency.ipynb runs against a generated history, through the public API."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "weekly_consistency.ipynb"


def _kernel_for_this_interpreter(where: Path) -> str:
    """A kernelspec that runs *this* Python (with tracker installed), wherever CI put the venv."""
    name = "tracker-test-python"
    spec = where / "kernels" / name
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "tracker tests", "language": "python",
    }))  # fmt: skip
    return name


@pytest.mark.slow
def test_notebook_runs_on_a_generated_history(tmp_path, monkeypatch, _isolated_data_dir):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    from tracker.history import SessionStore
    from tracker.history.synthetic import synthetic_history

    with SessionStore() as store:  # TRACKER_HOME is the test's private data dir (tests/conftest.py)
        n = synthetic_history(store, days=70, end=date.today(), seed=2)
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    kernel = _kernel_for_this_interpreter(tmp_path / "jupyter")

    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(
        nb, kernel_name=kernel, timeout=120, resources={"metadata": {"path": str(tmp_path)}}
    ).execute()

    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert any(f"{n} sessions in {_isolated_data_dir}" in o.get("text", "") for o in outputs)
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 2  # the three weekly charts and the calendar
    table = next(o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {}))
    assert "streak_weeks" in table and "acwr" in table

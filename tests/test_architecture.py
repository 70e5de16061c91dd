"""The layout's promises: layers import only what is above them, the CLI starts without the heavy
libraries, every command explains itself with an example, and the code stays lint-clean."""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "tracker"


def _layer_table() -> list[set[str]]:
    """The layer rows of tracker/__init__.py's docstring, lowest first: each a set of units
    (`protocol`, `imu`, ...), a unit being a top-level module or subpackage of tracker."""
    doc = ast.get_docstring(ast.parse((PACKAGE / "__init__.py").read_text()))
    assert doc, "tracker/__init__.py lost its docstring (the layer table)"
    block = doc.split("Layers, lowest first", 1)[1].split("`__version__`", 1)[0]
    rows = []
    for line in block.splitlines():
        match = re.match(r"^    ((?:[a-z_]+(?:/|\.py) ?)+)\s{2,}", line)
        if match:
            rows.append({name.removesuffix("/").removesuffix(".py") for name in match.group(1).split()})
    return rows


def _unit(module: str) -> str | None:
    """`tracker.capture.reader` -> `capture`; the package itself -> `__init__`; others -> None."""
    parts = module.split(".")
    if parts[0] != "tracker":
        return None
    return parts[1] if len(parts) > 1 else "__init__"


def _module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, root: Path = ROOT) -> list[tuple[int, str]]:
    """Every module `path` imports (line, dotted name), at the top or inside a function.
    `from tracker import paths` names the submodule `tracker.paths`."""
    module = _module_name(path, root)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            for alias in node.names:
                name = f"{base}.{alias.name}"
                where = root.joinpath(*name.split("."))
                is_module = where.is_dir() or where.with_suffix(".py").exists()
                found.append((node.lineno, name if is_module else base))
    return found


def _import_violations(root: Path = ROOT) -> list[str]:
    """Every import in `root`/tracker of a layer on the same or a higher row than the importer's."""
    rows = _layer_table()
    row_of = {unit: i for i, row in enumerate(rows) for unit in row}
    problems = []
    for path in sorted((root / "tracker").rglob("*.py")):
        unit = _unit(_module_name(path, root))
        where = path.relative_to(root)
        if unit not in row_of:
            problems.append(f"{where}: `{unit}` is in no row of the layer table")
            continue
        for line, imported in _imports(path, root):
            target = _unit(imported)
            if target is None or target == unit or target == "__init__":
                # `from tracker import __version__`: a constant of the facade, loading nothing
                continue
            if target not in row_of:
                problems.append(f"{where}:{line}: imports {imported}, in no row of the table")
            elif row_of[target] >= row_of[unit]:
                side = "a higher" if row_of[target] > row_of[unit] else "the same"
                problems.append(f"{where}:{line}: `{unit}` imports {imported}, on {side} row")
    return problems


def test_the_layer_table_names_every_package_once():
    rows = _layer_table()
    units = [unit for row in rows for unit in row]
    assert len(units) == len(set(units)), "a unit is on two rows"
    on_disk = {p.stem for p in PACKAGE.glob("*.py")} | {
        p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()
    }
    assert set(units) == on_disk


def test_every_import_goes_to_a_lower_layer():
    problems = _import_violations()
    assert not problems, "imports against the layer table in tracker/__init__.py:\n" + "\n".join(problems)


def test_the_facade_imports_nothing_at_import_time():
    """Every layer imports `__version__` from tracker/__init__.py; that stays free only while the
    facade imports its layers inside functions."""
    tree = ast.parse((PACKAGE / "__init__.py").read_text())
    top = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    assert all(getattr(n, "module", None) in ("__future__", "typing") for n in top)


def test_the_import_checker_sees_lazy_relative_and_same_row_imports(tmp_path):
    """The checker itself can fail: imports inside functions, relative ones and one between two
    packages of one row are all found."""
    package = tmp_path / "tracker"
    for sub in ("protocol", "cli", "history", "formats", "ble"):
        (package / sub).mkdir(parents=True)
        (package / sub / "__init__.py").write_text("")
    (package / "__init__.py").write_text("")
    (package / "protocol" / "probe.py").write_text(
        "def f():\n    from tracker.cli import main\n    from ..history import store\n"
    )
    (package / "formats" / "probe.py").write_text("from tracker import ble\nfrom tracker import __version__\n")
    problems = _import_violations(tmp_path)
    assert len(problems) == 3, problems
    assert "protocol/probe.py:2: `protocol` imports tracker.cli" in problems[2] + problems[1] + problems[0]


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    return set(json.loads(out.stdout.splitlines()[-1]))


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [
        # `tracker --help` (and every command's start): the command modules, typer and nothing else
        ("tracker.cli.main", {"numpy", "scipy", "bleak", "bumble", "pandas", "matplotlib", "vqf", "rich", "pydantic", "msgspec"}),
        ("tracker.analysis", {"bleak", "bumble", "pandas", "matplotlib"}),
        ("tracker.formats", {"bleak", "bumble", "scipy", "pandas", "matplotlib", "vqf", "tracker.analysis"}),
        ("tracker.protocol.stream", {"bleak", "bumble", "scipy", "pandas", "matplotlib"}),
        ("tracker.capture", {"bleak", "bumble", "scipy", "pandas", "matplotlib"}),
        # reading a capture or a file (tracker analyze, import) loads no writer and no other format
        ("tracker.capture.decode", {"tracker.capture.writer", "tracker.capture.synthetic", "tracker.protocol.pmd_stream"}),
        ("tracker.formats", {"tracker.formats.phyphox", "tracker.formats.sensor_logger", "tracker.capture.writer"}),
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


MAX_MODULE_LINES = 800
"""A module over this is doing more than one thing: split it along its concerns."""


def test_no_module_is_over_800_lines():
    long = {
        str(path.relative_to(ROOT)): n
        for path in PACKAGE.rglob("*.py")
        if (n := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert not long, f"modules over {MAX_MODULE_LINES} lines: {long}"


def test_ruff_is_clean():
    """`ruff check .` as CI runs it (ruff is a test extra), notebooks included."""
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    assert ruff, "ruff is a test extra: pip install -e '.[test]'"
    result = subprocess.run([ruff, "check", "."], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr

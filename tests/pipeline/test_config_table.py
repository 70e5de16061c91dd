"""`tracker config` is the table of docs/guidance.md: value, unit, default, what each setting
changes and where its default comes from; unknown names get a "did you mean"."""

from __future__ import annotations

import json
import re
from dataclasses import fields
from pathlib import Path

import pytest

from tracker.cli.main import run
from tracker.guidance import GUIDANCE_DOC, SETTING_DOCS, Guidance
from tracker.settings import format_setting

ROOT = Path(__file__).resolve().parents[2]


def _doc_rows() -> dict[str, list[str]]:
    """The settings table of docs/guidance.md: name -> [default, unit, changes, source]."""
    rows = {}
    for line in (ROOT / GUIDANCE_DOC).read_text(encoding="utf-8").splitlines():
        m = re.match(r"^\| `(\w+)` \|(.*)\|$", line)
        if m:
            rows[m.group(1)] = [cell.strip() for cell in m.group(2).split("|")]
    return rows


def test_the_guidance_document_and_the_code_say_the_same():
    rows = _doc_rows()
    default = Guidance()
    assert set(rows) == {f.name for f in fields(Guidance)}
    for name, (value, unit, changes, source) in rows.items():
        doc = SETTING_DOCS[name]
        assert value == format_setting(getattr(default, name)), name
        assert (unit, changes, source) == (doc.unit, doc.changes, doc.source), name
        # every bracketed source key is explained under "Sources"
        for key in re.findall(r"\[(\w+)\]", source):
            assert f"**[{key}]**" in (ROOT / GUIDANCE_DOC).read_text(encoding="utf-8"), key


def test_guidance_code_cites_the_repository_document_not_the_team_notes():
    # the team's DOMAIN.md is not in the repository: guidance numbers cite docs/guidance.md, the
    # physics docs/kinematics.md
    for path in (ROOT / "tracker").rglob("*.py"):
        assert "DOMAIN.md" not in path.read_text(encoding="utf-8"), path
    assert GUIDANCE_DOC in (ROOT / "tracker" / "guidance.py").read_text(encoding="utf-8")


def test_config_json_is_the_table_with_changes_marked(capsys):
    assert run(["config", "roller_diameter_cm", "12"]) == 0
    capsys.readouterr()
    assert run(["config", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == [f.name for f in fields(Guidance)]
    by_name = {r["name"]: r for r in rows}
    roller = by_name["roller_diameter_cm"]
    assert roller["value"] == 12.0 and roller["default"] == 15.0 and roller["changed"] is True
    assert roller["unit"] == "cm" and roller["allowed"] == [4.0, 40.0]
    assert "position along your back" in roller["changes"] and "[roller]" in roller["source"]
    assert by_name["hold_too_long_s"]["changed"] is False
    assert by_name["week_start"]["allowed"][0] == "monday"


def test_config_table_shows_every_column(capsys):
    assert run(["config", "hold_too_long_s", "45"]) == 0
    capsys.readouterr()
    assert run(["config"]) == 0
    out = capsys.readouterr().out
    header = out.splitlines()[0]
    for column in ("setting", "value", "unit", "default", "what it changes", "where the default comes from"):
        assert column in header
    # one whole row per setting when piped (grep-able): value, unit, default, meaning, source
    row = next(line for line in out.splitlines() if line.startswith("hold_too_long_s"))
    assert re.search(r"45 \(changed\)\s+s\s+60\s+a hold longer than this", row)
    assert "2–3 min on one spot is reported to bruise [bruise]" in row
    assert GUIDANCE_DOC in out


def test_config_one_setting_in_full(capsys):
    assert run(["config", "too_fast_pace_cm_s"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("too_fast_pace_cm_s = 5 cm/s\n")
    assert "allowed:  1 to 50 cm/s" in out and "[fast]" in out and GUIDANCE_DOC in out


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("roller_diameter", "roller_diameter_cm"),
        ("roller-diameter-cm", "roller_diameter_cm"),
        ("hold_to_long_s", "hold_too_long_s"),
        ("weekstart", "week_start"),
    ],
)
def test_unknown_setting_gets_did_you_mean(typed, meant, capsys):
    for argv in (["config", typed], ["config", typed, "12"]):
        assert run(argv) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1
        assert f"there is no setting '{typed}' (did you mean {meant}" in err
        assert "tracker config" in err


def test_unknown_setting_without_a_near_name_lists_none(capsys):
    assert run(["config", "xyzzy"]) == 2
    err = capsys.readouterr().err
    assert "no setting 'xyzzy'" in err and "did you mean" not in err

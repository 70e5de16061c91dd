"""Damage and cuts in a capture reach the analysis notes (`tracker analyze`, --json, import), with
the seconds of samples they cost."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tracker.analysis import analyze, load_recording
from tracker.cli.main import run

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def _meta(name):
    return json.loads((FIXTURES / f"{name}.meta.json").read_text())


@pytest.fixture
def flipped(tmp_path):
    data = bytearray((FIXTURES / "hips_down.capture").read_bytes())
    mid = len(data) // 2
    for i in range(mid, mid + 8):
        data[i] ^= 0xFF
    path = tmp_path / "flipped.capture"
    path.write_bytes(bytes(data))
    return path


def test_damage_note_says_how_many_seconds_were_lost(flipped):
    rec = load_recording(flipped)
    notes = [n for n in rec.source.get("notes", []) if "damaged" in n]
    assert len(notes) == 1, rec.source.get("notes")
    lost = float(re.search(r"([\d.]+) s of samples lost", notes[0]).group(1))
    meta = _meta("hips_down")
    truth = (meta["samples_recorded"] - len(rec)) / meta["sampling_rate_hz"]
    assert truth > 0 and lost == pytest.approx(truth, abs=0.15)
    result = analyze(rec)
    assert notes[0] in result.notes and notes[0] in result.to_json()["notes"]


def test_cli_analyze_shows_the_damage(flipped, capsys):
    assert run(["analyze", str(flipped), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert any("damaged" in n and "s of samples lost" in n for n in doc["notes"]), doc["notes"]
    assert run(["analyze", str(flipped)]) == 0
    out = capsys.readouterr().out
    assert "note: bytes" in out and "damaged" in out


def test_cut_capture_says_it_is_cut(tmp_path, capsys):
    data = (FIXTURES / "hips_down.capture").read_bytes()
    path = tmp_path / "cut.capture"
    path.write_bytes(data[: 2 * len(data) // 3])
    rec = load_recording(path)
    assert any("cut" in n for n in rec.source["notes"]), rec.source["notes"]
    assert run(["analyze", str(path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert any(f"cut at byte {rec.source['cut_at_byte']}" in n for n in doc["notes"]), doc["notes"]


def test_whole_capture_has_no_damage_notes():
    rec = load_recording(FIXTURES / "hips_down.capture")
    assert not [n for n in rec.source.get("notes", []) if "damaged" in n or "cut" in n]

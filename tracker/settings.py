"""The user's settings: guidance thresholds and body geometry, kept in the data directory.

`config.json` holds `{"guidance": {"roller_diameter_cm": 12, "week_start": "sunday", ...}}`; any
field of `tracker.guidance.Guidance` may be set, and anything not set keeps its default. `tracker
config` reads and writes it.
"""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any

from tracker import paths
from tracker.errors import UsageError
from tracker.guidance import Guidance, guidance_problem, setting_problem


def load_settings() -> dict[str, Any]:
    """The settings document (empty when there is none)."""
    path = paths.config_path()
    if not path.exists():
        return {}
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(
            f"cannot read the settings file {path}: {exc}",
            hint="fix it, or delete it to go back to the defaults",
        ) from exc
    if not isinstance(obj, dict):
        raise UsageError(f"the settings file {path} is not a JSON object", hint="delete it to go back to the defaults")
    return obj


def load_guidance(*, validate: bool = True, **overrides: Any) -> Guidance:
    """Guidance from the defaults, then the settings file, then `overrides` (command options) that
    are not None. Settings that analysis could not work with (out of range, NaN, in the wrong
    order) are refused with a line that says how to fix them, unless `validate` is False."""
    stored = load_settings().get("guidance") or {}
    known = {f.name for f in fields(Guidance)}
    unknown = sorted(set(stored) - known)
    if unknown:
        raise UsageError(
            f"unknown setting(s) in {paths.config_path()}: {', '.join(unknown)}",
            hint="see `tracker config` for the settings there are",
        )
    guidance = Guidance.from_json(stored)
    if validate:
        problem = guidance_problem(guidance)
        if problem is not None:
            raise UsageError(
                f"the settings file {paths.config_path()} says {problem}",
                hint="change it with `tracker config NAME VALUE`, or delete the file to go back to the defaults",
            )
    given = {k: v for k, v in overrides.items() if v is not None}
    if not given:
        return guidance
    guidance = guidance.with_overrides(**given)
    if validate:
        problem = guidance_problem(guidance)
        if problem is not None:
            raise UsageError(problem, hint="see `tracker config` for the settings in use")
    return guidance


def format_setting(value: Any) -> str:
    """A setting as a person reads it: 0.333, not 0.3333333333333333; 1800, not 1800.0."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{round(value, 3):g}"
    return str(value)


_KIND = {bool: "true or false", int: "a whole number", float: "a float (a number)", str: "a word"}


def save_guidance_setting(name: str, text: str) -> Guidance:
    """Set one guidance field from its text form: checked against the field's type, its allowed
    range and the settings it must agree with, before anything is written."""
    by_name = {f.name: f for f in fields(Guidance)}
    if name not in by_name:
        raise UsageError(f"there is no setting {name!r}", hint="run `tracker config` to list them")
    default = getattr(Guidance(), name)
    example = f"for example: tracker config {name} {format_setting(default)} (the default)"
    try:
        if isinstance(default, bool):
            lowered = text.strip().lower()
            if lowered not in ("true", "false", "yes", "no", "on", "off", "1", "0"):
                raise ValueError(text)
            value: Any = lowered in ("true", "yes", "on", "1")
        elif isinstance(default, int):
            value = int(text)
        elif isinstance(default, float):
            value = float(text)
        else:
            value = text.strip().lower()
    except ValueError:
        raise UsageError(f"{name} takes {_KIND[type(default)]}, not {text!r}", hint=example) from None
    problem = setting_problem(name, value)
    if problem is not None:
        raise UsageError(problem, hint=example)
    document = load_settings()
    guidance_doc = dict(document.get("guidance") or {})
    guidance_doc[name] = value
    document["guidance"] = guidance_doc
    guidance = Guidance.from_json(guidance_doc)
    problem = guidance_problem(guidance, changed=name)
    if problem is not None:
        raise UsageError(problem, hint="change the other setting first, or choose a value that fits it")
    paths.write_private_atomic(paths.config_path(), (json.dumps(document, indent=2) + "\n").encode())
    return guidance


def person_pseudonym() -> str:
    """This user's id in pooled (partitioned) exports: a random pseudonym made once and kept in
    the settings file ("person"), so every export of this history lands in the same partition and
    no name leaves the machine unless the user chooses one (`--person`)."""
    import secrets

    document = load_settings()
    person = document.get("person")
    if isinstance(person, str) and person:
        return person
    person = f"p-{secrets.token_hex(4)}"
    document["person"] = person
    paths.write_private_atomic(paths.config_path(), (json.dumps(document, indent=2) + "\n").encode())
    return person

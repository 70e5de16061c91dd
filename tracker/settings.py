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
from tracker.guidance import Guidance


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


def load_guidance(**overrides: Any) -> Guidance:
    """Guidance from the defaults, then the settings file, then `overrides` (command options) that
    are not None."""
    stored = load_settings().get("guidance") or {}
    known = {f.name for f in fields(Guidance)}
    unknown = sorted(set(stored) - known)
    if unknown:
        raise UsageError(
            f"unknown setting(s) in {paths.config_path()}: {', '.join(unknown)}",
            hint="see `tracker config` for the settings there are",
        )
    guidance = Guidance.from_json(stored)
    given = {k: v for k, v in overrides.items() if v is not None}
    return guidance.with_overrides(**given) if given else guidance


def save_guidance_setting(name: str, text: str) -> Guidance:
    """Set one guidance field from its text form (checked against the field's type)."""
    by_name = {f.name: f for f in fields(Guidance)}
    if name not in by_name:
        raise UsageError(f"there is no setting {name!r}", hint="run `tracker config` to list them")
    default = getattr(Guidance(), name)
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
        raise UsageError(
            f"{name} takes a {type(default).__name__}, not {text!r}", hint=f"for example: tracker config {name} {default}"
        ) from None
    if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
        raise UsageError(f"{name} cannot be negative", hint=f"the default is {default}")
    if name == "week_start" and value not in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"):
        raise UsageError(f"week_start must be a day of the week, not {text!r}", hint="for example: tracker config week_start sunday")
    document = load_settings()
    guidance_doc = dict(document.get("guidance") or {})
    guidance_doc[name] = value
    document["guidance"] = guidance_doc
    guidance = Guidance.from_json(guidance_doc)
    paths.write_private_atomic(paths.config_path(), (json.dumps(document, indent=2) + "\n").encode())
    return guidance

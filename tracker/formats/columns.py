"""`--columns`: which of a CSV's columns are time, acceleration and rotation rate.

    --columns t=timestamp,ax=AccX,ay=AccY,az=AccZ,gx=GyroX,gy=GyroY,gz=GyroZ

Keys are `t`, `ax`, `ay`, `az` (required) and `gx`, `gy`, `gz` (all three, or none for an
accelerometer-only file). A value is a header name (any case) or `#N`, the N-th column counted
from 1 (for a file without a header row). A `-` before the value flips that axis's sign, for a
logger whose axes point the other way. Units are s, m/s² and rad/s unless `--time-unit`,
`--accel-unit` or `--gyro-unit` say otherwise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

AXES = ("ax", "ay", "az", "gx", "gy", "gz")
KEYS = ("t", *AXES)
EXAMPLE = "t=timestamp,ax=AccX,ay=AccY,az=AccZ,gx=GyroX,gy=GyroY,gz=GyroZ"


@dataclass(frozen=True)
class ColumnMapping:
    """CSV column for each of t, ax, ay, az (and gx, gy, gz), with a sign per axis."""

    names: dict[str, str]
    """Key -> header name or "#N"."""
    signs: dict[str, float]
    """Axis key -> +1.0 or -1.0."""

    @property
    def has_gyro(self) -> bool:
        return "gx" in self.names

    @property
    def positional(self) -> bool:
        """True when every column is given by position (the file may have no header row)."""
        return all(re.fullmatch(r"#\d+", v) for v in self.names.values())

    def text(self) -> str:
        return ",".join(
            f"{k}={'-' if self.signs.get(k, 1.0) < 0 else ''}{v}" for k, v in self.names.items()
        )

    @classmethod
    def parse(cls, text: str) -> ColumnMapping:
        """From `--columns` text; a mistake is a `ValueError` that says what is wrong."""
        names: dict[str, str] = {}
        signs: dict[str, float] = {}
        for part in (p.strip() for p in text.split(",")):
            if not part:
                continue
            key, sep, value = part.partition("=")
            key, value = key.strip().lower(), value.strip()
            if not sep or not value:
                raise ValueError(f"--columns: {part!r} is not KEY=COLUMN (e.g. {EXAMPLE})")
            if key not in KEYS:
                raise ValueError(f"--columns: {key!r} is not one of {', '.join(KEYS)}")
            if key in names:
                raise ValueError(f"--columns: {key} is given twice")
            sign = 1.0
            if value.startswith("-") and len(value) > 1:
                if key == "t":
                    raise ValueError("--columns: the time column t cannot be negated")
                sign, value = -1.0, value[1:].strip()
            names[key] = value
            signs[key] = sign
        missing = [k for k in ("t", "ax", "ay", "az") if k not in names]
        if missing:
            raise ValueError(f"--columns needs {', '.join(missing)} (e.g. {EXAMPLE})")
        gyro = [k for k in ("gx", "gy", "gz") if k in names]
        if gyro and len(gyro) != 3:
            raise ValueError(
                "--columns: give all of gx, gy, gz, or none for an accelerometer-only file"
            )
        for v in names.values():
            if v.startswith("#") and not (v[1:].isdigit() and int(v[1:]) >= 1):
                raise ValueError(f"--columns: {v!r} is not a column position (#1 is the first)")
        return cls(names, signs)


# --- a suggestion when a file fits no format ---------------------------------------------------
_TIME = re.compile(
    r"^(t|time|times|timestamp|time_?stamp|ts|seconds?|sec|elapsed|seconds_elapsed|time\s*\(.*\)|t\s*\(.*\)|time_?(s|ms|us|ns))$",
    re.I,
)
_ACC_PREFIX = re.compile(r"^(acc|accel|accelerometer|acceleration|a)[\s_\-.]*([xyz])\b", re.I)
_GYR_PREFIX = re.compile(
    r"^(gyr|gyro|gyroscope|rot|rotation|rotation_?rate|rotationrate|angular_?velocity|omega|w|g)[\s_\-.]*([xyz])\b",
    re.I,
)


def suggest_mapping(names: list[str]) -> str | None:
    """A `--columns` value guessed from header names, or None when the names do not tell."""
    found: dict[str, str] = {}
    for name in names:
        clean = name.strip()
        if "t" not in found and _TIME.match(clean):
            found["t"] = clean
            continue
        m = _ACC_PREFIX.match(clean.replace(" ", "_")) or _ACC_PREFIX.match(clean)
        if m and not clean.lower().startswith(("gyr", "grav")):
            found.setdefault("a" + m.group(2).lower(), clean)
            continue
        m = _GYR_PREFIX.match(clean.replace(" ", "_")) or _GYR_PREFIX.match(clean)
        if m and not clean.lower().startswith("grav"):
            found.setdefault("g" + m.group(2).lower(), clean)
    if not all(k in found for k in ("t", "ax", "ay", "az")):
        return None
    keys = ["t", "ax", "ay", "az"] + (
        ["gx", "gy", "gz"] if all(k in found for k in ("gx", "gy", "gz")) else []
    )
    return ",".join(f"{k}={found[k]}" for k in keys)

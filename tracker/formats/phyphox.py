"""phyphox exports (phyphox.org): CSV files, or the zip of an experiment's export sets.

What phyphox writes (phyphox-android DataExport.java and ExperimentTimeReference.java, the
experiments in phyphox/phyphox-experiments):

* one CSV per export set (`Raw Data.csv`, or one per sensor in an experiment with several), in a
  zip with `meta/device.csv` and `meta/time.csv`; or one plain CSV;
* separators: comma, tab or semicolon; decimal mark '.' or ',' (with tab or semicolon); headers
  quoted; numbers like `9.806650000E0`; a column shorter than the longest in its set is padded
  with `NaN`;
* "Acceleration with g": `"Time (s)","Acceleration x (m/s^2)",...,"Absolute acceleration
  (m/s^2)"`; "Gyroscope": `"Time (s)","Gyroscope x (rad/s)",...`; both in the Android
  convention on iOS too (phyphox multiplies iOS's values by -9.81), so no sign flip is needed;
* `Time (s)` is the experiment time: it stops while the experiment is paused.
  `meta/time.csv` lists each START and PAUSE with the experiment time and the Unix time
  ("system time", s). tracker maps samples through it to the clock on the wall: the session's
  start comes from it, and a pause becomes a gap instead of being glued shut.

Accelerometer and gyroscope may be in separate files or in one (a set with both, sharing one time
column or each with its own); they are put on one timeline with `tracker.imu.align_streams`.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from tracker.errors import InputFileError
from tracker.formats.samples import tidy_samples
from tracker.formats.sources import Member, Source, text_stream
from tracker.formats.streams import Stream, align, clean_stream
from tracker.formats.table import CsvLayout, decode_head, read_columns, sniff_layout, split_cells
from tracker.formats.units import AccelUnit, GyroUnit, TimeUnit, UnitOverrides
from tracker.imu import ImuRecording

FORMAT = "phyphox export"
_TIME = re.compile(r"^time\s*\(s\)$", re.I)
_ACC = re.compile(r"^acceleration\s+([xyz])\s*\(m/s(?:\^2|²)\)$", re.I)
_LINEAR = re.compile(r"^linear\s+acceleration\s+([xyz])\b", re.I)
_GYR = re.compile(r"^gyroscope\s+([xyz])\s*\(rad/s\)$", re.I)


@dataclass(frozen=True)
class _Group:
    """One sensor's columns in one table: its time column and x, y, z."""

    member: Member
    layout: CsvLayout
    time: int
    xyz: tuple[int, int, int]


def _axes(names: list[str], pattern: re.Pattern[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for i, n in enumerate(names):
        m = pattern.match(n.strip())
        if m:
            found.setdefault(m.group(1).lower(), i)
    return found


def _groups(member: Member, layout: CsvLayout) -> dict[str, _Group]:
    """The accelerometer ("acc"), gyroscope ("gyr") and linear-acceleration ("linear") columns."""
    times = [i for i, n in enumerate(layout.names) if _TIME.match(n.strip())]
    out: dict[str, _Group] = {}
    if not times:
        return out
    for key, pattern in (("acc", _ACC), ("gyr", _GYR), ("linear", _LINEAR)):
        axes = _axes(layout.names, pattern)
        if set(axes) != {"x", "y", "z"}:
            continue
        first = min(axes.values())
        left = [i for i in times if i < first]
        time = left[-1] if left else times[0]
        out[key] = _Group(member, layout, time, (axes["x"], axes["y"], axes["z"]))
    return out


def _tables(member: Member) -> list[tuple[Member, CsvLayout]]:
    """The member's table(s): a minimal export of several sets writes them one after another,
    each with its quoted header line."""
    try:
        text, _whole = decode_head(member)
    except InputFileError:
        return []
    if not text.lstrip().startswith('"'):
        return []
    headers = []
    with text_stream(member) as fh:
        for i, line in enumerate(fh):
            if line.startswith('"'):
                headers.append(i)
    if len(headers) <= 1:
        return [(member, sniff_layout(member))]
    with text_stream(member) as fh:
        lines = fh.readlines()
    parts = []
    for k, s in enumerate(headers):
        e = headers[k + 1] if k + 1 < len(headers) else len(lines)
        body = "".join(lines[s:e]).encode()
        part = Member(
            f"{member.name}#{k + 1}",
            len(body),
            (lambda b=body: io.BytesIO(b)),  # type: ignore[misc]
            f"{member.where} (table {k + 1}, from line {s + 1})",
        )
        parts.append((part, sniff_layout(part)))
    return parts


def find_groups(source: Source) -> dict[str, list[_Group]]:
    """Every accelerometer, gyroscope and linear-acceleration column group in the source."""
    found: dict[str, list[_Group]] = {"acc": [], "gyr": [], "linear": []}
    for member in source.members:
        if not member.basename.lower().endswith((".csv", ".txt")) and source.kind != "file":
            continue
        if "/meta/" in f"/{member.name}":
            continue
        for part, layout in _tables(member):
            for key, group in _groups(part, layout).items():
                found[key].append(group)
    return found


def looks_like_phyphox(source: Source) -> bool:
    found = find_groups(source)
    return any(found.values())


# --- time reference ---------------------------------------------------------------------------
@dataclass(frozen=True)
class TimeReference:
    """START events of one export: (experiment time s, Unix time s) pairs."""

    starts: list[tuple[float, float]]

    def wall(self, t: np.ndarray) -> np.ndarray:
        """Unix time of experiment times `t` (pauses become gaps)."""
        exp = np.array([s[0] for s in self.starts])
        sys = np.array([s[1] for s in self.starts])
        k = np.clip(np.searchsorted(exp, t, side="right") - 1, 0, len(exp) - 1)
        return sys[k] + (t - exp[k])


def _root(member: Member) -> str:
    name = member.name.split("#", 1)[0]
    return name.rsplit("/", 1)[0] + "/" if "/" in name else ""


def read_time_reference(source: Source, member: Member) -> TimeReference | None:
    root = _root(member)
    candidates = [m for m in source.members if m.name.lower() == f"{root}meta/time.csv".lower()]
    if not candidates:
        return None
    text, _ = decode_head(candidates[0])
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return None
    delimiter = (
        ";" if lines[0].count(";") > lines[0].count(",") else ("\t" if "\t" in lines[0] else ",")
    )
    starts = []
    for line in lines[1:]:
        cells = split_cells(line, delimiter)
        if len(cells) < 3 or cells[0].upper() != "START":
            continue
        try:
            exp = float(cells[1].replace(",", "."))
            sys = float(cells[2].replace(",", "."))
        except ValueError:
            continue
        starts.append((exp, sys))
    return TimeReference(sorted(starts)) if starts else None


def _read_group(group: _Group, name: str) -> Stream:
    data = read_columns(
        group.member,
        group.layout,
        [[group.time], list(group.xyz)],
        ["Time (s)", "x", "y", "z"],
        expected=", ".join(group.layout.names),
    )
    t, xyz = data.arrays
    stream = clean_stream(name, t, xyz, data.lines, trailing_padding=True)
    stream.notes[:0] = [f"{name}: {n}" for n in data.notes]
    return stream


def read_phyphox(source: Source) -> ImuRecording:
    """A phyphox export as an `ImuRecording` (see the module docstring for the rules)."""
    where = str(source.path)
    found = find_groups(source)
    _require_acceleration(found, where)
    notes: list[str] = []
    for key, what in (("acc", "acceleration"), ("gyr", "gyroscope")):
        if len(found[key]) > 1:
            notes.append(
                f"{what} found in {len(found[key])} tables; used {found[key][0].member.name}"
            )
    acc_group = found["acc"][0]
    gyr_group = found["gyr"][0] if found["gyr"] else None
    acc = _read_group(acc_group, _label(acc_group, "accelerometer"))
    gyr_stream = _read_group(gyr_group, _label(gyr_group, "gyroscope")) if gyr_group else None
    on_wall_clock = _to_wall_clock(source, acc, acc_group, gyr_stream, gyr_group, where, notes)
    origin = float(acc.t_s[0])
    acc.t_s = acc.t_s - origin
    gyr = None
    if gyr_stream is not None:
        gyr_stream.t_s = gyr_stream.t_s - origin
        acc, gyr = align(acc, gyr_stream, where)
        notes += gyr_stream.notes
    else:
        notes.append("no gyroscope columns: an accelerometer-only recording")
    samples = tidy_samples(
        acc.t_s,
        acc.xyz,
        gyr,
        acc.lines,
        acc_group.member.where,
        units=UnitOverrides(accel=AccelUnit.M_S2, gyro=GyroUnit.RAD_S),
        time_unit=TimeUnit.S,
    )
    first = origin + samples.t0  # Unix time, or experiment time without meta/time.csv
    label = f"{FORMAT} ({_layout_label(acc_group, gyr_group)})"
    return ImuRecording(
        t_s=samples.t_s,
        acc_m_s2=np.ascontiguousarray(samples.acc_m_s2),
        gyr_rad_s=np.ascontiguousarray(samples.gyr_rad_s),
        sampling_rate_hz=samples.rate_hz,
        start_utc=datetime.fromtimestamp(first, tz=UTC) if on_wall_clock else None,
        source={
            "kind": "phyphox",
            "format": label,
            "path": where,
            "notes": [f"read as a {label}"] + acc.notes + notes + samples.notes,
            "sensor": {"name": _device(source, acc_group.member), "address": None},
            "t0_s": None if on_wall_clock else first,
        },
    )


def _require_acceleration(found: dict[str, list[_Group]], where: str) -> None:
    if found["acc"]:
        return
    if found["linear"]:
        raise InputFileError(
            f"{where} holds phyphox's Linear Acceleration, which has gravity removed; tracker "
            "needs gravity to know which way is up",
            path=where,
            hint='record with phyphox\'s "Acceleration with g" (with the gyroscope in the same experiment)',
        )
    raise InputFileError(
        f"{where} has a phyphox gyroscope but no acceleration",
        path=where,
        hint='record the accelerometer ("Acceleration with g") and the gyroscope in one experiment',
    )


def _to_wall_clock(
    source: Source,
    acc: Stream,
    acc_group: _Group,
    gyr: Stream | None,
    gyr_group: _Group | None,
    where: str,
    notes: list[str],
) -> bool:
    """Map both streams' experiment times to Unix time through meta/time.csv (in place).

    Returns False (times left as experiment time) when the export has no time reference; streams
    from two different exports without one cannot share a timeline and are an error."""
    ref = read_time_reference(source, acc_group.member)
    gyr_ref = ref
    if gyr_group is not None and _root(gyr_group.member) != _root(acc_group.member):
        gyr_ref = read_time_reference(source, gyr_group.member)
        if ref is None or gyr_ref is None:
            raise InputFileError(
                f"{where}: the accelerometer ({acc_group.member.name}) and the gyroscope "
                f"({gyr_group.member.name}) come from different phyphox exports without "
                "meta/time.csv, so they cannot be put on one timeline",
                path=where,
                hint="record both sensors in one phyphox experiment and export it as a zip",
            )
    if ref is None:
        notes.append("no meta/time.csv: the recording's start time is not known")
        return False
    acc.t_s = ref.wall(acc.t_s)
    if gyr is not None and gyr_ref is not None:
        gyr.t_s = gyr_ref.wall(gyr.t_s)
    if len(ref.starts) > 1:
        notes.append(
            f"the experiment was paused {len(ref.starts) - 1} time(s): the pauses are gaps"
        )
    return True


def _label(group: _Group, what: str) -> str:
    return f"{group.member.name} ({what})"


def _layout_label(acc: _Group, gyr: _Group | None) -> str:
    sep = {",": "comma", ";": "semicolon", "\t": "tab"}[acc.layout.delimiter]
    numbers = f"{sep}-separated, decimal {'comma' if acc.layout.decimal == ',' else 'point'}"
    if gyr is None:
        return f"accelerometer only, {numbers}"
    if gyr.member.name == acc.member.name:
        return f"accelerometer and gyroscope in one file, {numbers}"
    return f"separate files {acc.member.basename} and {gyr.member.basename}, {numbers}"


def _device(source: Source, member: Member) -> str | None:
    root = _root(member)
    candidates = [m for m in source.members if m.name.lower() == f"{root}meta/device.csv".lower()]
    if not candidates:
        return None
    text, _ = decode_head(candidates[0])
    lines = text.splitlines()
    delimiter = (
        ";"
        if lines and lines[0].count(";") > lines[0].count(",")
        else ("\t" if lines and "\t" in lines[0] else ",")
    )
    props = {}
    for row in csv.reader(lines[1:], delimiter=delimiter):
        if len(row) >= 2:
            props[row[0].strip().lower()] = row[1].strip()
    model = props.get("devicemodel")
    brand = props.get("devicebrand")
    return " ".join(p for p in (brand, model) if p) or None

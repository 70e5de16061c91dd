"""Sensor Logger exports (github.com/tszheichoi/awesome-sensor-logger), as a zip or a folder.

What the app writes, from its UNITS.md, COORDINATES.md and CROSSPLATFORM.md:

* one CSV per sensor, columns `time` (ns since 1970, UTC), `seconds_elapsed` (s since the start
  button), then `z`, `y`, `x`; each sensor on its own clock and rate; `Metadata.csv` with
  `version`, `device name`, `recording time`, `platform` (iOS or Android) and, in newer versions,
  `standardisation`;
* acceleration in m/s² (g = 9.80665): `TotalAcceleration.csv` has gravity in it (Android only);
  `Accelerometer.csv` has gravity removed and `Gravity.csv` holds it; rotation rate in
  `Gyroscope.csv`, rad/s, the same on both platforms;
* axes: x and y along the screen, z out of it, on both platforms; but iOS reports acceleration and
  gravity with the opposite sign in all three axes (a phone flat on a table: gravity -z on iOS,
  +z on Android), unless "Standardise Units & Frames" is on, which gives Android's convention.

tracker's IMU frame is Android's (specific force: +9.81 m/s² up at rest), so iOS acceleration is
negated unless the export says it was standardised. `TotalAcceleration.csv` is used when present;
otherwise `Accelerometer.csv + Gravity.csv` (gravity interpolated onto the accelerometer's times).
The gyroscope is put on the accelerometer's timeline with `tracker.imu.align_streams`; the session
starts at the first kept accelerometer sample's `time`.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from tracker.errors import CsvFormatError, InputFileError
from tracker.formats.samples import tidy_samples
from tracker.formats.sources import Member, Source, file_opener
from tracker.formats.streams import Stream, align, clean_stream
from tracker.formats.table import read_columns, sniff_layout
from tracker.formats.units import AccelUnit, GyroUnit, TimeUnit, UnitOverrides
from tracker.imu import ImuRecording
from tracker.protocol.phone_push import IOS_FLIP_NOTE, acceleration_sign

FORMAT = "Sensor Logger export"
SENSOR_FILES = ("totalacceleration.csv", "accelerometer.csv", "gravity.csv", "gyroscope.csv")
_TRUE = {"true", "1", "yes", "on", "enabled"}


def is_sensor_logger_file(member: Member) -> bool:
    """A CSV with Sensor Logger's `time,seconds_elapsed` columns."""
    try:
        layout = sniff_layout(member)
    except InputFileError:
        return False
    lower = [n.lower() for n in layout.names]
    return "time" in lower and "seconds_elapsed" in lower


def looks_like_sensor_logger(source: Source) -> bool:
    """A zip or folder holding Sensor Logger's motion files or its Metadata.csv."""
    for name in SENSOR_FILES:
        for member in source.find(name):
            if is_sensor_logger_file(member):
                return True
    return any(_metadata_rows(m) for m in source.find("metadata.csv"))


def export_beside(path: Path) -> Source:
    """The Sensor Logger files in the folder of one of them (a user gave `Gyroscope.csv`)."""
    folder = path.resolve().parent
    wanted = {*SENSOR_FILES, "metadata.csv"}
    members = [
        Member(f.name, f.stat().st_size, file_opener(f), str(f))
        for f in sorted(folder.iterdir())
        if f.is_file() and f.name.lower() in wanted
    ]
    return Source(folder, "folder", members)


@dataclass(frozen=True)
class Metadata:
    platform: str | None  # "ios", "android" or None
    standardised: bool
    device: str | None
    app_version: str | None


def read_metadata(source: Source) -> Metadata | None:
    members = source.find("metadata.csv")
    if not members:
        return None
    rows = _metadata_rows(members[0])
    if not rows:
        return None
    row = rows[0]
    platform = (row.get("platform") or "").strip().lower() or None
    if platform not in (None, "ios", "android"):
        platform = "ios" if "ios" in platform or "iphone" in platform else "android"
    return Metadata(
        platform=platform,
        standardised=(row.get("standardisation") or row.get("standardization") or "")
        .strip()
        .lower()
        in _TRUE,
        device=(row.get("device name") or "").strip() or None,
        app_version=(row.get("appversion") or row.get("app version") or "").strip() or None,
    )


def _metadata_rows(member: Member) -> list[dict[str, str]]:
    try:
        text = member.read_bytes()[: 1 << 16].decode("utf-8-sig", errors="replace")
    except InputFileError:
        return []
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "platform" not in [f.strip().lower() for f in reader.fieldnames]:
        return []
    return [{(k or "").strip().lower(): (v or "") for k, v in r.items()} for r in reader]


def _read_stream(member: Member, t0_ns: float | None = None) -> tuple[Stream, float]:
    """A Sensor Logger sensor file as a `Stream` (times in s from `t0_ns`, or from its own start)."""
    layout = sniff_layout(member)
    index = {n.lower(): i for i, n in enumerate(layout.names)}
    missing = [c for c in ("time", "x", "y", "z") if c not in index]
    if missing:
        raise CsvFormatError(
            f"{member.where} has no column {', '.join(repr(m) for m in missing)}",
            path=member.where,
            hint="Sensor Logger writes time,seconds_elapsed,z,y,x: export the recording again as a zip",
        )
    data = read_columns(
        member,
        layout,
        [[index["time"]], [index["x"], index["y"], index["z"]]],
        ["time", "x", "y", "z"],
        expected="time,seconds_elapsed,z,y,x",
    )
    t_ns, xyz = data.arrays
    start = float(np.nanmin(t_ns[:50])) if t0_ns is None else t0_ns
    t_s = (t_ns - start) * 1e-9
    stream = clean_stream(member.basename, t_s, xyz, data.lines)
    stream.notes[:0] = [f"{member.basename}: {n}" for n in data.notes]
    return stream, start


def read_sensor_logger(source: Source) -> ImuRecording:
    """A Sensor Logger export as an `ImuRecording` (see the module docstring for the rules)."""
    where = str(source.path)
    meta = read_metadata(source)
    total = _one(source, "totalacceleration.csv", where)
    linear = _one(source, "accelerometer.csv", where)
    gravity = _one(source, "gravity.csv", where)
    gyro = _one(source, "gyroscope.csv", where)
    notes: list[str] = []
    platform = meta.platform if meta else None
    if total is not None:
        acc, t0_ns = _read_stream(total)
        used = [total.basename]
    elif linear is not None and gravity is not None:
        if platform is None:
            raise InputFileError(
                f"{where} has no Metadata.csv saying whether it comes from iOS or Android, whose "
                "acceleration signs differ",
                path=where,
                hint="give the whole export (zip or folder) with its Metadata.csv",
            )
        lin, t0_ns = _read_stream(linear)
        grav, _ = _read_stream(gravity, t0_ns)
        lin, grav_values = align(lin, grav, where, what="gravity")
        acc = Stream(lin.name, lin.t_s, lin.xyz + grav_values, lin.lines, lin.notes + grav.notes)
        used = [linear.basename, gravity.basename]
        sign = acceleration_sign(platform, bool(meta and meta.standardised))
        if sign < 0:
            acc.xyz *= sign  # iOS: the inertial-force convention, opposite to Android's
            notes.append(IOS_FLIP_NOTE)
    else:
        have = (
            "Accelerometer.csv (gravity removed) but no Gravity.csv"
            if linear is not None
            else "no acceleration file"
        )
        raise InputFileError(
            f"{where} has {have}: tracker needs acceleration with gravity (TotalAcceleration.csv, "
            "or Accelerometer.csv with Gravity.csv)",
            path=where,
            hint="in Sensor Logger switch on Accelerometer and Gravity (Android: Total Acceleration) "
            "and record again, or give the whole export",
        )
    if gyro is not None:
        gyr_stream, _ = _read_stream(gyro, t0_ns)
        acc, gyr = align(acc, gyr_stream, where)
        notes += gyr_stream.notes
        used.append(gyro.basename)
    else:
        gyr = None
        notes.append("no Gyroscope.csv: an accelerometer-only recording")
    samples = tidy_samples(
        acc.t_s,
        acc.xyz,
        gyr,
        acc.lines,
        f"{where} ({acc.name})",
        units=UnitOverrides(accel=AccelUnit.M_S2, gyro=GyroUnit.RAD_S),
        time_unit=TimeUnit.S,
    )
    start_utc = datetime.fromtimestamp(t0_ns * 1e-9 + samples.t0, tz=UTC)
    platform_label = {"ios": "iOS", "android": "Android"}.get(platform or "", "platform not stated")
    label = f"{FORMAT} ({platform_label}, {source.kind}: {' + '.join(used)})"
    notes = [f"read as a {label}"] + acc.notes + notes + samples.notes
    return ImuRecording(
        t_s=samples.t_s,
        acc_m_s2=np.ascontiguousarray(samples.acc_m_s2),
        gyr_rad_s=np.ascontiguousarray(samples.gyr_rad_s),
        sampling_rate_hz=samples.rate_hz,
        start_utc=start_utc,
        source={
            "kind": "sensor-logger",
            "format": label,
            "path": where,
            "platform": platform,
            "standardised": bool(meta and meta.standardised),
            "files": used,
            "sensor": {"name": meta.device if meta else None, "address": None},
            "notes": notes,
        },
    )


def _one(source: Source, basename: str, where: str) -> Member | None:
    found = source.find(basename)
    if len(found) > 1:  # e.g. a copy of the export inside it: keep the Sensor Logger files
        found = [m for m in found if is_sensor_logger_file(m)]
    if len(found) > 1:
        raise InputFileError(
            f"{where} holds {len(found)} files named {found[0].basename} "
            f"({', '.join(m.name for m in found[:3])})",
            path=where,
            hint="give the folder or zip of one recording",
        )
    return found[0] if found else None

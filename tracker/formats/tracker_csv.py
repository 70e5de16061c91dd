"""tracker's own CSV (`t,ax,ay,az,gx,gy,gz` in s, m/s², rad/s) and any CSV with a `--columns` map.

Columns may come in any order, with any others beside them (ignored). The map names the columns of
another layout (see `tracker.formats.columns`); `--time-unit`, `--accel-unit` and `--gyro-unit`
state units instead of detecting them (see `tracker.formats.units`).
"""

from __future__ import annotations

import numpy as np

from tracker.errors import CsvFormatError
from tracker.formats.columns import ColumnMapping, suggest_mapping
from tracker.formats.samples import tidy_samples
from tracker.formats.sources import Member
from tracker.formats.table import CsvLayout, read_columns, sniff_layout
from tracker.formats.units import UnitOverrides
from tracker.imu import CSV_COLUMNS, ImuRecording

EXPECTED = "t,ax,ay,az,gx,gy,gz in s, m/s², rad/s"
FORMAT = "tracker CSV"
FORMATS_READ = (
    "a tracker capture, a CSV with the header t,ax,ay,az,gx,gy,gz (s, m/s², rad/s), "
    "a Sensor Logger export (zip or folder) or a phyphox export (CSV or zip)"
)


def has_tracker_columns(layout: CsvLayout) -> bool:
    lower = {n.lower() for n in layout.names}
    return all(c in lower for c in CSV_COLUMNS[:4])


def read_csv(
    member: Member,
    *,
    layout: CsvLayout | None = None,
    columns: ColumnMapping | None = None,
    units: UnitOverrides | None = None,
) -> ImuRecording:
    """A tracker CSV, or any CSV read through `columns`, as an `ImuRecording`."""
    where = member.where
    if layout is None:
        layout = sniff_layout(member)
    if columns is not None and columns.positional and layout.numeric_header:
        layout = sniff_layout(member, header=False)
    keys, indices, signs = _resolve(layout, columns, where)
    groups = [[indices[0]], indices[1:4]] + ([indices[4:7]] if len(indices) == 7 else [])
    data = read_columns(member, layout, groups, list(keys), expected=EXPECTED)
    t = data.arrays[0]
    acc = data.arrays[1]
    gyr = data.arrays[2] if len(data.arrays) > 2 else None
    for k, key in enumerate(keys[1:4]):
        if signs.get(key, 1.0) < 0:
            acc[:, k] *= -1.0
    if gyr is not None:
        for k, key in enumerate(keys[4:7]):
            if signs.get(key, 1.0) < 0:
                gyr[:, k] *= -1.0
    samples = tidy_samples(t, acc, gyr, data.lines, where, units=units, expected=EXPECTED)
    del t, acc, gyr, data.arrays
    kind = "csv" if columns is None else "csv-columns"
    label = FORMAT if columns is None else f"CSV with --columns {columns.text()}"
    notes = list(data.notes) + samples.notes
    if columns is not None:
        notes.insert(0, f"read as a {label}")
    return ImuRecording(
        t_s=samples.t_s,
        acc_m_s2=np.ascontiguousarray(samples.acc_m_s2),
        gyr_rad_s=np.ascontiguousarray(samples.gyr_rad_s),
        sampling_rate_hz=samples.rate_hz,
        start_utc=samples.start_utc,
        source={
            "kind": kind,
            "format": label,
            "path": where,
            "notes": notes,
            "t0_s": samples.t0,
        },
    )


def _resolve(
    layout: CsvLayout, columns: ColumnMapping | None, where: str
) -> tuple[list[str], list[int], dict[str, float]]:
    """(keys, column indices, signs) of t, ax..az (and gx..gz when present)."""
    if columns is None:
        missing = [c for c in CSV_COLUMNS if layout.index_of(c) is None]
        keys = list(CSV_COLUMNS)
        if missing == ["gx", "gy", "gz"]:  # an accelerometer-only recording
            keys, missing = keys[:4], []
        if missing:
            raise no_columns_error(layout, missing, where)
        return keys, [layout.index_of(c) for c in keys], {}  # type: ignore[misc]
    keys = ["t", "ax", "ay", "az"] + (["gx", "gy", "gz"] if columns.has_gyro else [])
    indices = []
    for key in keys:
        i = layout.index_of(columns.names[key])
        if i is None:
            raise CsvFormatError(
                f"{where} has no column {columns.names[key]!r} (--columns {key}={columns.names[key]})",
                path=where,
                hint=f"its columns are: {','.join(layout.names)}",
            )
        indices.append(i)
    return keys, indices, columns.signs


def no_columns_error(layout: CsvLayout, missing: list[str], where: str) -> CsvFormatError:
    """The message for a CSV tracker cannot read: what is missing, and a `--columns` to try."""
    found = ",".join(layout.names)
    if layout.numeric_header:
        return CsvFormatError(
            f"{where} has no header row",
            path=where,
            hint=f"the first row must name the columns {','.join(CSV_COLUMNS)} ({EXPECTED}), or name "
            "them by position: --columns t=#1,ax=#2,ay=#3,az=#4,gx=#5,gy=#6,gz=#7",
        )
    if len(missing) < len(CSV_COLUMNS) - 1 and "t" not in missing:
        return CsvFormatError(
            f"{where} has no column {', '.join(repr(m) for m in missing)}",
            path=where,
            hint=f"the first row must name the columns {','.join(CSV_COLUMNS)} ({EXPECTED}); found: {found}",
        )
    guess = suggest_mapping(layout.names)
    try_this = (
        f"try --columns {guess} (with --time-unit, --accel-unit, --gyro-unit if they are not s, m/s², rad/s)"
        if guess
        else "map its columns with --columns t=NAME,ax=NAME,ay=NAME,az=NAME,gx=NAME,gy=NAME,gz=NAME "
        "and state units with --time-unit, --accel-unit, --gyro-unit"
    )
    return CsvFormatError(
        f"{where} has no column {', '.join(repr(m) for m in missing)} and is no format tracker reads "
        f"(found: {found})",
        path=where,
        hint=f"tracker reads {FORMATS_READ}; for another layout {try_this}",
    )

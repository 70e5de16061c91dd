"""Which format a file is, and reading it: the one entry point, `load_recording`.

| what the user gives                      | read as                                  |
| ---------------------------------------- | ---------------------------------------- |
| a file starting with the capture magic   | tracker capture (`tracker.capture`)      |
| a zip, or a folder                       | Sensor Logger export, or phyphox export  |
| a Sensor Logger CSV (`time,seconds_elapsed,...`) | its whole export: the folder it is in |
| a CSV with phyphox's quoted headers      | phyphox export                           |
| a CSV with t,ax,ay,az(,gx,gy,gz)         | tracker CSV                              |
| any CSV with `--columns`                 | that mapping, with `--time-unit` etc.    |

The format is decided from the bytes, never the file name (a CSV named `.capture` is a CSV). The
format found is `recording.source["format"]`, and its first note says so. When nothing fits, the
error names the formats tracker reads and how to convert, with a `--columns` guessed from the
header when the names allow it.
"""

from __future__ import annotations

from pathlib import Path

from tracker.errors import CsvFormatError, InputFileError, UsageError
from tracker.formats.captures import is_capture, read_capture_file
from tracker.formats.columns import ColumnMapping
from tracker.formats.sources import Source, is_zip, open_source
from tracker.formats.table import sniff_layout
from tracker.formats.tracker_csv import (
    FORMATS_READ,
    has_tracker_columns,
    no_columns_error,
    read_csv,
)
from tracker.formats.units import UnitOverrides
from tracker.imu import CSV_COLUMNS, ImuRecording

_SNIFF = 4096


def load_recording(
    path: str | Path,
    *,
    columns: ColumnMapping | str | None = None,
    units: UnitOverrides | None = None,
) -> ImuRecording:
    """Read any recording tracker understands into an `ImuRecording` in SI units.

    `columns` (a `ColumnMapping` or `--columns` text) and `units` (stated units) apply to CSV
    files; exports that document their own units refuse them with a `UsageError`.
    """
    path = Path(path)
    mapping = ColumnMapping.parse(columns) if isinstance(columns, str) else columns
    units = units or UnitOverrides()
    head = _head(path)
    if head is None:  # a folder
        with open_source(path) as source:
            return _read_export(source, mapping, units)
    if not head.strip():
        raise CsvFormatError(
            f"{path} is empty",
            path=str(path),
            hint=f"give a capture file or a CSV with the header {','.join(CSV_COLUMNS)} (t,ax,ay,az,gx,gy,gz in s, m/s², rad/s)",
        )
    if is_capture(head) or (path.suffix.lower() == ".capture" and not _looks_like_text(head)):
        _refuse_options(mapping, units, path, "a tracker capture, which records its own units")
        return read_capture_file(path)
    if is_zip(head):
        with open_source(path, head) as source:
            return _read_export(source, mapping, units)
    if not _looks_like_text(head):
        raise InputFileError(
            f"{path} is neither a tracker capture nor a CSV text file, nor a zip",
            path=str(path),
            hint=f"tracker reads {FORMATS_READ}",
        )
    from tracker.formats import phyphox, sensor_logger  # a capture (the common case) needs neither

    with open_source(path, head) as source:
        member = source.members[0]
        if mapping is None and sensor_logger.is_sensor_logger_file(member):
            _refuse_options(
                mapping, units, path, "a Sensor Logger file, whose units are documented"
            )
            with sensor_logger.export_beside(path) as export:
                return sensor_logger.read_sensor_logger(export)
        layout = sniff_layout(member)
        if (
            mapping is None
            and not has_tracker_columns(layout)
            and phyphox.looks_like_phyphox(source)
        ):
            _refuse_options(mapping, units, path, "a phyphox export, whose units are in its header")
            return phyphox.read_phyphox(source)
        return read_csv(member, layout=layout, columns=mapping, units=units)


def _head(path: Path) -> bytes | None:
    try:
        if path.is_dir():
            return None
        with path.open("rb") as fh:
            return fh.read(_SNIFF)
    except FileNotFoundError:
        raise InputFileError(
            f"{path}: no such file", path=str(path), hint="check the path"
        ) from None
    except IsADirectoryError:
        return None
    except OSError as exc:
        raise InputFileError(f"cannot read {path}: {exc.strerror}", path=str(path)) from exc


def _looks_like_text(head: bytes) -> bool:
    """UTF-8 text, or text in another encoding (mostly printable ASCII: the CSV reader then
    asks for UTF-8), as opposed to binary data."""
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # a multi-byte character cut at the sniff boundary is still text
        if exc.start >= len(head) - 3:
            return True
        printable = sum(32 <= b < 127 or b in (9, 10, 13) for b in head)
        return printable >= 0.8 * len(head)
    return True


def _refuse_options(
    mapping: ColumnMapping | None, units: UnitOverrides, path: Path, what: str
) -> None:
    given = []
    if mapping is not None:
        given.append("--columns")
    if units.any():
        given.append(units.flags())
    if given:
        raise UsageError(
            f"{' '.join(given)} apply to plain CSV files; {path} is {what}",
            hint="leave the option out",
        )


def _read_export(
    source: Source, mapping: ColumnMapping | None, units: UnitOverrides
) -> ImuRecording:
    """A zip or folder: a Sensor Logger or phyphox export (or a single CSV in it)."""
    from tracker.formats import phyphox, sensor_logger

    if sensor_logger.looks_like_sensor_logger(source):
        _refuse_options(
            mapping, units, source.path, "a Sensor Logger export, whose units are documented"
        )
        return sensor_logger.read_sensor_logger(source)
    if phyphox.looks_like_phyphox(source):
        _refuse_options(
            mapping, units, source.path, "a phyphox export, whose units are in its header"
        )
        return phyphox.read_phyphox(source)
    names = {m.name.lower() for m in source.members}
    if "xl/workbook.xml" in names:
        raise InputFileError(
            f"{source.path} is an Excel workbook",
            path=str(source.path),
            hint="export from phyphox (or save the sheet) as CSV, with any separator; tracker reads that",
        )
    recordings = [m for m in source.members if m.basename.lower().endswith(".capture")]
    csvs = [m for m in source.members if m.basename.lower().endswith(".csv")]
    if source.kind == "zip" and recordings:
        raise InputFileError(
            f"{source.path} is a zip of tracker captures ({', '.join(m.name for m in recordings[:3])}"
            f"{', ...' if len(recordings) > 3 else ''})",
            path=str(source.path),
            hint="unzip it and give the .capture files",
        )
    if source.kind == "folder" and (recordings or len(csvs) > 1):
        found = recordings or csvs
        raise InputFileError(
            f"{source.path} is a folder of {len(found)} files ({', '.join(m.name for m in found[:3])}"
            f"{', ...' if len(found) > 3 else ''}), not one phone export",
            path=str(source.path),
            hint=f"give the files themselves, e.g. tracker import {source.path}/*",
        )
    if len(csvs) == 1:
        layout = sniff_layout(csvs[0])
        if mapping is not None or has_tracker_columns(layout):
            return read_csv(csvs[0], layout=layout, columns=mapping, units=units)
        raise no_columns_error(
            layout, [c for c in CSV_COLUMNS if layout.index_of(c) is None], csvs[0].where
        )
    kind = "folder" if source.kind == "folder" else "zip"
    listed = ", ".join(m.name for m in source.members[:6]) or "nothing"
    raise InputFileError(
        f"{source.path} is a {kind} that holds no recording tracker reads (it holds {listed}"
        f"{', ...' if len(source.members) > 6 else ''})",
        path=str(source.path),
        hint=f"tracker reads {FORMATS_READ}; for another CSV layout give the CSV file with "
        "--columns t=NAME,ax=NAME,... and --time-unit, --accel-unit, --gyro-unit",
    )

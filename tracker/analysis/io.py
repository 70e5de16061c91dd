"""Input at the edge: capture files and CSV to an `ImuRecording`, validated once.

`load_recording(path)` tells a capture from a CSV by the file's first bytes (a CSV named
`.capture` is still a CSV): a file that starts with the capture magic, or that is all a beginning of
the capture signature (a capture cut within its first 20 bytes), is a capture; so is a binary file
named `.capture`. Then it checks everything a person can get wrong, each with a one-line message
that says what to do:

| problem                               | handling                                                     |
| ------------------------------------- | ------------------------------------------------------------ |
| empty file / no data rows             | `CsvFormatError` / `RecordingTooShortError`                   |
| a capture cut before its samples      | `RecordingTooShortError`: "... is a capture cut after N bytes: nothing to analyse" |
| damaged or cut capture                | analysed; each damaged span (with the seconds lost) and the cut are noted |
| ';' between columns, ',' as decimals  | `CsvFormatError`: use ',' between columns and '.' as the decimal mark |
| missing columns                       | `CsvFormatError` naming the missing column, the expected set and units |
| a cell that is not a number           | `CsvFormatError` with the line number and column             |
| time going backwards                  | `CsvFormatError` with the line number                        |
| time in milliseconds (or µs)          | `CsvFormatError`: divide `t` by 1000                         |
| acceleration in g (|a| at rest ~ 1)   | `CsvFormatError`: multiply ax, ay, az by 9.80665             |
| rotation in deg/s                     | `CsvFormatError`: multiply gx, gy, gz by pi/180 (found by comparing the gyro-integrated rotation with the turn of gravity seen by the accelerometer) |
| duplicated timestamps                 | the repeated rows are dropped (the first one is kept) and noted; too many -> error |
| missing values (empty cells, NaN)     | runs up to `MAX_NAN_RUN_S` are interpolated and noted; more -> error |
| non-uniform sampling, gaps            | kept as they are (samples are never invented here); the analysis resamples short gaps and splits at long ones (see `tracker.analysis.signals`) and says so in its notes |
| too short                             | `RecordingTooShortError` with the minimum (`MIN_DURATION_S`)  |

Notes about handling that happened go to `recording.source["notes"]` (a list of strings); the
analysis copies them into `SessionAnalysis.notes`.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np

from tracker.errors import CsvFormatError, InputFileError, RecordingTooShortError
from tracker.imu import CSV_COLUMNS, STANDARD_GRAVITY_M_S2, ImuRecording

MIN_DURATION_S = 10.0
"""Shortest recording worth analysing: a hold needs 3 s, and the filters need a few seconds to settle."""
MIN_SAMPLES = 50
MIN_SAMPLING_RATE_HZ = 10.0
"""Below this the strokes' turns and the transitions are no longer resolved."""
MAX_SAMPLING_RATE_HZ = 5000.0
MAX_NAN_RUN_S = 0.5
"""Longest run of missing values that is interpolated; longer runs are an error."""
MAX_NAN_FRACTION = 0.02
MAX_DUPLICATE_FRACTION = 0.05
EXPECTED = "t,ax,ay,az,gx,gy,gz in s, m/s², rad/s"

_TEXT_SNIFF_BYTES = 4096


def load_recording(path: str | Path) -> ImuRecording:
    """Read a capture file or a CSV file into an `ImuRecording` in SI units.

    The format is detected from the file's first bytes: a tracker capture starts with its magic
    bytes (`tracker.capture`); anything that reads as text is parsed as CSV.
    """
    path = Path(path)
    try:
        with path.open("rb") as fh:
            head = fh.read(_TEXT_SNIFF_BYTES)
    except FileNotFoundError:
        raise InputFileError(
            f"{path}: no such file", path=str(path), hint="check the path"
        ) from None
    except IsADirectoryError:
        raise InputFileError(
            f"{path} is a directory", path=str(path), hint="give a capture or CSV file"
        ) from None
    except OSError as exc:
        raise InputFileError(f"cannot read {path}: {exc.strerror}", path=str(path)) from exc
    if not head.strip():
        raise CsvFormatError(
            f"{path} is empty",
            path=str(path),
            hint=f"give a capture file or a CSV with the header {','.join(CSV_COLUMNS)} ({EXPECTED})",
        )
    if _is_capture(head) or (path.suffix.lower() == ".capture" and not _looks_like_text(head)):
        return _load_capture(path)
    if not _looks_like_text(head):
        raise InputFileError(
            f"{path} is neither a tracker capture nor a CSV text file",
            path=str(path),
            hint=f"give a capture from `tracker record` or a CSV with the header {','.join(CSV_COLUMNS)}",
        )
    return load_csv(path)


def _is_capture(head: bytes) -> bool:
    try:  # the capture layer also knows a capture whose signature is damaged
        from tracker.capture.format import looks_like_capture
    except ImportError:
        pass
    else:
        return looks_like_capture(head)
    magic, signature = _capture_magic()
    # a file that is nothing but the start of the signature is a capture cut within it
    return head.startswith(magic) or (len(head) < len(signature) and signature.startswith(head))


def _capture_magic() -> tuple[bytes, bytes]:
    """(magic, whole signature line) of a capture file."""
    try:
        from tracker.capture.format import MAGIC, SIGNATURE
    except ImportError:  # the capture layer not installed: its documented signature
        return b"tracker-capture ", b"tracker-capture 1.0\n"
    return bytes(MAGIC), bytes(SIGNATURE)


def _load_capture(path: Path) -> ImuRecording:
    from tracker.capture import load_capture

    recording = load_capture(path)
    t, acc, gyr = recording.t_s, recording.acc_m_s2, recording.gyr_rad_s
    cut = recording.source.get("cut_at_byte")
    if not len(t) and cut is not None:
        size = recording.source.get("file_size", cut)
        raise RecordingTooShortError(
            f"{path} is a capture cut after {size} bytes: nothing to analyse",
            path=str(path),
            hint="the recording stopped (or the copy broke off) before any sample was stored; "
            "copy the file again from where it was recorded",
        )
    if len(t) < MIN_SAMPLES or (t[-1] - t[0]) < MIN_DURATION_S:
        cut_note = (
            f" (the capture is cut after {recording.source.get('file_size', cut)} bytes)"
            if cut is not None
            else ""
        )
        what = (
            f"{path} holds only {len(t)} samples{cut_note}; at least {MIN_SAMPLES} are needed"
            if len(t) < MIN_SAMPLES
            else f"{path} holds {t[-1] - t[0]:.1f} s of samples{cut_note}; at least {MIN_DURATION_S:.0f} s are needed"
        )
        raise RecordingTooShortError(
            what,
            path=str(path),
            hint="copy the whole file again, or record a longer session"
            if cut is not None
            else "record a longer session",
        )
    notes = list(recording.source.get("notes", []))
    no_gyro = not recording.has_gyro  # accelerometer-only (Polar H10): NaN gyro is no gap
    if not (np.all(np.isfinite(acc)) and (no_gyro or np.all(np.isfinite(gyr)))):
        acc, filled, nan_notes = _fill_nans(
            t, acc.copy(), np.zeros_like(gyr) if no_gyro else gyr.copy(), str(path), lambda i: f"sample {i}"
        )
        gyr = gyr if no_gyro else filled
        notes += nan_notes
    if notes != list(recording.source.get("notes", [])):
        from dataclasses import replace

        recording = replace(
            recording, acc_m_s2=acc, gyr_rad_s=gyr, source={**recording.source, "notes": notes}
        )
    return recording


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # a multi-byte character cut at the sniff boundary is still text
        return exc.start >= len(head) - 3
    return True


# --- CSV --------------------------------------------------------------------------------------
def load_csv(path: str | Path) -> ImuRecording:
    """Parse a CSV with the header `t,ax,ay,az,gx,gy,gz` (any order, extra columns ignored)."""
    path = Path(path)
    where = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvFormatError(
            f"{where} is not UTF-8 text", path=where, hint="save the CSV as UTF-8"
        ) from exc
    lines = text.splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        raise CsvFormatError(
            f"{where} is empty",
            path=where,
            hint=f"give a CSV with the header {','.join(CSV_COLUMNS)}",
        )
    header_line = lines[first]
    delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
    names = [h.strip().strip('"').strip().lower() for h in header_line.split(delimiter)]
    index = {}
    for i, name in enumerate(names):
        index.setdefault(name, i)
    missing = [c for c in CSV_COLUMNS if c not in index]
    if missing:
        numeric_header = all(_is_number(n) for n in names if n)
        what = (
            "has no header row"
            if numeric_header
            else f"has no column {', '.join(repr(m) for m in missing)}"
        )
        raise CsvFormatError(
            f"{where} {what}",
            path=where,
            hint=f"the first row must name the columns {','.join(CSV_COLUMNS)} ({EXPECTED}); found: {','.join(names)}",
        )
    data_lines = [
        (i + 1, line) for i, line in enumerate(lines[first + 1 :], start=first + 1) if line.strip()
    ]
    if not data_lines:
        raise RecordingTooShortError(
            f"{where} has a header but no samples",
            path=where,
            hint=f"record a session of at least {MIN_DURATION_S:.0f} s",
        )
    columns = [index[c] for c in CSV_COLUMNS]
    n_fields = max(columns) + 1
    short = [k for k, (_, line) in enumerate(data_lines) if line.count(delimiter) + 1 < n_fields]
    notes_pre: list[str] = []
    if short == [len(data_lines) - 1]:
        # a logger killed mid-write leaves a cut last line: drop it, say so
        data_lines = data_lines[:-1]
        notes_pre.append("dropped the incomplete last line")
    elif short:
        raise CsvFormatError(
            f"{where} line {data_lines[short[0]][0]} has too few cells",
            path=where,
            hint=f"every row needs the columns {','.join(CSV_COLUMNS)}; fix or delete that row",
        )
    if not data_lines:
        raise RecordingTooShortError(
            f"{where} has a header but no samples", path=where, hint="record a longer session"
        )
    if delimiter == ";":
        _check_decimal_commas(data_lines, columns, where)
    values = _parse_numbers(data_lines, columns, delimiter, where)
    line_numbers = np.fromiter((n for n, _ in data_lines), dtype=np.int64, count=len(data_lines))
    t, acc, gyr, notes = validate_samples(values, line_numbers, where)
    notes = notes_pre + notes
    rate = _nominal_rate_hz(t)
    return ImuRecording(
        t_s=t - t[0],
        acc_m_s2=acc,
        gyr_rad_s=gyr,
        sampling_rate_hz=rate,
        source={"kind": "csv", "path": str(path), "notes": notes, "t0_s": float(t[0])},
    )


_DECIMAL_COMMA = re.compile(r"^\s*\"?[-+]?\d*,\d+(?:[eE][-+]?\d+)?\"?\s*$")


def _check_decimal_commas(
    data_lines: list[tuple[int, str]], columns: list[int], where: str
) -> None:
    """A spreadsheet in a comma-decimal locale writes `0,5;9,81`: say so once, not per cell."""
    for number, line in data_lines[:20]:
        cells = line.split(";")
        for c in columns:
            if c < len(cells) and _DECIMAL_COMMA.match(cells[c]):
                raise CsvFormatError(
                    f"{where} uses decimal commas (line {number}: {cells[c].strip()!r})",
                    path=where,
                    hint="use ',' between columns and '.' as the decimal mark (found ';' and ','): "
                    "export the CSV with an English number format",
                )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _parse_numbers(
    data_lines: list[tuple[int, str]], columns: list[int], delimiter: str, where: str
) -> np.ndarray:
    """(N, 7) float array of the wanted columns; empty cells become NaN; text cells are an error."""
    import pandas as pd

    n_fields = max(columns) + 1
    body = "\n".join(line for _, line in data_lines)
    from io import StringIO

    try:
        frame = pd.read_csv(
            StringIO(body),
            sep=delimiter,
            header=None,
            usecols=columns,
            dtype=str,
            keep_default_na=False,
            skipinitialspace=True,
            engine="c",
        )
    except (ValueError, pd.errors.ParserError) as exc:
        short = [n for n, line in data_lines if len(line.split(delimiter)) < n_fields]
        if short:
            raise CsvFormatError(
                f"{where} line {short[0]} has too few cells",
                path=where,
                hint=f"every row needs {','.join(CSV_COLUMNS)}",
            ) from exc
        raise CsvFormatError(f"{where} is not a readable CSV: {exc}", path=where) from exc
    frame = frame[columns]
    out = np.empty((len(frame), len(columns)), dtype=float)
    for j, col in enumerate(columns):
        raw = frame[col].str.strip().str.strip('"')
        empty = raw.isin(["", "nan", "NaN", "NAN", "null", "NULL", "None", "NA"])
        numbers = pd.to_numeric(raw.where(~empty, "nan"), errors="coerce").to_numpy(dtype=float)
        bad = np.isnan(numbers) & ~empty.to_numpy()
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise CsvFormatError(
                f"{where} line {data_lines[row][0]}, column {CSV_COLUMNS[j]}: {raw.iloc[row]!r} is not a number",
                path=where,
                hint=f"every cell must be a number ({EXPECTED}); fix or delete that row",
            )
        if np.isinf(numbers).any():
            row = int(np.flatnonzero(np.isinf(numbers))[0])
            raise CsvFormatError(
                f"{where} line {data_lines[row][0]}, column {CSV_COLUMNS[j]}: infinite value",
                path=where,
                hint="fix or delete that row",
            )
        out[:, j] = numbers
    return out


def validate_samples(
    values: np.ndarray, line_numbers: np.ndarray, where: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Check and tidy (N, 7) rows t, ax, ay, az, gx, gy, gz; return t, acc, gyr and notes.

    `line_numbers` are the rows' line numbers in the file (for messages).
    """
    notes: list[str] = []
    t = values[:, 0].copy()
    acc = values[:, 1:4].copy()
    gyr = values[:, 4:7].copy()

    missing_t = np.isnan(t)
    if missing_t.any():
        if missing_t.mean() > MAX_NAN_FRACTION:
            raise CsvFormatError(
                f"{where}: {int(missing_t.sum())} rows have no time (first on line {line_numbers[missing_t][0]})",
                path=where,
                hint="every row needs a time t in seconds",
            )
        keep = ~missing_t
        notes.append(f"dropped {int(missing_t.sum())} rows without a time value")
        t, acc, gyr, line_numbers = t[keep], acc[keep], gyr[keep], line_numbers[keep]

    if len(t) < 2:
        raise RecordingTooShortError(
            f"{where} has {len(t)} sample(s); at least {MIN_DURATION_S:.0f} s are needed",
            path=where,
            hint="record a longer session",
        )
    dt = np.diff(t)
    back = np.flatnonzero(dt < 0)
    if back.size:
        i = int(back[0]) + 1
        raise CsvFormatError(
            f"{where} line {line_numbers[i]}: time goes backwards ({t[i - 1]:g} -> {t[i]:g} s)",
            path=where,
            hint="sort the rows by t, or split the file where the clock restarted",
        )
    dup = dt == 0
    if dup.any():
        if dup.mean() > MAX_DUPLICATE_FRACTION:
            raise CsvFormatError(
                f"{where}: {int(dup.sum())} of {len(t)} rows repeat the previous time (first on line "
                f"{line_numbers[int(np.flatnonzero(dup)[0]) + 1]})",
                path=where,
                hint="write t with enough decimals (microseconds) so every sample has its own time",
            )
        keep = np.concatenate([[True], ~dup])
        notes.append(
            f"dropped {int(dup.sum())} rows that repeated the previous timestamp (kept the first)"
        )
        t, acc, gyr, line_numbers = t[keep], acc[keep], gyr[keep], line_numbers[keep]
        dt = np.diff(t)

    median_dt = float(np.median(dt)) if len(dt) else 0.0
    if median_dt >= 0.5 and _rate_plausible(1000.0 / median_dt):
        raise CsvFormatError(
            f"{where}: time t looks like milliseconds (median step {median_dt:g}, which would be "
            f"{1.0 / median_dt:.3g} Hz in seconds)",
            path=where,
            hint="convert t to seconds (divide by 1000)",
        )
    if median_dt >= 500 and _rate_plausible(1e6 / median_dt):
        raise CsvFormatError(
            f"{where}: time t looks like microseconds (median step {median_dt:g})",
            path=where,
            hint="convert t to seconds (divide by 1000000)",
        )
    duration = float(t[-1] - t[0])
    if duration < MIN_DURATION_S or len(t) < MIN_SAMPLES:
        raise RecordingTooShortError(
            f"{where} holds {duration:.1f} s ({len(t)} samples); at least {MIN_DURATION_S:.0f} s "
            f"and {MIN_SAMPLES} samples are needed",
            path=where,
            hint="record a longer session",
        )
    rate = 1.0 / median_dt
    if rate < MIN_SAMPLING_RATE_HZ:
        raise CsvFormatError(
            f"{where}: sampling rate {rate:.3g} Hz is too low to analyse (minimum {MIN_SAMPLING_RATE_HZ:g} Hz)",
            path=where,
            hint="record at 25 Hz or more",
        )
    if rate > MAX_SAMPLING_RATE_HZ:
        raise CsvFormatError(
            f"{where}: sampling rate {rate:.3g} Hz is implausible (median step {median_dt:g} s)",
            path=where,
            hint="check that t is in seconds",
        )
    jitter = float(np.percentile(dt, 90) / median_dt) if len(dt) > 10 else 1.0
    if jitter > 1.5:
        notes.append(
            f"sampling is not uniform (90th-percentile step {jitter:.1f}x the median); resampled for analysis"
        )

    acc, gyr, nan_notes = _fill_nans(t, acc, gyr, where, lambda i: f"line {line_numbers[i]}")
    notes += nan_notes

    _check_acc_units(acc, where)
    _check_gyr_units(t, acc, gyr, where, notes)
    return t, acc, gyr, notes


def _rate_plausible(rate_hz: float) -> bool:
    return MIN_SAMPLING_RATE_HZ <= rate_hz <= MAX_SAMPLING_RATE_HZ


def _nominal_rate_hz(t: np.ndarray) -> float:
    return float(1.0 / np.median(np.diff(t)))


def _fill_nans(t, acc, gyr, where: str, locate) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Interpolate short runs of missing values; raise on long or many."""
    data = np.column_stack([acc, gyr])
    bad = ~np.isfinite(data)
    if not bad.any():
        return acc, gyr, []
    row_bad = bad.any(axis=1)
    if row_bad.mean() > MAX_NAN_FRACTION:
        first = int(np.flatnonzero(row_bad)[0])
        raise CsvFormatError(
            f"{where}: {int(row_bad.sum())} of {len(t)} rows have missing values (first at {locate(first)})",
            path=where,
            hint="fill or delete the rows with empty cells (at most "
            f"{MAX_NAN_FRACTION:.0%} may be missing)",
        )
    edges = np.diff(np.concatenate([[0], row_bad.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    for s, e in zip(starts, ends, strict=False):
        t0 = t[s - 1] if s > 0 else t[s]
        t1 = t[e] if e < len(t) else t[e - 1]
        if t1 - t0 > MAX_NAN_RUN_S or s == 0 or e == len(t):
            raise CsvFormatError(
                f"{where}: missing values from {locate(s)} to {locate(e - 1)} ({t1 - t0:.2f} s)",
                path=where,
                hint=f"runs of empty cells longer than {MAX_NAN_RUN_S:g} s (or at the start or end) cannot "
                "be filled in; delete those rows or re-export the data",
            )
    for j in range(data.shape[1]):
        col_bad = bad[:, j]
        if col_bad.any():
            data[col_bad, j] = np.interp(t[col_bad], t[~col_bad], data[~col_bad, j])
    note = f"interpolated {int(row_bad.sum())} samples with missing values in {len(starts)} short run(s)"
    return data[:, :3].copy(), data[:, 3:].copy(), [note]


def _check_acc_units(acc: np.ndarray, where: str) -> None:
    magnitude = float(np.median(np.linalg.norm(acc, axis=1)))
    if 0.5 <= magnitude <= 2.0:
        raise CsvFormatError(
            f"{where}: acceleration looks like it is in g (median |a| = {magnitude:.2f}; at rest it is "
            f"{STANDARD_GRAVITY_M_S2:.2f} in m/s²)",
            path=where,
            hint=f"multiply ax, ay, az by {STANDARD_GRAVITY_M_S2}",
        )
    if 500 <= magnitude <= 2000:
        raise CsvFormatError(
            f"{where}: acceleration looks like it is in milli-g (median |a| = {magnitude:.0f})",
            path=where,
            hint=f"multiply ax, ay, az by {STANDARD_GRAVITY_M_S2 / 1000}",
        )
    if not 6.0 <= magnitude <= 14.0:
        raise CsvFormatError(
            f"{where}: median |a| = {magnitude:.3g} is not gravity ({STANDARD_GRAVITY_M_S2:.2f} m/s²)",
            path=where,
            hint="give the accelerometer's specific force in m/s² (columns ax, ay, az)",
        )


def gyro_scale_estimate(t: np.ndarray, acc: np.ndarray, gyr: np.ndarray) -> tuple[float, int]:
    """Scale k with (turn of gravity seen by the accelerometer) ≈ k * (gyro-integrated turn).

    In the sensor frame the gravity direction g turns as dg/dt = -omega x g. Over short windows
    where gravity turns clearly (sitting down, lying back), a least-squares fit of the measured
    change against -(integral of omega) x g gives k ≈ 1 for rad/s and ≈ pi/180 for deg/s.
    Returns (k, windows used); k is NaN when the recording has too little rotation to tell.
    """
    dt = np.diff(t, prepend=t[0])
    rate = 1.0 / float(np.median(np.diff(t)))
    win = max(2, int(round(0.5 * rate)))
    n = (len(t) // win) * win
    if n < 4 * win:
        return math.nan, 0
    smooth_k = max(1, int(round(0.2 * rate)))
    kernel = np.ones(smooth_k) / smooth_k
    g = np.column_stack([np.convolve(acc[:, j], kernel, mode="same") for j in range(3)])
    g /= np.linalg.norm(g, axis=1, keepdims=True) + 1e-12
    theta = np.cumsum(gyr * dt[:, None], axis=0)
    idx = np.arange(0, n - win, win)
    d_theta = theta[idx + win] - theta[idx]
    g_mid = g[idx + win // 2]
    predicted = -np.cross(d_theta, g_mid)
    measured = g[idx + win] - g[idx]
    turn = np.linalg.norm(measured, axis=1)
    use = turn > math.radians(5.0)
    if use.sum() < 3:
        return math.nan, int(use.sum())
    p, m = predicted[use], measured[use]
    k = float(np.sum(p * m) / max(np.sum(p * p), 1e-12))
    return k, int(use.sum())


def _check_gyr_units(
    t: np.ndarray, acc: np.ndarray, gyr: np.ndarray, where: str, notes: list[str]
) -> None:
    k, used = gyro_scale_estimate(t, acc, gyr)
    peak = float(np.percentile(np.linalg.norm(gyr, axis=1), 99.9))
    deg_hint = "multiply gx, gy, gz by pi/180 (0.0174533) to get rad/s"
    if math.isfinite(k) and 0.005 < k < 0.06:
        raise CsvFormatError(
            f"{where}: rotation rate looks like it is in deg/s (the gyro turns {1 / k:.0f}x more than "
            "gravity does in the accelerometer; rad/s gives 1x)",
            path=where,
            hint=deg_hint,
        )
    if peak > 40.0:
        # 40 rad/s is 6.4 turns per second: no torso does that; 40 deg/s is a brisk sit-down.
        raise CsvFormatError(
            f"{where}: rotation rates up to {peak:.0f} are implausible for rad/s from a torso; they look like deg/s",
            path=where,
            hint=deg_hint,
        )
    if not math.isfinite(k):
        notes.append(
            "gyro units could not be cross-checked against the accelerometer (too little rotation)"
        )
    elif not 0.5 < k < 2.0:
        notes.append(
            f"gyro and accelerometer disagree on how far the sensor turned (ratio {k:.2f}); results may be off"
        )

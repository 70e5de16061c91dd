"""Numeric columns out of a CSV, in memory proportional to the numbers kept.

The reader finds the header and the delimiter and decimal mark from the first 64 KiB, counts the
lines, allocates one float64 array per wanted column, and fills them chunk by chunk with pandas'
C parser (typed columns, `usecols`). Nothing else of the file is held: peak memory is about the
final arrays (8 bytes per kept number) plus one chunk. Problems get one line with the line number
and column: a cell that is not a number (found by re-reading only the chunk it is in), a line with
too few cells (the last line of a logger killed mid-write is dropped and noted instead).

Accepted: ',' ';' or tab between columns; '.' or ',' as the decimal mark (',' only with ';' or tab,
as phyphox and spreadsheets in comma-decimal locales write them); quoted headers; a UTF-8 byte-order
mark; blank lines; empty cells and NaN (left as NaN for the caller to judge).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field

import numpy as np

from tracker.errors import CsvFormatError, RecordingTooShortError
from tracker.formats.sources import SNIFF_BYTES, Member, text_stream

NA_STRINGS = ["", "nan", "NaN", "NAN", "null", "NULL", "None", "NA", "-nan"]
CHUNK_ROWS = 1 << 18
_DECIMAL_COMMA = re.compile(r"^\s*\"?[-+]?\d*,\d+(?:[eE][-+]?\d+)?\"?\s*$")
_DECIMAL_POINT = re.compile(r"^\s*\"?[-+]?\d*\.\d+(?:[eE][-+]?\d+)?\"?\s*$")


@dataclass(frozen=True)
class CsvLayout:
    """Where a CSV's numbers are and how they are written."""

    delimiter: str
    decimal: str
    header_line: int | None
    """0-based index of the header line; None when the file has no header row."""
    names: list[str]
    """Header cells (stripped of quotes and spaces), or "#1", "#2", ... without a header."""
    n_fields: int
    first_data_line: int
    """0-based index of the first line after the header."""
    sample_lines: list[str] = field(default_factory=list, repr=False)
    """The first complete data lines (for format detection)."""

    def index_of(self, name: str) -> int | None:
        """Column index of a header name (case-insensitive) or of "#N" (1-based)."""
        if name.startswith("#") and name[1:].isdigit():
            i = int(name[1:]) - 1
            return i if 0 <= i < self.n_fields else None
        wanted = name.strip().lower()
        for i, n in enumerate(self.names):
            if n.lower() == wanted:
                return i
        return None

    @property
    def numeric_header(self) -> bool:
        return bool(self.names) and all(_is_number(n) for n in self.names if n)


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", "."))
    except ValueError:
        return False
    return True


def decode_head(member: Member) -> tuple[str, bool]:
    """(text of the first 64 KiB, whether that is the whole member); not UTF-8 is an error."""
    raw = member.head(SNIFF_BYTES + 1)
    whole = len(raw) <= SNIFF_BYTES
    raw = raw[:SNIFF_BYTES]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if whole or exc.start < len(raw) - 3:
            raise CsvFormatError(
                f"{member.where} is not UTF-8 text", path=member.where, hint="save the CSV as UTF-8"
            ) from exc
        text = raw[: exc.start].decode("utf-8-sig")  # a character cut at the sniff boundary
    return text, whole


def split_cells(line: str, delimiter: str) -> list[str]:
    """The cells of one line, quotes removed, spaces stripped."""
    row = next(csv.reader([line], delimiter=delimiter, skipinitialspace=True), [])
    return [c.strip().strip('"').strip() for c in row]


def guess_delimiter(line: str) -> str:
    counts = {d: _count_outside_quotes(line, d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _count_outside_quotes(line: str, char: str) -> int:
    count, quoted = 0, False
    for c in line:
        if c == '"':
            quoted = not quoted
        elif c == char and not quoted:
            count += 1
    return count


def sniff_layout(member: Member, *, header: bool = True) -> CsvLayout:
    """Header, delimiter and decimal mark of a CSV member (from its first 64 KiB)."""
    text, whole = decode_head(member)
    lines = text.splitlines()
    if not whole and lines:
        lines = lines[:-1]  # possibly cut at the sniff boundary
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        raise CsvFormatError(
            f"{member.where} is empty",
            path=member.where,
            hint="give a capture file or a CSV with the header t,ax,ay,az,gx,gy,gz (s, m/s², rad/s)",
        )
    delimiter = guess_delimiter(lines[first])
    if header:
        names = split_cells(lines[first], delimiter)
        data = [line for line in lines[first + 1 :] if line.strip()][:50]
        first_data = first + 1
        header_line: int | None = first
    else:
        data = [line for line in lines[first:] if line.strip()][:50]
        names = []
        first_data = first
        header_line = None
    decimal = "."
    if delimiter != ",":
        cells = [c for line in data[:20] for c in split_cells(line, delimiter)]
        if any(_DECIMAL_COMMA.match(c) for c in cells) and not any(
            _DECIMAL_POINT.match(c) for c in cells
        ):
            decimal = ","
    widths = [len(split_cells(line, delimiter)) for line in data]
    n_fields = max([len(names), *widths]) if (names or widths) else 1
    if not header:
        names = [f"#{i + 1}" for i in range(n_fields)]
    return CsvLayout(delimiter, decimal, header_line, names, n_fields, first_data, data)


@dataclass
class Columns:
    """Numbers read from a CSV: one array per requested group of columns."""

    arrays: list[np.ndarray]
    """(N,) for a group of one column, (N, k) for k columns."""
    lines: np.ndarray
    """(N,) 1-based line number of each row in the file (for messages)."""
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.lines)

    def take(self, keep: np.ndarray) -> None:
        """Keep only the rows where `keep` is True."""
        self.arrays = [a[keep] for a in self.arrays]
        self.lines = self.lines[keep]


def count_lines(member: Member) -> int:
    """Newline-separated lines in the member (a last line without a newline counts)."""
    n, last = 0, b"\n"
    with member.open() as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            n += block.count(b"\n")
            last = block[-1:]
    return n + (0 if last == b"\n" else 1)


def read_columns(
    member: Member,
    layout: CsvLayout,
    groups: list[list[int]],
    labels: list[str],
    *,
    expected: str = "",
) -> Columns:
    """Read the columns `groups` (indices into the layout) as float64.

    `labels` names each column of every group, in order, for messages ("gx"). `expected` is the
    column set to name when a line has too few cells.
    """
    import pandas as pd

    wanted = sorted({i for g in groups for i in g})
    n_max = max(0, count_lines(member) - layout.first_data_line)
    arrays = [np.empty((n_max,) if len(g) == 1 else (n_max, len(g))) for g in groups]
    where = member.where
    offset = 0
    with member.open() as fh:
        reader = pd.read_csv(
            fh,
            sep=layout.delimiter,
            decimal=layout.decimal,
            header=None,
            names=list(range(max(layout.n_fields, max(wanted) + 1))),
            usecols=wanted,
            dtype={i: np.float64 for i in wanted},
            skiprows=layout.first_data_line,
            skip_blank_lines=False,
            skipinitialspace=True,
            na_values=NA_STRINGS,
            keep_default_na=False,
            engine="c",
            encoding="utf-8-sig",
            chunksize=CHUNK_ROWS,
        )
        while True:
            try:
                chunk = next(reader)
            except StopIteration:
                break
            except ValueError as exc:
                raise _bad_cell(member, layout, groups, labels, offset, expected) or CsvFormatError(
                    f"{where} is not a readable CSV: {exc}", path=where
                ) from exc
            rows = len(chunk)
            if offset + rows > n_max:  # a file that grew while we read it
                arrays = [
                    np.concatenate([a, np.empty_like(a[: offset + rows - n_max])]) for a in arrays
                ]
                n_max = offset + rows
            for a, g in zip(arrays, groups, strict=True):
                if len(g) == 1:
                    a[offset : offset + rows] = chunk[g[0]].to_numpy(dtype=np.float64)
                else:
                    for k, i in enumerate(g):
                        a[offset : offset + rows, k] = chunk[i].to_numpy(dtype=np.float64)
            offset += rows
    cols = Columns(
        [a[:offset] for a in arrays],
        np.arange(layout.first_data_line + 1, layout.first_data_line + 1 + offset, dtype=np.int64),
    )
    _check_infinite(cols, labels, where)
    _settle_incomplete_rows(member, layout, cols, wanted, expected)
    if not len(cols):
        raise RecordingTooShortError(
            f"{where} has a header but no samples",
            path=where,
            hint="record a session of at least 10 s",
        )
    return cols


def _flat(cols: Columns) -> list[np.ndarray]:
    out = []
    for a in cols.arrays:
        out.extend([a] if a.ndim == 1 else [a[:, k] for k in range(a.shape[1])])
    return out


def _check_infinite(cols: Columns, labels: list[str], where: str) -> None:
    for label, column in zip(labels, _flat(cols), strict=True):
        bad = np.isinf(column)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise CsvFormatError(
                f"{where} line {cols.lines[row]}, column {label}: infinite value",
                path=where,
                hint="fix or delete that row",
            )


def _settle_incomplete_rows(
    member: Member, layout: CsvLayout, cols: Columns, wanted: list[int], expected: str
) -> None:
    """Blank lines are dropped; a line with too few cells is dropped (and noted) when it is the
    last one, as a logger killed mid-write leaves it, and is an error anywhere else."""
    missing = np.zeros(len(cols), dtype=bool)
    for column in _flat(cols):
        missing |= np.isnan(column)
    if not missing.any():
        return
    suspects = np.flatnonzero(missing)
    raw = _raw_lines(member, set((cols.lines[suspects] - 1).tolist()))
    need = max(wanted) + 1
    blank = np.zeros(len(cols), dtype=bool)
    short = []
    for row in suspects:
        text = raw.get(int(cols.lines[row]) - 1, "")
        if not text.strip():
            blank[row] = True
        elif len(split_cells(text, layout.delimiter)) < need:
            short.append(int(row))
    last_data = int(np.flatnonzero(~blank)[-1]) if (~blank).any() else -1
    if short and short[-1] == last_data:
        blank[last_data] = True
        short.pop()
        cols.notes.append("dropped the incomplete last line")
    if short:
        raise CsvFormatError(
            f"{member.where} line {cols.lines[short[0]]} has too few cells",
            path=member.where,
            hint=f"every row needs the columns {expected or ', '.join(layout.names)}; fix or delete that row",
        )
    if blank.any():
        cols.take(~blank)


def _raw_lines(member: Member, indices: set[int]) -> dict[int, str]:
    """The text of the lines with these 0-based indices (one pass, stops after the last)."""
    out: dict[int, str] = {}
    if not indices:
        return out
    last = max(indices)
    with text_stream(member) as fh:
        for i, line in enumerate(fh):
            if i in indices:
                out[i] = line.rstrip("\r\n")
            if i >= last:
                break
    return out


def _bad_cell(
    member: Member,
    layout: CsvLayout,
    groups: list[list[int]],
    labels: list[str],
    offset: int,
    expected: str,
) -> CsvFormatError | None:
    """The first cell that is not a number, in the chunk that failed (re-read as text)."""
    import pandas as pd

    columns = [i for g in groups for i in g]
    with member.open() as fh:
        chunk = pd.read_csv(
            fh,
            sep=layout.delimiter,
            header=None,
            names=list(range(max(layout.n_fields, max(columns) + 1))),
            usecols=sorted(set(columns)),
            dtype=str,
            skiprows=layout.first_data_line + offset,
            nrows=CHUNK_ROWS,
            skip_blank_lines=False,
            skipinitialspace=True,
            keep_default_na=False,
            engine="c",
            encoding="utf-8-sig",
        )
    for label, i in zip(labels, columns, strict=True):
        raw = chunk[i].fillna("").astype(str).str.strip().str.strip('"')
        text = raw if layout.decimal == "." else raw.str.replace(",", ".", regex=False)
        empty = raw.isin(NA_STRINGS)
        numbers = pd.to_numeric(text.where(~empty, "nan"), errors="coerce").to_numpy(dtype=float)
        bad = np.isnan(numbers) & ~empty.to_numpy()
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            line = layout.first_data_line + offset + row + 1
            return CsvFormatError(
                f"{member.where} line {line}, column {label}: {raw.iloc[row]!r} is not a number",
                path=member.where,
                hint=f"every cell must be a number ({expected or 'one number per cell'}); fix or delete that row",
            )
    return None

"""Reading capture files, whole or damaged (docs/capture-format.md).

`read_capture` returns every intact record: a file cut at any byte gives back every complete record
before the cut and says where the cut is; damaged bytes in the middle fail their record's CRC and
are skipped up to the next record that checks out (`tracker.capture.resync`: linear time whatever
the bytes), and reported. Every JSON record is checked against `tracker.capture.schema` before its
values are used; one that fails is set aside with a note naming the field. A damaged or unusable
header is replaced by its first usable copy (HEADER_COPY, the END record's, `stream_started`), and
a damaged signature by the header's own version when an intact header follows it.
Only a file that is not a capture at all (or of a newer major format) raises `CaptureFormatError`.

`tracker.capture.decode` turns the contents into samples (`load_capture`).
"""

from __future__ import annotations

import bisect
import os
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from tracker.capture import format as fmt
from tracker.capture import schema
from tracker.capture.resync import intact_starts, next_record
from tracker.errors import CaptureFormatError

_HINT_NOT_CAPTURE = "give a file made by `tracker record` (captures start with 'tracker-capture')"


@dataclass(frozen=True)
class Notifications:
    """Raw notifications of one source, in arrival order, without copying their bytes.

    Notification i is `buffer[offsets[i] : offsets[i] + lengths[i]]`, received at host time
    `host_time_ns[i]` (the header's clock).
    """

    host_time_ns: np.ndarray
    offsets: np.ndarray
    lengths: np.ndarray
    buffer: np.ndarray

    def __len__(self) -> int:
        return int(self.host_time_ns.shape[0])

    def payload(self, i: int) -> bytes:
        o = int(self.offsets[i])
        return self.buffer[o : o + int(self.lengths[i])].tobytes()

    def payloads(self) -> list[bytes]:
        data = self.buffer.tobytes() if len(self) > 64 else None
        if data is None:
            return [self.payload(i) for i in range(len(self))]
        return [
            data[o : o + n]
            for o, n in zip(self.offsets.tolist(), self.lengths.tolist(), strict=True)
        ]

    def __iter__(self):
        for i in range(len(self)):
            yield int(self.host_time_ns[i]), self.payload(i)


def _empty_notifications(buffer: np.ndarray) -> Notifications:
    z = np.zeros(0, np.int64)
    return Notifications(z, z, z, buffer)


@dataclass(frozen=True)
class CaptureEvent:
    host_time_ns: int
    kind: str
    data: dict[str, Any]
    imu_index: int
    """How many IMU notifications came before it."""

    def to_json(self) -> dict[str, Any]:
        return {
            "host_time_ns": self.host_time_ns,
            "kind": self.kind,
            "imu_index": self.imu_index,
            **self.data,
        }


@dataclass(frozen=True)
class HeaderUpdate:
    host_time_ns: int
    fields: dict[str, Any]
    imu_index: int


@dataclass(frozen=True)
class SettingsMark:
    """A place where the file says which settings scale the IMU notifications from there on."""

    imu_index: int
    kind: str
    """"header", "update" (a change, maybe naming only what changed), "stream" (a stream's start:
    the sensor's own report) or "copy" (restates the settings in force: HEADER_COPY, END)."""
    settings: dict[str, Any]
    epoch: int | None = None
    """For a copy: how many settings updates the writer had written before it."""
    byte: int = 0


class DamagedSpan(NamedTuple):
    """Bytes [start, end) skipped because they failed the checks (a tuple: a hostile file can
    hold hundreds of thousands)."""

    start: int
    end: int
    imu_index: int
    """IMU notifications read before the damage (where in the stream the lost ones were)."""
    warning: int
    """Index of the note about it in `CaptureContents.warnings`."""
    at_end: bool = False
    """The damage runs to the end of the file (the capture ends there)."""


@dataclass
class CaptureContents:
    """Everything intact in a capture file, and what was not."""

    path: Path
    format_version: str
    header: dict[str, Any]
    """The header as it stands at the end of the file (updates merged)."""
    initial_header: dict[str, Any]
    header_updates: list[HeaderUpdate]
    notifications: dict[str, Notifications]
    """By source name: "imu", "battery", "control", "status"."""
    events: list[CaptureEvent]
    file_size: int
    records: int
    complete: bool
    """True when the file ends with the end record of a clean close."""
    cut_at_byte: int | None
    """Where the file stops being whole (start of an incomplete record, or the end of a file
    without its end record); None for a complete file."""
    corrupt_spans: list[tuple[int, int]] = field(default_factory=list)
    """[start, end) byte ranges skipped because they failed the checks."""
    warnings: list[str] = field(default_factory=list)
    """Human-readable notes on cuts, corruption and unknown records."""
    damage: list[DamagedSpan] = field(default_factory=list)
    """`corrupt_spans` with where they sit in the IMU stream (for the seconds they cost)."""
    cut_warning: int | None = None
    """Index of the note about the cut in `warnings` (None for a complete file)."""
    settings_marks: list[SettingsMark] = field(default_factory=list)
    """Every usable statement of the settings, in file order (see `tracker.capture.decode`)."""
    header_problem: str | None = None
    """Why the header record is missing or unusable (None when it is fine), naming the field."""
    header_from: str | None = None
    """Where `header` came from when the header record was unusable ("the copy at byte N")."""
    blank_after: int | None = None
    """When every byte from here to the end is zero (a file allocated but never written)."""

    @property
    def imu(self) -> Notifications:
        return self.notifications.get("imu") or _empty_notifications(np.zeros(0, np.uint8))

    @property
    def battery(self) -> Notifications:
        return self.notifications.get("battery") or _empty_notifications(np.zeros(0, np.uint8))

    def battery_levels(self) -> tuple[np.ndarray, np.ndarray]:
        """(host_time_ns, level %) of every well-formed battery notification."""
        from tracker.protocol.control import decode_battery_level

        times, levels = [], []
        for t, payload in self.battery:
            value = decode_battery_level(payload)
            if isinstance(value, int):
                times.append(t)
                levels.append(value)
        return np.array(times, np.int64), np.array(levels, np.int64)

    def utc_ns(self, host_time_ns: int | np.ndarray) -> int | np.ndarray:
        """UTC nanoseconds since the epoch for a host time, from the header's clock anchor."""
        clock = self.header.get("clock") or {}
        try:
            return host_time_ns - int(clock["anchor_host_ns"]) + int(clock["anchor_utc_ns"])
        except (KeyError, TypeError, ValueError):
            if clock.get("host_clock") == "utc":
                return host_time_ns
            raise CaptureFormatError(
                f"{self.path}: the header has no usable clock anchor",
                path=str(self.path),
                hint="start time unknown",
            ) from None



MAX_NOTES = 20
"""Damaged spans and unusable records noted one by one; beyond this they are summed up in one."""
MANY_SPANS = 1024
"""Damaged spans after which the rest of the file is indexed at once (see `_next_intact`)."""
INDEX_MAX_BYTES = 64 * 1024 * 1024
"""Largest rest of a file indexed at once (its candidate arrays must fit in memory)."""
MAX_EVENTS = 10_000
"""Events kept (a real recording has a handful); more are counted, not decoded."""


def _not_a_capture(path: Path) -> CaptureFormatError:
    return CaptureFormatError(f"{path} is not a tracker capture", path=str(path), hint=_HINT_NOT_CAPTURE)


def _header_version_at(data: bytes, pos: int) -> str | None:
    """The `format_version` of an intact, readable header record at `pos`, if there is one."""
    size = len(data)
    if pos + fmt.RECORD_OVERHEAD > size or data[pos : pos + 2] != fmt.SYNC:
        return None
    _, rtype, length, _ = fmt.RECORD_HEAD.unpack_from(data, pos)
    end = pos + fmt.RECORD_OVERHEAD + length
    if rtype != fmt.RecordType.HEADER or end > size or length > fmt.MAX_JSON_PAYLOAD:
        return None
    if zlib.crc32(memoryview(data)[pos + 2 : end]) != fmt.CRC_RESIDUE:
        return None
    try:
        version = schema.parse_json(data[pos + fmt.RECORD_HEAD.size : end - 4]).get("format_version")
    except schema.RecordError:
        return None
    return version if isinstance(version, str) and len(version) < 16 else None


def _read_signature(data: bytes, path: Path) -> tuple[str, int, str | None] | None:
    """(version, bytes, note about damage) of the signature line; None when the file ends inside
    it. A damaged signature (a flipped byte, a lost newline) is accepted when an intact header
    record follows where the signature should end: the header says the version too."""
    n = len(fmt.SIGNATURE)
    head = data[: fmt.MAX_SIGNATURE]
    nl = head.find(b"\n")
    if nl < 0 and (fmt.SIGNATURE.startswith(head) or (head.startswith(fmt.MAGIC) and len(data) < n)):
        return None  # a capture cut inside its first line
    line = head[:nl] if nl >= 0 else b""
    version = line[len(fmt.MAGIC) :].decode("ascii", errors="replace") if line.startswith(fmt.MAGIC) else None
    major = None
    if version is not None:
        try:
            major = int(version.split(".")[0])
        except ValueError:
            major = None
    if major == fmt.FORMAT_MAJOR:
        return version or fmt.FORMAT_VERSION, nl + 1, None
    # Not a readable 1.x signature: a damaged one, if an intact header record of a 1.x capture
    # starts where the signature ends.
    inner = _header_version_at(data, n)
    if inner is not None and inner.split(".")[0] == str(fmt.FORMAT_MAJOR):
        return inner, n, f"the capture's first line (bytes 0..{n}) is damaged; its header says format {inner}"
    if version is not None and major is None:
        raise CaptureFormatError(
            f"{path}: unreadable capture format version {version!r}", path=str(path), hint=_HINT_NOT_CAPTURE
        )
    if major is not None:
        raise CaptureFormatError(
            f"{path} is a capture of format {version}, this tracker reads {fmt.FORMAT_MAJOR}.x",
            path=str(path),
            hint="update tracker to read it" if major > fmt.FORMAT_MAJOR else "convert it with the tracker version that wrote it",
        )
    raise _not_a_capture(path)


def _record_ok(data: bytes, pos: int, size: int) -> int:
    """End of a valid record at `pos`, or -1 if none is there, or -2 if one starts there but runs
    past the end of the file."""
    if size - pos < len(fmt.SYNC):
        return -2 if fmt.SYNC.startswith(data[pos:size]) else -1
    if data[pos : pos + 2] != fmt.SYNC:
        return -1
    if size - pos < fmt.RECORD_HEAD.size:
        return -2
    _, rtype, length, _ = fmt.RECORD_HEAD.unpack_from(data, pos)
    if length > fmt.MAX_PAYLOAD:
        return -1
    end = pos + fmt.RECORD_OVERHEAD + length
    if end > size:
        return -2
    (crc,) = fmt.CRC.unpack_from(data, end - 4)
    if zlib.crc32(data[pos + 2 : end - 4]) != crc:
        return -1
    return end


_SMALL_BLOCK = 64
"""Blocks with at most this many notifications have their lengths added up without numpy."""


def _check_block(data: bytes, body_start: int, length: int) -> tuple[int, int]:
    """(source, n) of a NOTIFICATIONS payload whose counts and lengths add up; `ValueError` if
    they do not. The times and lengths themselves are gathered for all blocks at once later."""
    source, n = fmt.BLOCK_HEAD.unpack_from(data, body_start)
    l_off = body_start + fmt.BLOCK_HEAD.size + 8 * n
    d_off = l_off + 2 * n
    if d_off > body_start + length:
        raise ValueError("block shorter than its count")
    if n <= _SMALL_BLOCK:
        total = sum(struct.unpack_from(f"<{n}H", data, l_off))
    else:
        total = int(np.frombuffer(data, "<u2", n, l_off).sum(dtype=np.int64))
    if d_off + total != body_start + length:
        raise ValueError("block lengths do not add up")
    return source, n


def _gather(data: bytes, buffer: np.ndarray, blocks: list[tuple[int, int]]) -> Notifications:
    """The notifications of blocks [(payload start, n), ...], in order, in a few numpy calls."""
    head = fmt.BLOCK_HEAD.size
    times = np.frombuffer(b"".join([data[b + head : b + head + 8 * n] for b, n in blocks]), "<i8").astype(np.int64)
    lens = np.frombuffer(b"".join([data[b + head + 8 * n : b + head + 10 * n] for b, n in blocks]), "<u2").astype(np.int64)
    counts = np.array([n for _, n in blocks], np.int64)
    data_start = np.array([b + head + 10 * n for b, n in blocks], np.int64)
    before = np.cumsum(lens) - lens  # bytes of notifications before each, over all blocks
    first = np.cumsum(counts) - counts  # index of each block's first notification
    block_before = before[np.minimum(first, len(lens) - 1)] if len(lens) else np.zeros(len(counts), np.int64)
    offsets = np.repeat(data_start - block_before, counts) + before
    return Notifications(times, offsets, lens, buffer)


class _Parser:
    """One pass over the records of a file (see `read_capture`)."""

    def __init__(self, data: bytes, path: Path) -> None:
        self.data = data
        self.path = path
        self.size = len(data)
        self.buffer = np.frombuffer(data, np.uint8)
        self.warnings: list[str] = []
        self.header: dict[str, Any] | None = None
        self.header_problem: str | None = None
        self.copies: list[tuple[int, int, dict[str, Any]]] = []  # (imu index, byte, copy)
        self.updates: list[HeaderUpdate] = []
        self.update_bytes: list[int] = []
        self.events: list[CaptureEvent] = []
        self.events_skipped = 0
        self.marks: list[SettingsMark] = []
        self.blocks: dict[int, list[tuple[int, int]]] = {}  # source -> [(payload start, n)]
        self.imu_count = 0
        self.records = 0
        self.complete = False
        self.cut: int | None = None
        self.cut_warning: int | None = None
        self.spans: list[tuple[int, int]] = []
        self.damage: list[DamagedSpan] = []
        self.unknown: dict[int, int] = {}
        self.noted = 0
        self.unnoted_bytes = 0
        self.blank_after: int | None = None
        self.index: np.ndarray | None = None  # starts of the intact records of the rest, once indexed

    # --- notes -------------------------------------------------------------------------------
    def _note(self, text: str, nbytes: int = 0) -> int:
        """Index of the note, or -1 once `MAX_NOTES` were written (the rest are summed up)."""
        if self.noted >= MAX_NOTES:
            self.noted += 1
            self.unnoted_bytes += nbytes
            return -1
        self.noted += 1
        self.warnings.append(text)
        return len(self.warnings) - 1

    def damaged(self, start: int, end: int, note: str, at_end: bool = False) -> None:
        self.spans.append((start, end))
        self.damage.append(DamagedSpan(start, end, self.imu_count, self._note(note, end - start), at_end))

    # --- the walk ----------------------------------------------------------------------------
    def run(self, pos: int) -> None:
        data, size = self.data, self.size
        while pos < size:
            if self.index is not None:
                self._run_indexed(pos)
                return
            end = _record_ok(data, pos, size)
            if end < 0:
                pos = self._skip(pos, end)
                if pos < 0:
                    break
                continue
            self._accept(pos, end)
            pos = end

    def _accept(self, pos: int, end: int) -> None:
        self.records += 1
        self._record(pos, end)
        if self.complete and end < self.size:
            self.warnings.append(f"{self.size - end} bytes follow the end record; they were read too")
            self.complete = False

    def _run_indexed(self, pos: int) -> None:
        """The walk once the rest of the file is indexed: intact records are known by their start,
        so a damaged span costs a comparison (see `_skip`)."""
        assert self.index is not None
        starts = self.index.tolist()
        i, n = bisect.bisect_left(starts, pos), len(starts)
        while pos < self.size:
            if i < n and starts[i] == pos:
                _, _, length, _ = fmt.RECORD_HEAD.unpack_from(self.data, pos)
                end = pos + fmt.RECORD_OVERHEAD + length
                self._accept(pos, end)
                pos = end
                i = bisect.bisect_left(starts, pos, i)
                continue
            i = bisect.bisect_right(starts, pos, i)
            if i >= n:
                self._ending(pos, _record_ok(self.data, pos, self.size))
                return
            self._span(pos, starts[i])
            pos = starts[i]

    def _span(self, pos: int, nxt: int) -> None:
        note = "" if self.noted >= MAX_NOTES else (
            f"bytes {pos}..{nxt} are damaged ({nxt - pos} bytes skipped); reading resumed at the next intact record"
        )
        self.damaged(pos, nxt, note)

    def _skip(self, pos: int, end: int) -> int:
        """After a record that does not check out at `pos`: where reading resumes, or -1. After
        `MANY_SPANS` damaged spans (a hostile or hopeless file) every intact record of the rest is
        found in one vectorised pass (`index`), so each further span costs a lookup, not a search."""
        if len(self.spans) >= MANY_SPANS and self.size - pos <= INDEX_MAX_BYTES:
            self.index = intact_starts(self.data, self.buffer, pos + 1, self.size)
            return pos  # `run` goes on with the index
        nxt = next_record(self.data, self.buffer, pos + 1, self.size)
        if nxt >= 0:
            self._span(pos, nxt)
            return nxt
        self._ending(pos, end)
        return -1

    def _ending(self, pos: int, end: int) -> None:
        """No intact record after `pos`: the file is cut there (`end` == -2: a record runs past
        the end) or damaged to its end."""
        self.cut = pos
        if end == -2:
            self.cut_warning = len(self.warnings)
            self.warnings.append(
                f"the file is cut at byte {self.size}: the record starting at byte {pos} is incomplete "
                f"({self.size - pos} bytes); everything before it was read"
            )
            return
        if not self.buffer[pos:].any():
            self.blank_after = pos
        what = "are all zero bytes" if self.blank_after is not None else "are damaged"
        self.damaged(pos, self.size, f"bytes {pos}..{self.size} at the end of the file {what} and were skipped", at_end=True)

    def _record(self, pos: int, end: int) -> None:
        _, rtype, length, t_ns = fmt.RECORD_HEAD.unpack_from(self.data, pos)
        body_start = pos + fmt.RECORD_HEAD.size
        try:
            if rtype == fmt.RecordType.NOTIFICATIONS:
                source, n = _check_block(self.data, body_start, length)
                self.blocks.setdefault(source, []).append((body_start, n))
                if source == fmt.Source.IMU:
                    self.imu_count += n
            elif rtype in fmt.JSON_TYPES:
                if rtype == fmt.RecordType.EVENT and len(self.events) >= MAX_EVENTS:
                    self.events_skipped += 1
                    return
                obj = schema.parse_json(self.data[body_start : body_start + length])
                self._json(fmt.RecordType(rtype), obj, t_ns, pos)
            else:
                self.unknown[rtype] = self.unknown.get(rtype, 0) + 1
        except schema.RecordError as exc:  # CRC-valid JSON a writer never writes: crafted
            if rtype == fmt.RecordType.HEADER and self.header is None and self.header_problem is None:
                self.header_problem = f"the header record (byte {pos}) is unusable: {exc}"
            else:
                what = {fmt.RecordType.EVENT: "event", fmt.RecordType.HEADER_UPDATE: "header update"}.get(rtype, "record")
                self._note(f"the {what} at byte {pos} is unusable and was skipped: {exc}")
        except (ValueError, struct.error) as exc:
            # a CRC-valid block that is not what its type says: a buggy or crafted writer
            self.damaged(pos, end, f"record at byte {pos} (type 0x{rtype:02x}) is unusable and was skipped: {exc}")

    def _json(self, rtype: fmt.RecordType, obj: dict[str, Any], t_ns: int, pos: int) -> None:
        if rtype == fmt.RecordType.HEADER:
            self._header(obj, pos)
        elif rtype == fmt.RecordType.HEADER_COPY:
            self._copy(schema.repaired(obj, schema.HeaderCopy)[0], pos)
        elif rtype == fmt.RecordType.HEADER_UPDATE:
            obj = self._repaired(obj, schema.HeaderUpdate, f"the header update at byte {pos}")
            self.updates.append(HeaderUpdate(t_ns, obj, self.imu_count))
            self.update_bytes.append(pos)
            if isinstance(obj.get("settings"), dict):
                self.marks.append(SettingsMark(self.imu_count, "update", obj["settings"], byte=pos))
        elif rtype == fmt.RecordType.EVENT:
            schema.check_event(obj)
            kind = str(obj.pop("kind"))
            self.events.append(CaptureEvent(t_ns, kind, obj, self.imu_count))
            if kind == "stream_started" and schema.settings_in(obj):
                self.marks.append(SettingsMark(self.imu_count, "stream", schema.settings_in(obj), byte=pos))
        else:
            self.complete = True
            obj = schema.repaired(obj, schema.End)[0]
            if isinstance(obj.get("header"), dict):
                self._copy(schema.repaired(obj["header"], schema.HeaderCopy)[0], pos)

    def _header(self, obj: dict[str, Any], pos: int) -> None:
        if self.header is not None or self.header_problem is not None:
            self.warnings.append(f"a second header record at byte {pos} was ignored")
            return
        try:
            obj = self._repaired(obj, schema.Header, "the header's")
        except schema.RecordError as exc:
            self.header_problem = f"the header record (byte {pos}) is unusable: {exc}"
            return
        self.header = obj
        self.marks.append(SettingsMark(0, "header", obj["settings"], epoch=0, byte=pos))

    def _repaired(self, obj: dict[str, Any], kind: type[Any], what: str) -> dict[str, Any]:
        obj, notes = schema.repaired(obj, kind)
        for note in notes:
            self._note(f"{what} {note}" if what.endswith("'s") else f"{what}: {note}")
        return obj

    def _copy(self, obj: dict[str, Any], pos: int) -> None:
        copy = dict(obj)
        epoch = int(copy.pop("settings_epoch", 0) or 0)
        copy.pop("imu_notifications", None)
        self.copies.append((self.imu_count, pos, copy))
        self.marks.append(SettingsMark(self.imu_count, "copy", copy["settings"], epoch=epoch, byte=pos))

    # --- the result --------------------------------------------------------------------------
    def final_header(self) -> tuple[dict[str, Any], str | None]:
        """The header as it stands at the end (updates merged), from the header record or, when
        that is unusable, its first usable copy; and where it came from."""
        if self.header is not None:
            header, since, origin = dict(self.header), -1, None
        elif self.copies:
            _, since, copy = self.copies[0]
            header, origin = dict(copy), f"its copy at byte {since}"
        else:
            return {}, None
        for update, byte in zip(self.updates, self.update_bytes, strict=True):
            if byte > since:
                fields = dict(update.fields)
                if isinstance(fields.get("settings"), dict):
                    fields["settings"] = {**(header.get("settings") or {}), **fields["settings"]}
                header.update(fields)
        return header, origin

    def notifications(self) -> dict[str, Notifications]:
        out: dict[str, Notifications] = {}
        for source, blocks in self.blocks.items():
            try:
                name = fmt.Source(source).name.lower()
            except ValueError:
                name = f"source_{source}"
            out[name] = _gather(self.data, self.buffer, blocks)
        return out

    def closing_notes(self, origin: str | None) -> None:
        if self.noted > MAX_NOTES:
            self.warnings.append(
                f"{self.noted - MAX_NOTES} more damaged or unusable records ({self.unnoted_bytes} bytes) were skipped"
            )
        if self.events_skipped:
            self.warnings.append(f"{self.events_skipped} events beyond the first {MAX_EVENTS} were skipped")
        if self.unknown:
            kinds = ", ".join(f"0x{k:02x} x{v}" for k, v in sorted(self.unknown.items()))
            self.warnings.append(f"skipped record types this tracker does not know ({kinds}); a newer tracker wrote them")
        if origin is not None:
            self.warnings.append(f"{self.header_problem or 'the header record is damaged'}; {origin} was used")
        elif self.header_problem is not None:
            self.warnings.append(self.header_problem)
        elif self.header is None and self.blank_after is None:
            self.warnings.append("the capture has no readable header: sensor settings are unknown")
        if not self.complete and self.cut is None:
            self.cut = self.size
            self.cut_warning = len(self.warnings)
            self.warnings.append(
                f"the file ends at byte {self.size} without its end record: the recording was interrupted; "
                "every record before was read"
            )


def _read_bytes(p: Path) -> bytes:
    try:
        return p.read_bytes()
    except FileNotFoundError:
        raise CaptureFormatError(f"{p} does not exist", path=str(p), hint="check the file name") from None
    except IsADirectoryError:
        raise CaptureFormatError(f"{p} is a directory", path=str(p), hint=_HINT_NOT_CAPTURE) from None
    except OSError as exc:
        raise CaptureFormatError(f"cannot read {p}: {exc.strerror}", path=str(p), hint="check permissions") from None


def read_capture(path: str | os.PathLike[str]) -> CaptureContents:
    """Every intact record of a capture file; raises `CaptureFormatError` only for a file that is
    not a capture or has a newer major format version."""
    p = Path(path)
    data = _read_bytes(p)
    size = len(data)
    sig = _read_signature(data, p)
    if sig is None:
        return CaptureContents(
            path=p,
            format_version=fmt.FORMAT_VERSION,
            header={},
            initial_header={},
            header_updates=[],
            notifications={},
            events=[],
            file_size=size,
            records=0,
            complete=False,
            cut_at_byte=0,
            warnings=[f"the file ends at byte {size}, inside the capture signature: it holds no records"],
            cut_warning=0,
        )
    version, pos, signature_note = sig
    parser = _Parser(data, p)
    if signature_note is not None:
        parser.damaged(0, pos, signature_note)
    parser.run(pos)
    header, origin = parser.final_header()
    parser.closing_notes(origin)
    return CaptureContents(
        path=p,
        format_version=version,
        header=header,
        initial_header=dict(parser.header) if parser.header is not None else (dict(parser.copies[0][2]) if parser.copies else {}),
        header_updates=parser.updates,
        notifications=parser.notifications(),
        events=parser.events,
        file_size=size,
        records=parser.records,
        complete=parser.complete,
        cut_at_byte=None if parser.complete else parser.cut,
        corrupt_spans=parser.spans,
        warnings=parser.warnings,
        damage=parser.damage,
        cut_warning=None if parser.complete else parser.cut_warning,
        settings_marks=parser.marks,
        header_problem=parser.header_problem if parser.header is None else None,
        header_from=origin,
        blank_after=parser.blank_after,
    )

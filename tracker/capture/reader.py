"""Reading capture files, whole or damaged (docs/capture-format.md).

`read_capture` returns every intact record: a file cut at any byte gives back every complete record
before the cut and says where the cut is; damaged bytes in the middle fail their record's CRC and
are skipped up to the next record that checks out (resync on the sync marker), and reported.
Only a file that is not a capture at all (or of a newer major format) raises `CaptureFormatError`.

`load_capture` runs the IMU notifications through the same `StreamDecoder` as live data.
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from tracker import __version__
from tracker.capture import format as fmt
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

    def select(self, start: int, stop: int) -> Notifications:
        return Notifications(
            self.host_time_ns[start:stop],
            self.offsets[start:stop],
            self.lengths[start:stop],
            self.buffer,
        )


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
class DamagedSpan:
    """Bytes [start, end) skipped because they failed the checks."""

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

    @property
    def imu(self) -> Notifications:
        return self.notifications.get("imu") or _empty_notifications(np.zeros(0, np.uint8))

    @property
    def battery(self) -> Notifications:
        return self.notifications.get("battery") or _empty_notifications(np.zeros(0, np.uint8))

    def battery_levels(self) -> tuple[np.ndarray, np.ndarray]:
        """(host_time_ns, level %) of every well-formed battery notification."""
        from tracker.protocol.packets import decode_battery_level

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


def _read_signature(data: bytes, path: Path) -> tuple[str, int] | None:
    """(version, bytes) of the signature line, None when the file ends inside it."""
    head = data[: fmt.MAX_SIGNATURE]
    nl = head.find(b"\n")
    if nl < 0:
        if fmt.SIGNATURE.startswith(head) or (
            head.startswith(fmt.MAGIC) and len(data) < fmt.MAX_SIGNATURE
        ):
            return None  # a capture cut inside its first line
        raise CaptureFormatError(
            f"{path} is not a tracker capture", path=str(path), hint=_HINT_NOT_CAPTURE
        )
    line = head[:nl]
    if not line.startswith(fmt.MAGIC):
        raise CaptureFormatError(
            f"{path} is not a tracker capture", path=str(path), hint=_HINT_NOT_CAPTURE
        )
    version = line[len(fmt.MAGIC) :].decode("ascii", errors="replace")
    try:
        major = int(version.split(".")[0])
    except ValueError:
        raise CaptureFormatError(
            f"{path}: unreadable capture format version {version!r}",
            path=str(path),
            hint=_HINT_NOT_CAPTURE,
        ) from None
    if major != fmt.FORMAT_MAJOR:
        raise CaptureFormatError(
            f"{path} is a capture of format {version}, this tracker reads {fmt.FORMAT_MAJOR}.x",
            path=str(path),
            hint="update tracker to read it"
            if major > fmt.FORMAT_MAJOR
            else "convert it with the tracker version that wrote it",
        )
    return version, nl + 1


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


def _next_record(data: bytes, start: int, size: int) -> int:
    """Position of the next valid record at or after `start`, or -1."""
    pos = start
    while True:
        pos = data.find(fmt.SYNC, pos, size)
        if pos < 0:
            return -1
        if _record_ok(data, pos, size) >= 0:
            return pos
        pos += 1


def read_capture(path: str | os.PathLike[str]) -> CaptureContents:
    """Every intact record of a capture file; raises `CaptureFormatError` only for a file that is
    not a capture or has a newer major format version."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise CaptureFormatError(
            f"{p} does not exist", path=str(p), hint="check the file name"
        ) from None
    except IsADirectoryError:
        raise CaptureFormatError(
            f"{p} is a directory", path=str(p), hint=_HINT_NOT_CAPTURE
        ) from None
    except OSError as exc:
        raise CaptureFormatError(
            f"cannot read {p}: {exc.strerror}", path=str(p), hint="check permissions"
        ) from None
    size = len(data)
    buffer = np.frombuffer(data, np.uint8)
    warnings: list[str] = []
    sig = _read_signature(data, p)
    if sig is None:
        warnings.append(
            f"the file ends at byte {size}, inside the capture signature: it holds no records"
        )
        return CaptureContents(
            p, fmt.FORMAT_VERSION, {}, {}, [], {}, [], size, 0, False, 0, [], warnings,
            cut_warning=0,
        )  # fmt: skip
    version, pos = sig

    header: dict[str, Any] = {}
    initial: dict[str, Any] | None = None
    updates: list[HeaderUpdate] = []
    events: list[CaptureEvent] = []
    blocks: dict[int, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}
    imu_count = 0
    records = 0
    complete = False
    cut: int | None = None
    cut_warning: int | None = None
    spans: list[tuple[int, int]] = []
    damage: list[DamagedSpan] = []
    unknown: dict[int, int] = {}

    def damaged(start: int, end: int, note: str, at_end: bool = False) -> None:
        spans.append((start, end))
        damage.append(DamagedSpan(start, end, imu_count, len(warnings), at_end))
        warnings.append(note)

    while pos < size:
        end = _record_ok(data, pos, size)
        if end < 0:
            nxt = _next_record(data, pos + 1, size)
            if nxt >= 0:
                damaged(
                    pos,
                    nxt,
                    f"bytes {pos}..{nxt} are damaged ({nxt - pos} bytes skipped); reading resumed at the next intact record",
                )
                pos = nxt
                continue
            if end == -2:
                cut = pos
                cut_warning = len(warnings)
                warnings.append(
                    f"the file is cut at byte {size}: the record starting at byte {pos} is incomplete "
                    f"({size - pos} bytes); everything before it was read"
                )
            else:
                cut = pos
                damaged(
                    pos,
                    size,
                    f"bytes {pos}..{size} at the end of the file are damaged and were skipped",
                    at_end=True,
                )
            break
        _, rtype, length, t_ns = fmt.RECORD_HEAD.unpack_from(data, pos)
        body_start = pos + fmt.RECORD_HEAD.size
        body = data[body_start : body_start + length]
        records += 1
        try:
            if rtype == fmt.RecordType.NOTIFICATIONS:
                source, n = fmt.BLOCK_HEAD.unpack_from(body)
                t_off = fmt.BLOCK_HEAD.size
                l_off = t_off + 8 * n
                d_off = l_off + 2 * n
                if d_off > length:
                    raise ValueError("block shorter than its count")
                times = np.frombuffer(body, "<i8", n, t_off).astype(np.int64)
                lens = np.frombuffer(body, "<u2", n, l_off).astype(np.int64)
                offs = np.empty(n, np.int64)
                if n:
                    offs[0] = 0
                    np.cumsum(lens[:-1], out=offs[1:])
                if d_off + int(lens.sum()) != length:
                    raise ValueError("block lengths do not add up")
                blocks.setdefault(source, []).append((times, offs + body_start + d_off, lens))
                if source == fmt.Source.IMU:
                    imu_count += n
            elif rtype in (
                fmt.RecordType.HEADER,
                fmt.RecordType.HEADER_UPDATE,
                fmt.RecordType.EVENT,
                fmt.RecordType.END,
            ):
                obj = json.loads(body.decode("utf-8"))
                if not isinstance(obj, dict):
                    raise ValueError("JSON record is not an object")
                if rtype == fmt.RecordType.HEADER:
                    if initial is None:
                        initial = obj
                        header = dict(obj)
                    else:
                        warnings.append(f"a second header record at byte {pos} was ignored")
                elif rtype == fmt.RecordType.HEADER_UPDATE:
                    updates.append(HeaderUpdate(t_ns, obj, imu_count))
                    header.update(obj)
                elif rtype == fmt.RecordType.EVENT:
                    kind = str(obj.pop("kind", "unknown"))
                    events.append(CaptureEvent(t_ns, kind, obj, imu_count))
                else:
                    complete = True
            else:
                unknown[rtype] = unknown.get(rtype, 0) + 1
        except (ValueError, struct.error, UnicodeDecodeError) as exc:
            # CRC-valid but not what its type says: written by a buggy or newer writer
            damaged(
                pos,
                end,
                f"record at byte {pos} (type 0x{rtype:02x}) is unreadable and was skipped: {exc}",
            )
        pos = end
        if complete and pos < size:
            warnings.append(f"{size - pos} bytes follow the end record; they were read too")
            complete = False

    if unknown:
        kinds = ", ".join(f"0x{k:02x} x{v}" for k, v in sorted(unknown.items()))
        warnings.append(
            f"skipped record types this tracker does not know ({kinds}); a newer tracker wrote them"
        )
    if initial is None:
        warnings.append("the capture has no readable header: sensor settings are unknown")
    if not complete and cut is None:
        cut = size
        cut_warning = len(warnings)
        warnings.append(
            f"the file ends at byte {size} without its end record: the recording was interrupted; "
            "every record before was read"
        )

    notifications: dict[str, Notifications] = {}
    for source, parts in blocks.items():
        try:
            name = fmt.Source(source).name.lower()
        except ValueError:
            name = f"source_{source}"
        notifications[name] = Notifications(
            np.concatenate([t for t, _, _ in parts]),
            np.concatenate([o for _, o, _ in parts]),
            np.concatenate([n for _, _, n in parts]),
            buffer,
        )
    return CaptureContents(
        path=p,
        format_version=version,
        header=header,
        initial_header=initial or {},
        header_updates=updates,
        notifications=notifications,
        events=events,
        file_size=size,
        records=records,
        complete=complete,
        cut_at_byte=None if complete else cut,
        corrupt_spans=spans,
        warnings=warnings,
        damage=damage,
        cut_warning=None if complete else cut_warning,
    )


def _settings_of(obj: dict[str, Any], path: Path) -> tuple[float, int, int]:
    s = obj.get("settings")
    try:
        return float(s["sample_rate_hz"]), int(s["accel_range_g"]), int(s["gyro_range_dps"])
    except (TypeError, KeyError, ValueError):
        raise CaptureFormatError(
            f"{path}: the capture header lacks the sensor settings (sample_rate_hz, accel_range_g, gyro_range_dps)",
            path=str(path),
            hint="the header record is damaged; the samples cannot be scaled without it",
        ) from None


CHUNK_PACKETS = 1 << 16


def decode_capture(
    contents: CaptureContents, *, samples_at: dict[int, int] | None = None, **decoder_options: Any
):
    """Run a capture's IMU notifications through a `StreamDecoder` (the live decode path), in
    chunks, applying settings changes where the file records them. Returns the decoder (a
    `PmdStreamDecoder` for a Polar sensor's capture: `tracker.capture.kinds`).

    `samples_at`, when given, is filled with {IMU notification index of each damaged span:
    samples decoded before it}, which `capture_notes` turns into the seconds the damage cost."""
    from tracker.capture.kinds import decode_pmd_capture, is_pmd_kind, sensor_kind
    from tracker.protocol import spec
    from tracker.protocol.stream import StreamDecoder

    if is_pmd_kind(sensor_kind(contents.header)):  # a Polar sensor's PMD frames
        return decode_pmd_capture(contents, samples_at=samples_at)
    if not contents.initial_header and not len(contents.imu):
        # cut before the header was complete: nothing to decode, and nothing is lost by defaults
        rate, acc, gyr = (
            spec.DEFAULT_SAMPLE_RATE_HZ,
            spec.DEFAULT_ACCEL_RANGE_G,
            spec.DEFAULT_GYRO_RANGE_DPS,
        )
    else:
        rate, acc, gyr = _settings_of(contents.initial_header, contents.path)
    decoder = StreamDecoder(rate, acc, gyr, **decoder_options)
    imu = contents.imu
    if not len(imu):
        return decoder
    ref_ns = int(imu.host_time_ns[0])
    bounds = [u for u in contents.header_updates if "settings" in u.fields]
    marks = sorted({d.imu_index for d in contents.damage}) if samples_at is not None else []
    pos = 0
    for update in [*bounds, None]:
        stop = len(imu) if update is None else update.imu_index
        cuts = [m for m in marks if pos <= m < stop]
        for lo, hi in zip([pos, *cuts], [*cuts, stop], strict=True):
            if samples_at is not None and lo in cuts:
                samples_at[lo] = decoder.samples_kept
            for a in range(lo, hi, CHUNK_PACKETS):
                b = min(hi, a + CHUNK_PACKETS)
                host_s = (imu.host_time_ns[a:b] - ref_ns) / 1e9
                decoder.feed_array(imu.buffer, imu.offsets[a:b], imu.lengths[a:b], host_s)
        pos = max(pos, stop)
        if update is not None:
            decoder.configure(
                *_settings_of(
                    {
                        "settings": {
                            **contents.initial_header.get("settings", {}),
                            **update.fields["settings"],
                        }
                    },
                    contents.path,
                )
            )
    if samples_at is not None:
        for m in marks:
            samples_at.setdefault(m, decoder.samples_kept)
    decoder.host_reference_ns = ref_ns
    return decoder


def _clock(t_s: float) -> str:
    return f"{int(t_s // 60)}:{t_s % 60:04.1f}"


def capture_notes(
    contents: CaptureContents, t_s: np.ndarray, samples_at: dict[int, int]
) -> list[str]:
    """The reader's warnings as notes for a person: each damaged span with the seconds of samples
    it cost and where in the session (from the decoded times `t_s` around it; `samples_at` from
    `decode_capture`), and a cut with the byte it happened at."""
    t_s = np.asarray(t_s, dtype=np.float64)
    n = len(t_s)
    step = float(np.median(np.diff(t_s))) if n > 1 else 0.0
    rewritten: dict[int, str] = {}
    seen: set[int] = set()
    for d in contents.damage:
        what = (
            f"bytes {d.start}..{d.end} of the capture are damaged ({d.end - d.start} bytes skipped)"
        )
        k = samples_at.get(d.imu_index)
        if d.at_end:
            where = f" after {_clock(float(t_s[-1]))}" if n else ""
            rewritten[d.warning] = f"{what}: the capture ends there; what followed{where} is lost"
        elif k is None or d.imu_index in seen:
            rewritten[d.warning] = f"{what}: no further samples lost"
        elif 0 < k < n:
            lost = max(0.0, float(t_s[k] - t_s[k - 1]) - step)
            rewritten[d.warning] = (
                f"{what}: {lost:.1f} s of samples lost at {_clock(float(t_s[k - 1]))}"
                if lost >= 0.05
                else f"{what}: no samples lost (the damage hit an event or header record)"
            )
        elif k == 0 and n:
            rewritten[d.warning] = (
                f"{what}: samples before the first intact one (the start of the recording) are lost"
            )
        else:
            rewritten[d.warning] = (
                f"{what}: the end of the recording after {_clock(float(t_s[-1])) if n else '0:00.0'} may be lost"
            )
        seen.add(d.imu_index)
    if contents.cut_warning is not None and contents.cut_at_byte == 0:
        rewritten[contents.cut_warning] = (
            f"the capture is cut after {contents.file_size} bytes, inside its first line: it holds nothing"
        )
    elif contents.cut_warning is not None and contents.cut_at_byte is not None:
        kept = f"; the {float(t_s[-1] - t_s[0]):.1f} s before it were used" if n > 1 else ""
        rewritten[contents.cut_warning] = (
            f"the capture is cut at byte {contents.cut_at_byte} of {contents.file_size} "
            f"(no end record: the recording was interrupted or the file was not copied whole){kept}"
        )
    return [rewritten.get(i, w) for i, w in enumerate(contents.warnings)]


def load_capture(path: str | os.PathLike[str]):
    """A capture as an `ImuRecording`, decoded exactly as live data would be.

    `start_utc` comes from the host receive times (lower envelope) and the header's clock anchor;
    `calibration` from the header (the latest one); `source` carries the sensor identity, settings,
    decode statistics, events, and any cut or damage found.
    """
    from tracker.imu import MountingCalibration

    contents = read_capture(path)
    samples_at: dict[int, int] = {}
    decoder = decode_capture(contents, samples_at=samples_at)
    header = contents.header
    warnings = list(contents.warnings)
    notes = capture_notes(contents, decoder.t_sensor_s(), samples_at)
    calibration = None
    if header.get("calibration"):
        try:
            calibration = MountingCalibration.from_json(header["calibration"])
        except (ValueError, KeyError, TypeError) as exc:
            warnings.append(f"the stored calibration is unusable ({exc}); it was ignored")
            notes.append(warnings[-1])
    start_utc = None
    ref_ns = decoder.host_reference_ns
    if ref_ns is not None and decoder.samples_kept:
        host_s = float(decoder.host_time_at(0.0))
        try:
            utc_ns = contents.utc_ns(ref_ns + int(round(host_s * 1e9)))
            start_utc = datetime.fromtimestamp(utc_ns / 1e9, UTC)
        except CaptureFormatError as exc:
            warnings.append(exc.message)
            notes.append(exc.message)
    source = {
        "kind": "capture",
        "path": str(contents.path),
        "format_version": contents.format_version,
        "complete": contents.complete,
        "cut_at_byte": contents.cut_at_byte,
        "corrupt_spans": [list(s) for s in contents.corrupt_spans],
        "file_size": contents.file_size,
        "capture_warnings": warnings,
        "notes": notes,
        "sensor": header.get("sensor", {}),
        "settings": header.get("settings", {}),
        "recorded_with": header.get("tracker_version"),
        "tracker_version": __version__,
        "events": [e.to_json() for e in contents.events],
    }
    if header.get("extra"):
        source["extra"] = header["extra"]
    _, levels = contents.battery_levels()
    if levels.size:
        source["battery_pct_last"] = int(levels[-1])
    offset = header.get("utc_offset_s")
    return decoder.to_recording(
        start_utc=start_utc,
        calibration=calibration,
        source=source,
        utc_offset_s=int(offset) if isinstance(offset, int | float) else None,
        timezone=header.get("timezone") if isinstance(header.get("timezone"), str) else None,
    )

"""From a capture's contents to samples: which settings scale which notifications, the live
decoder, and what damage cost, said for a person (docs/capture-format.md, "Reading").

Settings are stated in several places: the header, settings updates (changes), `stream_started`
events (the sensor's own report) and header copies (HEADER_COPY records every few seconds and in
the END record). `settings_plan` puts them together so that any intact statement serves:

- a copy says which settings were in force at its place and how many updates came before it, so
  when the header is lost, the notifications before the first copy are scaled by it (nothing was
  changed before it); one damaged byte in the header costs no sample;
- when a copy counts more updates than were read intact, an update was lost in damage: the
  notifications before the damage keep the old settings, those after it take the copy's, and any
  between two damaged spans (which could be either) are not decoded, and the notes say so;
- notifications whose settings nothing tells are not decoded rather than scaled wrongly.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from tracker import __version__
from tracker.capture import schema
from tracker.capture.reader import CaptureContents, SettingsMark, read_capture
from tracker.display import clock
from tracker.errors import CaptureFormatError

CHUNK_PACKETS = 1 << 16


@dataclass(frozen=True)
class SettingsPlan:
    """From IMU notification `starts[i]` on, `settings[i]` scale them (None: unknown, skipped)."""

    starts: list[int]
    settings: list[dict[str, Any] | None]
    notes: list[str]


def _scale_keys(settings: dict[str, Any]) -> dict[str, Any]:
    return {k: settings.get(k) for k in schema.SCALE_KEYS}


class _Planner:
    def __init__(self, contents: CaptureContents) -> None:
        self.damage = sorted({d.imu_index for d in contents.damage})
        self.starts: list[int] = []
        self.settings: list[dict[str, Any] | None] = []
        self.notes: list[str] = []
        self.current: dict[str, Any] | None = None
        self.updates = 0
        self.last_index = 0

    def set_from(self, index: int, settings: dict[str, Any] | None) -> None:
        if self.starts and self.starts[-1] >= index:
            while self.starts and self.starts[-1] >= index:
                self.starts.pop()
                self.settings.pop()
        if not self.settings or self.settings[-1] != settings:
            self.starts.append(index)
            self.settings.append(settings)
        self.current = settings

    def change(self, mark: SettingsMark) -> None:
        if mark.kind == "update":
            self.updates += 1
        merged = {**(self.current or {}), **mark.settings}
        try:
            schema.check_settings(merged)
        except schema.RecordError as exc:
            self.notes.append(f"the settings at byte {mark.byte} are unusable ({exc}); the samples after it are not decoded")
            self.set_from(mark.imu_index, None)
            return
        if self.current is None or _scale_keys(merged) != _scale_keys(self.current):
            self.set_from(mark.imu_index, merged)

    def copy(self, mark: SettingsMark) -> None:
        epoch = mark.epoch or 0
        settings = mark.settings
        if self.current is None:
            if epoch == self.updates:  # no update since the stretch nobody could scale began
                self.set_from(self.starts[-1] if self.starts else 0, settings)
            else:
                self.set_from(mark.imu_index, settings)
        elif epoch > self.updates:  # a settings update was lost in damage
            between = [d for d in self.damage if self.last_index <= d <= mark.imu_index]
            if not between:
                self.set_from(mark.imu_index, settings)
            elif between[0] == between[-1]:
                self.set_from(between[0], settings)
            else:
                self.set_from(between[0], None)
                self.set_from(between[-1], settings)
            self.updates = epoch
        elif _scale_keys(settings) != _scale_keys(self.current):
            self.notes.append(f"the header copy at byte {mark.byte} disagrees with the settings before it; it was ignored")


def settings_plan(contents: CaptureContents) -> SettingsPlan:
    """Which settings scale which IMU notifications (see the module docstring)."""
    planner = _Planner(contents)
    for mark in contents.settings_marks:
        if mark.kind == "header":
            planner.set_from(0, mark.settings)
        elif mark.kind == "copy":
            planner.copy(mark)
        else:
            planner.change(mark)
        planner.last_index = mark.imu_index
    return SettingsPlan(planner.starts, planner.settings, planner.notes)


def _unscalable(contents: CaptureContents) -> CaptureFormatError:
    why = contents.header_problem or "the capture header lacks the sensor settings (sample_rate_hz, accel_range_g, gyro_range_dps)"
    return CaptureFormatError(
        f"{contents.path}: {why}, and no intact copy of it was found",
        path=str(contents.path),
        hint="the samples cannot be scaled without it; if the file was copied, copy it again from where it was recorded",
    )


def _host_seconds(times_ns: np.ndarray, ref_ns: int) -> np.ndarray:
    """Host times as seconds after `ref_ns`, exact for real clocks and without int64 overflow for
    any value a file can hold."""
    if times_ns.size and (int(times_ns.max()) - ref_ns < 2**62 and ref_ns - int(times_ns.min()) < 2**62):
        return (times_ns - ref_ns) / 1e9
    return (times_ns.astype(np.float64) - float(ref_ns)) / 1e9


def decode_capture(
    contents: CaptureContents,
    *,
    samples_at: dict[int, int] | None = None,
    plan_notes: list[str] | None = None,
    **decoder_options: Any,
) -> Any:
    """Run a capture's IMU notifications through a `StreamDecoder` (the live decode path), in
    chunks, with the settings `settings_plan` gives each stretch. Returns the decoder;
    `plan_notes`, when given, receives what could not be decoded and why.

    `samples_at`, when given, is filled with {IMU notification index of each damaged span:
    samples decoded before it}, which `capture_notes` turns into the seconds the damage cost.
    A Polar sensor's capture is decoded by a `PmdStreamDecoder` (`tracker.capture.kinds`)."""
    from tracker.capture.kinds import (
        decode_phone_capture,
        decode_pmd_capture,
        is_phone_kind,
        is_pmd_kind,
        sensor_kind,
    )
    from tracker.protocol import spec
    from tracker.protocol.stream import StreamDecoder

    kind = sensor_kind(contents.header)
    if is_pmd_kind(kind):  # a Polar sensor's PMD frames
        return decode_pmd_capture(contents, samples_at=samples_at)
    if is_phone_kind(kind):  # a phone's pushed bodies
        return decode_phone_capture(contents, samples_at=samples_at)
    imu = contents.imu
    plan = settings_plan(contents)
    known = [s for s in plan.settings if s is not None]
    if len(imu) and not known:
        raise _unscalable(contents)
    first = known[0] if known else {
        "sample_rate_hz": spec.DEFAULT_SAMPLE_RATE_HZ,
        "accel_range_g": spec.DEFAULT_ACCEL_RANGE_G,
        "gyro_range_dps": spec.DEFAULT_GYRO_RANGE_DPS,
    }
    decoder = StreamDecoder(*_triple(first), **decoder_options)
    notes = plan_notes if plan_notes is not None else []
    notes += plan.notes
    if not len(imu):
        return decoder
    ref_ns = int(imu.host_time_ns[0])
    # only the spans noted one by one are told in seconds (a hostile file may hold 100,000s)
    marks = sorted({d.imu_index for d in contents.damage if d.warning >= 0}) if samples_at is not None else []
    bounds = [*plan.starts[1:], len(imu)]
    configured = first
    for lo, hi, settings in zip(plan.starts, bounds, plan.settings, strict=True):
        hi = min(hi, len(imu))
        if settings is None:
            if hi > lo:
                span = (int(imu.host_time_ns[hi - 1]) - int(imu.host_time_ns[lo])) / 1e9
                notes.append(
                    f"{hi - lo} notifications (about {abs(span):.1f} s) were not decoded: the settings that scale them were lost in damage"
                )
            continue
        if settings is not configured:
            decoder.configure(*_triple(settings))
            configured = settings
        _feed(decoder, imu, lo, hi, ref_ns, [m for m in marks if lo <= m < hi], samples_at)
    if samples_at is not None:
        for m in marks:
            samples_at.setdefault(m, decoder.samples_kept)
    decoder.host_reference_ns = ref_ns
    return decoder


def _triple(settings: dict[str, Any]) -> tuple[float, int, int]:
    return float(settings["sample_rate_hz"]), int(settings["accel_range_g"]), int(settings["gyro_range_dps"])


def _feed(decoder: Any, imu: Any, lo: int, hi: int, ref_ns: int, cuts: list[int], samples_at: dict[int, int] | None) -> None:
    for a0, b0 in zip([lo, *cuts], [*cuts, hi], strict=True):
        if samples_at is not None and a0 in cuts:
            samples_at[a0] = decoder.samples_kept
        for a in range(a0, b0, CHUNK_PACKETS):
            b = min(b0, a + CHUNK_PACKETS)
            host_s = _host_seconds(imu.host_time_ns[a:b], ref_ns)
            decoder.feed_array(imu.buffer, imu.offsets[a:b], imu.lengths[a:b], host_s)


def _span_note(what: str, d: Any, k: int | None, t_s: np.ndarray, step: float) -> str:
    n = len(t_s)
    if d.at_end:
        where = f" after {clock(float(t_s[-1]))}" if n else ""
        return f"{what}: the capture ends there; what followed{where} is lost"
    if k is None:
        return f"{what}: no further samples lost"
    if 0 < k < n:
        lost = max(0.0, float(t_s[k] - t_s[k - 1]) - step)
        if lost >= 0.05:
            return f"{what}: {lost:.1f} s of samples lost at {clock(float(t_s[k - 1]))}"
        return f"{what}: no samples lost (the damage hit an event or header record)"
    if k == 0 and n:
        return f"{what}: samples before the first intact one (the start of the recording) are lost"
    return f"{what}: the end of the recording after {clock(float(t_s[-1])) if n else '0:00.0'} may be lost"


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
        if d.warning < 0:
            continue  # beyond the notes written one by one
        what = f"bytes {d.start}..{d.end} of the capture are damaged ({d.end - d.start} bytes skipped)"
        if d.start == 0 and contents.warnings[d.warning].startswith("the capture's first line"):
            continue  # the signature: its note says all
        k = None if d.imu_index in seen else samples_at.get(d.imu_index)
        rewritten[d.warning] = _span_note(what, d, k, t_s, step)
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


def _start_utc(contents: CaptureContents, decoder: Any, notes: list[str]) -> datetime | None:
    """Wall-clock time of the first sample, when the header's clock anchor gives a usable one."""
    ref_ns = decoder.host_reference_ns
    if ref_ns is None or not decoder.samples_kept:
        return None
    try:
        host_s = float(decoder.host_time_at(0.0))
        utc_ns = contents.utc_ns(ref_ns + int(round(host_s * 1e9)))
        return datetime.fromtimestamp(int(utc_ns) / 1e9, UTC)
    except CaptureFormatError:
        notes.append("the header has no usable clock anchor: the start time is unknown")
    except (OverflowError, ValueError, OSError):
        notes.append("the header's clock anchor gives no usable start time; it was ignored")
    return None


def _timezone(header: dict[str, Any], notes: list[str]) -> str | None:
    name = header.get("timezone")
    if not isinstance(name, str):
        return None
    from zoneinfo import ZoneInfo

    try:
        ZoneInfo(name)
    except (ValueError, OSError, LookupError):
        notes.append(f"the capture names an unknown time zone ({name!r}); it was ignored")
        return None
    return name


def _calibration(header: dict[str, Any], warnings: list[str], notes: list[str]) -> Any:
    from tracker.imu import MountingCalibration

    if not header.get("calibration"):
        return None
    try:
        return MountingCalibration.from_json(header["calibration"])
    except (ValueError, KeyError, TypeError) as exc:
        warnings.append(f"the stored calibration is unusable ({exc}); it was ignored")
        notes.append(warnings[-1])
    return None


def _check_anything_there(contents: CaptureContents) -> None:
    """A capture whose every byte after the first line is zero holds nothing: say so, rather
    than call it cut."""
    if contents.blank_after is not None and not len(contents.imu) and not contents.header:
        size = contents.file_size - contents.blank_after
        raise CaptureFormatError(
            f"{contents.path}: all {size} bytes after byte {contents.blank_after} are zeros: no record survives",
            path=str(contents.path),
            hint="the file was allocated but never written (e.g. a crash before the disk caught up); "
            "copy it again from where it was recorded if you have another copy",
        )


def load_capture(path: str | os.PathLike[str]) -> Any:
    """A capture as an `ImuRecording`, decoded exactly as live data would be.

    `start_utc` comes from the host receive times (lower envelope) and the header's clock anchor;
    `calibration` from the header (the latest one); `source` carries the sensor identity, settings,
    decode statistics, events, and any cut or damage found.
    """
    contents = read_capture(path)
    _check_anything_there(contents)
    samples_at: dict[int, int] = {}
    plan_notes: list[str] = []
    decoder = decode_capture(contents, samples_at=samples_at, plan_notes=plan_notes)
    header = contents.header
    warnings = list(contents.warnings) + plan_notes
    notes = capture_notes(contents, decoder.t_sensor_s(), samples_at) + plan_notes
    calibration = _calibration(header, warnings, notes)
    # a phone stamps its readings in UTC itself (its decoder dates them); the others through
    # the host clock's anchor
    start_utc = None if hasattr(decoder, "utc_at") else _start_utc(contents, decoder, notes)
    timezone = _timezone(header, notes)
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
        "sensor": header.get("sensor") or {},
        "settings": header.get("settings") or {},
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
        utc_offset_s=int(offset) if isinstance(offset, int) else None,
        timezone=timezone,
    )

"""Replay: a capture through the same decode path as live data, then (when present) the analysis.

Without `realtime` the capture is decoded at once (`tracker.capture.load_capture`, vectorised);
with `realtime` its IMU notifications are fed one by one into the sensor kind's decoder (a
`StreamDecoder`, or a `PmdStreamDecoder` for a Polar sensor), exactly as the recorder feeds live data, and each decoded block reaches the live view (`on_block`) when the
session's own clock says so: the sensor timestamps of its samples, divided by `speed`. For a capture
recorded live that is the pace the notifications arrived at; a capture written faster than real
time (fixtures, demos: 155 s of session received within a second) still plays as the session
happened. Link gaps play as long as they lasted in the session, up to `MAX_PACED_JUMP_S` beyond
the gap in receive times (a sensor clock that jumped must not freeze the replay).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

MAX_PACED_JUMP_S = 60.0


@dataclass
class ReplayReport:
    path: Path
    samples: int
    duration_s: float
    sampling_rate_hz: float
    sensor: dict[str, Any]
    decode: dict[str, Any]
    events: list[dict[str, Any]]
    notes: list[str]
    complete: bool
    cut_at_byte: int | None
    start_utc: datetime | None
    analysis: Any = None
    """The analysis result (`tracker.results.SessionAnalysis`) when the analysis layer exists."""
    analysis_note: str | None = None
    recording: Any = field(default=None, repr=False)
    heart_rate: dict[str, Any] | None = None
    """The heart rate recorded alongside (a Polar H10's), summarised; None without one."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "path": str(self.path),
            "samples": self.samples,
            "duration_s": round(self.duration_s, 6),
            "sampling_rate_hz": self.sampling_rate_hz,
            "start_utc": self.start_utc.isoformat() if self.start_utc else None,
            "sensor": self.sensor,
            "decode": self.decode,
            "events": self.events,
            "complete": self.complete,
            "cut_at_byte": self.cut_at_byte,
            "notes": self.notes,
        }
        if self.heart_rate is not None:
            out["heart_rate"] = self.heart_rate
        if self.analysis is not None and hasattr(self.analysis, "to_json"):
            out["analysis"] = self.analysis.to_json()
        elif self.analysis_note:
            out["analysis"] = None
            out["analysis_note"] = self.analysis_note
        return out

    def summary_lines(self) -> list[str]:
        d = self.decode
        name = self.sensor.get("name") or self.sensor.get("address") or "unknown sensor"
        lines = [
            f"{self.path}: {self.samples} samples, {self.duration_s:.1f} s at {self.sampling_rate_hz:g} Hz from {name}"
            + (f", started {self.start_utc:%Y-%m-%d %H:%M:%S} UTC" if self.start_utc else ""),
            f"decode: {d.get('packets', 0)} packets, {d.get('lost_samples', 0)} samples lost in {d.get('gaps', 0)} gap(s), "
            f"{d.get('malformed_total', 0)} malformed, {d.get('duplicates', 0)} duplicates",
        ]
        gaps = [
            e for e in self.events if e.get("kind") in ("link_lost", "sensor_silent", "reconnected")
        ]
        if gaps:
            lines.append(
                "link: "
                + ", ".join(
                    f"{e['kind']}" + (f" ({e['gap_s']:.1f} s)" if "gap_s" in e else "")
                    for e in gaps
                )
            )
        hr = self.heart_rate
        if hr and hr.get("measurements"):
            lines.append(
                f"heart rate: {hr['min_bpm']}-{hr['max_bpm']} bpm (mean {hr['mean_bpm']:g}) "
                f"in {hr['measurements']} measurements"
            )
        if self.analysis is None and self.analysis_note:
            lines.append(self.analysis_note)
        return lines


def analyze_recording(recording: Any) -> tuple[Any, str | None]:
    """The same analysis as `tracker analyze`, on the replayed samples: (result, None), or
    (None, why not) when the recording cannot be analysed (too short, nothing on the roller...)."""
    from tracker.analysis import analyze
    from tracker.errors import TrackerError

    try:
        from tracker.settings import load_guidance

        return analyze(recording, load_guidance()), None
    except TrackerError as exc:
        return None, f"analysis: {exc.one_line()}"


async def replay_capture(
    path: Path,
    *,
    realtime: bool = False,
    speed: float = 1.0,
    analyze: bool = True,
    on_note: Callable[[str], None] | None = None,
    on_block: Callable[[Any], None] | None = None,
    consumer_for: Callable[[dict[str, Any]], Callable[[Any], None]] | None = None,
    on_battery: Callable[[int], None] | None = None,
) -> ReplayReport:
    """Decode a capture as live data would be decoded and report it; notes (cut, corruption) go
    to `on_note` as well as into the report. `on_block` receives each `DecodedBlock` when
    `realtime` (a live view); `consumer_for(header)` builds that consumer from the capture's header
    (its rate and calibration) when the caller needs them first. `on_battery` receives each
    battery level (%) the capture recorded, when `realtime`, at its place in the stream."""
    from tracker.capture import load_capture, read_capture
    from tracker.capture.kinds import heart_rate_summary

    path = Path(path)
    contents = read_capture(path)
    if consumer_for is not None:
        on_block = consumer_for(dict(contents.header))
    if realtime:
        recording, decoder_stats = await _replay_paced(
            contents, speed=speed, on_block=on_block, on_battery=on_battery
        )
    else:
        recording = load_capture(path)
        decoder_stats = dict(recording.source.get("decode", {}))
    # the same notes as `tracker analyze` gives (damage with the seconds it cost, the cut)
    notes = list(recording.source.get("notes", contents.warnings))
    for note in dict.fromkeys(notes):
        if on_note is not None:
            on_note(note)
    result, why_not = analyze_recording(recording) if analyze and len(recording) else (None, None)
    if analyze and not len(recording):
        why_not = "analysis: no samples to analyse"
    return ReplayReport(
        path=path,
        samples=len(recording),
        duration_s=recording.duration_s,
        sampling_rate_hz=recording.sampling_rate_hz,
        sensor=dict(contents.header.get("sensor") or {}),
        decode=decoder_stats,
        events=[e.to_json() for e in contents.events],
        notes=list(dict.fromkeys(notes)),
        complete=contents.complete,
        cut_at_byte=contents.cut_at_byte,
        start_utc=recording.start_utc,
        analysis=result,
        analysis_note=why_not,
        recording=recording,
        heart_rate=heart_rate_summary(contents),
    )


async def _replay_paced(
    contents: Any,
    *,
    speed: float,
    on_block: Callable[[Any], None] | None,
    on_battery: Callable[[int], None] | None = None,
) -> tuple[Any, dict[str, Any]]:
    """Feed IMU notifications one by one into a fresh StreamDecoder, handing each decoded block
    on when the session's clock (its samples' sensor times / `speed`) reaches its last sample.
    Battery levels go to `on_battery` before the first IMU notification received after them."""
    from tracker.capture.kinds import is_phone_kind, is_pmd_kind, sensor_kind

    settings = contents.initial_header.get("settings") or {}
    kind = sensor_kind(contents.header)
    own_settings = is_pmd_kind(kind) or is_phone_kind(kind)  # settings updates do not rescale their data
    decoder = _fresh_decoder(contents, settings, kind)
    imu = contents.imu
    updates = sorted(
        (u for u in contents.header_updates if "settings" in u.fields and not own_settings),
        key=lambda u: u.imu_index,
    )
    marks = {d.imu_index for d in contents.damage}
    samples_at: dict[int, int] = {}
    battery_ns, battery_pct = contents.battery_levels() if on_battery is not None else ((), ())
    b = 0
    if len(imu):
        t0_ns = int(imu.host_time_ns[0])
        wall0 = time.monotonic()
        rate = max(speed, 1e-9)
        session_s = 0.0  # session time handed on so far (sensor clock, s)
        paced_s = 0.0  # the same on the replay's clock, before dividing by speed
        host_prev_s = 0.0
        u = 0
        for i, (t_ns, payload) in enumerate(imu):
            while u < len(updates) and updates[u].imu_index <= i:
                s = {**settings, **updates[u].fields["settings"]}
                decoder.configure(
                    float(s["sample_rate_hz"]), int(s["accel_range_g"]), int(s["gyro_range_dps"])
                )
                u += 1
            if i in marks:
                samples_at[i] = decoder.samples_kept
            while b < len(battery_ns) and battery_ns[b] <= t_ns:
                on_battery(int(battery_pct[b]))  # type: ignore[misc]  # set with battery_ns
                b += 1
            host_s = (t_ns - t0_ns) / 1e9
            block = decoder.feed(payload, host_s)
            if block is None or not len(block):
                continue
            step = float(block.t_sensor_s[-1]) - session_s
            if step > 0:
                paced_s += min(step, max(host_s - host_prev_s, MAX_PACED_JUMP_S))
                session_s += step
            host_prev_s = host_s
            delay = wall0 + paced_s / rate - time.monotonic()
            if delay > 0.002:
                await asyncio.sleep(delay)
            if on_block is not None:
                on_block(block)
        for m in marks:
            samples_at.setdefault(m, decoder.samples_kept)
    return _recording_of(contents, decoder, samples_at), decoder.stats.to_json()


def _fresh_decoder(contents: Any, settings: dict[str, Any], kind: str) -> Any:
    """The decoder a live link to this capture's sensor would have started with."""
    from tracker.capture.kinds import (
        is_phone_kind,
        is_pmd_kind,
        phone_decoder_for_capture,
        pmd_decoder_for_capture,
    )
    from tracker.protocol.stream import StreamDecoder

    if is_pmd_kind(kind):  # a Polar sensor: PMD frames, settings as the sensor confirmed them
        return pmd_decoder_for_capture(contents)
    if is_phone_kind(kind):  # a phone's pushed bodies
        return phone_decoder_for_capture(contents)
    return StreamDecoder(
        float(settings.get("sample_rate_hz", 100)),
        int(settings.get("accel_range_g", 4)),
        int(settings.get("gyro_range_dps", 500)),
    )


def _recording_of(contents: Any, decoder: Any, samples_at: dict[int, int]) -> Any:
    """What the decoder kept, as a recording with the capture's calibration, start time and notes."""
    from tracker.capture.decode import capture_notes
    from tracker.imu import MountingCalibration

    imu = contents.imu
    calibration = None
    if contents.header.get("calibration"):
        try:
            calibration = MountingCalibration.from_json(contents.header["calibration"])
        except (ValueError, KeyError, TypeError):
            calibration = None
    start_utc = None
    if hasattr(decoder, "utc_at"):
        pass  # a phone dates its own readings (to_recording takes them)
    elif len(imu) and decoder.samples_kept:
        try:
            host_s = float(decoder.host_time_at(0.0))
            utc_ns = contents.utc_ns(int(imu.host_time_ns[0]) + int(round(host_s * 1e9)))
            start_utc = datetime.fromtimestamp(utc_ns / 1e9, UTC)
        except Exception:  # noqa: BLE001  a start time is a nicety; the samples are what matter
            start_utc = None
    recording = decoder.to_recording(
        start_utc=start_utc,
        calibration=calibration,
        source={
            "kind": "capture",
            "path": str(contents.path),
            "sensor": contents.header.get("sensor"),
            "complete": contents.complete,
            "cut_at_byte": contents.cut_at_byte,
            "file_size": contents.file_size,
            "notes": capture_notes(contents, decoder.t_sensor_s(), samples_at),
        },
        utc_offset_s=contents.header.get("utc_offset_s"),
        timezone=contents.header.get("timezone"),
    )
    return recording


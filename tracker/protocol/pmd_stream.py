"""From a stream of PMD data notifications to timed IMU samples in SI units (Polar sensors).

`PmdStreamDecoder` is to a Polar sensor what `tracker.protocol.stream.StreamDecoder` is to the
tracker IMU: the one decode path, fed one notification at a time live (`feed`) and on replay,
with the same outputs (blocks for the live view, `to_recording`, statistics). What it does with
each notification:

1. read the frame header (`tracker.protocol.pmd`); a frame that cannot be decoded (too short,
   a frame type tracker does not read, a measurement it did not start) is counted by reason and
   logged at WARNING with its hex (rate-limited), never raised;
2. hold frames of a measurement whose settings (sample rate, factor from the start response)
   are not known yet, and decode them once `configure_streams`/`stream_started` says them;
3. decode with the SDK's rules (`decode_frame`), keeping each measurement's previous frame
   timestamp; drop duplicates (same timestamp) and late frames, counted;
4. a frame that follows a gap (its timestamp is further from the previous one than its
   samples span) is placed backwards from its own timestamp at the measured sample period,
   and the samples in the gap are counted as lost, instead of being spread over the gap as the
   SDK's rule would; a clock that went back by more than a second (a sensor that restarted)
   starts a new segment placed after the old one by host time;
5. convert to SI (mG -> m/s², °/s -> rad/s). A sensor with one stream (Polar H10: ACC only)
   gives accelerometer-only samples (gyro NaN). A sensor with two (Verity Sense: ACC and GYRO,
   each with its own timestamps) is aligned incrementally on the accelerometer's timeline, exactly
   as `tracker.imu.align_streams` aligns the whole streams: an accelerometer sample is delivered
   once gyro samples around it have arrived, and dropped if they are more than `max_gap_s`
   apart (samples are never invented).

Times: `t_sensor_s` is the sensor clock in seconds since the first sample of the first frame.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from tracker.protocol import pmd
from tracker.protocol.decoded import SampleBlock, StatsSummary
from tracker.protocol.pmd import PMD_SENSOR_KINDS
from tracker.protocol.ratelog import RateLimitedLog

log = logging.getLogger(__name__)


CLOCK_RESET_NS = 1_000_000_000
"""A frame this much before the previous one is a restarted sensor clock, not a late frame."""
GAP_FACTOR = 1.5
"""A frame whose timestamp is more than this many times its samples' span after the previous
frame's follows a gap (lost frames, a dropped link)."""
_RAD_PER_DEG = math.pi / 180.0


PmdBlock = SampleBlock
"""The block this decoder delivers (`decoded.SampleBlock`)."""


@dataclass
class PmdDecodeStats(StatsSummary):
    """Counters of a `PmdStreamDecoder` (all since it was created)."""

    packets: int = 0
    """Notifications fed."""
    packets_delivered: int = 0
    """Frames whose samples were decoded."""
    samples: int = 0
    """Samples delivered on the output timeline (after alignment)."""
    malformed: dict[str, int] = field(default_factory=dict)
    """Frames not decoded, by reason ("too_short", "unsupported_frame", "timestamp", ...)."""
    cut_frames: int = 0
    """Frames cut short or with a bad delta block: their complete samples were kept."""
    duplicates: int = 0
    out_of_order: int = 0
    held: int = 0
    """Frames that arrived before their measurement's settings were known (decoded later)."""
    gaps: int = 0
    lost_samples: int = 0
    """Samples missing in gaps of the timeline measurement (ACC), from the timestamps."""
    lost_by_measurement: dict[str, int] = field(default_factory=dict)
    frames_by_measurement: dict[str, int] = field(default_factory=dict)
    samples_by_measurement: dict[str, int] = field(default_factory=dict)
    unaligned: int = 0
    """Accelerometer samples dropped for want of gyroscope samples around them."""
    clock_resets: int = 0
    drift_ppm: float | None = None
    drift_trusted: bool = False
    drift_note: str = "the sensor's timestamps are used as they are (no drift estimate for PMD)"


@dataclass
class _Chain:
    """One measurement's stream: its settings and the last frame it decoded."""

    name: str
    sample_rate_hz: float | None = None
    factor: float = 1.0
    prev_ts: dict[int, int] = field(default_factory=dict)
    """Previous frame timestamp by frame type (the SDK keys it by measurement and frame type)."""
    period_ns: float | None = None
    held: deque[tuple[bytes, float]] = field(default_factory=deque)


def _joined(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    if len(parts) == 1:
        return parts[0]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def pmd_settings_of(settings: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The "pmd" entry of capture/stream settings: {"ACC": {"sample_rate": .., "factor": ..}, ...}."""
    raw = (settings or {}).get("pmd")
    if not isinstance(raw, Mapping):
        return {}
    return {str(k): dict(v) for k, v in raw.items() if isinstance(v, Mapping)}


class PmdStreamDecoder:
    """Decode a live or replayed stream of PMD data frames into timed SI samples.

    Parameters
    ----------
    measurements
        The measurement names streamed, timeline first: ("ACC",) for a Polar H10, ("ACC",
        "GYRO") for a Verity Sense.
    settings
        {"ACC": {"sample_rate": 200, "factor": 1.0, ...}, ...} when known (a capture's header);
        else call `configure_streams` once the sensor answered the start requests.
    keep_samples
        Keep every delivered sample for `to_recording` (a live view that only uses the returned
        blocks can pass False).
    max_gap_s
        Gyroscope samples further apart than this leave the accelerometer samples between them
        out (as `tracker.imu.align_streams`).
    hold_frames
        Frames held per measurement while its settings are unknown (older ones are dropped).
    log_first, log_interval_s
        Malformed-frame logging: the first `log_first` of each reason, then at most one per
        `log_interval_s` of host time.
    """

    def __init__(
        self,
        measurements: Sequence[str] = ("ACC",),
        settings: Mapping[str, Mapping[str, Any]] | None = None,
        *,
        keep_samples: bool = True,
        max_gap_s: float = 0.25,
        hold_frames: int = 256,
        log_first: int = 5,
        log_interval_s: float = 10.0,
    ) -> None:
        names = [str(m).upper() for m in measurements]
        if not names or names[0] != "ACC" or not set(names) <= {"ACC", "GYRO"}:
            raise ValueError(
                f"measurements must be ('ACC',) or ('ACC', 'GYRO'); got {tuple(measurements)}"
            )
        self.measurements = tuple(names)
        self.keep_samples = keep_samples
        self.max_gap_s = float(max_gap_s)
        self.hold_frames = int(hold_frames)
        self._log = RateLimitedLog(log, log_first, log_interval_s)
        self.host_reference_ns: int | None = None
        """Set by a replay: host times fed are seconds after this host clock value (ns)."""
        self._chains = {name: _Chain(name) for name in self.measurements}
        self._stats = PmdDecodeStats(
            lost_by_measurement={n: 0 for n in names},
            frames_by_measurement={n: 0 for n in names},
            samples_by_measurement={n: 0 for n in names},
        )
        self._origin_ns: int | None = None
        self._offset_s = 0.0  # added to (timestamp - origin) after a clock reset
        self._reset_at: tuple[int, float] | None = None  # (first timestamp, host time) of a reset
        self._pending_lost = 0  # lost samples not yet reported with a delivered block
        self._last_t = -math.inf
        self._last_host = 0.0
        self._host_offset: float | None = None  # min(host - sensor time): the lower envelope
        # alignment state (two streams): pending accelerometer samples, recent gyro samples
        self._acc_parts: list[tuple[np.ndarray, np.ndarray]] = []
        self._gyr_parts: list[tuple[np.ndarray, np.ndarray]] = []
        self._deferred = False  # feed_many: align once per batch (the same result, far fewer calls)
        self._gyro_seen = False
        # kept output, and every accelerometer sample (for a Verity whose gyro never streamed)
        self._out: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._acc_all: list[tuple[np.ndarray, np.ndarray]] = []
        self._kept = 0
        if settings:
            self.configure_streams(settings)

    @classmethod
    def for_kind(
        cls, kind: str, settings: Mapping[str, Any] | None = None, **options: Any
    ) -> PmdStreamDecoder:
        """The decoder for a PMD sensor kind ("polar-h10", "polar-verity"), configured from
        stream/capture settings when they carry the "pmd" entry."""
        try:
            measurements = PMD_SENSOR_KINDS[kind]
        except KeyError:
            raise ValueError(
                f"{kind!r} is not a PMD sensor kind; use one of {sorted(PMD_SENSOR_KINDS)}"
            ) from None
        return cls(measurements, pmd_settings_of(settings) or None, **options)

    # --- settings ------------------------------------------------------------------------
    def configure_streams(self, settings: Mapping[str, Mapping[str, Any]]) -> None:
        """Sample rate and factor per measurement ({"ACC": {"sample_rate": 52, "factor": ..}});
        frames held for want of them are decoded now."""
        for name, values in settings.items():
            chain = self._chains.get(str(name).upper())
            if chain is None:
                continue
            rate = values.get("sample_rate")
            if rate is not None and float(rate) > 0:
                if chain.sample_rate_hz != float(rate):
                    chain.period_ns = 1e9 / float(rate)
                chain.sample_rate_hz = float(rate)
            factor = values.get("factor")
            chain.factor = float(factor) if factor is not None else 1.0
        for chain in self._chains.values():
            if chain.sample_rate_hz is not None:
                while chain.held:
                    payload, host = chain.held.popleft()
                    self._decode(chain, payload, host)

    def stream_started(self, effective: Mapping[str, Any]) -> None:
        """The driver's effective settings after a start (its "pmd" entry configures the streams)."""
        streams = pmd_settings_of(effective)
        if streams:
            self.configure_streams(streams)

    @property
    def sample_rate_hz(self) -> float:
        return float(self._chains["ACC"].sample_rate_hz or 0.0)

    # --- feeding ---------------------------------------------------------------------------
    def feed(self, payload: bytes | bytearray | memoryview, host_time_s: float) -> PmdBlock | None:
        """One notification as it arrives; returns the samples it delivered, or None. Never raises
        on the payload's content."""
        data = bytes(payload)
        host = float(host_time_s)
        self._stats.packets += 1
        try:
            mtype = pmd.frame_header(data)[0]
        except pmd.PmdError as exc:
            self._report_malformed(exc.reason, str(exc), data, host)
            return None
        name = pmd.measurement_name(mtype)
        chain = self._chains.get(name)
        if chain is None:
            self._report_malformed(
                "unexpected_measurement", f"{name} frame, not started by tracker", data, host
            )
            return None
        if chain.sample_rate_hz is None:
            self._stats.held += 1
            if len(chain.held) >= self.hold_frames:
                old, old_host = chain.held.popleft()
                self._report_malformed(
                    "unconfigured", "frame before the sensor confirmed its settings", old, old_host
                )
            chain.held.append((data, host))
            return None
        return self._decode(chain, data, host)

    def feed_many(
        self, payloads: Sequence[bytes], host_times_s: Sequence[float] | np.ndarray
    ) -> PmdBlock | None:
        """Many notifications in arrival order with their host receive times (s)."""
        host = np.asarray(host_times_s, dtype=np.float64).reshape(-1)
        if host.shape[0] != len(payloads):
            raise ValueError(f"{len(payloads)} payloads but {host.shape[0]} host times")
        self._deferred = len(self.measurements) == 2
        try:
            blocks = [
                b
                for b in (self.feed(p, h) for p, h in zip(payloads, host.tolist(), strict=True))
                if b is not None
            ]
        finally:
            self._deferred = False
        if host.shape[0]:
            aligned = self._align(float(host[-1]))
            if aligned is not None:
                blocks.append(aligned)
        if not blocks:
            return None
        return PmdBlock(
            np.concatenate([b.t_sensor_s for b in blocks]),
            np.concatenate([b.acc_m_s2 for b in blocks]),
            np.concatenate([b.gyr_rad_s for b in blocks]),
            np.concatenate([b.host_time_s for b in blocks]),
            sum(b.lost_samples_before for b in blocks),
        )

    # --- one frame ---------------------------------------------------------------------------
    def _decode(self, chain: _Chain, data: bytes, host: float) -> PmdBlock | None:
        st = self._stats
        _, ts, ftype, _ = pmd.frame_header(data)
        prev = chain.prev_ts.get(ftype, 0)
        if prev and ts == prev:
            st.duplicates += 1
            return None
        if prev and ts < prev:
            if prev - ts <= CLOCK_RESET_NS:
                st.out_of_order += 1
                return None
            self._clock_reset(ts, host)
            prev = 0
        elif not prev and self._from_old_clock(ts, host):
            st.out_of_order += 1
            return None
        try:
            _, values, truncated, note = pmd.frame_values(data, factor=chain.factor)
        except pmd.PmdError as exc:
            self._report_malformed(exc.reason, str(exc), data, host)
            return None
        n = len(values)
        placed = self._place(chain, ts, n, truncated, prev) if n else (np.zeros(0, np.int64), 0)
        if placed is None:  # the SDK's error case: sample times before its epoch
            self._report_malformed(
                "timestamp", f"sample times before 2000-01-01 (frame at {ts} ns)", data, host
            )
            return None
        if truncated or note:
            st.cut_frames += 1
            self._log.warning(
                "cut",
                host,
                "PMD frame cut short or odd (%s), its complete samples kept: %s",
                note or "cut",
                data.hex(),
            )
        chain.prev_ts[ftype] = ts
        st.packets_delivered += 1
        st.frames_by_measurement[chain.name] += 1
        if not n:
            return None
        times, lost = placed
        if lost:
            st.gaps += 1
            st.lost_by_measurement[chain.name] += lost
            if chain.name == "ACC":
                st.lost_samples += lost
        st.samples_by_measurement[chain.name] += n
        if self._origin_ns is None:
            self._origin_ns = int(times[0])
        # integers first: ns since 2000 are beyond float64's exact range (2**53)
        t = (times - self._origin_ns).astype(np.float64) / 1e9 + self._offset_s
        self._last_t = max(self._last_t, float(t[-1]))
        self._last_host = host
        off = host - float(t[-1])
        self._host_offset = off if self._host_offset is None else min(self._host_offset, off)
        if chain.name == "ACC":
            return self._on_acc(t, values * pmd.MILLI_G_M_S2, host, lost)
        return self._on_gyro(t, values * _RAD_PER_DEG, host)

    def _place(
        self, chain: _Chain, ts: int, n: int, truncated: bool, prev: int
    ) -> tuple[np.ndarray, int] | None:
        """Sample times (ns, int64) and samples lost before them; None for times before the epoch.

        The SDK's rule (`pmd.sample_timestamps`) in integer arithmetic (its doubles are 128 ns
        coarse at today's timestamps, ns since 2000): spread evenly after the previous frame, or,
        for a first frame, back from its timestamp at the sample period. A frame cut short is
        timed from the previous frame (its timestamp belongs to samples that never came). A
        frame that follows a gap is placed back from its own timestamp at the measured period
        instead of being spread over the gap, and the samples of the gap are counted as lost."""
        period = chain.period_ns or 1e9 / float(chain.sample_rate_hz or 1.0)
        k = np.arange(n, dtype=np.int64)
        back = ts - np.rint((n - 1 - k) * period).astype(np.int64)
        if truncated and prev:
            return prev + np.rint((k + 1) * period).astype(np.int64), 0
        if not prev or truncated:
            return (back, 0) if back[0] > 0 else None
        span = ts - prev
        if span > GAP_FACTOR * n * period + period / 2:
            return back, max(0, round(span / period) - n)
        measured = span / n
        if abs(measured - period) < 0.1 * period:  # follow the sensor's real period slowly
            chain.period_ns = 0.9 * period + 0.1 * measured
        return prev + (span * (k + 1) + n // 2) // n, 0

    def _clock_reset(self, ts: int, host: float) -> None:
        """The sensor clock went back (it restarted): a new segment after the old one by host time."""
        self._stats.clock_resets += 1
        gap_s = max(host - self._last_host, 1e-3)
        self._offset_s = (self._last_t if math.isfinite(self._last_t) else 0.0) + gap_s
        self._origin_ns = None
        for chain in self._chains.values():
            chain.prev_ts.clear()
        self._reset_at = (ts, host)
        log.warning(
            "the sensor's clock went back: treated as a restarted sensor (%.1f s gap by host time)",
            gap_s,
        )

    def _from_old_clock(self, ts: int, host: float) -> bool:
        """After a reset, a stream's first frame far ahead of the new clock is a late frame of the
        old one (a minute of slack for frames in flight and an emulator running fast)."""
        if self._reset_at is None:
            return False
        ts0, host0 = self._reset_at
        return ts - ts0 > (max(0.0, host - host0) + 60.0) * 1e9

    # --- one stream or two ---------------------------------------------------------------------
    def _on_acc(self, t: np.ndarray, acc: np.ndarray, host: float, lost: int) -> PmdBlock | None:
        if self.keep_samples:
            self._acc_all.append((t, acc))
        self._pending_lost += lost
        if len(self.measurements) == 1:
            return self._emit(t, acc, np.full_like(acc, np.nan), host)
        self._acc_parts.append((t, acc))
        return None if self._deferred else self._align(host)

    def _on_gyro(self, t: np.ndarray, gyr: np.ndarray, host: float) -> PmdBlock | None:
        self._gyro_seen = True
        self._gyr_parts.append((t, gyr))
        return None if self._deferred else self._align(host)

    def _align(self, host: float) -> PmdBlock | None:
        """Deliver the pending accelerometer samples the gyro stream now covers."""
        from tracker.imu import align_streams

        if not self._gyr_parts or not self._acc_parts:
            return None
        gyr_t, gyr = _joined(self._gyr_parts)
        acc_t, acc = _joined(self._acc_parts)
        ready = int(np.searchsorted(acc_t, gyr_t[-1], side="right"))
        if ready == 0:
            return None
        t, acc_out, gyr_out = align_streams(
            acc_t[:ready], acc[:ready], gyr_t, gyr, max_gap_s=self.max_gap_s
        )
        self._stats.unaligned += ready - len(t)
        keep = max(0, int(np.searchsorted(gyr_t, acc_t[ready - 1], side="right")) - 1)
        self._acc_parts = [(acc_t[ready:], acc[ready:])] if ready < len(acc_t) else []
        self._gyr_parts = [(gyr_t[keep:], gyr[keep:])]
        if not len(t):
            return None
        return self._emit(t, acc_out, gyr_out, host)

    def _emit(self, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray, host: float) -> PmdBlock:
        lost, self._pending_lost = self._pending_lost, 0
        self._stats.samples += len(t)
        self._kept += len(t)
        if self.keep_samples:
            self._out.append((t, acc, gyr))
        return PmdBlock(t, acc, gyr, np.array([host]), int(lost))

    # --- logging ---------------------------------------------------------------------------------
    def _report_malformed(self, reason: str, what: str, data: bytes, host: float) -> None:
        st = self._stats
        st.malformed[reason] = st.malformed.get(reason, 0) + 1
        self._log.warning(reason, host, "PMD frame skipped (%s): %s", what, data[:64].hex())

    # --- results ------------------------------------------------------------------------------------
    @property
    def stats(self) -> PmdDecodeStats:
        return self._stats

    @property
    def samples_kept(self) -> int:
        return self._kept

    def host_time_at(self, t_sensor_s: float | np.ndarray) -> float | np.ndarray:
        """Host clock (the caller's, s) when the sensor took a sample at `t_sensor_s`: the lower
        envelope of receive time minus sensor time (radio latency only ever adds delay)."""
        t = np.asarray(t_sensor_s, dtype=np.float64)
        out = t + (self._host_offset or 0.0)
        return float(out) if out.ndim == 0 else out

    def _arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if len(self.measurements) == 2 and not self._gyro_seen and self._acc_all:
            # the gyro never streamed: what there is, is an accelerometer-only recording
            t = np.concatenate([a[0] for a in self._acc_all])
            acc = np.concatenate([a[1] for a in self._acc_all])
            return t, acc, np.full_like(acc, np.nan)
        if not self._out:
            return np.zeros(0), np.zeros((0, 3)), np.zeros((0, 3))
        return tuple(np.concatenate([o[k] for o in self._out]) for k in range(3))  # type: ignore[return-value]

    def t_sensor_s(self) -> np.ndarray:
        """(N,) sensor time of every kept sample, s since the decoder's origin."""
        return self._arrays()[0].copy()

    def to_recording(
        self,
        *,
        start_utc: datetime | None = None,
        calibration: Any = None,
        source: dict[str, Any] | None = None,
        utc_offset_s: int | None = None,
        timezone: str | None = None,
    ) -> Any:
        """Every kept sample as an `ImuRecording` (times from 0). `source` gets a `decode` entry
        with the statistics, and a note when a Verity Sense's gyro never streamed."""
        from tracker.imu import ImuRecording

        if not self.keep_samples:
            raise ValueError("this decoder was created with keep_samples=False")
        t, acc, gyr = self._arrays()
        src = dict(source or {})
        src["decode"] = self.stats.to_json()
        if len(self.measurements) == 2 and not self._gyro_seen and len(t):
            notes = list(src.get("notes", []))
            notes.append("the sensor sent no gyroscope data: this recording is accelerometer-only")
            src["notes"] = notes
        return ImuRecording(
            t_s=t - t[0] if len(t) else t,
            acc_m_s2=acc,
            gyr_rad_s=gyr,
            sampling_rate_hz=self.sample_rate_hz or 1.0,
            start_utc=start_utc,
            utc_offset_s=utc_offset_s,
            timezone=timezone,
            calibration=calibration,
            source=src,
        )

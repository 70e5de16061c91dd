"""From a stream of data notifications to timed IMU samples: the one decode path.

A live link feeds one notification at a time (`StreamDecoder.feed`), a capture replay feeds
thousands at once (`feed_many`, `feed_array`); both run the same vectorised code, so live and
replayed data decode identically.

What the decoder does with each notification (firmware_protocol.md, "Decoding a stream"):

1. decode it (`tracker.protocol.packets`); a malformed one is counted by reason and logged at
   WARNING with its hex (rate-limited), never raised;
2. unwrap the 32-bit µs timestamp: consecutive packets differ by a signed 32-bit step, so a wrap
   (every 71.6 min) and a late packet both come out right; after a silence longer than half the
   wrap period the host clock picks the number of wraps; a STREAM_START packet whose clock did not
   move forward marks a sensor reset, and the new stream is placed after the old one by host time;
3. drop packets whose samples were already delivered: duplicates (same sequence and timestamp as
   a recent packet) and stale out-of-order packets, each counted;
4. count lost samples in gaps from the timestamps (and lost packets from the sequence counter);
   a forward jump that neither the sequence counter, the SENSOR_OVERFLOW flag nor STREAM_START
   explains (beyond `max_unexplained_gap_s`) is implausible: that packet is dropped and counted;
5. estimate the sensor-to-host clock drift from the lower envelope of (host receive time - sensor
   time), because radio latency only ever adds delay.

Times: `t_sensor_s` is the unwrapped sensor clock in seconds since the first delivered sample.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

from tracker.protocol import packets, spec

log = logging.getLogger(__name__)

_WRAP = spec.TIMESTAMP_WRAP_US
_HALF_WRAP = _WRAP // 2
_SEQ_WRAP = spec.SEQUENCE_WRAP
_START = int(spec.PacketFlag.STREAM_START)
_OVERFLOW = int(spec.PacketFlag.SENSOR_OVERFLOW)
_CLIPPED = int(spec.PacketFlag.CLIPPED)


@dataclass(frozen=True)
class DecodedBlock:
    """The new samples one `feed` call delivered, in time order."""

    t_sensor_s: np.ndarray
    """(n,) float64 s: unwrapped sensor time since the decoder's first delivered sample."""
    acc_m_s2: np.ndarray
    """(n, 3) float64 m/s²: specific force in the sensor frame."""
    gyr_rad_s: np.ndarray
    """(n, 3) float64 rad/s: rotation rate in the sensor frame."""
    counts: np.ndarray
    """(n, 6) int16 raw counts ax, ay, az, gx, gy, gz as sent."""
    sequence: np.ndarray
    """(p,) uint16 sequence numbers of the packets delivered."""
    host_time_s: np.ndarray
    """(p,) float64 host receive time of those packets (the caller's clock)."""
    lost_samples_before: int
    """Samples lost in gaps between the previous block and the end of this one."""

    def __len__(self) -> int:
        return int(self.t_sensor_s.shape[0])


@dataclass
class DecodeStats:
    """Counters of a `StreamDecoder` (all since it was created)."""

    packets: int = 0
    """Notifications fed."""
    packets_delivered: int = 0
    samples: int = 0
    """Samples delivered."""
    malformed: dict[str, int] = field(default_factory=dict)
    """Malformed notifications by `MalformedReason` value."""
    duplicates: int = 0
    out_of_order: int = 0
    implausible: int = 0
    """Packets dropped for an unexplained forward time jump."""
    gaps: int = 0
    lost_samples: int = 0
    """Samples missing in gaps, from the sensor timestamps (includes time the link was down)."""
    lost_packets: int = 0
    """Packets missing according to the sequence counter (within a stream)."""
    stream_starts: int = 0
    clock_resets: int = 0
    timestamp_wraps: int = 0
    sensor_overflows: int = 0
    clipped_packets: int = 0
    drift_ppm: float | None = None
    """Estimated host-clock seconds per sensor-clock second, minus 1, in ppm (positive: the sensor
    clock runs slow). None until `drift_min_span_s` of data."""
    drift_trusted: bool = False
    """Whether `drift_ppm` is within `max_drift_ppm` (else it is reported but not applied)."""
    drift_note: str = ""

    @property
    def malformed_total(self) -> int:
        return sum(self.malformed.values())

    @property
    def loss_fraction(self) -> float:
        total = self.samples + self.lost_samples
        return self.lost_samples / total if total else 0.0

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["malformed_total"] = self.malformed_total
        out["loss_fraction"] = round(self.loss_fraction, 9)
        return out


class _Growable:
    """An append-only array with amortised O(1) appends (capacity doubling)."""

    def __init__(self, shape_tail: tuple[int, ...], dtype: Any, capacity: int = 4096) -> None:
        self._data = np.empty((capacity, *shape_tail), dtype)
        self.size = 0

    def extend(self, values: np.ndarray) -> None:
        n = values.shape[0]
        need = self.size + n
        if need > self._data.shape[0]:
            cap = max(need, 2 * self._data.shape[0])
            new = np.empty((cap, *self._data.shape[1:]), self._data.dtype)
            new[: self.size] = self._data[: self.size]
            self._data = new
        self._data[self.size : need] = values
        self.size = need

    def view(self) -> np.ndarray:
        return self._data[: self.size]


@dataclass
class _Segment:
    """Settings in force from sample `start` on."""

    start: int
    sample_rate_hz: float
    accel_range_g: int
    gyro_range_dps: int


class StreamDecoder:
    """Decode a live or replayed stream of data notifications into timed samples.

    Parameters
    ----------
    sample_rate_hz, accel_range_g, gyro_range_dps
        The sensor's settings (from the status record or the capture header). Change them with
        `configure` between streams.
    keep_samples
        Keep every delivered sample for `to_recording` (the offline path). A live view that only
        uses the returned blocks can pass False.
    max_drift_ppm
        Drift estimates beyond ± this are reported but not applied (a crystal is within ±100 ppm;
        a compressed demo timeline is far outside).
    drift_window_s, drift_min_span_s
        Window of the lower-envelope minimum, and the sensor-time span needed before drift is
        estimated.
    max_unexplained_gap_s
        Larger forward jumps must be explained by the sequence counter, SENSOR_OVERFLOW or
        STREAM_START, else the packet is dropped as implausible.
    log_first, log_interval_s
        Malformed-packet logging: the first `log_first` of each reason, then at most one per
        `log_interval_s` of host time (with the number suppressed).
    """

    def __init__(
        self,
        sample_rate_hz: float = spec.DEFAULT_SAMPLE_RATE_HZ,
        accel_range_g: int = spec.DEFAULT_ACCEL_RANGE_G,
        gyro_range_dps: int = spec.DEFAULT_GYRO_RANGE_DPS,
        *,
        keep_samples: bool = True,
        max_drift_ppm: float = 1000.0,
        drift_window_s: float = 5.0,
        drift_min_span_s: float = 60.0,
        max_unexplained_gap_s: float = 2.0,
        log_first: int = 5,
        log_interval_s: float = 10.0,
    ) -> None:
        self.keep_samples = keep_samples
        self.max_drift_ppm = float(max_drift_ppm)
        self.drift_window_s = float(drift_window_s)
        self.drift_min_span_s = float(drift_min_span_s)
        self.max_unexplained_gap_s = float(max_unexplained_gap_s)
        self.log_first = int(log_first)
        self.log_interval_s = float(log_interval_s)
        self.host_reference_ns: int | None = None
        """Set by a replay: host times fed are seconds after this host clock value (ns)."""
        self._stats = DecodeStats()
        self._segments: list[_Segment] = []
        self._set_settings(sample_rate_hz, accel_range_g, gyro_range_dps)
        # chain state: the previous valid packet in arrival order
        self._prev_ts_raw: int | None = None
        self._prev_unwrapped_us = 0
        self._prev_count = 0
        self._prev_seq = 0
        self._prev_host_s = 0.0
        self._last_end_us: float | None = (
            None  # sensor time of the last delivered sample (unwrapped µs)
        )
        self._origin_us: int | None = None
        self._recent_keys = np.zeros(0, np.int64)
        # drift: window index -> (min of host - sensor, sensor time at that minimum), seconds
        self._env: dict[int, tuple[float, float]] = {}
        self._drift_cache: tuple[int, float | None, bool, str, float, float] | None = None
        # malformed logging
        self._log_count: dict[str, int] = {}
        self._log_last: dict[str, float] = {}
        self._log_suppressed: dict[str, int] = {}
        # kept samples
        self._t = _Growable((), np.float64)
        self._counts = _Growable((6,), np.int16)

    # --- settings ------------------------------------------------------------------------
    def _set_settings(self, rate: float, acc: int, gyr: int) -> None:
        if not rate > 0:
            raise ValueError(f"sample rate must be positive; got {rate}")
        self.sample_rate_hz = float(rate)
        self.accel_range_g = int(acc)
        self.gyro_range_dps = int(gyr)
        self._period_us = 1e6 / self.sample_rate_hz
        self._acc_scale = spec.accel_scale_m_s2(self.accel_range_g)
        self._gyr_scale = spec.gyro_scale_rad_s(self.gyro_range_dps)
        start = self._t.size if hasattr(self, "_t") else 0
        if self._segments and self._segments[-1].start == start:
            self._segments.pop()
        self._segments.append(
            _Segment(start, self.sample_rate_hz, self.accel_range_g, self.gyro_range_dps)
        )

    def configure(self, sample_rate_hz: float, accel_range_g: int, gyro_range_dps: int) -> None:
        """New settings for the packets fed from now on (the sensor only changes them when idle)."""
        self._set_settings(sample_rate_hz, accel_range_g, gyro_range_dps)

    # --- feeding -------------------------------------------------------------------------
    def feed(
        self, payload: bytes | bytearray | memoryview, host_time_s: float
    ) -> DecodedBlock | None:
        """One notification as it arrives; returns the samples it delivered, or None. Never raises
        on the payload's content."""
        data = bytes(payload)
        return self.feed_many([data], np.array([host_time_s], dtype=np.float64))

    def feed_many(
        self, payloads: Sequence[bytes], host_times_s: np.ndarray | Sequence[float]
    ) -> DecodedBlock | None:
        """Many notifications in arrival order, with their host receive times (s)."""
        host = np.asarray(host_times_s, dtype=np.float64).reshape(-1)
        if host.shape[0] != len(payloads):
            raise ValueError(f"{len(payloads)} payloads but {host.shape[0]} host times")
        if not len(payloads):
            return None
        payloads = (
            [bytes(p) for p in payloads]
            if not all(type(p) is bytes for p in payloads)
            else payloads
        )
        batch = packets.decode_data_packets(payloads)
        return self._process(batch, host, lambda i: payloads[i])

    def feed_array(
        self, buffer: np.ndarray, offsets: np.ndarray, lengths: np.ndarray, host_times_s: np.ndarray
    ) -> DecodedBlock | None:
        """Notifications stored at `buffer[offsets[i]:offsets[i]+lengths[i]]` (a capture file read
        into memory), in arrival order, with their host receive times (s)."""
        host = np.asarray(host_times_s, dtype=np.float64).reshape(-1)
        if not host.shape[0]:
            return None
        batch = packets.decode_packet_array(buffer, offsets, lengths)
        buf = np.asarray(buffer, np.uint8)
        return self._process(
            batch, host, lambda i: buf[offsets[i] : offsets[i] + lengths[i]].tobytes()
        )

    # --- the one decode path -------------------------------------------------------------
    def _process(
        self, batch: packets.PacketBatch, host: np.ndarray, payload_of: Any
    ) -> DecodedBlock | None:
        st = self._stats
        st.packets += len(batch)
        bad = np.flatnonzero(batch.reason != 0)
        for i in bad:  # rare: a per-packet loop only over malformed packets
            self._report_malformed(payload_of(int(i)), float(host[i]))
        valid = np.flatnonzero(batch.reason == 0)
        if not valid.size:
            return None

        period = self._period_us
        ts = batch.timestamp_us[valid].astype(np.int64)
        seq = batch.sequence[valid].astype(np.int64)
        cnt = batch.count[valid].astype(np.int64)
        flg = batch.flags[valid].astype(np.int64)
        hst = host[valid]
        starts = (flg & _START) != 0
        st.stream_starts += int(starts.sum())
        st.sensor_overflows += int(((flg & _OVERFLOW) != 0).sum())
        st.clipped_packets += int(((flg & _CLIPPED) != 0).sum())

        # previous valid packet (arrival order) for every packet of the batch
        first = self._prev_ts_raw is None
        prev_ts = np.concatenate([[self._prev_ts_raw if not first else ts[0]], ts[:-1]])
        prev_cnt = np.concatenate([[self._prev_count if not first else cnt[0]], cnt[:-1]])
        prev_seq = np.concatenate([[self._prev_seq if not first else seq[0]], seq[:-1]])
        prev_host = np.concatenate([[self._prev_host_s if not first else hst[0]], hst[:-1]])

        # 1. unwrap: signed 32-bit steps along the arrival chain
        raw_step = (ts - prev_ts) % _WRAP
        step = np.where(raw_step >= _HALF_WRAP, raw_step - _WRAP, raw_step)
        host_dt_us = (hst - prev_host) * 1e6
        long_silence = host_dt_us > _HALF_WRAP
        if long_silence.any():  # more than 35 min without packets: the host clock counts the wraps
            k = np.maximum(0, np.rint((host_dt_us - raw_step) / _WRAP))
            step = np.where(long_silence, raw_step + k.astype(np.int64) * _WRAP, step)
        keys = (seq << 32) | (ts & 0xFFFFFFFF)
        reset = starts & (step <= 0) & ~long_silence
        if first:
            reset[0] = False
            step[0] = 0
        for i in np.flatnonzero(
            reset
        ):  # a repeated STREAM_START packet is a duplicate, not a reset
            if keys[i] in self._recent_keys or keys[i] in keys[:i]:
                reset[i] = False
        if reset.any():  # the sensor's clock restarted: continue after the old stream by host time
            st.clock_resets += int(reset.sum())
            span = (prev_cnt - 1) * period
            st_host = np.maximum(host_dt_us, period)
            step = np.where(reset, np.rint(span + st_host).astype(np.int64), step)
        st.timestamp_wraps += int(((step > 0) & (ts < prev_ts) & ~reset).sum())
        if first:
            base = int(ts[0])
            self._origin_us = base
        else:
            base = self._prev_unwrapped_us
        t0 = base + np.cumsum(step)  # unwrapped µs of each packet's first sample
        end = t0 + (cnt - 1) * period

        # 2. sequence cross-check of forward jumps
        seq_step = (seq - prev_seq) % _SEQ_WRAP
        if first:
            seq_step[0] = 1
        explained = starts | ((flg & _OVERFLOW) != 0)
        # time the missing packets would have covered, if they had the previous packet's size
        seq_expect_us = (seq_step - 1) * prev_cnt * period
        last_end = -np.inf if self._last_end_us is None else self._last_end_us

        # 3. accept packets that move forward; running max over accepted packets only
        gap_us = np.empty(len(t0))
        accepted = np.zeros(len(t0), bool)
        # Vectorised in the common case (every packet moves forward); a per-packet pass only over
        # the stretch after a packet that does not.
        prev_max = np.maximum.accumulate(np.concatenate([[last_end], end[:-1]]))
        fwd = t0 > prev_max + period / 2
        if fwd.all():
            gap_us[:] = t0 - prev_max
            accepted[:] = True
            running = float(end[-1])
        else:
            running = last_end
            for i in range(len(t0)):
                gap_us[i] = t0[i] - running
                if gap_us[i] > period / 2:
                    accepted[i] = True
                    running = max(running, float(end[i]))
        gap_samples = np.where(np.isfinite(gap_us), np.rint(gap_us / period) - 1, 0)
        jump_s = np.where(np.isfinite(gap_us), (gap_us - period) / 1e6, 0.0)
        seq_ok = (
            np.abs(gap_us - period - seq_expect_us) <= 0.25 * np.maximum(seq_expect_us, 0) + 2e6
        )
        implausible = accepted & (jump_s > self.max_unexplained_gap_s) & ~explained & ~seq_ok
        if implausible.any():
            st.implausible += int(implausible.sum())
            accepted &= ~implausible
            # recompute the running maximum without the dropped packets
            running = last_end
            for i in range(len(t0)):
                if accepted[i]:
                    gap_us[i] = t0[i] - running
                    if gap_us[i] > period / 2:
                        running = max(running, float(end[i]))
                    else:
                        accepted[i] = False
                elif not implausible[i]:
                    gap_us[i] = t0[i] - running
            gap_samples = np.where(np.isfinite(gap_us), np.rint(gap_us / period) - 1, 0)

        rejected = ~accepted & ~implausible
        if rejected.any():
            known = np.concatenate([self._recent_keys, keys[accepted]])
            dup = rejected & np.isin(keys, known)
            st.duplicates += int(dup.sum())
            st.out_of_order += int((rejected & ~dup).sum())
        self._recent_keys = np.concatenate([self._recent_keys, keys[accepted]])[-1024:]

        # chain state moves to the last valid packet whatever happened to it
        self._prev_ts_raw = int(ts[-1])
        self._prev_unwrapped_us = int(t0[-1])
        self._prev_count = int(cnt[-1])
        self._prev_seq = int(seq[-1])
        self._prev_host_s = float(hst[-1])
        if not accepted.any():
            return None
        self._last_end_us = (
            float(end[accepted].max())
            if self._last_end_us is None
            else max(self._last_end_us, float(end[accepted].max()))
        )

        # 4. gaps and losses among delivered packets (resets are not losses we can count)
        lost = np.where(accepted & ~reset & (gap_samples > 0), gap_samples, 0).astype(np.int64)
        st.gaps += int((lost > 0).sum())
        n_lost = int(lost.sum())
        st.lost_samples += n_lost
        st.lost_packets += int(np.where(accepted & ~starts & (seq_step > 1), seq_step - 1, 0).sum())

        # 5. samples of the delivered packets
        acc_idx = valid[accepted]
        a_cnt = cnt[accepted]
        total = int(a_cnt.sum())
        src_start = batch.sample_start[acc_idx]
        if total == batch.samples.shape[0]:
            counts = batch.samples
        else:
            rep_start = np.repeat(src_start - np.concatenate([[0], np.cumsum(a_cnt)[:-1]]), a_cnt)
            counts = batch.samples[rep_start + np.arange(total)]
        within = np.arange(total) - np.repeat(np.concatenate([[0], np.cumsum(a_cnt)[:-1]]), a_cnt)
        t_us = np.repeat(t0[accepted], a_cnt) + within * period
        t_s = (t_us - self._origin_us) / 1e6
        acc = counts[:, :3] * self._acc_scale
        gyr = counts[:, 3:] * self._gyr_scale
        st.packets_delivered += int(accepted.sum())
        st.samples += total

        # 6. drift envelope: host receive time against the packet's last sample
        x = (end[accepted] - self._origin_us) / 1e6
        r = hst[accepted] - x
        self._update_envelope(x, r)

        if self.keep_samples:
            self._t.extend(t_s)
            self._counts.extend(counts)
        return DecodedBlock(
            t_sensor_s=t_s,
            acc_m_s2=acc,
            gyr_rad_s=gyr,
            counts=counts,
            sequence=seq[accepted].astype(np.uint16),
            host_time_s=hst[accepted],
            lost_samples_before=n_lost,
        )

    def _report_malformed(self, payload: bytes, host_time_s: float) -> None:
        result = packets.decode_data_packet(payload)
        if not isinstance(result, packets.Malformed):  # cannot happen: batch and scalar agree
            return
        reason = result.reason.value
        st = self._stats
        st.malformed[reason] = st.malformed.get(reason, 0) + 1
        seen = self._log_count.get(reason, 0) + 1
        self._log_count[reason] = seen
        last = self._log_last.get(reason)
        if seen <= self.log_first or last is None or host_time_s - last >= self.log_interval_s:
            suppressed = self._log_suppressed.pop(reason, 0)
            more = f" ({suppressed} more since the last report)" if suppressed else ""
            log.warning("malformed data packet skipped: %s%s", result, more)
            self._log_last[reason] = host_time_s
        else:
            self._log_suppressed[reason] = self._log_suppressed.get(reason, 0) + 1

    # --- clock drift ---------------------------------------------------------------------
    def _update_envelope(self, x: np.ndarray, r: np.ndarray) -> None:
        w = np.floor(x / self.drift_window_s).astype(np.int64)
        if w.shape[0] == 1:
            key, rv, xv = int(w[0]), float(r[0]), float(x[0])
            old = self._env.get(key)
            if old is None or rv < old[0]:
                self._env[key] = (rv, xv)
            return
        order = np.lexsort((r, w))
        ws = w[order]
        firsts = np.concatenate([[True], ws[1:] != ws[:-1]])
        for key, rv, xv in zip(
            ws[firsts].tolist(), r[order][firsts].tolist(), x[order][firsts].tolist(), strict=True
        ):
            old = self._env.get(key)
            if old is None or rv < old[0]:
                self._env[key] = (rv, xv)

    def _fit_drift(self) -> tuple[float | None, bool, str, float, float]:
        """(drift_ppm, trusted, note, intercept_s, slope) of the lower envelope r = a + slope * x."""
        n = len(self._env)
        if self._drift_cache is not None and self._drift_cache[0] == n:
            return self._drift_cache[1:]
        if n == 0:
            out: tuple[float | None, bool, str, float, float] = (
                None,
                False,
                "no data yet",
                0.0,
                0.0,
            )
            self._drift_cache = (n, *out)
            return out
        vals = np.array(list(self._env.values()))
        r, x = vals[:, 0], vals[:, 1]
        span = float(x.max() - x.min())
        if n < 4 or span < self.drift_min_span_s:
            a = float(r.min())
            out = (
                None,
                False,
                f"not enough data for a drift estimate ({span:.0f} s of {self.drift_min_span_s:.0f} s)",
                a,
                0.0,
            )
            self._drift_cache = (n, *out)
            return out
        keep = np.ones(n, bool)
        slope = a = 0.0
        for _ in range(4):  # least squares, then drop windows that sit high above the envelope
            slope, a = np.polyfit(x[keep], r[keep], 1)
            res = r - (a + slope * x)
            mad = np.median(np.abs(res[keep] - np.median(res[keep]))) + 1e-6
            new_keep = res <= np.median(res[keep]) + 3 * 1.4826 * mad
            if new_keep.sum() < 4 or np.array_equal(new_keep, keep):
                break
            keep = new_keep
        # the envelope is the lowest line: shift it down onto the lowest kept window
        a = float(a + (r - (a + slope * x))[keep].min())
        ppm = float(slope * 1e6)
        trusted = abs(ppm) <= self.max_drift_ppm
        note = (
            f"sensor-to-host clock drift {ppm:+.1f} ppm over {span:.0f} s"
            if trusted
            else f"drift estimate {ppm:+.0f} ppm is beyond ±{self.max_drift_ppm:.0f} ppm (host times compressed "
            "or unreliable); sensor time kept"
        )
        out = (ppm, trusted, note, a, float(slope))
        self._drift_cache = (n, *out)
        return out

    @property
    def stats(self) -> DecodeStats:
        """Counters so far, with the current drift estimate."""
        ppm, trusted, note, _, _ = self._fit_drift()
        self._stats.drift_ppm = None if ppm is None else round(ppm, 3)
        self._stats.drift_trusted = trusted
        self._stats.drift_note = note
        return self._stats

    def host_time_at(self, t_sensor_s: float | np.ndarray) -> float | np.ndarray:
        """Host clock (the caller's, s) when the sensor took a sample at `t_sensor_s`, from the
        lower envelope: the least-delayed packets best show when samples were taken. Uses the
        drift only when trusted."""
        ppm, trusted, _, a, slope = self._fit_drift()
        if not trusted:
            slope = 0.0
            if self._env:
                vals = np.array(list(self._env.values()))
                # offset from the earliest windows, where an untrusted slope has done least harm
                a = float(vals[np.argsort(vals[:, 1])[:3], 0].min())
        t = np.asarray(t_sensor_s, dtype=np.float64)
        out = t + a + slope * t
        return float(out) if out.ndim == 0 else out

    # --- offline result ------------------------------------------------------------------
    @property
    def samples_kept(self) -> int:
        return self._t.size

    def to_recording(
        self,
        *,
        start_utc: datetime | None = None,
        calibration: Any = None,
        source: dict[str, Any] | None = None,
        utc_offset_s: int | None = None,
        timezone: str | None = None,
    ):
        """Every kept sample as an `ImuRecording`: times from the sensor clock, from 0, scaled onto
        the host timeline by the drift when the estimate is trusted. `source` gets a `decode`
        entry with the statistics."""
        from tracker.imu import ImuRecording

        if not self.keep_samples:
            raise ValueError("this decoder was created with keep_samples=False")
        stats = self.stats
        t = self._t.view()
        counts = self._counts.view()
        if t.size:
            t_s = t - t[0]
            if stats.drift_trusted and stats.drift_ppm is not None:
                t_s = t_s * (1.0 + stats.drift_ppm * 1e-6)
        else:
            t_s = t.copy()
        acc = np.empty((t.size, 3))
        gyr = np.empty((t.size, 3))
        bounds = [s.start for s in self._segments] + [t.size]
        for seg, stop in zip(self._segments, bounds[1:], strict=True):
            sl = slice(seg.start, stop)
            acc[sl] = counts[sl, :3] * spec.accel_scale_m_s2(seg.accel_range_g)
            gyr[sl] = counts[sl, 3:] * spec.gyro_scale_rad_s(seg.gyro_range_dps)
        src = dict(source or {})
        src["decode"] = stats.to_json()
        if len({s.sample_rate_hz for s in self._segments}) > 1:
            src["settings_segments"] = [asdict(s) for s in self._segments]
        return ImuRecording(
            t_s=t_s,
            acc_m_s2=acc,
            gyr_rad_s=gyr,
            sampling_rate_hz=self._segments[-1].sample_rate_hz,
            start_utc=start_utc,
            utc_offset_s=utc_offset_s,
            timezone=timezone,
            calibration=calibration,
            source=src,
        )

    def counts(self) -> np.ndarray:
        """(N, 6) int16 raw counts of every kept sample (for bit-exact comparisons)."""
        return self._counts.view().copy()

    def t_sensor_s(self) -> np.ndarray:
        """(N,) sensor time of every kept sample, s since the first."""
        return self._t.view().copy()

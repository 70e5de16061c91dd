"""From a stream of data notifications to timed IMU samples: the one decode path.

A live link feeds one notification at a time (`StreamDecoder.feed`), a capture replay feeds
thousands at once (`feed_many`, `feed_array`). Both follow the same rules and give bit-identical
results: a batch is decoded by a vectorised pass over its leading stretch of packets that simply
continue the stream (the common case: thousands at a time), and any packet that does not (a
duplicate, a late or implausible packet, a resynchronisation) goes through the per-packet state
machine that `feed` uses for every packet (cheap: `struct` for the header, one `frombuffer` for
the samples).

What the decoder does with each notification (firmware_protocol.md, "Decoding a stream"):

1. decode it (`tracker.protocol.packets`); a malformed one is counted by reason and logged at
   WARNING with its hex (rate-limited), never raised;
2. unwrap the 32-bit µs timestamp against the last delivered packet: the step is a signed 32-bit
   number, so a wrap (every 71.6 min) and a late packet both come out right; after a silence longer
   than half the wrap period the host clock picks the number of wraps; a STREAM_START packet whose
   clock did not move forward marks a sensor reset, and the new stream is placed after the old one
   by host time;
3. drop packets whose samples were already delivered: duplicates (same sequence and timestamp as
   a recent packet) and stale out-of-order packets, each counted;
4. count lost samples in gaps from the timestamps (and lost packets from the sequence counter when
   it agrees with them; a counter that jumped is counted in `sequence_jumps`); a forward jump that
   neither the sequence counter, the SENSOR_OVERFLOW flag nor STREAM_START explains (beyond
   `max_unexplained_gap_s`) is implausible: that packet is dropped and counted;
5. resynchronise: rejected packets (implausible or out of order, not duplicates) that follow each
   other (sequence +1.., timestamps one packet apart at the configured rate) form a candidate
   chain; once `resync_packets` of them agree, the decoder abandons the old chain and continues
   from the new one, delivering the candidates too. This is how it recovers when the STREAM_START
   packet of a new stream is lost (reconnect, sensor reboot) or the sensor clock jumps. When the
   sensor clock ran on (the timestamp gap matches the host-time gap) the new chain is placed by its
   timestamps and the gap's lost samples are counted from them; otherwise its clock restarted or
   jumped, and it is placed after the old chain by host time (a clock reset). A single wild packet
   never takes over: the next good packet continues the old chain and drops the candidates;
6. estimate the sensor-to-host clock drift from the lower envelope of (host receive time - sensor
   time), because radio latency only ever adds delay.

Times: `t_sensor_s` is the unwrapped sensor clock in seconds since the first delivered sample.
"""

from __future__ import annotations

import logging
import math
import struct
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, cast

import numpy as np

from tracker.protocol import packets, spec
from tracker.protocol.clock_drift import LowerEnvelopeDrift
from tracker.protocol.decoded import DecodedBlock, DecodeStats
from tracker.protocol.ratelog import RateLimitedLog
from tracker.protocol.stream_resync import MAX_SILENCE_US as _MAX_SILENCE_US
from tracker.protocol.stream_resync import Candidate, ChainResync
from tracker.protocol.stream_resync import Piece as _Piece

__all__ = ["DecodeStats", "DecodedBlock", "StreamDecoder"]

log = logging.getLogger(__name__)

_WRAP = spec.TIMESTAMP_WRAP_US
_HALF_WRAP = _WRAP // 2
_SEQ_WRAP = spec.SEQUENCE_WRAP
_START = int(spec.PacketFlag.STREAM_START)
_OVERFLOW = int(spec.PacketFlag.SENSOR_OVERFLOW)
_CLIPPED = int(spec.PacketFlag.CLIPPED)
_HEADER = struct.Struct(spec.HEADER_FORMAT)
_HEADER_SIZE = spec.HEADER_SIZE
_SAMPLE_SIZE = spec.SAMPLE_SIZE
_COUNT_MASK = spec.COUNT_MASK
_MAX_COUNT = spec.MAX_SAMPLES_PER_PACKET
_VERSION = spec.PROTOCOL_VERSION
_RECENT_KEYS = 1024
"""Delivered (sequence, timestamp) keys remembered for duplicate detection."""
_FIRST_WINDOW = 64
"""Packets in the first vectorised pass after an irregular packet (doubles while clean)."""
_MAX_HOST_S = 1e12
"""Host times are clipped to +-this (31,700 years); a NaN host time repeats the one before."""


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


class _RecentKeys:
    """The (sequence << 32 | timestamp) keys of the last `size` delivered packets: O(1) lookups."""

    def __init__(self, size: int = _RECENT_KEYS) -> None:
        self.size = size
        self._order: deque[int] = deque()
        self._count: dict[int, int] = {}

    def add(self, key: int) -> None:
        self._order.append(key)
        count = self._count
        count[key] = count.get(key, 0) + 1
        if len(self._order) > self.size:
            old = self._order.popleft()
            left = count[old] - 1
            if left:
                count[old] = left
            else:
                del count[old]

    def extend(self, keys: np.ndarray) -> None:
        new = keys[-self.size :].tolist()
        if len(new) < self.size // 8:  # a few keys: cheaper one by one
            for key in new:
                self.add(key)
            return
        # many keys: the window is the old tail plus these, counted in C (a batch of a whole
        # capture file would otherwise cost `size` Python calls per vectorised pass)
        keep = max(0, len(self._order) + len(new) - self.size)
        order = [*list(self._order)[keep:], *new] if keep < len(self._order) else new
        self._order = deque(order)
        self._count = dict(Counter(order))

    def __contains__(self, key: int) -> bool:
        return key in self._count


@dataclass
class _Segment:
    """Settings in force from sample `start` on."""

    start: int
    sample_rate_hz: float
    accel_range_g: int
    gyro_range_dps: int


@dataclass
class _Valid:
    """The valid packets of a batch, as int64/float64 columns, with their samples."""

    ts: np.ndarray
    seq: np.ndarray
    cnt: np.ndarray
    flags: np.ndarray
    host: np.ndarray
    sample_start: np.ndarray
    samples: np.ndarray




class StreamDecoder(ChainResync):
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
    resync_packets
        Consecutive rejected packets that must agree with each other (sequence and timestamps at
        the configured rate) before the decoder abandons its chain for theirs. 3 is enough that a
        wild packet (or two) never takes over, and loses at most 3 packets' latency.
    log_first, log_interval_s
        Malformed-packet, implausible-packet and resynchronisation logging: the first `log_first`
        of each kind, then at most one per `log_interval_s` of host time (with the number
        suppressed).
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
        resync_packets: int = 3,
        log_first: int = 5,
        log_interval_s: float = 10.0,
    ) -> None:
        if int(resync_packets) < 2:
            raise ValueError(
                f"resync_packets must be at least 2 (one packet could hijack the stream); got {resync_packets}"
            )
        self.keep_samples = keep_samples
        self.max_unexplained_gap_s = float(max_unexplained_gap_s)
        self.resync_packets = int(resync_packets)
        self._log = RateLimitedLog(log, log_first, log_interval_s)
        self._last_host_s = 0.0  # the last host time fed (stands in for a NaN one)
        self.host_reference_ns: int | None = None
        """Set by a replay: host times fed are seconds after this host clock value (ns)."""
        self._stats = DecodeStats()
        self._segments: list[_Segment] = []
        # kept samples
        self._t = _Growable((), np.float64)
        self._counts = _Growable((6,), np.int16)
        self._set_settings(sample_rate_hz, accel_range_g, gyro_range_dps)
        # chain state: the last delivered packet (the reference every new packet is unwrapped and
        # judged against; rejected packets never move it)
        self._prev_ts_raw: int | None = None
        self._prev_unwrapped_us = 0
        self._prev_count = 0
        self._prev_seq = 0
        self._prev_host_s = 0.0
        self._last_end_us = -math.inf  # sensor time of the last delivered sample (unwrapped µs)
        self._origin_us = 0
        self._recent = _RecentKeys()
        self._cands: list[Candidate] = []
        self._rejected_run = 0  # packets rejected (not duplicates) since the last delivery
        self._drift = LowerEnvelopeDrift(drift_window_s, drift_min_span_s, max_drift_ppm)

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
        # offsets of a packet's samples from its first, µs (the live path's per-call arange)
        self._k_period = [np.arange(k) * self._period_us for k in range(_MAX_COUNT + 1)]
        start = self._t.size
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
        on the payload's content. The live path: a few µs of Python, no batch machinery."""
        data = payload if type(payload) is bytes else bytes(payload)
        host = float(host_time_s)
        if not -_MAX_HOST_S <= host <= _MAX_HOST_S:  # NaN, inf, 1e300: see _MAX_HOST_S
            host = self._last_host_s if host != host else math.copysign(_MAX_HOST_S, host)
        self._last_host_s = host
        self._stats.packets += 1
        n = len(data)
        if n >= _HEADER_SIZE:
            version, count_flags, seq, ts = _HEADER.unpack_from(data)
            cnt = count_flags & _COUNT_MASK
            if (
                version == _VERSION
                and 1 <= cnt <= _MAX_COUNT
                and n == _HEADER_SIZE + _SAMPLE_SIZE * cnt
            ):
                counts = np.frombuffer(data, "<i2", offset=_HEADER_SIZE).reshape(cnt, 6).copy()
                pieces: list[_Piece] = []
                self._one(ts, seq, cnt, count_flags & ~_COUNT_MASK, host, counts, pieces)
                return self._block(pieces)
        self._report_malformed(data, host)
        return None

    def feed_many(
        self, payloads: Sequence[bytes], host_times_s: np.ndarray | Sequence[float]
    ) -> DecodedBlock | None:
        """Many notifications in arrival order, with their host receive times (s)."""
        host = self._sane_hosts(host_times_s)
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
        host = self._sane_hosts(host_times_s)
        if not host.shape[0]:
            return None
        batch = packets.decode_packet_array(buffer, offsets, lengths)
        buf = np.asarray(buffer, np.uint8)
        return self._process(
            batch, host, lambda i: buf[offsets[i] : offsets[i] + lengths[i]].tobytes()
        )

    def _sane_hosts(self, host_times_s: np.ndarray | Sequence[float]) -> np.ndarray:
        """Host times as `feed` takes them one by one: clipped to +-_MAX_HOST_S, a NaN replaced
        by the host time before it."""
        host = np.array(host_times_s, dtype=np.float64).reshape(-1)
        if not host.size:
            return host
        if not np.isfinite(host).all() or np.abs(host).max() > _MAX_HOST_S:
            nan = np.isnan(host)
            host = np.clip(np.where(nan, 0.0, host), -_MAX_HOST_S, _MAX_HOST_S)
            if nan.any():
                idx = np.where(nan, -1, np.arange(host.size))
                idx = np.maximum.accumulate(idx)
                host = np.where(idx < 0, self._last_host_s, host[np.maximum(idx, 0)])
        self._last_host_s = float(host[-1])
        return host

    # --- the batch path ------------------------------------------------------------------
    def _process(
        self, batch: packets.PacketBatch, host: np.ndarray, payload_of: Any
    ) -> DecodedBlock | None:
        self._stats.packets += len(batch)
        bad = np.flatnonzero(batch.reason != 0)
        for i in bad:  # rare: a per-packet loop only over malformed packets
            self._report_malformed(payload_of(int(i)), float(host[i]))
        valid = np.flatnonzero(batch.reason == 0)
        if not valid.size:
            return None
        v = _Valid(
            ts=batch.timestamp_us[valid].astype(np.int64),
            seq=batch.sequence[valid].astype(np.int64),
            cnt=batch.count[valid].astype(np.int64),
            flags=batch.flags[valid].astype(np.int64),
            host=host[valid],
            sample_start=batch.sample_start[valid],
            samples=batch.samples,
        )
        pieces: list[_Piece] = []
        n = int(valid.size)
        pos = 0
        window = n
        while pos < n:
            stop = min(n, pos + window)
            pos += self._prefix(v, pos, stop, pieces)
            if pos < stop:  # packet `pos` does not simply continue the chain: one at a time
                s = int(v.sample_start[pos])
                c = int(v.cnt[pos])
                self._one(
                    int(v.ts[pos]),
                    int(v.seq[pos]),
                    c,
                    int(v.flags[pos]),
                    float(v.host[pos]),
                    v.samples[s : s + c],
                    pieces,
                )
                pos += 1
                window = _FIRST_WINDOW
            else:
                window *= 2
        return self._block(pieces)

    def _prefix(self, v: _Valid, a: int, b: int, pieces: list[_Piece]) -> int:
        """Deliver, vectorised, the leading packets of v[a:b] that simply continue the chain
        (forward in time, no implausible jump); returns how many. The rules are those of `_one`."""
        st = self._stats
        period = self._period_us
        n = b - a
        ts, seq, cnt = v.ts[a:b], v.seq[a:b], v.cnt[a:b]
        flg, hst = v.flags[a:b], v.host[a:b]
        first = self._prev_ts_raw is None
        # the reference of packet i is packet i-1 (if it is delivered, which is all that matters)
        prev_ts = np.empty(n, np.int64)
        prev_seq = np.empty(n, np.int64)
        prev_cnt = np.empty(n, np.int64)
        prev_host = np.empty(n, np.float64)
        prev_ts[1:], prev_seq[1:], prev_cnt[1:], prev_host[1:] = (
            ts[:-1],
            seq[:-1],
            cnt[:-1],
            hst[:-1],
        )
        if first:
            prev_ts[0], prev_seq[0], prev_cnt[0], prev_host[0] = ts[0], seq[0], cnt[0], hst[0]
            base = int(ts[0])
        else:
            prev_ts[0], prev_seq[0] = cast(int, self._prev_ts_raw), self._prev_seq
            prev_cnt[0], prev_host[0] = self._prev_count, self._prev_host_s
            base = self._prev_unwrapped_us

        # unwrap: signed 32-bit steps
        raw_step = (ts - prev_ts) % _WRAP
        step = np.where(raw_step >= _HALF_WRAP, raw_step - _WRAP, raw_step)
        host_dt_us = np.clip((hst - prev_host) * 1e6, -_MAX_SILENCE_US, _MAX_SILENCE_US)
        long_silence = (host_dt_us > _HALF_WRAP) & (host_dt_us < _MAX_SILENCE_US)
        if long_silence.any():  # more than 35 min without packets: the host clock counts the wraps
            wraps = np.maximum(0, np.rint((host_dt_us - raw_step) / _WRAP))
            step = np.where(long_silence, raw_step + wraps.astype(np.int64) * _WRAP, step)
        starts = (flg & _START) != 0
        keys = (seq << 32) | ts
        reset = starts & (step <= 0) & ~long_silence
        if first:
            reset[0] = False
            step[0] = 0
        for i in np.flatnonzero(reset):  # a repeated STREAM_START packet is a duplicate
            if int(keys[i]) in self._recent or keys[i] in keys[:i]:
                reset[i] = False
        if reset.any():  # the sensor's clock restarted: continue after the old stream by host time
            span = (prev_cnt - 1) * period
            step = np.where(
                reset, np.rint(span + np.maximum(host_dt_us, period)).astype(np.int64), step
            )
        t0 = base + np.cumsum(step)  # unwrapped µs of each packet's first sample
        end = t0 + (cnt - 1) * period
        prev_end = np.empty(n)
        prev_end[0] = self._last_end_us
        prev_end[1:] = end[:-1]
        gap_us = t0 - prev_end
        seq_step = (seq - prev_seq) % _SEQ_WRAP
        seq_expect_us = (seq_step - 1) * prev_cnt * period
        with np.errstate(invalid="ignore"):  # the first packet ever: gap is +inf
            seq_ok = (
                np.abs(gap_us - period - seq_expect_us) <= 0.25 * np.maximum(seq_expect_us, 0) + 2e6
            )
            good = gap_us > period / 2
            jump_s = (gap_us - period) / 1e6
            explained = starts | ((flg & _OVERFLOW) != 0) | reset | seq_ok
            good &= ~((jump_s > self.max_unexplained_gap_s) & ~explained)
        if first:
            good[0] = True
        k = n if good.all() else int(np.argmin(good))
        if k == 0:
            return 0

        # commit packets [a, a + k)
        if k < n:
            ts, seq, cnt, flg, hst = ts[:k], seq[:k], cnt[:k], flg[:k], hst[:k]
            prev_ts, starts, keys, reset = prev_ts[:k], starts[:k], keys[:k], reset[:k]
            step, t0, end, gap_us = step[:k], t0[:k], end[:k], gap_us[:k]
            seq_step, seq_ok = seq_step[:k], seq_ok[:k]
        if first:
            self._origin_us = int(ts[0])
        st.stream_starts += int(starts.sum())
        st.sensor_overflows += int(((flg & _OVERFLOW) != 0).sum())
        st.clipped_packets += int(((flg & _CLIPPED) != 0).sum())
        st.clock_resets += int(reset.sum())
        st.timestamp_wraps += int(((step > 0) & (ts < prev_ts) & ~reset).sum())
        with np.errstate(invalid="ignore"):
            gap_samples = np.rint(gap_us / period) - 1
        counted = ~reset & (gap_samples > 0)
        seq_gap = ~starts & (seq_step > 1)
        if first:
            counted[0] = False
            seq_gap[0] = False
        lost = np.where(counted, gap_samples, 0).astype(np.int64)
        st.gaps += int(counted.sum())
        n_lost = int(lost.sum())
        st.lost_samples += n_lost
        st.lost_packets += int(np.where(seq_gap & seq_ok, seq_step - 1, 0).sum())
        st.sequence_jumps += int((seq_gap & ~seq_ok).sum())
        st.packets_delivered += k

        s0 = int(v.sample_start[a])
        s1 = int(v.sample_start[a + k - 1] + cnt[-1])
        counts = v.samples[s0:s1]
        total = s1 - s0
        rel = t0 - self._origin_us
        if total == k:  # one sample per packet (MTU 23)
            t_s = (rel + 0.0) / 1e6
        else:
            first_of = np.zeros(k, np.int64)
            np.cumsum(cnt[:-1], out=first_of[1:])
            within = np.arange(total) - np.repeat(first_of, cnt)
            t_s = (np.repeat(rel, cnt) + within * period) / 1e6
        st.samples += total
        self._drift.extend((end - self._origin_us) / 1e6, hst - (end - self._origin_us) / 1e6)
        if self.keep_samples:
            self._t.extend(t_s)
            self._counts.extend(counts)
        self._recent.extend(keys)
        self._prev_ts_raw = int(ts[-1])
        self._prev_unwrapped_us = int(t0[-1])
        self._prev_count = int(cnt[-1])
        self._prev_seq = int(seq[-1])
        self._prev_host_s = float(hst[-1])
        self._last_end_us = float(end[-1])
        self._abandon(float(hst[0]))  # the old chain continues: candidates are dropped for good
        self._rejected_run = 0
        pieces.append((t_s, counts, seq.astype(np.uint16), hst, n_lost))
        return k

    # --- the per-packet path (live, and irregular stretches of a batch) ------------------
    def _one(
        self,
        ts: int,
        seq: int,
        cnt: int,
        flags: int,
        host: float,
        counts: np.ndarray,
        pieces: list[_Piece],
    ) -> None:
        """Judge one valid packet against the chain; deliver it, drop it, or resynchronise."""
        st = self._stats
        start = flags & _START
        overflow = flags & _OVERFLOW
        if start:
            st.stream_starts += 1
        if overflow:
            st.sensor_overflows += 1
        if flags & _CLIPPED:
            st.clipped_packets += 1
        key = (seq << 32) | ts
        if self._prev_ts_raw is None:  # the first packet ever starts the chain
            self._origin_us = ts
            self._deliver(ts, ts, seq, cnt, host, counts, key, pieces, first=True)
            return
        period = self._period_us
        prev_ts = self._prev_ts_raw
        raw = (ts - prev_ts) % _WRAP
        step = raw - _WRAP if raw >= _HALF_WRAP else raw
        host_dt_us = min(max((host - self._prev_host_s) * 1e6, -_MAX_SILENCE_US), _MAX_SILENCE_US)
        long_silence = _HALF_WRAP < host_dt_us < _MAX_SILENCE_US
        if long_silence:  # more than 35 min without packets: the host clock counts the wraps
            step = raw + int(max(0.0, round((host_dt_us - raw) / _WRAP))) * _WRAP
        reset = bool(start) and step <= 0 and not long_silence and key not in self._recent
        if reset:  # the sensor's clock restarted: continue after the old stream by host time
            step = round((self._prev_count - 1) * period + max(host_dt_us, period))
        t0 = self._prev_unwrapped_us + step
        gap_us = t0 - self._last_end_us
        if gap_us > period / 2:
            if (
                reset
                or start
                or overflow
                or (gap_us - period) / 1e6 <= self.max_unexplained_gap_s
                or self._seq_agrees(seq, gap_us)
            ):
                self._abandon(host)  # the old chain continues
                wrapped = step > 0 and ts < prev_ts and not reset
                self._deliver(
                    ts,
                    t0,
                    seq,
                    cnt,
                    host,
                    counts,
                    key,
                    pieces,
                    start=bool(start),
                    reset=reset,
                    wrapped=wrapped,
                )
                return
            st.implausible += 1
            self._rejected_run += 1
            kind = "implausible"
        else:
            if key in self._recent or any(c.key == key for c in self._cands):
                st.duplicates += 1
                return
            st.out_of_order += 1
            self._rejected_run += 1
            if self._is_stale(seq, t0):  # a late packet of the current chain: never a new chain
                return
            kind = "out_of_order"
        self._candidate(Candidate(ts, seq, cnt, flags, host, t0, counts, key, kind), pieces)

    def _seq_agrees(self, seq: int, gap_us: float) -> bool:
        """Whether the sequence step from the last delivered packet explains a time gap."""
        seq_step = (seq - self._prev_seq) % _SEQ_WRAP
        expect = (seq_step - 1) * self._prev_count * self._period_us
        return abs(gap_us - self._period_us - expect) <= 0.25 * max(expect, 0) + 2e6

    def _is_stale(self, seq: int, t0: int) -> bool:
        """A packet from just before the last delivered one (sequence and time agree with the
        chain): a reordered packet, not the start of a new chain."""
        back = (self._prev_seq - seq) % _SEQ_WRAP
        if not 1 <= back <= _RECENT_KEYS:
            return False
        expect = self._prev_unwrapped_us - back * self._prev_count * self._period_us
        return abs(t0 - expect) <= self._period_us * (0.5 + back * self._prev_count * 1e-3)

    def _deliver(
        self,
        ts: int,
        t0: int,
        seq: int,
        cnt: int,
        host: float,
        counts: np.ndarray,
        key: int,
        pieces: list[_Piece],
        *,
        first: bool = False,
        start: bool = False,
        reset: bool = False,
        wrapped: bool = False,
        new_chain: bool = False,
    ) -> None:
        st = self._stats
        period = self._period_us
        lost = 0
        if not first:
            gap_us = t0 - self._last_end_us
            gap_samples = round(gap_us / period) - 1
            if not reset and gap_samples > 0:
                lost = gap_samples
                st.gaps += 1
                st.lost_samples += lost
            if reset:
                st.clock_resets += 1
            if wrapped:
                st.timestamp_wraps += 1
            seq_step = (seq - self._prev_seq) % _SEQ_WRAP
            if not new_chain and not start and seq_step > 1:
                if self._seq_agrees(seq, gap_us):
                    st.lost_packets += seq_step - 1
                else:
                    st.sequence_jumps += 1
        end = t0 + (cnt - 1) * period
        origin = self._origin_us
        t_s = ((t0 - origin) + self._k_period[cnt]) / 1e6
        x = (end - origin) / 1e6
        self._drift.add(x, host - x)
        if self.keep_samples:
            self._t.extend(t_s)
            self._counts.extend(counts)
        self._recent.add(key)
        st.packets_delivered += 1
        st.samples += cnt
        self._prev_ts_raw = ts
        self._prev_unwrapped_us = t0
        self._prev_count = cnt
        self._prev_seq = seq
        self._prev_host_s = host
        self._last_end_us = end
        self._rejected_run = 0
        pieces.append((t_s, counts, np.array([seq], np.uint16), np.array([host], np.float64), lost))

    # --- results of a call ---------------------------------------------------------------
    def _block(self, pieces: list[_Piece]) -> DecodedBlock | None:
        if not pieces:
            return None
        if len(pieces) == 1:
            t_s, counts, seq, host, lost = pieces[0]
        else:
            t_s = np.concatenate([p[0] for p in pieces])
            counts = np.concatenate([p[1] for p in pieces])
            seq = np.concatenate([p[2] for p in pieces])
            host = np.concatenate([p[3] for p in pieces])
            lost = sum(p[4] for p in pieces)
        return DecodedBlock(
            t_sensor_s=t_s,
            acc_m_s2=counts[:, :3] * self._acc_scale,
            gyr_rad_s=counts[:, 3:] * self._gyr_scale,
            counts=counts,
            sequence=seq,
            host_time_s=host,
            lost_samples_before=int(lost),
        )

    # --- logging -------------------------------------------------------------------------
    def _report_malformed(self, payload: bytes, host_time_s: float) -> None:
        result = packets.decode_data_packet(payload)
        if not isinstance(result, packets.Malformed):  # cannot happen: batch and scalar agree
            return
        reason = result.reason.value
        st = self._stats
        st.malformed[reason] = st.malformed.get(reason, 0) + 1
        self._log.warning(reason, host_time_s, "malformed data packet skipped: %s", result)

    # --- clock drift and statistics ------------------------------------------------------
    @property
    def stats(self) -> DecodeStats:
        """Counters so far, with the current drift estimate."""
        ppm, trusted, note, _, _ = self._drift.fit()
        self._stats.drift_ppm = None if ppm is None else round(ppm, 3)
        self._stats.drift_trusted = trusted
        self._stats.drift_note = note
        return self._stats

    def host_time_at(self, t_sensor_s: float | np.ndarray) -> float | np.ndarray:
        """Host clock (the caller's, s) when the sensor took a sample at `t_sensor_s`, from the
        lower envelope: the least-delayed packets best show when samples were taken. Uses the
        drift only when trusted."""
        return self._drift.host_time_at(t_sensor_s)

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

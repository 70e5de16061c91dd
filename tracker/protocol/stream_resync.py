"""Resynchronisation of a stream decoder: when rejected packets agree with each other, the
decoder abandons its chain for theirs (firmware_protocol.md, "Decoding a stream", step 5).

Rejected packets (implausible or out of order, not duplicates) that follow each other (sequence
+1.., timestamps one packet apart at the configured rate) form a candidate chain; once
`resync_packets` of them agree, the decoder continues from the new chain and delivers the
candidates too. This is how it recovers when the STREAM_START packet of a new stream is lost
(reconnect, sensor reboot) or the sensor clock jumps. A single wild packet never takes over: the
next good packet continues the old chain and drops the candidates.

`ChainResync` holds these rules for `stream.StreamDecoder`, which owns the chain state they read
and delivers the packets (`_deliver`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from tracker.protocol import spec
from tracker.protocol.decoded import DecodeStats
from tracker.protocol.ratelog import RateLimitedLog

_SEQ_WRAP = spec.SEQUENCE_WRAP
_START = int(spec.PacketFlag.STREAM_START)
_OVERFLOW = int(spec.PacketFlag.SENSOR_OVERFLOW)
MAX_SILENCE_US = 30 * 86400 * 1e6
"""Host-clock gaps up to this count the sensor clock's wraps after a silence; a longer one (a
host clock that jumped, or a file's nonsense) says nothing about the sensor's clock, and a clock
reset is placed at most this far on. Keeps every step a small integer, so `feed` (Python ints)
and the batch path (int64) agree whatever host times they are given."""
_MAX_CANDIDATE_SEQ_STEP = 8
"""Candidates of a new chain may skip up to this many sequence numbers (packets lost meanwhile)."""

Piece = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]
"""(t_s (n,), counts (n, 6), sequence (p,), host (p,), lost samples) of delivered packets."""


@dataclass(slots=True)
class Candidate:
    """A rejected packet that may start (or continue) a new chain."""

    ts: int
    seq: int
    cnt: int
    flags: int
    host: float
    t0: int
    """Unwrapped µs against the last delivered packet (shifted when placed by host time)."""
    counts: np.ndarray
    key: int
    kind: str
    """"implausible" or "out_of_order": the counter it sits in until it is delivered."""


class ChainResync:
    """The candidate chain of a `StreamDecoder`: collect, judge, abandon or take over."""

    resync_packets: int
    _cands: list[Candidate]
    _rejected_run: int
    _period_us: float
    _last_end_us: float
    _prev_host_s: float
    _stats: DecodeStats
    _log: RateLimitedLog

    if TYPE_CHECKING:

        def _deliver(
            self,
            ts: int,
            t0: int,
            seq: int,
            cnt: int,
            host: float,
            counts: np.ndarray,
            key: int,
            pieces: list[Piece],
            *,
            first: bool = False,
            start: bool = False,
            reset: bool = False,
            wrapped: bool = False,
            new_chain: bool = False,
        ) -> None:
            ...

    def _follows(self, a: Candidate, b: Candidate) -> bool:
        """Whether candidate `b` continues candidate `a`: sequence +1..+8 and a timestamp step of
        that many packets of `a`'s size at the configured rate (later when SENSOR_OVERFLOW)."""
        ds = (b.seq - a.seq) % _SEQ_WRAP
        if not 1 <= ds <= _MAX_CANDIDATE_SEQ_STEP:
            return False
        expect = ds * a.cnt * self._period_us
        tol = self._period_us / 2 + 1e-3 * expect  # rounding to whole µs, and any crystal drift
        dt = b.t0 - a.t0
        if b.flags & _OVERFLOW:
            return dt >= expect - tol
        return abs(dt - expect) <= tol

    def _candidate(self, cand: Candidate, pieces: list[Piece]) -> None:
        cands = self._cands
        if cands and not self._follows(cands[-1], cand):
            self._abandon(cand.host)
        cands.append(cand)
        if len(cands) >= self.resync_packets:
            self._resync(pieces)

    def _abandon(self, host_time_s: float) -> None:
        """Drop the candidate chain for good (its packets stay counted as implausible or out of
        order) and say so once for the whole run of packets."""
        cands = self._cands
        if cands:
            c = cands[0]
            self._log.warning(
                "abandoned",
                host_time_s,
                "dropped %d data packet(s) from sequence %d that did not follow the stream (%s) "
                "and did not start a new one",
                len(cands),
                c.seq,
                c.kind.replace("_", " "),
            )
            cands.clear()

    def _resync(self, pieces: list[Piece]) -> None:
        """Abandon the chain for the candidates', place it, and deliver the candidates."""
        st = self._stats
        cands, self._cands = self._cands, []
        period = self._period_us
        c0 = cands[0]
        dropped = self._rejected_run - len(cands)
        last_end = self._last_end_us
        host_gap_us = min(max((c0.host - self._prev_host_s) * 1e6, -MAX_SILENCE_US), MAX_SILENCE_US)
        # both ends are "last sample of a packet", so the two gaps measure the same interval
        sensor_gap_us = c0.t0 + (c0.cnt - 1) * period - last_end
        continuous = c0.t0 - last_end > period / 2 and abs(sensor_gap_us - host_gap_us) <= (
            0.5e6 + 0.05 * abs(host_gap_us)
        )
        if continuous:
            offset = 0
        else:  # the clock restarted or jumped: the host clock says where the new chain starts
            target = last_end + max(host_gap_us - (c0.cnt - 1) * period, period)
            offset = round(target - c0.t0)
        st.resyncs += 1
        for i, c in enumerate(cands):
            if c.kind == "implausible":
                st.implausible -= 1
            else:
                st.out_of_order -= 1
            self._deliver(
                c.ts,
                c.t0 + offset,
                c.seq,
                c.cnt,
                c.host,
                c.counts,
                c.key,
                pieces,
                start=bool(c.flags & _START),
                reset=i == 0 and not continuous,
                new_chain=i == 0,
            )
        lost = pieces[-len(cands)][4]
        if continuous:
            how = (
                f"the sensor clock ran on: {sensor_gap_us / 1e6:.3f} s gap from the timestamps, "
                f"{lost} samples lost"
            )
        else:
            how = (
                f"the sensor clock jumped {(sensor_gap_us - host_gap_us) / 1e6:+.3f} s against the "
                f"host clock (restart without STREAM_START?): placed {host_gap_us / 1e6:.3f} s "
                "later by host time"
            )
        self._log.warning(
            "resync",
            c0.host,
            "data stream resynchronised on %d consistent packets from sequence %d after %d "
            "dropped packets that did not follow the stream; %s",
            len(cands),
            c0.seq,
            dropped,
            how,
        )

"""Bridge bouts in causal form: the offline global segmentation on a trailing window.

Offline (`tracker.analysis.bridge.BridgeSegmenter`), a whole bridge bout is explained at once as
point-to-point moves (one sine period of acceleration each) and still spans, by a dynamic
programme. A move can only be fitted once it is complete, and the segmentation of a stretch can
change as later samples arrive (the bias estimate follows the still time on both sides). The
causal form here:

* the bout's body-frame specific force, rate and pitch are kept in a ring of `window_s` seconds
  at the analysis rate (bounded memory);
* every `refit_s` seconds the offline bridge step (`ContactPositionEstimator.bridge_moves`:
  gravity removal and `BridgeSegmenter`, the estimator built as `analyze` builds it) is run on
  that window;
* a move is **committed** (becomes a stroke, or is dropped as too short, exactly as offline) once
  it ended at least `commit_lag_s` plus `lag_per_move_s` times its duration before the window's
  end and the previous fit had the same move (both ends within `match_s`). Commits go in time
  order and are never taken back;
* a fit that contradicts what was committed (a move straddling the last committed end) commits
  nothing: the next fits usually agree again once more of the signal is in. After
  `max_contradictions` such fits in a row the straddling move is cut at the commit, so the
  commits never stall (a stall of a minute hid slow strokes from the hold timer, which then
  warned hold_too_long over strokes);
* a move that would take the contact off the back by more than `back_margin_cm` waits (up to
  `max_postpone_s` after its end) for a fit that reads it otherwise; a committed end is kept on
  the back (the track is a running sum of moves: offline bends it back onto the back with the
  hips-down contact after the bout, which live does not have yet);
* at the bout's end (posture change, leaving the roller, a long gap, end of stream) one last fit
  commits every move after the last committed one, with no lag.

Delays: a move is known `commit_lag_s` + `lag_per_move_s` x its duration + up to `refit_s` (+ one
`refit_s` for the agreement) after it ended (measured in BENCHMARKS.md). The windowed fit
needs the still time after a move (the segmentation's bias follows the still stretches on both
sides); with less lag, a slow drift at the window's end passes for a long slow move. The
contact position of the committed stretch is the offline one (`BridgeSegmenter.track`:
raised-cosine profiles from the bout's start); between the commit horizon and now, the latest
fit's moves are shown provisionally; a move still in progress is not visible to the fit until it
has ended. Too-fast strokes are not left to this lag: tracker/live/fast_moves.py sees them end
within a fraction of a second.

Cost: one fit of the window every `refit_s`, O(n x longest move) with n the 0.2 s grid, more
when the range check on the back re-segments it (benchmarks/live_cost.py measures it). The
per-sample work is appending to the ring.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from tracker.analysis.bridge import BridgeMove
from tracker.analysis.contact import ContactPositionEstimator, accel_pitch_rad
from tracker.live.ring import Ring

_WINDOW = [("t_s", "f8"), ("acc_m_s2", "f8", 3), ("gyr_rad_s", "f8", 3), ("pitch_rad", "f8")]


@dataclass
class BridgeCommit:
    """A move committed by `LiveBridge`: the move and the contact (cm) at its start and end."""

    move: BridgeMove
    start_cm: float
    end_cm: float


class LiveBridge:
    """One bridge bout, segmented causally (see the module docstring).

    Parameters
    ----------
    rate_hz
        The analysis rate of the samples pushed.
    start_cm
        Contact at the bout's start (from the hips-down contact before it, or a default).
    contact
        The offline `ContactPositionEstimator` (same parameters as `analyze` builds it): its
        bridge step (gravity removal along the spine, `BridgeSegmenter`) is run on the window.
    window_s, refit_s, commit_lag_s, match_s
        Trailing window fitted, how often, how long after its end a move is committed, and how
        close two fits' moves must be to be the same move.
    lag_per_move_s
        A further commit lag per second of the move's duration: the bias estimate near the
        window's end sees one side only, and a slow drift there can pass for a long slow move
        until more still time follows it.
    min_fit_s
        No fit before the bout holds this much signal.
    max_contradictions
        Fits in a row that may contradict the last commit (a move straddling it) and commit
        nothing; after that a straddling move is cut at the commit (or dropped if it lies
        mostly before it), so the commits never stall.
    back_margin_cm, max_postpone_s
        A move that would take the contact further than `back_margin_cm` off the back
        (`contact.back_length_cm`) is not committed until `max_postpone_s` after its end, while
        later fits may read it differently.
    """

    def __init__(
        self,
        rate_hz: float,
        start_cm: float,
        t0_s: float,
        contact: ContactPositionEstimator,
        *,
        window_s: float = 90.0,
        refit_s: float = 2.0,
        commit_lag_s: float = 6.0,
        match_s: float = 0.6,
        min_fit_s: float = 3.0,
        lag_per_move_s: float = 0.5,
        max_contradictions: int = 3,
        back_margin_cm: float = 5.0,
        max_postpone_s: float = 30.0,
    ) -> None:
        self.rate_hz = rate_hz
        self.start_cm = float(start_cm)
        self.t0_s = float(t0_s)
        self.contact = contact
        self.window_s = window_s
        self.refit_s = refit_s
        self.commit_lag_s = commit_lag_s
        self.match_s = match_s
        self.lag_per_move_s = lag_per_move_s
        self.ring = Ring(int(window_s * rate_hz) + 2, _WINDOW)
        """The bout's samples (body frame) over the trailing window."""
        self.now_s = float(t0_s)
        self._next_fit_s = self.t0_s + min_fit_s
        self.committed: list[BridgeCommit] = []
        self.last_end_s = self.t0_s
        """End of the last committed move (the bout's start before any)."""
        self.contact_cm = self.start_cm
        """Contact after the last committed move."""
        self.provisional: list[BridgeMove] = []
        """The latest fit's moves after the last committed one (not yet committed)."""
        self._prev: list[BridgeMove] = []
        self._end_s: float | None = None
        self.fits = 0
        self.max_contradictions = max_contradictions
        self.back_margin_cm = back_margin_cm
        self.max_postpone_s = max_postpone_s
        self._contradictions = 0

    # --- input -------------------------------------------------------------------------------------
    def step(self, t_s: float, acc_body_m_s2: np.ndarray, gyr_body_rad_s: np.ndarray, pitch_rad: float) -> list[BridgeCommit]:
        """One analysis-rate sample in the body frame (specific force, rate, the orientation
        filter's pitch); returns the moves committed by it (usually none)."""
        self.ring.append(t_s, acc_body_m_s2, gyr_body_rad_s, pitch_rad)
        self.now_s = t_s
        if t_s < self._next_fit_s:
            return []
        self._next_fit_s = t_s + self.refit_s
        return self._fit(final=False)

    def finish(self, end_s: float | None = None) -> list[BridgeCommit]:
        """The bout has ended (at `end_s`, default the last sample): commit every move after the
        last committed one that ends by then (the samples after `end_s` belong to what came next,
        e.g. lowering the hips)."""
        if self.ring.n < 8:
            return []
        self._end_s = end_s
        return self._fit(final=True)

    # --- state -------------------------------------------------------------------------------------
    def window(self) -> np.ndarray:
        """The kept samples, oldest first: records with fields t_s, acc_m_s2 (3), gyr_rad_s (3),
        pitch_rad (body frame; the pitch of the orientation filter)."""
        return self.ring.window()

    def correct_pitch(self, t_s: np.ndarray, pitch_rad: np.ndarray) -> None:
        """The orientation filter was run again (its warm start): the kept samples at times
        `t_s` get the corrected pitches."""
        rows = self.ring.buf[: min(self.ring.n, self.ring.capacity)]
        k = np.searchsorted(t_s, rows["t_s"])
        kk = np.minimum(k, len(t_s) - 1)
        ok = (k < len(t_s)) & (np.abs(t_s[kk] - rows["t_s"]) < 1e-9)
        rows["pitch_rad"][ok] = pitch_rad[kk[ok]]

    def pitch_between(self, start_s: float, end_s: float) -> tuple[np.ndarray, np.ndarray]:
        """(t_s, pitch_rad) of the kept samples with start_s <= t <= end_s."""
        rows = self.window()
        sel = rows[(rows["t_s"] >= start_s) & (rows["t_s"] <= end_s)]
        return sel["t_s"], sel["pitch_rad"]

    def position_cm(self, t_s: float, provisional: bool = True) -> float:
        """Contact at `t_s` (at or after the last committed end): the committed contact plus, if
        asked, the latest fit's moves not yet committed."""
        p = self.contact_cm
        if provisional:
            for m in self.provisional:
                u = min(1.0, max(0.0, (t_s - m.start_s) / m.duration_s))
                p += m.contact_cm * (u - math.sin(2 * math.pi * u) / (2 * math.pi))
        return p

    def committed_position_cm(self, t_s: float) -> float:
        """Contact at `t_s` from the committed moves (the offline track's form)."""
        p = self.committed[0].start_cm if self.committed else self.start_cm
        for c in reversed(self.committed):
            m = c.move
            if t_s >= m.end_s:
                return c.end_cm
            if t_s > m.start_s:
                u = (t_s - m.start_s) / m.duration_s
                return c.start_cm + (c.end_cm - c.start_cm) * (u - math.sin(2 * math.pi * u) / (2 * math.pi))
        return p

    @property
    def horizon_s(self) -> float:
        """Up to here the contact track is final: the last committed end, or later if the latest
        fit saw nothing moving up to the commit lag."""
        h = self.now_s - self.commit_lag_s
        if self.provisional:
            h = min(h, self.provisional[0].start_s)
        return max(self.last_end_s, min(h, self.now_s))

    # --- fitting -----------------------------------------------------------------------------------
    def _fit(self, final: bool) -> list[BridgeCommit]:
        rows = self.window()
        if len(rows) < 8:
            return []
        # the reference pitch that the gyro's integrated pitch is pinned to (over tens of
        # seconds) is the accelerometer's own inclination: no lag and no drift, from the first
        # sample on (the orientation filter's is off by up to a degree until its gyro bias is
        # learned, which a window that starts then cannot average out)
        acc = rows["acc_m_s2"]
        moves, _track = self.contact.bridge_moves(
            rows["t_s"], accel_pitch_rad(acc), acc, rows["gyr_rad_s"], self.rate_hz
        )
        self.fits += 1
        w0 = float(rows["t_s"][0])
        truncated = self.ring.n > self.ring.capacity
        after: list[BridgeMove] = []
        consistent = True
        for m in moves:
            if m.end_s <= self.last_end_s + self.match_s:
                continue  # committed already (or before it)
            if m.start_s < self.last_end_s - self.match_s:
                # straddles the last commit: this fit contradicts what was said. Usually the
                # next fits agree again; if they keep contradicting it, the part after the
                # commit is taken (a move mostly before it was that commit)
                if self._contradictions < self.max_contradictions:
                    consistent = False
                    break
                if m.end_s - self.last_end_s < 0.5 * m.duration_s:
                    continue
                m = BridgeMove(self.last_end_s, m.end_s, m.contact_cm)
            if truncated and m.start_s < w0 + self.match_s and self.last_end_s < w0:
                continue  # cut by the window's start: not seen whole
            after.append(m)
        self._contradictions = 0 if consistent else self._contradictions + 1
        out: list[BridgeCommit] = []
        if not consistent:
            # still the best view of what moves after the commit (the hold timer uses it)
            self.provisional = [m for m in moves if m.end_s > self.last_end_s + self.match_s and m.start_s >= self.last_end_s - self.match_s]
        if consistent:
            horizon = self.now_s - self.commit_lag_s
            for m in after:
                if final and self._end_s is not None and m.end_s > self._end_s + self.match_s:
                    break
                same = any(abs(p.start_s - m.start_s) <= self.match_s and abs(p.end_s - m.end_s) <= self.match_s for p in self._prev)
                lag = self.lag_per_move_s * m.duration_s
                if not final and (m.end_s > horizon - lag or not same):
                    break
                if not final and self._off_the_back(m) and self.now_s - m.end_s < self.max_postpone_s:
                    break
                out.append(self._commit(m))
            self.provisional = [m for m in after if m.end_s > self.last_end_s + self.match_s]
        self._prev = moves
        return out

    def _off_the_back(self, m: BridgeMove) -> bool:
        """The move would take the contact off the back (by more than `back_margin_cm`): the
        window's fit has likely misread it (a slow drift near the window's end, two moves read
        as one); later fits, with more still time after it, often read it right."""
        back = self.contact.back_length_cm
        if not back:
            return False
        end = self.contact_cm + m.contact_cm
        return end < -self.back_margin_cm or end > back + self.back_margin_cm

    def _commit(self, m: BridgeMove) -> BridgeCommit:
        start = max(m.start_s, self.last_end_s)
        if start != m.start_s:
            m = BridgeMove(start, m.end_s, m.contact_cm)
        end = self.contact_cm + m.contact_cm
        back = self.contact.back_length_cm
        if back:
            # the roller stays on the back: a track that leaves it has summed the moves' errors
            # (offline bends it back between the hips-down contacts that pin it, `_into_bounds`;
            # causally the error is the move's that crossed the edge)
            end = min(max(end, 0.0), float(back))
        c = BridgeCommit(m, self.contact_cm, end)
        self.committed.append(c)
        del self.committed[:-64]  # the position lookup needs only the recent ones
        self.contact_cm = c.end_cm
        self.last_end_s = m.end_s
        return c

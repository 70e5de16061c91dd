"""A bridge bout, causally: the offline segmentation on a trailing window, fast strokes at once.

* **strokes** are `LiveBridge`'s committed moves (tracker/live/bridge.py): a move is committed
  `commit_lag_s` (6 s) plus half its duration after it ended, on a fit every `refit_s` (2 s)
  that agrees with the fit before (BENCHMARKS.md has the resulting delay), measured as offline's
  `StrokeHoldDetector._bridge_span` does.
* **too_fast** does not wait for them: a matched filter for raised-cosine moves
  (tracker/live/fast_moves.py) sees a fast stroke a fraction of a second after it ends, and two
  in a row (closer than `hold_min_s`) fire too_fast provisionally; when the committed strokes
  make the same run they confirm it (span and message updated, no second event), and if they
  do not (`provisional_s` past it, or at the bout's end) it is withdrawn from the list.
* **holds**: the timer starts once the fits show `hold_confirm_s` (10 s) of still time after
  the last stroke, back-dated to its end (a stroke in progress is invisible to the fit until it
  has ended); the hold is booked, trimmed where the torso's pitch settles, when the next stroke
  is committed or the bout ends.
* **position**: final up to the commit horizon (time per region and the lumbar rule wait for
  it); the gauge shows the latest fit's provisional track and a cheap band-passed speed.

Known gap: a bridge's absolute position is a running sum of moves from the hips-down contact
before it (or an assumed `default_start_cm`). Offline pins the bout's end to the hips-down
contact after it and bends the whole track onto the back, which needs the future; live can
only keep each committed move's end on the back (BENCHMARKS.md has the measured difference).
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from tracker.analysis import uncertainty
from tracker.analysis.bridge import BridgeMove
from tracker.analysis.contact import ContactPositionEstimator
from tracker.analysis.steps.filters import Butterworth
from tracker.analysis.steps.measure import StrokeMeasure
from tracker.guidance import Guidance
from tracker.imu import STANDARD_GRAVITY_M_S2
from tracker.live.account import OpenHold, SessionLog
from tracker.live.bridge import BridgeCommit, LiveBridge
from tracker.live.fast_moves import FastMove, FastMoveDetector
from tracker.live.sample import BRIDGE, BodySample
from tracker.live.state import LiveEvent
from tracker.live.tilt import GravityPitch
from tracker.results import Hold, Stroke

_WITHDRAWN = "a provisional too-fast warning withdrawn: the bridge's strokes were not too fast"


class BridgeGauge:
    """The bridge's instantaneous speed for the pace gauge (display only): the along-spine
    acceleration band-passed and integrated, the velocity high-passed (it drifts; strokes,
    holds and positions come from `LiveBridge`'s fits)."""

    def __init__(self, contact: ContactPositionEstimator, rate_hz: float) -> None:
        low, high = contact.band_hz
        self.band = Butterworth(2, (low, min(high, 0.45 * rate_hz)), rate_hz, "bandpass")
        self.band.reset(0.0)
        self.hp = Butterworth(2, 2 * low, rate_hz, "highpass")
        self.hp.reset(0.0)
        self.dt = 1.0 / rate_hz
        self.v = 0.0
        self.speed_cm_s = 0.0

    def step(self, acc_body_m_s2: np.ndarray, pitch_rad: float) -> None:
        a = float(acc_body_m_s2[2]) - STANDARD_GRAVITY_M_S2 * math.sin(pitch_rad)
        self.v += self.band.step(a) * self.dt
        # the contact moves half as fast as the body
        self.speed_cm_s = 0.5 * self.hp.step(self.v) * 100.0


class BridgeStage:
    """One bridge bout at a time (see the module docstring).

    Parameters
    ----------
    log
        Where strokes, holds, warnings and region time go.
    contact
        The estimator `analyze` builds (its bridge step runs on the window).
    measure
        The stroke measurement's plausibility filter (longer than the back or faster than
        anyone rolls is no stroke).
    min_stroke_cm, hold_pitch_tol_deg
        As offline's `StrokeHoldDetector`.
    window_s, refit_s, commit_lag_s
        `LiveBridge`'s trailing window, refit interval and commit lag.
    hold_confirm_s
        Still time after the last stroke the fits must show before the hold timer starts.
    provisional_s
        A provisional too_fast not confirmed once the commits reach this far past it is withdrawn.
    """

    def __init__(
        self,
        log: SessionLog,
        contact: ContactPositionEstimator,
        measure: StrokeMeasure,
        guidance: Guidance,
        rate_hz: float,
        *,
        min_stroke_cm: float = 2.0,
        hold_pitch_tol_deg: float = 3.0,
        window_s: float = 90.0,
        refit_s: float = 2.0,
        commit_lag_s: float = 6.0,
        hold_confirm_s: float = 10.0,
        provisional_s: float = 10.0,
    ) -> None:
        self.log = log
        self.contact = contact
        self.measure = measure
        self.guidance = guidance
        self.rate_hz = rate_hz
        self.dt_s = 1.0 / rate_hz
        self.min_stroke_cm = min_stroke_cm
        self.hold_pitch_tol_deg = hold_pitch_tol_deg
        self.window_s = window_s
        self.refit_s = refit_s
        self.commit_lag_s = commit_lag_s
        self.hold_confirm_s = hold_confirm_s
        self.provisional_s = provisional_s
        # without a gyroscope the tilt follows the stroke's acceleration: the fast-move detector
        # and the gauge take gravity off with the accelerometer's slow inclination instead
        self._gravity_pitch = None if contact.has_gyro else GravityPitch(rate_hz)
        self.bout: LiveBridge | None = None
        self.hold: OpenHold | None = None
        self.still = False
        self._gauge: BridgeGauge | None = None
        self._fast: FastMoveDetector | None = None
        self._fast_run: list[FastMove] = []
        self._still_since = 0.0  # start of the current still stretch (end of the last stroke)
        self._shown_since = -math.inf  # the still stretch whose timer was shown
        self._next_check = 0.0
        self._ticks: deque[float] = deque()  # samples waiting for a final contact

    def start(self, t: float, start_cm: float) -> None:
        """A bout begins at `t` with the contact at `start_cm`."""
        self.bout = LiveBridge(
            self.rate_hz, start_cm, t, self.contact,
            window_s=self.window_s, refit_s=self.refit_s, commit_lag_s=self.commit_lag_s,
        )  # fmt: skip
        self._gauge = BridgeGauge(self.contact, self.rate_hz)
        self._fast = FastMoveDetector(self.rate_hz, min_cm=self.min_stroke_cm)
        self._fast_run = []
        if self._gravity_pitch is not None:
            self._gravity_pitch.clear()
        self._still_since = t
        self._next_check = t
        self.hold = None
        self.still = False
        self._ticks.clear()

    def step(self, s: BodySample) -> None:
        """One analysis-rate sample of the bout (call `start` first)."""
        lb, log = self.bout, self.log
        assert lb is not None and self._gauge is not None and self._fast is not None
        t = s.t_s
        pitch = s.slow_pitch_rad
        # offline, the segmentation sees every sample of the bout (bridged ones too); the raw
        # rate: its bias is constant, which the bridge step removes itself per window
        for c in lb.step(t, s.acc_m_s2, s.gyr_raw_rad_s, pitch):
            self._commit(c)
        if self._gravity_pitch is not None:
            pitch = self._gravity_pitch.step(s.acc_m_s2)
        self._gauge.step(s.acc_m_s2, pitch)
        move = self._fast.step(t, s.acc_m_s2, pitch)
        if move is not None:
            self._fast_move(move)
        if log.rules.withdraw_provisional(lb.last_end_s - self.provisional_s):
            log.notes.append(_WITHDRAWN)
        if s.bridged:
            return
        if t > log.replay_until_s:  # (replayed samples were counted as hips down already)
            self._ticks.append(t)
        self._tick(lb.horizon_s)
        log.pace_cm_s = abs(self._gauge.speed_cm_s)
        log.position_cm = lb.position_cm(t)
        self._hold_timer(t)

    def end(self, t_end: float, seen_until: float | None = None) -> None:
        """The bout ends (posture change, off the roller, a long gap, end of stream).
        `seen_until`: the last hold's pitch trim looks up to here (default: every sample in)."""
        lb = self.bout
        if lb is None:
            return
        for c in lb.finish(t_end):
            self._commit(c)
        self._close_hold(min(t_end, lb.now_s), seen_until=lb.now_s if seen_until is None else seen_until)
        self._tick(t_end)
        # every move of the bout is committed: a provisional too_fast not confirmed by now was not
        if self.log.rules.withdraw_provisional(math.inf):
            self.log.notes.append(_WITHDRAWN)
        self._fast = None
        self._fast_run = []
        self._ticks.clear()  # after the bout's end: booked by the next posture's path
        self.bout = None
        self._gauge = None
        self.hold = None

    # --- commits and fast moves --------------------------------------------------------------------
    def _commit(self, c: BridgeCommit) -> None:
        """A committed move: a stroke as offline (`StrokeHoldDetector._bridge_span`), or still."""
        m = c.move
        dist = abs(m.contact_cm)
        if dist < self.min_stroke_cm or m.duration_s <= 0:
            return  # offline: not a stroke, and not an edge of the still time either
        self._close_hold(m.start_s)
        self._still_since = m.end_s
        self._next_check = m.end_s
        stroke = Stroke(
            snr=self._snr(m),
            start_s=float(m.start_s),
            end_s=float(m.end_s),
            distance_cm=float(dist),
            pace_cm_s=float(dist / m.duration_s),
            region=self.guidance.region_at(0.5 * (c.start_cm + c.end_cm)),
            direction="toward_head" if m.contact_cm > 0 else "toward_hips",
            posture=BRIDGE,
            start_cm=float(c.start_cm),
            end_cm=float(c.end_cm),
        )
        # offline drops "strokes" longer than the back or faster than anyone rolls (posture
        # changes), after the holds were cut by them
        if self.measure.plausible(stroke):
            self.log.add_stroke(stroke, self.log.now_s)

    def _snr(self, m: BridgeMove) -> float | None:
        """The stroke's clarity (`Stroke.snr`), from the bout's window as offline from the bout."""
        assert self.bout is not None
        rows = self.bout.window()
        if len(rows) < 8 or rows["t_s"][0] > m.start_s:
            return None
        spine = uncertainty.spine_acceleration(rows["acc_m_s2"], rows["gyr_rad_s"], self.rate_hz, self.contact.gyro_pitch_window_s or 40.0)
        snr = uncertainty.bridge_stroke_snr(rows["t_s"], spine, m.start_s, m.end_s)
        return None if snr is None else round(snr, 3)

    def _fast_move(self, move: FastMove) -> None:
        """Too fast moves in a row (closer than `hold_min_s`, so no hold between) raise
        too_fast at once, provisionally (the committed strokes confirm it, or it is withdrawn)."""
        g, log = self.guidance, self.log
        if move.pace_cm_s <= g.too_fast_pace_cm_s:
            return  # slow ones are the segmentation's (the detector cannot time them reliably)
        run = self._fast_run
        if run and move.start_s < run[-1].end_s - 0.3:
            return  # the same movement, fitted again a little later
        if not run or move.start_s - run[-1].end_s >= g.hold_min_s:
            run.clear()
        run.append(move)
        if len(run) < g.too_fast_min_strokes:
            return
        region = g.region_at(log.position_cm) if log.position_cm is not None else "unknown"
        strokes = [
            Stroke(
                start_s=m.start_s,
                end_s=m.end_s,
                distance_cm=abs(m.contact_cm),
                pace_cm_s=m.pace_cm_s,
                region=region,
                direction="toward_head" if m.contact_cm > 0 else "toward_hips",
                posture=BRIDGE,
            )
            for m in run
        ]
        w = log.rules.provisional_too_fast(strokes)
        if w is not None:
            # (during the re-run of a stretch after a posture change, it is said now, not then)
            log.emit(LiveEvent("warning", max(log.now_s, log.replay_until_s), warning=w))

    def _tick(self, horizon: float) -> None:
        """Time per region and the lumbar/budget rules for the samples whose contact is final
        (up to the commit horizon): the offline track, `commit_lag_s` or more late."""
        lb, log = self.bout, self.log
        assert lb is not None
        while self._ticks and self._ticks[0] <= horizon:
            tt = self._ticks.popleft()
            log.ticked_until_s = tt
            log.tick(tt, lb.committed_position_cm(tt))

    # --- holds -------------------------------------------------------------------------------------
    def _hold_timer(self, t: float) -> None:
        """The hold timer (and hold_too_long) from the latest fit: offline, a bridge hold is the
        still time between strokes (at least `hold_min_s`), trimmed to where the torso's pitch
        has settled. The timer runs from the end of the last stroke the fits show, committed or
        not (the hold is booked when the next stroke is committed)."""
        g, log, lb = self.guidance, self.log, self.bout
        assert lb is not None
        since = self._still_since
        for m in lb.provisional:
            if abs(m.contact_cm) >= self.min_stroke_cm:
                since = max(since, m.end_s)
        h = self.hold
        if h is not None and h.since_s is not None and since > h.since_s + 1e-6:
            # a stroke after the displayed hold's start is in sight: that hold is over
            self.hold = h = None
            self.still = False
        if h is not None:
            h.positions_cm = [log.position_cm if log.position_cm is not None else math.nan]
            w = log.rules.hold_tick(t, h.start_s, h.positions_cm[0])
            if w is not None:
                log.warn(w)
            return
        if t - since < max(g.hold_min_s, self.hold_confirm_s) or t < self._next_check:
            return
        self._next_check = t + 0.5
        start, _end = self._trim(since, t)
        if t - start < g.hold_min_s:
            return
        self.still = True
        pos = log.position_cm if log.position_cm is not None else math.nan
        self.hold = OpenHold(start, confirmed=True, elapsed_s=t - start, positions_cm=[pos], since_s=since)
        self._shown_since = since
        log.emit(LiveEvent("hold_started", t, hold=Hold(start, t, t - start, pos, g.region_at(pos))))

    def _trim(self, start: float, end: float) -> tuple[float, float]:
        """The offline trim of a bridge hold: the stretch where the pitch's 1 s mean lies within
        `hold_pitch_tol_deg` of its median (lifting or lowering the hips is not stillness)."""
        assert self.bout is not None
        t, pitch_rad = self.bout.pitch_between(start, end)
        if len(t) <= 2:
            return start, end
        n_s = max(1, int(round(self.rate_hz)))
        ps = np.convolve(np.degrees(pitch_rad), np.ones(n_s) / n_s, mode="same")
        settled = np.abs(ps - np.median(ps)) <= self.hold_pitch_tol_deg
        if not settled.any():
            return start, end
        k0 = int(np.argmax(settled))
        k1 = len(settled) - int(np.argmax(settled[::-1]))
        # a start older than the window keeps its time (the window shows only its settled end)
        new_start = float(t[k0]) if (k0 > 0 or t[0] <= start + 1.5 * self.dt_s) else start
        return new_start, float(t[min(k1, len(t) - 1)])

    def _close_hold(self, end: float, seen_until: float | None = None) -> None:
        """The still stretch since the last committed stroke ends at `end`: a hold if long
        enough (booked as offline's `_bridge_span` would). `seen_until`: the pitch trim looks
        at the samples up to here (a bout ended by lowering the hips: offline's stretch runs
        through the lowering, which its trim cuts off)."""
        g, log, lb = self.guidance, self.log, self.bout
        assert lb is not None
        h = self.hold
        if h is not None and h.since_s is not None and h.since_s <= self._still_since + 0.5:
            self.hold = None  # the timer shown was this stretch's
            self.still = False
        start = self._still_since
        if end - start < g.hold_min_s:
            return
        start, trimmed = self._trim(start, max(end, seen_until or end))
        end = min(end, trimmed)
        if end - start < g.hold_min_s:
            return
        pos = lb.committed_position_cm(start)
        hold = Hold(start, end, end - start, pos, g.region_at(pos))
        # a hold between two fast strokes ends the too-fast run (offline's rule)
        log.rules.hold_started()
        if abs(self._shown_since - self._still_since) > 0.5:
            log.emit(LiveEvent("hold_started", log.now_s, hold=hold))
        log.rules.hold_rebooked(start)  # the warning's span follows the booked hold
        log.add_hold(hold)

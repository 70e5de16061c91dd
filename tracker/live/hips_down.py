"""Hips down, causally: the contact from the pitch, strokes at turns and stops, holds.

The offline `StrokeHoldDetector` with causal filters: the same low-passes (`sosfilt` with
state: the 0.8 Hz one delays the track by about 0.28 s, which the stroke times are corrected
for), the same stillness test on the breathing-free track, the same `PieceCutter` (turning
points and stops) and the same `StrokeMeasure` on each piece.

Delays (session time from the physical event to the `LiveEvent`; measured in BENCHMARKS.md):

* **stroke**: closes at its turn, confirmed when the smoothed position has come back `turn_cm`
  (plus the smoothing's group delay); one that ends in a stop without a reversal closes when
  the hold is confirmed or the next stroke leaves (a valley).
* **hold**: confirmed once the breathing-free position stays within `still_tol_cm` over
  `still_window_s` (plus the slow filter's group delay). Its start is back-dated to the end
  of the stroke that arrived: the arriving piece is cut where offline's still stretch would
  start (the causal still window's start less the slow filter's group delay), so breathing
  after the arrival is not measured as travel; a breathing "turn" that closed the stroke early
  gets it re-measured. A hold left by getting off the roller ends when the smoothed position
  last sat within `still_tol_cm` of its spot.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import replace

import numpy as np

from tracker.analysis.kinematics import RollerDiameterTracker, hips_down_position_at
from tracker.analysis.steps.movement import one_movement
from tracker.analysis.strokes import StrokeHoldDetector
from tracker.guidance import Guidance
from tracker.live.account import OpenHold, SessionLog, median
from tracker.live.ring import Ring
from tracker.live.sample import HIPS_DOWN, BodySample
from tracker.live.state import LiveEvent
from tracker.results import Hold, Stroke

_TRACK = [("t_s", "f8"), ("smooth_cm", "f8"), ("raw_cm", "f8")]


class HipsDownStage:
    """Strokes and holds with the hips on the floor (see the module docstring).

    Parameters
    ----------
    log
        Where strokes, holds, warnings and region time go.
    detector
        The offline detector: its parameters and primitives (`piece_cutter`, `stroke_measure`,
        the filters, `still_windows`).
    history_s
        The smoothed track kept (a piece longer than this is measured on its end).
    small_stroke_cm, absorb_s
        Strokes shorter than this wait up to `absorb_s` before they count: while the causal slow
        filter settles into a hold, breathing can zig-zag the position by 2-3 cm; a hold
        confirmed in that time absorbs them (offline, the zero-phase filter never sees them).
    ending_ratio
        A fast stroke slowing below this share of its peak speed is ending: the too-fast
        warning may fire then rather than at the confirmed turn.
    merge_gap_s
        A movement shorter than `small_stroke_cm` that starts within this of the last stroke's
        end and goes on in its direction is that stroke's end (`_merge_split`).
    diameter_lag_s
        The hips-down pitch reaches the diameter's bound (`kinematics.RollerDiameterTracker`)
        this late: by then a change of posture dated back to a lift has withdrawn the lift.
    """

    def __init__(
        self,
        log: SessionLog,
        detector: StrokeHoldDetector,
        guidance: Guidance,
        rate_hz: float,
        *,
        history_s: float = 120.0,
        small_stroke_cm: float = 3.0,
        absorb_s: float = 8.0,
        ending_ratio: float = 0.3,
        merge_gap_s: float = 1.0,
        diameter_lag_s: float = 20.0,
    ) -> None:
        self.log = log
        self.guidance = guidance
        self.rate_hz = rate_hz
        self.small_stroke_cm = small_stroke_cm
        self.absorb_s = absorb_s
        self.ending_ratio = ending_ratio
        self.merge_gap_s = merge_gap_s
        self.still_tol_cm = detector.still_tol_cm
        self.slow_hz = detector.slow_hz
        self.roller_diameter_cm = guidance.roller_diameter_cm
        # the diameter the geometry uses, as offline (`kinematics.RollerDiameter`): fed with
        # the hips-down pitch `diameter_lag_s` late, so a lift of the hips that posture
        # recognition dates back later (its pitch falls like a bridge's) is taken out first
        self.diameter = RollerDiameterTracker(rate_hz, guidance.roller_diameter_cm, guidance.hip_to_neck_cm)
        self.diameter_lag_s = diameter_lag_s
        self._pitches: deque[tuple[float, float]] = deque()
        self.cutter = detector.piece_cutter()
        self.fit_gap_s = detector.merge_gap_s
        self.fit_margin_s = detector.fit_margin_s
        self.fit_rate_hz = detector.fit_rate_hz
        self.min_fit_s = detector.min_fit_s
        self.fit_search = detector.fit_search
        self.measure = detector.stroke_measure(guidance)
        self.smooth = detector.smoother(rate_hz)
        self.breath = detector.breath_filter(rate_hz)
        self.stillness = detector.still_windows(rate_hz)
        self.delay_s = self.smooth.delay_s
        self.slow_delay_s = self.breath.delay_s
        self.track = Ring(int(history_s * rate_hz) + 8, _TRACK)
        self.contacts: deque[tuple[float, float]] = deque(maxlen=int(8 * rate_hz))
        """(t, contact) of recent hips-down samples: where a bridge after them starts."""
        self.on_since_s = math.inf
        self.hold: OpenHold | None = None
        self.still = False
        self._pending_hold: Hold | None = None
        self._piece_start: int | None = None
        self._piece_peak = 0.0
        self._last_piece: tuple[int, int, Stroke] | None = None
        self._small: list[tuple[Stroke, float]] = []
        self._ending_fired = False
        self._prev_pf: float | None = None

    # --- the stage's life --------------------------------------------------------------------------
    def reset(self) -> None:
        """A new hips-down span: the filters and the stroke/hold state machine start afresh."""
        self.smooth.reset()
        self.breath.reset()
        self.stillness.clear()
        self._piece_start = None
        self.still = False
        self.hold = None
        self._prev_pf = None

    def contact_before(self, t: float, handover_s: float) -> float | None:
        """The hips-down contact just before `t` (lifting the hips is seen only once the pitch
        has dropped for a while, so the last 2.5 s are left out), or None."""
        old = [p for (tt, p) in self.contacts if t - handover_s <= tt <= t - 2.5]
        return float(np.median(old[-13:])) if old else None

    def step(self, s: BodySample, turning: bool = False) -> None:
        """One analysis-rate sample in this posture. `turning`: the torso turns as fast as when
        getting off the roller (the lumbar rule waits)."""
        if not s.bridged:
            self._diameter_sample(s.t_s, s.pitch_rad)
        p = hips_down_position_at(s.pitch_rad, self.roller_diameter_cm)
        if math.isfinite(p):
            self.contacts.append((s.t_s, p))
        if not math.isfinite(p) or s.bridged:
            return
        self._track(s.t_s, p, turning)

    def close(self, t_end: float) -> None:
        """The span ends at `t_end` (back-dated): close its open stroke and hold."""
        if self._piece_start is not None and not self.still:
            self._close_piece(self._piece_start, self.track.index_at("t_s", t_end) + 1, t_end)
        self._piece_start = None
        if self.hold is not None:
            end = self._left_band_s(self.hold, t_end)
            self._end_hold(min(end, self.log.now_s), final=True)
        if self._pending_hold is not None:
            self._finalise_hold(self._pending_hold.end_s)

    def _diameter_sample(self, t: float, pitch_rad: float) -> None:
        """Feed the diameter's bound the pitch `diameter_lag_s` ago; a change of the diameter
        rescales everything kept in cm (`rescale`)."""
        self._pitches.append((t, pitch_rad))
        while self._pitches and self._pitches[0][0] <= t - self.diameter_lag_s:
            self.diameter.step(self._pitches.popleft()[1])
        used = self.diameter.used_cm
        if abs(used / self.roller_diameter_cm - 1.0) > 1e-3:
            self.rescale(used / self.roller_diameter_cm)
            self.roller_diameter_cm = used
            self.measure.roller_diameter_cm = used

    def rescale(self, k: float) -> None:
        """The diameter the positions use changed by the factor `k` (positions are k times as
        large): every kept position, filter state and threshold state follows, so the track
        shows no step (which would read as a stroke)."""
        self.smooth.rescale(k)
        self.breath.rescale(k)
        self.stillness.rescale(k)
        self.cutter.rescale(k)
        for name in ("smooth_cm", "raw_cm"):
            self.track.buf[name] *= k
        self.contacts = deque(((t, k * v) for t, v in self.contacts), maxlen=self.contacts.maxlen)
        if self.hold is not None:
            self.hold.positions_cm = [k * v for v in self.hold.positions_cm]
        if self._prev_pf is not None:
            self._prev_pf *= k
        self._piece_peak *= k

    def withdraw_after(self, t_c: float) -> None:
        """Hips-down strokes running past the lift dated at `t_c` were the lift (the pitch falls
        by ten degrees, which the hips-down geometry reads as a fast stroke): offline no stroke
        spans a change of posture. They leave the list and the count (their events are out)."""
        while self._pitches and self._pitches[-1][0] > t_c:
            self._pitches.pop()  # the lift's pitch is no hips-down contact
        log = self.log
        keep = [s for s in log.strokes if not (s.posture == HIPS_DOWN and s.end_s > t_c + 0.5)]
        dropped = log.withdraw_strokes(keep)
        if not dropped:
            return
        log.notes.append(f"{len(dropped)} stroke(s) at {t_c:.0f} s withdrawn: lifting the hips, not rolling")
        if log.holds and dropped[0].start_s - 0.5 <= log.holds[-1].end_s <= dropped[0].start_s + 0.5:
            # the hold before was ended by the lift's "stroke": it ended when the smoothed
            # position last sat on its spot (as when a hold is left by getting off the roller)
            h = log.holds[-1]
            end = self._left_band_s(OpenHold(h.start_s, positions_cm=[h.position_cm], left_s=h.end_s), h.end_s)
            if self.guidance.hold_min_s <= end - h.start_s:
                log.holds[-1] = replace(h, end_s=end, duration_s=end - h.start_s)

    def flush(self, older_than_s: float | None = None) -> None:
        """Book the short strokes waiting to be absorbed by a hold (all, or those older than
        `older_than_s`)."""
        keep = []
        small, self._small = self._small, []
        for stroke, t_known in small:
            if older_than_s is None or self.log.now_s - t_known > older_than_s:
                if not self._merge_split(stroke):
                    self._accept_stroke(stroke, t_known)
            else:
                keep.append((stroke, t_known))
        self._small = keep

    def hold_position(self) -> float:
        h = self.hold
        if h and h.positions_cm:
            return median(h.positions_cm)
        pos = self.log.position_cm
        return float(pos) if pos is not None else math.nan

    # --- per sample --------------------------------------------------------------------------------
    def _track(self, t: float, p: float, turning: bool) -> None:
        log = self.log
        pf = self.smooth.step(p)
        ps = self.breath.step(p)
        i = self.track.append(t, pf, p)
        pace = None if self._prev_pf is None else abs(pf - self._prev_pf) * self.rate_hz
        self._prev_pf = pf
        log.position_cm = pf
        log.pace_cm_s = pace
        # time per region (offline books the smoothed position); a stretch run again after a
        # posture change was booked by the bridge's ticks already
        if t > log.ticked_until_s:
            log.tick(t, pf, turning=turning)
        still_now = self.stillness.step(ps)
        if self.hold is not None and self.hold.open:
            self.hold.elapsed_s = t - self.hold.start_s
            if log.rules.hold_due(t, self.hold.start_s):
                w = log.rules.hold_tick(t, self.hold.start_s, self.hold_position())
                if w is not None:
                    log.warn(w)
        if still_now and not self.still:
            self.still = True
            self._begin_still(i, t)
        elif self.still and not still_now:
            self.still = False
            self._depart(i, t)
        if self._small:
            self.flush(older_than_s=self.absorb_s)
        if self.still:
            self._hold_samples_update(ps)
            return
        if self._piece_start is None:
            self._piece_start = i
            self._piece_peak = 0.0
            self.cutter.start(i, pf)
            return
        cut = self.cutter.step(i, pf, pace)
        if cut is not None:
            self._cut(cut, t)
        self._ending(i, pace)

    def _cut(self, at: int, t_known: float) -> None:
        """Close the piece at absolute index `at` (a turn or a stop); the next starts there."""
        if self._piece_start is not None:
            self._close_piece(self._piece_start, at + 1, t_known)
        self._piece_start = at
        self._piece_peak = 0.0

    def _measure(self, a: int, b: int) -> Stroke | None:
        rows = self.track.get(a, b)
        if len(rows) < 3:
            return None
        posture = np.full(len(rows), HIPS_DOWN, dtype=object)
        return self.measure.measure(rows["t_s"], rows["smooth_cm"], posture)

    def _close_piece(self, a: int, b: int, t_known: float) -> Stroke | None:
        stroke = self._measure(a, b)
        if stroke is None or not self.measure.plausible(stroke):
            return None
        stroke = self._undelay(stroke)
        if stroke.distance_cm < self.small_stroke_cm:
            # a breathing wobble while the slow filter settles into a hold looks like this: wait
            # for the hold (which absorbs it) or the next real stroke (which confirms it)
            self._small.append((stroke, t_known))
            return stroke
        self.flush()
        self._accept_stroke(stroke, t_known)
        self._last_piece = (a, b, stroke)
        return stroke

    def _undelay(self, stroke: Stroke) -> Stroke:
        """The stroke's times on the physical clock: the causal 0.8 Hz low-pass delays the
        position by its group delay, the zero-phase one offline by nothing."""
        return replace(stroke, start_s=stroke.start_s - self.delay_s, end_s=stroke.end_s - self.delay_s)

    def _accept_stroke(self, stroke: Stroke, t_known: float) -> None:
        if self.hold is not None and not self.hold.open:
            self._end_hold(self.hold.left_s if self.hold.left_s is not None else t_known, final=False)
            self._finalise_hold(stroke.start_s)
        elif self._one_with_last(stroke):
            return
        self.log.add_stroke(stroke, t_known)
        self._ending_fired = False

    def _one_with_last(self, stroke: Stroke) -> bool:
        """A stroke that goes on the last one's way right after it (no hold between) is that
        stroke's second half when one movement fits the track as well as the two
        (`steps.movement.one_movement`, as offline): a breath high on the back slows a slow
        stroke for a moment, and the dip reads as a stop. The last stroke is replaced by the
        one movement (its count stays)."""
        log = self.log
        if not log.strokes:
            return False
        last = log.strokes[-1]
        if (
            last.direction != stroke.direction
            or last.posture != HIPS_DOWN
            or stroke.start_s - last.end_s > self.fit_gap_s
            or last.end_s < self.on_since_s
            or (log.holds and log.holds[-1].start_s >= last.end_s - 1e-9)
            or last.start_cm is None
        ):
            return False
        # the unfiltered track, as offline fits (no filter delay, no causal filter's bend),
        # from the end of the stroke before (offline subtracts the neighbours' fitted shapes;
        # here the window leaves them out) to just past this one (the next is under way)
        lo = last.start_s - self.fit_margin_s
        if len(log.strokes) > 1:
            lo = max(lo, log.strokes[-2].end_s)
        i0 = self.track.index_at("t_s", lo)
        i1 = self.track.index_at("t_s", stroke.end_s + 0.5) + 1
        rows = self.track.get(max(i0, self.track.first), i1)
        step = max(1, int(round(self.rate_hz / self.fit_rate_hz)))
        t, y = rows["t_s"][::step], rows["raw_cm"][::step]
        one = one_movement(
            t, y, (last.start_s, last.end_s, 0.5), (stroke.start_s, stroke.end_s, 0.5),
            min_s=self.min_fit_s, search=self.fit_search, refit=True,
        )  # fmt: skip
        sign = 1.0 if last.direction == "toward_head" else -1.0
        if one is None or one.distance_cm * sign <= 0:
            return False
        dist = abs(one.distance_cm)
        dur = one.end_s - one.start_s
        end_cm = last.start_cm + sign * dist
        log.strokes[-1] = replace(
            last, start_s=one.start_s, end_s=one.end_s, distance_cm=dist, pace_cm_s=dist / dur,
            end_cm=end_cm, region=self.guidance.region_at(0.5 * (last.start_cm + end_cm)),
        )  # fmt: skip
        return True

    def _merge_split(self, small: Stroke) -> bool:
        """A short movement (under `small_stroke_cm`, not absorbed by a hold) that carries on
        the last stroke's direction right after it ended is that stroke's end, split off at a
        dip of speed (a breath high on the back slows the track for a moment): offline merges
        such pieces. The last stroke is extended (its count stays)."""
        log = self.log
        if not log.strokes:
            return False
        last = log.strokes[-1]
        if (
            last.direction != small.direction
            or last.posture != small.posture
            or small.start_s - last.end_s > self.merge_gap_s
            or (log.holds and log.holds[-1].start_s >= last.end_s - 1e-9)
            or last.start_cm is None
            or small.end_cm is None
        ):
            return False
        dist = abs(small.end_cm - last.start_cm)
        duration = max(small.end_s, last.end_s) - last.start_s
        if duration <= 0 or dist < last.distance_cm:
            return False
        log.strokes[-1] = replace(
            last,
            end_s=last.start_s + duration,
            distance_cm=dist,
            pace_cm_s=dist / duration,
            end_cm=small.end_cm,
            region=self.guidance.region_at(0.5 * (last.start_cm + small.end_cm)),
        )
        return True

    def _ending(self, i: int, pace: float | None) -> None:
        """A fast stroke decelerating to under `ending_ratio` of its peak speed is ending: the
        too-fast rule may fire now rather than once the turn is confirmed `turn_cm` later."""
        if pace is None or self._piece_start is None or self._ending_fired:
            return
        self._piece_peak = max(self._piece_peak, pace)
        if self._piece_peak < 2.0 * self.guidance.too_fast_pace_cm_s or pace > self.ending_ratio * self._piece_peak:
            return
        stroke = self._measure(self._piece_start, i + 1)
        if stroke is None or stroke.distance_cm < self.small_stroke_cm:
            return
        w = self.log.rules.stroke_ending(stroke)
        if w is not None:
            self._ending_fired = True
            self.log.warn(w)

    # --- holds -------------------------------------------------------------------------------------
    def _begin_still(self, i: int, t: float) -> None:
        """The breathing-free position has been still for a window: a stop, maybe a hold."""
        if self.hold is not None and not self.hold.open:
            # still again: if what moved in between was a real stroke, that stroke ended the
            # hold; otherwise (a wobble) the same hold goes on
            if self._piece_start is not None:
                self._close_piece(self._piece_start, i + 1, t)
            if self.hold is not None and not self.hold.open:
                self.hold.open = True
                self._piece_start = None
                self._small = []
                return
        first = self.track.first
        start_i = max(first, i - self.stillness.n + 1)
        # offline, the still stretch starts where the zero-phase slow track settles; the causal
        # one settles its group delay later. Pieces end there, so the breathing after the
        # arrival (which can swing the 0.8 Hz track by 1-2 cm) is not measured as the stroke's end
        cut_i = max(first, start_i - int(round(self.slow_delay_s * self.rate_hz)))
        stroke = None
        if self._piece_start is not None and self._piece_start + 3 <= cut_i:
            stroke = self._close_piece(self._piece_start, cut_i + 1, t)
        else:
            # no piece, or one that began after the cut (a breathing wobble past the arrival)
            self._remeasure_arrival(cut_i)
        self._piece_start = None
        rows = self.track.get(start_i, i + 1)
        start = float(rows["t_s"][0]) if len(rows) else t
        if self._small or stroke is None or stroke.distance_cm < self.small_stroke_cm:
            # nothing real closed here: what moved since the last real stroke (a breathing
            # wobble that the 0.8 Hz track turned into a "turn" and a piece under
            # `min_stroke_cm`) was the hold settling. The hold began where that stroke ended, as
            # offline (where the zero-phase slow track never sees the wobble)
            self._small = []
            stroke = self._arrived_stroke(start)
        if stroke is not None and stroke.end_s <= t and start - stroke.end_s <= self.absorb_s:
            start = stroke.end_s  # the hold began where the stroke that arrived ended
        self.hold = OpenHold(start, elapsed_s=t - start)
        self._maybe_confirm_hold(t)

    def _remeasure_arrival(self, cut_i: int) -> None:
        """The last stroke was closed by a breathing "turn" after its arrival: measure it again
        on its piece up to `cut_i` (where offline's still stretch would start)."""
        log = self.log
        if self._last_piece is None or not log.strokes:
            return
        a, b, stroke = self._last_piece
        if stroke is not log.strokes[-1] or not (a + 3 <= cut_i < b - 1):
            return
        if len(self.track.get(a, cut_i + 1)) < 3 or a < self.track.first:
            return
        again = self._measure(a, cut_i + 1)
        if again is None or again.distance_cm < self.small_stroke_cm:
            return
        log.strokes[-1] = self._undelay(again)
        self._last_piece = (a, cut_i + 1, log.strokes[-1])

    def _arrived_stroke(self, still_start_s: float) -> Stroke | None:
        """The last real stroke of this stay on the roller if nothing (a hold) came after it
        and it ended at most `absorb_s` before the still window: the stroke that arrived."""
        log = self.log
        if not log.strokes:
            return None
        stroke = log.strokes[-1]
        if stroke.end_s < self.on_since_s or still_start_s - stroke.end_s > self.absorb_s:
            return None
        if log.holds and log.holds[-1].end_s > stroke.start_s:
            return None
        return stroke

    def _hold_samples_update(self, ps: float) -> None:
        h = self.hold
        if h is None:
            return
        h.positions_cm.append(ps)
        keep = 4 * self.stillness.n
        if len(h.positions_cm) > keep:
            del h.positions_cm[: len(h.positions_cm) - keep]
        self._maybe_confirm_hold(self.log.now_s)

    def _maybe_confirm_hold(self, t: float) -> None:
        h = self.hold
        if h is None or h.confirmed or t - h.start_s < self.guidance.hold_min_s:
            return
        h.confirmed = True
        self.log.rules.hold_started()
        pos = self.hold_position()
        hold = Hold(h.start_s, t, t - h.start_s, pos, self.guidance.region_at(pos))
        self.log.emit(LiveEvent("hold_started", t, hold=hold))

    def _depart(self, i: int, t: float) -> None:
        """The still window broke: the roller moves again. The next stroke's start ends the
        hold. The next piece starts where the breathing-free position began to leave: the slow
        filter lags ~1/(2 pi slow_hz) s, so a little before that (the measurement finds the
        travel's ends inside the piece)."""
        if self.hold is not None:
            if self.hold.confirmed:
                self.hold.open = False
                self.hold.left_s = t
            else:
                self.hold = None
        back = int(round((1.0 / (2 * math.pi * self.slow_hz) + 1.0) * self.rate_hz))
        start = max(self.track.first, i - back)
        self._piece_start = start
        pf = self.track.get(start, i + 1)["smooth_cm"]
        direction = 1 if pf[-1] > pf[0] else -1
        extreme = float(pf.max() if direction > 0 else pf.min())
        self.cutter.restart(i, extreme, direction, start, float(pf[0]))
        self._piece_peak = 0.0

    def _end_hold(self, t: float, final: bool) -> None:
        h = self.hold
        self.hold = None
        if h is None:
            return
        pos = median(h.positions_cm) if h.positions_cm else (self.log.position_cm or math.nan)
        region = self.guidance.region_at(pos) if math.isfinite(pos) else "unknown"
        self._pending_hold = Hold(h.start_s, t, t - h.start_s, pos, region)
        if final:
            self._finalise_hold(t)

    def _finalise_hold(self, end_s: float) -> None:
        h = self._pending_hold
        self._pending_hold = None
        if h is None:
            return
        end = max(h.start_s, min(end_s, h.end_s + 10.0))
        hold = replace(h, end_s=end, duration_s=end - h.start_s)
        if hold.duration_s >= self.guidance.hold_min_s:
            self.log.add_hold(hold)

    def _left_band_s(self, hold: OpenHold, t_end: float) -> float:
        """A hold left by getting off the roller (no stroke follows to end it) ended when the
        smoothed position last sat within `still_tol_cm` of the hold's position (the still
        window breaks, and the sagittal angle crosses the exit threshold, only seconds later)."""
        left = min(hold.left_s if hold.left_s is not None else t_end, t_end)
        ref = median(hold.positions_cm)
        ring = self.track
        rows = ring.get(ring.index_at("t_s", hold.start_s), ring.index_at("t_s", left) + 1)
        if not math.isfinite(ref) or not len(rows):
            return left
        inside = np.flatnonzero(np.abs(rows["smooth_cm"] - ref) <= self.still_tol_cm)
        if not len(inside):
            return left
        return max(hold.start_s, min(left, float(rows["t_s"][inside[-1]]) - self.delay_s))

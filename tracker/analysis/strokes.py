"""Strokes and holds from the contact position track.

Decisions are made on the position, never on acceleration energy: slow rolling (1.5 cm/s) is
as quiet as a hold to an accelerometer, but it moves the contact 4.5 cm in 3 s.

* **Holds** are stretches where the breathing-free position (low-passed at `slow_hz`, below the
  0.2–0.3 Hz of breathing) stays within `still_tol_cm` over every `still_window_s` window, for
  at least `Guidance.hold_min_s`. A hold's start and end are the end of the stroke that arrives
  and the start of the one that leaves, so the brief stop at a turn (well under 3 s) is never
  one.
* **Strokes** are the moving stretches between holds, split at turning points (the position
  reverses by more than `turn_cm`) and at stops without a reversal (the speed dips below
  `valley_ratio` of the neighbouring peaks). A stroke's distance is the travel between its ends;
  its duration is measured between 10 % and 90 % of that travel and scaled by
  `profile_fraction`, the share of a smooth point-to-point movement's time spent there (0.482
  for a raised-cosine speed profile, 0.51 for minimum jerk), which is robust to the slow start
  and end of each movement.
* **Hips down, the strokes are then fitted** (`fit_ramps`, `_fit_strokes`): the whole track
  as a chain of point-to-point movements, each movement's start, end and distance by least
  squares over every sample from the middle of the movement before to the middle of the one
  after, the neighbours' fitted shapes subtracted (two passes). High on the back a breath tilts
  the chest by as much "position" as a slow stroke covers in seconds (0.4° is 1.5 cm at 45 cm),
  which moves a 10 %/90 % crossing by a second or more: the turn between two slow strokes
  became a 3-4 s "hold", or one stroke two. A least-squares fit averages the breath out. The
  movement's shape is fitted too (`steps.movement`: a raised cosine unless a longer cruise or
  a skew explains clearly more than noise does), so steady rolling with a long cruise is timed
  as well as a smooth reach. Neighbouring movements in one direction are one movement when one
  fitted movement explains the track as well as the two (`_one_movement`: a breath slows a
  slow stroke for a moment, which can look like a stop). The holds lie between the fitted
  strokes, so a turn's stop is a hold only if it lasts `Guidance.hold_min_s`.

Causal form (for the live view): the turning-point rule is a state machine that confirms a turn
once the position has come back `turn_cm`; holds are confirmed `still_window_s` after they
start. The zero-phase filters used here add no delay offline; a causal filter adds about
1 / (2 pi slow_hz) seconds to hold confirmation.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from tracker.analysis.kinematics import hips_down_pitch_rad
from tracker.analysis.steps.filters import Butterworth
from tracker.analysis.steps.measure import StrokeMeasure
from tracker.analysis.steps.movement import fit_movement, one_movement, progress_rows
from tracker.analysis.steps.pieces import PieceCutter
from tracker.analysis.steps.runs import runs
from tracker.analysis.steps.windows import StillWindows, dilate, window_extreme
from tracker.guidance import Guidance
from tracker.results import Hold, Stroke

DEFAULT_GUIDANCE = Guidance()


def _shapes_at(tw, around: list[int], starts, ends, signed, shapes) -> np.ndarray:
    """The movements `around` (their fitted times, distances and shapes) at times `tw`, summed
    in order: what the neighbours of a movement contribute to the track it is fitted to."""
    others = np.zeros(len(tw))
    if not around:
        return others
    idx = np.asarray(around)
    u = (tw[None, :] - starts[idx, None]) / np.maximum(ends[idx] - starts[idx], 1e-9)[:, None]
    each = progress_rows(u, shapes[idx, 0], shapes[idx, 1])
    for row, m in enumerate(around):
        others += signed[m] * each[row]
    return others


def _lowpass(x: np.ndarray, cutoff_hz: float, rate_hz: float) -> np.ndarray:
    """Zero-phase second-order low-pass (offline: no delay)."""
    padlen = min(len(x) - 1, int(3 * rate_hz / cutoff_hz))
    return Butterworth.lowpass(cutoff_hz, rate_hz).zero_phase(x, padlen=padlen)


class StrokeHoldDetector:
    """Strokes and holds on the roller from a position track (cm along the back, from the hips).

    Parameters
    ----------
    smooth_hz
        Low-pass of the position for turning points and stroke timing.
    slow_hz
        Low-pass below breathing for the stillness test.
    still_window_s, still_tol_cm
        Stillness: the slow position's range over this window stays within this tolerance.
    turn_cm
        A reversal larger than this is a turning point.
    valley_ratio
        A speed dip below this fraction of the peaks on both sides ends a stroke (a stop without
        a reversal).
    min_stroke_cm
        Shorter movements are not strokes (shuffles, noise).
    min_pitch_change_deg, roller_diameter_cm
        Hips down, a stroke must also change the pitch by this much (a deep breath tilts the
        chest wall by up to about 0.5°, which high on the back is several cm of "position").
    profile_fraction
        Share of a stroke's duration between 10 % and 90 % of its travel.
    min_inside_pace_cm_s
        A movement found inside a stretch that the breathing-free track calls still must be at
        least this fast to break the hold (people roll at 1.5-10 cm/s; slower is creep).
    breath_window_s, breath_factor
        Inside a still stretch a hips-down movement must also turn the torso by `breath_factor`
        times what this person's breathing turns it by (`_breathing_deg`, over windows of
        `breath_window_s`): a deep breath or a sigh is about twice the usual one.
    max_pace_cm_s
        Faster "strokes" (and ones longer than the back) are posture changes, not rolling.
    hold_pitch_tol_deg
        In a bridge, a hold is the time the torso's pitch (1 s mean) stays within this of its
        median over the still stretch (a bridge stroke turns it by a degree or so, a breath by
        under 0.5°; lifting the hips by 10° or more).
    fit_ramps, fit_rate_hz, fit_iterations, fit_margin_s, fit_search, min_fit_s
        The hips-down fit (module docstring): on or off; the rate the track is fitted at; the
        passes; how far beyond a movement its window may reach (besides the neighbours'
        middles); how far its start and end are searched, as a share of its first duration
        (at least 1 s); the shortest movement.
    merge_gap_s
        Fitted movements in one direction less than this apart (or overlapping) are one when
        one movement fits the track as well as the two do (`_one_movement`).
    bridge_inside_fraction
        A bridge movement belongs to a stretch on the roller when at least this share of it
        lies inside (one fitted across the lift of the hips before it does not).
    """

    def __init__(
        self,
        smooth_hz: float = 0.8,
        slow_hz: float = 0.12,
        still_window_s: float = 3.0,
        still_tol_cm: float = 1.0,
        turn_cm: float = 1.5,
        valley_ratio: float = 0.3,
        min_stroke_cm: float = 2.0,
        profile_fraction: float = 0.482,
        min_pitch_change_deg: float = 1.2,
        roller_diameter_cm: float | None = None,
        min_inside_pace_cm_s: float = 1.0,
        breath_window_s: float = 5.0,
        breath_factor: float = 2.0,
        max_pace_cm_s: float = 25.0,
        hold_pitch_tol_deg: float = 3.0,
        fit_ramps: bool = True,
        fit_rate_hz: float = 5.0,
        fit_iterations: int = 2,
        fit_margin_s: float = 4.0,
        fit_search: float = 0.4,
        min_fit_s: float = 0.8,
        merge_gap_s: float = 0.5,
        bridge_inside_fraction: float = 0.75,
    ) -> None:
        self.bridge_inside_fraction = bridge_inside_fraction
        self.merge_gap_s = merge_gap_s
        self.fit_ramps = fit_ramps
        self.fit_rate_hz = fit_rate_hz
        self.fit_iterations = fit_iterations
        self.fit_margin_s = fit_margin_s
        self.fit_search = fit_search
        self.min_fit_s = min_fit_s
        self.hold_pitch_tol_deg = hold_pitch_tol_deg
        self.max_pace_cm_s = max_pace_cm_s
        self.min_inside_pace_cm_s = min_inside_pace_cm_s
        self.breath_window_s = breath_window_s
        self.breath_factor = breath_factor
        self.min_pitch_change_deg = min_pitch_change_deg
        self.roller_diameter_cm = roller_diameter_cm
        self.smooth_hz = smooth_hz
        self.slow_hz = slow_hz
        self.still_window_s = still_window_s
        self.still_tol_cm = still_tol_cm
        self.turn_cm = turn_cm
        self.valley_ratio = valley_ratio
        self.min_stroke_cm = min_stroke_cm
        self.profile_fraction = profile_fraction

    def detect(
        self,
        t_s: np.ndarray,
        position_cm: np.ndarray,
        posture: np.ndarray,
        usable: np.ndarray,
        guidance: Guidance = DEFAULT_GUIDANCE,
        bridge_moves: list | None = None,
        pitch_deg: np.ndarray | None = None,
    ) -> StrokeHoldDetector:
        """`position_cm` (M,) NaN off the roller; `posture` (M,) per sample; `usable` (M,) bool
        (on the roller, not in a bridged gap). `bridge_moves`: the movements a
        `BridgeSegmenter` found in the bridge spans (`ContactPositionEstimator.bridge_moves_`);
        given, a bridge span's strokes are those movements and its holds the still time between
        them. `pitch_deg` (M,) the torso's pitch, optional: given, a bridge hold excludes the
        time the torso is still turning by more than `hold_pitch_tol_deg` from its settled
        pitch (lifting or lowering the hips is movement, not a hold). Results: `strokes_`,
        `holds_`, `smooth_cm_`."""
        rate = 1.0 / float(np.median(np.diff(t_s)))
        self.strokes_: list[Stroke] = []
        self.holds_: list[Hold] = []
        smooth = np.full(len(t_s), np.nan)
        ok = usable & np.isfinite(position_cm)
        # a stroke never spans a change of posture (lifting or lowering the hips moves the
        # torso, not the roller)
        change = np.zeros(len(t_s), dtype=bool)
        change[1:] = posture[1:] != posture[:-1]
        spans = []
        for a, b in runs(ok):
            cuts = [a] + [int(c) for c in np.flatnonzero(change[a + 1 : b]) + a + 1] + [b]
            spans += list(zip(cuts[:-1], cuts[1:], strict=False))
        for a, b in spans:
            if (b - a) < 2 * rate:
                continue
            if bridge_moves is not None and np.all(posture[a:b] == "bridge"):
                strokes, holds, p_f = self._bridge_span(
                    t_s[a:b],
                    position_cm[a:b],
                    bridge_moves,
                    rate,
                    guidance,
                    None if pitch_deg is None else pitch_deg[a:b],
                )
            else:
                strokes, holds, p_f = self._span(
                    t_s[a:b], position_cm[a:b], posture[a:b], rate, guidance
                )
            self.strokes_ += strokes
            self.holds_ += holds
            smooth[a:b] = p_f
        # a posture change seen as a hips-down "stroke" (the pitch sweeping through the flat
        # angles where r cot(theta / 2) runs off) covers more than a back or moves faster than
        # anyone rolls: not a stroke
        self.strokes_ = [s for s in self.strokes_ if self.stroke_measure(guidance).plausible(s)]
        self.smooth_cm_ = smooth
        return self

    # --- one bridge stretch, from its segmented movements ------------------------------------
    def _bridge_span(self, t, p, moves, rate, guidance, pitch=None):
        """Strokes are the movements inside the stretch (shorter than `min_stroke_cm` are not);
        holds are the still time between them lasting at least `hold_min_s` (a turn's stop is
        well under a second; the model has no pauses of 1-3 s to confuse with a hold)."""
        t0, t1 = float(t[0]), float(t[-1])
        p_f = _lowpass(p, self.smooth_hz, rate)
        # a movement that is mostly outside the stretch (one fitted across the lift of the
        # hips just before it) belongs to what is there
        inside = [
            m
            for m in moves
            if min(m.end_s, t1) - max(m.start_s, t0) >= self.bridge_inside_fraction * m.duration_s
        ]
        strokes: list[Stroke] = []
        for m in inside:
            start, end = max(m.start_s, t0), min(m.end_s, t1)
            dist = abs(m.contact_cm)
            if dist < self.min_stroke_cm or end - start <= 0:
                continue
            i0 = min(len(t) - 1, int(np.searchsorted(t, start)))
            i1 = min(len(t) - 1, int(np.searchsorted(t, end)))
            start_cm, end_cm = float(p[i0]), float(p[i1])
            strokes.append(
                Stroke(
                    start_s=float(m.start_s),
                    end_s=float(m.end_s),
                    distance_cm=float(dist),
                    pace_cm_s=float(dist / m.duration_s),
                    region=guidance.region_at(0.5 * (start_cm + end_cm)),
                    direction="toward_head" if m.contact_cm > 0 else "toward_hips",
                    posture="bridge",
                    start_cm=start_cm,
                    end_cm=end_cm,
                )
            )
        holds: list[Hold] = []
        edges = [t0] + [x for s in strokes for x in (s.start_s, s.end_s)] + [t1]
        for start, end in zip(edges[::2], edges[1::2], strict=False):
            if end - start < guidance.hold_min_s:
                continue
            i0, i1 = int(np.searchsorted(t, start)), int(np.searchsorted(t, end))
            if pitch is not None and i1 - i0 > 2:
                # lifting the hips into the bridge (or lowering them) turns the torso by several
                # degrees, which the segmentation leaves out of the strokes: not stillness
                n_s = max(1, int(round(rate)))
                ps = np.convolve(pitch[i0:i1], np.ones(n_s) / n_s, mode="same")
                settled = np.abs(ps - np.median(ps)) <= self.hold_pitch_tol_deg
                if settled.any():
                    k0 = int(np.argmax(settled))
                    k1 = len(settled) - int(np.argmax(settled[::-1]))
                    start, end = float(t[i0 + k0]), float(t[min(i0 + k1, len(t) - 1)])
                    i0, i1 = i0 + k0, i0 + k1
                if end - start < guidance.hold_min_s:
                    continue
            position = float(np.median(p[i0 : max(i1, i0 + 1)]))
            holds.append(
                Hold(
                    float(start),
                    float(end),
                    float(end - start),
                    position,
                    guidance.region_at(position),
                )
            )
        return strokes, holds, p_f

    # --- one continuous stretch on the roller ---------------------------------------------------
    def _span(self, t, p, posture, rate, guidance):
        n = len(p)
        p_f = _lowpass(p, self.smooth_hz, rate)
        p_slow = _lowpass(p, self.slow_hz, rate)
        w = max(1, int(round(self.still_window_s * rate)))
        # every sample of a window (centred on its middle) whose slow track stays within the
        # tolerance is still
        still = dilate(StillWindows.centred(p_slow, w, self.still_tol_cm), w)
        breath_deg = self._breathing_deg(p_f, p_slow, still, posture, rate)
        # slow rolling is not stillness: the breathing-free track is low-passed far below a
        # stroke's own frequency, so a short stroke between two turns (out and back within a
        # few seconds) can vanish from it. A still stretch that holds a real stroke in the
        # 0.8 Hz track (same tests as any stroke: distance, and hips down a pitch swing larger
        # than a breath's) is moving where that stroke is.
        for a, b in runs(still):
            for s in self._strokes_within(t, p_f, posture, a, b, rate, guidance):
                if self._pitch_swing_deg(s) < self.breath_factor * breath_deg:
                    continue  # what breathing turns the chest by, a sigh included
                if s.posture != "hips_down":
                    # a bridge's track comes from integrated acceleration: what it shows inside
                    # a still stretch is as likely drift as a stroke
                    continue
                still[np.searchsorted(t, s.start_s) : np.searchsorted(t, s.end_s)] = False
        hold_runs = [
            (a, b) for a, b in runs(still) if (t[b - 1] - t[a]) >= 0.5 * guidance.hold_min_s
        ]

        # moving stretches between holds -> turns and stops -> strokes
        moving_runs = []
        prev = 0
        for a, b in hold_runs:
            if a > prev:
                moving_runs.append((prev, a))
            prev = b
        if prev < n:
            moving_runs.append((prev, n))
        # a gap in the data (bridged, or a longer one inside a stay) ends a piece: what moved
        # inside it is unknown, and a piece measured across it has no duration
        jumps = np.flatnonzero(np.diff(t) > 2.5 / rate) + 1
        moving_runs = [
            (x, y)
            for a, b in moving_runs
            for x, y in zip(
                [a, *jumps[(jumps > a) & (jumps < b)]], [*jumps[(jumps > a) & (jumps < b)], b], strict=True
            )
        ]
        strokes: list[Stroke] = []
        for a, b in moving_runs:
            edges = [0, *self._cuts(p_f[a:b], rate), b - a]
            for x, y in zip(edges[:-1], edges[1:], strict=True):
                s = self._stroke(t, p_f, posture, a + x, a + y, guidance)
                if s is not None:
                    strokes.append(s)
        strokes.sort(key=lambda s: s.start_s)
        if self.fit_ramps:
            strokes = self._fit_strokes(t, p, strokes, guidance)
        holds = self._holds(t, p_slow, hold_runs, strokes, w, guidance)
        # strokes swallowed by a hold are not strokes (a shuffle inside it)
        strokes = [
            s
            for s in strokes
            if not any(h.start_s - 0.05 <= s.start_s and s.end_s <= h.end_s + 0.05 for h in holds)
        ]
        return strokes, holds, p_f

    def _holds(
        self,
        t: np.ndarray,
        p_slow: np.ndarray,
        hold_runs: list[tuple[int, int]],
        strokes: list[Stroke],
        w: int,
        guidance: Guidance,
    ) -> list[Hold]:
        """The holds of the still stretches `hold_runs`, each between the stroke that arrives
        and the stroke that leaves; two stretches with no stroke between them are one hold."""
        holds: list[Hold] = []
        for a, b in hold_runs:
            start, end = self._hold_span(t, a, b, strokes, w)
            if end - start < guidance.hold_min_s:
                continue
            i1 = int(np.searchsorted(t, end))
            if holds and (
                start <= holds[-1].end_s
                or (
                    start - holds[-1].end_s <= self.still_window_s
                    and not any(
                        holds[-1].end_s <= 0.5 * (s.start_s + s.end_s) <= start for s in strokes
                    )
                )
            ):
                # two still stretches of one hold (a breath deeper than the rest split it): with
                # no stroke between them, the person never left the spot
                start = holds.pop().start_s
            i0 = int(np.searchsorted(t, start))
            position = float(np.median(p_slow[i0 : max(i1, i0 + 1)]))
            holds.append(Hold(start, end, end - start, position, guidance.region_at(position)))
        return holds

    @staticmethod
    def _hold_span(
        t: np.ndarray, a: int, b: int, strokes: list[Stroke], w: int
    ) -> tuple[float, float]:
        """(start, end) of the hold in the still samples [a, b): from the end of the stroke
        that arrives (the last to start before the still stretch) to the start of the one that
        leaves (the first to end after it). A slow stroke's first and last seconds look still
        (a minimum-jerk stroke at 1 cm/s covers under half a cm in its first 2-3 s), so a still
        stretch often begins before the arriving stroke has ended, or ends after the leaving
        one has begun: the hold is only the time between them (none if one stroke spans the
        stretch)."""
        start, end = float(t[a]), float(t[b - 1])
        arriving = [s for s in strokes if s.start_s < start]
        leaving = [s for s in strokes if s.end_s > end]
        if arriving:
            start = max(max(s.end_s for s in arriving), float(t[0]))
        if leaving:
            end = min(min(s.start_s for s in leaving), float(t[-1]))
        return start, end

    def _fit_strokes(self, t, p_f, strokes: list[Stroke], guidance: Guidance) -> list[Stroke]:
        """Hips-down strokes re-timed by a least-squares fit of the whole track as a chain of
        raised-cosine movements (backfitting: each movement in turn, the others held).

        The 10 %/90 % crossings use two samples of a track that, high on the back, carries the
        breathing tilt as a few cm of "position" (a 0.4° tilt at 45 cm is 1.5 cm): a breath at
        the end of a slow stroke moves its crossing by a second or more, which turns the brief
        stop at a turn into a 3 s "hold", or splits one stroke in two. The fit uses every sample
        of the movement and the still time around it, where breathing averages out. Each
        movement's window runs from the middle of the one before to the middle of the one
        after; the neighbours' own fitted shapes are subtracted first."""
        hd = [k for k, s in enumerate(strokes) if s.posture == "hips_down"]
        if not hd:
            return strokes
        rate = 1.0 / float(np.median(np.diff(t)))
        k_dec = max(1, int(round(rate / self.fit_rate_hz)))
        td, yd = t[::k_dec], p_f[::k_dec]
        starts = np.array([s.start_s for s in strokes])
        ends = np.array([s.end_s for s in strokes])
        signed = np.array(
            [
                (s.end_cm - s.start_cm)
                if s.start_cm is not None and s.end_cm is not None
                else (s.distance_cm if s.direction == "toward_head" else -s.distance_cm)
                for s in strokes
            ]
        )
        strokes = list(strokes)
        # each movement's shape (`steps.movement`): the raised cosine until fitted
        shapes = np.tile([0.5, 0.0], (len(strokes), 1))
        passes = self.fit_iterations
        for _ in range(4):
            for _ in range(passes):
                self._backfit_pass(td, yd, strokes, hd, starts, ends, signed, shapes)
            passes = 1  # after a merge, one more pass settles the merged movement
            # two movements in one direction that overlap are one movement that a breath split
            # (nobody starts the next before the last has ended): merge, and fit again
            keep = np.ones(len(strokes), dtype=bool)
            last = -1  # the movement the next may merge into
            for k in range(len(strokes)):
                if (
                    last >= 0
                    and strokes[last].posture == "hips_down"
                    and strokes[k].posture == "hips_down"
                    and signed[last] * signed[k] > 0
                    and starts[k] - ends[last] < self.merge_gap_s
                    and self._one_movement(td, yd, last, k, starts, ends, signed, shapes)
                ):
                    starts[last] = min(starts[last], starts[k])
                    ends[last] = max(ends[last], ends[k])
                    signed[last] += signed[k]
                    keep[k] = False
                else:
                    last = k
            if keep.all():
                break
            strokes = [s for s, kp in zip(strokes, keep, strict=True) if kp]
            starts, ends, signed, shapes = starts[keep], ends[keep], signed[keep], shapes[keep]
            hd = [k for k, s in enumerate(strokes) if s.posture == "hips_down"]
        out = []
        fitted: list[int] = []  # their places in `out`
        for k, s in enumerate(strokes):
            if k not in hd:
                out.append(s)
                continue
            dist = float(abs(signed[k]))
            if dist < self.min_stroke_cm:
                continue  # the fit, over every sample around it, says it hardly moved
            fitted.append(len(out))
            dur = float(ends[k] - starts[k])
            start_cm = s.start_cm if s.start_cm is not None else 0.0
            end_cm = start_cm + float(signed[k])
            out.append(
                Stroke(
                    start_s=float(starts[k]),
                    end_s=float(ends[k]),
                    distance_cm=dist,
                    pace_cm_s=dist / dur,
                    region=guidance.region_at(start_cm + 0.5 * float(signed[k])),
                    direction=s.direction,
                    posture=s.posture,
                    start_cm=s.start_cm,
                    end_cm=end_cm,
                )
            )
        return _no_overlap(out, fitted)

    def _window(self, td, starts, ends, j: int, k: int) -> tuple[int, int]:
        """Indices [i0, i1) of the fit window of movements j..k: from the middle of the one
        before to the middle of the one after, at most a duration and `fit_margin_s` beyond."""
        n = len(starts)
        dur = ends[k] - starts[j]
        lo = 0.5 * (starts[j - 1] + ends[j - 1]) if j > 0 else td[0]
        hi = 0.5 * (starts[k + 1] + ends[k + 1]) if k + 1 < n else td[-1]
        lo = max(lo, starts[j] - dur - self.fit_margin_s)
        hi = min(hi, ends[k] + dur + self.fit_margin_s)
        i0, i1 = np.searchsorted(td, [lo, hi])
        return int(i0), int(i1)

    def _one_movement(self, td, yd, j: int, k: int, starts, ends, signed, shapes) -> bool:
        """Whether the neighbouring movements j and k (one direction, next to each other) are
        one movement: a single fitted movement explains the track about as well as the two do
        (`steps.movement.one_movement`). A slow stroke's speed
        dips with each breath high on the back, and a dip can look like a stop."""
        i0, i1 = self._window(td, starts, ends, j, k)
        if i1 - i0 < 8:
            return False
        tw = td[i0:i1]
        around = [m for m in range(max(0, j - 2), min(len(starts), k + 3)) if m not in (j, k)]
        others = _shapes_at(tw, around, starts, ends, signed, shapes)
        one = one_movement(
            tw,
            yd[i0:i1] - others,
            (starts[j], ends[j], shapes[j, 0]),
            (starts[k], ends[k], shapes[k, 0]),
            min_s=self.min_fit_s,
            search=self.fit_search,
        )
        return one is not None and one.distance_cm * signed[j] > 0

    def _backfit_pass(self, td, yd, strokes, hd, starts, ends, signed, shapes) -> None:
        """One pass of `_fit_strokes` over the hips-down movements (arrays updated in place).
        A movement is fitted inside the gap-free stretch of the track it lies in (across a
        link gap there is no data to place its start or end)."""
        step = float(np.median(np.diff(td))) if len(td) > 1 else 1.0
        breaks = np.flatnonzero(np.diff(td) > 2.5 * step)
        run_lo = np.concatenate([[td[0]], td[breaks + 1]])
        run_hi = np.concatenate([td[breaks], [td[-1]]])
        for k in hd:
            mids = 0.5 * (starts + ends)
            r = min(max(int(np.searchsorted(run_lo, mids[k], side="right")) - 1, 0), len(run_lo) - 1)
            lo = mids[k - 1] if k > 0 else td[0]
            hi = mids[k + 1] if k + 1 < len(strokes) else td[-1]
            dur = ends[k] - starts[k]
            lo = max(lo, starts[k] - dur - self.fit_margin_s, run_lo[r])
            hi = min(hi, ends[k] + dur + self.fit_margin_s, run_hi[r])
            i0, i1 = np.searchsorted(td, [lo, hi])
            if i1 - i0 < 6:
                continue
            tw = td[i0:i1]
            around = [j for j in range(max(0, k - 2), min(len(strokes), k + 3)) if j != k]
            others = _shapes_at(tw, around, starts, ends, signed, shapes)
            got = fit_movement(
                tw, yd[i0:i1] - others, starts[k], ends[k], min_s=self.min_fit_s,
                search=self.fit_search,
            )  # fmt: skip
            if got is None:
                continue
            s_k, e_k, d_k = got.start_s, got.end_s, got.distance_cm
            # a fit that flips the direction, loses the movement or leaves the data keeps the
            # first estimate
            if (
                d_k * signed[k] <= 0
                or abs(d_k) < 0.5 * self.min_stroke_cm
                or s_k < run_lo[r] - step
                or e_k > run_hi[r] + step
            ):
                continue
            starts[k], ends[k], signed[k] = s_k, e_k, d_k
            shapes[k] = (got.ramp, got.skew)

    def _breathing_deg(self, p_f, p_slow, still, posture, rate: float) -> float:
        """How far this person's breathing turns the chest (degrees of pitch, peak to peak),
        with the hips down: the median, over breath-long windows (`breath_window_s`) inside the
        stretch's still time, of the range of the pitch of the 0.8 Hz track less that of the
        breathing-free one. A breath tilts the chest wall under the sensor and presses the back
        into the roller; high on the back that is as much "position" as a short stroke covers.
        0 when there is no still time long enough (or no roller diameter)."""
        if not self.roller_diameter_cm:
            return 0.0
        n = max(2, int(round(self.breath_window_s * rate)))
        spans: list[np.ndarray] = []
        for a, b in runs(still & (posture == "hips_down")):
            if b - a < 2 * n:
                continue
            theta = hips_down_pitch_rad(p_f[a:b], self.roller_diameter_cm)
            wave = np.degrees(theta - hips_down_pitch_rad(p_slow[a:b], self.roller_diameter_cm))
            ptp = window_extreme(wave, n, np.maximum) - window_extreme(wave, n, np.minimum)
            spans.append(ptp[:: max(1, n // 2)])
        return float(np.median(np.concatenate(spans))) if spans else 0.0

    def _pitch_swing_deg(self, s: Stroke) -> float:
        """How far a hips-down stroke turns the torso (degrees; inf when unknown)."""
        if not self.roller_diameter_cm or s.start_cm is None or s.end_cm is None:
            return float("inf")
        d = self.roller_diameter_cm
        return abs(float(np.degrees(hips_down_pitch_rad(s.start_cm, d) - hips_down_pitch_rad(s.end_cm, d))))

    def _strokes_within(self, t, p_f, posture, a: int, b: int, rate: float, guidance: Guidance):
        """Strokes of the 0.8 Hz track inside samples [a, b) (turns and stops as anywhere)."""
        edges = [0] + self._cuts(p_f[a:b], rate) + [b - a]
        out = []
        for x, y in zip(edges[:-1], edges[1:], strict=False):
            s = self._stroke(t, p_f, posture, a + x, a + y, guidance)
            # a creep slower than `min_inside_pace_cm_s` over the whole way (breathing about a
            # spot, or the last few cm of an arriving stroke smeared over the hold by the 90 %
            # crossing) is not rolling
            if s is not None and s.pace_cm_s >= self.min_inside_pace_cm_s:
                out.append(s)
        return out

    def _cuts(self, p: np.ndarray, rate: float) -> list[int]:
        """Indices (into p) that end one stroke and start the next: turns and stops."""
        return self.piece_cutter().run(p, rate)

    def _stroke(self, t, p, posture, a: int, b: int, guidance: Guidance) -> Stroke | None:
        return self.stroke_measure(guidance).measure(t, p, posture, a, b)

    # --- the primitives, configured with this detector's parameters (the live analysis runs them)
    def stroke_measure(self, guidance: Guidance = DEFAULT_GUIDANCE) -> StrokeMeasure:
        """The stroke measurement and plausibility filter with this detector's parameters."""
        return StrokeMeasure(
            guidance,
            min_stroke_cm=self.min_stroke_cm,
            min_pitch_change_deg=self.min_pitch_change_deg,
            roller_diameter_cm=self.roller_diameter_cm,
            profile_fraction=self.profile_fraction,
            max_pace_cm_s=self.max_pace_cm_s,
        )

    def piece_cutter(self) -> PieceCutter:
        """Turning points and stops with this detector's thresholds."""
        return PieceCutter(self.turn_cm, self.valley_ratio, self.min_stroke_cm)

    def smoother(self, rate_hz: float) -> Butterworth:
        """The low-pass the position is smoothed with for turns and stroke timing."""
        return Butterworth.lowpass(self.smooth_hz, rate_hz)

    def breath_filter(self, rate_hz: float) -> Butterworth:
        """The low-pass below breathing that the stillness test runs on."""
        return Butterworth.lowpass(self.slow_hz, rate_hz)

    def still_windows(self, rate_hz: float) -> StillWindows:
        """The stillness test: the breathing-free position within `still_tol_cm` over
        `still_window_s`."""
        return StillWindows(max(1, int(round(self.still_window_s * rate_hz))), self.still_tol_cm)


def _no_overlap(strokes: list[Stroke], fitted: list[int]) -> list[Stroke]:
    """Fitted neighbours that overlap in time meet at the middle of the overlap instead.

    The fit runs on a low-passed track, which widens every movement a little at both ends, so
    two strokes around a quick turn can overlap by a few tenths of a second; nobody rolls both
    ways at once, and a stroke list that says so reads as a bug. Pace is re-measured over the
    trimmed time (the widening had made it slightly slow)."""
    out = list(strokes)
    fitted_set = set(fitted)
    for k in range(1, len(out)):
        a, b = out[k - 1], out[k]
        if (k - 1) not in fitted_set or k not in fitted_set or b.start_s >= a.end_s:
            continue
        mid = 0.5 * (a.end_s + b.start_s)
        if mid - a.start_s <= 0.0 or b.end_s - mid <= 0.0:
            continue
        out[k - 1] = replace(a, end_s=mid, pace_cm_s=a.distance_cm / (mid - a.start_s))
        out[k] = replace(b, start_s=mid, pace_cm_s=b.distance_cm / (b.end_s - mid))
    return out


def _ramp(t: np.ndarray, start: float, end: float) -> np.ndarray:
    """A raised-cosine movement's share of its distance covered at times `t` (0 before `start`,
    1 after `end`)."""
    u = np.clip((t - start) / max(end - start, 1e-9), 0.0, 1.0)
    return u - np.sin(2.0 * np.pi * u) / (2.0 * np.pi)


def _fit_ramp(
    t: np.ndarray, y: np.ndarray, start: float, end: float, min_s: float, search: float
) -> tuple[float, float, float] | None:
    """(start, end, signed distance) of the raised-cosine movement plus a constant that best
    fits `y` at `t` (least squares), searched around the given start and end: a coarse grid,
    then a finer one around its best."""
    dur = end - start
    half = max(1.0, search * dur)
    best = None
    yc = y - y.mean()
    for step, span in ((half / 6.0, half), (half / 24.0, half / 6.0)):
        s_c, e_c = (start, end) if best is None else (best[0], best[1])
        offs = np.arange(-span, span + 1e-9, step)
        ss = np.repeat(s_c + offs, len(offs))  # every (start, end) pair of the grid
        ee = np.tile(e_c + offs, len(offs))
        keep = ee - ss >= min_s
        if not keep.any():
            return None
        ss, ee = ss[keep], ee[keep]
        u = np.clip((t[None, :] - ss[:, None]) / (ee - ss)[:, None], 0.0, 1.0)
        # the ramp, u - sin(2 pi u) / 2 pi, is exactly 0 before the movement and 1 after it:
        # the sine is needed only inside
        sine = np.zeros_like(u)
        np.sin(2.0 * np.pi * u, out=sine, where=(u > 0.0) & (u < 1.0))
        g = u - sine / (2.0 * np.pi)
        gc = g - g.mean(axis=1, keepdims=True)
        cov = gc @ yc
        var = np.einsum("ij,ij->i", gc, gc)
        ok = var > 1e-9
        if not ok.any():
            return None
        gain = np.where(ok, cov * cov / np.maximum(var, 1e-12), -np.inf)
        k = int(np.argmax(gain))
        best = (float(ss[k]), float(ee[k]), float(cov[k] / var[k]))
    return best

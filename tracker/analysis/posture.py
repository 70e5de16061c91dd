"""Posture phases (upright, sitting, transition, on_roller) and the posture on the roller.

Works on body-frame signals at the analysis rate. The sagittal angle of the torso,
atan2(up_z, up_x) in the body frame, is 90° standing, 72–84° sitting (leaning back a little),
above 90° while leaning forward to sit down or get up, and below 70° lying back on a roller (the
steepest hips-down pitch, with the roller low on the back). Phases come from that angle with
hysteresis and minimum durations; a transition is the stretch of fast turning between two
different still states.

On the roller, hips down and bridge are told apart by how the torso moves during strokes (when
the body-frame acceleration is given; otherwise by pitch alone, the fallback below):

* hips down, the torso pivots about the hips: a stroke turns it by degrees (14° over 25 cm), and
  the sensor, on a circle about the hips, barely accelerates along the spine (only through the
  chest's depth, d * theta'' with d ~ 0.2 m);
* in a bridge the torso translates along the spine (twice the contact's travel) and turns by
  little (a degree or so per stroke).

So the ratio of the along-spine acceleration's rms to the pitch rate's rms (both in the stroke
band, over `ratio_window_s`) is about d ~ 0.2 m hips down and well above 1 m in a bridge; the
decision uses its log, averaged over the windows with motion, weighted by how far the motion
stands above a hold's breathing and noise (holds carry no evidence and take the posture of the
motion around them), with a physical bound: a torso pitched above `bridge_max_pitch_deg` is not
a bridge (the hips lifted keep it near level), and its motion votes hips down. Fallback without
acceleration: with the hips on the floor the back rises from the floor to the roller, so its
pitch is at least 2 atan(r / hip_to_neck) (the roller at the neck); in a bridge the torso lies
within a few degrees of level.

Each change of posture is then moved onto the lift (or lowering) of the hips that makes it, and
the lift's own samples are marked (`lift_mask_`): the torso turns by several degrees there with
the roller where it was, which is neither a stroke nor a hold (`_place_lifts`).
"""

from __future__ import annotations

import math
from typing import overload

import numpy as np

from tracker.analysis.steps.filters import Butterworth
from tracker.analysis.steps.runs import label_runs, runs
from tracker.analysis.steps.windows import centred_extreme, centred_mean, centred_uniform_mean
from tracker.results import Phase

UNKNOWN = "unknown"


class PostureSegmenter:
    """Phases of the session and hips-down/bridge on the roller.

    Parameters (angles are the torso's sagittal angle, degrees)
    ----------
    on_roller_max_deg / on_roller_exit_deg
        Lying back below `on_roller_max_deg` enters the roller; rising above `on_roller_exit_deg`
        leaves it (hysteresis).
    upright_min_deg
        Standing is at least this upright (sitting leans back more).
    transition_rate_deg_s
        Turning faster than this (smoothed) around a change of state is the transition.
    min_phase_s
        Shorter still states are absorbed into their neighbours.
    bridge_fraction
        A bridge is pitched less than this fraction of the flattest hips-down pitch.
    min_lift_pitch_deg, lift_window_s
        A change of posture needs the pitch to move by at least this much within this many
        seconds of it (lifting or lowering the hips; see `_require_lift`).
    max_hold_before_lift_s
        How far after a change of posture its lift may be (a hold before the lift can take the
        new posture; holds last up to 2 min).
    lift_search_s, lift_rate_fraction, lift_pad_s
        Placing the lift near a change of posture (`_place_lifts`): how far to look, where the
        lift ends (its pitch rate below this fraction of its peak), and a margin around it.
    transition_tail_fraction, transition_search_s
        A transition is the fastest turning within `transition_search_s` of a change of state,
        going on while the torso turns faster than `transition_tail_fraction` of its peak rate.
    sit_rise_min_deg, sit_rise_rate_deg_s, sit_margin_deg, sit_plateau_s, sit_plateau_tol_deg
        Sitting up (or lying back) inside the on-roller band of angles (`_getting_on_and_off`):
        a rise of at least this many degrees, at a peak rate at least this fast, to a plateau
        steeper by the margin than the rolling before it, lasting this long, within the
        tolerance.
    sit_min_deg, sit_max_s
        Such a plateau is at least this upright (people sit leaning back by 65-85°; a hips-down
        pitch that steep puts the roller under the sacrum), and sitting up takes at most
        `sit_max_s`.
    motion_acc_m_s2, motion_rate_rad_s, motion_full
        The motion evidence counts nothing below these stroke-band rms levels (along-spine
        acceleration, pitch rate: a hold's breathing and noise) and in full from `motion_full`
        times them (`motion_weight`).
    min_posture_s
        Shorter runs of one posture inside a stay on the roller take their neighbour's. 8 s:
        hips down with the roller at the neck (a small roller, a slow stroke's turn) the torso
        is as flat as a bridge and the turn's deceleration reads as translation for a few
        seconds; lifting the hips, rolling and lowering them takes longer than that.
    """

    STEEP_VOTE = -1.0
    """The motion score of a torso too steep for a bridge (a log ratio well on the hips-down
    side: the motion there is a hips-down stroke's, whatever its ratio)."""

    def __init__(
        self,
        on_roller_max_deg: float = 68.0,
        on_roller_exit_deg: float = 71.0,
        upright_min_deg: float = 85.0,
        transition_rate_deg_s: float = 8.0,
        min_phase_s: float = 1.0,
        bridge_fraction: float = 0.85,
        smooth_s: float = 0.5,
        posture_smooth_s: float = 4.0,
        min_posture_s: float = 8.0,
        ratio_window_s: float = 6.0,
        evidence_window_s: float = 10.0,
        bridge_ratio_m: float = 1.5,
        bridge_max_pitch_deg: float = 15.0,
        motion_acc_m_s2: float = 0.008,
        motion_rate_rad_s: float = 0.008,
        motion_full: float = 2.0,
        flat_fraction: float = 0.7,
        min_lift_pitch_deg: float = 2.5,
        lift_window_s: float = 8.0,
        max_hold_before_lift_s: float = 120.0,
        lift_search_s: float = 4.0,
        lift_rate_fraction: float = 0.2,
        lift_pad_s: float = 0.3,
        transition_tail_fraction: float = 0.2,
        transition_search_s: float = 1.0,
        sit_rise_min_deg: float = 20.0,
        sit_rise_rate_deg_s: float = 12.0,
        sit_margin_deg: float = 10.0,
        sit_plateau_s: float = 1.0,
        sit_plateau_tol_deg: float = 5.0,
        sit_min_deg: float = 55.0,
        sit_max_s: float = 5.0,
    ) -> None:
        self.sit_min_deg = sit_min_deg
        self.sit_max_s = sit_max_s
        self.transition_tail_fraction = transition_tail_fraction
        self.transition_search_s = transition_search_s
        self._dt = 0.04
        self.sit_rise_min_deg = sit_rise_min_deg
        self.sit_rise_rate_deg_s = sit_rise_rate_deg_s
        self.sit_margin_deg = sit_margin_deg
        self.sit_plateau_s = sit_plateau_s
        self.sit_plateau_tol_deg = sit_plateau_tol_deg
        self.lift_search_s = lift_search_s
        self.lift_rate_fraction = lift_rate_fraction
        self.lift_pad_s = lift_pad_s
        self.max_hold_before_lift_s = max_hold_before_lift_s
        self.min_lift_pitch_deg = min_lift_pitch_deg
        self.lift_window_s = lift_window_s
        self.flat_fraction = flat_fraction
        self.ratio_window_s = ratio_window_s
        self.evidence_window_s = evidence_window_s
        self.bridge_ratio_m = bridge_ratio_m
        self.bridge_max_pitch_deg = bridge_max_pitch_deg
        self.motion_acc_m_s2 = motion_acc_m_s2
        self.motion_rate_rad_s = motion_rate_rad_s
        self.motion_full = motion_full
        self.on_roller_max_deg = on_roller_max_deg
        self.on_roller_exit_deg = on_roller_exit_deg
        self.upright_min_deg = upright_min_deg
        self.transition_rate_deg_s = transition_rate_deg_s
        self.min_phase_s = min_phase_s
        self.bridge_fraction = bridge_fraction
        self.smooth_s = smooth_s
        self.posture_smooth_s = posture_smooth_s
        self.min_posture_s = min_posture_s

    def segment(
        self,
        t_s: np.ndarray,
        up_body: np.ndarray,
        gyr_body_rad_s: np.ndarray,
        segment: np.ndarray,
        *,
        roller_diameter_cm: float,
        hip_to_neck_cm: float,
        gaps: list[tuple[float, float]] | tuple[()] = (),
        acc_body_m_s2: np.ndarray | None = None,
        has_gyro: bool = True,
    ) -> PostureSegmenter:
        """Label every sample. `up_body` (M, 3) unit up in the body frame; `segment` (M,) gap-free
        ids; `acc_body_m_s2` (M, 3) specific force in the body frame (optional: without it the
        posture on the roller comes from pitch alone); `has_gyro` False: `gyr_body_rad_s` is the
        tilt's rotation and the motion evidence is the accelerometer's own
        (`tracker.analysis.accel_only.posture_evidence`)."""
        self.has_gyro = has_gyro
        rate = 1.0 / float(np.median(np.diff(t_s))) if len(t_s) > 1 else 25.0
        self._dt = 1.0 / rate
        n_s = max(1, int(round(self.smooth_s * rate)))
        sag = np.degrees(np.arctan2(up_body[:, 2], up_body[:, 0]))
        sag_s = centred_mean(sag, n_s)
        rate_deg_s = centred_mean(np.degrees(np.linalg.norm(gyr_body_rad_s, axis=1)), n_s)

        # still states with hysteresis on the roller boundary
        on = False
        codes = np.zeros(len(t_s), dtype=np.int8)  # 0 upright, 1 sitting, 2 on roller
        for i, a in enumerate(sag_s):  # a small state machine; 25 Hz keeps it cheap
            on = a < self.on_roller_exit_deg if on else a < self.on_roller_max_deg
            # leaning forward past 95° happens only on the way down or up: not upright
            codes[i] = 2 if on else (0 if self.upright_min_deg <= a < 95.0 else 1)
        state = np.array(["upright", "sitting", "on_roller"], dtype=object)[codes]
        # absorb very short still states
        min_n = int(self.min_phase_s * rate)
        spans = label_runs(state)
        for k, (_lab, a, b) in enumerate(spans):
            if b - a < min_n and 0 < k < len(spans) - 1:
                state[a:b] = spans[k - 1][0]
        # transitions: fast turning next to a change of state, with its slow ends (a movement
        # that decelerates smoothly turns below any fixed rate well before it stops: the last
        # degrees of lying back would read as a quick stroke along the back)
        trans = np.zeros(len(t_s), dtype=bool)
        change = np.flatnonzero(state[1:] != state[:-1]) + 1
        for c in change.tolist():
            a, b = self._fast_around(rate_deg_s, c)
            trans[a:b] = True
        labels = state.copy()
        labels[trans] = "transition"
        labels = self._getting_on_and_off(labels, sag_s, rate)
        self.labels_ = labels
        self.on_roller_ = labels == "on_roller"
        self.sagittal_deg_ = sag_s

        # posture on the roller
        pitch = np.degrees(np.arcsin(np.clip(up_body[:, 2], -1.0, 1.0)))
        pitch_s = centred_mean(pitch, max(1, int(round(self.posture_smooth_s * rate))))
        flattest_hips_down = math.degrees(
            2.0 * math.atan2(0.5 * roller_diameter_cm, hip_to_neck_cm)
        )
        if acc_body_m_s2 is not None and len(t_s) > 16:
            # too flat for hips down (the roller would lie beyond the neck): a bridge, whatever
            # the motion says; too steep for a bridge: hips down
            surely_bridge = pitch_s < self.flat_fraction * flattest_hips_down
            bridge = surely_bridge | self._bridge_by_motion(
                pitch,
                pitch_s,
                acc_body_m_s2,
                rate,
                self.on_roller_ & (pitch_s < self.bridge_max_pitch_deg),
            )
        else:
            bridge = pitch_s < self.bridge_fraction * flattest_hips_down
        posture = np.where(self.on_roller_, np.where(bridge, "bridge", "hips_down"), "").astype(
            object
        )
        # short posture flips inside one stay on the roller are noise
        min_p = int(self.min_posture_s * rate)
        for a, b in runs(self.on_roller_):
            spans = label_runs(posture[a:b])
            for k, (_lab, ra, rb) in enumerate(spans):
                if rb - ra < min_p and len(spans) > 1:
                    neighbour = spans[k - 1][0] if k > 0 else spans[k + 1][0]
                    posture[a + ra : a + rb] = neighbour
        posture = self._require_lift(posture, pitch, rate)
        posture, self.lift_mask_ = self._place_lifts(posture, pitch, rate)
        self.posture_ = posture
        self.pitch_deg_ = pitch

        # phases, with long gaps as unknown
        phases: list[Phase] = []
        for lab, a, b in label_runs(labels):
            start = float(t_s[a])
            end = float(t_s[b]) if b < len(t_s) else float(t_s[-1])
            phases.append(Phase(str(lab), start, end))
        for g0, g1 in gaps:
            phases.append(Phase(UNKNOWN, g0, g1))
        phases.sort(key=lambda p: p.start_s)
        self.phases_ = phases
        return self

    def _fast_around(self, rate_deg_s: np.ndarray, c: int) -> tuple[int, int]:
        """[a, b) of the turning at a change of state at sample `c`: the fastest turning within
        `transition_search_s` of it, if faster than `transition_rate_deg_s`, extended while it
        turns faster than `transition_tail_fraction` of that peak (a movement that decelerates
        smoothly turns below any fixed rate well before it stops, and the angle may cross the
        threshold in that slow end); always including `c`. Empty when nothing turns fast."""
        n = len(rate_deg_s)
        reach = max(1, int(round(self.transition_search_s / max(self._dt, 1e-9))))
        lo, hi = max(0, c - reach), min(n, c + reach + 1)
        if hi <= lo:
            return c, c
        m = lo + int(np.argmax(rate_deg_s[lo:hi]))
        peak = float(rate_deg_s[m])
        if peak <= self.transition_rate_deg_s:
            return c, c
        tail = min(self.transition_rate_deg_s, self.transition_tail_fraction * peak)
        a, b = m, m + 1
        while a > 0 and rate_deg_s[a - 1] > tail:
            a -= 1
        while b < n and rate_deg_s[b] > tail:
            b += 1
        return min(a, c), max(b, c)

    def _getting_on_and_off(self, labels: np.ndarray, sag_s: np.ndarray, rate: float) -> np.ndarray:
        """A stay on the roller that ends by sitting up to a sitting angle inside the on-roller
        band (people sit leaning back by 65-85°, the band ends at `on_roller_exit_deg`) ends
        where sitting up begins: the quick rise (at least `sit_rise_min_deg`, at
        `sit_rise_rate_deg_s` or faster) to a plateau that lasts to the end of the stay and is
        steeper by `sit_margin_deg` than any pitch of the stay before it (no hips-down
        position is that steep: the rolling never went there). Likewise a stay that begins
        sitting below `on_roller_max_deg` begins where lying back ends. The rise (fall) is a
        transition, the plateau sitting."""
        out = labels.copy()
        plateau_n = max(1, int(round(self.sit_plateau_s * rate)))
        for a, b in runs(labels == "on_roller"):
            if b - a < 3 * plateau_n:
                continue
            p = sag_s[a:b]
            m = b - a
            end = self._sit_up(p, plateau_n, rate)
            start = self._sit_up(p[::-1], plateau_n, rate)
            # the rolling: between lying back and sitting up, where either was found
            lo = m - start[0] if start else 0
            hi = end[0] if end else m
            if hi - lo < plateau_n:
                continue
            steepest = float(p[lo:hi].max())
            if end and float(np.median(p[end[1] :])) >= steepest + self.sit_margin_deg:
                out[a + end[0] : a + end[1]] = "transition"
                out[a + end[1] : b] = "sitting"
            if start and float(np.median(p[: m - start[1]])) >= steepest + self.sit_margin_deg:
                out[a + m - start[1] : a + m - start[0]] = "transition"
                out[a : a + m - start[1]] = "sitting"
        return out

    def _sit_up(self, p: np.ndarray, plateau_n: int, rate: float) -> tuple[int, int] | None:
        """(start, end) of a quick rise to a plateau at the end of the angles `p` of one stay
        (indices into `p`; the plateau runs from `end` to the end), or None (see
        `_getting_on_and_off`, which checks the plateau against the rolling). The rise is the
        fastest rising within the last `sit_rise_min_deg` below the plateau, extended while it
        rises faster than `transition_tail_fraction` of that rate."""
        level = float(np.median(p[-plateau_n:]))
        if level < self.sit_min_deg:
            return None  # no one sits that far back: the roller under the back holds them
        below = np.flatnonzero(p < level - self.sit_rise_min_deg)
        if not below.size:
            return None
        k1 = int(below[-1]) + 1
        while k1 < len(p) and p[k1] < level - self.sit_plateau_tol_deg:
            k1 += 1
        if len(p) - k1 < plateau_n:
            return None
        d = np.gradient(p) * rate
        lo = max(0, int(below[-1]) - plateau_n)
        m = lo + int(np.argmax(d[lo:k1])) if k1 > lo else k1
        peak = float(d[m]) if m < len(d) else 0.0
        if peak < self.sit_rise_rate_deg_s:
            return None  # a stroke into the lumbar region, not sitting up
        k0 = m
        longest = int(round(self.sit_max_s * rate))
        while k0 > 0 and d[k0 - 1] > self.transition_tail_fraction * peak and k1 - k0 < longest:
            k0 -= 1
        if k0 == 0 or level - p[k0] < self.sit_rise_min_deg:
            return None
        return k0, k1

    def _require_lift(self, posture: np.ndarray, pitch_deg: np.ndarray, rate: float) -> np.ndarray:
        """Drop posture changes that no lift or lowering of the hips explains.

        Lifting the hips into a bridge flattens the torso (the hips rise about as far as the
        roller is tall), lowering them steepens it again: the pitch steps by several degrees
        within a second or two. A change of posture with the pitch steady within
        `lift_window_s` either side (a hold, where breathing alone can look like motion) is
        not one: the stretch keeps the posture it had before.
        """
        n_s = max(1, int(round(1.0 * rate)))
        p1 = centred_mean(pitch_deg, n_s)
        w = 2 * max(1, int(round(self.lift_window_s * rate))) + 1
        swing = centred_extreme(p1, w, np.maximum) - centred_extreme(p1, w, np.minimum)
        # the motion evidence is averaged over `evidence_window_s` (and the lift itself, a
        # rotation without translation, votes hips down), so a change can be found that much
        # after the lift that explains it: look for the lift there and move the change onto it
        # rather than keeping the wrong posture for the whole stay
        h = max(1, int(round(1.0 * rate)))
        step = np.zeros(len(p1))
        step[h:-h] = p1[2 * h :] - p1[: -2 * h]  # pitch change across each sample, over 2 s
        reach = int(round(self.evidence_window_s * rate))
        out = posture.copy()
        for a, b in runs(self.on_roller_):
            spans = label_runs(out[a:b])
            for k in range(1, len(spans)):
                c = a + spans[k][1]
                end = a + spans[k][2]
                if swing[c] >= self.min_lift_pitch_deg:
                    continue
                # lifting the hips flattens the torso (the pitch falls), lowering steepens it
                sign = -1.0 if spans[k][0] == "bridge" else 1.0
                lo = max(a + spans[k - 1][1] + 1, c - reach)
                cand = sign * step[lo:c]
                if cand.size and cand.max() >= self.min_lift_pitch_deg:
                    m = lo + int(np.argmax(cand))
                    out[m:c] = spans[k][0]
                    continue
                # a hold just before the lift takes the posture of the motion after it (it is
                # at the pitch of neither, and the evidence window reaches across it), so the
                # change can also come up to a hold's length before its lift: the first step
                # of the right sign after the change, where the hold ends, is the lift
                hi = min(end, c + int(round(self.max_hold_before_lift_s * rate)))
                ahead = np.flatnonzero(sign * step[c:hi] >= self.min_lift_pitch_deg)
                if ahead.size:
                    first = c + int(ahead[0])
                    m = first + int(np.argmax(sign * step[first : min(hi, first + 2 * h)]))
                    out[c:m] = out[c - 1]
                else:
                    out[c:end] = out[c - 1]
        return out

    def _place_lifts(
        self, posture: np.ndarray, pitch_deg: np.ndarray, rate: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Each change of posture moved onto the lift (or lowering) of the hips that makes it,
        and the lift's own samples marked (M,) bool: the torso turns by several degrees there
        with the roller where it was, which is neither a stroke nor a hold.

        The motion evidence places a change up to a few seconds off the lift; the lift is the
        steepest pitch step of the right sign near it, and it lasts while the pitch keeps
        turning that way faster than `lift_rate_fraction` of that step's peak rate.
        """
        n_s = max(1, int(round(0.5 * rate)))
        p1 = centred_mean(pitch_deg, n_s)
        d = np.gradient(p1) * rate  # deg/s
        mask = np.zeros(len(p1), dtype=bool)
        out = posture.copy()
        reach = max(1, int(round(self.lift_search_s * rate)))
        pad = int(round(self.lift_pad_s * rate))
        for a, b in runs(self.on_roller_):
            spans = label_runs(out[a:b])
            for k in range(1, len(spans)):
                before, c, end = spans[k - 1][0], a + spans[k][1], a + spans[k][2]
                start_prev = a + spans[k - 1][1]
                sign = -1.0 if spans[k][0] == "bridge" else 1.0
                lo, hi = max(start_prev, c - reach), min(end, c + reach)
                got = self.lift_step(p1, d, lo, hi, sign, start_prev, end)
                if got is None:
                    continue
                l0, m, l1 = got
                out[min(c, m) : m] = before
                out[m : max(c, m)] = spans[k][0]
                mask[max(a, l0 - pad) : min(b, l1 + pad)] = True
            # a stay that starts in a bridge began with lying back and lifting the hips (too
            # brief hips down to count), one that ends in a bridge with lowering them before
            # sitting up: that lift is inside the stay, with no change of posture to find it by
            if spans and spans[0][0] == "bridge":
                # the end of lying back (still turning flatter when the stay begins) and the
                # lift after it are two steps: take the last one within reach of the other
                first_end = a + spans[0][2]
                lo, last = a, None
                while lo < first_end:
                    got = self.lift_step(
                        p1, d, lo, min(first_end, lo + reach), -1.0, lo, first_end
                    )
                    if got is None:
                        break
                    last = got[2]
                    lo = got[2] + 1
                if last is not None:
                    mask[a : min(b, last + pad)] = True
            if spans and spans[-1][0] == "bridge":
                lo = max(a + spans[-1][1], b - reach)
                got = self.lift_step(p1, d, lo, b, 1.0, a + spans[-1][1], b)
                if got is not None:
                    mask[max(a, got[0] - pad) : b] = True
        return out, mask

    def lift_step(
        self,
        p1: np.ndarray,
        d: np.ndarray,
        lo: int,
        hi: int,
        sign: float,
        floor: int,
        ceil: int,
    ) -> tuple[int, int, int] | None:
        """(start, peak, end) of the steepest pitch step of `sign` in [lo, hi) of the pitch
        rate `d` (deg/s; `p1` the pitch), extended within [floor, ceil) while it turns faster
        than `lift_rate_fraction` of its peak; None when it changes the pitch by less than a
        lift does."""
        if hi - lo < 3:
            return None
        m = lo + int(np.argmax(sign * d[lo:hi]))
        peak = sign * d[m]
        if peak <= 0:
            return None
        thr = self.lift_rate_fraction * peak
        l0 = m
        while l0 > floor and sign * d[l0 - 1] > thr:
            l0 -= 1
        l1 = m + 1
        while l1 < ceil and sign * d[l1] > thr:
            l1 += 1
        if sign * (p1[min(l1, len(p1) - 1)] - p1[l0]) < self.min_lift_pitch_deg:
            return None
        return l0, m, l1

    def _motion_evidence(
        self, pitch_deg: np.ndarray, acc_body: np.ndarray, rate: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """(score, weight) per sample: the log ratio of the along-spine acceleration's rms to
        the pitch rate's (above 0: a bridge), and how much it counts (`motion_weight`)."""
        from tracker.imu import STANDARD_GRAVITY_M_S2

        theta = np.radians(pitch_deg)
        a_spine = acc_body[:, 2] - STANDARD_GRAVITY_M_S2 * np.sin(theta)
        # stroke band; the pitch rate stops below breathing (0.2-0.3 Hz), whose chest-wall tilt
        # would otherwise look like pitching
        band_a = Butterworth(2, (0.05, min(1.0, 0.45 * rate)), rate, "bandpass")
        band_t = Butterworth(2, (0.02, min(0.15, 0.45 * rate)), rate, "bandpass")
        w = max(3, int(round(self.ratio_window_s * rate)))
        # each stay on the roller filtered on its own: lying back turns the torso by 80°, and
        # through a 0.02 Hz band-pass that step rings for a minute, as "pitching" that outweighs
        # a bridge's strokes (the live stage, too, filters the samples on the roller only)
        a_band = np.zeros(len(theta))
        t_band = np.zeros(len(theta))
        for a, b in runs(self.on_roller_):
            a_band[a:b] = band_a.zero_phase(a_spine[a:b])
            t_band[a:b] = band_t.zero_phase(theta[a:b])
        q_a = np.sqrt(np.maximum(centred_uniform_mean(a_band**2, w), 0.0))
        rate_t = np.gradient(t_band) * rate
        q_t = np.sqrt(np.maximum(centred_uniform_mean(rate_t**2, w), 0.0))
        score = np.log((q_a + 1e-4) / (q_t + 1e-3)) - np.log(self.bridge_ratio_m)
        return score, self.motion_weight(q_a, q_t)

    @overload
    def motion_weight(self, q_a: float, q_t: float) -> float: ...

    @overload
    def motion_weight(self, q_a: np.ndarray, q_t: np.ndarray) -> np.ndarray: ...

    def motion_weight(self, q_a: np.ndarray | float, q_t: np.ndarray | float) -> np.ndarray | float:
        """How much the motion ratio counts, 0-1, from the stroke-band rms of the along-spine
        acceleration `q_a` (m/s²) and of the pitch rate `q_t` (rad/s): nothing up to the motion
        thresholds, all from `motion_full` times them. Holding still, breathing and sensor noise
        stay near the thresholds, and their ratio means nothing: the acceleration's band passes
        breathing (0.2-0.3 Hz), the pitch rate's stops below it, so it reads as translation
        without turning, a bridge. Counted in full, a hold at a flat hips-down pitch became a
        bridge on that alone. Two floats give a float (the live stage's per-sample call)."""
        if isinstance(q_a, float) and isinstance(q_t, float):
            strength_1 = max(q_a / self.motion_acc_m_s2, q_t / self.motion_rate_rad_s)
            return min(max((strength_1 - 1.0) / (self.motion_full - 1.0), 0.0), 1.0)
        strength = np.maximum(
            np.asarray(q_a) / self.motion_acc_m_s2, np.asarray(q_t) / self.motion_rate_rad_s
        )
        return np.clip((strength - 1.0) / (self.motion_full - 1.0), 0.0, 1.0)

    def _bridge_by_motion(
        self,
        pitch_deg: np.ndarray,
        pitch_smooth_deg: np.ndarray,
        acc_body: np.ndarray,
        rate: float,
        candidate: np.ndarray,
    ) -> np.ndarray:
        """(M,) bool: bridge, from the along-spine acceleration vs pitch rate (module docstring;
        without a gyroscope `tracker.analysis.accel_only.posture_evidence`)."""
        if self.has_gyro:
            score, weight = self._motion_evidence(pitch_deg, acc_body, rate)
        else:
            from tracker.analysis.accel_only import posture_evidence

            score, moving = posture_evidence(pitch_deg, acc_body, rate, self.ratio_window_s)
            weight = moving.astype(float)
        # a steep torso is hips down whatever the motion says, and its motion is evidence of
        # that: a hold between such strokes takes their posture (below), not the posture of
        # whatever breathing shows while it is flat enough to be a candidate
        score = np.where(candidate, score, self.STEEP_VOTE)
        weight = weight * self.on_roller_
        ev_w = max(3, int(round(self.evidence_window_s * rate)))
        num = centred_uniform_mean(score * weight, ev_w)
        den = centred_uniform_mean(weight, ev_w)
        out = np.zeros(len(pitch_deg), dtype=bool)
        for a, b in runs(self.on_roller_):
            d, n_ = den[a:b], num[a:b]
            known = d > 0.3
            if not known.any():
                # no motion at all on this stay: the pitch decides
                out[a:b] = candidate[a:b]
                continue
            # a stretch without motion (a hold) takes the posture of the motion before or after
            # it, whichever was at the closer pitch (a lift or lowering of the hips changes the
            # pitch; holding still does not); the one before unless the pitch has moved from it
            # by a lift's worth: without a lift it cannot have changed
            idx = np.flatnonzero(known)
            k = np.arange(b - a)
            pos = np.searchsorted(idx, k)
            right = idx[np.clip(pos, 0, len(idx) - 1)]
            left = idx[np.clip(pos - 1, 0, len(idx) - 1)]
            p = pitch_smooth_deg[a:b]
            off_left, off_right = np.abs(p[left] - p), np.abs(p[right] - p)
            moved = (off_left >= self.min_lift_pitch_deg) & (off_right < off_left)
            pick = np.where(moved, right, left)
            pick = np.where(known, k, pick)
            out[a:b] = (n_[pick] / d[pick] > 0.0) & candidate[a:b]
        return out

"""Where the roller touches the back, sample by sample (cm from the hips along the back).

* **Hips down:** s = r cot(theta/2) from the torso pitch (roll-free elevation of the superior
  axis), see `tracker.analysis.kinematics`.
* **Bridge:** the pitch barely changes; the body translates along the spine and the contact moves
  half as far the other way. The acceleration along the spine is the specific force along the
  superior axis minus gravity's share g sin(theta), theta the gyro's integrated pitch pinned to
  the accelerometer's own inclination over 40 s (`gyro_pitch`: no filter lag, and a slow
  stroke's few hundredths of a m/s² average out of the reference). The movements are found by
  `BridgeSegmenter` (the default); the older path band-passes it to the stroke band (zero-phase),
  integrated once, and the velocity is pinned to zero at anchors - stops where the first-pass
  velocity dips to nearly nothing (holds and the turns between strokes) - with the error between
  anchors removed linearly (ZUPT). Integrated once more, half of it is the contact's displacement.
  The absolute start comes from the hips-down contact just before (lifting the hips does not move
  the roller), or, for a recording that starts in a bridge, `default_start_cm` (an estimate,
  noted); a stay that begins by lying back and lifting the hips at once is pinned by the brief
  hips-down pose between the two (`_pose_next_to`, likewise lowering them before sitting up);
  the track is then kept on the back (`back_length_cm`, `_into_bounds`).
"""

from __future__ import annotations

import numpy as np

from tracker.analysis.kinematics import hips_down_position_cm
from tracker.analysis.steps.filters import Butterworth
from tracker.analysis.steps.runs import runs, split_by
from tracker.analysis.steps.windows import centred_extreme
from tracker.imu import STANDARD_GRAVITY_M_S2


class ContactPositionEstimator:
    """Contact position along the back for hips-down and bridge spans.

    Parameters
    ----------
    roller_diameter_cm
    band_hz
        Stroke band for the bridge's acceleration (low, high), Hz.
    anchor_speed_ratio, anchor_speed_cm_s
        A first-pass velocity dip below `ratio` of the neighbouring peaks and below
        `anchor_speed_cm_s` is a stop (zero-velocity anchor).
    default_start_cm
        Contact at the start of a bridge with no hips-down contact just before it.
    gyro_pitch_window_s
        A bridge's gravity is removed with the gyro's integrated pitch, pinned to the
        orientation filter's only over this window (see `gyro_pitch`); None uses the filter's
        pitch directly (and corrects the amplitudes for its lag, `BridgeSegmenter.tilt_tau_s`).
        40 s, the window over which the segmentation follows the remaining bias.
    back_length_cm
        The hip-to-neck length: a bridge's track is kept on the back (`_into_bounds`). The
        track is a sum of movements, each with a distance error, so its absolute position
        drifts between the hips-down contacts that pin it (and with none, its start is a
        guess); a track that leaves the back is bent back onto it, as little as possible and
        never at a pinned end. None: no check.
    has_gyro
        False for an accelerometer-only recording: a bridge's gravity then comes from the slow
        part of the accelerometer's own inclination (`gyro_pitch` with no rate: its
        `gyro_pitch_window_s` mean), and the body-frame rates given are the tilt's, not a
        gyroscope's.
    """

    def __init__(
        self,
        roller_diameter_cm: float = 15.0,
        band_hz: tuple[float, float] = (0.02, 1.5),
        anchor_speed_ratio: float = 0.2,
        anchor_speed_cm_s: float = 3.0,
        default_start_cm: float = 36.0,
        max_handover_s: float = 5.0,
        iterations: int = 2,
        segment_moves: bool = True,
        segmenter: dict | None = None,
        gyro_pitch_window_s: float | None = 40.0,
        back_length_cm: float | None = None,
        has_gyro: bool = True,
        tilt_step_passes: int = 1,
    ) -> None:
        self.has_gyro = has_gyro
        self.tilt_step_passes = tilt_step_passes
        self.back_length_cm = back_length_cm
        self.gyro_pitch_window_s = gyro_pitch_window_s
        self.segment_moves = segment_moves
        self.segmenter = segmenter or {}
        self.iterations = iterations
        self.roller_diameter_cm = roller_diameter_cm
        self.band_hz = band_hz
        self.anchor_speed_ratio = anchor_speed_ratio
        self.anchor_speed_cm_s = anchor_speed_cm_s
        self.default_start_cm = default_start_cm
        self.max_handover_s = max_handover_s

    def estimate(
        self,
        t_s: np.ndarray,
        pitch_rad: np.ndarray,
        acc_body_m_s2: np.ndarray,
        gyr_body_rad_s: np.ndarray,
        posture: np.ndarray,
        segment: np.ndarray,
        exclude: np.ndarray | None = None,
    ) -> ContactPositionEstimator:
        """`posture` (M,) "hips_down" / "bridge" / "" per sample; `segment` (M,) gap-free ids;
        `exclude` (M,) bool, optional: samples that are no position (lifting or lowering the
        hips, `PostureSegmenter.lift_mask_`: the torso turns and translates there with the roller
        where it was, so a bridge's segmentation must not see that motion)."""
        self.notes_: list[str] = []
        self.bridge_moves_: list = []
        pos = np.full(len(t_s), np.nan)
        hd = posture == "hips_down"
        pos[hd] = hips_down_position_cm(pitch_rad[hd], self.roller_diameter_cm)
        rate = 1.0 / float(np.median(np.diff(t_s)))
        br = posture == "bridge"
        if exclude is not None:
            br = br & ~exclude
        spine = np.full(len(t_s), np.nan)
        guessed = False
        for a, b in runs(br):
            # split further at gap-segment boundaries
            for sa, sb in split_by(segment, a, b):
                start = self._start_cm(t_s, pos, posture, sa)
                if start is None and exclude is not None:
                    start = self._pose_next_to(t_s, pitch_rad, exclude, sa, before=True)
                guessed_here = start is None
                if start is None:
                    start = self.default_start_cm
                    guessed = True
                if self.segment_moves:
                    track = start + self._bridge_moves_track(
                        t_s[sa:sb],
                        pitch_rad[sa:sb],
                        acc_body_m_s2[sa:sb],
                        gyr_body_rad_s[sa:sb],
                        rate,
                    )
                else:
                    track = start + self._bridge_track(
                        pitch_rad[sa:sb], acc_body_m_s2[sa:sb], gyr_body_rad_s[sa:sb], rate
                    )
                end = self._end_cm(t_s, pos, posture, sb)
                if end is None and exclude is not None:
                    end = self._pose_next_to(t_s, pitch_rad, exclude, sb, before=False)
                anchored = (not guessed_here, end is not None)
                if end is not None and len(track) > 1:
                    # lowering the hips leaves the roller where it is, too: the hips-down contact
                    # just after the bridge pins its end. The integration's error is spread over
                    # the motion (by travelled distance), so the holds stay flat.
                    travel = np.concatenate([[0.0], np.cumsum(np.abs(np.diff(track)))])
                    share = travel / travel[-1] if travel[-1] > 0 else np.linspace(0, 1, len(track))
                    track = track + share * (end - track[-1])
                if self.back_length_cm and len(track) > 1:
                    track = _into_bounds(track, 0.0, self.back_length_cm, *anchored)
                pos[sa:sb] = track
                spine[sa:sb] = self._last_acc_bp
        if guessed:
            self.notes_.append(
                f"a bridge with no hips-down contact before it: its position along the back starts from "
                f"an assumed {self.default_start_cm:g} cm (paces and distances are unaffected)"
            )
        self.position_cm_ = pos
        self.spine_acc_m_s2_ = spine
        return self

    def stroke_distance_cm(self, t_s: np.ndarray, start_s: float, end_s: float) -> float | None:
        """A bridge stroke's contact distance from the amplitude of its acceleration, or None.

        A point-to-point movement of the body over distance D in time T with a smooth
        (raised-cosine) speed profile accelerates as a(t) = (2 pi D / T^2) sin(2 pi t / T): one
        period of a sine, orthogonal to a constant. Fitting that sine (with a constant) to the
        along-spine acceleration over the stroke gives D without integrating: the slowly varying
        error of the gravity removal (a few hundredths of m/s^2, as large as a slow stroke's
        own acceleration) and a velocity error carried from the last stop, which make the
        integrated track drift, drop out. A minimum-jerk profile gives a D about 2 % larger.
        The contact moves half as far as the body. None when the fit does not look like a
        stroke (outside a bridge, too short, or the sine's sign contradicts nothing moving).
        """
        acc = self.spine_acc_m_s2_
        i0, i1 = int(np.searchsorted(t_s, start_s)), int(np.searchsorted(t_s, end_s))
        if i1 - i0 < 8 or not np.all(np.isfinite(acc[i0:i1])):
            return None
        duration = end_s - start_s
        u = (t_s[i0:i1] - start_s) / duration
        # the sine and a constant (the gravity-removal error varies over minutes, not seconds; a
        # ramp term would correlate with the sine and make the amplitude noisy)
        design = np.column_stack([np.sin(2.0 * np.pi * u), np.ones(i1 - i0)])
        coef, *_ = np.linalg.lstsq(design, acc[i0:i1], rcond=None)
        body_m = abs(float(coef[0])) * duration**2 / (2.0 * np.pi)
        return 0.5 * body_m * 100.0

    def bridge_moves(
        self,
        t_s: np.ndarray,
        pitch_rad: np.ndarray,
        acc_body_m_s2: np.ndarray,
        gyr_body_rad_s: np.ndarray,
        rate_hz: float,
    ) -> tuple[list, np.ndarray]:
        """The bridge step on its own, for one gap-free stretch of a bridge (the live analysis
        runs it on a trailing window): the gravity removal along the spine and `BridgeSegmenter`,
        with this estimator's parameters. `t_s` (n,) uniform at `rate_hz`; `pitch_rad` (n,) the
        reference pitch (see `gyro_pitch_window_s`); `acc_body_m_s2`, `gyr_body_rad_s` (n, 3) in
        the body frame. Returns the movements (`BridgeMove`, times in s, contact displacement
        signed) and the contact displacement (cm, (n,)) from the stretch's start. Leaves the
        results of `estimate` alone."""
        moves, track, _acc = self._bridge_fit(t_s, pitch_rad, acc_body_m_s2, gyr_body_rad_s, rate_hz)
        return moves, track

    def _bridge_moves_track(self, t_s, pitch_rad, acc_body, gyr_body, rate: float) -> np.ndarray:
        """Contact displacement (cm) from the span's start, (n,), from the movements found by
        `BridgeSegmenter` (kept in `bridge_moves_`): flat between movements, so holds are
        still and drift never makes a stroke."""
        moves, track, self._last_acc_bp = self._bridge_fit(t_s, pitch_rad, acc_body, gyr_body, rate)
        self.bridge_moves_ += moves
        return track

    def _bridge_fit(self, t_s, pitch_rad, acc_body, gyr_body, rate: float) -> tuple[list, np.ndarray, np.ndarray]:
        """(moves, contact displacement, gravity-free along-spine acceleration less its median)."""
        from tracker.analysis.bridge import BridgeSegmenter

        n = len(t_s)
        if n < int(3 * rate):
            return [], np.zeros(n), np.full(n, np.nan)
        seg_params = dict(self.segmenter)
        # without a gyroscope the pitch is the slow part of the accelerometer's inclination
        rate_y = gyr_body[:, 1] if self.has_gyro else np.zeros(n)
        if self.gyro_pitch_window_s:
            pitch_rad = gyro_pitch(
                accel_pitch_rad(acc_body), rate_y, rate, self.gyro_pitch_window_s
            )
            # the orientation filter's lag no longer reaches the gravity removal
            seg_params["tilt_tau_s"] = None
        acc = acc_body[:, 2] - STANDARD_GRAVITY_M_S2 * np.sin(pitch_rad)
        # the pitch turns about the left (y) axis
        if not self.has_gyro:
            from tracker.analysis.accel_only import bridge_fit_without_gyro

            moves, contact, acc = bridge_fit_without_gyro(
                BridgeSegmenter(**seg_params), t_s, acc, pitch_rad, self.tilt_step_passes
            )
            return moves, contact, acc - float(np.median(acc))
        seg = BridgeSegmenter(**seg_params).fit(t_s, acc, gyr_body[:, 1], pitch_rad)
        return list(seg.moves_), seg.contact_cm_, acc - float(np.median(acc))

    def _start_cm(self, t_s, pos, posture, i: int) -> float | None:
        j = i - 1
        while j >= 0 and not np.isfinite(pos[j]) and t_s[i] - t_s[j] <= self.max_handover_s:
            j -= 1
        if j >= 0 and np.isfinite(pos[j]) and t_s[i] - t_s[j] <= self.max_handover_s:
            # lifting the hips leaves the roller where it was; use a short median against noise
            k0 = max(0, j - 12)
            return float(np.nanmedian(pos[k0 : j + 1]))
        return None

    def _pose_next_to(self, t_s, pitch_rad, exclude, i: int, *, before: bool) -> float | None:
        """The hips-down contact in the lift of the hips just before sample `i` (or the lowering
        just after it), or None. A stay on the roller that starts with lying back and lifting
        the hips at once (or ends with lowering them and sitting up) has too brief a hips-down
        pose between the two to count as a posture, but the torso stops there: the stillest
        moment of the excluded stretch is that pose, and its pitch places the roller."""
        n = len(t_s)
        if before:
            b = i
            a = b
            while a > 0 and exclude[a - 1] and t_s[i] - t_s[a - 1] <= 2 * self.max_handover_s:
                a -= 1
        else:
            a = i
            b = a
            while b < n and exclude[b] and t_s[b] - t_s[i] <= 2 * self.max_handover_s:
                b += 1
        if b - a < 5:
            return None
        rate = 1.0 / float(np.median(np.diff(t_s[a:b])))
        w = max(1, int(round(0.3 * rate)))
        p = np.convolve(pitch_rad[a:b], np.ones(w) / w, mode="same")
        speed = np.abs(np.gradient(p))
        k = int(np.argmin(speed[w:-w])) + w if b - a > 2 * w + 1 else int(np.argmin(speed))
        s = float(hips_down_position_cm(np.array([pitch_rad[a + k]]), self.roller_diameter_cm)[0])
        limit = self.back_length_cm or 2.0 * self.default_start_cm
        return s if 0.0 < s <= limit else None

    def _end_cm(self, t_s, pos, posture, i: int) -> float | None:
        """Hips-down contact just after index `i` (within `max_handover_s`), or None."""
        j = i
        n = len(t_s)
        while (
            j < n
            and posture[j] != "hips_down"
            and t_s[j] - t_s[max(i - 1, 0)] <= self.max_handover_s
        ):
            j += 1
        if j < n and posture[j] == "hips_down" and np.isfinite(pos[j]):
            k1 = min(n, j + 13)
            vals = pos[j:k1][posture[j:k1] == "hips_down"]
            return float(np.nanmedian(vals)) if len(vals) else None
        return None

    def _bridge_track(self, pitch_rad, acc_body, gyr_body, rate: float) -> np.ndarray:
        """Contact displacement (cm) from the span's start, (n,)."""
        n = len(pitch_rad)
        self._last_acc_bp = np.full(n, np.nan)
        if n < int(3 * rate):
            return np.zeros(n)
        dt = 1.0 / rate
        # gravity's share along the spine from the VQF orientation (its long accelerometer time
        # constant keeps a slow stroke's acceleration out of the tilt estimate)
        acc = acc_body[:, 2] - STANDARD_GRAVITY_M_S2 * np.sin(pitch_rad)
        low, high = self.band_hz
        high = min(high, 0.45 * rate)
        padlen = min(n - 1, int(3 * rate / low)) if n > 10 else 0
        acc_bp = Butterworth(2, (low, high), rate, "bandpass").zero_phase(acc, padlen=padlen)
        self._last_acc_bp = acc_bp
        v = np.cumsum(acc_bp) * dt  # m/s, drifting
        # first pass: high-passed velocity to find the stops
        v1 = Butterworth(2, low * 2, rate, "highpass").zero_phase(v, padlen=padlen) * 100.0  # cm/s
        anchors = self._anchors(v1, rate)
        # ZUPT: remove the velocity error linearly between anchors; then look for the stops again
        # on the corrected velocity, which has no high-pass undershoot after a stroke
        for _ in range(self.iterations):
            err = np.interp(np.arange(n), anchors, v[anchors])
            v_c = (v - err) * 100.0  # cm/s, body toward the head
            anchors = self._anchors(v_c, rate)
        err = np.interp(np.arange(n), anchors, v[anchors])
        v_c = (v - err) * 100.0
        x = np.concatenate([[0.0], np.cumsum(0.5 * (v_c[1:] + v_c[:-1])) * dt])
        return -0.5 * x

    def _anchors(self, v_cm_s: np.ndarray, rate: float) -> np.ndarray:
        speed = np.abs(v_cm_s)
        n = len(speed)
        w = max(1, int(round(0.5 * rate)))
        local_min = centred_extreme(speed, 2 * w + 1, np.minimum) == speed
        wide = max(1, int(round(4.0 * rate)))
        peak = centred_extreme(speed, 2 * wide + 1, np.maximum)
        cand = np.flatnonzero(
            local_min & (speed < self.anchor_speed_ratio * peak) & (speed < self.anchor_speed_cm_s)
        )
        # quiet stretches (holds) are anchored all along
        quiet = centred_extreme(speed, 2 * w + 1, np.maximum) < 0.5 * self.anchor_speed_cm_s * 0.5
        idx = np.union1d(cand, np.flatnonzero(quiet)[:: max(1, w)])
        idx = np.union1d(idx, [0, n - 1]).astype(int)
        return idx


def accel_pitch_rad(acc_body_m_s2: np.ndarray) -> np.ndarray:
    """The torso's pitch from the specific force alone (the superior axis's elevation if the
    body were not accelerating). Noisy and disturbed by the body's own acceleration, but
    without lag or drift: over any span that starts and ends at rest the body's acceleration
    averages to zero, so its mean over tens of seconds is the true mean pitch plus a constant
    from the accelerometer's bias."""
    a = np.asarray(acc_body_m_s2, dtype=float)
    norm = np.maximum(np.linalg.norm(a, axis=1), 1e-9)
    return np.arcsin(np.clip(a[:, 2] / norm, -1.0, 1.0))


def gyro_pitch(
    pitch_rad: np.ndarray, rate_y_rad_s: np.ndarray, rate: float, window_s: float
) -> np.ndarray:
    """The pitch for a bridge's gravity removal: the gyro's pitch rate integrated with one
    constant bias, pinned to a reference pitch `pitch_rad` only over `window_s`.

    The reference is the accelerometer's own inclination (`accel_pitch_rad`): the orientation
    filter's inclination wanders by a few tenths of a degree over 10-30 s (its gyro-bias
    estimate moves, and it leans toward the stroke's own acceleration), and after getting onto
    the roller it is off by a degree or more for minutes while its bias estimate converges
    (the residual bias times its 25 s accelerometer time constant): g times that is a few
    hundredths of a m/s² to 0.2 m/s², as large as a slow stroke, and at a slow stroke's time
    scale, so inside a long hold it fits as one. The integrated rate does not wander at those
    scales (a constant bias left over only adds a ramp, which the segmentation's bias follows).
    """
    n = len(pitch_rad)
    if n < 3:
        return pitch_rad
    dth = np.gradient(pitch_rad) * rate
    bias = float(np.median(rate_y_rad_s - dth))
    w = rate_y_rad_s - bias
    th_g = np.concatenate([[0.0], np.cumsum(0.5 * (w[1:] + w[:-1]))]) / rate
    diff = pitch_rad - th_g
    k = np.arange(n, dtype=float)
    line = np.polyval(np.polyfit(k, diff, 1), k)
    from tracker.analysis.bridge import _moving_mean

    return th_g + line + _moving_mean(diff - line, max(1, int(round(window_s * rate))))


def _into_bounds(
    track: np.ndarray, lo: float, hi: float, start_pinned: bool, end_pinned: bool
) -> np.ndarray:
    """`track` plus the smallest correction that keeps it within [lo, hi] (least squares of the
    excursions, then the smallest correction among the best): a constant when neither end is
    pinned, else a ramp in travelled distance from zero at each pinned end (the error of a sum
    of movements grows with the movements, and holds stay flat). A track that pins neither end
    and spans more than [lo, hi] is scaled into it about its middle."""
    if track.min() >= lo and track.max() <= hi:
        return track
    span = float(track.max() - track.min())
    if not (start_pinned or end_pinned) and span > hi - lo:
        # nothing pins it and no shift fits: the movements' distance errors added up to more
        # than the back's length. Every movement shrunk alike (the track's shape kept) is the
        # smallest correction that puts it on the back
        mid = 0.5 * float(track.max() + track.min())
        return 0.5 * (lo + hi) + (track - mid) * ((hi - lo) / span)
    travel = np.concatenate([[0.0], np.cumsum(np.abs(np.diff(track)))])
    u = travel / travel[-1] if travel[-1] > 0 else np.linspace(0.0, 1.0, len(track))
    if start_pinned and end_pinned:
        shape = 4.0 * u * (1.0 - u)
    elif start_pinned:
        shape = u
    elif end_pinned:
        shape = 1.0 - u
    else:
        shape = np.ones(len(track))
    # the track's lowest and highest points per short chunk carry every excursion (the shapes
    # vary slowly): evaluate the corrections there only
    chunk = 16
    m = (len(track) // chunk) * chunk
    idx = np.arange(len(track))
    if m >= chunk:
        blocks = track[:m].reshape(-1, chunk)
        base = idx[:m].reshape(-1, chunk)[:, 0]
        pick = np.concatenate(
            [base + blocks.argmin(axis=1), base + blocks.argmax(axis=1), idx[m:], [len(track) - 1]]
        )
        track_s, shape_s = track[pick], shape[pick]
    else:
        track_s, shape_s = track, shape
    ks = np.arange(-(hi - lo), (hi - lo) + 1e-9, 0.25)
    moved = track_s[None, :] + ks[:, None] * shape_s[None, :]
    excess = np.maximum(lo - moved, 0.0) + np.maximum(moved - hi, 0.0)
    cost = np.einsum("ij,ij->i", excess, excess)
    best = cost.min()
    k = ks[np.flatnonzero(cost <= best + 1e-9)]
    return track + float(k[np.argmin(np.abs(k))]) * shape

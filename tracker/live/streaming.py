"""The offline analysis in causal form: samples in as they arrive, events and a state out.

    live = LiveSession(guidance, sampling_rate_hz=100, calibration=cal)
    for block in blocks:                                # any block size, 1 sample upward
        for event in live.push(block.t_s, block.acc_m_s2, block.gyr_rad_s):
            ...                                         # LiveEvent: stroke, hold, warning, ...
        view.update(live.state)

Each step is the causal counterpart of a step of `tracker.analysis.analyze`, with the same
parameters (read from the offline classes' defaults, so both stay in step):

| offline (`tracker.analysis`)           | live (here)                                            | delay |
| -------------------------------------- | ------------------------------------------------------ | ----- |
| `prepare_signals`: VQF, block means    | the same VQF, fed block by block; the same block means | 0     |
|                                        | (a second VQF at the analysis rate with the offline    |       |
|                                        | accelerometer time constant throughout, run again from |       |
|                                        | the start with the warm-up bias: the offline pitch)    |       |
| short gaps interpolated, long gaps:    | the same: short gaps interpolated when the next sample | 0     |
| VQF restarts, the segments analysed as | arrives; a long gap restarts VQF (keeping its bias)    |       |
| one sequence (a hold spans the gap),   | and the analysis goes on with the next sample (no      |       |
| bridges segmented per segment          | "off the roller"); a bridge bout ends at the gap       |       |
| `BodyAxesEstimator` on the recording   | calibration: at once. Else the same estimator on the   | see below |
|                                        | first `axes_learn_s` of samples (bounded buffer), then |       |
|                                        | frozen; the buffered samples are replayed through the  |       |
|                                        | rest of the pipeline, so nothing is lost, only late    |       |
| `PostureSegmenter` (centred smoothing) | on/off the roller: trailing means, the same thresholds | ~0.25 s |
|                                        | and hysteresis. Hips down / bridge: `LivePosture`, the | 3-8 s |
|                                        | same pitch bounds and motion ratio on trailing windows |       |
|                                        | (tracker/live/posture.py); the change is dated back to |       |
|                                        | the lift that explains it and the stretch since is run |       |
|                                        | again in the new posture                               |       |
| `ContactPositionEstimator`             | the estimator `analyze` builds (`pipeline.             | 0     |
|                                        | contact_estimator`). Hips down: the same formula.      |       |
|                                        | Bridge: its bridge step (`bridge_moves`: gravity       | see below |
|                                        | removal, `BridgeSegmenter`) on a trailing window of    |       |
|                                        | the bout, refitted every `bridge_refit_s`; moves       |       |
|                                        | committed once stable (tracker/live/bridge.py); fast   |       |
|                                        | moves at once (tracker/live/fast_moves.py)             |       |
| `StrokeHoldDetector` (zero-phase)      | hips down: the same filters causally (`sosfilt` with   | see below |
|                                        | state), the same turning-point state machine, the same |       |
|                                        | stroke measurement (`StrokeHoldDetector._stroke`) on   |       |
|                                        | the piece. Bridge: strokes are the committed moves and |       |
|                                        | holds the still time between them, as `_bridge_span`   |       |
| `WarningRules` on the whole session    | the same rules as their conditions become true         | see below |

Documented delays (session time from the physical event to the `LiveEvent`):

* **stroke**: closes at its turn, confirmed when the smoothed position (0.8 Hz low-pass, about
  0.3 s of group delay) has come back `turn_cm` (1.5 cm): typically 0.4-0.9 s after the turn.
  A stroke that ends in a stop without a reversal closes when the hold is confirmed or the next
  stroke leaves (a valley).
* **hold**: confirmed once the breathing-free position (0.12 Hz low-pass, causal) stays within
  `still_tol_cm` over `still_window_s`: typically 4-6 s after the roller stops. Its start is
  back-dated to the end of the stroke that arrived, so the timer and the duration are right:
  the arriving piece is cut where offline's still stretch would start (the causal still window
  start less the slow filter's group delay, ~1.9 s), so breathing after the arrival is not
  measured as travel; a breathing "turn" that closed the stroke early gets it re-measured; stroke
  times are moved back by the 0.8 Hz filter's group delay (~0.28 s). A hold left by getting off
  the roller ends when the smoothed position last sat within `still_tol_cm` of its spot.
* **warnings**: too_fast when the second fast stroke in a row closes (in a bridge, see below);
  hold_too_long at the hold's
  (back-dated) start + `hold_too_long_s`; region_overuse and session_too_long when the running
  on-roller time crosses the budget; lumbar when the smoothed contact has been inside the lumbar
  region for `lumbar_confirm_s`; while the torso turns up as fast as sitting up off the roller,
  it waits until that is ruled out (the angle falls back or slows well below the exit angle) or
  the exit comes (no warning), see `_getting_up`.
* **bridge**: a move is committed `bridge_commit_lag_s` (6 s) plus half its duration after it
  ended, on a fit every `bridge_refit_s` (2 s) that agrees with the fit before: strokes come
  7-12 s after the stroke's end. **too_fast** does not wait for them: a matched filter for
  raised-cosine moves (tracker/live/fast_moves.py; a fast stroke's acceleration is ten times
  the gravity removal's error) sees a fast stroke 0.05-0.1 s after it ends, and two in a row
  (closer than `hold_min_s`) fire too_fast provisionally; when the committed strokes make the
  same run they confirm it (span and message updated, no second event), and if they do not
  (`bridge_provisional_s` past it, or at the bout's end) it is withdrawn from the list (its
  event was out). On simulated bridge sessions it fired within 0.1 s of the truth's condition
  for all 24 too-fast sets of seeds 31-40 and 131-140, and never in 16 slow sessions.
  The contact position, and with it the time per region and the lumbar rule, is final up to
  the commit horizon only; the view shows the latest fit's provisional track. The hold timer
  starts once the fits show `bridge_hold_confirm_s` (10 s) of still time after the last
  stroke, back-dated to its end (a stroke in progress is invisible to the fit until it has
  ended); hold_too_long fires at the back-dated start + `hold_too_long_s`. The pace gauge uses
  a cheap per-sample band-passed speed. A bout ends where lowering the hips starts (as
  offline's lift mask), also when the stay ends by lowering the hips and sitting up at once.
* **bridge position (known gap)**: a bridge's absolute position is a running sum of moves from
  the hips-down contact before it (or an assumed 36 cm). Offline pins the bout's end to the
  hips-down contact after it and bends the whole track onto the back (`_into_bounds`), which
  needs the future; live can only keep each committed move's end on the back (clamped) and
  hold back a move that would leave it (`LiveBridge.back_margin_cm`). Measured on 5-minute
  simulated bridge sessions (seeds 31-40, fast sets): the time-per-region error against the
  truth is 4-91 % of the on-roller time live (median ~55 %) against 6-74 % offline (median
  ~19 %), and 2 of the 10 differ from offline in a region_overuse warning (lumbar agreed in
  all 10). Hips-down and mixed sessions are not affected this much (a bridge bout there
  starts from a measured contact and is short).
* **posture change**: seen 3-8 s after the lift of the hips (the motion evidence is averaged over
  `evidence_window_s`); a hips-down "stroke" that was the lift itself is withdrawn then (its
  event is out already).
* **body axes without calibration**: nothing is shown until the axes are learned from the first
  `axes_learn_s` (default 45 s) with at least `axes_min_lying_s` lying on the roller; then the
  buffered samples are analysed at once (the events of that stretch arrive late, flagged by
  their `t_s`). Pair the sensor to avoid this lag.

Memory is bounded: ring buffers of `history_s` at the analysis rate (pieces longer than that are
measured on their last `history_s`), the bridge's window of `bridge_window_s`, the last ~20 s of
rows for re-running a posture change, the axes and warm-up buffers (the first `slow_warm_s`),
and the lists of finished strokes, holds and warnings, each capped at `max_events` (the counts
and region times keep counting).
"""

from __future__ import annotations

import inspect
import math
from collections import deque
from dataclasses import replace
from typing import Any

import numpy as np

from tracker.analysis.body_axes import BodyAxesEstimator
from tracker.analysis.contact import ContactPositionEstimator
from tracker.analysis.kinematics import MIN_PITCH_RAD
from tracker.analysis.pipeline import AnalysisParameters, contact_estimator
from tracker.analysis.posture import PostureSegmenter, centred_mean
from tracker.analysis.signals import OrientationEstimator, prepare_signals
from tracker.analysis.strokes import StrokeHoldDetector
from tracker.errors import UsageError
from tracker.guidance import REGIONS, Guidance
from tracker.imu import STANDARD_GRAVITY_M_S2, MountingCalibration
from tracker.live.bridge import BridgeCommit, LiveBridge
from tracker.live.fast_moves import FastMove, FastMoveDetector
from tracker.live.posture import LivePosture
from tracker.live.state import HoldTimer, LiveEvent, LiveState
from tracker.live.warnings import LiveWarnings
from tracker.results import Hold, Stroke, Warning

_SIGNAL_DEFAULTS = {
    k: v.default for k, v in inspect.signature(prepare_signals).parameters.items() if v.default is not inspect._empty
}


class _Ring:
    """Fixed-capacity ring buffer of float rows with absolute indices (oldest dropped)."""

    def __init__(self, capacity: int, width: int) -> None:
        self.cap = capacity
        self.buf = np.full((capacity, width), np.nan)
        self.n = 0  # total rows ever appended; row k lives at k % cap while k >= n - cap

    def append(self, row: tuple[float, ...]) -> int:
        self.buf[self.n % self.cap] = row
        self.n += 1
        return self.n - 1

    @property
    def first(self) -> int:
        return max(0, self.n - self.cap)

    def get(self, a: int, b: int) -> np.ndarray:
        """Rows with absolute indices a..b-1 (clipped to what is kept), in order."""
        a = max(a, self.first)
        b = min(b, self.n)
        if b <= a:
            return self.buf[:0]
        ia, ib = a % self.cap, b % self.cap
        if ia < ib or (b - a) == 0:
            return self.buf[ia:ib] if ia < ib else self.buf[:0]
        return np.concatenate([self.buf[ia:], self.buf[:ib]])


class _Sos:
    """A Butterworth filter in second-order sections with its state (one channel)."""

    def __init__(self, order: int, cutoff: float | tuple[float, float], rate_hz: float, btype: str = "lowpass") -> None:
        from scipy.signal import butter, sosfilt_zi

        self.sos = butter(order, cutoff, btype=btype, fs=rate_hz, output="sos")
        self._zi_unit = sosfilt_zi(self.sos)
        self.zi: np.ndarray | None = None
        self.lowpass = btype == "lowpass"

    def reset(self, x0: float) -> None:
        """Start at steady state for a constant input x0 (low-pass) or at rest (others)."""
        self.zi = self._zi_unit * (x0 if self.lowpass else 0.0)

    def step(self, x: float) -> float:
        # a direct-form-II transposed biquad cascade; scipy's sosfilt per sample costs ~20 µs,
        # this loop ~3 µs at 25 Hz, and gives the same numbers
        if self.zi is None:
            self.reset(x)
        zi = self.zi
        y = x
        for k, (b0, b1, b2, _a0, a1, a2) in enumerate(self.sos):
            z0, z1 = zi[k]
            out = b0 * y + z0
            zi[k, 0] = b1 * y - a1 * out + z1
            zi[k, 1] = b2 * y - a2 * out
            y = out
        return float(y)


class LiveSession:
    """Streaming analysis of one session; see the module docstring.

    Parameters
    ----------
    guidance
        Thresholds (the same object the offline analysis takes).
    sampling_rate_hz
        The sensor's nominal rate; the analysis runs at `analysis_rate_hz` (25 Hz) like offline.
    calibration
        The pairing calibration (no learning lag) or None (axes learned online).
    axes_learn_s, axes_min_lying_s
        Without calibration: learn the body axes from this much signal, once at least
        `axes_min_lying_s` of it looks like lying on the roller (retried every 5 s up to
        `axes_max_wait_s`, after which the best estimate is taken).
    history_s
        Ring buffers at the analysis rate (a stroke longer than this is measured on its end).
    max_events
        Finished strokes/holds/warnings kept in memory (older ones are dropped; counts go on).
    lumbar_confirm_s
        The contact must stay in the lumbar region this long before the lumbar warning fires.
    warm_bias_s, warm_tau_until_s
        The causal warm start of VQF's gyro bias (see `_warm_up`).
    small_stroke_cm, absorb_s
        Strokes shorter than this wait up to `absorb_s` before they count: while the causal slow
        filter settles into a hold, breathing can zig-zag the position by 2-3 cm; a hold confirmed
        in that time absorbs them (offline, the zero-phase filter never sees them).
    min_rate_s
        Strokes per minute are shown once this much time on the roller has passed.
    slow_warm_s
        The bridge's orientation (the offline accelerometer time constant throughout) is run
        again from the start with the gyro bias learned from this much signal (bounded buffer).
    bridge_window_s, bridge_refit_s, bridge_commit_lag_s
        The bridge segmentation's trailing window, how often it is fitted, and how long after
        its end a move is committed (`tracker.live.bridge.LiveBridge`).
    bridge_provisional_s
        A provisional too_fast (a bridge's fast-move detector) that the committed strokes have
        not confirmed once they reach this far past its end is withdrawn from the list.
    bridge_hold_confirm_s
        In a bridge, the hold timer starts (back-dated) once the fits have shown this much
        still time after the last stroke: a stroke in progress is invisible to the fit until it
        has ended, and strokes last up to 8-10 s.
    ending_ratio
        A fast stroke slowing below this share of its peak speed is ending (the too-fast warning
        may fire then, see `_ending`).
    getting_up_rate_deg_s, getting_up_slow_ratio, getting_up_margin_deg
        The torso's sagittal angle rising faster than `getting_up_rate_deg_s` (0.5 s mean) may
        be sitting up off the roller, which sweeps the hips-down contact through the lumbar
        range in about a second (30-60 deg/s on the simulator; a stroke into the lumbar region
        at 2-7 cm/s turns the torso by 5-30 deg/s): a lumbar stay confirmed then waits until it
        is clear which (see `_getting_up` and `LiveWarnings`).
    merge_gap_s
        A movement shorter than `small_stroke_cm` that starts within this of the last stroke's
        end and goes on in its direction is that stroke's end (see `_merge_split`).
    """

    def __init__(
        self,
        guidance: Guidance | None = None,
        sampling_rate_hz: float = 100.0,
        calibration: MountingCalibration | None = None,
        *,
        parameters: AnalysisParameters | None = None,
        axes_learn_s: float = 45.0,
        axes_min_lying_s: float = 20.0,
        axes_max_wait_s: float = 180.0,
        history_s: float = 120.0,
        max_events: int = 2000,
        max_recent_warnings: int = 20,
        lumbar_confirm_s: float = 0.2,
        warm_bias_s: float = 15.0,
        warm_tau_until_s: float = 60.0,
        small_stroke_cm: float = 3.0,
        absorb_s: float = 8.0,
        ending_ratio: float = 0.3,
        min_rate_s: float = 10.0,
        merge_gap_s: float = 1.0,
        getting_up_rate_deg_s: float = 20.0,
        getting_up_slow_ratio: float = 0.5,
        getting_up_margin_deg: float = 4.0,
        bridge_window_s: float = 90.0,
        bridge_refit_s: float = 2.0,
        bridge_commit_lag_s: float = 6.0,
        bridge_hold_confirm_s: float = 10.0,
        bridge_provisional_s: float = 10.0,
        slow_warm_s: float = 45.0,
    ) -> None:
        if not (isinstance(sampling_rate_hz, (int, float)) and math.isfinite(sampling_rate_hz) and 5.0 <= sampling_rate_hz <= 2000.0):
            raise UsageError(f"sampling_rate_hz = {sampling_rate_hz!r} is outside 5..2000 Hz", hint="pass the sensor's rate")
        self.guidance = guidance or Guidance()
        self.parameters = parameters or AnalysisParameters()
        self.sampling_rate_hz = float(sampling_rate_hz)
        self.calibration = calibration
        self.axes_learn_s = axes_learn_s
        self.axes_min_lying_s = axes_min_lying_s
        self.axes_max_wait_s = axes_max_wait_s
        self.history_s = history_s
        self.max_events = max_events
        self.max_recent_warnings = max_recent_warnings
        self.lumbar_confirm_s = lumbar_confirm_s
        self.warm_bias_s = warm_bias_s
        self.warm_tau_until_s = warm_tau_until_s
        self.small_stroke_cm = small_stroke_cm
        self.absorb_s = absorb_s
        self.ending_ratio = ending_ratio
        self.min_rate_s = min_rate_s
        self.merge_gap_s = merge_gap_s
        self.getting_up_rate_deg_s = getting_up_rate_deg_s
        self.getting_up_slow_ratio = getting_up_slow_ratio
        self.getting_up_margin_deg = getting_up_margin_deg
        self.bridge_window_s = bridge_window_s
        self.bridge_refit_s = bridge_refit_s
        self.bridge_commit_lag_s = bridge_commit_lag_s
        self.bridge_hold_confirm_s = bridge_hold_confirm_s
        self.bridge_provisional_s = bridge_provisional_s
        self._small: list[tuple[Stroke, float]] = []
        self._ending_fired = False
        self._piece_peak = 0.0
        self._warm_done = False
        self._warm_rows: list[np.ndarray] = []
        self._warm_t0 = 0.0
        self._vqf_fast = False
        # the offline orientation (VQF with the offline accelerometer time constant from the
        # start, at the analysis rate): the pitch the offline posture rules and bridge holds
        # use (the fast warm-up filter above tilts with a slow stroke's own acceleration)
        self._vqf_slow: Any = None
        self._slow_bias: np.ndarray | None = None
        self._slow_rows: list[np.ndarray] = []
        self.slow_warm_s = slow_warm_s

        # the offline building blocks, for their parameters (and the stroke measurement)
        self._orient = OrientationEstimator(tau_acc_s=self.parameters.vqf_tau_acc_s)
        self._posture = PostureSegmenter()
        # built as `analyze` builds it (the hips-down formula, the bridge step and its parameters)
        self._contact = contact_estimator(self.guidance, self.parameters)
        self._detector = StrokeHoldDetector(**self.parameters.detector)
        self._gap_factor = float(_SIGNAL_DEFAULTS.get("gap_factor", 2.5))
        self._max_bridged_gap_s = float(self.parameters.max_bridged_gap_s)

        self._factor = max(1, int(round(self.sampling_rate_hz / self.parameters.analysis_rate_hz)))
        self.rate_hz = self.sampling_rate_hz / self._factor
        self._dt = 1.0 / self.rate_hz
        self._period = 1.0 / self.sampling_rate_hz

        # --- raw stage ---
        self._vqf: Any = None
        self._bias: np.ndarray | None = None
        self._t0: float | None = None
        self._last_raw: tuple[float, np.ndarray, np.ndarray] | None = None
        self._pend: list[np.ndarray] = []  # rows t, up(3), acc(3), gyr(3), rest, bridged
        self._pend_n = 0
        self._segment = 0
        self.samples_pushed = 0

        # --- axes ---
        self._rot: np.ndarray | None = None
        self._axes_source = "learning"
        self._axes_buf: deque[np.ndarray] = deque(maxlen=int(self.axes_max_wait_s * self.rate_hz) + 1)
        self._axes_next_try_s = axes_learn_s
        if calibration is not None:
            self._rot = np.asarray(calibration.sensor_to_body, dtype=float)
            self._axes_source = calibration.source or "pairing"

        # --- analysis-rate stage (body frame) ---
        n_hist = int(history_s * self.rate_hz) + 8
        self._hist = _Ring(n_hist, 4)  # t, p_f, posture code (1 hd, 2 bridge), p_raw
        self._sag_win: deque[float] = deque(maxlen=max(1, int(round(self._posture.smooth_s * self.rate_hz))))
        self._rate_win: deque[float] = deque(maxlen=max(1, int(round(self._posture.smooth_s * self.rate_hz))))
        self._lpost = LivePosture(self.rate_hz, self.guidance.roller_diameter_cm, self.guidance.hip_to_neck_cm, self._posture)
        # the last analysis-rate rows on the roller, to re-run a stretch when the posture change
        # is dated back to the lift that explains it
        self._recent: deque[np.ndarray] = deque(
            maxlen=int((self._posture.lift_window_s + self._posture.evidence_window_s + 2.0) * self.rate_hz)
        )
        self._replay_until = -math.inf
        self._ticked_until = -math.inf
        self._hd_recent: deque[tuple[float, float]] = deque(maxlen=int(8 * self.rate_hz))
        self._on_raw = False  # hysteresis state (still states)
        self._on = False  # usable on-roller (after the lying-back turn has settled)
        self._fast_since: float | None = None
        self._prev_sag: float | None = None
        self._rising = False
        self._gu_since: float | None = None
        self._gu_peak = 0.0
        self._gu_peak_rate = 0.0
        self._posture_code = 0
        self._posture_cand = 0
        self._posture_cand_since = 0.0
        self._bridge: _BridgeTrack | None = None  # the per-sample pace gauge in a bridge
        self._lb: LiveBridge | None = None  # the bridge bout, segmented on a trailing window
        self._fast: FastMoveDetector | None = None  # the bout's fast movements, at once
        self._fast_run: list[FastMove] = []
        self._bh_since = 0.0  # start of the bridge's current still stretch
        self._bh_shown = -math.inf  # the still stretch whose timer was shown
        self._bh_next_check = 0.0
        self._btick: deque[float] = deque()  # bridge samples waiting for a final contact
        self._bridge_after_gap = False
        d = self._detector
        self._lp_f = _Sos(2, min(d.smooth_hz, 0.45 * self.rate_hz), self.rate_hz)
        self._lp_slow = _Sos(2, min(d.slow_hz, 0.45 * self.rate_hz), self.rate_hz)
        # low-frequency group delay of a 2nd-order Butterworth low-pass: sqrt(2) / (2 pi fc)
        self._delay_s = math.sqrt(2.0) / (2.0 * math.pi * min(d.smooth_hz, 0.45 * self.rate_hz))
        self._slow_delay_s = math.sqrt(2.0) / (2.0 * math.pi * min(d.slow_hz, 0.45 * self.rate_hz))
        self._last_piece: tuple[int, int, Stroke] | None = None  # the last real stroke's piece
        self._w = max(1, int(round(d.still_window_s * self.rate_hz)))
        self._slow_win: deque[float] = deque(maxlen=self._w)

        # stroke/hold state machine
        self._piece_start: int | None = None  # absolute index into _hist of the open piece
        self._dir = 0
        self._ext_v = 0.0
        self._ext_i = 0
        self._start_v = 0.0
        self._still = False
        self._hold: dict[str, Any] | None = None  # the open (or departed, unfinalised) hold
        self._pending_hold: Hold | None = None  # departed hold waiting for the next stroke's start
        self._valley_peak = 0.0
        self._valley_min = math.inf
        self._valley_i = 0
        self._prev_pf: float | None = None

        # results
        self.strokes: list[Stroke] = []
        self.holds: list[Hold] = []
        self.stroke_count = 0
        self.hold_count = 0
        self._rules = LiveWarnings(self.guidance, lumbar_confirm_s=lumbar_confirm_s)
        self.warnings: list[Warning] = self._rules.warnings
        self._region_index: int | None = None
        self._on_roller_s = 0.0
        self._region_time = dict.fromkeys(REGIONS, 0.0)
        self._now = 0.0
        self._position: float | None = None
        self._on_since_s = math.inf
        self._pace: float | None = None
        self._events: list[LiveEvent] = []
        self._notes: list[str] = []
        # set by the recorder / replay
        self.connection = "unknown"
        self.battery_pct: int | None = None
        self.battery_stale = False
        self.lost_samples = 0
        if self._rot is not None:
            self._emit(LiveEvent("axes_ready", 0.0))

    # --- input -----------------------------------------------------------------------------------
    def push(self, t_s: Any, acc_m_s2: Any, gyr_rad_s: Any) -> list[LiveEvent]:
        """Feed samples: `t_s` (n,) s on the sensor clock, `acc_m_s2` and `gyr_rad_s` (n, 3) in the
        sensor frame (SI). Returns the events they caused, oldest first. Samples at or before the
        last one pushed are ignored (a decoder never delivers them; a bad caller must not break
        the filters)."""
        t = np.atleast_1d(np.asarray(t_s, dtype=float))
        acc = np.asarray(acc_m_s2, dtype=float).reshape(-1, 3)
        gyr = np.asarray(gyr_rad_s, dtype=float).reshape(-1, 3)
        if not (len(t) == len(acc) == len(gyr)):
            raise ValueError(f"push: t_s, acc and gyr lengths differ ({len(t)}, {len(acc)}, {len(gyr)})")
        self._events = []
        if len(t) == 0:
            return []
        if self._t0 is None:
            self._t0 = float(t[0])
        t = t - self._t0
        finite = np.isfinite(t) & np.isfinite(acc).all(axis=1) & np.isfinite(gyr).all(axis=1)
        if self._last_raw is not None:
            finite &= t > self._last_raw[0] + 1e-9
        if not finite.all():
            t, acc, gyr = t[finite], acc[finite], gyr[finite]
            # keep only a strictly increasing run
            if len(t) > 1:
                keep = np.concatenate([[True], np.diff(t) > 0])
                t, acc, gyr = t[keep], acc[keep], gyr[keep]
        if len(t):
            self.samples_pushed += len(t)
            self._raw(t, acc, gyr)
        return self._events

    def push_block(self, block: Any) -> list[LiveEvent]:
        """Feed a `tracker.protocol.stream.DecodedBlock` (or anything with `t_sensor_s`,
        `acc_m_s2`, `gyr_rad_s`)."""
        if block is None or len(block.t_sensor_s) == 0:
            return []
        return self.push(block.t_sensor_s, block.acc_m_s2, block.gyr_rad_s)

    def set_link(self, connection: str | None = None, battery_pct: int | None = None, lost_samples: int | None = None) -> None:
        """The recorder's view of the link: connection state, last battery reading, losses.

        A battery reading outside 0..100 (a sensor's "unknown") keeps the last known value."""
        if connection is not None:
            self.connection = connection
            self.battery_stale = connection not in ("connected", "replay")
        if battery_pct is not None and 0 <= int(battery_pct) <= 100:
            self.battery_pct = int(battery_pct)
        if lost_samples is not None:
            self.lost_samples = int(lost_samples)

    # --- raw samples: gaps, VQF, decimation -------------------------------------------------------
    def _raw(self, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray) -> None:
        if self._last_raw is not None:
            t_prev, a_prev, g_prev = self._last_raw
            t_all = np.concatenate([[t_prev], t])
            dt = np.diff(t_all)
            gaps = np.flatnonzero(dt > self._gap_factor * self._period)
            if gaps.size:
                # handle gap by gap: the pieces between gaps go through as they are
                start = 0
                for gi in gaps:
                    if gi > start:
                        self._run(t[start:gi], acc[start:gi], gyr[start:gi], None)
                    t_a = t_prev if gi == 0 else t[gi - 1]
                    a_a = a_prev if gi == 0 else acc[gi - 1]
                    g_a = g_prev if gi == 0 else gyr[gi - 1]
                    t_b = t[gi]
                    if t_b - t_a <= self._max_bridged_gap_s:
                        n_fill = int(math.floor((t_b - t_a) / self._period + 1e-9)) - 1
                        if n_fill > 0:
                            tt = t_a + self._period * np.arange(1, n_fill + 1)
                            w = ((tt - t_a) / (t_b - t_a))[:, None]
                            self._run(tt, a_a + w * (acc[gi] - a_a), g_a + w * (gyr[gi] - g_a), True)
                    else:
                        self._long_gap(t_a, t_b)
                    start = gi
                self._run(t[start:], acc[start:], gyr[start:], None)
                self._last_raw = (float(t[-1]), acc[-1].copy(), gyr[-1].copy())
                return
        self._run(t, acc, gyr, None)
        self._last_raw = (float(t[-1]), acc[-1].copy(), gyr[-1].copy())

    def _long_gap(self, t_a: float, t_b: float) -> None:
        """A gap too long to bridge: flush, restart VQF (keeping its bias), close what is open."""
        self._pend, self._pend_n = [], 0
        if self._vqf is not None:
            self._bias = np.array(self._vqf.getBiasEstimate()[0])
        self._vqf = None
        if self._vqf_slow is not None:
            self._slow_bias = np.array(self._vqf_slow.getBiasEstimate()[0])
        self._vqf_slow = None
        self._segment += 1
        self._notes.append(f"gap of {t_b - t_a:.1f} s at {t_a:.1f} s: that time is unknown")
        # offline, the segments either side of a long gap are analysed as one sequence (only the
        # orientation filter restarts): a stay on the roller, a hold or a stroke goes on across
        # the gap if the samples after it say so. Live does the same: the analysis-rate stage
        # simply continues with the next sample; a bridge bout is closed (offline segments the
        # bridge per gap-free segment)
        if self._rot is not None:
            self._bridge_gap()

    def _run(self, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray, bridged: bool | None) -> None:
        if len(t) == 0:
            return
        if self._vqf is None:
            from vqf import VQF

            o = self._orient
            self._vqf_fast = not self._warm_done or (self._last_raw is not None and self._last_raw[0] < self.warm_tau_until_s)
            if not self._warm_done:
                self._warm_t0 = float(t[0])
                self._warm_rows = []
            self._vqf = VQF(
                self._period,
                tauAcc=3.0 if self._vqf_fast else o.tau_acc_s,
                restBiasEstEnabled=o.rest_bias_estimation,
                motionBiasEstEnabled=o.motion_bias_estimation,
            )
            if self._bias is not None:
                self._vqf.setBiasEstimate(self._bias, 0.5 * math.pi / 180)
        out = self._vqf.updateBatch(np.ascontiguousarray(gyr), np.ascontiguousarray(acc))
        q = out["quat6D"]
        w, x, y, z = q[:, 0], q[:, 1], q[:, 2], q[:, 3]
        rows = np.empty((len(t), 15))
        rows[:, 0] = t
        rows[:, 1] = 2 * (x * z - w * y)
        rows[:, 2] = 2 * (y * z + w * x)
        rows[:, 3] = 1 - 2 * (x * x + y * y)
        rows[:, 4:7] = acc
        rows[:, 7:10] = gyr - out["bias"]
        rows[:, 10] = out["restDetected"]
        rows[:, 11] = 1.0 if bridged else 0.0
        rows[:, 12:15] = gyr
        self._pend.append(rows)
        self._pend_n += len(rows)
        if self._pend_n < self._factor:
            return
        allrows = np.concatenate(self._pend) if len(self._pend) > 1 else self._pend[0]
        m = (len(allrows) // self._factor) * self._factor
        means = allrows[:m].reshape(-1, self._factor, 15).mean(axis=1)
        rest = allrows[m:]
        self._pend = [rest] if len(rest) else []
        self._pend_n = len(rest)
        means = np.concatenate([means, np.zeros((len(means), 3))], axis=1)
        if not self._warm_up(means):
            means[:, 15:18] = self._slow_up(means)
        for row in means:
            self._decimated(row)

    def _new_slow_vqf(self, bias: np.ndarray | None) -> Any:
        from vqf import VQF

        o = self._orient
        vqf = VQF(1.0 / self.rate_hz, tauAcc=o.tau_acc_s, restBiasEstEnabled=o.rest_bias_estimation,
                  motionBiasEstEnabled=o.motion_bias_estimation)
        if bias is not None:
            vqf.setBiasEstimate(bias, 0.5 * math.pi / 180)
        return vqf

    def _slow_up(self, means: np.ndarray) -> np.ndarray:
        """Up in the sensor frame from the offline-tau VQF, one row per analysis-rate sample."""
        if self._vqf_slow is None:
            self._vqf_slow = self._new_slow_vqf(self._slow_bias if self._slow_bias is not None else self._bias)
        out = self._vqf_slow.updateBatch(np.ascontiguousarray(means[:, 12:15]), np.ascontiguousarray(means[:, 4:7]))
        return _up_from_quat(out["quat6D"])

    def _redo_slow(self, data: np.ndarray, bias: np.ndarray, means: np.ndarray) -> None:
        """The warm-up learned the gyro bias: run the offline-tau filter again from the start with
        it (offline's warm start, `warm_bias_s` late) and correct what already went downstream
        (the axes buffer, a bridge bout's window)."""
        self._vqf_slow = self._new_slow_vqf(bias)
        out = self._vqf_slow.updateBatch(np.ascontiguousarray(data[:, 1:4]), np.ascontiguousarray(data[:, 4:7]))
        up = _up_from_quat(out["quat6D"])
        up /= np.linalg.norm(up, axis=1, keepdims=True)
        t = data[:, 0]
        means[:, 15:18] = up[-len(means) :]
        for row in self._axes_buf:
            k = int(np.searchsorted(t, row[0]))
            if k < len(t) and abs(t[k] - row[0]) < 1e-9:
                row[15:18] = up[k]
        lb = self._lb
        if lb is not None and self._rot is not None:
            rows = lb.buf[: min(lb.n, lb.cap)]
            k = np.searchsorted(t, rows[:, 0])
            ok = (k < len(t)) & (np.abs(t[np.minimum(k, len(t) - 1)] - rows[:, 0]) < 1e-9)
            kk = k[ok]
            up_b = up[kk] @ self._rot.T
            pitch = np.arcsin(np.clip(up_b[:, 2], -1.0, 1.0))
            rows[ok, 7] = pitch

    def _warm_up(self, means: np.ndarray) -> bool:
        """VQF's gyro bias, learned quickly from the past: the causal form of the offline warm start.

        Offline, a first VQF pass over the whole recording learns the gyro bias before the real
        pass. Live, the first `warm_bias_s` seconds (at the analysis rate) are run through a
        separate VQF three times over, and its bias is handed to the running filter; until
        `warm_tau_until_s` the running filter uses VQF's default 3 s accelerometer time constant,
        so the orientation catches up, then the offline value. On the simulator this brings the
        pitch error from several degrees in the first minute to about 0.3 degrees after 15 s.
        """
        if self._warm_done:
            if self._vqf_fast and means[-1, 0] >= self.warm_tau_until_s:
                self._vqf.setTauAcc(self._orient.tau_acc_s)
                self._vqf_fast = False
            if not self._slow_rows:
                return False
            # the offline-tau filter once more, with the bias learned from `slow_warm_s` (a slow
            # bridge stroke's few hundredths of a m/s^2 need the inclination to a few tenths of a
            # degree: 15 s of warm-up leave it ~0.5 degrees off for a minute)
            self._slow_rows.append(means[:, [0, 12, 13, 14, 4, 5, 6, 4, 5, 6]].copy())
            if means[-1, 0] - self._warm_t0 < self.slow_warm_s:
                return False
            data = np.concatenate(self._slow_rows)
            self._slow_rows = []
            self._redo_slow(data, self._learn_bias(data, self._bias), means)
            return True
        # t, gyr (raw), acc, acc again (kept for correcting the bridge window)
        self._warm_rows.append(means[:, [0, 12, 13, 14, 4, 5, 6, 4, 5, 6]].copy())
        if means[-1, 0] - self._warm_t0 < self.warm_bias_s:
            return False

        data = np.concatenate(self._warm_rows)
        bias = self._learn_bias(data, self._bias)
        self._bias = bias
        if self._vqf is not None:
            self._vqf.setBiasEstimate(bias, 0.5 * math.pi / 180)
        self._warm_done = True
        self._redo_slow(data, bias, means)
        self._slow_rows = [data] if self.slow_warm_s > self.warm_bias_s else []
        self._warm_rows = []
        return True

    def _learn_bias(self, data: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
        from vqf import VQF

        acc, gyr = np.ascontiguousarray(data[:, 4:7]), np.ascontiguousarray(data[:, 1:4])
        for _ in range(3):
            warm = VQF(1.0 / self.rate_hz, tauAcc=self._orient.tau_acc_s, restBiasEstEnabled=False, motionBiasEstEnabled=True)
            if bias is not None:
                warm.setBiasEstimate(bias, 0.5 * math.pi / 180)
            warm.updateBatch(gyr, acc)
            bias = np.array(warm.getBiasEstimate()[0])
        return bias

    # --- analysis rate ---------------------------------------------------------------------------
    def _decimated(self, row: np.ndarray) -> None:
        up = row[1:4] / max(1e-12, float(np.linalg.norm(row[1:4])))
        row = row.copy()
        row[1:4] = up
        row[15:18] /= max(1e-12, float(np.linalg.norm(row[15:18])))
        if self._rot is None:
            self._axes_buf.append(row)
            self._now = float(row[0])
            if row[0] >= self._axes_next_try_s:
                self._try_axes(final=row[0] >= self.axes_max_wait_s)
            return
        self._step(row)

    def _try_axes(self, final: bool) -> None:
        rows = np.array(self._axes_buf)
        up, gyr = rows[:, 1:4], rows[:, 7:10]
        est = BodyAxesEstimator().estimate(up, gyr, self.rate_hz, None)
        x = est.sensor_to_body_[0]
        lying = float(np.count_nonzero(up @ x > est.lying_min_cos)) / self.rate_hz
        good = est.quality_.get("eigen_separation", 0.0) >= est.min_separation and lying >= self.axes_min_lying_s
        if not (good or final):
            self._axes_next_try_s = self._now + 5.0
            return
        self._rot = est.sensor_to_body_
        self._axes_source = "inferred"
        self._notes += est.notes_
        self._notes.append(
            f"body axes learned online from the first {rows[-1, 0] - rows[0, 0]:.0f} s "
            f"({lying:.0f} s lying); the coaching of that stretch arrived late"
        )
        self._emit(LiveEvent("axes_ready", float(rows[-1, 0])))
        self._axes_buf.clear()
        for r in rows:  # catch up: the buffered stretch through the rest of the pipeline
            self._step(r)

    def _step(self, row: np.ndarray) -> None:
        """One analysis-rate sample with known axes: posture, contact, strokes/holds, warnings."""
        t = float(row[0])
        self._now = t
        rot = self._rot
        up_b = rot @ row[1:4]
        gyr_b = rot @ row[7:10]
        acc_b = rot @ row[4:7]
        bridged = row[11] > 0
        ps = self._posture
        # posture: the sagittal angle with hysteresis, trailing means instead of centred ones
        self._sag_win.append(math.degrees(math.atan2(up_b[2], up_b[0])))
        self._rate_win.append(math.degrees(math.sqrt(float(gyr_b @ gyr_b))))
        sag = sum(self._sag_win) / len(self._sag_win)
        self._getting_up(t, sag)
        self._prev_sag = sag
        rate = sum(self._rate_win) / len(self._rate_win)
        fast = rate > ps.transition_rate_deg_s
        if fast:
            if self._fast_since is None:
                self._fast_since = t
        else:
            self._fast_since = None
        self._on_raw = sag < ps.on_roller_exit_deg if self._on_raw else sag < ps.on_roller_max_deg
        if self._on and not self._on_raw:
            # the turn that got off the roller started before the threshold: back-date
            self._leave_roller(self._fast_since if self._fast_since is not None else t, reason="off")
        elif not self._on and self._on_raw and not fast:
            self._enter_roller(t)
        if not self._on:
            self._position = None
            self._pace = None
            return
        if not bridged:
            self._on_roller_s += self._dt
        self._recent.append(row)
        # hips down or bridge: the offline rules on trailing windows (tracker.live.posture), and
        # a flip must last 1 s
        up_s = rot @ row[15:18]
        code = self._lpost.step(t, math.asin(max(-1.0, min(1.0, float(up_s[2])))), float(acc_b[2]))
        if self._posture_code == 0:
            self._posture_code = code
            self._posture_cand = code
        if code != self._posture_code:
            if code != self._posture_cand:
                self._posture_cand, self._posture_cand_since = code, t
            elif t - self._posture_cand_since >= 1.0:
                self._switch_posture(code, t)
                return
        else:
            self._posture_cand = code
        self._posture_sample(row)

    def _getting_up(self, t: float, sag: float) -> None:
        """Maybe sitting up off the roller: the (smoothed) sagittal angle rose faster than
        `getting_up_rate_deg_s`. Sitting up keeps rising until it crosses the exit angle (which
        ends the stay on the roller), slowing only near sitting; so this ends when the angle
        falls back by a degree (a stroke that turned back up the back) or slows to under
        `getting_up_slow_ratio` of its peak rate more than `getting_up_margin_deg` below the exit
        angle (a stroke arriving in a hold low on the back)."""
        rate = 0.0 if self._prev_sag is None else (sag - self._prev_sag) * self.rate_hz
        if rate > self.getting_up_rate_deg_s and self._gu_since is None:
            self._gu_since, self._gu_peak, self._gu_peak_rate = t, sag, rate
        if self._gu_since is not None:
            self._gu_peak = max(self._gu_peak, sag)
            self._gu_peak_rate = max(self._gu_peak_rate, rate)
            below = sag < self._posture.on_roller_exit_deg - self.getting_up_margin_deg
            if sag < self._gu_peak - 1.0 or (below and rate < self.getting_up_slow_ratio * self._gu_peak_rate):
                self._gu_since = None
        self._rising = self._gu_since is not None

    def _posture_sample(self, row: np.ndarray) -> None:
        """The contact and what follows from it, in the current posture."""
        t = float(row[0])
        rot = self._rot
        bridged = row[11] > 0
        if self._posture_code == 2:
            up_s = rot @ row[15:18]
            # the raw rate: its bias is constant, which the bridge step removes itself per window (a
            # bias estimate that moves under it, as the orientation filter's does early on, does not)
            self._bridge_step(t, rot @ row[4:7], rot @ row[12:15], math.asin(max(-1.0, min(1.0, float(up_s[2])))), bridged)
            return
        up_b = rot @ row[1:4]
        pitch = math.asin(max(-1.0, min(1.0, float(up_b[2]))))
        p = self._contact_hd(pitch)
        if math.isfinite(p):
            self._hd_recent.append((t, p))
        if not math.isfinite(p) or bridged:
            return
        self._track(t, p, bridged)

    def _contact_hd(self, pitch_rad: float) -> float:
        if pitch_rad < MIN_PITCH_RAD:
            return math.nan
        return 0.5 * self.guidance.roller_diameter_cm / math.tan(0.5 * pitch_rad)

    def _bridge_start(self, t: float) -> float:
        # lifting the hips leaves the roller where it was: the hips-down contact just before the
        # lift (the posture flip is seen ~1-2 s after the pitch started to drop)
        c = self._contact
        old = [p for (tt, p) in self._hd_recent if t - c.max_handover_s <= tt <= t - 2.5]
        if old:
            return float(np.median(old[-13:]))
        if self._prev_pf is not None and not self._bridge_after_gap:
            return self._prev_pf
        self._bridge_after_gap = False
        self._notes.append(f"a bridge with no hips-down contact before it starts from an assumed {c.default_start_cm:g} cm")
        return c.default_start_cm

    def _switch_posture(self, code: int, t: float) -> None:
        """Hips down <-> bridge: offline, no stroke or hold spans a change of posture. The change
        is dated to the lift (or lowering) of the hips that explains it, seconds back; the
        samples since then go through the new posture's path again (already counted time is not
        counted twice; events already out stay out)."""
        t_c = self._lpost.change_time(code)
        rows = list(self._recent)
        if t_c is None or not rows or t_c < rows[0][0]:
            t_c = t
        resume = t_c
        if self._posture_code == 2:
            lowering = self._lift_extent(rows, t_c, code)
            if lowering is not None:
                # as offline (`PostureSegmenter.lift_mask_`): the bridge ends where lowering the
                # hips starts, and the hips-down span begins once it is over (the torso turns
                # there with the roller where it was: neither a stroke nor a hold)
                self._end_bridge(lowering[0], seen_until=lowering[0])
                resume = max(t_c, lowering[1])
            else:
                self._end_bridge(t_c)
        else:
            self._close_hd(t_c)
            self._withdraw_strokes_after(t_c)
        self._reset_hd()
        self._posture_code = code
        self._posture_cand = code
        self._replay_until = t
        for r in rows:
            if r[0] > resume:
                self._now = float(r[0])
                self._posture_sample(r)
        self._now = t
        self._replay_until = -math.inf

    def _lift_extent(self, rows: list[np.ndarray], t_c: float, code: int, until: float | None = None) -> tuple[float, float] | None:
        """(start, end) s of the lift (into `code` 2) or lowering (into 1) of the hips nearest
        `t_c` in `rows`, padded, as offline's `PostureSegmenter._place_lifts` marks it: the
        steepest pitch step of that sign within `lift_search_s`, extended while the pitch turns
        faster than `lift_rate_fraction` of its peak rate; None if the pitch moves by less than
        a lift does. `until`: look no later than this (the end of the stay on the roller)."""
        ps = self._posture
        arr = np.asarray(rows)
        if until is not None and len(arr):
            arr = arr[arr[:, 0] <= until]
        if len(arr) < 8:
            return None
        t = arr[:, 0]
        up = arr[:, 15:18] @ self._rot.T
        pitch = np.degrees(np.arcsin(np.clip(up[:, 2], -1.0, 1.0)))
        p1 = centred_mean(pitch, max(1, int(round(0.5 * self.rate_hz))))
        d = np.gradient(p1) * self.rate_hz
        sign = -1.0 if code == 2 else 1.0

        def step(lo: int, hi: int, ceil: int | None = None) -> tuple[int, int] | None:
            got = ps.lift_step(p1, d, lo, hi, sign, 0, len(d) if ceil is None else ceil)
            return None if got is None else (got[0], got[2])

        reach = int(round(ps.lift_search_s * self.rate_hz))
        lo, hi = int(np.searchsorted(t, t_c - ps.lift_search_s)), int(np.searchsorted(t, t_c + ps.lift_search_s))
        got = step(lo, hi)
        if got is None:
            return None
        l0, l1 = got
        if code == 1:
            # lowering the hips and sitting up at once: the steepest rise is sitting up; the
            # lowering is the step just before it
            foot = l0  # (back down the sitting-up's foot to where the rate stops falling)
            while foot > 0 and sign * d[foot - 1] <= sign * d[foot]:
                foot -= 1
            before = step(max(0, foot - reach), foot + 1, ceil=foot)
            if before is not None:
                l0 = before[0]
        return float(t[l0]) - ps.lift_pad_s, float(t[min(l1, len(t) - 1)]) + ps.lift_pad_s

    # --- bridge: the offline segmentation on a trailing window (tracker.live.bridge) ----------------
    def _bridge_step(self, t: float, acc_b: np.ndarray, gyr_b: np.ndarray, pitch: float, bridged: bool) -> None:
        if self._lb is None:
            start = self._bridge_start(t)
            self._lb = LiveBridge(self.rate_hz, start, t, self._contact, **self._bridge_options)
            self._bridge = _BridgeTrack(self._contact, self.rate_hz)
            self._fast = FastMoveDetector(self.rate_hz, min_cm=self._detector.min_stroke_cm)
            self._fast_run = []
            self._bh_since = t
            self._bh_next_check = t
            self._hold = None
            self._still = False
            self._btick.clear()
        lb = self._lb
        # offline, the segmentation sees every sample of the bout (bridged ones too)
        for c in lb.step(t, acc_b, gyr_b, pitch):
            self._bridge_commit(c)
        # the gauge: the cheap per-sample band-passed speed (display only; strokes come from the fits)
        self._bridge.step(acc_b, pitch)
        move = self._fast.step(t, acc_b, pitch)
        if move is not None:
            self._fast_move(move)
        if self._rules.withdraw_provisional(lb.last_end_s - self.bridge_provisional_s):
            self._notes.append("a provisional too-fast warning withdrawn: the bridge's strokes were not too fast")
        if bridged:
            return
        if t > self._replay_until:  # (replayed samples were counted as hips down already)
            self._btick.append(t)
        self._bridge_ticks(lb.horizon_s)
        self._pace = abs(self._bridge.speed_cm_s)
        self._position = lb.position_cm(t)
        self._prev_pf = self._position
        self._bridge_hold(t)

    def _fast_move(self, move: FastMove) -> None:
        """A movement the fast-move detector saw end (tracker/live/fast_moves.py): too fast ones
        in a row (closer than `hold_min_s`, so no hold between) raise too_fast at once,
        provisionally (the committed strokes confirm it, or it is withdrawn)."""
        g = self.guidance
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
        strokes = [
            Stroke(
                start_s=m.start_s,
                end_s=m.end_s,
                distance_cm=abs(m.contact_cm),
                pace_cm_s=m.pace_cm_s,
                region=g.region_at(self._position) if self._position is not None else "unknown",
                direction="toward_head" if m.contact_cm > 0 else "toward_hips",
                posture="bridge",
            )
            for m in run
        ]
        w = self._rules.provisional_too_fast(strokes)
        if w is not None:
            # (during the re-run of a stretch after a posture change, it is said now, not then)
            self._emit(LiveEvent("warning", max(self._now, self._replay_until), warning=w))

    @property
    def _bridge_options(self) -> dict[str, float]:
        return {
            "window_s": self.bridge_window_s,
            "refit_s": self.bridge_refit_s,
            "commit_lag_s": self.bridge_commit_lag_s,
        }

    def _bridge_ticks(self, horizon: float) -> None:
        """Time per region and the lumbar/budget rules for the bridge samples whose contact is
        final (up to the commit horizon): the offline track, `commit_lag_s` or more late."""
        lb = self._lb
        g = self.guidance
        while self._btick and self._btick[0] <= horizon:
            tt = self._btick.popleft()
            self._ticked_until = tt
            p = lb.committed_position_cm(tt)
            ri = g.region_at(p)
            self._region_time[ri] += self._dt
            k = REGIONS.index(ri)
            if k != self._region_index:
                self._region_index = k
                self._emit(LiveEvent("region", tt, region=ri))
            for w in self._rules.tick(tt, self._dt, p, ri, self._on_roller_s, self._region_time):
                self._add_warning(w)

    def _bridge_stroke_moves(self) -> list:
        d = self._detector
        return [m for m in self._lb.provisional if abs(m.contact_cm) >= d.min_stroke_cm]

    def _bridge_hold(self, t: float) -> None:
        """The hold timer (and the hold_too_long warning) from the latest fit: offline, a bridge
        hold is the still time between strokes (at least `hold_min_s`), trimmed to where the
        torso's pitch has settled. The timer runs from the end of the last stroke the fits show,
        committed or not (the hold itself is booked when the next stroke is committed)."""
        g = self.guidance
        since = self._bh_since
        for m in self._bridge_stroke_moves():
            since = max(since, m.end_s)
        h = self._hold
        if h is not None and since > h["since"] + 1e-6:
            # a stroke after the displayed hold's start is in sight: that hold is over
            self._hold = h = None
            self._still = False
        if h is not None:
            h["ps"] = [self._position]
            w = self._rules.hold_tick(t, h["start"], self._position)
            if w is not None:
                self._add_warning(w)
            return
        if t - since < max(g.hold_min_s, self.bridge_hold_confirm_s) or t < self._bh_next_check:
            return
        self._bh_next_check = t + 0.5
        start, _end = self._bridge_trim(since, t)
        if t - start < g.hold_min_s:
            return
        self._still = True
        pos = self._position
        self._hold = {"start": start, "since": since, "open": True, "elapsed": t - start, "ps": [pos], "confirmed": True}
        self._bh_shown = since
        self._emit(LiveEvent("hold_started", t, hold=Hold(start, t, t - start, pos, g.region_at(pos))))

    def _bridge_trim(self, start: float, end: float) -> tuple[float, float]:
        """The offline trim of a bridge hold: the stretch where the pitch's 1 s mean lies within
        `hold_pitch_tol_deg` of its median (lifting or lowering the hips is not stillness)."""
        rows = self._lb.window()
        sel = rows[(rows[:, 0] >= start) & (rows[:, 0] <= end)]
        if len(sel) <= 2:
            return start, end
        n_s = max(1, int(round(self.rate_hz)))
        pitch = np.degrees(sel[:, 7])
        ps = np.convolve(pitch, np.ones(n_s) / n_s, mode="same")
        settled = np.abs(ps - np.median(ps)) <= self._detector.hold_pitch_tol_deg
        if not settled.any():
            return start, end
        k0 = int(np.argmax(settled))
        k1 = len(settled) - int(np.argmax(settled[::-1]))
        # a start older than the window keeps its time (the window shows only its settled end)
        new_start = float(sel[k0, 0]) if (k0 > 0 or sel[0, 0] <= start + 1.5 * self._dt) else start
        return new_start, float(sel[min(k1, len(sel) - 1), 0])

    def _bridge_close_hold(self, end: float, seen_until: float | None = None) -> None:
        """The still stretch since the last committed stroke ends at `end`: a hold if long
        enough (booked as offline's `_bridge_span` would). `seen_until`: the pitch trim looks at
        the samples up to here (a bout ended by lowering the hips: offline's stretch runs through
        the lowering, which its trim cuts off)."""
        g = self.guidance
        h = self._hold
        if h is not None and h["since"] <= self._bh_since + 0.5:
            # the timer shown was this stretch's
            self._hold = None
            self._still = False
        start = self._bh_since
        if end - start < g.hold_min_s:
            return
        start, trimmed = self._bridge_trim(start, max(end, seen_until or end))
        end = min(end, trimmed)
        if end - start < g.hold_min_s:
            return
        pos = self._lb.committed_position_cm(start)
        hold = Hold(start, end, end - start, pos, g.region_at(pos))
        # a hold between two fast strokes ends the too-fast run (offline's rule)
        self._rules.hold_started()
        if abs(self._bh_shown - self._bh_since) > 0.5:
            self._emit(LiveEvent("hold_started", self._now, hold=hold))
        self._rules.hold_rebooked(start)  # the warning's span follows the booked hold
        self.hold_count += 1
        self.holds.append(hold)
        del self.holds[: -self.max_events]
        self._rules.hold_closed(hold)
        self._emit(LiveEvent("hold_ended", self._now, hold=hold))

    def _bridge_commit(self, c: BridgeCommit) -> None:
        """A committed move: a stroke as offline (`StrokeHoldDetector._bridge_span`), or still."""
        m = c.move
        d = self._detector
        g = self.guidance
        dist = abs(m.contact_cm)
        if dist < d.min_stroke_cm or m.duration_s <= 0:
            return  # offline: not a stroke, and not an edge of the still time either
        self._bridge_close_hold(m.start_s)
        self._bh_since = m.end_s
        self._bh_next_check = m.end_s
        stroke = Stroke(
            start_s=float(m.start_s),
            end_s=float(m.end_s),
            distance_cm=float(dist),
            pace_cm_s=float(dist / m.duration_s),
            region=g.region_at(0.5 * (c.start_cm + c.end_cm)),
            direction="toward_head" if m.contact_cm > 0 else "toward_hips",
            posture="bridge",
            start_cm=float(c.start_cm),
            end_cm=float(c.end_cm),
        )
        # offline drops "strokes" longer than the back or faster than anyone rolls (posture
        # changes), after the holds were cut by them
        if dist <= g.hip_to_neck_cm and stroke.pace_cm_s <= d.max_pace_cm_s:
            self._accept_stroke(stroke, self._now)

    def _end_bridge(self, t_end: float, seen_until: float | None = None) -> None:
        """The bridge bout ends (posture change, off the roller, a long gap, end of stream).
        `seen_until`: the last hold's pitch trim looks up to here (default: every sample in)."""
        lb = self._lb
        if lb is None:
            return
        for c in lb.finish(t_end):
            self._bridge_commit(c)
        self._bridge_close_hold(min(t_end, lb.now_s), seen_until=lb.now_s if seen_until is None else seen_until)
        self._bridge_ticks(t_end)
        # every move of the bout is committed: a provisional too_fast not confirmed by now was not
        if self._rules.withdraw_provisional(math.inf):
            self._notes.append("a provisional too-fast warning withdrawn: the bridge's strokes were not too fast")
        self._fast = None
        self._fast_run = []
        self._btick.clear()  # after the bout's end: counted by the next posture's path
        self._lb = None
        self._bridge = None
        self._hold = None

    def _bridge_gap(self) -> None:
        """A long gap: offline segments each gap-free piece of a bridge on its own."""
        if self._on and self._posture_code == 2 and self._lb is not None:
            self._end_bridge(self._lb.now_s)
            self._bridge_after_gap = True

    def _withdraw_strokes_after(self, t_c: float) -> None:
        """Hips-down strokes running past the lift dated at `t_c` were the lift (the pitch
        falls by ten degrees, which the hips-down geometry reads as a fast stroke): offline no
        stroke spans a change of posture. They leave the list and the count (their events are
        out already)."""
        keep = [s for s in self.strokes if not (s.posture == "hips_down" and s.end_s > t_c + 0.5)]
        dropped = self.strokes[len(keep) :] if self.strokes[: len(keep)] == keep else []
        if not dropped:
            return
        self.strokes[:] = keep
        self.stroke_count -= len(dropped)
        self._notes.append(f"{len(dropped)} stroke(s) at {t_c:.0f} s withdrawn: lifting the hips, not rolling")
        if self.holds and dropped[0].start_s - 0.5 <= self.holds[-1].end_s <= dropped[0].start_s + 0.5:
            # the hold before was ended by the lift's "stroke": it ended when the smoothed position
            # last sat on its spot (as when a hold is left by getting off the roller)
            h = self.holds[-1]
            end = self._left_band_s({"start": h.start_s, "ps": [h.position_cm], "left_s": h.end_s}, h.end_s)
            if self.guidance.hold_min_s <= end - h.start_s:
                self.holds[-1] = replace(h, end_s=end, duration_s=end - h.start_s)

    # --- on / off the roller ---------------------------------------------------------------------
    def _enter_roller(self, t: float) -> None:
        self._on = True
        self._on_since_s = t
        self._posture_code = 0
        self._hd_recent.clear()
        self._lpost.reset()
        self._recent.clear()
        self._reset_hd()
        self._emit(LiveEvent("on_roller", t))

    def _reset_hd(self) -> None:
        """A new hips-down span: the filters and the stroke/hold state machine start afresh."""
        self._bridge = None
        self._lb = None
        self._lp_f.zi = None
        self._lp_slow.zi = None
        self._slow_win.clear()
        self._piece_start = None
        self._dir = 0
        self._still = False
        self._hold = None
        self._prev_pf = None

    def _leave_roller(self, t_end: float, reason: str) -> None:
        if not self._on:
            return
        self._on = False
        if self._posture_code == 2:
            # a stay that ends in a bridge ends with lowering the hips before sitting up (too
            # brief a hips-down pose to count): offline marks that lowering as no position, so
            # the bridge and its last hold end where it starts
            lowering = self._lift_extent(list(self._recent), t_end, 1, until=t_end)
            if lowering is not None and lowering[0] < t_end:
                self._end_bridge(lowering[0], seen_until=lowering[0])
            else:
                self._end_bridge(t_end)
        else:
            self._close_hd(t_end)
        self._rules.roller_left(t_end)
        self._region_index = None
        self._emit(LiveEvent("off_roller", t_end))

    def _close_hd(self, t_end: float) -> None:
        """Close the hips-down span's open stroke and hold at the (back-dated) end."""
        if self._piece_start is not None and not self._still:
            self._close_piece(self._piece_start, self._index_at(t_end) + 1, t_end)
        self._piece_start = None
        if self._hold is not None:
            end = self._left_band_s(self._hold, t_end)
            self._end_hold(min(end, self._now), final=True)
        if self._pending_hold is not None:
            self._finalise_hold(self._pending_hold.end_s)

    def _left_band_s(self, hold: dict[str, Any], t_end: float) -> float:
        """A hold left by getting off the roller (no stroke follows to end it): it ended when the
        smoothed position last sat within `still_tol_cm` of the hold's position (the still window
        breaks, and the sagittal angle crosses the exit threshold, only seconds later)."""
        left = min(hold.get("left_s", t_end), t_end)
        ref = float(np.median(hold["ps"])) if hold["ps"] else math.nan
        rows = self._hist.get(self._index_at(hold["start"]), self._index_at(left) + 1)
        if not math.isfinite(ref) or not len(rows):
            return left
        inside = np.flatnonzero(np.abs(rows[:, 1] - ref) <= self._detector.still_tol_cm)
        if not len(inside):
            return left
        return max(hold["start"], min(left, float(rows[inside[-1], 0]) - self._delay_s))

    def _index_at(self, t: float) -> int:
        rows = self._hist.get(self._hist.first, self._hist.n)
        if not len(rows):
            return self._hist.n - 1
        return self._hist.first + int(np.searchsorted(rows[:, 0], t, side="right")) - 1

    # --- strokes and holds -----------------------------------------------------------------------
    def _track(self, t: float, p: float, bridged: bool) -> None:
        d = self._detector
        g = self.guidance
        pf = self._lp_f.step(p)
        ps = self._lp_slow.step(p)
        i = self._hist.append((t, pf, float(self._posture_code), p))
        pace = None
        if self._prev_pf is not None:
            pace = abs(pf - self._prev_pf) * self.rate_hz
        self._prev_pf = pf
        self._position = pf
        self._pace = pace

        # time per region (the offline accounting uses the smoothed position); a stretch re-run
        # after a posture change was counted by the bridge's ticks already
        if t > self._ticked_until:
            ri = g.region_at(pf)
            self._region_time[ri] += self._dt
            k = REGIONS.index(ri)
            if k != self._region_index:
                self._region_index = k
                self._emit(LiveEvent("region", t, region=ri))
            for w in self._rules.tick(t, self._dt, pf, ri, self._on_roller_s, self._region_time, turning=self._rising):
                self._add_warning(w)

        # stillness of the breathing-free position over the last window
        self._slow_win.append(ps)
        still_now = len(self._slow_win) == self._w and (max(self._slow_win) - min(self._slow_win)) <= d.still_tol_cm
        if self._hold is not None and self._hold["open"]:
            self._hold["elapsed"] = t - self._hold["start"]
            w = self._rules.hold_tick(t, self._hold["start"], self._hold_position())
            if w is not None:
                self._add_warning(w)
        if still_now and not self._still:
            self._still = True
            self._begin_still(i, t)
        elif self._still and not still_now:
            self._still = False
            self._depart(i, t)
        if self._small:
            self._flush_small(older_than_s=self.absorb_s)
        if self._still:
            self._hold_samples_update(ps)
            return
        if self._piece_start is None:
            self._piece_start = i
            self._dir = 0
            self._ext_v = pf
            self._ext_i = i
            self._start_v = pf
            self._piece_peak = 0.0
            self._valley_reset()
            return
        # the turning-point zig-zag of the offline detector, one sample at a time
        turn = d.turn_cm
        if self._dir >= 0:
            if pf > self._ext_v:
                self._ext_v, self._ext_i = pf, i
            elif self._ext_v - pf > turn:
                if self._dir > 0:
                    self._cut(self._ext_i, t)
                self._dir = -1
                self._ext_v, self._ext_i = pf, i
        if self._dir < 0:
            if pf < self._ext_v:
                self._ext_v, self._ext_i = pf, i
            elif pf - self._ext_v > turn:
                self._cut(self._ext_i, t)
                self._dir = 1
                self._ext_v, self._ext_i = pf, i
        if self._dir == 0 and abs(pf - self._start_v) > turn:
            self._dir = 1 if pf > self._start_v else -1
        self._valley(i, pf, pace)
        self._ending(i, pace)

    # stops without a reversal: a deep dip of speed between two real movements
    def _valley_reset(self) -> None:
        self._valley_peak = 0.0
        self._valley_min = math.inf
        self._valley_i = -1
        self._valley_right = 0.0

    def _valley(self, i: int, pf: float, pace: float | None) -> None:
        if pace is None or self._piece_start is None:
            return
        d = self._detector
        if self._valley_i < 0 or pace < self._valley_min:
            if pace < self._valley_min and pace < d.valley_ratio * self._valley_peak:
                self._valley_min, self._valley_i, self._valley_right = pace, i, 0.0
            if self._valley_i < 0:
                self._valley_peak = max(self._valley_peak, pace)
                return
        self._valley_right = max(self._valley_right, pace)
        if self._valley_right > self._valley_min / d.valley_ratio and self._valley_right > 0:
            rows = self._hist.get(self._piece_start, i + 1)
            vi = self._valley_i - max(self._piece_start, self._hist.first)
            right = math.inf  # a dip that fell out of the piece never qualifies
            if 0 < vi < len(rows) - 1:
                left = abs(rows[vi, 1] - rows[0, 1])
                right = abs(rows[-1, 1] - rows[vi, 1])
                if left >= d.min_stroke_cm and right >= d.min_stroke_cm:  # the offline rule
                    self._cut(self._valley_i, self._now)
                    self._dir = 1 if rows[-1, 1] > rows[vi, 1] else -1
                    self._ext_v, self._ext_i = pf, i
                    self._valley_reset()
                    self._valley_peak = self._valley_right
                    return
            if self._valley_right > self._valley_peak and right >= d.min_stroke_cm:
                # a real movement after a dip that did not qualify: look for the next dip
                self._valley_reset()
                self._valley_peak = pace

    def _cut(self, at: int, t_known: float) -> None:
        """Close the piece at absolute index `at` (a turn or a stop) and start the next there."""
        if self._piece_start is not None:
            self._close_piece(self._piece_start, at + 1, t_known)
        self._piece_start = at
        self._piece_peak = 0.0
        self._valley_reset()

    def _close_piece(self, a: int, b: int, t_known: float) -> Stroke | None:
        rows = self._hist.get(a, b)
        if len(rows) < 3:
            return None
        t, pf, code = rows[:, 0], rows[:, 1], rows[:, 2]
        posture = np.where(code == 2, "bridge", "hips_down").astype(object)
        stroke = self._detector._stroke(t, pf, posture, 0, len(rows), self.guidance)
        if stroke is None or not self._plausible(stroke):
            return None
        stroke = self._undelay(stroke)
        if stroke.distance_cm < self.small_stroke_cm:
            # a breathing wobble while the slow filter settles into a hold looks like this: wait
            # for the hold (which absorbs it) or the next real stroke (which confirms it)
            self._small.append((stroke, t_known))
            return stroke
        self._flush_small()
        self._accept_stroke(stroke, t_known)
        self._last_piece = (a, b, stroke)
        return stroke

    def _plausible(self, stroke: Stroke) -> bool:
        """Offline's last filter: longer than the back or faster than anyone rolls is a change
        of posture (the pitch sweeping through the flat angles), not a stroke."""
        return stroke.distance_cm <= self.guidance.hip_to_neck_cm and stroke.pace_cm_s <= self._detector.max_pace_cm_s

    def _merge_split(self, small: Stroke) -> bool:
        """A short movement (under `small_stroke_cm`, not absorbed by a hold) that carries on
        the last stroke's direction right after it ended is that stroke's end, split off at a
        dip of speed (a breath high on the back slows the track for a moment): offline merges
        such pieces. The last stroke is extended (its count stays)."""
        if not self.strokes:
            return False
        last = self.strokes[-1]
        if (
            last.direction != small.direction
            or last.posture != small.posture
            or small.start_s - last.end_s > self.merge_gap_s
            or (self.holds and self.holds[-1].start_s >= last.end_s - 1e-9)
            or last.start_cm is None
            or small.end_cm is None
        ):
            return False
        dist = abs(small.end_cm - last.start_cm)
        duration = max(small.end_s, last.end_s) - last.start_s
        if duration <= 0 or dist < last.distance_cm:
            return False
        self.strokes[-1] = replace(
            last,
            end_s=last.start_s + duration,
            distance_cm=dist,
            pace_cm_s=dist / duration,
            end_cm=small.end_cm,
            region=self.guidance.region_at(0.5 * (last.start_cm + small.end_cm)),
        )
        return True

    def _undelay(self, stroke: Stroke) -> Stroke:
        """The stroke's times on the physical clock: the causal 0.8 Hz low-pass delays the
        position by its group delay (about 0.28 s), the zero-phase one offline by nothing."""
        return replace(stroke, start_s=stroke.start_s - self._delay_s, end_s=stroke.end_s - self._delay_s)

    def _accept_stroke(self, stroke: Stroke, t_known: float) -> None:
        if self._hold is not None and not self._hold["open"]:
            self._end_hold(self._hold["left_s"], final=False)
            self._finalise_hold(stroke.start_s)
        self.stroke_count += 1
        self.strokes.append(stroke)
        del self.strokes[: -self.max_events]
        self._emit(LiveEvent("stroke", t_known, stroke=stroke))
        for w in self._rules.stroke_closed(stroke, t_known, provisional_fired=self._ending_fired):
            self._add_warning(w)
        self._ending_fired = False

    def _flush_small(self, older_than_s: float | None = None) -> None:
        keep = []
        small, self._small = self._small, []
        for stroke, t_known in small:
            if older_than_s is None or self._now - t_known > older_than_s:
                if not self._merge_split(stroke):
                    self._accept_stroke(stroke, t_known)
            else:
                keep.append((stroke, t_known))
        self._small = keep

    def _ending(self, i: int, pace: float | None) -> None:
        """A fast stroke decelerating to under `ending_ratio` of its peak speed is ending: the
        too-fast rule may fire now rather than after the turn is confirmed (about 0.5-1 s later)."""
        if pace is None or self._piece_start is None or self._ending_fired:
            return
        self._piece_peak = max(self._piece_peak, pace)
        g = self.guidance
        if self._piece_peak < 2.0 * g.too_fast_pace_cm_s or pace > self.ending_ratio * self._piece_peak:
            return
        rows = self._hist.get(self._piece_start, i + 1)
        if len(rows) < 3:
            return
        posture = np.where(rows[:, 2] == 2, "bridge", "hips_down").astype(object)
        stroke = self._detector._stroke(rows[:, 0], rows[:, 1], posture, 0, len(rows), g)
        if stroke is None or stroke.distance_cm < self.small_stroke_cm:
            return
        w = self._rules.stroke_ending(stroke)
        if w is not None:
            self._ending_fired = True
            self._add_warning(w)

    def _begin_still(self, i: int, t: float) -> None:
        """The breathing-free position has been still for a window: a stop, maybe a hold."""
        if self._hold is not None and not self._hold["open"]:
            # still again: if what moved in between was a real stroke, that stroke ended the hold;
            # otherwise (a wobble) the same hold goes on
            if self._piece_start is not None:
                self._close_piece(self._piece_start, i + 1, t)
            if self._hold is not None and not self._hold["open"]:
                self._hold["open"] = True
                self._piece_start = None
                self._dir = 0
                self._small = []
                return
        start_i = max(self._hist.first, i - self._w + 1)
        # offline, the still stretch starts where the zero-phase slow track settles; the causal
        # one settles its group delay later. Pieces end there, so the breathing after the
        # arrival (which can swing the 0.8 Hz track by 1-2 cm) is not measured as the stroke's end
        cut_i = max(self._hist.first, start_i - int(round(self._slow_delay_s * self.rate_hz)))
        stroke = None
        if self._piece_start is not None and self._piece_start + 3 <= cut_i:
            stroke = self._close_piece(self._piece_start, cut_i + 1, t)
        else:
            # no piece, or one that began after the cut (a breathing wobble past the arrival)
            self._remeasure_arrival(cut_i)
        self._piece_start = None
        self._dir = 0
        rows = self._hist.get(start_i, i + 1)
        start = float(rows[0, 0]) if len(rows) else t
        if self._small or stroke is None or stroke.distance_cm < self.small_stroke_cm:
            # nothing real closed here: what moved since the last real stroke (a breathing
            # wobble that the 0.8 Hz track turned into a "turn" and a piece under
            # `min_stroke_cm`) was the hold settling. The hold began where that stroke ended, as
            # offline (where the zero-phase slow track never sees the wobble)
            self._small = []
            stroke = self._arrived_stroke(start)
        if stroke is not None and stroke.end_s <= t and start - stroke.end_s <= self.absorb_s:
            # the hold began where the stroke that arrived ended (the offline rule)
            start = stroke.end_s
        self._hold = {"start": start, "open": True, "elapsed": t - start, "ps": [], "confirmed": False}
        self._maybe_confirm_hold(t)

    def _remeasure_arrival(self, cut_i: int) -> None:
        """The last stroke was closed by a breathing "turn" after its arrival: measure it again on
        its piece up to `cut_i` (where offline's still stretch would start)."""
        if self._last_piece is None or not self.strokes:
            return
        a, b, stroke = self._last_piece
        if stroke is not self.strokes[-1] or not (a + 3 <= cut_i < b - 1):
            return
        rows = self._hist.get(a, cut_i + 1)
        if len(rows) < 3 or a < self._hist.first:
            return
        posture = np.where(rows[:, 2] == 2, "bridge", "hips_down").astype(object)
        again = self._detector._stroke(rows[:, 0], rows[:, 1], posture, 0, len(rows), self.guidance)
        if again is None or again.distance_cm < self.small_stroke_cm:
            return
        self.strokes[-1] = self._undelay(again)
        self._last_piece = (a, cut_i + 1, self.strokes[-1])

    def _arrived_stroke(self, still_start_s: float) -> Stroke | None:
        """The last real stroke of this stay on the roller if nothing (a hold) came after it and
        it ended at most `absorb_s` before the still window: the stroke that arrived."""
        if not self.strokes:
            return None
        stroke = self.strokes[-1]
        if stroke.end_s < self._on_since_s or still_start_s - stroke.end_s > self.absorb_s:
            return None
        if self.holds and self.holds[-1].end_s > stroke.start_s:
            return None
        return stroke

    def _hold_samples_update(self, ps: float) -> None:
        h = self._hold
        if h is None:
            return
        h["ps"].append(ps)
        if len(h["ps"]) > 4 * self._w:
            del h["ps"][: len(h["ps"]) - 4 * self._w]
        self._maybe_confirm_hold(self._now)

    def _maybe_confirm_hold(self, t: float) -> None:
        h = self._hold
        if h is None or h["confirmed"] or t - h["start"] < self.guidance.hold_min_s:
            return
        h["confirmed"] = True
        self._rules.hold_started()
        pos = self._hold_position()
        self._emit(
            LiveEvent(
                "hold_started",
                t,
                hold=Hold(h["start"], t, t - h["start"], pos, self.guidance.region_at(pos)),
            )
        )

    def _hold_position(self) -> float:
        h = self._hold
        if h and h["ps"]:
            return float(np.median(h["ps"]))
        return float(self._position) if self._position is not None else math.nan

    def _depart(self, i: int, t: float) -> None:
        """The still window broke: the roller moves again. The next stroke's start ends the hold."""
        if self._hold is not None:
            if self._hold["confirmed"]:
                self._hold["open"] = False
                self._hold["left_s"] = t
            else:
                self._hold = None
        # the next piece starts where the breathing-free position began to leave: the slow filter
        # lags ~1/(2 pi slow_hz) s, so start a little before that (the measurement finds the
        # travel's ends inside the piece)
        back = int(round((1.0 / (2 * math.pi * self._detector.slow_hz) + 1.0) * self.rate_hz))
        self._piece_start = max(self._hist.first, i - back)
        rows = self._hist.get(self._piece_start, i + 1)
        self._dir = 0
        self._start_v = float(rows[0, 1])
        self._ext_v = float(rows[-1, 1])
        self._ext_i = i
        self._dir = 1 if rows[-1, 1] > rows[0, 1] else -1
        self._ext_v = float(rows[:, 1].max() if self._dir > 0 else rows[:, 1].min())
        self._piece_peak = 0.0
        self._valley_reset()

    def _end_hold(self, t: float, final: bool) -> None:
        h = self._hold
        self._hold = None
        if h is None:
            return
        pos = float(np.median(h["ps"])) if h["ps"] else (self._position or math.nan)
        hold = Hold(h["start"], t, t - h["start"], pos, self.guidance.region_at(pos) if math.isfinite(pos) else "unknown")
        self._pending_hold = hold
        if final:
            self._finalise_hold(t)

    def _finalise_hold(self, end_s: float) -> None:
        h = self._pending_hold
        self._pending_hold = None
        if h is None:
            return
        end = max(h.start_s, min(end_s, h.end_s + 10.0))
        hold = replace(h, end_s=end, duration_s=end - h.start_s)
        if hold.duration_s < self.guidance.hold_min_s:
            return
        self.hold_count += 1
        self.holds.append(hold)
        del self.holds[: -self.max_events]
        self._rules.hold_closed(hold)
        self._emit(LiveEvent("hold_ended", self._now, hold=hold))

    # --- output ----------------------------------------------------------------------------------
    def _add_warning(self, w: Warning) -> None:
        # the rules own the list (they update a warning's span in place); warnings are few
        self._emit(LiveEvent("warning", self._now, warning=w))

    def _emit(self, event: LiveEvent) -> None:
        self._events.append(event)

    @property
    def session_s(self) -> float:
        return self._last_raw[0] if self._last_raw is not None else 0.0

    @property
    def state(self) -> LiveState:
        """A snapshot for the view (a new object each call)."""
        g = self.guidance
        pace = self._pace if self._on else None
        # the gauge shows the pace of the stroke in motion, from the smoothed position
        moving = self._on and not self._still and pace is not None and pace > 0.5
        band = "idle"
        if self._on and pace is not None:
            if not moving:
                band = "idle"
            elif pace > g.too_fast_pace_cm_s:
                band = "too_fast"
            elif pace > 1.4 * g.target_pace_cm_s:
                band = "fast"
            elif pace >= 0.6 * g.target_pace_cm_s:
                band = "target"
            else:
                band = "slow"
        timer = HoldTimer(target_min_s=g.hold_target_min_s, target_max_s=g.hold_target_max_s, limit_s=g.hold_too_long_s)
        h = self._hold
        if h is not None and h.get("confirmed") and h["open"] and self._on:
            pos = self._hold_position()
            timer.active = True
            timer.start_s = h["start"]
            timer.elapsed_s = self._now - h["start"]
            timer.position_cm = pos
            timer.region = g.region_at(pos) if math.isfinite(pos) else None
        minutes = self._on_roller_s / 60.0
        return LiveState(
            session_s=self.session_s,
            phase="unknown" if self._rot is None else ("on_roller" if self._on else "off_roller"),
            posture=({1: "hips_down", 2: "bridge"}.get(self._posture_code) if self._on else None),
            axes_source=self._axes_source,
            pace_cm_s=pace,
            pace_band=band,
            moving=moving,
            stroke_count=self.stroke_count,
            # per minute of rolling (time on the roller), once there is enough of it to mean
            # something; before that None (the view shows a dash), never a false 0.0/min
            strokes_per_min=self.stroke_count / minutes if self._on_roller_s >= self.min_rate_s else None,
            last_stroke=self.strokes[-1] if self.strokes else None,
            position_cm=self._position if self._on else None,
            region=REGIONS[self._region_index] if (self._on and self._region_index is not None) else None,
            hold=timer,
            holds_done=self.hold_count,
            on_roller_s=self._on_roller_s,
            region_time_s=dict(self._region_time),
            warnings=list(self.warnings[-self.max_recent_warnings :]),
            warning_count=self._rules.fired,
            connection=self.connection,
            battery_pct=self.battery_pct,
            battery_stale=self.battery_stale or self.connection in ("disconnected", "reconnecting"),
            lost_samples=self.lost_samples,
            target_pace_cm_s=g.target_pace_cm_s,
            too_fast_pace_cm_s=g.too_fast_pace_cm_s,
            hip_to_neck_cm=g.hip_to_neck_cm,
            region_bounds_cm=g.region_bounds_cm(),
            notes=list(self._notes[-5:]),
        )

    def finish(self) -> None:
        """End of the stream: close the open stroke/hold at the last sample (for comparisons)."""
        if self._rot is None and len(self._axes_buf):
            self._try_axes(final=True)
        if self._on:
            self._leave_roller(self._now, reason="end")
        self._rules.finish(self._now)


def _up_from_quat(q: np.ndarray) -> np.ndarray:
    """Earth "up" in the sensor frame from VQF's (n, 4) quaternions (as `OrientationEstimator`)."""
    w, x, y, z = q[:, 0], q[:, 1], q[:, 2], q[:, 3]
    return np.column_stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)])


class _BridgeTrack:
    """The bridge's instantaneous speed for the pace gauge (display only): the along-spine
    acceleration band-passed and integrated, the velocity high-passed (it drifts; the strokes,
    holds and positions come from `LiveBridge`'s fits)."""

    def __init__(self, contact: ContactPositionEstimator, rate_hz: float) -> None:
        low, high = contact.band_hz
        high = min(high, 0.45 * rate_hz)
        self.band = _Sos(2, (low, high), rate_hz, btype="bandpass")
        self.band.reset(0.0)
        self.hp = _Sos(2, 2 * low, rate_hz, btype="highpass")
        self.hp.reset(0.0)
        self.dt = 1.0 / rate_hz
        self.v = 0.0
        self.speed_cm_s = 0.0

    def step(self, acc_b: np.ndarray, pitch_rad: float) -> None:
        a = float(acc_b[2]) - STANDARD_GRAVITY_M_S2 * math.sin(pitch_rad)
        self.v += self.band.step(a) * self.dt
        # the contact moves half as fast as the body
        self.speed_cm_s = 0.5 * self.hp.step(self.v) * 100.0

"""The offline analysis in causal form: samples in as they arrive, events and a state out.

    live = LiveSession(guidance, sampling_rate_hz=100, calibration=cal)
    for block in blocks:                                # any block size, 1 sample upward
        for event in live.push(block.t_s, block.acc_m_s2, block.gyr_rad_s):
            ...                                         # LiveEvent: stroke, hold, warning, ...
        view.update(live.state)

`LiveSession` is an orchestrator over typed stages, each the causal counterpart of a step of
`tracker.analysis.analyze` built from the same primitives (`tracker.analysis.steps`) and the
same parameters (the offline estimators' own):

| offline (`tracker.analysis`)           | live stage                                   | delay        |
| -------------------------------------- | -------------------------------------------- | ------------ |
| `prepare_signals`: gaps, VQF, decimation | `raw.RawStage`, `raw.LiveOrientation` (no gyro: `tilt.LiveTiltOrientation`) | 0 |
| `BodyAxesEstimator`                    | `axes.AxesStage` (calibration, or learned)   | 0, or ~45 s  |
| `PostureSegmenter`: on/off the roller  | `roller.RollerPhase` (trailing means)        | ~0.25 s      |
| `PostureSegmenter`: hips down / bridge | `posture.PostureStage` (trailing windows)    | 3-8 s        |
| `ContactPositionEstimator`, `StrokeHoldDetector` | `hips_down.HipsDownStage`, `bridge_stage.BridgeStage` | see there |
| `WarningRules`                         | `warnings.LiveWarnings` (as conditions occur) | see there   |

Between them flow `sample.Sample` (sensor frame, analysis rate) and `sample.BodySample` (body
frame). Results and what was said are kept in `account.SessionLog`.

A change of posture is dated back to the lift (or lowering) of the hips that explains it; the
samples since then are run again through the new posture's stage (time already booked is not
booked twice, events already out stay out). A long link gap restarts the orientation filters
and ends a bridge bout; everything else goes on across it, as offline.

Memory is bounded: ring buffers of `history_s` at the analysis rate, the bridge's window, the
last ~20 s of samples on the roller, the axes and warm-up buffers, and the lists of finished
strokes, holds and warnings (each capped at `max_events`; the counts and times keep counting).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from tracker.analysis import uncertainty
from tracker.analysis.activity import LiveActivity
from tracker.analysis.pipeline import AnalysisParameters, contact_estimator
from tracker.analysis.posture import PostureSegmenter
from tracker.analysis.signals import GAP_FACTOR
from tracker.analysis.strokes import StrokeHoldDetector
from tracker.errors import UsageError
from tracker.guidance import Guidance
from tracker.imu import MountingCalibration
from tracker.live.account import SessionLog, median
from tracker.live.axes import AxesStage
from tracker.live.bridge_stage import BridgeStage
from tracker.live.hips_down import HipsDownStage
from tracker.live.posture import LivePosture, PostureStage, lift_extent
from tracker.live.raw import LiveOrientation, OrientationFilters, RawStage, SlowRedo
from tracker.live.roller import RollerPhase
from tracker.live.sample import BRIDGE, BodySample, Sample
from tracker.live.state import HoldTimer, LiveEvent, LiveState
from tracker.live.tilt import LiveTiltOrientation
from tracker.live.warnings import LiveWarnings
from tracker.results import Hold, SessionWarning, Stroke

ACCEL_ONLY_NOTE = (
    "no gyroscope: positions and hips-down paces rest on the strap's tilt on the chest, and bridge "
    "strokes are rough; the analysis afterwards says by how much"
)


@dataclass(frozen=True)
class LiveOptions:
    """The live analysis's own settings (the analysis's are `AnalysisParameters`, the
    thresholds `Guidance`). Times in s, distances in cm."""

    axes_learn_s: float = 45.0
    """Without calibration: learn the body axes from this much signal..."""
    axes_min_lying_s: float = 20.0
    """...once at least this much of it looks like lying on the roller..."""
    axes_max_wait_s: float = 180.0
    """...retried every 5 s up to this, after which the best estimate is taken."""
    history_s: float = 120.0
    """Track kept at the analysis rate (a stroke longer than this is measured on its end)."""
    max_events: int = 2000
    """Finished strokes/holds kept in memory (older ones are dropped; counts go on)."""
    max_recent_warnings: int = 20
    """Warnings in each state snapshot."""
    lumbar_confirm_s: float = 0.2
    """The contact must stay in the lumbar region this long before the lumbar warning fires."""
    warm_bias_s: float = 15.0
    """The gyro bias is learned from this much signal (`raw.LiveOrientation`)..."""
    warm_tau_until_s: float = 60.0
    """...and the running filter uses VQF's 3 s accelerometer time constant until here."""
    slow_warm_s: float = 45.0
    """The offline-time-constant filter is run again with the bias from this much signal."""
    small_stroke_cm: float = 3.0
    """Shorter strokes wait for a hold to absorb them (`hips_down.HipsDownStage`)..."""
    absorb_s: float = 8.0
    """...up to this long."""
    ending_ratio: float = 0.3
    """A fast stroke slowing below this share of its peak is ending (too_fast may fire)."""
    merge_gap_s: float = 1.0
    """A short movement this soon after a stroke, in its direction, is that stroke's end."""
    min_rate_s: float = 10.0
    """Strokes per minute are shown once this much time on the roller has passed."""
    getting_up_rate_deg_s: float = 20.0
    """Rising faster than this may be sitting up off the roller (`roller.RollerPhase`)."""
    getting_up_slow_ratio: float = 0.5
    getting_up_margin_deg: float = 4.0
    bridge_window_s: float = 90.0
    """The bridge segmentation's trailing window (`bridge.LiveBridge`)..."""
    bridge_refit_s: float = 2.0
    """...how often it is fitted..."""
    bridge_commit_lag_s: float = 6.0
    """...and how long after its end a move is committed."""
    bridge_hold_confirm_s: float = 10.0
    """Still time the bridge fits must show before the hold timer starts."""
    bridge_provisional_s: float = 10.0
    """A provisional too_fast not confirmed this far past it is withdrawn."""


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
    parameters
        The offline analysis's parameters (the same defaults as `analyze`).
    options
        The live analysis's own settings (`LiveOptions`).
    has_gyro
        False for a sensor without a gyroscope (Polar H10): the gyro-free stages of
        `tracker.live.tilt` and `GravityAxesEstimator` replace the gyroscope's, as offline
        (`tracker.analysis.accel_only`); the rates pushed are then ignored (NaN is fine). A
        first block whose rates are all NaN switches to that by itself.
    """

    def __init__(
        self,
        guidance: Guidance | None = None,
        sampling_rate_hz: float = 100.0,
        calibration: MountingCalibration | None = None,
        *,
        parameters: AnalysisParameters | None = None,
        options: LiveOptions | None = None,
        has_gyro: bool = True,
    ) -> None:
        rate_ok = isinstance(sampling_rate_hz, (int, float)) and math.isfinite(sampling_rate_hz)
        if not (rate_ok and 5.0 <= sampling_rate_hz <= 2000.0):
            raise UsageError(
                f"sampling_rate_hz = {sampling_rate_hz!r} is outside 5..2000 Hz",
                hint="pass the sensor's rate",
            )
        self.guidance = guidance or Guidance()
        p = self.parameters = parameters or AnalysisParameters()
        self.options = options or LiveOptions()
        self.sampling_rate_hz = float(sampling_rate_hz)
        factor = max(1, int(round(self.sampling_rate_hz / p.analysis_rate_hz)))
        self._factor = factor
        self.rate_hz = self.sampling_rate_hz / factor
        self.samples_pushed = 0
        self.connection = "unknown"  # set by the recorder / replay
        self.battery_pct: int | None = None
        self.battery_stale = False
        self.lost_samples = 0

        self._calibration = calibration
        self._build_stages(bool(has_gyro))
        # what the recording is (foam rolling, walking, ...): from the first sample on
        self.activity = LiveActivity(self.rate_hz, axes_inferred=calibration is None)
        self._bridge_anchored = False
        self._build_analysis()
        self._t0: float | None = None
        self._rotation: np.ndarray | None = None
        if self.axes.rotation is not None:
            self._axes_ready()

    def _build_stages(self, has_gyro: bool) -> None:
        """The stages that depend on the sensor having a gyroscope (the orientation, the axes,
        the bridge's gravity removal); the rest are built by `_build_analysis`."""
        g, p, o = self.guidance, self.parameters, self.options
        self.has_gyro = has_gyro
        self.segmenter = PostureSegmenter()
        self.contact = contact_estimator(g, p, has_gyro=has_gyro)
        orientation: OrientationFilters
        if has_gyro:
            orientation = LiveOrientation(
                self.sampling_rate_hz, self.rate_hz, p.vqf_tau_acc_s, warm_bias_s=o.warm_bias_s,
                warm_tau_until_s=o.warm_tau_until_s, slow_warm_s=o.slow_warm_s,
            )  # fmt: skip
        else:
            orientation = LiveTiltOrientation(self.sampling_rate_hz, p.tilt)
        self.raw = RawStage(
            self.sampling_rate_hz, self._factor, orientation, _RawListener(self), gap_factor=GAP_FACTOR,
            max_bridged_gap_s=p.max_bridged_gap_s,
        )  # fmt: skip
        self.axes = AxesStage(
            self.rate_hz, self._calibration, learn_s=o.axes_learn_s, min_lying_s=o.axes_min_lying_s,
            max_wait_s=o.axes_max_wait_s, has_gyro=has_gyro,
            roller_diameter_cm=g.roller_diameter_cm, hip_to_neck_cm=g.hip_to_neck_cm,
        )  # fmt: skip

    def _build_analysis(self, notes: list[str] | None = None) -> None:
        """The stages after the body frame, fresh (at the start, and to analyse the samples so
        far again when a check of the calibration changed the axes)."""
        g, p, o = self.guidance, self.parameters, self.options
        detector = StrokeHoldDetector(**p.detector)
        self.log = SessionLog(g, self.rate_hz, LiveWarnings(g, lumbar_confirm_s=o.lumbar_confirm_s), o.max_events)
        self.log.notes += notes or []
        self.activity.reset_body()
        self.log.on_stroke = self.activity.stroke
        if not self.has_gyro and ACCEL_ONLY_NOTE not in self.log.notes:
            self.log.notes.append(ACCEL_ONLY_NOTE)
        self.roller = RollerPhase(
            self.segmenter, self.rate_hz, getting_up_rate_deg_s=o.getting_up_rate_deg_s,
            getting_up_slow_ratio=o.getting_up_slow_ratio, getting_up_margin_deg=o.getting_up_margin_deg,
        )  # fmt: skip
        self.posture = PostureStage(
            LivePosture(self.rate_hz, g.roller_diameter_cm, g.hip_to_neck_cm, self.segmenter, self.has_gyro)
        )
        self.hips_down = HipsDownStage(
            self.log, detector, g, self.rate_hz, history_s=o.history_s,
            small_stroke_cm=o.small_stroke_cm, absorb_s=o.absorb_s, ending_ratio=o.ending_ratio,
            merge_gap_s=o.merge_gap_s,
        )  # fmt: skip
        self.bridge = BridgeStage(
            self.log, self.contact, self.hips_down.measure, g, self.rate_hz,
            min_stroke_cm=detector.min_stroke_cm, hold_pitch_tol_deg=detector.hold_pitch_tol_deg,
            window_s=o.bridge_window_s, refit_s=o.bridge_refit_s, commit_lag_s=o.bridge_commit_lag_s,
            hold_confirm_s=o.bridge_hold_confirm_s, provisional_s=o.bridge_provisional_s,
        )  # fmt: skip
        # the last samples on the roller, to run a stretch again when a change of posture is
        # dated back to the lift that explains it
        keep_s = self.segmenter.lift_window_s + self.segmenter.evidence_window_s + 2.0
        self._recent: deque[BodySample] = deque(maxlen=int(keep_s * self.rate_hz))

    # --- results -----------------------------------------------------------------------------------
    # (a stay on the roller that has not rolled yet is held back: `SessionLog`)
    @property
    def strokes(self) -> list[Stroke]:
        return self.log.shown("strokes")

    @property
    def holds(self) -> list[Hold]:
        return self.log.shown("holds")

    @property
    def warnings(self) -> list[SessionWarning]:
        return self.log.shown("rules").warnings

    @property
    def stroke_count(self) -> int:
        return self.log.shown("stroke_count")

    @property
    def notes(self) -> list[str]:
        return self.log.notes

    # --- input -------------------------------------------------------------------------------------
    def push(self, t_s: Any, acc_m_s2: Any, gyr_rad_s: Any) -> list[LiveEvent]:
        """Feed samples: `t_s` (n,) s on the sensor clock, `acc_m_s2` and `gyr_rad_s` (n, 3) in
        the sensor frame (SI). Returns the events they caused, oldest first. Samples at or
        before the last one pushed, and samples with NaNs, are dropped (a decoder never
        delivers them; a bad caller must not break the filters)."""
        t = np.atleast_1d(np.asarray(t_s, dtype=float))
        acc = np.asarray(acc_m_s2, dtype=float).reshape(-1, 3)
        gyr = np.asarray(gyr_rad_s, dtype=float).reshape(-1, 3)
        if not (len(t) == len(acc) == len(gyr)):
            raise ValueError(f"push: t_s, acc and gyr lengths differ ({len(t)}, {len(acc)}, {len(gyr)})")
        self.log.events = []
        if len(t) == 0:
            return []
        if self.has_gyro and self.raw.last is None and len(gyr) and np.isnan(gyr).all():
            # the sensor turned out to have no gyroscope (a sensor named by its address, kind
            # unknown until it streamed): nothing has been analysed yet, so start without one
            self._build_stages(False)
            self._build_analysis()
            if self.axes.rotation is not None:
                self._rotation = None
                self._axes_ready()
        if self._t0 is None:
            self._t0 = float(t[0])
        t = t - self._t0
        if not self._all_good(t, acc, gyr):
            keep = np.isfinite(t) & np.isfinite(acc).all(axis=1)
            if self.has_gyro:
                keep &= np.isfinite(gyr).all(axis=1)
            if self.raw.last is not None:
                keep &= t > self.raw.last[0] + 1e-9
            if not keep.all():
                t, acc, gyr = t[keep], acc[keep], gyr[keep]
                if len(t) > 1:  # keep only a strictly increasing run
                    rising = np.concatenate([[True], np.diff(t) > 0])
                    t, acc, gyr = t[rising], acc[rising], gyr[rising]
        if len(t):
            self.samples_pushed += len(t)
            self.raw.push(t, acc, gyr)  # -> _sample, _correct, _long_gap
        return self.log.events

    def _all_good(self, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray) -> bool:
        """Whether every sample is finite and after the last one taken in (what a decoder
        delivers), checked at a block's cost rather than per sample: a finite sum has no NaN
        or infinity in it. False sends the block through the per-sample checks."""
        add = np.add.reduce
        total = float(add(t)) + float(add(acc, axis=None)) + (float(add(gyr, axis=None)) if self.has_gyro else 0.0)
        last = self.raw.last[0] if self.raw.last is not None else -math.inf
        return math.isfinite(total) and float(np.minimum.reduce(t)) > last + 1e-9

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

    def finish(self) -> None:
        """End of the stream: close the open stroke/hold at the last sample (for comparisons)."""
        ready = self.axes.finish()
        if ready:
            self._axes_ready()
            for s in ready:
                self._step(s.to_body(self._body_rotation()))
        if self.roller.on:
            self.roller.on = False
            self._leave_roller(self.log.now_s)
        self.log.rules.finish(self.log.now_s)
        self.activity.ended = True

    # --- the pipeline ------------------------------------------------------------------------------
    def _sample(self, s: Sample) -> None:
        s.moving_about = self.activity.sensor(s.t_s, s.acc_m_s2, s.gyr_rad_s)
        self.log.now_s = s.t_s
        update = self.axes.push(s)
        self.log.notes += self.axes.take_notes()
        if update.replay is not None:
            self._again(update.replay)
            return
        if update.ready and self._rotation is None:
            self._axes_ready()
        for r in update.ready:
            self._step(r.to_body(self._body_rotation()))

    def _again(self, samples: list[Sample]) -> None:
        """The checked calibration changed the axes: the stages start afresh and the samples so
        far go through them again with the new axes. What they find replaces what was found;
        their events are not said twice (the view reads the state)."""
        events, notes = self.log.events, self.log.notes
        self._build_analysis(notes)
        self._rotation = self.axes.rotation
        self.activity.axes_inferred = self.axes.source == "inferred"
        for r in samples:
            self._step(r.to_body(self._body_rotation()))
        self.log.events = events
        self.log.emit(LiveEvent("axes_ready", samples[-1].t_s))

    def _correct(self, redo: SlowRedo) -> None:
        """The slow orientation filter was run again with a learned bias: correct what went
        downstream already (the axes buffer, a bridge bout's window)."""
        self.axes.correct(redo)
        if self.bridge.bout is not None and self._rotation is not None:
            up_body = redo.up @ self._rotation.T
            self.bridge.bout.correct_pitch(redo.t_s, np.arcsin(np.clip(up_body[:, 2], -1.0, 1.0)))

    def _body_rotation(self) -> np.ndarray:
        assert self._rotation is not None, "the axes are known before any sample reaches the body frame"
        return self._rotation

    def _axes_ready(self) -> None:
        self._rotation = self.axes.rotation
        self.activity.axes_inferred = self.axes.source == "inferred"
        self.log.notes += self.axes.take_notes()
        self.log.emit(LiveEvent("axes_ready", float(self.axes.ready_at_s or 0.0)))

    def _long_gap(self, t_a: float, t_b: float) -> None:
        """Offline, the segments either side of a long gap are analysed as one sequence (only
        the orientation filter restarts; a bridge is segmented per gap-free segment): a stay on
        the roller, a hold or a stroke goes on across the gap if the samples after it say so."""
        self.log.notes.append(f"gap of {t_b - t_a:.1f} s at {t_a:.1f} s: that time is unknown")
        if self._rotation is not None and self.roller.on and self.bridge.bout is not None:
            self.bridge.end(self.bridge.bout.now_s)

    def _step(self, s: BodySample) -> None:
        """One analysis-rate sample with known axes: on/off the roller, posture, the stages."""
        log = self.log
        log.now_s = s.t_s
        change = self.roller.step(s)
        self.activity.body(
            s.t_s, s.up, s.gyr_rad_s, upright=not self.roller.on and s.sagittal_deg > 70.0, worn=not s.moving_about
        )
        if change == "off":
            self._leave_roller(self.roller.left_at_s)
        elif change == "on":
            self._enter_roller(s.t_s)
        if not self.roller.on:
            log.position_cm = None
            log.pace_cm_s = None
            return
        if not s.bridged:
            log.on_roller_s += log.dt_s
        self._recent.append(s)
        new = self.posture.step(s)
        if new is not None:
            self._switch_posture(new, s.t_s)
        else:
            self._posture_sample(s)

    def _posture_sample(self, s: BodySample) -> None:
        if self.posture.current == BRIDGE:
            if self.bridge.bout is None:
                self.bridge.start(s.t_s, self._bridge_start_cm(s.t_s))
            self.bridge.step(s)
        else:
            self.hips_down.step(s, turning=self.roller.rising)

    def _bridge_start_cm(self, t: float) -> float:
        """Lifting the hips leaves the roller where it was: the hips-down contact just before."""
        start = self.hips_down.contact_before(t, self.contact.max_handover_s)
        if start is not None:
            self._bridge_anchored = True
            return start
        c = self.contact.default_start_cm
        self.log.notes.append(f"a bridge with no hips-down contact before it starts from an assumed {c:g} cm")
        self._bridge_anchored = False
        return c

    def _enter_roller(self, t: float) -> None:
        self.hips_down.on_since_s = t
        self.hips_down.contacts.clear()
        self.posture.reset()
        self._recent.clear()
        self.hips_down.reset()
        self.log.emit(LiveEvent("on_roller", t))
        self.activity.enter(t)
        self.log.begin_stay()

    def _leave_roller(self, t_end: float) -> None:
        if self.posture.current == BRIDGE:
            # a stay that ends in a bridge ends with lowering the hips before sitting up (too
            # brief a hips-down pose to count): offline marks that lowering as no position, so
            # the bridge and its last hold end where it starts
            lowering = self._lift(t_end, "hips_down", until=t_end)
            if lowering is not None and lowering[0] < t_end:
                self.bridge.end(lowering[0], seen_until=lowering[0])
            else:
                self.bridge.end(t_end)
        else:
            self.hips_down.close(t_end)
        self.log.rules.roller_left(t_end)
        self.log.region = None
        self.log.end_stay(self.activity.leave(t_end))
        self.log.emit(LiveEvent("off_roller", t_end))

    def _lift(self, t_c: float, posture: str, until: float | None = None) -> tuple[float, float] | None:
        return lift_extent(list(self._recent), t_c, posture, self.segmenter, self.rate_hz, until=until)

    def _switch_posture(self, new: str, t: float) -> None:
        """Hips down <-> bridge: offline, no stroke or hold spans a change of posture. The change
        is dated to the lift (or lowering) of the hips that explains it, seconds back; the
        samples since then go through the new posture's stage again (already booked time is
        not booked twice; events already out stay out)."""
        t_c = self.posture.live.change_time(new)
        recent = list(self._recent)
        if t_c is None or not recent or t_c < recent[0].t_s:
            t_c = t
        resume = t_c
        if self.posture.current == BRIDGE:
            lowering = self._lift(t_c, new)
            if lowering is not None:
                # as offline (`PostureSegmenter.lift_mask_`): the bridge ends where lowering the
                # hips starts, and the hips-down span begins once it is over (the torso turns
                # there with the roller where it was: neither a stroke nor a hold)
                self.bridge.end(lowering[0], seen_until=lowering[0])
                resume = max(t_c, lowering[1])
            else:
                self.bridge.end(t_c)
        else:
            self.hips_down.close(t_c)
            self.hips_down.withdraw_after(t_c)
        self.hips_down.reset()
        self.posture.switched(new)
        log = self.log
        log.replay_until_s = t
        for r in recent:
            if r.t_s > resume:
                log.now_s = r.t_s
                self._posture_sample(r)
        log.now_s = t
        log.replay_until_s = -math.inf

    # --- output ------------------------------------------------------------------------------------
    @property
    def session_s(self) -> float:
        return self.raw.last[0] if self.raw.last is not None else 0.0

    def _stage_hold(self) -> tuple[bool, Any]:
        stage: Any = self.bridge if self.posture.current == BRIDGE else self.hips_down
        return stage.still, stage.hold

    @property
    def state(self) -> LiveState:
        """A snapshot for the view (a new object each call). A stay on the roller that has not
        rolled yet shows nothing it found (`SessionLog.shown`)."""
        g, log, on = self.guidance, self.log, self.roller.on
        still, hold = self._stage_hold()
        checking = on and log.holding_back
        pace = log.pace_cm_s if on and not checking else None
        # the gauge shows the pace of the stroke in motion, from the smoothed position
        moving = on and not still and pace is not None and pace > 0.5
        timer = HoldTimer(target_min_s=g.hold_target_min_s, target_max_s=g.hold_target_max_s, limit_s=g.hold_too_long_s)
        if hold is not None and hold.confirmed and hold.open and on and not checking:
            pos = median(hold.positions_cm) if hold.positions_cm else (log.position_cm or math.nan)
            timer.active = True
            timer.start_s = hold.start_s
            timer.elapsed_s = log.now_s - hold.start_s
            timer.position_cm = pos
            timer.region = g.region_at(pos) if math.isfinite(pos) else None
        on_roller_s = log.shown("on_roller_s")
        count = log.shown("stroke_count")
        strokes, rules = log.shown("strokes"), log.shown("rules")
        rated = on_roller_s >= self.options.min_rate_s
        activity, why = self.activity.verdict(log.now_s)
        position = log.position_cm if on and not checking else None
        pace_pm, position_pm = self._plus_minus(pace if moving else None, position)
        return LiveState(
            session_s=self.session_s,
            phase="unknown" if self._rotation is None else ("on_roller" if on else "off_roller"),
            posture=self.posture.current if on else None,
            axes_source=self.axes.source,
            pace_cm_s=pace,
            pace_band=_pace_band(pace, moving, g) if on else "idle",
            moving=moving,
            stroke_count=count,
            # per minute of rolling (time on the roller), once there is enough of it to mean
            # something; before that None (the view shows a dash), never a false 0.0/min
            strokes_per_min=count / (on_roller_s / 60.0) if rated else None,
            last_stroke=self._with_pm(strokes[-1]) if strokes else None,
            position_cm=position,
            region=log.region if on and not checking else None,
            hold=timer,
            holds_done=log.shown("hold_count"),
            on_roller_s=on_roller_s,
            region_time_s=dict(log.shown("region_time_s")),
            warnings=list(rules.warnings[-self.options.max_recent_warnings :]),
            warning_count=rules.fired,
            connection=self.connection,
            battery_pct=self.battery_pct,
            battery_stale=self.battery_stale or self.connection in ("disconnected", "reconnecting"),
            lost_samples=self.lost_samples,
            target_pace_cm_s=g.target_pace_cm_s,
            too_fast_pace_cm_s=g.too_fast_pace_cm_s,
            hip_to_neck_cm=g.hip_to_neck_cm,
            region_bounds_cm=g.region_bounds_cm(),
            notes=list(self.notes[-5:]),
            activity=activity,
            activity_reason=why,
            checking=checking,
            pace_pm_cm_s=pace_pm,
            position_pm_cm=position_pm,
        )

    def _setup(self) -> tuple[uncertainty.Setup, uncertainty.SignalQuality]:
        """What the uncertainty model needs to know about this session so far."""
        g, source = self.guidance, self.axes.source
        if source == "pairing":
            calibration = "pairing"
        elif source in ("inferred", "learning"):
            calibration = "fell_back" if self.axes.calibration is not None else "inferred"
        else:
            calibration = "given"
        seen = max(self.samples_pushed + self.lost_samples, 1)
        setup = uncertainty.Setup(calibration, g.roller_diameter_cm, hip_to_neck_cm=g.hip_to_neck_cm)
        return setup, uncertainty.SignalQuality(self.sampling_rate_hz, gap_share=self.lost_samples / seen)

    def _with_pm(self, stroke: Stroke) -> Stroke:
        """`stroke` with its pace's ± (as offline assesses it)."""
        if stroke.pace_pm_cm_s is not None:
            return stroke
        from dataclasses import replace

        setup, signal = self._setup()
        pm = uncertainty.DEFAULT_MODEL.stroke_pace_pm(uncertainty.evidence_of(stroke), stroke.pace_cm_s, setup, signal)
        return replace(stroke, pace_pm_cm_s=pm)

    def _plus_minus(self, pace: float | None, position: float | None) -> tuple[float | None, float | None]:
        """± of the pace in motion (cm/s) and of the contact (cm), as the offline session's
        would be (`tracker.analysis.uncertainty`)."""
        posture = self.posture.current
        if posture is None or (pace is None and position is None):
            return None, None
        model = uncertainty.DEFAULT_MODEL
        setup, signal = self._setup()
        pace_pm = None
        if pace is not None:
            last = next((s for s in reversed(self.log.strokes) if s.posture == posture), None)
            ev = uncertainty.evidence_of(last) if last is not None else uncertainty.StrokeEvidence(posture, 5.0, 15.0, position)
            pace_pm = model.stroke_pace_pm(ev, pace, setup, signal)
        position_pm = None
        if position is not None and math.isfinite(position):
            bout = self.bridge.bout
            if posture == BRIDGE and bout is not None:
                start_pm = model.hips_down_position_pm(bout.start_cm, setup, signal) if self._bridge_anchored else None
                moved = [abs(c.move.contact_cm) for c in bout.committed]
                position_pm = model.bridge_position_pm(start_pm, sum(moved), len(moved), setup, abs(position - bout.start_cm))
            else:
                position_pm = model.hips_down_position_pm(position, setup, signal)
        return pace_pm, position_pm


def _pace_band(pace: float | None, moving: bool, g: Guidance) -> str:
    if pace is None or not moving:
        return "idle"
    if pace > g.too_fast_pace_cm_s:
        return "too_fast"
    if pace > 1.4 * g.target_pace_cm_s:
        return "fast"
    if pace >= 0.6 * g.target_pace_cm_s:
        return "target"
    return "slow"


class _RawListener:
    """The raw stage's output into the session, in order."""

    def __init__(self, session: LiveSession) -> None:
        self.session = session

    def sample(self, s: Sample) -> None:
        self.session._sample(s)

    def redo(self, redo: SlowRedo) -> None:
        self.session._correct(redo)

    def long_gap(self, t_before_s: float, t_after_s: float) -> None:
        self.session._long_gap(t_before_s, t_after_s)

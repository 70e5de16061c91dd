"""Ground truth of a simulated session: what the person really did, in the analysis's own terms.

Strokes, holds and phases use the dataclasses of `tracker.results`, so an analysis result can be
compared to the truth field by field. Definitions (the analysis is measured against these):

- a **stroke** is one scripted movement of the roller in one direction; its pace is the contact
  point's distance along the back over the stroke's duration; its region is the region at the
  stroke's midpoint (`Guidance.region_at`).
- a **hold** is a scripted stillness on the roller (consecutive pauses merged) lasting at least
  `Guidance.hold_min_s`; the brief stop at the turn of a stroke is shorter and is not a hold.
- a **too-fast set** is a run of at least `Guidance.too_fast_min_strokes` consecutive strokes
  (no hold in between) each faster than `Guidance.too_fast_pace_cm_s`.
- **on-roller time** is the time of on_roller phases (strokes, pauses, hip lifts); **rolling
  time** is the time of strokes; **time per region** counts on-roller time by the contact's region.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from tracker import __version__
from tracker.guidance import REGIONS, Guidance
from tracker.imu import MountingCalibration
from tracker.results import Hold, Phase, SessionAnalysis, Stroke
from tracker.simulate.script import SessionScript, Timeline


@dataclass
class GroundTruth:
    """Exact truth behind a `SimulatedSession`. Times in s from the first sample, positions in cm
    along the back from the hips, paces in cm/s of the contact point."""

    strokes: list[Stroke]
    holds: list[Hold]
    phases: list[Phase]
    too_fast_spans: list[tuple[float, float]]
    """(start_s, end_s) of each too-fast set (see the module docstring)."""
    t_s: np.ndarray
    """(N,) the full-rate sample times (before any packet loss)."""
    position_cm: np.ndarray
    """(N,) contact position along the back from the hips; NaN when not on the roller."""
    pitch_deg: np.ndarray
    """(N,) torso pitch: elevation of the superior axis above horizontal (90 standing). Excludes
    the chest wall's breathing tilt and the roll, which do not change the torso's pitch."""
    roll_deg: np.ndarray
    """(N,) rocking about the long axis (not part of pitch)."""
    roller_diameter_cm: float
    hip_to_neck_cm: float
    sensor_to_body: np.ndarray
    """(3, 3) the strap's rotation: v_body = sensor_to_body @ v_sensor (the true calibration)."""
    gyro_bias_rad_s: np.ndarray
    accel_bias_m_s2: np.ndarray
    duration_s: float
    on_roller_s: float
    rolling_s: float
    region_time_s: dict[str, float]
    """On-roller time by the contact's region (holds included)."""
    region_rolling_s: dict[str, float]
    """Stroke time by the contact's region."""
    posture: str | None
    """Posture on the roller: hips_down, bridge, mixed, or None if never on the roller."""
    guidance: Guidance
    script: SessionScript
    sampling_rate_hz: float
    seed: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def calibration(self) -> MountingCalibration:
        """The true mounting, as the analysis would receive it from pairing."""
        return MountingCalibration(np.array(self.sensor_to_body), source="simulator")

    @property
    def mean_pace_cm_s(self) -> float:
        """Stroke-time-weighted mean pace (the analysis summary's definition)."""
        total = sum(s.duration_s for s in self.strokes)
        return sum(s.distance_cm for s in self.strokes) / total if total > 0 else 0.0

    def position_at(self, t_s: np.ndarray | float) -> np.ndarray:
        """Contact position (cm) at arbitrary times, linearly interpolated (NaN off the roller)."""
        return np.interp(t_s, self.t_s, self.position_cm)

    def expected_warning_kinds(self) -> set[str]:
        """Warning kinds the truth calls for under `guidance` (what a perfect analysis warns)."""
        return self.guidance.warning_kinds(
            too_fast=bool(self.too_fast_spans),
            hold_durations_s=[h.duration_s for h in self.holds],
            region_time_s=self.region_time_s,
            on_roller_s=self.on_roller_s,
        )

    def to_analysis(self) -> SessionAnalysis:
        """The truth as a `SessionAnalysis` (no warnings): what a perfect analysis would report."""
        step = max(1, int(round(self.sampling_rate_hz / 2.0)))
        track = [
            (float(t), float(p))
            for t, p in zip(self.t_s[::step], self.position_cm[::step], strict=True)
            if np.isfinite(p)
        ]
        return SessionAnalysis(
            duration_s=self.duration_s,
            on_roller_s=self.on_roller_s,
            rolling_s=self.rolling_s,
            strokes=list(self.strokes),
            holds=list(self.holds),
            phases=list(self.phases),
            region_time_s=dict(self.region_time_s),
            position_track=track,
            posture=self.posture,
            parameters={"guidance": self.guidance.to_json(), "source": "simulator ground truth"},
            tracker_version=__version__,
        )

    def to_json(self, *, track_rate_hz: float | None = 10.0) -> dict[str, Any]:
        """A JSON-ready document (fixtures keep it beside each capture).

        track_rate_hz: decimate the position/pitch tracks to about this rate (None leaves them
        out). Floats are rounded to 4 decimals in tracks, 6 elsewhere.
        """
        out: dict[str, Any] = {
            "format": "tracker.simulate.GroundTruth/1",
            "tracker_version": __version__,
            "seed": self.seed,
            "sampling_rate_hz": self.sampling_rate_hz,
            "duration_s": round(self.duration_s, 6),
            "on_roller_s": round(self.on_roller_s, 6),
            "rolling_s": round(self.rolling_s, 6),
            "mean_pace_cm_s": round(self.mean_pace_cm_s, 6),
            "posture": self.posture,
            "roller_diameter_cm": self.roller_diameter_cm,
            "hip_to_neck_cm": self.hip_to_neck_cm,
            "sensor_to_body": np.asarray(self.sensor_to_body).round(9).tolist(),
            "gyro_bias_rad_s": np.asarray(self.gyro_bias_rad_s).round(9).tolist(),
            "accel_bias_m_s2": np.asarray(self.accel_bias_m_s2).round(9).tolist(),
            "region_time_s": {k: round(v, 6) for k, v in self.region_time_s.items()},
            "region_rolling_s": {k: round(v, 6) for k, v in self.region_rolling_s.items()},
            "strokes": [_rounded(asdict(s)) for s in self.strokes],
            "holds": [_rounded(asdict(h)) for h in self.holds],
            "phases": [_rounded(asdict(p)) for p in self.phases],
            "too_fast_spans": [[round(a, 6), round(b, 6)] for a, b in self.too_fast_spans],
            "expected_warning_kinds": sorted(self.expected_warning_kinds()),
            "guidance": self.guidance.to_json(),
            "script": self.script.to_json(),
            "extra": self.extra,
        }
        if track_rate_hz:
            step = max(1, int(round(self.sampling_rate_hz / track_rate_hz)))
            pos = self.position_cm[::step]
            out["track"] = {
                "t_s": np.round(self.t_s[::step], 4).tolist(),
                "position_cm": [None if not np.isfinite(p) else round(float(p), 4) for p in pos],
                "pitch_deg": np.round(self.pitch_deg[::step], 4).tolist(),
                "roll_deg": np.round(self.roll_deg[::step], 4).tolist(),
            }
        return out

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> GroundTruth:
        """Read `to_json`'s document back (tracks at their stored rate)."""
        track = obj.get("track") or {"t_s": [], "position_cm": [], "pitch_deg": [], "roll_deg": []}
        pos = np.array([np.nan if p is None else p for p in track["position_cm"]], dtype=float)
        return cls(
            strokes=[Stroke(**s) for s in obj["strokes"]],
            holds=[Hold(**h) for h in obj["holds"]],
            phases=[Phase(**p) for p in obj["phases"]],
            too_fast_spans=[(float(a), float(b)) for a, b in obj["too_fast_spans"]],
            t_s=np.asarray(track["t_s"], dtype=float),
            position_cm=pos,
            pitch_deg=np.asarray(track["pitch_deg"], dtype=float),
            roll_deg=np.asarray(track["roll_deg"], dtype=float),
            roller_diameter_cm=float(obj["roller_diameter_cm"]),
            hip_to_neck_cm=float(obj["hip_to_neck_cm"]),
            sensor_to_body=np.asarray(obj["sensor_to_body"], dtype=float),
            gyro_bias_rad_s=np.asarray(obj["gyro_bias_rad_s"], dtype=float),
            accel_bias_m_s2=np.asarray(obj["accel_bias_m_s2"], dtype=float),
            duration_s=float(obj["duration_s"]),
            on_roller_s=float(obj["on_roller_s"]),
            rolling_s=float(obj["rolling_s"]),
            region_time_s=dict(obj["region_time_s"]),
            region_rolling_s=dict(obj["region_rolling_s"]),
            posture=obj.get("posture"),
            guidance=Guidance.from_json(obj["guidance"]),
            script=SessionScript.from_json(obj["script"]),
            sampling_rate_hz=float(obj["sampling_rate_hz"]),
            seed=obj.get("seed"),
            extra=dict(obj.get("extra", {})),
        )


def _rounded(d: dict[str, Any]) -> dict[str, Any]:
    return {k: round(v, 6) if isinstance(v, float) else v for k, v in d.items()}


def events_truth(
    timeline: Timeline, guidance: Guidance
) -> tuple[list[Stroke], list[Hold], list[Phase], list[tuple[float, float]]]:
    """Strokes, holds, phases and too-fast spans from the compiled script's events."""
    strokes: list[Stroke] = []
    holds: list[Hold] = []
    phases: list[Phase] = []
    pause: list[float] | None = None  # [start, end, position] of the pause being merged

    def close_pause() -> None:
        nonlocal pause
        if pause is not None and pause[1] - pause[0] >= guidance.hold_min_s:
            holds.append(
                Hold(
                    pause[0], pause[1], pause[1] - pause[0], pause[2], guidance.region_at(pause[2])
                )
            )
        pause = None

    for ev in timeline.events:
        if phases and phases[-1].kind == ev["phase"]:
            last = phases[-1]
            phases[-1] = Phase(last.kind, last.start_s, ev["end_s"])
        else:
            phases.append(Phase(ev["phase"], ev["start_s"], ev["end_s"]))
        if ev["kind"] == "pause":
            if pause is None:
                pause = [ev["start_s"], ev["end_s"], ev["start_cm"]]
            else:
                pause[1] = ev["end_s"]
            continue
        close_pause()
        if ev["kind"] == "stroke":
            a, b = ev["start_cm"], ev["end_cm"]
            dur = ev["end_s"] - ev["start_s"]
            strokes.append(
                Stroke(
                    start_s=ev["start_s"],
                    end_s=ev["end_s"],
                    distance_cm=abs(b - a),
                    pace_cm_s=abs(b - a) / dur,
                    region=guidance.region_at(0.5 * (a + b)),
                    direction="toward_head" if b > a else "toward_hips",
                    posture=ev["posture"],
                    start_cm=a,
                    end_cm=b,
                )
            )
    close_pause()
    return strokes, holds, phases, too_fast_spans(strokes, holds, guidance)


def too_fast_spans(
    strokes: list[Stroke], holds: list[Hold], guidance: Guidance
) -> list[tuple[float, float]]:
    """Runs of >= too_fast_min_strokes consecutive too-fast strokes not separated by a hold."""
    spans: list[tuple[float, float]] = []
    run: list[Stroke] = []
    hold_starts = np.array([h.start_s for h in holds])

    def flush() -> None:
        if len(run) >= guidance.too_fast_min_strokes:
            spans.append((run[0].start_s, run[-1].end_s))
        run.clear()

    for s in strokes:
        if s.pace_cm_s > guidance.too_fast_pace_cm_s:
            if run and np.any((hold_starts >= run[-1].end_s) & (hold_starts < s.start_s)):
                flush()
            run.append(s)
        else:
            flush()
    flush()
    return spans


def region_times(
    timeline: Timeline, contact_cm: Any, guidance: Guidance, step_s: float = 0.01
) -> tuple[dict[str, float], dict[str, float]]:
    """On-roller and stroke time per region, integrating the contact track on a fine grid.

    contact_cm: callable t_s -> contact position in cm (vectorised).
    """
    bounds = np.array([end for _name, _start, end in guidance.region_bounds_cm()][:-1])
    spans = [
        (e["start_s"], e["end_s"], e["kind"] == "stroke")
        for e in timeline.events
        if e["phase"] == "on_roller"
    ]
    on = dict.fromkeys(REGIONS, 0.0)
    rolling = dict.fromkeys(REGIONS, 0.0)
    if not spans:
        return on, rolling
    start, end, is_stroke = (np.array(x) for x in zip(*spans, strict=True))
    dur = end - start
    n = np.maximum(1, np.ceil(dur / step_s)).astype(int)
    owner = np.repeat(np.arange(len(spans)), n)
    k = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    weight = (dur / n)[owner]
    t_mid = start[owner] + (k + 0.5) * weight
    idx = np.searchsorted(bounds, contact_cm(t_mid), side="right")
    all_t = np.bincount(idx, weights=weight, minlength=len(REGIONS))
    stroke_t = np.bincount(idx, weights=weight * is_stroke[owner], minlength=len(REGIONS))
    for i, name in enumerate(REGIONS):
        on[name] = float(all_t[i])
        rolling[name] = float(stroke_t[i])
    return on, rolling


def dominant_posture(strokes: list[Stroke], timeline: Timeline) -> str | None:
    postures = {ev["posture"] for ev in timeline.events if ev["phase"] == "on_roller"}
    postures &= {"hips_down", "bridge"}
    if not postures:
        return None
    return postures.pop() if len(postures) == 1 else "mixed"

"""Ground truth of a model-2 session, in the analysis's own terms.

The definitions are the project's (the same as the first simulator's), written again here from
the plan:

- a **stroke** is one planned movement of the contact in one direction; its pace is the contact's
  distance along the back over the stroke's duration; its region the region at its midpoint;
- a **hold** is stillness on the roller (consecutive still pieces merged) lasting at least
  `Guidance.hold_min_s`; the dwell at a turn is shorter (the plan keeps it under 2 s);
- a **too-fast set** is a run of at least `Guidance.too_fast_min_strokes` consecutive strokes,
  no hold in between, each faster than `Guidance.too_fast_pace_cm_s`;
- **on-roller time** is the time of on-roller pieces (strokes, stillness, lifting and lowering
  the hips); **time per region** counts it by the contact's region.

Times are on the recording's clock (the sensor's, which runs off by a few ppm: the truth's
times are the plan's times scaled by it); paces are physical (distance over true duration).
`score_session` (tracker.analysis.evaluation) reads strokes, holds, too_fast_spans,
mean_pace_cm_s, region_time_s and on_roller_s.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from tracker import __version__
from tracker.guidance import REGIONS, Guidance
from tracker.imu import MountingCalibration
from tracker.results import Hold, Phase, SessionAnalysis, Stroke

ACTIVITIES = (
    "foam_rolling",
    "walking",
    "desk_sitting",
    "lying_still",
    "stretching",
    "carried",
    "on_table",
)


@dataclass
class Truth:
    """What really happened in a model-2 recording (times in s from the first sample, positions
    in cm along the back from the hips, paces in cm/s of the contact)."""

    activity: str
    strokes: list[Stroke]
    holds: list[Hold]
    phases: list[Phase]
    too_fast_spans: list[tuple[float, float]]
    duration_s: float
    on_roller_s: float
    rolling_s: float
    region_time_s: dict[str, float]
    posture: str | None
    guidance: Guidance
    sampling_rate_hz: float
    sensor_to_body: np.ndarray
    """(3, 3) the strap's rotation on the roller (after any slip): v_body = R @ v_sensor."""
    t_s: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """(N,) the recording's sample times."""
    position_cm: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """(N,) contact along the back; NaN off the roller."""
    pitch_deg: np.ndarray = field(default_factory=lambda: np.zeros(0))
    """(N,) the trunk chord's elevation (90 standing)."""
    seed: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_foam_rolling(self) -> bool:
        return self.activity == "foam_rolling"

    @property
    def calibration(self) -> MountingCalibration:
        """The true mounting on the roller, as a perfect pairing would give it."""
        return MountingCalibration(np.array(self.sensor_to_body), source="model2")

    @property
    def mean_pace_cm_s(self) -> float:
        """Stroke-time-weighted mean pace (the analysis summary's definition)."""
        total = sum(s.duration_s for s in self.strokes)
        return sum(s.pace_cm_s * s.duration_s for s in self.strokes) / total if total > 0 else 0.0

    def expected_warning_kinds(self) -> set[str]:
        """Warning kinds a perfect analysis would give under `guidance`."""
        return self.guidance.warning_kinds(
            too_fast=bool(self.too_fast_spans),
            hold_durations_s=[h.duration_s for h in self.holds],
            region_time_s=self.region_time_s,
            on_roller_s=self.on_roller_s,
        )

    def to_analysis(self) -> SessionAnalysis:
        """The truth as a `SessionAnalysis`: what a perfect analysis would report."""
        return SessionAnalysis(
            duration_s=self.duration_s,
            on_roller_s=self.on_roller_s,
            rolling_s=self.rolling_s,
            strokes=list(self.strokes),
            holds=list(self.holds),
            phases=list(self.phases),
            region_time_s=dict(self.region_time_s),
            posture=self.posture,
            parameters={"guidance": self.guidance.to_json(), "source": "model 2 ground truth"},
            tracker_version=__version__,
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready summary (no sample tracks)."""

        def rounded(d: dict[str, Any]) -> dict[str, Any]:
            return {k: round(v, 6) if isinstance(v, float) else v for k, v in d.items()}

        return {
            "format": "tracker.multibody.Truth/1",
            "activity": self.activity,
            "seed": self.seed,
            "sampling_rate_hz": self.sampling_rate_hz,
            "duration_s": round(self.duration_s, 6),
            "on_roller_s": round(self.on_roller_s, 6),
            "rolling_s": round(self.rolling_s, 6),
            "mean_pace_cm_s": round(self.mean_pace_cm_s, 6),
            "posture": self.posture,
            "region_time_s": {k: round(v, 6) for k, v in self.region_time_s.items()},
            "strokes": [rounded(asdict(s)) for s in self.strokes],
            "holds": [rounded(asdict(h)) for h in self.holds],
            "phases": [rounded(asdict(p)) for p in self.phases],
            "too_fast_spans": [[round(a, 6), round(b, 6)] for a, b in self.too_fast_spans],
            "sensor_to_body": np.asarray(self.sensor_to_body).round(9).tolist(),
            "guidance": self.guidance.to_json(),
            "extra": self.extra,
        }


def not_rolling_truth(
    activity: str,
    duration_s: float,
    rate_hz: float,
    phase: str,
    seed: int | None,
    extra: dict[str, Any],
) -> Truth:
    """The truth of a recording with no foam rolling in it: no strokes, no holds."""
    return Truth(
        activity=activity,
        strokes=[],
        holds=[],
        phases=[Phase(phase, 0.0, duration_s)],
        too_fast_spans=[],
        duration_s=duration_s,
        on_roller_s=0.0,
        rolling_s=0.0,
        region_time_s=dict.fromkeys(REGIONS, 0.0),
        posture=None,
        guidance=Guidance(),
        sampling_rate_hz=rate_hz,
        sensor_to_body=np.eye(3),
        seed=seed,
        extra=extra,
    )


def fast_sets(
    strokes: list[Stroke], holds: list[Hold], guidance: Guidance
) -> list[tuple[float, float]]:
    """(start, end) of each run of >= too_fast_min_strokes consecutive strokes faster than
    too_fast_pace_cm_s, a hold between two strokes ending the run."""
    spans: list[tuple[float, float]] = []
    run: list[Stroke] = []
    hold_starts = sorted(h.start_s for h in holds)

    def close() -> None:
        if len(run) >= guidance.too_fast_min_strokes:
            spans.append((run[0].start_s, run[-1].end_s))
        run.clear()

    for stroke in strokes:
        if stroke.pace_cm_s <= guidance.too_fast_pace_cm_s:
            close()
            continue
        if run and any(run[-1].end_s <= h < stroke.start_s for h in hold_starts):
            close()
        run.append(stroke)
    close()
    return spans


def rolling_truth(motion: Any, guidance: Guidance, clock_scale: float) -> dict[str, Any]:
    """Strokes, holds, phases, too-fast sets and time per region from a compiled `Motion`."""
    plan = motion.plan
    t0 = motion.piece_t0 * clock_scale
    t1 = motion.piece_t1 * clock_scale
    f = motion._arrays[0]
    strokes: list[Stroke] = []
    holds: list[Hold] = []
    phases: list[Phase] = []
    still: list[float] | None = None  # [start, end, position_cm]

    def close_still() -> None:
        nonlocal still
        if still is not None and still[1] - still[0] >= guidance.hold_min_s:
            holds.append(
                Hold(
                    still[0], still[1], still[1] - still[0], still[2], guidance.region_at(still[2])
                )
            )
        still = None

    from tracker.multibody.plan import PIECE_KINDS

    for i, piece in enumerate(plan.pieces):
        phase = PIECE_KINDS[piece.kind][1]
        if phases and phases[-1].kind == phase:
            phases[-1] = Phase(phase, phases[-1].start_s, float(t1[i]))
        else:
            phases.append(Phase(phase, float(t0[i]), float(t1[i])))
        if piece.kind == "still":
            pos = 100.0 * float(f["s0"][i])
            if still is None:
                still = [float(t0[i]), float(t1[i]), pos]
            else:
                still[1] = float(t1[i])
            continue
        close_still()
        if piece.kind == "stroke":
            a, b = 100.0 * float(f["s0"][i]), 100.0 * float(f["s1"][i])
            dist = abs(b - a)
            strokes.append(
                Stroke(
                    start_s=float(t0[i]),
                    end_s=float(t1[i]),
                    distance_cm=dist,
                    pace_cm_s=dist / piece.duration_s,
                    region=guidance.region_at(0.5 * (a + b)),
                    direction="toward_head" if b > a else "toward_hips",
                    posture=motion.piece_posture[i] or "hips_down",
                    start_cm=a,
                    end_cm=b,
                )
            )
    close_still()
    on = [i for i, p in enumerate(plan.pieces) if PIECE_KINDS[p.kind][1] == "on_roller"]
    region_time = dict.fromkeys(REGIONS, 0.0)
    if on:
        grid_parts, weight_parts = [], []
        for i in on:
            a, b = float(motion.piece_t0[i]), float(motion.piece_t1[i])
            n = max(1, int(np.ceil((b - a) / 0.01)))
            grid_parts.append(a + (np.arange(n) + 0.5) * (b - a) / n)
            weight_parts.append(np.full(n, (b - a) / n))
        grid, weight = np.concatenate(grid_parts), np.concatenate(weight_parts)
        bounds = np.array([hi for _n, _lo, hi in guidance.region_bounds_cm()][:-1])
        idx = np.searchsorted(bounds, 100.0 * motion.contact(grid), side="right")
        sums = np.bincount(idx, weights=weight * clock_scale, minlength=len(REGIONS))
        region_time = {name: float(sums[k]) for k, name in enumerate(REGIONS)}
    postures = {s.posture for s in strokes} or {motion.piece_posture[i] for i in on} - {None}
    posture = None if not postures else (postures.pop() if len(postures) == 1 else "mixed")
    return {
        "strokes": strokes,
        "holds": holds,
        "phases": phases,
        "too_fast_spans": fast_sets(strokes, holds, guidance),
        "on_roller_s": float(sum((t1[i] - t0[i]) for i in on)),
        "rolling_s": float(sum(s.duration_s for s in strokes)),
        "region_time_s": region_time,
        "posture": posture,
    }

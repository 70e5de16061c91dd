"""What an analysed session is: the contract between analysis, history, reports and live view.

Plain dataclasses with no heavy imports, so the history and report layers can use them without
pulling in scipy. Times are seconds from the first sample; positions are centimetres along the
back from the hips (an estimate); paces are of the roller's contact point along the back.

For notebooks, `SessionAnalysis` gives its lists as pandas DataFrames (`strokes_frame()`,
`holds_frame()`, `warnings_frame()`, `phases_frame()`, `track_frame()`), with the column names
of the session store and the export (`tracker.history`), one row per item, `idx` its place in
the session; pandas is imported only when a frame is asked for.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

WARNING_KINDS = ("too_fast", "hold_too_long", "region_overuse", "session_too_long", "lumbar")
POSTURES = ("hips_down", "bridge")
PHASES = ("upright", "sitting", "on_roller", "transition", "lying", "unknown")

ACTIVITIES = ("foam_rolling", "not_rolling")
"""`SessionAnalysis.activity`: what the recording is."""
OTHER_ACTIVITIES = ("walking", "carried", "on_table", "sitting", "lying_still", "stretching")
"""`ActivitySpan.kind`: what a stretch of a recording was instead of foam rolling."""
TRUST = ("good", "rough", "unreliable")
"""How far a number can be trusted (`Uncertainty.pace_trust`, `position_trust`)."""

STROKE_COLUMNS = (
    "idx", "start_s", "end_s", "duration_s", "distance_cm", "pace_cm_s", "region", "direction",
    "posture", "start_cm", "end_cm", "pace_pm_cm_s", "snr",
)  # fmt: skip
"""Columns of `SessionAnalysis.strokes_frame()`, as the store's strokes table and the export."""
HOLD_COLUMNS = ("idx", "start_s", "end_s", "duration_s", "position_cm", "region", "position_pm_cm")
WARNING_COLUMNS = ("idx", "kind", "start_s", "end_s", "message", "value")
PHASE_COLUMNS = ("idx", "kind", "start_s", "end_s")


@dataclass(frozen=True)
class Stroke:
    """One movement of the roller in one direction along the back."""

    start_s: float
    end_s: float
    distance_cm: float
    pace_cm_s: float
    region: str
    direction: str = "toward_head"  # or "toward_hips"
    posture: str = "hips_down"
    start_cm: float | None = None
    end_cm: float | None = None
    pace_pm_cm_s: float | None = None
    """Uncertainty of `pace_cm_s`: the half-width of the interval that holds the true pace of
    about 80 % of strokes (`tracker.analysis.uncertainty`); None when not assessed."""
    snr: float | None = None
    """How clearly the stroke stands out of the noise it was measured against (a bridge
    stroke's fitted acceleration amplitude over the rms of what the fit leaves); None when not
    measured. Below about 2 the stroke may be noise (`tracker.analysis.uncertainty`)."""

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class Hold:
    """Stillness on the roller of at least `Guidance.hold_min_s`: a pause over a tender spot."""

    start_s: float
    end_s: float
    duration_s: float
    position_cm: float
    region: str
    position_pm_cm: float | None = None
    """Uncertainty of `position_cm`: the half-width of the interval that holds the true contact
    about 80 % of the time (`tracker.analysis.uncertainty`); None when not assessed."""


@dataclass(frozen=True)
class SessionWarning:
    """Something the person should change, with the time span it applies to."""

    kind: str
    start_s: float
    end_s: float
    message: str
    value: float | None = None
    """The measured quantity behind the warning (pace, seconds...), in the unit of its threshold."""


@dataclass(frozen=True)
class Phase:
    """A span of one posture phase (upright, sitting, on_roller, transition, ...)."""

    kind: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class ActivitySpan:
    """A stretch of the recording that was something other than foam rolling (walking, the
    sensor on a table, ...): nothing in it counts as rolling (`tracker.analysis.activity`)."""

    kind: str
    """One of `OTHER_ACTIVITIES`."""
    start_s: float
    end_s: float
    reason: str
    """What was seen, in words: "walking (steps at 1.8 Hz)"."""


@dataclass(frozen=True)
class Uncertainty:
    """How far the session's numbers can be trusted (`tracker.analysis.uncertainty`).

    Each ± is the half-width of an interval around the reported number meant to hold the truth
    in about `coverage` of cases: of sessions for the mean pace, of the time on the roller for
    positions. BENCHMARKS.md has how often it did on both motion models.
    """

    mean_pace_pm_cm_s: float | None
    """± of `SessionAnalysis.mean_pace_cm_s`, cm/s (None without strokes)."""
    mean_pace_pm_rel: float | None
    """The same as a share of the mean pace."""
    position_pm_cm: float | None
    """± of the contact position along the back, cm: the median over the time on the roller
    (None when nothing was on the roller)."""
    position_pm_by_posture_cm: dict[str, float] = field(default_factory=dict)
    """The same per posture (hips_down, bridge)."""
    pace_trust: str = "good"
    """"good", "rough" (± over 30 % of the pace) or "unreliable" (over 60 %)."""
    position_trust: str = "good"
    """"good", "rough" (± over 6 cm) or "unreliable" (over 12 cm: a region or more)."""
    caveats: list[str] = field(default_factory=list)
    """What makes the numbers uncertain, in words, largest first."""
    inputs: dict[str, Any] = field(default_factory=dict)
    """What the assessment was based on (calibration, roller diameter and its source, sampling
    rate, measured noise, gaps, gyroscope), for provenance."""
    coverage: float = 0.8

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("mean_pace_pm_cm_s", "mean_pace_pm_rel", "position_pm_cm"):
            if d[k] is not None:
                d[k] = round(float(d[k]), 3)
        d["position_pm_by_posture_cm"] = {k: round(float(v), 2) for k, v in self.position_pm_by_posture_cm.items()}
        return d

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Uncertainty:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in obj.items() if k in names})


@dataclass
class SessionAnalysis:
    """Everything `tracker analyze` reports about one session."""

    duration_s: float
    on_roller_s: float
    rolling_s: float
    strokes: list[Stroke] = field(default_factory=list)
    holds: list[Hold] = field(default_factory=list)
    warnings: list[SessionWarning] = field(default_factory=list)
    phases: list[Phase] = field(default_factory=list)
    region_time_s: dict[str, float] = field(default_factory=dict)
    position_track: list[tuple[float, float]] = field(default_factory=list)
    """(t_s, position_cm) at about 2 Hz while on the roller: the timeline chart's line."""
    posture: str | None = None
    """Dominant posture on the roller: hips_down, bridge, or mixed."""
    parameters: dict[str, Any] = field(default_factory=dict)
    """Analysis parameters and guidance thresholds that produced this result (provenance)."""
    tracker_version: str = ""
    notes: list[str] = field(default_factory=list)
    """Documented handling that happened (gaps bridged, calibration inferred, ...)."""
    activity: str = "foam_rolling"
    """"foam_rolling", or "not_rolling" when nothing in the recording was foam rolling (then
    there are no strokes, holds or warnings, and `activity_reason` says what it was)."""
    activity_reason: str | None = None
    """For "not_rolling": what the recording was instead, in words."""
    other_activities: list[ActivitySpan] = field(default_factory=list)
    """Stretches that were something else (walking before rolling, ...): they count nowhere."""
    uncertainty: Uncertainty | None = None
    """How far the numbers can be trusted; None for an analysis that did not assess it."""

    @property
    def is_rolling(self) -> bool:
        return self.activity != "not_rolling"

    @property
    def mean_pace_cm_s(self) -> float:
        """Mean pace weighted by stroke time (0 when there are no strokes)."""
        total = sum(s.duration_s for s in self.strokes)
        if total <= 0:
            return 0.0
        return sum(s.pace_cm_s * s.duration_s for s in self.strokes) / total

    def too_fast_fraction(self, too_fast_pace_cm_s: float) -> float:
        """Share of stroke time above `too_fast_pace_cm_s`."""
        total = sum(s.duration_s for s in self.strokes)
        if total <= 0:
            return 0.0
        return sum(s.duration_s for s in self.strokes if s.pace_cm_s > too_fast_pace_cm_s) / total

    def to_json(self) -> dict[str, Any]:
        """The `tracker analyze --json` document (holds are called `pauses` there)."""
        too_fast = float(self.parameters.get("guidance", {}).get("too_fast_pace_cm_s", 5.0))
        return {
            "duration_s": round(self.duration_s, 3),
            "on_roller_s": round(self.on_roller_s, 3),
            "rolling_s": round(self.rolling_s, 3),
            "posture": self.posture,
            "strokes": [_rounded(asdict(s)) for s in self.strokes],
            "pauses": [_rounded(asdict(h)) for h in self.holds],
            "warnings": [_rounded(asdict(w)) for w in self.warnings],
            "phases": [_rounded(asdict(p)) for p in self.phases],
            "region_time_s": {k: round(v, 3) for k, v in self.region_time_s.items()},
            "activity": self.activity,
            "activity_reason": self.activity_reason,
            "other_activities": [_rounded(asdict(a)) for a in self.other_activities],
            "summary": {
                "strokes": len(self.strokes),
                "pauses": len(self.holds),
                "mean_pace_cm_s": round(self.mean_pace_cm_s, 3),
                "mean_pace_pm_cm_s": (
                    None
                    if self.uncertainty is None or self.uncertainty.mean_pace_pm_cm_s is None
                    else round(self.uncertainty.mean_pace_pm_cm_s, 3)
                ),
                "too_fast_fraction": round(self.too_fast_fraction(too_fast), 4),
                "warnings": len(self.warnings),
            },
            "uncertainty": None if self.uncertainty is None else self.uncertainty.to_json(),
            "parameters": self.parameters,
            "tracker_version": self.tracker_version,
            "notes": list(self.notes),
        }

    # --- as pandas DataFrames (notebooks) --------------------------------------------------------
    def strokes_frame(self) -> pd.DataFrame:
        """One row per stroke: `STROKE_COLUMNS` (s, cm, cm/s; region, direction, posture;
        `pace_pm_cm_s` the pace's ±)."""
        return _frame(self.strokes, STROKE_COLUMNS)

    def holds_frame(self) -> pd.DataFrame:
        """One row per hold: `HOLD_COLUMNS` (s, cm; region; `position_pm_cm` the position's ±)."""
        return _frame(self.holds, HOLD_COLUMNS)

    def warnings_frame(self) -> pd.DataFrame:
        """One row per warning: `WARNING_COLUMNS` (`value` in the unit of its threshold)."""
        return _frame(self.warnings, WARNING_COLUMNS)

    def phases_frame(self) -> pd.DataFrame:
        """One row per phase (upright, sitting, transition, on_roller, unknown): `PHASE_COLUMNS`."""
        return _frame(self.phases, PHASE_COLUMNS)

    def track_frame(self) -> pd.DataFrame:
        """The timeline's line: t_s (s) and position_cm (cm), about 2 points a second on the roller."""
        import pandas as pd

        return pd.DataFrame(self.position_track, columns=["t_s", "position_cm"], dtype=float)

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> SessionAnalysis:
        return cls(
            duration_s=float(obj["duration_s"]),
            on_roller_s=float(obj["on_roller_s"]),
            rolling_s=float(obj["rolling_s"]),
            strokes=[Stroke(**s) for s in obj.get("strokes", [])],
            holds=[Hold(**h) for h in obj.get("pauses", [])],
            warnings=[SessionWarning(**w) for w in obj.get("warnings", [])],
            phases=[Phase(**p) for p in obj.get("phases", [])],
            region_time_s=dict(obj.get("region_time_s", {})),
            position_track=[tuple(p) for p in obj.get("position_track", [])],
            posture=obj.get("posture"),
            parameters=dict(obj.get("parameters", {})),
            tracker_version=str(obj.get("tracker_version", "")),
            notes=list(obj.get("notes", [])),
            activity=str(obj.get("activity") or "foam_rolling"),
            activity_reason=obj.get("activity_reason"),
            other_activities=[ActivitySpan(**a) for a in obj.get("other_activities", [])],
            uncertainty=Uncertainty.from_json(obj["uncertainty"]) if obj.get("uncertainty") else None,
        )


def _frame(items: list[Any], columns: tuple[str, ...]) -> pd.DataFrame:
    import pandas as pd

    rows = []
    for idx, item in enumerate(items):
        row = {f.name: getattr(item, f.name) for f in fields(item)}
        row["idx"] = idx
        if "duration_s" in columns and "duration_s" not in row:
            row["duration_s"] = item.end_s - item.start_s
        rows.append(row)
    return pd.DataFrame(rows, columns=list(columns))


def _rounded(d: dict[str, Any]) -> dict[str, Any]:
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in d.items()}

"""Guidance numbers: the defaults behind every warning, each one configurable.

Every default, its unit, what it changes and where it comes from is in `docs/guidance.md` (the
"1 inch per second" rule for pace, physiotherapy guidance for holds, foam-rolling protocol reviews
for time per region, the acute:chronic load ratio for weeks); `SETTING_DOCS` holds the same words
for `tracker config`, and a test keeps the two in step.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

GUIDANCE_DOC = "docs/guidance.md"
"""Where every default is explained with its source (in the repository and the source package)."""

REGIONS = ("lumbar", "lower_thoracic", "mid_thoracic", "upper_thoracic")
"""Regions along the back, from the hips toward the neck."""

ROLLER_DIAMETER_RANGE_CM = (4.0, 40.0)
"""Foam rollers and massage balls, from a small ball to a large roller: the one range every
command and the settings accept."""

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class Guidance:
    """Thresholds for warnings and goals. Units are in the names."""

    # pace of the contact point along the back
    target_pace_cm_s: float = 2.5
    too_fast_pace_cm_s: float = 5.0
    too_fast_min_strokes: int = 2
    # holds over tender spots
    hold_min_s: float = 3.0
    hold_target_min_s: float = 20.0
    hold_target_max_s: float = 30.0
    hold_too_long_s: float = 60.0
    # per session
    region_budget_s: float = 120.0
    session_too_long_s: float = 30 * 60.0
    warn_lumbar: bool = True
    # body geometry (estimates; report positions as estimates)
    roller_diameter_cm: float = 15.0
    hip_to_neck_cm: float = 50.0
    lumbar_fraction: float = 1.0 / 3.0
    # weeks
    goal_sessions_per_week: int = 3
    max_sessions_per_day: int = 2
    acwr_high: float = 1.5
    acwr_normal_low: float = 0.8
    acwr_normal_high: float = 1.3
    region_weekly_budget_s: float = 10 * 60.0
    week_start: str = "monday"

    def with_overrides(self, **changes: Any) -> Guidance:
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown guidance setting(s): {', '.join(sorted(unknown))}")
        return replace(self, **changes)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Guidance:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in obj.items() if k in known})

    def region_bounds_cm(self) -> list[tuple[str, float, float]]:
        """(region, start_cm, end_cm) along the back measured from the hips."""
        lumbar_end = self.hip_to_neck_cm * self.lumbar_fraction
        step = (self.hip_to_neck_cm - lumbar_end) / 3.0
        return [
            ("lumbar", 0.0, lumbar_end),
            ("lower_thoracic", lumbar_end, lumbar_end + step),
            ("mid_thoracic", lumbar_end + step, lumbar_end + 2 * step),
            ("upper_thoracic", lumbar_end + 2 * step, self.hip_to_neck_cm),
        ]

    def region_at(self, position_cm: float) -> str:
        """The region at `position_cm` from the hips (clamped to the ends)."""
        for name, _start, end in self.region_bounds_cm():
            if position_cm < end:
                return name
        return REGIONS[-1]

    def warning_kinds(
        self, *, too_fast: bool, hold_durations_s: Any, region_time_s: dict[str, float], on_roller_s: float
    ) -> set[str]:
        """The warning kinds these rules call for in a session that had a too-fast set
        (`too_fast`), holds of these durations, this time per region and on the roller: what a
        perfect analysis warns (the motion models' truths use it)."""
        kinds: set[str] = set()
        if too_fast:
            kinds.add("too_fast")
        if any(d > self.hold_too_long_s for d in hold_durations_s):
            kinds.add("hold_too_long")
        if any(v > self.region_budget_s for v in region_time_s.values()):
            kinds.add("region_overuse")
        if on_roller_s > self.session_too_long_s:
            kinds.add("session_too_long")
        if self.warn_lumbar and region_time_s.get("lumbar", 0.0) > 0.0:
            kinds.add("lumbar")
        return kinds


SETTING_RANGES: dict[str, tuple[float, float, str]] = {
    # name: (lowest, highest, unit). Wide enough for any person and roller, narrow enough that a
    # typo (0, 1000, a misplaced decimal point) is caught before analysis runs on it.
    "target_pace_cm_s": (0.5, 20.0, "cm/s"),
    "too_fast_pace_cm_s": (1.0, 50.0, "cm/s"),
    "too_fast_min_strokes": (1, 20, "strokes"),
    "hold_min_s": (1.0, 60.0, "s"),
    "hold_target_min_s": (1.0, 300.0, "s"),
    "hold_target_max_s": (1.0, 600.0, "s"),
    "hold_too_long_s": (10.0, 1800.0, "s"),
    "region_budget_s": (10.0, 3600.0, "s"),
    "session_too_long_s": (60.0, 4 * 3600.0, "s"),
    "roller_diameter_cm": (*ROLLER_DIAMETER_RANGE_CM, "cm"),
    "hip_to_neck_cm": (25.0, 90.0, "cm"),
    "lumbar_fraction": (0.1, 0.6, "of the hip-to-neck length"),
    "goal_sessions_per_week": (1, 21, "sessions"),
    "max_sessions_per_day": (1, 10, "sessions"),
    "acwr_high": (1.0, 5.0, ""),
    "acwr_normal_low": (0.1, 2.0, ""),
    "acwr_normal_high": (0.5, 5.0, ""),
    "region_weekly_budget_s": (60.0, 20 * 3600.0, "s"),
}
"""The allowed range of every numeric setting."""

SETTING_ORDER: tuple[tuple[str, str, bool], ...] = (
    # (smaller, larger, strictly): settings that only make sense in this order
    ("target_pace_cm_s", "too_fast_pace_cm_s", True),
    ("hold_min_s", "hold_target_min_s", False),
    ("hold_target_min_s", "hold_target_max_s", False),
    ("hold_target_max_s", "hold_too_long_s", True),
    ("acwr_normal_low", "acwr_normal_high", True),
    ("acwr_normal_high", "acwr_high", False),
)


def _num(value: float) -> str:
    return f"{value:g}"


def _with_unit(value: float, unit: str) -> str:
    return f"{_num(value)} {unit}" if unit and not unit.startswith("of ") else _num(value)


def setting_range_text(name: str) -> str:
    """"between 4 and 40 cm" for a numeric setting."""
    low, high, unit = SETTING_RANGES[name]
    return f"between {_num(low)} and {_with_unit(high, unit)}"


def setting_problem(name: str, value: Any) -> str | None:
    """Why `value` cannot be the setting `name` on its own (type, finite, range), or None."""
    default = getattr(Guidance(), name)
    if isinstance(default, bool):
        return None if isinstance(value, bool) else f"{name} must be true or false, not {value!r}"
    if isinstance(default, str):
        if name == "week_start" and value not in WEEKDAYS:
            return f"week_start must be a day of the week, not {value!r}"
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"{name} must be a number, not {value!r}"
    if isinstance(default, int) and not float(value).is_integer():
        return f"{name} must be a whole number, not {_num(value)}"
    low, high, unit = SETTING_RANGES[name]
    if not math.isfinite(value):
        return f"{name} must be a finite number {setting_range_text(name)}, not {value}"
    if value < 0:
        return f"{name} cannot be negative ({_num(value)}); it must be {setting_range_text(name)}"
    if not low <= value <= high:
        return f"{name} must be {setting_range_text(name)}, not {_num(value)}"
    return None


def guidance_problem(guidance: Guidance, changed: str | None = None) -> str | None:
    """Why these settings do not work (one out of range, or two in the wrong order), or None.

    `changed` names the setting just changed, so the message about an order starts from it."""
    for f in fields(guidance):
        problem = setting_problem(f.name, getattr(guidance, f.name))
        if problem is not None:
            return problem
    for small, large, strict in SETTING_ORDER:
        a, b = getattr(guidance, small), getattr(guidance, large)
        if a < b or (not strict and a == b):
            continue
        unit = SETTING_RANGES[small][2]
        relation = "less than" if strict else "at most"
        if changed == large:
            relation = "more than" if strict else "at least"
            return (
                f"{large} ({_with_unit(b, unit)}) must be {relation} {small} ({_with_unit(a, unit)})"
            )
        return f"{small} ({_with_unit(a, unit)}) must be {relation} {large} ({_with_unit(b, unit)})"
    return None


@dataclass(frozen=True)
class SettingDoc:
    """What a setting means for a person: its unit, what it changes, and where its default comes
    from (the short form; the bracketed keys name the full sources in `GUIDANCE_DOC`)."""

    unit: str
    changes: str
    source: str


SETTING_DOCS: dict[str, SettingDoc] = {
    # The same words as the table in docs/guidance.md (tests/pipeline/test_config_table.py checks).
    "target_pace_cm_s": SettingDoc("cm/s", "the middle of the pace gauge's green band and the target line on the pace chart", 'the "one inch per second" rule [pace]'),
    "too_fast_pace_cm_s": SettingDoc("cm/s", "strokes faster than this count as too fast (warning, gauge's red zone, weekly too-fast share)", "twice the one-inch rule; rolling to a fast metronome was faster still [pace] [fast]"),
    "too_fast_min_strokes": SettingDoc("strokes", "how many too-fast strokes in a row raise a warning", "a sustained pace, not one quick stroke [fast]"),
    "hold_min_s": SettingDoc("s", "the shortest stillness on the roller that counts as a hold (shorter ones are the turn of a stroke)", "tracker's choice: longer than the stop at a stroke's turn [detect]"),
    "hold_target_min_s": SettingDoc("s", "start of the hold timer's target band", "holds of 20–30 s are typical (10–45 s range) [hold]"),
    "hold_target_max_s": SettingDoc("s", "end of the hold timer's target band", "holds of 20–30 s are typical (10–45 s range) [hold]"),
    "hold_too_long_s": SettingDoc("s", "a hold longer than this is warned about", "2–3 min on one spot is reported to bruise [bruise]"),
    "region_budget_s": SettingDoc("s", "time on one region in one session above which it is warned about", "protocols use 1–3 sets of 30–120 s per area [protocols]"),
    "session_too_long_s": SettingDoc("s", "time on the roller in one session above which it is warned about", "sessions run 10–20 min; decompression sessions around 30 min [session]"),
    "warn_lumbar": SettingDoc("", "whether rolling the lower back is warned about", "widely advised against; a duo ball is kinder there [lumbar]"),
    "roller_diameter_cm": SettingDoc("cm", "turns the torso's pitch into the roller's position along your back (hips-down posture)", "a runner's smooth roller is about 15 cm across [roller]"),
    "hip_to_neck_cm": SettingDoc("cm", "the length of back the regions divide (positions, regions, the back bar)", "an adult's estimate; measure yours [body]"),
    "lumbar_fraction": SettingDoc("fraction", "where the lumbar region ends, as a fraction of hip_to_neck_cm", "the lumbar spine is roughly the first third from the hips [body]"),
    "goal_sessions_per_week": SettingDoc("sessions", 'the weekly goal line, "goal met" and the streak', "3–5 sessions a week is the usual advice [frequency]"),
    "max_sessions_per_day": SettingDoc("sessions", "more sessions than this on one day flags the week as overuse", "a little daily beats a lot weekly [frequency]"),
    "acwr_high": SettingDoc("ratio", 'a load ratio above this flags the week as overuse ("high")', "the acute:chronic load ratio [load]"),
    "acwr_normal_low": SettingDoc("ratio", "lower end of the normal load-ratio band", "the acute:chronic load ratio [load]"),
    "acwr_normal_high": SettingDoc("ratio", 'upper end of the normal load-ratio band ("elevated" above it)', "the acute:chronic load ratio [load]"),
    "region_weekly_budget_s": SettingDoc("s", "time on one region in one week above which the week is flagged as overuse", "5 sessions a week (the top of the usual advice) times 2 min per region [frequency] [protocols]"),
    "week_start": SettingDoc("day", "the first day of each week in the weekly charts and tables", "users of similar tools ask for a choosable week start, Monday by default [weeks]"),
}  # fmt: skip
"""Per setting: unit, what it changes, and the source of its default (see `GUIDANCE_DOC`)."""


def closest_settings(name: str, limit: int = 3) -> list[str]:
    """Setting names a mistyped `name` was probably meant to be (best first; may be empty):
    close spellings, and names that share a word with it (`roller_diameter` -> `roller_diameter_cm`)."""
    import difflib

    known = [f.name for f in fields(Guidance)]
    wanted = name.strip().lower().replace("-", "_")
    found = difflib.get_close_matches(wanted, known, n=limit, cutoff=0.6)
    if wanted:
        found += [k for k in known if k.startswith(wanted) or wanted in k.split("_")]
    return list(dict.fromkeys(found))[:limit]

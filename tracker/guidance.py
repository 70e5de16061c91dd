"""Guidance numbers: the defaults behind every warning, each one configurable.

Sources are in DOMAIN.md: the "1 inch per second" rule for pace, physiotherapy guidance for holds,
foam-rolling protocol reviews for time per region, and the acute:chronic load ratio for weeks.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any

REGIONS = ("lumbar", "lower_thoracic", "mid_thoracic", "upper_thoracic")
"""Regions along the back, from the hips toward the neck."""


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

"""The human summary of one analysed session, shared by `analyze`, `record`, `replay` and `show`.

Every pace and position is printed with its ± (the half-width meant to hold the truth about
80 % of the time, `tracker.analysis.uncertainty`), and what makes a number uncertain is said in
words; a recording that is not foam rolling says what it was instead of showing strokes.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from tracker.display import clock, shown
from tracker.results import SessionAnalysis

_TRUST_WORDS = {
    "rough": "rough: read it as a guide",
    "unreliable": "unreliable: too uncertain to judge",
}
_POSITION_WORDS = {
    "rough": "rough: the region may be the next one",
    "unreliable": "unreliable: the region is a guess",
}


def pm(value: float | None, unit: str, digits: int = 1) -> str:
    """" ± 0.4 cm/s", or "" when there is no ±."""
    return "" if value is None else f" ± {value:.{digits}f} {unit}"


def pace_verdict(mean: float, pm_cm_s: float | None, target: float, trust: str) -> str:
    """"good", "a bit fast", "too fast", or why it cannot be judged."""
    if trust == "unreliable":
        return _TRUST_WORDS["unreliable"]

    def band(p: float) -> str:
        return "good" if p <= 1.6 * target else ("a bit fast" if p <= 2 * target else "too fast")

    verdict = band(mean)
    if pm_cm_s is not None and band(mean + pm_cm_s) != verdict:
        verdict += f" or {band(mean + pm_cm_s)} within the ±"
    if trust == "rough":
        verdict += "; " + _TRUST_WORDS["rough"]
    return verdict


def not_rolling_lines(result: SessionAnalysis) -> list[str]:
    """What a recording that is not foam rolling was (empty for a rolling session)."""
    if result.is_rolling:
        return []
    return [
        f"Not foam rolling: {result.activity_reason or 'no rolling found'}.",
        "Nothing in it counts as strokes, holds or time on the roller.",
    ]


def other_activity_lines(result: SessionAnalysis) -> list[str]:
    """The stretches of a rolling session that were something else (they count nowhere)."""
    if not result.is_rolling:
        return []
    return [
        f"Not counted, {clock(a.start_s)}-{clock(a.end_s)}: {shown(a.reason)}"
        for a in result.other_activities
    ]


def position_line(result: SessionAnalysis) -> str | None:
    """"Positions along the back: ± 10 cm hips down, ± 23 cm in a bridge (unreliable)"."""
    u = result.uncertainty
    if u is None or u.position_pm_cm is None:
        return None
    parts = []
    for posture, label in (("hips_down", "hips down"), ("bridge", "in a bridge")):
        v = u.position_pm_by_posture_cm.get(posture)
        if v is not None:
            parts.append(f"± {v:.0f} cm {label}")
    if not parts:
        parts.append(f"± {u.position_pm_cm:.0f} cm")
    words = f" ({_POSITION_WORDS[u.position_trust]})" if u.position_trust in _POSITION_WORDS else ""
    return "Positions along the back: " + ", ".join(parts) + words


def print_session_summary(result: SessionAnalysis, title: str, console: Console | None = None) -> None:
    """Print what a person wants to know about one analysed session."""
    guidance = result.parameters.get("guidance", {})
    target = float(guidance.get("target_pace_cm_s", 2.5))
    console = console or Console(highlight=False)
    console.print(f"[bold]{title}[/bold]: {result.duration_s / 60:.1f} min recorded")
    lines = not_rolling_lines(result)
    if lines:
        for line in lines:
            console.print(shown(line))
        _notes(result, console)
        return
    console.print(
        f"On the roller {result.on_roller_s / 60:.1f} min, rolling {result.rolling_s / 60:.1f} min"
        + (f" ({result.posture.replace('_', ' ')})" if result.posture else "")
    )
    for line in other_activity_lines(result):
        console.print(line)
    u = result.uncertainty
    if result.strokes:
        mean = result.mean_pace_cm_s
        mean_pm = u.mean_pace_pm_cm_s if u is not None else None
        verdict = pace_verdict(mean, mean_pm, target, u.pace_trust if u is not None else "good")
        console.print(
            f"{len(result.strokes)} strokes, mean pace {mean:.1f}{pm(mean_pm, 'cm/s')} "
            f"(target about {target:g} cm/s: {verdict})"
        )
    else:
        console.print("No strokes found.")
    positions = position_line(result)
    if positions:
        console.print(positions)
    if result.holds:
        table = Table(title="Holds", show_edge=False)
        for col in ("start", "duration", "position", "region"):
            table.add_column(col)
        for h in result.holds:
            table.add_row(
                clock(h.start_s),
                f"{h.duration_s:.0f} s",
                f"~{h.position_cm:.0f}{pm(h.position_pm_cm, 'cm', 0) or ' cm'} from the hips",
                h.region.replace("_", " "),
            )
        console.print(table)
    roller = result.parameters.get("roller")
    if roller and result.on_roller_s > 0:
        from tracker.analysis.kinematics import RollerDiameter

        console.print(RollerDiameter.from_json(roller).describe().capitalize())
    regions = [f"{k.replace('_', ' ')} {v:.0f} s" for k, v in result.region_time_s.items() if v > 0]
    if regions:  # nothing found on the back: no line rather than an empty one
        console.print("Time per region: " + ", ".join(regions))
    if result.warnings:
        console.print("[bold]Warnings[/bold]")
        for w in result.warnings:
            console.print(f"  - at {clock(w.start_s)}: {shown(w.message)}")
    else:
        console.print("No warnings.")
    if u is not None and u.caveats:
        console.print("[bold]How sure[/bold] (each ± holds the truth about 80 % of the time)")
        for caveat in u.caveats:
            console.print(f"  - {shown(caveat)}")
    _notes(result, console)


def _notes(result: SessionAnalysis, console: Console) -> None:
    for note in result.notes:  # notes quote files and radios: shown as text, never as markup
        console.print(f"[dim]note: {shown(note)}[/dim]")

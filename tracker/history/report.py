"""`tracker report`: the weekly charts as PNG and SVG plus one self-contained HTML page.

The page embeds the PNGs (data URIs), so it can be mailed or opened anywhere on its own; it also
links the PNG and SVG files next to it by relative name (only files this function wrote). Every
file is private (0600) in a private directory (0700): this is health data.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from tracker import __version__, paths
from tracker.guidance import Guidance

DEFAULT_GUIDANCE = Guidance()  # frozen: safe as a shared default

if TYPE_CHECKING:
    import pandas as pd

    from tracker.history.store import SessionStore

Progress = Callable[[str, int, int], None]
"""progress(step description, steps done, steps in all)"""

CHARTS = (
    ("weekly_consistency", "Sessions and minutes each week", (10.0, 3.8)),
    ("pace_trend", "Rolling pace against the 1-inch-a-second rule", (10.0, 3.4)),
    ("region_heatmap", "Time per region each week", (10.0, 3.2)),
    ("calendar", "Days rolled", (10.0, 2.6)),
    ("latest_session", "The latest session", (10.0, 4.0)),
)
RIGHT_MARGIN_IN = {"weekly_consistency": 0.75, "pace_trend": 0.3}
"""Room right of each chart's axes (inches): the minutes axis, or a colour bar (the default)."""
COLOUR_BAR_MARGIN_IN = 0.85


@dataclass
class Report:
    """Where the report went and the numbers it shows."""

    out_dir: Path
    html: Path
    files: list[Path] = field(default_factory=list)
    summary: pd.DataFrame | None = None
    n_sessions: int = 0
    empty_message: str | None = None


def write_report(
    store: SessionStore | None = None,
    out_dir: str | Path | None = None,
    *,
    weeks: int = 12,
    guidance: Guidance = DEFAULT_GUIDANCE,
    end: date | None = None,
    progress: Progress | None = None,
) -> Report:
    """Compute the weekly tables over the last `weeks` weeks up to `end` (default today), from the
    week of the first stored session at the earliest (`weeks_to_show`), draw the
    charts into `out_dir` (default: `<data dir>/report`) as PNG and SVG, and write `index.html`."""
    import matplotlib

    from tracker.history import charts
    from tracker.history.store import SessionStore
    from tracker.history.weekly import daily_summary, weekly_summary

    total = 3 + len(CHARTS)
    step = 0

    def tick(what: str) -> None:
        nonlocal step
        if progress is not None:
            progress(what, step, total)
        step += 1

    own_store = store is None
    store = store or SessionStore(read_only=True)
    try:
        tick("reading sessions")
        sessions = store.sessions()
        strokes = store.stroke_paces()
        latest = store.session(int(sessions.index[-1])) if len(sessions) else None
    finally:
        if own_store:
            store.close()
    tick("weekly numbers")
    shown = weeks_to_show(sessions, weeks, guidance=guidance, end=end)
    summary = weekly_summary(sessions, strokes, guidance=guidance, weeks=shown, end=end)
    daily = daily_summary(sessions, guidance=guidance, end=end)
    if len(daily) and len(summary):
        daily = daily.loc[summary.index[0] :]
    grid = charts.calendar_grid(daily, week_start=guidance.week_start)

    out = Path(out_dir) if out_dir is not None else paths.data_dir() / "report"
    paths.ensure_private_dir(out)
    draw = {
        "weekly_consistency": lambda ax: charts.plot_weekly_consistency(
            summary, ax, guidance=guidance
        ),
        "pace_trend": lambda ax: charts.plot_pace_trend(summary, ax, guidance=guidance),
        "region_heatmap": lambda ax: charts.plot_region_heatmap(summary, ax, guidance=guidance),
        "calendar": lambda ax: charts.plot_calendar(grid, ax),
        "latest_session": (
            (lambda ax: charts.plot_session_timeline(latest.analysis, ax, guidance=guidance))
            if latest is not None
            else (lambda ax: charts.empty_state(ax, "Session timeline"))
        ),
    }
    files: list[Path] = []
    images: dict[str, bytes] = {}
    for name, _caption, size in CHARTS:
        tick(f"drawing {name.replace('_', ' ')}")
        right = RIGHT_MARGIN_IN.get(name, COLOUR_BAR_MARGIN_IN)
        fig = charts.new_figure(*size, fixed_margins=True, right_in=right)
        draw[name](fig.add_subplot())
        png, svg = out / f"{name}.png", out / f"{name}.svg"
        paths.write_private_figure(fig, png, dpi=110)
        # Text as text: smaller, selectable SVG. rc_context is scoped: no global style change.
        with matplotlib.rc_context({"svg.fonttype": "none"}):
            paths.write_private_figure(fig, svg)
        files += [png, svg]
        images[name] = png.read_bytes()
    tick("writing the page")
    page = out / "index.html"
    empty = None if len(sessions) else charts.EMPTY_MESSAGE.replace("\n", " ")
    body = _html(summary, sessions, images, latest, guidance, shown, empty)
    paths.write_private_atomic(page, body.encode("utf-8"))
    if progress is not None:
        progress("done", total, total)
    return Report(out, page, [*files, page], summary, len(sessions), empty)


def weeks_to_show(
    sessions: pd.DataFrame, weeks: int, *, guidance: Guidance = DEFAULT_GUIDANCE, end: date | None = None
) -> int:
    """How many weeks the report shows: from the week of the first stored session (a new user sees
    their weeks, not empty ones before they started) to the week of `end` (default today), and at
    most `weeks`. With no session: one week."""
    import pandas as pd

    from tracker.history.weekly import local_day, real_sessions, week_of

    real = real_sessions(sessions)
    if real.empty:
        return 1
    first = week_of(local_day(real), guidance.week_start).min()
    last_day = pd.Timestamp(end) if end is not None else pd.Timestamp.now().normalize()
    last = week_of(pd.Series([last_day]), guidance.week_start).iloc[0]
    spanned = int((last - first).days // 7) + 1
    return max(1, min(weeks, spanned))


def _weeks_words(summary: pd.DataFrame) -> str:
    """"6 weeks, 26 Oct – 6 Dec 2026": the weeks the report shows."""
    if summary.empty:
        return "no weeks yet"
    import pandas as pd

    first, last = summary.index[0], summary.index[-1] + pd.Timedelta(days=6)
    n = len(summary)
    span = f"{first:%-d %b}" + ("" if first.year == last.year else f" {first:%Y}") + f" – {last:%-d %b %Y}"
    return f"{n} week{'' if n == 1 else 's'}, {span}"


def _fmt(v: object, spec: str = "") -> str:
    try:
        import math

        if v is None or (isinstance(v, float) and math.isnan(v)):
            return "–"
    except TypeError:
        pass
    return format(v, spec) if spec else str(v)


def _html(
    summary: pd.DataFrame,
    sessions: pd.DataFrame,
    images: dict[str, bytes],
    latest: object,
    g: Guidance,
    weeks: int,
    empty: str | None,
) -> str:
    esc = html.escape
    head = []
    if len(summary):
        this = summary.iloc[-1]
        ratio = this["acwr"]
        head = [
            ("this week", f"{int(this['sessions'])} session{'' if int(this['sessions']) == 1 else 's'} (goal {g.goal_sessions_per_week})"),
            ("streak", f"{int(this['streak_weeks'])} week(s) meeting the goal"),
            ("load ratio (7 d : 28 d)", f"{_fmt(ratio, '.2f')} {this['load_band']}".strip()),
            ("overuse weeks shown", str(int(summary["overuse"].sum()))),
            ("sessions stored", str(len(sessions))),
        ]
    rows = []
    for week, r in summary.iloc[::-1].iterrows():
        cls = ' class="overuse"' if r["overuse"] else ""
        rows.append(
            f"<tr{cls}><td>{week:%Y-%m-%d}</td><td>{int(r['sessions'])}</td><td>{r['rolling_min']:.0f}</td>"
            f"<td>{int(r['days_rolled'])}</td><td>{'yes' if r['goal_met'] else 'no'}</td><td>{int(r['streak_weeks'])}</td>"
            f"<td>{_fmt(r['median_pace_cm_s'], '.1f')}</td><td>{r['too_fast_share'] * 100:.0f}%</td>"
            f"<td>{int(r['holds'])}</td><td>{int(r['warnings'])}</td><td>{_fmt(r['acwr'], '.2f')}</td>"
            f"<td>{esc(str(r['overuse_reasons']))}</td></tr>"
        )
    figures = []
    for name, caption, _size in CHARTS:
        data = base64.b64encode(images[name]).decode("ascii")
        figures.append(
            f'<figure><img alt="{esc(caption)}" src="data:image/png;base64,{data}">'
            f'<figcaption>{esc(caption)} · <a href="{name}.png">PNG</a> · <a href="{name}.svg">SVG</a>'
            "</figcaption></figure>"
        )
    headline = "".join(f"<div><span>{esc(k)}</span><b>{esc(v)}</b></div>" for k, v in head)
    notice = f'<p class="empty">{esc(empty)}</p>' if empty else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Foam rolling: {esc(_weeks_words(summary))}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1100px; color: #222; padding: 0 1rem; }}
.headline {{ display: flex; gap: 1rem; flex-wrap: wrap; margin: 1rem 0; }}
.headline div {{ background: #f3f5f8; border-radius: 6px; padding: .6rem .9rem; }}
.headline span {{ display: block; font-size: .8rem; color: #555; }}
table {{ border-collapse: collapse; font-size: .85rem; width: 100%; }}
th, td {{ border-bottom: 1px solid #ddd; padding: .3rem .5rem; text-align: right; }}
td:first-child, th:first-child, td:last-child, th:last-child {{ text-align: left; }}
tr.overuse td {{ background: #fdecea; }}
figure {{ margin: 1.5rem 0; }} img {{ max-width: 100%; }}
figcaption {{ font-size: .85rem; color: #555; }}
.empty {{ font-size: 1.1rem; background: #fff8e1; padding: 1rem; border-radius: 6px; }}
footer {{ font-size: .75rem; color: #777; margin-top: 2rem; }}
</style></head><body>
<h1>Foam rolling: {esc(_weeks_words(summary))}</h1>
{notice}
<div class="headline">{headline}</div>
<h2>Week by week</h2>
<table><thead><tr><th>week of</th><th>sessions</th><th>minutes</th><th>days</th><th>goal met</th><th>streak</th>
<th>median pace, cm/s</th><th>too fast</th><th>holds</th><th>warnings</th><th>load ratio</th><th>overuse</th></tr></thead>
<tbody>
{"".join(rows)}
</tbody></table>
<p style="font-size:.8rem;color:#555">Goal: {g.goal_sessions_per_week} sessions a week. Target pace {g.target_pace_cm_s:g} cm/s,
too fast above {g.too_fast_pace_cm_s:g} cm/s. Load ratio: minutes on the roller in the last 7 days against the weekly average
of the last 28 (normal {g.acwr_normal_low:g}–{g.acwr_normal_high:g}, high above {g.acwr_high:g}). Positions along the back are estimates.</p>
<h2>Charts</h2>
{"".join(figures)}
<footer>Made by tracker {esc(__version__)} on {datetime.now():%Y-%m-%d %H:%M}. Weeks start on {esc(g.week_start.title())}, in each session's local time.</footer>
</body></html>
"""

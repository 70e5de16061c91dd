"""The session timeline: the colour bar sits by the plot, and every label is readable (inside the
axes, above the track)."""

from __future__ import annotations

from conftest import crafted_session

from tracker.history import charts
from tracker.results import Warning


def _drawn():
    analysis = crafted_session(5.0, paces_cm_s=(2.5, 6.0, 3.0), warnings=1)
    analysis.warnings.append(Warning("lumbar", 60.0, 90.0, "off the lumbar spine", 1.0))
    fig = charts.new_figure(11, 4.5)
    ax = charts.plot_session_timeline(analysis, fig.add_subplot())
    fig.canvas.draw()
    return fig, ax


def test_colour_bar_is_next_to_the_plot():
    fig, ax = _drawn()
    (bar,) = [a for a in fig.axes if a is not ax]
    gap_px = bar.get_window_extent().x0 - ax.get_window_extent().x1
    assert 0 <= gap_px < 0.02 * fig.bbox.width


def test_lane_and_region_labels_are_inside_the_axes_and_above_the_track():
    fig, ax = _drawn()
    box = ax.get_window_extent()
    lanes = [t for t in ax.texts if t.get_gid() == "warning-lane-label"]
    regions = [t for t in ax.texts if t.get_gid() == "label-region"]
    assert [t.get_text() for t in lanes] == ["too fast", "lumbar"] and len(regions) == 4
    (strokes,) = [c for c in ax.collections if c.get_gid() == "strokes"]
    for t in lanes + regions:
        ext = t.get_window_extent()
        assert box.x0 <= ext.x0 and ext.x1 <= box.x1 and box.y0 <= ext.y0 and ext.y1 <= box.y1, t.get_text()
        assert t.get_zorder() > strokes.get_zorder() and t.get_bbox_patch() is not None, t.get_text()

"""The session timeline: the colour bar sits by the plot, every label is readable (inside the
axes, above the track), and warning rows are a panel of their own above the back, labelled as
warnings, so none reads as a region."""

from __future__ import annotations

from conftest import crafted_session

from tracker.history import charts
from tracker.results import SessionWarning


def _drawn(**figure):
    analysis = crafted_session(5.0, paces_cm_s=(2.5, 6.0, 3.0), warnings=1)
    analysis.warnings.append(SessionWarning("lumbar", 60.0, 90.0, "off the lumbar spine", 1.0))
    fig = charts.new_figure(**(figure or {"width_in": 11, "height_in": 4.5}))
    ax = charts.plot_session_timeline(analysis, fig.add_subplot())
    fig.canvas.draw()
    return fig, ax


def _rows(ax):
    (rows,) = [child for child in ax.child_axes if child.get_gid() == "warning-rows"]
    return rows


def test_colour_bar_is_next_to_the_plot():
    fig, ax = _drawn()
    (bar,) = [a for a in ax.child_axes if a.get_gid() == "colour-bar"]
    gap_px = bar.get_window_extent().x0 - ax.get_window_extent().x1
    assert 0 <= gap_px < 0.02 * fig.bbox.width


def test_row_and_region_labels_are_inside_the_axes_and_above_the_track():
    fig, ax = _drawn()
    box = ax.get_window_extent()
    rows = [t for t in _rows(ax).texts if t.get_gid() == "warning-row-label"]
    regions = [t for t in ax.texts if t.get_gid() == "label-region"]
    assert [t.get_text() for t in rows] == ["warning: too fast", "warning: lumbar"] and len(regions) == 4
    (strokes,) = [c for c in ax.collections if c.get_gid() == "strokes"]
    for t in rows + regions:
        ext = t.get_window_extent()
        assert box.x0 <= ext.x0 and ext.x1 <= box.x1 and box.y0 <= ext.y0 and ext.y1 <= box.y1, t.get_text()
        assert t.get_bbox_patch() is not None, t.get_text()
    for t in regions:
        assert t.get_zorder() > strokes.get_zorder(), t.get_text()


def test_warning_rows_sit_above_the_back_apart_from_the_region_bands():
    """Regression: a red "lumbar" warning label at about 52 cm read as a region at the neck."""
    fig, ax = _drawn()
    rows = _rows(ax)
    (top_band,) = [p for p in ax.patches if p.get_gid() == "region-upper_thoracic"]
    band_top = top_band.get_window_extent().y1
    assert rows.get_window_extent().y0 >= band_top - 0.5, "the panel starts above the back"
    for label in rows.texts:
        assert label.get_window_extent().y0 > band_top and label.get_text().startswith("warning: ")
    # the back's axis is numbered only along the back
    assert max(ax.get_yticks()) <= 50
    assert any(t.get_text() == "warning (rows at the top)" for t in ax.get_legend().get_texts())


def _blank_right_fraction(fig) -> float:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    drawn = fig.get_tightbbox(renderer).transformed(fig.dpi_scale_trans)
    return (fig.get_figwidth() - drawn.x1) / fig.get_figwidth()


def test_no_dead_space_on_the_right():
    """Regression: the report's timeline ended in a blank fifth (the colour bar's reserved slot)."""
    from tracker.history.report import COLOUR_BAR_MARGIN_IN

    for figure in ({"width_in": 11, "height_in": 4.5},  # `tracker show`
                   {"width_in": 10.0, "height_in": 4.0, "fixed_margins": True, "right_in": COLOUR_BAR_MARGIN_IN}):  # fmt: skip
        fig, _ax = _drawn(**figure)
        assert _blank_right_fraction(fig) < 0.03, figure

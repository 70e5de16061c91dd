"""The report a new user sees: its window starts at their first session, every colour in a chart
has a key, overuse says why in the chart, and the page is valid HTML that fetches nothing (checked
by an HTML5 parser, and by a real browser engine where one is installed)."""

from __future__ import annotations

import re
import shutil
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import crafted_session, local
from matplotlib.figure import Figure

from tracker.guidance import Guidance
from tracker.history import SessionStore, charts
from tracker.history.report import weeks_to_show, write_report
from tracker.history.weekly import daily_summary, weekly_summary


def _store(times: list[str]) -> None:
    with SessionStore() as store:
        for k, t in enumerate(times):
            store.add_session(crafted_session(5.0 + k, paces_cm_s=(2.0, 3.0)), start_utc=local(t),
                              timezone="Europe/Berlin", checksum=f"{k:064x}")  # fmt: skip


# --- the window ------------------------------------------------------------------------------
def test_a_new_users_report_starts_at_their_first_session(tmp_path):
    _store(["2025-03-04T07:00", "2025-03-12T07:00", "2025-03-13T07:00"])
    report = write_report(out_dir=tmp_path / "r", weeks=12, end=date(2025, 3, 20))
    assert list(report.summary.index.strftime("%Y-%m-%d")) == ["2025-03-03", "2025-03-10", "2025-03-17"]
    page = report.html.read_text()
    assert "<h1>Foam rolling: 3 weeks, 3 Mar – 23 Mar 2025</h1>" in page
    assert page.count("<tr") == 1 + 3
    assert "0 sessions (goal 3)" in page  # this week: no "5 of 3 sessions" puzzles


def test_a_long_history_shows_at_most_weeks():
    _store([f"2024-{m:02d}-10T07:00" for m in range(1, 13)])
    with SessionStore(read_only=True) as store:
        sessions = store.sessions()
    assert weeks_to_show(sessions, 12, end=date(2024, 12, 31)) == 12
    assert weeks_to_show(sessions, 520, end=date(2024, 12, 31)) == 52
    assert weeks_to_show(sessions.iloc[:0], 12) == 1


# --- keys for every colour -------------------------------------------------------------------
OVERUSED = ["2025-01-13T07:00", "2025-01-15T07:00", "2025-01-20T07:00", "2025-01-20T12:00", "2025-01-20T19:00"]


@pytest.fixture
def overused():
    """Two weeks; the second has 3 sessions on Mon 20 Jan (overuse) and is still going on."""
    _store(OVERUSED)
    with SessionStore(read_only=True) as store:
        sessions, strokes = store.sessions(), store.stroke_paces()
    return sessions, strokes


def _legend_labels(ax) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_consistency_chart_keys_every_colour_and_says_why_overuse(overused):
    sessions, strokes = overused
    g = Guidance()
    summary = weekly_summary(sessions, strokes, guidance=g, end=pd.Timestamp("2025-01-22"))
    ax = charts.plot_weekly_consistency(summary, Figure().add_subplot(), guidance=g)
    labels = _legend_labels(ax)
    for key in ("sessions", "this week so far", "goal: 3 a week", "minutes on the roller", "minutes this week so far"):
        assert key in labels, key
    (overuse,) = [lab for lab in labels if lab.startswith("overuse")]
    assert "load ratio > 1.5" in overuse and "> 2 sessions a day" in overuse and "10 min a week" in overuse
    # the hatched bar's key is hatched; the overuse key is the red marker
    handles = ax.get_legend().legend_handles
    assert handles[labels.index("this week so far")].get_hatch() == "///"
    assert handles[labels.index(overuse)].get_color() == charts.OVERUSE_COLOR
    # why, in the chart itself, above the flagged bar
    twin = [a for a in ax.figure.axes if a is not ax][0]
    (why,) = [t for t in twin.texts if t.get_gid() == "overuse-reason"]
    assert why.get_text() == "3 sessions on Mon 20 Jan"
    assert why.get_position()[0] == 1.0


def test_calendar_keys_the_grey_of_days_without_a_session(overused):
    sessions, _ = overused
    grid = charts.calendar_grid(daily_summary(sessions, end=pd.Timestamp("2025-01-22")))
    ax = charts.plot_calendar(grid, Figure().add_subplot())
    legend = ax.get_legend()
    labels = _legend_labels(ax)
    assert "no session that day" in labels
    grey = legend.legend_handles[labels.index("no session that day")].get_facecolor()
    np.testing.assert_allclose(grey[:3], np.array([0xE8, 0xE8, 0xE8]) / 255, atol=1e-3)
    assert any("not in your history" in lab for lab in labels)  # the blank days after 22 Jan
    (bar,) = [a for a in ax.child_axes if a.get_gid() == "colour-bar"]
    assert bar.get_ylabel() == "minutes"


def test_heatmap_keys_its_red_outline_when_there_is_one(overused):
    sessions, strokes = overused
    g = Guidance(region_weekly_budget_s=300.0)  # 5 min a week: the 3-session week is over it
    summary = weekly_summary(sessions, strokes, guidance=g, end=pd.Timestamp("2025-01-22"))
    ax = charts.plot_region_heatmap(summary, Figure().add_subplot(), guidance=g)
    (outline,) = [c for c in ax.collections if c.get_gid() == "over-budget"]
    (key,) = ax.get_legend().legend_handles
    np.testing.assert_allclose(key.get_edgecolor(), outline.get_edgecolor()[0])
    assert _legend_labels(ax) == ["over 5 min a week: overuse"]


# --- the page itself -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    """The report of the `overused` history, drawn once for the tests that only read it (in a
    data directory of its own, as every test's)."""
    from tracker import paths

    where = tmp_path_factory.mktemp("report-page")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("TRACKER_HOME", str(where / "tracker-home"))
        paths.set_data_dir(None)
        try:
            _store(OVERUSED)
            return write_report(out_dir=where / "report", weeks=12, end=date(2025, 1, 22)).html
        finally:
            paths.set_data_dir(None)


def test_the_page_is_valid_html5_and_fetches_nothing(page):
    html5lib = pytest.importorskip("html5lib")
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    doc = parser.parse(page.read_text(encoding="utf-8"))  # raises on any parse error
    assert not parser.errors
    images = doc.findall(".//img")
    assert len(images) == 5 and all(img.get("alt") for img in images)
    for img in images:
        assert img.get("src").startswith("data:image/png;base64,")
    for link in doc.findall(".//a"):
        href = link.get("href")
        assert "/" not in href and ":" not in href and (page.parent / href).is_file(), href
    for tag in ("script", "link", "iframe", "object", "embed", "source", "video", "audio"):
        assert not doc.findall(f".//{tag}"), tag
    # no address anywhere in the page, styles included (the embedded images aside)
    text = re.sub(r'"data:image/png;base64,[A-Za-z0-9+/=]+"', '""', page.read_text(encoding="utf-8"))
    assert not re.search(r"(https?:|//[a-z0-9]|url\(|@import)", text, re.IGNORECASE)


def _browser() -> str | None:
    return next((p for p in (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")) if p), None)


def test_the_page_in_a_real_browser_loads_every_chart_and_asks_for_nothing(page):
    """Where a browser engine is installed (.ci/run installs Debian's chromium when it can)."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    browser_path = _browser()
    if browser_path is None:
        pytest.skip("no Chromium on this machine")
    requests: list[str] = []
    problems: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=browser_path,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],  # fmt: skip
        )
        try:
            view = browser.new_page(viewport={"width": 1200, "height": 900})
            view.on("request", lambda r: requests.append(r.url))
            view.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
            view.on("pageerror", lambda e: problems.append(str(e)))
            view.goto(page.as_uri())
            images = view.eval_on_selector_all("img", "els => els.map(e => [e.complete, e.naturalWidth])")
            overflow = view.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            headline = view.inner_text("h1")
        finally:
            browser.close()
    assert [url for url in requests if not url.startswith(("data:", page.as_uri()))] == []
    assert problems == []
    assert len(images) == 5 and all(done and width == 1100 for done, width in images), images
    assert overflow <= 0, "nothing wider than the window"
    assert headline.startswith("Foam rolling: 2 weeks")

"""`tracker demo`: a few weeks of simulated sessions through the whole pipeline, then the report.

Every session is a physically simulated person rolling (tracker.simulate), streamed by the
emulated sensor (a real GATT peripheral on Bumble's virtual link) faster than real time, received
by the same bleak code and `Recorder` that drive a real sensor, written to a capture file,
decoded and analysed exactly as `tracker import` would, and stored. Only the session start times
are invented: each session is stored at its planned date over the past weeks (the capture itself
is stamped with the time it was really made).

The plan is deterministic for a seed: about three sessions a week, one week of overdoing it (a
load spike, a day with three sessions) so the overuse markers have something to show, some sets
rolled too fast, a few long holds, and both postures.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from tracker.errors import UsageError

DEMO_MARKER = ".tracker-demo"
"""A file that marks a directory as the demo's own, so a re-run may clear it and nothing else."""

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class PlannedSession:
    """One simulated session: when it happens and what the person does."""

    start_utc: datetime
    timezone: str
    seed: int
    posture: str
    fast: bool
    duration_s: float
    with_getting_on_off: bool


@dataclass
class DemoResult:
    data_dir: Path
    sessions: int
    captures: list[Path]
    report_html: Path
    report_files: list[Path]
    failed: list[str]


def plan_sessions(
    *, weeks: int = 4, end: date | None = None, timezone: str = "Europe/Berlin", seed: int = 0
) -> list[PlannedSession]:
    """About three sessions a week over the `weeks` weeks up to `end` (default today), with one
    week of overuse (the second-to-last), in local time of `timezone`."""
    from zoneinfo import ZoneInfo

    if weeks < 1:
        raise UsageError("--weeks must be at least 1")
    rng = np.random.default_rng(seed)
    zone = ZoneInfo(timezone)
    end = end or datetime.now(zone).date()
    first = end - timedelta(days=7 * weeks - 1)
    spike_week = max(0, weeks - 2)
    plans: list[PlannedSession] = []
    for day_index in range((end - first).days + 1):
        day = first + timedelta(days=day_index)
        week = day_index // 7
        spike = week == spike_week and weeks > 1
        p_roll = 0.8 if spike else 0.45
        if rng.random() > p_roll:
            continue
        count = 3 if spike and day.weekday() == 2 else 1
        for k in range(count):
            hour = float(rng.choice([7.0, 12.5, 18.5, 21.0])) if count == 1 else 8.0 + 5.0 * k
            # wall-clock arithmetic on an aware datetime: 07:xx local on DST days too
            local = datetime.combine(day, time(0), tzinfo=zone) + timedelta(
                minutes=int(hour * 60) + int(rng.integers(0, 50))
            )
            plans.append(
                PlannedSession(
                    start_utc=local.astimezone(UTC),
                    timezone=timezone,
                    seed=int(rng.integers(0, 2**31)),
                    posture=str(rng.choice(["hips_down", "hips_down", "bridge", "mixed"])),
                    fast=bool(rng.random() < (0.5 if spike else 0.2)),
                    duration_s=float(rng.uniform(300, 420) if spike else rng.uniform(180, 330)),
                    with_getting_on_off=bool(rng.random() < 0.7),
                )
            )
    today = datetime.now(UTC)
    return [p for p in plans if p.start_utc < today]


async def record_planned_session(plan: PlannedSession, capture_path: Path, *, sampling_rate_hz: int = 50) -> int:
    """Stream one planned session from the emulated sensor into `capture_path`; return the samples."""
    from tracker.emulator.sources import SimulatedSessionSource
    from tracker.link.driver import StreamSettings
    from tracker.link.environment import emulated_environment
    from tracker.link.recorder import Recorder
    from tracker.simulate import random_script

    script = random_script(
        plan.seed,
        posture=plan.posture,
        fast=plan.fast,
        with_getting_on_off=plan.with_getting_on_off,
        duration_s=plan.duration_s,
    )
    source = SimulatedSessionSource(script, seed=plan.seed)
    expected = len(source.session(sampling_rate_hz).counts)
    # speed=None: the emulator sends as fast as the link's flow control allows; the recorder stops
    # once the whole simulated session has arrived.
    # max_packet_age_ms=None: full packets (19 samples at MTU 247), as the protocol allows; the
    # 100 ms age cap only keeps a live view fresh, and nobody watches the demo's stream live.
    # A quarter of the notifications, so a quarter of the per-packet work on both sides.
    async with emulated_environment(source=source, seed=plan.seed, speed=None, max_packet_age_ms=None) as env:
        recorder = Recorder(
            env,
            capture_path,
            settings=StreamSettings(sample_rate_hz=sampling_rate_hz),
            max_samples=expected,
            watchdog_s=5.0,
        )
        result = await recorder.run()
    return int(result.samples)


def prepare_demo_dir(path: Path) -> Path:
    """Create the demo's data directory, or clear a previous demo's; refuse any other directory."""
    from tracker import paths

    path = Path(path).expanduser()
    if path.exists() and any(path.iterdir()):
        if not (path / DEMO_MARKER).exists():
            raise UsageError(
                f"{path} exists and is not a tracker demo directory",
                hint="choose an empty or new directory with --dir; the demo never touches other data",
            )
        for child in path.iterdir():
            if child.name == DEMO_MARKER:
                continue
            if child.is_dir():
                shutil.rmtree(child)
            else:
                child.unlink()
    paths.ensure_private_dir(path)
    paths.write_private_atomic(path / DEMO_MARKER, b"This directory holds `tracker demo` data; a new demo run replaces it.\n")
    return path


def run_demo(
    demo_dir: Path,
    *,
    weeks: int = 4,
    seed: int = 0,
    timezone: str = "Europe/Berlin",
    sampling_rate_hz: int = 50,
    progress: Progress | None = None,
) -> DemoResult:
    """The whole pipeline over simulated weeks into `demo_dir`; returns where the report is."""
    from tracker import paths
    from tracker.history import SessionStore
    from tracker.history.ingest import store_analysis
    from tracker.history.report import write_report

    demo_dir = prepare_demo_dir(demo_dir)
    paths.set_data_dir(demo_dir)
    plans = plan_sessions(weeks=weeks, timezone=timezone, seed=seed)
    total = len(plans) + 1
    captures: list[Path] = []
    failed: list[str] = []

    def tick(what: str, done: int) -> None:
        if progress is not None:
            progress(what, done, total)

    from tracker.analysis import analyze, load_recording

    with SessionStore() as store:
        for i, plan in enumerate(plans):
            local = plan.start_utc.astimezone(_zone(plan.timezone))
            tick(f"session {i + 1}/{len(plans)}: {local:%a %d %b %H:%M}, {plan.posture.replace('_', ' ')}", i)
            capture = paths.captures_dir() / f"demo-{local:%Y%m%dT%H%M}.capture"
            asyncio.run(record_planned_session(plan, capture, sampling_rate_hz=sampling_rate_hz))
            captures.append(capture)
            try:
                recording = load_recording(capture)
                analysis = analyze(recording)
            except Exception as exc:  # noqa: BLE001  one bad session must not sink the demo
                failed.append(f"{capture.name}: {exc}")
                continue
            store_analysis(store, analysis, recording, capture_path=capture, start_utc=plan.start_utc, tz_name=plan.timezone)
        tick("drawing the report", len(plans))
        report = write_report(store, demo_dir / "report", weeks=weeks)
    tick("done", total)
    return DemoResult(
        data_dir=demo_dir,
        sessions=len(plans) - len(failed),
        captures=captures,
        report_html=Path(report.html),
        report_files=[Path(f) for f in report.files],
        failed=failed,
    )


def _zone(name: str) -> Any:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)

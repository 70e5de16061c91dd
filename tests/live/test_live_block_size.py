"""The live analysis does not depend on how the samples arrive: whatever the sizes of the blocks
pushed (one sample at a time, a notification's worth, or seconds at once), the strokes, holds,
warnings and events are the same, to the bit. The session mixes hips down and bridge (posture
changes re-run a stretch), loses packets (short gaps are filled) and drops the link once (a long
gap restarts the orientation filters)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from _live_helpers import simulate
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracker.live.streaming import LiveSession
from tracker.simulate import drop_packets

pytestmark = pytest.mark.slow  # each test replays a session live at several block sizes


@pytest.fixture(scope="module")
def recording():
    sim = drop_packets(simulate(21, posture="mixed", duration_s=100.0), loss_fraction=0.02, rng=3)
    rec = sim.recording
    # the link drops for 3 s at 70 s
    keep = (rec.t_s < 70.0) | (rec.t_s > 73.0)
    return replace(rec, t_s=rec.t_s[keep], acc_m_s2=rec.acc_m_s2[keep], gyr_rad_s=rec.gyr_rad_s[keep])


def _run(rec, sizes: list[int]):
    live = LiveSession(None, rec.sampling_rate_hz, rec.calibration)
    events, a, k = [], 0, 0
    while a < len(rec.t_s):
        b = min(len(rec.t_s), a + sizes[k % len(sizes)])
        events += live.push(rec.t_s[a:b], rec.acc_m_s2[a:b], rec.gyr_rad_s[a:b])
        a, k = b, k + 1
    live.finish()
    return live, events


@pytest.fixture(scope="module")
def reference(recording):
    return _run(recording, [len(recording.t_s)])  # everything in one push


def _same(a, b) -> None:
    (live_a, ev_a), (live_b, ev_b) = a, b
    assert live_a.strokes == live_b.strokes
    assert live_a.holds == live_b.holds
    assert live_a.warnings == live_b.warnings
    assert ev_a == ev_b
    assert live_a.state.region_time_s == live_b.state.region_time_s


def test_the_session_exercises_what_block_size_could_change(reference):
    live, events = reference
    assert {s.posture for s in live.strokes} == {"hips_down", "bridge"}
    assert any("gap of" in n for n in live.notes)
    assert live.holds and any(e.kind == "warning" for e in events)


def test_one_sample_at_a_time_is_all_at_once(recording, reference):
    _same(_run(recording, [1]), reference)


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(1, 400), min_size=1, max_size=6))
def test_any_block_sizes_give_the_same_result(recording, reference, sizes):
    _same(_run(recording, sizes), reference)

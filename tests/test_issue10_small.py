"""Issue 10, item 9: the smaller issues, each with the words or numbers a person sees."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracker.capture import write_capture_from_counts
from tracker.cli.main import run
from tracker.protocol import packets
from tracker.protocol.stream import StreamDecoder


@pytest.mark.parametrize(
    ("t_s", "text"),
    [(1619.97, "27:00.0"), (59.96, "1:00.0"), (0.0, "0:00.0"), (61.25, "1:01.2"), (3599.99, "60:00.0")],
)
def test_times_are_rounded_before_the_minute_is_taken(t_s, text):
    from tracker.capture.decode import clock  # what the capture notes use

    assert clock(t_s) == text
    assert ":60" not in clock(t_s)


@given(st.floats(0, 1e7))
def test_clock_never_shows_sixty_seconds(t_s):
    from tracker.display import clock

    minutes, seconds = clock(t_s).split(":")
    assert 0 <= float(seconds) < 60 and int(minutes) >= 0


def test_hostile_text_is_shown_as_text():
    from rich.console import Console

    from tracker.display import plain, shown

    console = Console(record=True, width=200, color_system=None)
    for text in ("[/]", "[red]X", "\x1b[2J", "a\u202eb", "[link=file:///etc]x[/link]"):
        console.print(shown(text))  # never a MarkupError
    out = console.export_text()
    assert "[/]" in out and "[red]X" in out and "\\x1b[2J" in out and "\x1b" not in out
    assert plain("line\nbreak") == "line\\nbreak"


def test_too_few_samples_says_so_rather_than_too_short(tmp_path, capsys):
    # 40 samples spread over about two minutes: long enough, but far too sparse
    rate = 25
    counts = np.zeros((rate * 122, 6), np.int16)
    counts[:, 2] = 8192
    keep = set(np.linspace(0, len(counts) - 1, 40).astype(int).tolist())
    cap = write_capture_from_counts(
        tmp_path / "sparse.capture", counts, rate, att_mtu=23, lost_packets=[i for i in range(len(counts)) if i not in keep]
    )
    assert run(["analyze", str(cap.path)]) == 1
    err = capsys.readouterr().err
    assert "only 40 samples" in err and "at least 50" in err and "at least 10 s" not in err


def test_zeros_after_an_intact_signature_are_not_called_a_cut(tmp_path, capsys):
    from tracker.capture import SIGNATURE

    path = tmp_path / "blank.capture"
    path.write_bytes(SIGNATURE + bytes(2_000_000))
    assert run(["analyze", str(path)]) == 1
    err = capsys.readouterr().err.strip()
    assert "zeros" in err and "cut" not in err and err.count("\n") == 0


@pytest.mark.parametrize("spec", ["tcp-server:_:70000", "tcp-server:_:0", "tcp-client:127.0.0.1:x"])
def test_emulate_refuses_a_port_that_does_not_exist(spec):
    import subprocess
    import sys

    # in a process of its own: an emulator that took the port would listen until stopped
    done = subprocess.run([sys.executable, "-m", "tracker", "emulate", "--expose", spec],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 2
    assert "port" in done.stderr and done.stderr.count("\n") == 1


@pytest.mark.parametrize("big", [1e15, 1e300, -1e300, float("inf"), float("nan")])
def test_feed_and_feed_many_agree_at_absurd_host_times(big):
    counts = (np.arange(60 * 6) % 100).astype(np.int16).reshape(60, 6)
    pk = packets.encode_stream(counts, 100, 23)
    host = [0.01 * i for i in range(30)] + [big + 0.01 * i for i in range(30)]
    one, many = StreamDecoder(100), StreamDecoder(100)
    for p, h in zip(pk, host, strict=True):
        one.feed(p, h)
    many.feed_many(pk, host)
    assert np.array_equal(one.t_sensor_s(), many.t_sensor_s())
    assert one.stats.to_json() == many.stats.to_json()
    assert np.all(np.isfinite(one.t_sensor_s())) and np.all(np.diff(one.t_sensor_s()) > 0)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.floats(-1e6, 1e6)), min_size=2, max_size=40))
def test_fuzz_feed_and_feed_many_agree_for_any_host_times(hosts):
    counts = (np.arange(len(hosts) * 6) % 50).astype(np.int16).reshape(-1, 6)
    pk = packets.encode_stream(counts, 100, 23)
    one, many = StreamDecoder(100), StreamDecoder(100)
    for p, h in zip(pk, hosts, strict=True):
        one.feed(p, h)
    many.feed_many(pk, hosts)
    assert np.array_equal(one.t_sensor_s(), many.t_sensor_s())
    assert one.stats.to_json() == many.stats.to_json()

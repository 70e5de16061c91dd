"""`tracker record --phone` end to end: an emulated phone pushes a simulated session over real
HTTP (Sensor Logger's message format, faster than real time), with a wrong token, a missing one,
a broken body and an oversized one among the pushes, and a pause; the capture holds exactly the
bodies pushed with the token, replays to the same samples and the same live result, and the
session analyses to the simulator's truth within the capture's tolerances."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from pathlib import Path

import numpy as np
import pytest

from tracker.analysis import analyze
from tracker.analysis.evaluation import score_session
from tracker.capture import load_capture, read_capture
from tracker.cli.main import run
from tracker.emulator.phone import EmulatedPhone, phone_streams, post, push_messages
from tracker.errors import LinkLostError, ListenError
from tracker.guidance import Guidance
from tracker.link.phone import PhoneRecorder
from tracker.link.replay import replay_capture
from tracker.live.streaming import LiveSession
from tracker.protocol.phone_push import BodyAssembler
from tracker.simulate import random_script, simulate_session

TOLERANCES = {  # the capture's (tests/formats/test_formats_phone_exports.py)
    "hold_recall": 0.9,
    "hold_precision": 0.9,
    "hold_duration_err_s": 1.0,
    "stroke_count_err": 0.15,
    "pace_err": 0.15,
}
BROKEN = b'{"messageId": 9999, "payload": ['


def _wrong_token(conn, target):
    return post(conn, target.replace("token=", "token=not-"), json.dumps({"payload": []}).encode())


def _no_token(conn, target):
    return post(conn, target.split("?")[0], b'{"messageId": 1, "payload": []}')


def _bearer_but_wrong(conn, target):
    return post(conn, target.split("?")[0], b"{}", {"Authorization": "Bearer nope"})


def _broken(conn, target):
    return post(conn, target, BROKEN)


def _too_big(conn, target):
    return post(conn, target, b"{" + b" " * (5 * 1024 * 1024) + b"}")


class LiveRun:
    """The live analysis as `record --live` runs it: started at the first block, at the rate the
    decoder measured."""

    def __init__(self, decoder):
        self.decoder, self.session, self.events = decoder, None, []

    def __call__(self, block):
        if self.session is None:
            self.session = LiveSession(Guidance(), self.decoder.sample_rate_hz, None)
        self.events += self.session.push_block(block)


def record(path, messages, *, speed, pauses=(), extra=(), platform="ios", stop_when_done=True, with_live=True, **options):
    """Run a PhoneRecorder with an emulated phone (and the live analysis on its blocks unless
    `with_live` is False); returns (recorder, {"result" or "error", "phone"}, live)."""
    out = {}

    async def go():
        loop = asyncio.get_running_loop()
        recorder = PhoneRecorder(path, port=0, platform=platform, keep_samples=True, **options)
        live = LiveRun(recorder.decoder) if with_live else None
        recorder.on_block = live

        def listening(url):
            phone = out["phone"] = EmulatedPhone(url, messages, speed=speed, pauses=pauses, extra=list(extra))

            def push():
                phone.run()  # returns once every push was answered, i.e. handled by the recorder
                if stop_when_done:
                    loop.call_soon_threadsafe(recorder.stop)

            threading.Thread(target=push, daemon=True).start()

        recorder.on_listening = listening
        try:
            out["result"] = await recorder.run()
        except Exception as exc:  # noqa: BLE001  the give-up test looks at it
            out["error"] = exc
        return recorder, live

    recorder, live = asyncio.run(go())
    out["phone"].done.wait(10)
    return recorder, out, live


def stored_bodies(path: Path) -> list[bytes]:
    assembler, bodies = BodyAssembler(), []
    for _t, part in read_capture(path).imu:
        body = assembler.add(part)
        if body is not None:
            bodies.append(body)
    return bodies


@pytest.fixture(scope="module")
def sim():
    # two minutes with getting on and off the roller (80 s on it: 8 strokes and a hold) is enough
    # to check the phone's path against the truth; every second of it is analysed live twice
    return simulate_session(random_script(2001, posture="hips_down", duration_s=90), seed=2001, sampling_rate_hz=100)


@pytest.fixture(scope="module")
def session(sim, tmp_path_factory):
    streams = phone_streams(sim, acc_rate=100.0, gyr_rate=104.0, seed=1)
    messages = push_messages(streams, platform="ios")
    extra = [(10.0, _wrong_token), (10.5, _no_token), (11.0, _bearer_but_wrong), (12.0, _broken), (13.0, _too_big)]
    path = tmp_path_factory.mktemp("phone") / "phone.capture"
    # nothing here depends on the pace of the pushes (no watchdog fires at 100x: one push every
    # 10 ms), so the phone pushes as fast as the recorder and its live analysis keep up
    recorder, out, live = record(path, messages, speed=100.0, extra=extra)
    return {"path": path, "recorder": recorder, "messages": messages, "live": live, **out}


def test_pushes_with_the_token_are_stored_raw_and_nothing_else_is(session):
    phone, stats = session["phone"], session["recorder"].server_stats
    assert "error" not in session
    assert {r.status for r in phone.results} == {200}
    assert phone.extra_statuses[:4] == [403, 401, 403, 400]
    assert phone.extra_statuses[4] in (413, 0)  # the server may close before all 5 MB were sent
    assert (stats.wrong_token, stats.missing_token, stats.too_large) == (2, 1, 1)
    # exactly the bodies pushed with the token, in order: the session's, and the broken one
    expected = [m.body for m in session["messages"]]
    expected.insert(next(i for i, m in enumerate(session["messages"]) if m.at_s >= 12.0), BROKEN)
    assert stored_bodies(session["path"]) == expected
    decode = session["recorder"].decoder.stats
    assert decode.malformed == {"not_json": 1} and decode.messages == len(session["messages"])


def test_the_capture_is_a_phone_capture_that_replays_to_the_live_samples(session):
    contents = read_capture(session["path"])
    assert contents.complete and contents.header["sensor"]["driver"] == "phone"
    assert contents.header["settings"]["phone"] == {"app": "sensor-logger", "platform": "ios", "standardised": False}
    assert contents.header["settings"]["sample_rate_hz"] == pytest.approx(100, abs=1)  # measured
    live = session["recorder"].decoder.to_recording()
    replayed = load_capture(session["path"])
    np.testing.assert_array_equal(replayed.t_s, live.t_s)
    np.testing.assert_array_equal(replayed.acc_m_s2, live.acc_m_s2)
    np.testing.assert_array_equal(replayed.gyr_rad_s, live.gyr_rad_s)
    assert replayed.source["decode"] == live.source["decode"]
    assert replayed.start_utc == live.start_utc
    assert replayed.source["events"][-1]["pushes"]["refused"] == 4


def test_the_session_analyses_to_the_truth_within_the_captures_tolerances(session, sim):
    score = score_session(analyze(load_capture(session["path"])), sim.truth)
    assert score["hold_recall"] >= TOLERANCES["hold_recall"]
    assert score["hold_precision"] >= TOLERANCES["hold_precision"]
    assert score["hold_duration_err_s"] <= TOLERANCES["hold_duration_err_s"]
    assert abs(score["stroke_count_err"]) <= TOLERANCES["stroke_count_err"]
    assert score["pace_err"] <= TOLERANCES["pace_err"]


def test_replaying_the_capture_live_gives_the_live_result(session):
    live = session["live"]
    replay = LiveRun(None)

    def consumer_for(header):
        replay.session = LiveSession(Guidance(), float(header["settings"]["sample_rate_hz"]), None)
        return replay

    asyncio.run(replay_capture(session["path"], realtime=True, speed=100.0, consumer_for=consumer_for, analyze=False))
    assert live.session.sampling_rate_hz == replay.session.sampling_rate_hz
    assert [(e.kind, round(e.t_s, 6)) for e in replay.events] == [(e.kind, round(e.t_s, 6)) for e in live.events]
    assert replay.session.state.stroke_count == live.session.state.stroke_count > 5


def test_a_pause_in_the_pushes_is_marked_and_the_recording_goes_on(tmp_path, sim):
    streams = phone_streams(sim, seed=2)
    # 10 s of pushes, a 20 s pause, 10 s more: the pause must last longer than the watchdog in
    # wall time (0.5 s at 40x against 0.3 s, a push every 25 ms around it), the session around it
    # need not be long
    messages = [m for m in push_messages(streams, platform="android") if m.at_s < 40.0]
    recorder, out, _live = record(
        tmp_path / "pause.capture", messages, speed=40.0, pauses=((10.0, 30.0),), platform="android", watchdog_s=0.3,
        with_live=False,  # what the recorder marks is looked at here, not the live result
    )  # fmt: skip
    assert "error" not in out
    contents = read_capture(tmp_path / "pause.capture")
    kinds = [e.kind for e in contents.events]
    assert kinds.index("link_lost") < kinds.index("reconnected")
    reconnected = next(e for e in contents.events if e.kind == "reconnected")
    # the gap the recorder saw is the one the phone left between two answered pushes (20 s of
    # session at 40x, however late a loaded machine ran them)
    answered = np.array([r.sent_at_s for r in out["phone"].results])
    assert reconnected.data["gap_s"] == pytest.approx(np.diff(answered).max(), abs=0.25)
    rec = load_capture(tmp_path / "pause.capture")
    step = np.diff(rec.t_s)
    assert step.max() == pytest.approx(20.0, abs=1.1)  # the gap stays a gap: nothing filled in
    decode = rec.source["decode"]
    assert decode["gaps"] == 1 and decode["lost_samples"] == pytest.approx(2000, abs=110)
    assert decode["missing_messages"] == 20
    assert rec.t_s[-1] > 35  # the pushes after the pause were recorded


def test_a_phone_that_never_comes_back_ends_the_recording_with_what_was_recorded_kept(tmp_path, sim):
    streams = phone_streams(sim, seed=3)
    messages = [m for m in push_messages(streams, platform="android") if m.at_s < 20]
    _recorder, out, _live = record(
        tmp_path / "gone.capture", messages, speed=100.0, platform="android", watchdog_s=0.3, give_up_s=1.0, stop_when_done=False,
        with_live=False,
    )
    assert isinstance(out.get("error"), LinkLostError)
    assert "the phone sent nothing for 1 s" in out["error"].one_line()
    rec = load_capture(tmp_path / "gone.capture")  # complete, and every sample pushed is in it
    assert rec.source["complete"] and rec.duration_s == pytest.approx(19, abs=1.5)
    events = rec.source["events"]
    assert [e["kind"] for e in events][-2:] == ["link_lost", "recording_stopped"]
    assert events[-1]["reason"] == "LinkLostError"


def test_a_port_in_use_is_one_line(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(ListenError, match="already in use"):
            PhoneRecorder(tmp_path / "x.capture", port=taken.getsockname()[1])
    assert not (tmp_path / "x.capture").exists()


def test_record_phone_emulated_records_analyses_and_stores(capsys):
    assert run(["record", "--phone", "--emulated", "--duration", "30", "--speed", "100", "--port", "0"]) == 0
    out, err = capsys.readouterr()
    assert "Push URL: http://127.0.0.1:" in err and "/push?token=" in err
    assert "listening on this computer only" not in err  # the emulated phone is on this computer
    assert "Saved " in out and "stored as session 1" in out
    assert run(["sessions"]) == 0


def test_record_phone_mistakes_are_usage_errors(capsys):
    assert run(["record", "--phone-os", "ios"]) == 2
    assert "add --phone" in capsys.readouterr().err
    assert run(["record", "--phone", "--phone-os", "windows"]) == 2
    assert run(["record", "--phone", "--sensor", "polar-h10"]) == 2
    assert run(["record", "--phone", "--listen", "no.such.host.invalid", "--port", "0"]) == 1
    assert "cannot listen" in capsys.readouterr().err


def test_listening_on_the_network_says_what_it_exposes():
    from rich.console import Console

    from tracker.cli.phone_command import _say_where

    console = Console(record=True, width=200)
    _say_where(console, "http://192.168.1.5:8765/push?token=abc", "0.0.0.0", emulated=False)
    text = console.export_text()
    assert "anyone on it who has this URL can push readings" in text and "unencrypted" in text
    console = Console(record=True, width=200)
    _say_where(console, "http://127.0.0.1:8765/push?token=abc", "127.0.0.1", emulated=False)
    assert "--listen 0.0.0.0" in console.export_text()


def test_a_phone_without_its_gyroscope_switched_on_is_told_once_and_still_recorded(tmp_path, sim, caplog):
    streams = phone_streams(sim, seed=4)
    messages = []
    for m in push_messages(streams, platform="android"):
        if m.at_s > 15:
            break
        body = json.loads(m.body)
        body["payload"] = [r for r in body["payload"] if r["name"] != "gyroscope"]
        messages.append(type(m)(m.at_s, json.dumps(body).encode(), m.message_id))
    with caplog.at_level("WARNING", logger="tracker.link.phone"):
        _recorder, out, live = record(tmp_path / "nogyro.capture", messages, speed=50.0, platform="android")
    told = [r for r in caplog.records if "no gyroscope" in r.getMessage()]
    assert len(told) == 1 and "switch on Gyroscope" in told[0].getMessage()
    assert live.session is None  # no live analysis without a gyroscope
    rec = load_capture(tmp_path / "nogyro.capture")
    assert not rec.has_gyro and rec.duration_s == pytest.approx(15, abs=1.2)

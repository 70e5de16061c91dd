"""A phone pushing live (`tracker record --phone`): decode cost per push, and push round trips.

    python benchmarks/phone_push.py [--seconds 300] [--speed 20]

1. Decode: a simulated session pushed as Sensor Logger pushes it (one message per second: about
   100 readings each of acceleration, gravity and gyroscope, plus Android's total acceleration)
   fed to `PhoneStreamDecoder.feed_body`, as the recorder does; CPU time per push (median, 95th
   percentile) for an Android phone and an iPhone, and the share of one core in real time.
2. Round trip: the emulated phone posts the same session over HTTP on this computer to a
   `PhoneRecorder` (capture written, decoded) at `--speed` times real time; the time from sending
   a push to its answer (median, 95th percentile): what the app waits for per push.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from tracker.emulator.phone import EmulatedPhone, phone_streams, push_messages
from tracker.link.phone import PhoneRecorder
from tracker.protocol.phone_stream import PhoneStreamDecoder
from tracker.simulate import random_script, simulate_session


def decode_cost(messages, phone_os: str) -> tuple[float, float, float]:
    decoder = PhoneStreamDecoder({"phone": {"platform": phone_os}}, keep_samples=False)
    costs = []
    for m in messages:
        t0 = time.process_time()
        decoder.feed_body(m.body, m.at_s)
        costs.append(time.process_time() - t0)
    c = np.array(costs)
    return float(np.median(c)), float(np.percentile(c, 95)), float(c.sum() / messages[-1].at_s)


def round_trips(messages, speed: float) -> tuple[float, float, int]:
    sent: list[float] = []

    async def go() -> EmulatedPhone:
        loop = asyncio.get_running_loop()
        with tempfile.TemporaryDirectory() as tmp:
            recorder = PhoneRecorder(Path(tmp) / "bench.capture", port=0, platform="android")
            phone_box: list[EmulatedPhone] = []

            def listening(url: str) -> None:
                phone = EmulatedPhone(url, messages, speed=speed)
                phone_box.append(phone)
                original = phone._try

                def timed(action, conn):  # noqa: ANN001, ANN202  wraps the emulator's one call
                    sent.append(time.monotonic())
                    return original(action, conn)

                phone._try = timed  # type: ignore[method-assign]

                def push() -> None:
                    phone.run()
                    loop.call_soon_threadsafe(recorder.stop)

                threading.Thread(target=push, daemon=True).start()

            recorder.on_listening = listening
            await recorder.run()
            return phone_box[0]

    phone = asyncio.run(go())
    rtt = np.array([r.sent_at_s for r in phone.results]) - np.array(sent[: len(phone.results)])
    return float(np.median(rtt)), float(np.percentile(rtt, 95)), len(rtt)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--speed", type=float, default=20.0)
    args = parser.parse_args()
    sim = simulate_session(random_script(7, duration_s=args.seconds), seed=7)
    streams = phone_streams(sim, seed=7)
    print(f"machine: {platform.machine()} {platform.python_implementation()} {platform.python_version()}")
    for phone_os in ("android", "ios"):
        messages = push_messages(streams, platform=phone_os)
        med, p95, share = decode_cost(messages, phone_os)
        size = np.median([len(m.body) for m in messages]) / 1024
        print(f"decode {phone_os:<8} {len(messages)} pushes of {size:.0f} kB: {1e3 * med:.2f} ms median, {1e3 * p95:.2f} ms p95 per push; {100 * share:.2f} % of a core")
    med, p95, n = round_trips(push_messages(streams, platform="android"), args.speed)
    print(f"round trip (android, {args.speed:g}x): {1e3 * med:.2f} ms median, {1e3 * p95:.2f} ms p95 over {n} pushes")


if __name__ == "__main__":
    main()

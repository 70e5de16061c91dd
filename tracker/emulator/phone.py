"""The emulated phone: a simulated session pushed over HTTP as Sensor Logger pushes it.

`phone_streams(sim)` samples a simulated session (`tracker.simulate`) the way a phone logs it:
the accelerometer and the gyroscope on their own clocks (own rate, own phase, timing jitter),
with the session's biases and phone-like noise. `push_messages(streams)` cuts those readings
into the app's messages (PUSHING.md's schema: `messageId`, `sessionId`, `deviceId`, `payload` of
`{name, time, values: {x, y, z}}`), one per batch period, as an Android phone (`totalacceleration`,
`accelerometer`, `gravity`, `gyroscope`) or an iPhone (`accelerometer` and `gravity` only, with
iOS's signs unless standardised) sends them; `time` is rounded to a double as JavaScript does.
`EmulatedPhone` posts them to a URL with the standard library's HTTP client at the pace of the
session (`speed` times faster), optionally pausing (a locked phone, a dropped Wi-Fi).

The truth is the simulator's (`sim.truth`), so a session recorded from the emulated phone is
scored against it exactly as a capture is.
"""

from __future__ import annotations

import asyncio
import functools
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from http.client import HTTPConnection, HTTPException
from typing import Any

import msgspec
import numpy as np

G = 9.80665
START = datetime(2025, 3, 1, 7, 30, 0, tzinfo=UTC)


@dataclass
class PhoneStreams:
    """One session as a phone logs it: accelerometer and gyroscope on their own clocks."""

    t_acc: np.ndarray
    """(N,) s from the session's start (the simulator's t = 0)."""
    total: np.ndarray
    """(N, 3) specific force in the sensor frame (Android convention), m/s²."""
    gravity: np.ndarray
    """(N, 3) gravity as Android's gravity sensor gives it (points up), at `t_acc`."""
    t_gyr: np.ndarray
    gyr: np.ndarray
    start_utc: datetime = START

    @property
    def linear(self) -> np.ndarray:
        return self.total - self.gravity

    def unix_ns(self, t: np.ndarray) -> np.ndarray:
        return (int(self.start_utc.timestamp() * 1e9) + np.round(t * 1e9)).astype(np.int64)


def _clock(duration_s: float, rate: float, phase_s: float, jitter: float, rng: np.random.Generator) -> np.ndarray:
    n = int((duration_s - phase_s) * rate)
    t = phase_s + np.arange(n) / rate + jitter * rng.uniform(-0.5, 0.5, n) / rate
    return np.sort(t[(t >= 0) & (t <= duration_s)])


def phone_streams(
    sim: Any,
    *,
    acc_rate: float = 100.0,
    gyr_rate: float = 100.0,
    gyr_phase_s: float = 0.0043,
    jitter: float = 0.2,
    acc_noise: float = 0.02,
    gyr_noise: float = 0.003,
    seed: int = 0,
    start_utc: datetime = START,
) -> PhoneStreams:
    """A simulated session (`tracker.simulate.SimulatedSession`) on a phone's clocks."""
    rng = np.random.default_rng(seed)
    duration = float(sim.truth.duration_s)
    t_acc = _clock(duration, acc_rate, 0.0021, jitter, rng)
    t_gyr = _clock(duration, gyr_rate, gyr_phase_s, jitter, rng)
    k = sim.trace(t_acc)
    total = k["acc_m_s2"] + sim.truth.accel_bias_m_s2 + acc_noise * rng.standard_normal((len(t_acc), 3))
    gravity = np.einsum("nji,j->ni", k["sensor_to_world"], np.array([0.0, 0.0, G]))
    gyr = (
        sim.trace(t_gyr)["gyr_rad_s"]
        + sim.truth.gyro_bias_rad_s
        + gyr_noise * rng.standard_normal((len(t_gyr), 3))
    )
    return PhoneStreams(t_acc, total, gravity, t_gyr, gyr, start_utc)


def shift_gyro(streams: PhoneStreams, seconds: float) -> PhoneStreams:
    """The gyroscope's clock moved by `seconds` (two streams that do not belong together)."""
    return replace(streams, t_gyr=streams.t_gyr + seconds)


# --- messages ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PushedMessage:
    """One message as the app would push it: when (session seconds) and the body."""

    at_s: float
    body: bytes
    message_id: int


def _readings(name: str, ns: np.ndarray, xyz: np.ndarray) -> list[dict[str, Any]]:
    # JavaScript numbers are doubles: a time in ns arrives rounded to one (256 ns steps today)
    return [
        {"name": name, "time": int(float(n)), "values": {"z": z, "y": y, "x": x}, "accuracy": 3}
        for n, (x, y, z) in zip(ns.tolist(), np.round(xyz, 6).tolist(), strict=True)
    ]


def push_messages(
    streams: PhoneStreams,
    *,
    platform: str = "android",
    standardised: bool = False,
    batch_s: float = 1.0,
    session_id: str = "a1b2c3d4-0000-4000-8000-000000000001",
    device_id: str = "e5f6a7b8-0000-4000-8000-000000000002",
    extra_readings: bool = True,
) -> list[PushedMessage]:
    """The session cut into the app's messages, one per `batch_s` of session time (a batch
    holds the readings taken in it; it is pushed at its end). See the module docstring."""
    sign = -1.0 if platform == "ios" and not standardised else 1.0
    acc_ns, gyr_ns = streams.unix_ns(streams.t_acc), streams.unix_ns(streams.t_gyr)
    end = float(max(streams.t_acc[-1], streams.t_gyr[-1]))
    out: list[PushedMessage] = []
    n_batches = int(np.ceil(end / batch_s)) + 1
    for k in range(n_batches):
        lo, hi = k * batch_s, (k + 1) * batch_s
        a = (streams.t_acc >= lo) & (streams.t_acc < hi)
        g = (streams.t_gyr >= lo) & (streams.t_gyr < hi)
        payload: list[dict[str, Any]] = []
        if platform == "android":
            payload += _readings("totalacceleration", acc_ns[a], streams.total[a])
        payload += _readings("accelerometer", acc_ns[a], sign * streams.linear[a])
        payload += _readings("gravity", acc_ns[a], sign * streams.gravity[a])
        payload += _readings("gyroscope", gyr_ns[g], streams.gyr[g])
        if extra_readings and a.any():
            payload.append({"name": "battery", "time": int(float(acc_ns[a][0])), "values": {"batteryLevel": 0.8, "batteryState": "unplugged", "lowPowerMode": False}})
        if not payload:
            continue
        body = {"messageId": len(out), "sessionId": session_id, "deviceId": device_id, "payload": payload}
        out.append(PushedMessage(min(hi, end), msgspec.json.encode(body), len(out)))  # compact; small numbers as 0.000062, as JavaScript writes them
    return out


# --- the HTTP client -------------------------------------------------------------------------------
@dataclass
class PushResult:
    message_id: int
    status: int
    sent_at_s: float
    """Host monotonic time the response came back."""


class EmulatedPhone:
    """Posts messages to `url` at the session's pace (`speed` times faster), like the app.

    `pauses` are (from, to) in session seconds during which nothing is pushed and the messages
    due are dropped (a locked phone whose app could not push, as at-most-once delivery);
    `extra` is a list of (session seconds, callable(connection) -> status) run at that time
    (a wrong token, a broken body: the tests' hostile pushes). `results` has every answer.
    """

    def __init__(
        self,
        url: str,
        messages: list[PushedMessage],
        *,
        speed: float = 1.0,
        pauses: tuple[tuple[float, float], ...] = (),
        extra: list[tuple[float, Callable[[HTTPConnection, str], int]]] | None = None,
        timeout_s: float = 5.0,
    ) -> None:
        self.url = url
        self.messages = messages
        self.speed = float(speed)
        self.pauses = pauses
        self.extra = sorted(extra or [], key=lambda e: e[0])
        self.timeout_s = timeout_s
        self.results: list[PushResult] = []
        self.extra_statuses: list[int] = []
        self.errors: list[str] = []
        self.done = threading.Event()
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def _paused(self, at_s: float) -> bool:
        return any(a <= at_s < b for a, b in self.pauses)

    def run(self) -> None:
        """Push everything (blocking; run it in a thread)."""
        parts = urllib.parse.urlsplit(self.url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        conn = HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=self.timeout_s)
        t0 = time.monotonic()
        extra = list(self.extra)
        try:
            for msg in self.messages:
                while extra and extra[0][0] <= msg.at_s:
                    _at, action = extra.pop(0)
                    self.extra_statuses.append(self._try(functools.partial(action, conn, target), conn))
                delay = t0 + msg.at_s / self.speed - time.monotonic()
                if delay > 0 and self._stop.wait(delay):
                    return
                if self._stop.is_set():
                    return
                if self._paused(msg.at_s):
                    continue
                status = self._try(functools.partial(_post, conn, target, msg.body), conn)
                self.results.append(PushResult(msg.message_id, status, time.monotonic()))
        finally:
            conn.close()
            self.done.set()

    def _try(self, action: Callable[[], int], conn: HTTPConnection) -> int:
        try:
            return action()
        except (OSError, HTTPException) as exc:
            self.errors.append(f"{type(exc).__name__}: {exc}")
            conn.close()  # the next request opens a new connection, as the app would
            return 0

    async def run_async(self) -> None:
        await asyncio.to_thread(self.run)


def _post(conn: HTTPConnection, target: str, body: bytes, headers: dict[str, str] | None = None) -> int:
    conn.request("POST", target, body=body, headers={"Content-Type": "application/json", **(headers or {})})
    response = conn.getresponse()
    response.read()
    return int(response.status)


def post(conn: HTTPConnection, target: str, body: bytes, headers: dict[str, str] | None = None) -> int:
    """One POST on an open connection; the response status."""
    return _post(conn, target, body, headers)

"""From Sensor Logger's pushed bodies to timed IMU samples in SI units (a phone, live).

`PhoneStreamDecoder` is to a phone what `tracker.protocol.stream.StreamDecoder` is to the
tracker IMU: the one decode path, fed live by `tracker record --phone` and on replay from the
capture, with the same outputs (blocks for the live view, `to_recording`, statistics). For each
pushed body (`feed_body`; `feed` takes the capture's notifications, parts of bodies):

1. parse it (`tracker.protocol.phone_push.parse_message`); a body that is not a message is
   counted by reason, logged (rate-limited) and `last_error` says why, never raised;
2. skip a message pushed twice (same session and message id) and a message from another phone,
   counted; count the message ids that never came;
3. acceleration with gravity: `totalacceleration` when the phone pushes it (Android), otherwise
   `accelerometer` (gravity removed) plus `gravity` put on its times; which of the two is fixed
   by the first message that holds either. iOS signs are turned into Android's exactly as for a
   Sensor Logger file (`tracker.protocol.phone_push.acceleration_sign`), from the platform
   the capture's `settings.phone` states;
4. each stream keeps its own clock (the reading's `time`, UTC ns); readings at or before the last
   one of their stream are late (a resent batch) and dropped, counted; the gyroscope is put on the
   accelerometer's timeline incrementally (`tracker.imu.StreamAligner`, the same rows as
   `align_streams` on the whole streams);
5. a step in the accelerometer's times of more than `GAP_FACTOR` sample periods is a gap (the
   phone locked, the Wi-Fi dropped): counted with the samples it lost, never filled.

Times: `t_sensor_s` is the phone's clock in seconds since its first motion reading; the sample
rate is the accelerometer's, measured from the first message that holds some (median step).
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from tracker.imu import StreamAligner
from tracker.protocol.decoded import SampleBlock, StatsSummary
from tracker.protocol.phone_push import (
    MAX_PART,
    BodyAssembler,
    PushFormatError,
    Readings,
    parse_message,
)

log = logging.getLogger(__name__)

PHONE_KIND = "phone"
"""The sensor kind of a phone pushing its readings (a capture's `sensor.driver`)."""
GAP_FACTOR = 2.5
"""A step of more than this many sample periods in the accelerometer's times is a gap."""
MIN_RATE_HZ, MAX_RATE_HZ = 5.0, 2000.0
RATE_SAMPLES = 10
"""Accelerometer samples the rate is measured from (median step); samples are held until then."""
RECENT_MESSAGES = 4096
"""Message ids remembered to recognise a message pushed twice."""
PLATFORMS = ("android", "ios")


PhoneBlock = SampleBlock
"""The block this decoder delivers (`decoded.SampleBlock`)."""


@dataclass
class PhoneDecodeStats(StatsSummary):
    """Counters of a `PhoneStreamDecoder` (all since it was created)."""

    packets: int = 0
    """Capture notifications (parts of bodies) fed; bodies fed whole count one each."""
    bodies: int = 0
    messages: int = 0
    """Bodies that were Sensor Logger messages and were used."""
    malformed: dict[str, int] = field(default_factory=dict)
    """Bodies not used, by reason ("not_json", "not_a_message", "incomplete_body", ...)."""
    readings: dict[str, int] = field(default_factory=dict)
    """Readings by name, in the messages used (motion or not)."""
    skipped_readings: int = 0
    """Motion readings without a usable time or values."""
    late_readings: int = 0
    """Motion readings at or before the last one of their stream (dropped)."""
    duplicates: int = 0
    """Messages pushed twice (dropped)."""
    missing_messages: int = 0
    """Message ids that never came (a push that failed)."""
    other_device: int = 0
    sessions: int = 0
    samples: int = 0
    """Samples delivered on the output timeline (after alignment)."""
    gaps: int = 0
    lost_samples: int = 0
    """Accelerometer samples missing in gaps, from the sample period."""
    unaligned: int = 0
    """Acceleration samples dropped for want of gyroscope (or gravity) samples around them."""
    acceleration: str | None = None
    """"totalacceleration" or "accelerometer+gravity"."""
    platform: str | None = None
    """The platform whose sign convention was applied ("android", "ios"), None when not stated."""
    standardised: bool = False


def phone_settings_of(settings: Mapping[str, Any] | None) -> dict[str, Any]:
    """The "phone" entry of capture settings: {"app", "platform", "standardised"} (may be empty)."""
    raw = (settings or {}).get("phone")
    return dict(raw) if isinstance(raw, Mapping) else {}


class _Stream:
    """One pushed sensor's readings on its own clock, after the late ones were dropped."""

    def __init__(self) -> None:
        self.last_ns: int | None = None

    def fresh(self, readings: Readings, stats: PhoneDecodeStats) -> tuple[np.ndarray, np.ndarray]:
        """The readings in time order, without repeated times and those not after the last
        reading taken from this stream."""
        t, xyz = readings.time_ns, readings.xyz
        if len(t) > 1 and np.any(np.diff(t) <= 0):
            order = np.argsort(t, kind="stable")
            t, xyz = t[order], xyz[order]
            keep = np.concatenate([[True], np.diff(t) > 0])
            stats.late_readings += int(np.count_nonzero(~keep))
            t, xyz = t[keep], xyz[keep]
        if self.last_ns is not None:
            keep = t > self.last_ns
            stats.late_readings += int(np.count_nonzero(~keep))
            t, xyz = t[keep], xyz[keep]
        if len(t):
            self.last_ns = int(t[-1])
        return t, xyz


class PhoneStreamDecoder:
    """Decode a live or replayed stream of Sensor Logger pushes into timed SI samples.

    Parameters
    ----------
    settings
        Capture/stream settings; their "phone" entry says the platform and whether the app
        standardised its units and frames (`{"platform": "ios", "standardised": false}`).
    keep_samples
        Keep every delivered sample for `to_recording` (a live view that only uses the returned
        blocks can pass False).
    max_gap_s
        Gyroscope (or gravity) samples further apart than this leave the acceleration samples
        between them out (as `tracker.imu.align_streams`).
    log_first, log_interval_s
        Logging of unusable bodies: the first `log_first` of each reason, then at most one per
        `log_interval_s` of host time.
    """

    def __init__(
        self,
        settings: Mapping[str, Any] | None = None,
        *,
        keep_samples: bool = True,
        max_gap_s: float = 0.25,
        log_first: int = 5,
        log_interval_s: float = 10.0,
    ) -> None:
        phone = phone_settings_of(settings)
        platform = phone.get("platform")
        self.platform = platform if platform in PLATFORMS else None
        self.standardised = bool(phone.get("standardised", False))
        self.keep_samples = keep_samples
        self.log_first = int(log_first)
        self.log_interval_s = float(log_interval_s)
        self.host_reference_ns: int | None = None
        """Set by a replay: host times fed are seconds after this host clock value (ns)."""
        self.last_error: PushFormatError | None = None
        """Why the last body fed was not used (None: it was)."""
        self._stats = PhoneDecodeStats(platform=self.platform, standardised=self.standardised)
        self._assembler = BodyAssembler()
        self._mode: str | None = None
        self._device: str | None = None
        self._session: str | None = None
        self._last_id: int | None = None
        self._recent: deque[tuple[str | None, int]] = deque(maxlen=RECENT_MESSAGES)
        self._recent_set: set[tuple[str | None, int]] = set()
        self._streams = {name: _Stream() for name in ("totalacceleration", "accelerometer", "gravity", "gyroscope")}
        self._gravity = StreamAligner(max_gap_s)  # accelerometer (base) and gravity
        self._gyro = StreamAligner(max_gap_s)  # acceleration with gravity (base) and gyroscope
        self._gyro_seen = False
        self._origin_ns: int | None = None
        self._rate_hz: float | None = None
        self._probe: list[np.ndarray] = []
        self._held: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._last_acc_t: float | None = None
        self._pending_lost = 0
        self._host_offset: float | None = None
        self._out: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._acc_all: list[tuple[np.ndarray, np.ndarray]] = []
        self._kept = 0
        self._log_count: dict[str, int] = {}
        self._log_last: dict[str, float] = {}
        self._log_suppressed: dict[str, int] = {}

    # --- feeding -----------------------------------------------------------------------------
    def feed(self, payload: bytes | bytearray | memoryview, host_time_s: float) -> PhoneBlock | None:
        """One capture notification (a part of a pushed body); returns the samples of the body it
        completed, or None. Never raises on the payload's content."""
        self._stats.packets += 1
        before = (self._assembler.incomplete, self._assembler.malformed_parts)
        body = self._assembler.add(bytes(payload))
        lost = self._assembler.incomplete - before[0]
        bad = self._assembler.malformed_parts - before[1]
        if lost:
            self._count("incomplete_body", "a pushed body lost a part in the capture", host_time_s, lost)
        if bad:
            self._count("malformed_part", "a capture notification too short to be part of a body", host_time_s, bad)
        if body is None:
            return None
        return self._body(body, float(host_time_s))

    def feed_body(self, body: bytes, host_time_s: float) -> PhoneBlock | None:
        """One pushed body as received (the live server); `last_error` says why it was not used.
        It counts as the parts a capture keeps it in, so live and replay statistics agree."""
        self._stats.packets += max(1, -(-len(body) // MAX_PART))
        return self._body(bytes(body), float(host_time_s))

    def _body(self, body: bytes, host: float) -> PhoneBlock | None:
        st = self._stats
        st.bodies += 1
        self.last_error = None
        try:
            msg = parse_message(body)
        except PushFormatError as exc:
            self.last_error = exc
            self._count(exc.reason, str(exc), host)
            return None
        if msg.device_id is not None:
            if self._device is None:
                self._device = msg.device_id
            elif msg.device_id != self._device:
                st.other_device += 1
                self.last_error = PushFormatError("other_device", "a message from another phone")
                self._log_limited("other_device", host, "ignored a push from another phone (deviceId %s)", msg.device_id[:40])
                return None
        if not self._new_message(msg.session_id, msg.message_id):
            return None
        st.messages += 1
        st.skipped_readings += msg.skipped
        for name, n in msg.names.items():
            st.readings[name] = st.readings.get(name, 0) + n
        return self._motion(msg.readings, host)

    def _new_message(self, session: str | None, message_id: int | None) -> bool:
        """False for a message pushed twice; counts sessions and message ids that never came."""
        st = self._stats
        if session != self._session or st.sessions == 0:
            st.sessions += 1
            self._session = session
            self._last_id = None
        if message_id is None:
            return True
        key = (session, message_id)
        if key in self._recent_set:
            st.duplicates += 1
            return False
        if len(self._recent) == self._recent.maxlen:
            self._recent_set.discard(self._recent[0])
        self._recent.append(key)
        self._recent_set.add(key)
        if self._last_id is not None and message_id > self._last_id + 1:
            st.missing_messages += message_id - self._last_id - 1
        if self._last_id is None or message_id > self._last_id:
            self._last_id = message_id
        return True

    # --- readings to samples ---------------------------------------------------------------------
    def _motion(self, readings: dict[str, Readings], host: float) -> PhoneBlock | None:
        if self._mode is None:
            if "totalacceleration" in readings:
                self._mode = "totalacceleration"
            elif "accelerometer" in readings:
                self._mode = "accelerometer+gravity"
            self._stats.acceleration = self._mode
        fresh = {n: self._streams[n].fresh(r, self._stats) for n, r in readings.items()}
        if self._origin_ns is None:
            starts = [int(t[0]) for t, _ in fresh.values() if len(t)]
            if not starts:
                return None
            self._origin_ns = min(starts)
        secs = {n: ((t - self._origin_ns).astype(np.float64) / 1e9, v) for n, (t, v) in fresh.items() if len(t)}
        parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        if "gyroscope" in secs:
            self._gyro_seen = True
            parts.append(self._gyro.push_other(*secs["gyroscope"]))
        if self._mode == "totalacceleration" and "totalacceleration" in secs:
            parts.append(self._acceleration(*secs["totalacceleration"], host))
        elif self._mode == "accelerometer+gravity":
            sign = self._sign()
            if "gravity" in secs:
                t, grav = secs["gravity"]
                parts.append(self._with_gravity(self._gravity.push_other(t, grav * sign), host))
            if "accelerometer" in secs:
                t, lin = secs["accelerometer"]
                parts.append(self._with_gravity(self._gravity.push_base(t, lin * sign), host))
        self._stats.unaligned = self._gravity.dropped + self._gyro.dropped
        got = [p for p in parts if len(p[0])]
        if not got:
            return None
        t = np.concatenate([p[0] for p in got])
        if len(got) > 1:
            order = np.argsort(t, kind="stable")
            t = t[order]
            acc = np.concatenate([p[1] for p in got])[order]
            gyr = np.concatenate([p[2] for p in got])[order]
        else:
            acc, gyr = got[0][1], got[0][2]
        return self._emit(t, acc, gyr, host)

    def _sign(self) -> float:
        from tracker.protocol.phone_push import acceleration_sign

        return acceleration_sign(self.platform, self.standardised)

    def _with_gravity(self, rows: tuple[np.ndarray, np.ndarray, np.ndarray], host: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        t, lin, grav = rows
        if not len(t):
            return rows
        return self._acceleration(t, lin + grav, host)

    def _acceleration(self, t: np.ndarray, acc: np.ndarray, host: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Acceleration with gravity on its own clock: the rate, gaps, then the gyroscope."""
        if self._rate_hz is None:
            self._probe.append(t)
            probe = np.concatenate(self._probe)
            if len(probe) >= RATE_SAMPLES:
                step = float(np.median(np.diff(probe)))
                rate = round(1.0 / step, 1) if step > 0 else 0.0
                if MIN_RATE_HZ <= rate <= MAX_RATE_HZ:
                    self._rate_hz = rate
                    self._probe = []
                else:
                    self._probe = [probe[-RATE_SAMPLES:]]
        if self._rate_hz is not None:
            period = 1.0 / self._rate_hz
            steps = np.diff(np.concatenate([[self._last_acc_t], t])) if self._last_acc_t is not None else np.diff(t)
            gaps = steps[steps > GAP_FACTOR * period]
            if gaps.size:
                lost = int(np.sum(np.rint(gaps / period) - 1))
                self._stats.gaps += int(gaps.size)
                self._stats.lost_samples += lost
                self._pending_lost += lost
        self._last_acc_t = float(t[-1])
        off = host - float(t[-1])
        self._host_offset = off if self._host_offset is None else min(self._host_offset, off)
        if self.keep_samples:
            self._acc_all.append((t, acc))
        return self._gyro.push_base(t, acc)

    def _emit(self, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray, host: float) -> PhoneBlock | None:
        if self._rate_hz is None:  # a live view needs the rate with the first samples
            self._held.append((t, acc, gyr))
            return None
        if self._held:
            held = [*self._held, (t, acc, gyr)]
            self._held = []
            t, acc, gyr = (np.concatenate([h[k] for h in held]) for k in range(3))
        lost, self._pending_lost = self._pending_lost, 0
        self._stats.samples += len(t)
        self._kept += len(t)
        if self.keep_samples:
            self._out.append((t, acc, gyr))
        return PhoneBlock(t, acc, gyr, np.array([host]), int(lost))

    # --- logging ---------------------------------------------------------------------------------
    def _count(self, reason: str, what: str, host: float, n: int = 1) -> None:
        st = self._stats
        st.malformed[reason] = st.malformed.get(reason, 0) + n
        self._log_limited(reason, host, "pushed body not used (%s)", what[:200])

    def _log_limited(self, kind: str, host_time_s: float, msg: str, *args: Any) -> None:
        seen = self._log_count.get(kind, 0) + 1
        self._log_count[kind] = seen
        last = self._log_last.get(kind)
        if seen <= self.log_first or last is None or host_time_s - last >= self.log_interval_s:
            suppressed = self._log_suppressed.pop(kind, 0)
            more = f" ({suppressed} more since the last report)" if suppressed else ""
            log.warning(msg + "%s", *args, more)
            self._log_last[kind] = host_time_s
        else:
            self._log_suppressed[kind] = self._log_suppressed.get(kind, 0) + 1

    # --- results ---------------------------------------------------------------------------------
    @property
    def stats(self) -> PhoneDecodeStats:
        return self._stats

    @property
    def samples_kept(self) -> int:
        return self._kept

    @property
    def sample_rate_hz(self) -> float:
        """The accelerometer's rate, measured from the first message with acceleration (0 before)."""
        return float(self._rate_hz or 0.0)

    @property
    def gyro_seen(self) -> bool:
        return self._gyro_seen

    def host_time_at(self, t_sensor_s: float | np.ndarray) -> float | np.ndarray:
        """Host clock (the caller's, s) when the phone took a sample at `t_sensor_s`: the lower
        envelope of receive time minus phone time (a push only ever adds delay)."""
        t = np.asarray(t_sensor_s, dtype=np.float64)
        out = t + (self._host_offset or 0.0)
        return float(out) if out.ndim == 0 else out

    def utc_at(self, t_sensor_s: float) -> datetime | None:
        """The phone's own UTC time of a sample (its readings are stamped in UTC ns)."""
        if self._origin_ns is None or not math.isfinite(t_sensor_s):
            return None
        try:
            return datetime.fromtimestamp((self._origin_ns + round(t_sensor_s * 1e9)) / 1e9, UTC)
        except (OverflowError, OSError, ValueError):
            return None

    def _arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if not self._gyro_seen and self._acc_all:
            # the phone never pushed its gyroscope: an accelerometer-only recording
            t = np.concatenate([a[0] for a in self._acc_all])
            acc = np.concatenate([a[1] for a in self._acc_all])
            return t, acc, np.full_like(acc, np.nan)
        if not self._out:
            return np.zeros(0), np.zeros((0, 3)), np.zeros((0, 3))
        return tuple(np.concatenate([o[k] for o in self._out]) for k in range(3))  # type: ignore[return-value]

    def t_sensor_s(self) -> np.ndarray:
        """(N,) phone time of every kept sample, s since the first motion reading."""
        return self._arrays()[0].copy()

    def notes(self) -> list[str]:
        """What a person should know about how the pushes were read."""
        from tracker.protocol.phone_push import IOS_FLIP_NOTE

        out = []
        if self._mode == "accelerometer+gravity":
            if self._sign() < 0:
                out.append(IOS_FLIP_NOTE)
            elif self.platform is None:
                out.append(
                    "the phone pushed acceleration without gravity and gravity apart, and its platform "
                    "was not stated: their signs were read as Android's (an iPhone with Standardise "
                    "Units & Frames off needs --phone-os ios)"
                )
        if self._acc_all and not self._gyro_seen:
            out.append("the phone pushed no gyroscope readings: this recording is accelerometer-only")
        if self._mode is None and self._stats.messages:
            out.append("the phone pushed no acceleration: switch on Accelerometer and Gravity (Android: Total Acceleration) in Sensor Logger")
        return out

    def to_recording(
        self,
        *,
        start_utc: datetime | None = None,
        calibration: Any = None,
        source: dict[str, Any] | None = None,
        utc_offset_s: int | None = None,
        timezone: str | None = None,
    ) -> Any:
        """Every kept sample as an `ImuRecording` (times from 0). The start is the phone's own
        time of the first sample unless `start_utc` is given; `source` gets a `decode` entry with
        the statistics and the notes of `notes()`."""
        from tracker.imu import ImuRecording

        if not self.keep_samples:
            raise ValueError("this decoder was created with keep_samples=False")
        t, acc, gyr = self._arrays()
        src = dict(source or {})
        src["decode"] = self.stats.to_json()
        src["notes"] = list(src.get("notes", [])) + self.notes()
        if start_utc is None and len(t):
            start_utc = self.utc_at(float(t[0]))
        return ImuRecording(
            t_s=t - t[0] if len(t) else t,
            acc_m_s2=acc,
            gyr_rad_s=gyr,
            sampling_rate_hz=self.sample_rate_hz or 1.0,
            start_utc=start_utc,
            utc_offset_s=utc_offset_s,
            timezone=timezone,
            calibration=calibration,
            source=src,
        )

"""Which kind of sensor wrote a capture, and the decoder its data notifications need.

A capture's header names the sensor kind in `sensor.driver` ("tracker-imu", "polar-h10",
"polar-verity", "phone"; captures without it are "tracker-imu"). The "imu" notifications are
firmware_protocol.md packets for the tracker IMU (`tracker.protocol.stream.StreamDecoder`) and
PMD data frames for a Polar sensor (`tracker.protocol.pmd_stream.PmdStreamDecoder`), which also
needs the per-measurement settings the sensor confirmed at start: `settings.pmd` in the header
(written as a header update once streaming started), or, in a capture cut before that update,
the factors of the start responses recorded among the "control" notifications. A phone's "imu"
notifications are the bodies it pushed, in parts (`tracker.protocol.phone_push`), decoded by
`tracker.protocol.phone_stream.PhoneStreamDecoder` with the platform `settings.phone` states.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tracker.protocol.pmd import PMD_SENSOR_KINDS

if TYPE_CHECKING:
    from tracker.protocol.pmd_stream import PmdStreamDecoder

DEFAULT_KIND = "tracker-imu"
BATCH_FRAMES = 4096
"""Frames decoded per `feed_many` call on replay (the two Verity streams are aligned per batch)."""


def sensor_kind(header: dict[str, Any]) -> str:
    """The sensor kind a capture header names (`sensor.driver`), "tracker-imu" when it names none."""
    sensor = header.get("sensor")
    kind = sensor.get("driver") if isinstance(sensor, dict) else None
    return kind if isinstance(kind, str) and kind else DEFAULT_KIND


def is_pmd_kind(kind: str) -> bool:
    return kind in PMD_SENSOR_KINDS


def pmd_capture_settings(contents: Any) -> dict[str, dict[str, Any]]:
    """Per-measurement PMD settings of a capture: the header's `settings.pmd`, completed with
    the factors of start responses recorded on the control point when the header lacks them."""
    from tracker.protocol import pmd
    from tracker.protocol.pmd_stream import pmd_settings_of

    streams = pmd_settings_of(contents.header.get("settings"))
    rate = (contents.header.get("settings") or {}).get("sample_rate_hz")
    control = contents.notifications.get("control")
    for name in PMD_SENSOR_KINDS.get(sensor_kind(contents.header), ()):
        entry = streams.setdefault(name, {})
        if "sample_rate" not in entry and rate:
            entry["sample_rate"] = rate
        if "factor" in entry or control is None:
            continue
        for _t, payload in control:
            try:
                response = pmd.parse_cp_response(payload)
            except pmd.PmdError:
                continue
            if (
                response.ok
                and response.op_code == pmd.OpCode.REQUEST_MEASUREMENT_START
                and response.measurement_name == name
            ):
                entry["factor"] = float(response.settings.get("factor", 1.0))
                break
    return streams


def pmd_decoder_for_capture(contents: Any, **options: Any) -> PmdStreamDecoder:
    """A `PmdStreamDecoder` configured from a Polar capture's header (and recorded answers)."""
    from tracker.protocol.pmd_stream import PmdStreamDecoder

    kind = sensor_kind(contents.header)
    return PmdStreamDecoder(
        PMD_SENSOR_KINDS[kind], pmd_capture_settings(contents) or None, **options
    )


def decode_pmd_capture(
    contents: Any, *, samples_at: dict[int, int] | None = None
) -> PmdStreamDecoder:
    """Run a Polar capture's data frames through the live decode path, in arrival order.

    `samples_at` is filled like `decode_capture`'s: {IMU notification index of each damaged
    span: samples decoded before it}."""
    decoder = pmd_decoder_for_capture(contents)
    imu = contents.imu
    if not len(imu):
        return decoder
    marks = sorted({d.imu_index for d in contents.damage}) if samples_at is not None else []
    ref_ns = int(imu.host_time_ns[0])
    times = (imu.host_time_ns - ref_ns) / 1e9
    payloads = imu.payloads()
    bounds = [0, *(m for m in marks if 0 < m < len(payloads)), len(payloads)]
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):  # batches between damaged spans
        if samples_at is not None and lo in marks:
            samples_at[lo] = decoder.samples_kept
        for a in range(lo, hi, BATCH_FRAMES):
            b = min(hi, a + BATCH_FRAMES)
            decoder.feed_many(payloads[a:b], times[a:b])
    if samples_at is not None:
        for m in marks:
            samples_at.setdefault(m, decoder.samples_kept)
    decoder.host_reference_ns = ref_ns
    return decoder


def is_phone_kind(kind: str) -> bool:
    from tracker.protocol.phone_stream import PHONE_KIND

    return kind == PHONE_KIND


def phone_decoder_for_capture(contents: Any, **options: Any) -> Any:
    """A `PhoneStreamDecoder` configured from a phone capture's header (its `settings.phone`)."""
    from tracker.protocol.phone_stream import PhoneStreamDecoder

    return PhoneStreamDecoder(contents.header.get("settings"), **options)


def decode_phone_capture(contents: Any, *, samples_at: dict[int, int] | None = None) -> Any:
    """Run a phone capture's pushed bodies through the live decode path, in arrival order
    (`samples_at` as for `decode_capture`)."""
    decoder = phone_decoder_for_capture(contents)
    imu = contents.imu
    if not len(imu):
        return decoder
    marks = {d.imu_index for d in contents.damage} if samples_at is not None else set()
    ref_ns = int(imu.host_time_ns[0])
    for i, (t_ns, payload) in enumerate(imu):
        if samples_at is not None and i in marks:
            samples_at[i] = decoder.samples_kept
        decoder.feed(payload, (int(t_ns) - ref_ns) / 1e9)
    if samples_at is not None:
        for m in marks:
            samples_at.setdefault(m, decoder.samples_kept)
    decoder.host_reference_ns = ref_ns
    return decoder


def heart_rate_summary(contents: Any) -> dict[str, Any] | None:
    """The heart rate a capture recorded alongside (a Polar H10's): {"measurements", "min_bpm",
    "mean_bpm", "max_bpm", "malformed"}, or None when it holds none."""
    from tracker.protocol.heart_rate import HeartRateError, decode_heart_rate

    notes = contents.notifications.get("heart_rate")
    if notes is None or not len(notes):
        return None
    rates, malformed = [], 0
    for _t, payload in notes:
        try:
            rates.append(decode_heart_rate(payload).bpm)
        except HeartRateError:
            malformed += 1
    if not rates:
        return {"measurements": 0, "malformed": malformed}
    return {
        "measurements": len(rates),
        "min_bpm": min(rates),
        "mean_bpm": round(sum(rates) / len(rates), 1),
        "max_bpm": max(rates),
        "malformed": malformed,
    }

"""Write the crafted-capture corpus beside this script: `python tests/capture/hostile/make_hostile.py`.

Every file is a small capture (12 s of a sensor lying still, 50 Hz) whose records have valid CRCs
but values a writer would never put there (the crafted kinds of issue 10), or damage a reader must
survive. `expected.json` says, per file, what tracker must do with it: fail with one line naming
the field (`"fails"`), read it and say so in a note naming the field (`"notes"`), or just read
it (`"reads"`: hostile strings for the display tests). The files are committed, so a
change to the writer cannot quietly change what the reader is tested on; rerun this script only to
add a case.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from tracker.capture import format as fmt  # noqa: E402
from tracker.protocol import packets  # noqa: E402

RATE = 50
HOST0 = 10_000_000_000
SETTINGS = '{"sample_rate_hz":50,"accel_range_g":4,"gyro_range_dps":500,"att_mtu":23}'
CLOCK = '{"host_clock":"monotonic","anchor_host_ns":10000000000,"anchor_utc_ns":1767000000000000000}'
SENSOR = '{"name":"TRK-0BAD","address":"C0:FF:EE:00:0B:AD"}'


def header(
    settings: str = SETTINGS, clock: str = CLOCK, sensor: str = SENSOR, extra: str = "{}", more: str = ""
) -> bytes:
    text = (
        '{"format":"tracker-capture","format_version":"1.0",'
        f'"settings":{settings},"clock":{clock},"sensor":{sensor},"extra":{extra}{more}'
        "}"
    )
    return text.encode()


def _stream() -> list[bytes]:
    """Notification blocks of 12 s at rest (gravity on z), 0.5 s each."""
    n = 12 * RATE
    rng = np.random.default_rng(7)
    counts = np.zeros((n, 6), np.int16)
    counts[:, 2] = 8192  # 1 g at +-4 g
    counts += rng.integers(-20, 21, counts.shape).astype(np.int16)
    pk = packets.encode_stream(counts, RATE, 23)
    times = [HOST0 + 20_000_000 * (i + 1) for i in range(len(pk))]
    per = RATE // 2
    return [
        fmt.encode_record(
            fmt.RecordType.NOTIFICATIONS,
            times[min(i + per, len(pk)) - 1],
            fmt.encode_block(fmt.Source.IMU, times[i : i + per], pk[i : i + per]),
        )
        for i in range(0, len(pk), per)
    ]


def capture(head: bytes, events: list[bytes] = (), updates: list[bytes] = ()) -> bytes:
    """Signature, the header (no copies: a format 1.0 writer's file), the stream with the events
    and updates after its first block, and the end record."""
    blocks = _stream()
    out = [fmt.SIGNATURE, fmt.encode_record(fmt.RecordType.HEADER, HOST0, head), blocks[0]]
    out += [fmt.encode_record(fmt.RecordType.EVENT, HOST0 + 1, e) for e in events]
    out += [fmt.encode_record(fmt.RecordType.HEADER_UPDATE, HOST0 + 2, u) for u in updates]
    out += blocks[1:]
    out.append(fmt.encode_record(fmt.RecordType.END, HOST0 + 10**10, b'{"notifications":600,"records":30}'))
    return b"".join(out)


def _settings(**values: str) -> str:
    base = {"sample_rate_hz": "50", "accel_range_g": "4", "gyro_range_dps": "500"}
    base.update(values)
    return "{" + ",".join(f'"{k}":{v}' for k, v in base.items()) + "}"


HOSTILE_SENSOR = (
    '{"name":"[red]X\\u001b[2J[/]","address":"C0:FF:EE:00:0B:AD",'
    '"firmware_revision":"\\u001b]0;pwned\\u0007 [bold]1.0"}'
)
"""Rich markup that would recolour or crash, a terminal escape that clears the screen, one that
retitles the window: all must be shown as text."""
DEEP = "[" * 100_000 + "]" * 100_000

# name -> (file bytes, expectation, text the outcome must contain)
CASES: dict[str, tuple[bytes, str, str]] = {
    "rate_zero": (capture(header(_settings(sample_rate_hz="0"))), "fails", "settings.sample_rate_hz"),
    "rate_negative": (capture(header(_settings(sample_rate_hz="-100"))), "fails", "settings.sample_rate_hz"),
    "rate_nan": (capture(header(_settings(sample_rate_hz="NaN"))), "fails", "settings.sample_rate_hz"),
    "rate_inf": (capture(header(_settings(sample_rate_hz="Infinity"))), "fails", "settings.sample_rate_hz"),
    "rate_1e300": (capture(header(_settings(sample_rate_hz="1e300"))), "fails", "settings.sample_rate_hz"),
    "accel_range_inf": (capture(header(_settings(accel_range_g="Infinity"))), "fails", "settings.accel_range_g"),
    "accel_range_10e400": (capture(header(_settings(accel_range_g="1" + "0" * 400))), "fails", "settings.accel_range_g"),
    "gyro_range_inf": (capture(header(_settings(gyro_range_dps="Infinity"))), "fails", "settings.gyro_range_dps"),
    "gyro_range_10e400": (capture(header(_settings(gyro_range_dps="1" + "0" * 400))), "fails", "settings.gyro_range_dps"),
    "clock_anchor_1e30": (capture(header(clock='{"anchor_host_ns":10000000000,"anchor_utc_ns":1e30}')), "notes", "clock.anchor_utc_ns"),
    "clock_anchor_host_1e30": (capture(header(clock='{"anchor_host_ns":1e30,"anchor_utc_ns":0}')), "notes", "clock.anchor_host_ns"),
    "clock_not_an_object": (capture(header(clock='"x"')), "notes", "clock"),
    "settings_not_an_object": (capture(header(settings='"x"')), "fails", "settings: expected object"),
    "sensor_not_an_object": (capture(header(sensor='"x"')), "notes", "sensor"),
    "calibration_not_an_object": (capture(header(more=',"calibration":"x"')), "notes", "calibration"),
    "utc_offset_nan": (capture(header(more=',"utc_offset_s":NaN')), "notes", "utc_offset_s"),
    "utc_offset_1e30": (capture(header(more=',"utc_offset_s":1e30')), "notes", "utc_offset_s"),
    "header_nested_100000_deep": (capture(header(extra=DEEP)), "fails", "nested"),
    "header_not_an_object": (capture(b"[1,2,3]"), "fails", "not an object"),
    "sensor_name_hostile": (capture(header(sensor=HOSTILE_SENSOR)), "reads", ""),
    "timezone_not_a_zone": (capture(header(more=',"timezone":"../../etc/passwd"')), "notes", "time zone"),
    "event_nested_100000_deep": (capture(header(), events=[('{"kind":"note","text":' + DEEP + "}").encode()]), "notes", "nested"),
    "event_kind_not_a_string": (capture(header(), events=[b'{"kind":7}']), "notes", "kind"),
    "event_silent_nan": (capture(header(), events=[b'{"kind":"sensor_silent","silent_s":NaN}']), "notes", "silent_s"),
    "event_stream_started_rate_zero": (capture(header(), events=[b'{"kind":"stream_started","sample_rate_hz":0}']), "notes", "sample_rate_hz"),
    "update_rate_1e300": (capture(header(), updates=[b'{"settings":{"sample_rate_hz":1e300}}']), "notes", "settings.sample_rate_hz"),
    "update_calibration_nan": (capture(header(), updates=[b'{"calibration":{"sensor_to_body":[[NaN,0,0],[0,1,0],[0,0,1]]}}']), "notes", "calibration.sensor_to_body"),
}


def _damaged() -> dict[str, tuple[bytes, str, str]]:
    whole = capture(header())
    sig = bytearray(whole)
    sig[3] ^= 0x20  # "traCker" -> "trAcker"... one flipped bit in the signature
    cut_newline = bytearray(whole)
    cut_newline[len(fmt.SIGNATURE) - 1] = ord(" ")
    rng = np.random.default_rng(3)
    garbage = bytearray(rng.integers(0, 256, 64 * 1024, dtype=np.uint8).tobytes())
    for k in range(0, len(garbage) - 8, 9):  # sync markers with plausible lengths, everywhere
        garbage[k : k + 7] = fmt.SYNC + bytes([fmt.RecordType.NOTIFICATIONS]) + max(0, len(garbage) - k - 40).to_bytes(4, "little")
    return {
        "signature_flipped_bit": (bytes(sig), "notes", "first line"),
        "signature_newline_lost": (bytes(cut_newline), "notes", "first line"),
        "zeros_after_signature": (fmt.SIGNATURE + bytes(200_000), "fails", "are zeros: no record survives"),
        "sync_garbage_tail": (whole + bytes(garbage), "notes", "damaged"),
    }


def main() -> None:
    expected = {}
    for name, (data, outcome, text) in {**CASES, **_damaged()}.items():
        (HERE / f"{name}.capture").write_bytes(data)
        expected[name] = {"outcome": outcome, "says": text}
    (HERE / "expected.json").write_text(json.dumps(expected, indent=1, sort_keys=True) + "\n")
    print(f"wrote {len(expected)} captures to {HERE}")


if __name__ == "__main__":
    main()

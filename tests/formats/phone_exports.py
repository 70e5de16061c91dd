"""Test writers: a simulated session written the way phone apps export it.

Each writer follows the app's own documents (facts, not code, taken from them):

* Sensor Logger (tszheichoi/awesome-sensor-logger UNITS.md, COORDINATES.md, CROSSPLATFORM.md,
  README "Accessing Recording Metadata"): one CSV per sensor with `time` (ns since 1970),
  `seconds_elapsed`, then `z,y,x`; m/s² and rad/s; `TotalAcceleration.csv` (gravity in, Android
  only), `Accelerometer.csv` (gravity removed) and `Gravity.csv`; iOS acceleration and gravity
  with the opposite sign in all axes unless "Standardise Units & Frames" is on; the gyroscope the
  same on both; `Metadata.csv` with version, device name, recording time, platform.
* phyphox (phyphox-android DataExport.java, ExperimentTimeReference.java; phyphox-experiments
  accelerometer.phyphox and gyroscope.phyphox): a zip of `<set name>.csv` files plus
  `meta/device.csv` and `meta/time.csv`; quoted headers; numbers as Java's `0.000000000E0`;
  separator , ; or tab, decimal mark . or , ; shorter columns padded with NaN; the experiment time
  stops during a pause; the Android convention on both platforms.

The streams come from the simulator's exact kinematics (`SimulatedSession.trace`) sampled on each
sensor's own clock (own rate, own phase, timing jitter), with the session's biases and phone-like
noise, so the truth is the simulator's.
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

# The streams themselves are the emulated phone's (it pushes the same readings live).
from tracker.emulator.phone import START, PhoneStreams, phone_streams, shift_gyro  # noqa: F401

# --- Sensor Logger ------------------------------------------------------------------------------
_CSV_MADE: dict[tuple[bytes, bytes, bytes], str] = {}
"""The CSV texts written so far, by their columns' bytes: tests write the same streams again and
again (a zip and a folder, every damaged copy), and a float's shortest repr is the slow part."""


def _sensor_logger_csv(
    streams: PhoneStreams, t: np.ndarray, xyz: np.ndarray, pressed_s: float
) -> str:
    ns = streams.unix_ns(t)
    elapsed = t - pressed_s
    key = (ns.tobytes(), elapsed.tobytes(), np.ascontiguousarray(xyz).tobytes())
    if key in _CSV_MADE:
        return _CSV_MADE[key]
    out = io.StringIO()
    out.write("time,seconds_elapsed,z,y,x\n")
    for n_i, t_i, (x, y, z) in zip(ns.tolist(), elapsed.tolist(), xyz.tolist(), strict=True):
        out.write(f"{n_i},{t_i!r},{z!r},{y!r},{x!r}\n")
    if len(_CSV_MADE) >= 32:  # a few sessions' worth is all any test module reuses
        _CSV_MADE.pop(next(iter(_CSV_MADE)))
    _CSV_MADE[key] = out.getvalue()
    return _CSV_MADE[key]


def write_sensor_logger(
    dest: Path,
    streams: PhoneStreams,
    *,
    platform: str = "android",
    standardised: bool = False,
    as_zip: bool = True,
    leave_out: tuple[str, ...] = (),
    metadata: bool = True,
) -> Path:
    """A Sensor Logger export of `streams` as `dest` (.zip) or a folder `dest`."""
    pressed_s = -0.35  # the start button was pressed a little before the first sample
    files: dict[str, str] = {}
    if platform == "android":
        files["TotalAcceleration.csv"] = _sensor_logger_csv(
            streams, streams.t_acc, streams.total, pressed_s
        )
        files["Accelerometer.csv"] = _sensor_logger_csv(
            streams, streams.t_acc, streams.linear, pressed_s
        )
        files["Gravity.csv"] = _sensor_logger_csv(
            streams, streams.t_acc + 0.0007, streams.gravity, pressed_s
        )
    else:
        sign = 1.0 if standardised else -1.0
        files["Accelerometer.csv"] = _sensor_logger_csv(
            streams, streams.t_acc, sign * streams.linear, pressed_s
        )
        files["Gravity.csv"] = _sensor_logger_csv(
            streams, streams.t_acc, sign * streams.gravity, pressed_s
        )
    files["Gyroscope.csv"] = _sensor_logger_csv(streams, streams.t_gyr, streams.gyr, pressed_s)
    if metadata:
        device = "Pixel 7" if platform == "android" else "iPhone 14"
        platform_name = "android" if platform == "android" else "ios"
        files["Metadata.csv"] = (
            "version,device name,recording time,platform,appVersion,standardisation\n"
            f"3,{device},{streams.start_utc:%Y-%m-%d_%H-%M-%S},{platform_name},1.41.0,"
            f"{'true' if standardised else 'false'}\n"
        )
    files["Location.csv"] = "time,seconds_elapsed,latitude,longitude\n"
    files = {k: v for k, v in files.items() if k not in leave_out}
    return _write(dest, files, as_zip)


def _write(dest: Path, files: dict[str, str], as_zip: bool) -> Path:
    if as_zip:
        # deflated as the apps do, at the fastest level (how hard does not matter to a reader)
        with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
            for name, text in files.items():
                z.writestr(name, text)
        return dest
    dest.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        (dest / name).write_text(text)
    return dest


# --- phyphox ------------------------------------------------------------------------------------
def java_number(v: float, decimal: str = ".") -> str:
    """Java's DecimalFormat "0.000000000E0", as phyphox writes numbers (NaN as "NaN")."""
    if not np.isfinite(v):
        return "NaN"
    mantissa, exponent = f"{v:.9E}".split("E")
    text = f"{mantissa}E{int(exponent)}"
    return text.replace(".", decimal)


def _java_exponents(text: str) -> str:
    """Python's "%.9E" exponents (E+05, E-05, E+00, E+105: a sign, at least two digits) made
    Java's (E5, E-5, E0, E105): no plus, no leading zero."""
    return text.replace("E+", "E").replace("E-0", "E-").replace("E0", "E")


def _table(columns: list[tuple[str, np.ndarray]], sep: str, decimal: str) -> str:
    """The columns as rows of `java_number`s (shorter columns padded with NaN), formatted a whole
    table at once: Python's "%.9E" a row at a time, then its exponents and NaNs made Java's."""
    rows = max(len(c) for _, c in columns)
    grid = np.full((rows, len(columns)), np.nan)
    for j, (_, c) in enumerate(columns):
        grid[: len(c), j] = c
    grid[~np.isfinite(grid)] = np.nan
    row = sep.join(["%.9E"] * len(columns))
    body = "\n".join([row % tuple(r) for r in grid.tolist()])
    body = _java_exponents(body).replace("NAN", "NaN").replace(".", decimal)
    return sep.join(f'"{name}"' for name, _ in columns) + "\n" + body + "\n"


def _acc_columns(t: np.ndarray, total: np.ndarray) -> list[tuple[str, np.ndarray]]:
    return [
        ("Time (s)", t),
        ("Acceleration x (m/s^2)", total[:, 0]),
        ("Acceleration y (m/s^2)", total[:, 1]),
        ("Acceleration z (m/s^2)", total[:, 2]),
        ("Absolute acceleration (m/s^2)", np.linalg.norm(total, axis=1)),
    ]


def _gyr_columns(t: np.ndarray, gyr: np.ndarray) -> list[tuple[str, np.ndarray]]:
    return [
        ("Time (s)", t),
        ("Gyroscope x (rad/s)", gyr[:, 0]),
        ("Gyroscope y (rad/s)", gyr[:, 1]),
        ("Gyroscope z (rad/s)", gyr[:, 2]),
        ("Absolute (rad/s)", np.linalg.norm(gyr, axis=1)),
    ]


def write_phyphox(
    dest: Path,
    streams: PhoneStreams,
    *,
    layout: str = "separate",
    sep: str = ",",
    decimal: str = ".",
    as_zip: bool = True,
    pause: tuple[float, float] | None = None,
    meta: bool = True,
) -> Path:
    """A phyphox export: `layout` "separate" (Accelerometer.csv + Gyroscope.csv), "combined" (one
    set, each sensor with its own time column), "shared" (one set, one time column: the
    gyroscope sampled with the accelerometer), or "acc-only". `pause` = (from, to) in session
    seconds: nothing is recorded then and the experiment time stands still."""
    t_acc, total, t_gyr, gyr = streams.t_acc, streams.total, streams.t_gyr, streams.gyr
    if pause is not None:
        p0, p1 = pause
        keep_a, keep_g = (t_acc < p0) | (t_acc >= p1), (t_gyr < p0) | (t_gyr >= p1)
        t_acc, total, t_gyr, gyr = t_acc[keep_a], total[keep_a], t_gyr[keep_g], gyr[keep_g]
        t_acc = np.where(t_acc >= p1, t_acc - (p1 - p0), t_acc)
        t_gyr = np.where(t_gyr >= p1, t_gyr - (p1 - p0), t_gyr)
    files: dict[str, str] = {}
    if layout == "separate":
        files["Accelerometer.csv"] = _table(_acc_columns(t_acc, total), sep, decimal)
        files["Gyroscope.csv"] = _table(_gyr_columns(t_gyr, gyr), sep, decimal)
    elif layout == "combined":
        files["Raw Data.csv"] = _table(
            _acc_columns(t_acc, total) + _gyr_columns(t_gyr, gyr), sep, decimal
        )
    elif layout == "shared":
        gyr_on_acc = np.column_stack([np.interp(t_acc, t_gyr, gyr[:, k]) for k in range(3)])
        files["Raw Data.csv"] = _table(
            _acc_columns(t_acc, total) + _gyr_columns(t_acc, gyr_on_acc)[1:], sep, decimal
        )
    elif layout == "acc-only":
        files["Raw Data.csv"] = _table(_acc_columns(t_acc, total), sep, decimal)
    else:
        raise ValueError(layout)
    if meta:
        files["meta/device.csv"] = (
            sep.join(['"property"', '"value"'])
            + "\n"
            + "\n".join(
                sep.join(f'"{c}"' for c in row)
                for row in (
                    ("version", "1.2.0"),
                    ("deviceBrand", "Google"),
                    ("deviceModel", "Pixel 7"),
                )
            )
            + "\n"
        )
        s0 = streams.start_utc.timestamp()
        end = float(max(t_acc[-1], t_gyr[-1]))
        events = [("START", 0.0, s0)]
        if pause is not None:
            p0, p1 = pause
            events += [("PAUSE", p0, s0 + p0), ("START", p0, s0 + p1)]
            events.append(("PAUSE", end, s0 + end + (p1 - p0)))
        else:
            events.append(("PAUSE", end, s0 + end))
        lines = [sep.join(['"event"', '"experiment time"', '"system time"', '"system time text"'])]
        for name, exp, sysnow in events:
            text = (
                datetime.fromtimestamp(sysnow, tz=UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
                + " UTC+00:00"
            )
            lines.append(
                sep.join(
                    [
                        f'"{name}"',
                        java_number(exp, decimal),
                        f"{sysnow:.3f}".replace(".", decimal),
                        f'"{text}"',
                    ]
                )
            )
        files["meta/time.csv"] = "\n".join(lines) + "\n"
    if not as_zip and not meta and len(files) == 1:
        dest.write_text(next(iter(files.values())))
        return dest
    return _write(dest, files, as_zip)


# --- a Movesense-style log (another layout: needs --columns) -------------------------------------
def write_movesense_style(path: Path, recording, *, t0_ms: int = 1_234_567) -> Path:
    """`Timestamp` in ms from the sensor's boot, acceleration in m/s², rotation in deg/s."""
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["Timestamp", "AccX", "AccY", "AccZ", "GyroX", "GyroY", "GyroZ"])
        ms = t0_ms + np.round(recording.t_s * 1000).astype(np.int64)
        gyr = np.degrees(recording.gyr_rad_s)
        for i in range(len(ms)):
            a, g = recording.acc_m_s2[i], gyr[i]
            w.writerow(
                [
                    int(ms[i]),
                    f"{a[0]:.5f}",
                    f"{a[1]:.5f}",
                    f"{a[2]:.5f}",
                    f"{g[0]:.4f}",
                    f"{g[1]:.4f}",
                    f"{g[2]:.4f}",
                ]
            )
    return path

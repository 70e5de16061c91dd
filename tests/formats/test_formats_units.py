"""Units: stated units skip detection; Unix times are recognised in any unit; every unit problem
of a file is reported in one line; rotation about the vertical does not look like deg/s."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from tracker.cli.main import run
from tracker.errors import CsvFormatError
from tracker.formats import UnitOverrides, gyro_scale_estimate, load_recording
from tracker.simulate import random_script, simulate_session

HEADER = "t,ax,ay,az,gx,gy,gz"


@pytest.fixture(scope="module")
def sim():
    return simulate_session(random_script(11, duration_s=60), seed=11, sampling_rate_hz=50)


def write_csv(path, cols, header=HEADER, fmt="%.9g"):
    np.savetxt(path, cols, delimiter=",", header=header, comments="", fmt=fmt)
    return path


def converted(sim, *, t_scale=1.0, t0=0.0, acc_scale=1.0, gyr_scale=1.0):
    cols = sim.recording.to_columns().copy()
    cols[:, 0] = t0 + cols[:, 0] * t_scale
    cols[:, 1:4] *= acc_scale
    cols[:, 4:7] *= gyr_scale
    return cols


def assert_same(rec, sim):
    assert np.allclose(rec.t_s, sim.recording.t_s, atol=1e-6)
    assert np.allclose(rec.acc_m_s2, sim.recording.acc_m_s2, rtol=1e-6, atol=1e-6)
    assert np.allclose(rec.gyr_rad_s, sim.recording.gyr_rad_s, rtol=1e-6, atol=1e-6)


# --- stated units ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "units, scales",
    [
        (UnitOverrides.of(time="ms"), {"t_scale": 1000.0}),
        (UnitOverrides.of(time="us"), {"t_scale": 1e6}),
        (UnitOverrides.of(accel="g"), {"acc_scale": 1 / 9.80665}),
        (UnitOverrides.of(gyro="deg/s"), {"gyr_scale": 180 / np.pi}),
        (
            UnitOverrides.of(time="ms", accel="g", gyro="deg/s"),
            {"t_scale": 1000.0, "acc_scale": 1 / 9.80665, "gyr_scale": 180 / np.pi},
        ),
    ],
)
def test_stated_units_read_the_file_as_it_is(tmp_path, sim, units, scales):
    path = write_csv(tmp_path / "u.csv", converted(sim, **scales))
    with pytest.raises(CsvFormatError):
        load_recording(path)  # detection refuses it ...
    assert_same(load_recording(path, units=units), sim)  # ... the stated units read it


def test_stated_units_through_the_cli(tmp_path, sim, capsys):
    path = write_csv(tmp_path / "u.csv", converted(sim, t_scale=1000.0, gyr_scale=180 / np.pi))
    assert run(["analyze", str(path), "--json", "--time-unit", "ms", "--gyro-unit", "deg/s"]) == 0
    assert '"duration_s"' in capsys.readouterr().out


def test_a_stated_unit_that_does_not_fit_is_still_caught(tmp_path, sim):
    path = write_csv(tmp_path / "u.csv", converted(sim))
    with pytest.raises(CsvFormatError) as info:
        load_recording(path, units=UnitOverrides.of(accel="g"))
    assert (
        "with --accel-unit g" in info.value.one_line() and "is not gravity" in info.value.one_line()
    )


@pytest.mark.parametrize(
    "option, value", [("--time-unit", "min"), ("--accel-unit", "mg"), ("--gyro-unit", "rpm")]
)
def test_unknown_unit_is_a_usage_error(tmp_path, sim, capsys, option, value):
    path = write_csv(tmp_path / "u.csv", converted(sim))
    assert run(["analyze", str(path), option, value]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and option in err and "is not one of" in err


# --- every unit problem at once -------------------------------------------------------------------
def test_all_unit_problems_in_one_line(tmp_path, sim, capsys):
    path = write_csv(
        tmp_path / "all.csv",
        converted(sim, t_scale=1000.0, acc_scale=1 / 9.80665, gyr_scale=180 / np.pi),
    )
    with pytest.raises(CsvFormatError) as info:
        load_recording(path)
    line = info.value.one_line()
    for needle in (
        "milliseconds",
        "in g",
        "deg/s",
        "divide by 1000",
        "9.80665",
        "pi/180",
        "--time-unit ms --accel-unit g --gyro-unit deg/s",
    ):
        assert needle in line, line
    assert run(["analyze", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "milliseconds" in err and "deg/s" in err


# --- Unix time ------------------------------------------------------------------------------------
START = datetime(2025, 3, 1, 7, 30, 0, 250000, tzinfo=UTC)


@pytest.mark.parametrize("unit, scale", [("s", 1.0), ("ms", 1e3), ("us", 1e6), ("ns", 1e9)])
def test_unix_time_in_any_unit_is_recognised_and_gives_the_start(tmp_path, sim, unit, scale):
    cols = converted(sim, t_scale=scale, t0=START.timestamp() * scale)
    path = tmp_path / "epoch.csv"
    if unit == "ns":  # as loggers write it: integers
        with path.open("w") as fh:
            fh.write(HEADER + "\n")
            ns = np.round(cols[:, 0]).astype(np.int64)
            for n_i, row in zip(ns.tolist(), cols[:, 1:].tolist(), strict=True):
                fh.write(f"{n_i}," + ",".join(f"{v:.9g}" for v in row) + "\n")
    else:
        write_csv(path, cols, fmt="%.17g")
    rec = load_recording(path)
    assert rec.start_utc is not None
    assert abs((rec.start_utc - START).total_seconds()) < 1e-3
    assert np.allclose(rec.t_s, sim.recording.t_s, atol=1e-5)
    assert any("Unix time" in n for n in rec.source["notes"])


def test_nanosecond_times_no_longer_read_as_a_too_low_rate(tmp_path, sim):
    # The issue: a t in ns since 1970 got "sampling rate 1e-07 Hz is too low".
    cols = converted(sim, t_scale=1e9, t0=START.timestamp() * 1e9)
    rec = load_recording(write_csv(tmp_path / "ns.csv", cols, fmt="%.17g"))
    assert rec.sampling_rate_hz == pytest.approx(50.0, rel=1e-3)


def test_nanoseconds_from_boot_are_named_with_the_option(tmp_path, sim):
    cols = converted(sim, t_scale=1e9, t0=5e12)  # a phone's clock since boot: not a date
    with pytest.raises(CsvFormatError) as info:
        load_recording(write_csv(tmp_path / "boot.csv", cols, fmt="%.17g"))
    assert "nanoseconds" in info.value.one_line() and "--time-unit ns" in info.value.one_line()
    rec = load_recording(tmp_path / "boot.csv", units=UnitOverrides.of(time="ns"))
    assert rec.start_utc is None and np.allclose(rec.t_s, sim.recording.t_s, atol=1e-6)


# --- rotation about the vertical -----------------------------------------------------------------
def turntable(seed: int = 47, rate: float = 100.0, duration: float = 60.0, peak: float = 5.81):
    """A sensor 6 cm from a vertical axis, turned about it in bursts up to 5.8 rad/s, wobbling a
    few degrees: the kind of real recording (SI units, rad/s) that was refused as "deg/s"."""
    rng = np.random.default_rng(seed)
    t = np.arange(0, duration, 1 / rate)
    r, ramp_s, wobble_deg, wobble_hz = 0.06, 2.14, 3.33, 0.84
    speed = np.zeros_like(t)
    period = 2 * ramp_s + 3
    for k, start in enumerate(np.arange(1, duration - period, period + 1)):
        shape = np.clip((t - start) / ramp_s, 0, 1) * np.clip((start + period - t) / ramp_s, 0, 1)
        speed += peak * shape * (1 if k % 2 == 0 else -1)
    yaw = np.cumsum(speed) / rate
    wobble = np.radians(wobble_deg) * np.sin(2 * np.pi * wobble_hz * t)
    rot = (
        Rotation.from_euler("z", yaw[:, None])
        * Rotation.from_euler("x", wobble[:, None])
        * Rotation.from_euler("xyz", [35.59, 25.0, 38.36], degrees=True)
    )
    m = rot.as_matrix()
    w_world = (rot[2:] * rot[:-2].inv()).as_rotvec() * rate / 2
    w_world = np.vstack([w_world[:1], w_world, w_world[-1:]])
    gyr = np.einsum("nji,nj->ni", m, w_world)
    yd = np.gradient(yaw, 1 / rate)
    ydd = np.gradient(yd, 1 / rate)
    a = r * np.column_stack(
        [
            -(yd**2) * np.cos(yaw) - ydd * np.sin(yaw),
            -(yd**2) * np.sin(yaw) + ydd * np.cos(yaw),
            0 * t,
        ]
    )
    acc = np.einsum("nji,nj->ni", m, a + np.array([0, 0, 9.80665]))
    acc += 0.02 * rng.standard_normal(acc.shape)
    gyr += 0.003 * rng.standard_normal(gyr.shape)
    return t, acc, gyr


def test_rotation_about_the_vertical_is_not_mistaken_for_deg_per_s(tmp_path):
    t, acc, gyr = turntable()
    assert np.linalg.norm(gyr, axis=1).max() > 5.0  # rad/s: mostly about the vertical, fast
    k, used = gyro_scale_estimate(t, acc, gyr)
    assert used >= 3 and 0.8 < k < 1.25
    rec = load_recording(write_csv(tmp_path / "turn.csv", np.column_stack([t, acc, gyr])))
    assert np.allclose(rec.gyr_rad_s, gyr, atol=1e-6)


@pytest.mark.parametrize("peak", [5.81, 0.4])
def test_the_same_turns_in_deg_per_s_are_still_caught(tmp_path, peak):
    # 0.4 rad/s is 23 deg/s at most: below the implausible-rate rule, so the tilt comparison decides
    t, acc, gyr = turntable(peak=peak)
    k, _ = gyro_scale_estimate(t, acc, np.degrees(gyr))
    assert k == pytest.approx(np.pi / 180, rel=0.3)
    with pytest.raises(CsvFormatError) as info:
        load_recording(write_csv(tmp_path / "deg.csv", np.column_stack([t, acc, np.degrees(gyr)])))
    assert "deg/s" in info.value.one_line() and "--gyro-unit deg/s" in info.value.one_line()


def test_the_simulator_reads_as_rad_s_and_its_deg_per_s_twin_does_not(sim):
    r = sim.recording
    k, used = gyro_scale_estimate(r.t_s, r.acc_m_s2, r.gyr_rad_s)
    assert used >= 3 and 0.8 < k < 1.3
    k_deg, _ = gyro_scale_estimate(r.t_s, r.acc_m_s2, np.degrees(r.gyr_rad_s))
    assert k_deg == pytest.approx(np.pi / 180, rel=0.3)


def test_import_dates_a_unix_time_csv_by_its_own_clock(tmp_path, sim, capsys):
    cols = converted(sim, t_scale=1e3, t0=START.timestamp() * 1e3)
    path = write_csv(tmp_path / "epoch-ms.csv", cols, fmt="%.17g")
    assert run(["import", str(path), "--timezone", "UTC"]) == 0
    assert "-> session 1 (2025-03-01 07:30" in capsys.readouterr().out

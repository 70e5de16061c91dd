"""The raw stage: native samples in, analysis-rate `Sample`s out (the causal `prepare_signals`).

* **Gaps.** A step of more than `gap_factor` sample periods is a gap. Up to `max_bridged_gap_s`
  it is filled by linear interpolation (the filled samples are flagged `bridged`); a longer one
  restarts the orientation filters (keeping their gyro-bias estimates), drops the unfinished
  decimation block and is reported to the caller (`on_long_gap`).
* **Orientation** (`LiveOrientation`): VQF at the native rate, with a causal warm start of its
  gyro bias, and a second VQF at the analysis rate with the offline accelerometer time constant.
* **Decimation** by block means of `factor` samples, as offline.

The stage is fed in blocks of any size and its output does not depend on how the samples were
cut into blocks: the native samples go through the filter one decimation block at a time, and
every decision (the warm start, the filter's time constant) is taken per analysis-rate sample.
Once those decisions are all taken (`batchable`), the complete decimation blocks of one push go
through the filter in one call: the filter is causal, so that is the same output at one call's
overhead instead of one per block.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from tracker.analysis.steps.decimate import block_mean
from tracker.analysis.steps.orientation import VqfOrientation, learn_gyro_bias, orientation_factor
from tracker.live.sample import Sample


@dataclass
class SlowRedo:
    """The offline-time-constant filter was run again from the start with a learned bias:
    `up[k]` is the corrected up vector (sensor frame) of the analysis-rate sample at `t_s[k]`."""

    t_s: np.ndarray
    up: np.ndarray


class LiveOrientation:
    """Both orientation filters of the live analysis and the causal warm start of their bias.

    Offline, a first VQF pass over the whole recording learns the gyro bias before the real
    pass. Live, the first `warm_bias_s` seconds (at the analysis rate) are run through a
    separate VQF three times over and its bias handed to the running filter; until
    `warm_tau_until_s` the running filter uses VQF's default 3 s accelerometer time constant,
    so the orientation catches up, then the offline value. The offline-time-constant filter
    (the posture's and the bridge's pitch) is run again from the start with the bias learned
    from `warm_bias_s` and again from `slow_warm_s` of signal: a slow bridge stroke's few
    hundredths of a m/s² need the inclination to a few tenths of a degree.

    Replaceable as a whole (for a sensor without a gyroscope, say): `native`, `decimated`,
    `gap` are all the raw stage calls.
    """

    def __init__(
        self,
        native_rate_hz: float,
        rate_hz: float,
        tau_acc_s: float,
        *,
        rest_bias_estimation: bool = False,
        motion_bias_estimation: bool = True,
        warm_bias_s: float = 15.0,
        warm_tau_until_s: float = 60.0,
        slow_warm_s: float = 45.0,
        fast_tau_acc_s: float = 3.0,
    ) -> None:
        self.native_rate_hz = native_rate_hz
        self.rate_hz = rate_hz
        self.tau_acc_s = tau_acc_s
        self.rest_bias_estimation = rest_bias_estimation
        self.motion_bias_estimation = motion_bias_estimation
        self.warm_bias_s = warm_bias_s
        self.warm_tau_until_s = warm_tau_until_s
        self.slow_warm_s = slow_warm_s
        self.fast_tau_acc_s = fast_tau_acc_s
        self.filter_rate_hz = native_rate_hz
        """Rate the running filter runs at (the raw stage sets it: block means, as offline)."""
        self._fast: VqfOrientation | None = None
        self._fast_short_tau = False
        self._slow: VqfOrientation | None = None
        self._bias: np.ndarray | None = None
        self._slow_bias: np.ndarray | None = None
        self._warm_done = False
        self._warm_t0 = 0.0
        self._warm: list[np.ndarray] = []  # rows t, gyr (raw), acc at the analysis rate
        self._slow_rows: list[np.ndarray] = []

    def _filter(self, rate_hz: float, tau_s: float, bias: np.ndarray | None) -> VqfOrientation:
        return VqfOrientation(
            rate_hz,
            tau_s,
            rest_bias_estimation=self.rest_bias_estimation,
            motion_bias_estimation=self.motion_bias_estimation,
            initial_bias_rad_s=bias,
        )

    def native(self, t_s: np.ndarray, acc: np.ndarray, gyr: np.ndarray, last_t_s: float | None):
        """The running filter over native samples (one gap-free stretch); `last_t_s`: the time
        of the sample before them (None at the start)."""
        if self._fast is None:
            self._fast_short_tau = not self._warm_done or (
                last_t_s is not None and last_t_s < self.warm_tau_until_s
            )
            if not self._warm_done:
                self._warm_t0 = float(t_s[0])
                self._warm = []
            tau = self.fast_tau_acc_s if self._fast_short_tau else self.tau_acc_s
            self._fast = self._filter(self.filter_rate_hz, tau, self._bias)
        return self._fast.run(acc, gyr)

    def decimated(self, s: Sample) -> SlowRedo | None:
        """One analysis-rate sample: sets its `up_slow`; returns the slow filter's redo when the
        warm start completes with it (the caller corrects what it already passed on)."""
        redo = self._warm_up(s)
        if redo is not None:
            s.up_slow = redo.up[-1].copy()
            return redo
        if self._slow is None:
            bias = self._slow_bias if self._slow_bias is not None else self._bias
            self._slow = self._filter(self.rate_hz, self.tau_acc_s, bias)
        s.up_slow = self._slow.step_one(s.acc_m_s2, s.gyr_raw_rad_s)
        return None

    def _warm_up(self, s: Sample) -> SlowRedo | None:
        t = s.t_s
        if self._warm_done:
            if self._fast_short_tau and t >= self.warm_tau_until_s and self._fast is not None:
                self._fast.set_tau_acc(self.tau_acc_s)
                self._fast_short_tau = False
            if not self._slow_rows:
                return None
            self._slow_rows.append(_warm_row(s))
            if t - self._warm_t0 < self.slow_warm_s:
                return None
            data = np.concatenate(self._slow_rows)
            self._slow_rows = []
            return self._redo_slow(data, self._learn_bias(data, self._bias))
        self._warm.append(_warm_row(s))
        if t - self._warm_t0 < self.warm_bias_s:
            return None
        data = np.concatenate(self._warm)
        bias = self._learn_bias(data, self._bias)
        self._bias = bias
        if self._fast is not None:
            self._fast.set_bias(bias)
        self._warm_done = True
        self._slow_rows = [data] if self.slow_warm_s > self.warm_bias_s else []
        self._warm = []
        return self._redo_slow(data, bias)

    def _learn_bias(self, data: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
        return learn_gyro_bias(
            data[:, 4:7], data[:, 1:4], self.rate_hz, self.tau_acc_s, passes=3,
            initial_bias_rad_s=bias,
        )  # fmt: skip

    def _redo_slow(self, data: np.ndarray, bias: np.ndarray) -> SlowRedo:
        self._slow = self._filter(self.rate_hz, self.tau_acc_s, bias)
        up = self._slow.run(data[:, 4:7], data[:, 1:4]).up_sensor
        up /= np.linalg.norm(up, axis=1, keepdims=True)
        return SlowRedo(data[:, 0].copy(), up)

    def batchable(self) -> bool:
        """The running filter is set for good (the warm start's bias and time constant are
        in): the analysis-rate samples change nothing in it."""
        return self._fast is not None and self._warm_done and not self._fast_short_tau

    def gap(self) -> None:
        """A long gap: both filters restart after it, keeping their bias estimates."""
        if self._fast is not None:
            self._bias = self._fast.bias_estimate()
        self._fast = None
        if self._slow is not None:
            self._slow_bias = self._slow.bias_estimate()
        self._slow = None


def _warm_row(s: Sample) -> np.ndarray:
    """(1, 7) t, rate as measured (3), specific force (3): what the warm start learns from."""
    return np.concatenate([[s.t_s], s.gyr_raw_rad_s, s.acc_m_s2])[None, :]


class OrientationFilters(Protocol):
    """What the raw stage calls on its orientation: `LiveOrientation`, or without a gyroscope
    `tracker.live.tilt.LiveTiltOrientation`."""

    filter_rate_hz: float

    def native(self, t_s: np.ndarray, acc: np.ndarray, gyr: np.ndarray, last_t_s: float | None) -> Any: ...

    def decimated(self, s: Sample) -> SlowRedo | None: ...

    def gap(self) -> None: ...

    def batchable(self) -> bool:
        """True when the next native samples may go through `native` in one call: the
        analysis-rate samples they make will not change the filter."""
        ...


class RawListener(Protocol):
    """What the raw stage tells the next stage, in the order it happens."""

    def sample(self, s: Sample) -> None: ...

    def redo(self, redo: SlowRedo) -> None: ...

    def long_gap(self, t_before_s: float, t_after_s: float) -> None: ...


class RawStage:
    """Native samples to analysis-rate `Sample`s (see the module docstring).

    Parameters
    ----------
    sampling_rate_hz
        The sensor's nominal rate.
    factor
        Native samples per analysis-rate sample.
    orientation
        The orientation filters (`LiveOrientation`; without a gyroscope
        `tracker.live.tilt.LiveTiltOrientation`).
    listener
        Gets the samples, the slow filter's redos and the long gaps, in order.
    gap_factor, max_bridged_gap_s
        A step longer than `gap_factor` periods is a gap; up to `max_bridged_gap_s` it is filled.
    """

    def __init__(
        self,
        sampling_rate_hz: float,
        factor: int,
        orientation: OrientationFilters,
        listener: RawListener,
        *,
        gap_factor: float = 2.5,
        max_bridged_gap_s: float = 1.0,
    ) -> None:
        self.period_s = 1.0 / sampling_rate_hz
        self.factor = factor
        self.pre = orientation_factor(sampling_rate_hz, factor)
        """Native samples per orientation-filter sample (their mean), as offline."""
        orientation.filter_rate_hz = sampling_rate_hz / self.pre
        self.orientation = orientation
        self.listener = listener
        self.gap_factor = gap_factor
        self.max_bridged_gap_s = max_bridged_gap_s
        self.last: tuple[float, np.ndarray, np.ndarray] | None = None
        """(t, acc, gyr) of the last native sample taken in."""
        self._t_last: float | None = None
        self._block_rows = np.empty((factor, 8))  # native rows (t, acc, gyr, bridged) of the block
        self._filled = 0  # ...filled so far

    @property
    def pending(self) -> int:
        """Native samples waiting for their decimation block to complete (< `factor`)."""
        return self._filled

    def push(self, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray) -> None:
        """Strictly increasing native samples (after the last one taken in)."""
        start = 0
        t_prev = self.last[0] if self.last is not None else math.nan
        limit = self.gap_factor * self.period_s
        # no gap (the usual case) is told at a block's cost; only then are the gaps looked for
        inner = len(t) > 1 and float((t[1:] - t[:-1]).max()) > limit
        if inner or float(t[0]) - t_prev > limit:
            before = np.concatenate([[t_prev], t[:-1]])
            with np.errstate(invalid="ignore"):
                gaps = np.flatnonzero(t - before > limit).tolist()
        else:
            gaps = []
        for gi in gaps:
            self._run(t[start:gi], acc[start:gi], gyr[start:gi], False)
            if gi == 0:
                assert self.last is not None
                _t, a_a, g_a = self.last
            else:
                a_a, g_a = acc[gi - 1], gyr[gi - 1]
            self._gap(float(before[gi]), a_a, g_a, float(t[gi]), acc[gi], gyr[gi])
            start = gi
        self._run(t[start:], acc[start:], gyr[start:], False)
        self.last = (float(t[-1]), acc[-1].copy(), gyr[-1].copy())

    def _gap(self, t_a: float, a_a, g_a, t_b: float, a_b, g_b) -> None:
        if t_b - t_a <= self.max_bridged_gap_s:
            n_fill = int(math.floor((t_b - t_a) / self.period_s + 1e-9)) - 1
            if n_fill > 0:
                tt = t_a + self.period_s * np.arange(1, n_fill + 1)
                w = ((tt - t_a) / (t_b - t_a))[:, None]
                self._run(tt, a_a + w * (a_b - a_a), g_a + w * (g_b - g_a), True)
            return
        self._filled = 0
        self.orientation.gap()
        self.listener.long_gap(t_a, t_b)

    def _run(self, t: np.ndarray, acc: np.ndarray, gyr: np.ndarray, bridged: bool) -> None:
        """Native samples of one gap-free stretch, one decimation block at a time: when a block
        is complete, its samples go through the orientation filter (as block means of `pre`,
        offline's `orientation_factor`) and its mean is the next analysis-rate sample."""
        n, f, a = len(t), self.factor, self._filled
        if a + n < f:  # no block completes: the rows wait (a block's worth of buffer, reused)
            rows = self._block_rows
            rows[a : a + n, 0] = t
            rows[a : a + n, 1:4] = acc
            rows[a : a + n, 4:7] = gyr
            rows[a : a + n, 7] = 1.0 if bridged else 0.0
            self._filled = a + n
            return
        rows = np.empty((a + n, 8))  # the unfinished block's rows, then these
        rows[:a] = self._block_rows[:a]
        rows[a:, 0] = t
        rows[a:, 1:4] = acc
        rows[a:, 4:7] = gyr
        rows[a:, 7] = 1.0 if bridged else 0.0
        m = (a + n) // f * f
        self._filled = a + n - m
        self._block_rows[: self._filled] = rows[m:]
        if m:
            self._blocks(rows[:m].reshape(-1, f, 8))

    def _blocks(self, blocks: np.ndarray) -> None:
        """Complete decimation blocks (k, factor, 8) of native rows (t, acc (3), gyr (3),
        bridged), in order. While the orientation filter takes nothing from the analysis-rate
        samples (`batchable`: its warm start is over), it runs over all the blocks in one call:
        the same output as block by block (it is causal, sample by sample), at a call's cost."""
        for b, block in enumerate(blocks):
            if len(blocks) - b > 1 and self.orientation.batchable():
                self._batch(blocks[b:])
                return
            groups = block if self.pre == 1 else block_mean(block, self.pre)
            o = self.orientation.native(groups[:, 0], groups[:, 1:4], groups[:, 4:7], self._t_last)
            self._t_last = float(block[-1, 0])
            self._emit(groups, o.up_sensor, o.gyr_rad_s, o.rest)

    def _batch(self, blocks: np.ndarray) -> None:
        """`_blocks` with the filter over all of them in one call."""
        k = len(blocks)
        flat = blocks.reshape(-1, 8)
        groups = flat if self.pre == 1 else block_mean(flat, self.pre)  # what the filter sees
        o = self.orientation.native(groups[:, 0], groups[:, 1:4], groups[:, 4:7], self._t_last)
        g = len(groups) // k
        # every block's sums at once (each block's rows added in order, as `_emit` adds them)
        sums = np.concatenate([groups, o.up_sensor, o.gyr_rad_s, o.rest[:, None]], axis=1).reshape(k, g, -1).sum(axis=1)
        for b, block_sums in enumerate(sums.tolist()):
            self._t_last = float(blocks[b, -1, 0])
            self._sample(block_sums, g)

    def _emit(self, groups: np.ndarray, up: np.ndarray, gyr: np.ndarray, rest: np.ndarray) -> None:
        """One decimation block's analysis-rate sample: the means of its filter samples
        (`groups`: t, acc, gyr as measured, bridged) and of the filter's output for them."""
        sums = np.concatenate([groups, up, gyr, rest[:, None]], axis=1).sum(axis=0)
        self._sample(sums.tolist(), len(groups))

    def _sample(self, sums: list[float], n: int) -> None:
        """The analysis-rate sample of a block whose `n` filter samples sum to `sums` (t, acc,
        gyr as measured, bridged, up, gyr less the bias, rest)."""
        # the block's means, as plain floats: per-sample numpy calls on three values cost more
        # than the arithmetic
        t, ax, ay, az, rx, ry, rz, bridged, ux, uy, uz, gx, gy, gz, rest_mean = (v / n for v in sums)
        norm = max(1e-12, math.sqrt(ux * ux + uy * uy + uz * uz))
        s = Sample(
            t_s=t,
            up=np.array([ux / norm, uy / norm, uz / norm]),
            acc_m_s2=np.array([ax, ay, az]),
            gyr_rad_s=np.array([gx, gy, gz]),
            gyr_raw_rad_s=np.array([rx, ry, rz]),
            rest=rest_mean > 0.5,
            bridged=bridged > 0,
            up_slow=np.zeros(3),
        )
        redo = self.orientation.decimated(s)
        vx, vy, vz = s.up_slow.tolist()
        norm = max(1e-12, math.sqrt(vx * vx + vy * vy + vz * vz))
        s.up_slow = np.array([vx / norm, vy / norm, vz / norm])
        if redo is not None:
            self.listener.redo(redo)
        self.listener.sample(s)

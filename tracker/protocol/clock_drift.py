"""The sensor clock against the host clock: drift from the lower envelope of receive delays.

Every delivered packet gives one point: x, the sensor time of its last sample, and r, the host
receive time minus x. Radio latency only ever adds delay, so the least-delayed packets (the lower
envelope of r over x) show when samples were really taken, and the envelope's slope is the
drift of the sensor's crystal against the host clock. The envelope is kept as the minimum of r in
windows of `window_s` of sensor time, so memory grows with the session's length in windows, not
in packets.
"""

from __future__ import annotations

import math

import numpy as np

DriftFit = tuple[float | None, bool, str, float, float]
"""(drift_ppm or None, trusted, note, intercept_s, slope) of the envelope r = intercept + slope x."""


class LowerEnvelopeDrift:
    """The lower envelope of (host - sensor time) and the drift line fitted to it.

    Parameters
    ----------
    window_s
        Sensor-time window of each envelope point (its minimum delay).
    min_span_s
        Sensor-time span needed before a drift is estimated.
    max_ppm
        Estimates beyond ± this are reported but not trusted (a crystal is within ±100 ppm; a
        compressed demo timeline is far outside).
    """

    def __init__(self, window_s: float = 5.0, min_span_s: float = 60.0, max_ppm: float = 1000.0) -> None:
        self.window_s = float(window_s)
        self.min_span_s = float(min_span_s)
        self.max_ppm = float(max_ppm)
        # window index -> (min of host - sensor, sensor time at that minimum), seconds
        self._env: dict[int, tuple[float, float]] = {}
        self._cache: tuple[int, DriftFit] | None = None

    def __len__(self) -> int:
        return len(self._env)

    def add(self, x: float, r: float) -> None:
        """One packet: sensor time `x` (s) and host-minus-sensor time `r` (s)."""
        w = math.floor(x / self.window_s)
        old = self._env.get(w)
        if old is None or r < old[0]:
            self._env[w] = (r, x)

    def extend(self, x: np.ndarray, r: np.ndarray) -> None:
        """Many packets at once (the batch path): the same envelope as `add` one by one."""
        w = np.floor(x / self.window_s).astype(np.int64)
        if w.shape[0] == 1:
            self.add(float(x[0]), float(r[0]))
            return
        order = np.lexsort((r, w))
        ws = w[order]
        firsts = np.concatenate([[True], ws[1:] != ws[:-1]])
        env = self._env
        for key, rv, xv in zip(
            ws[firsts].tolist(), r[order][firsts].tolist(), x[order][firsts].tolist(), strict=True
        ):
            old = env.get(key)
            if old is None or rv < old[0]:
                env[key] = (rv, xv)

    def fit(self) -> DriftFit:
        """The drift line of the envelope so far (cached until a new window appears)."""
        n = len(self._env)
        if self._cache is not None and self._cache[0] == n:
            return self._cache[1]
        out = self._fit(n)
        self._cache = (n, out)
        return out

    def _fit(self, n: int) -> DriftFit:
        if n == 0:
            return (None, False, "no data yet", 0.0, 0.0)
        vals = np.array(list(self._env.values()))
        r, x = vals[:, 0], vals[:, 1]
        span = float(x.max() - x.min())
        if n < 4 or span < self.min_span_s:
            note = f"not enough data for a drift estimate ({span:.0f} s of {self.min_span_s:.0f} s)"
            return (None, False, note, float(r.min()), 0.0)
        keep = np.ones(n, bool)
        slope = a = 0.0
        for _ in range(4):  # least squares, then drop windows that sit high above the envelope
            slope, a = np.polyfit(x[keep], r[keep], 1)
            res = r - (a + slope * x)
            mad = np.median(np.abs(res[keep] - np.median(res[keep]))) + 1e-6
            new_keep = res <= np.median(res[keep]) + 3 * 1.4826 * mad
            if new_keep.sum() < 4 or np.array_equal(new_keep, keep):
                break
            keep = new_keep
        # the envelope is the lowest line: shift it down onto the lowest kept window
        a = float(a + (r - (a + slope * x))[keep].min())
        ppm = float(slope * 1e6)
        trusted = abs(ppm) <= self.max_ppm
        note = (
            f"sensor-to-host clock drift {ppm:+.1f} ppm over {span:.0f} s"
            if trusted
            else f"drift estimate {ppm:+.0f} ppm is beyond ±{self.max_ppm:.0f} ppm (host times compressed "
            "or unreliable); sensor time kept"
        )
        return (ppm, trusted, note, a, float(slope))

    def host_time_at(self, t_sensor_s: float | np.ndarray) -> float | np.ndarray:
        """Host time of sensor time `t_sensor_s` on the envelope; the drift only when trusted."""
        _, trusted, _, a, slope = self.fit()
        if not trusted:
            slope = 0.0
            if self._env:
                vals = np.array(list(self._env.values()))
                # offset from the earliest windows, where an untrusted slope has done least harm
                a = float(vals[np.argsort(vals[:, 1])[:3], 0].min())
        t = np.asarray(t_sensor_s, dtype=np.float64)
        out = t + a + slope * t
        return float(out) if out.ndim == 0 else out

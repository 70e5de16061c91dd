"""Cutting a position track into pieces: turning points and stops.

A stroke ends where the roller turns back (the position reverses by more than `turn_cm`: a
zig-zag with hysteresis) or where it stops without turning (the speed dips below `valley_ratio`
of the peak before it and then recovers, with at least `min_stroke_cm` travelled on both sides
of the dip). Both rules are causal state machines: a turn is known once the position has come
back `turn_cm`, a stop once the speed after it has recovered. `PieceCutter.step` takes one
sample at a time, `PieceCutter.run` a whole track; they give the same cuts.
"""

from __future__ import annotations

import math

import numpy as np


class TurningPoints:
    """Turning points of a track with hysteresis `turn_cm` (a zig-zag)."""

    def __init__(self, turn_cm: float) -> None:
        self.turn_cm = float(turn_cm)
        self.start(0, 0.0)

    def start(self, i: int, v: float) -> None:
        """A new piece begins at sample `i` with value `v`; its direction is not yet known."""
        self.turn_v = math.nan
        """The value at the last turning point returned."""
        self.direction = 0
        self.start_v = float(v)
        self.ext_v = float(v)
        self.ext_i = int(i)

    def restart(self, i: int, extreme_v: float, direction: int, start_v: float | None = None) -> None:
        """Continue with a known `direction` (+1 up, -1 down) from the extreme `extreme_v` at
        sample `i` (after a stop, or when a hold is left)."""
        self.direction = int(direction)
        self.ext_v = float(extreme_v)
        self.ext_i = int(i)
        if start_v is not None:
            self.start_v = float(start_v)

    def step(self, i: int, v: float) -> int | None:
        """Sample `i` with value `v`; returns the index of a turning point it confirms, or None."""
        turn = None
        if self.direction >= 0:
            if v > self.ext_v:
                self.ext_v, self.ext_i = v, i
            elif self.ext_v - v > self.turn_cm:
                if self.direction > 0:
                    turn, self.turn_v = self.ext_i, self.ext_v
                self.direction = -1
                self.ext_v, self.ext_i = v, i
        if self.direction < 0:
            if v < self.ext_v:
                self.ext_v, self.ext_i = v, i
            elif v - self.ext_v > self.turn_cm:
                turn, self.turn_v = self.ext_i, self.ext_v
                self.direction = 1
                self.ext_v, self.ext_i = v, i
        if self.direction == 0 and abs(v - self.start_v) > self.turn_cm:
            self.direction = 1 if v > self.start_v else -1
        return turn

    def rescale(self, k: float) -> None:
        """The track's unit changed by the factor `k` (its values are now k times as large)."""
        self.turn_v *= k
        self.start_v *= k
        self.ext_v *= k

    def run(self, p: np.ndarray) -> list[int]:
        """Every turning point of the whole track `p` (indices into it)."""
        if len(p) == 0:
            return []
        self.start(0, float(p[0]))
        out = []
        for i in range(1, len(p)):
            k = self.step(i, float(p[i]))
            if k is not None:
                out.append(k)
        return out


class StopDetector:
    """Stops without a reversal: a dip of the speed below `valley_ratio` of the peak before it,
    followed by a recovery above the dip / `valley_ratio`, with `min_stroke_cm` or more of
    travel on both sides of the dip."""

    def __init__(self, valley_ratio: float, min_stroke_cm: float) -> None:
        self.valley_ratio = float(valley_ratio)
        self.min_stroke_cm = float(min_stroke_cm)
        self.start(0, 0.0)

    def start(self, i: int, v: float, peak: float = 0.0) -> None:
        """A new piece begins at sample `i` with value `v` (speed peak so far: `peak`)."""
        self.start_i, self.start_v = int(i), float(v)
        self.peak = float(peak)
        self._forget_dip()

    def _forget_dip(self) -> None:
        self.dip = math.inf
        self.dip_i = -1
        self.dip_v = math.nan
        self.right = 0.0

    def rescale(self, k: float) -> None:
        """The track's unit changed by the factor `k` (values and speeds k times as large)."""
        self.start_v *= k
        self.dip_v *= k
        self.peak *= k
        self.dip *= k
        self.right *= k

    def step(self, i: int, v: float, speed: float) -> int | None:
        """Sample `i` (value `v`, speed `speed` >= 0); returns the index of a stop it confirms
        (the caller starts the next piece there), or None."""
        r = self.valley_ratio
        if self.dip_i < 0 or speed < self.dip:
            if speed < self.dip and speed < r * self.peak:
                self.dip, self.dip_i, self.dip_v, self.right = speed, i, v, 0.0
            if self.dip_i < 0:
                self.peak = max(self.peak, speed)
                return None
        self.right = max(self.right, speed)
        if not (self.right > self.dip / r and self.right > 0):
            return None
        right = math.inf  # a dip at either end of the piece never qualifies
        if self.start_i < self.dip_i < i:
            left = abs(self.dip_v - self.start_v)
            right = abs(v - self.dip_v)
            if left >= self.min_stroke_cm and right >= self.min_stroke_cm:
                at, at_v, peak = self.dip_i, self.dip_v, self.right
                self.start(at, at_v, peak)
                return at
        if self.right > self.peak and right >= self.min_stroke_cm:
            # a real movement after a dip that did not qualify: look for the next dip
            self._forget_dip()
            self.peak = speed
        return None


class PieceCutter:
    """Turning points and stops together, as one stroke detector sees a track.

    `step(i, v, speed)` returns the index that ends the current piece (and starts the next),
    or None; `run(p, rate_hz)` returns every such index of a whole track. The speed of sample i
    is |p[i] - p[i - 1]| * rate (none for the first sample of a piece).
    """

    def __init__(self, turn_cm: float, valley_ratio: float, min_stroke_cm: float) -> None:
        self.turns = TurningPoints(turn_cm)
        self.stops = StopDetector(valley_ratio, min_stroke_cm)

    def start(self, i: int, v: float) -> None:
        self.turns.start(i, v)
        self.stops.start(i, v)

    def rescale(self, k: float) -> None:
        """The track's unit changed by the factor `k` (a change of the roller diameter the
        hips-down position is computed with): the state follows, so no step appears."""
        self.turns.rescale(k)
        self.stops.rescale(k)

    def restart(self, i: int, extreme_v: float, direction: int, start_i: int, start_v: float) -> None:
        """Continue a piece that began at `start_i` (value `start_v`) in a known `direction`,
        its extreme so far `extreme_v` (taken as at sample `i`)."""
        self.turns.restart(i, extreme_v, direction, start_v)
        self.stops.start(start_i, start_v)

    def step(self, i: int, v: float, speed: float | None) -> int | None:
        cut = self.turns.step(i, v)
        if cut is not None:
            # the next piece starts at the turn: the stop rule starts afresh there
            self.stops.start(cut, self.turns.turn_v)
        if speed is None:
            return cut
        stop = self.stops.step(i, v, speed)
        if stop is not None:
            self.turns.restart(i, v, 1 if v > self.stops.start_v else -1)
            return stop
        return cut

    def run(self, p: np.ndarray, rate_hz: float) -> list[int]:
        """Every cut of the whole track `p`, in order (indices into `p`). `step` for every
        sample, with the turning points inline and the stop rule's common case (no dip in
        sight, the speed still rising or high) short-cut: offline runs it on every stretch."""
        n = len(p)
        if n < 3:
            return []
        vals = np.asarray(p, dtype=float).tolist()
        self.start(0, vals[0])
        tp, st = self.turns, self.stops
        turn_cm, ratio = tp.turn_cm, st.valley_ratio
        direction, start_v, ext_v, ext_i = 0, vals[0], vals[0], 0
        out: list[int] = []
        for i in range(1, n):
            v = vals[i]
            speed = abs(v - vals[i - 1]) * rate_hz
            if direction >= 0:
                if v > ext_v:
                    ext_v, ext_i = v, i
                elif ext_v - v > turn_cm:
                    if direction > 0:
                        st.start(ext_i, ext_v)  # the stop rule starts afresh at the turn
                        out.append(ext_i)
                    direction, ext_v, ext_i = -1, v, i
            if direction < 0:
                if v < ext_v:
                    ext_v, ext_i = v, i
                elif v - ext_v > turn_cm:
                    st.start(ext_i, ext_v)
                    out.append(ext_i)
                    direction, ext_v, ext_i = 1, v, i
            if direction == 0 and abs(v - start_v) > turn_cm:
                direction = 1 if v > start_v else -1
            if st.dip_i < 0 and speed >= ratio * st.peak:
                st.peak = max(st.peak, speed)  # what `StopDetector.step` does then
                continue
            stop = st.step(i, v, speed)
            if stop is not None:
                direction, ext_v, ext_i = (1 if v > st.start_v else -1), v, i
                out.append(stop)
        tp.direction, tp.start_v, tp.ext_v, tp.ext_i = direction, start_v, ext_v, ext_i
        return sorted(set(out))

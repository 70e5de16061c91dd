"""The offline `WarningRules`, fired as their conditions become true.

Same thresholds (`Guidance`), same merge rules, same messages: every warning is built by
`tracker.analysis.steps.rules`, as offline, and the too-fast run is its `TooFastRuns`. A warning's span grows while its condition lasts (a too-fast
set gaining strokes, a lumbar stay); the list entry is replaced in place, and the event fires once.

| kind             | fires when (session time)                                               |
| ---------------- | ----------------------------------------------------------------------- |
| too_fast         | the `too_fast_min_strokes`-th fast stroke in a row (no hold between) closes |
|                  | (in a bridge: provisionally when the fast-move detector sees it end, then |
|                  | confirmed by the committed strokes, or withdrawn from the list)          |
| hold_too_long    | the hold's back-dated start + `hold_too_long_s`                          |
| region_overuse   | a region's on-roller time crosses `region_budget_s`                      |
| session_too_long | the on-roller time crosses `session_too_long_s`                          |
| lumbar           | the contact has been in the lumbar region for `lumbar_confirm_s`; again  |
|                  | only after `lumbar_merge_s` away from it (the offline merge rule). While |
|                  | the torso turns as fast as getting up, it waits for the turning to end   |
|                  | on the roller (getting up sweeps the contact through the lumbar range)   |
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from tracker.analysis.steps import rules
from tracker.analysis.warnings import WarningRules
from tracker.guidance import Guidance
from tracker.results import Hold, SessionWarning, Stroke


class LiveWarnings:
    """Causal warning rules. `warnings` is the session's list (newest last, spans updated)."""

    def __init__(self, guidance: Guidance, lumbar_confirm_s: float = 0.2, lumbar_exit_wait_s: float = 3.0) -> None:
        self.guidance = guidance
        self.offline = WarningRules(guidance)
        self.lumbar_confirm_s = lumbar_confirm_s
        self.warnings: list[SessionWarning] = []
        self.fired = 0
        self._runs = rules.TooFastRuns(guidance)
        self._run_warning: int | None = None
        self._hold_warned: float | None = None
        self._hold_index: int | None = None
        self._region_warned: set[str] = set()
        self._session_warned = False
        self._lumbar_since: float | None = None
        self._lumbar_span: list[float] | None = None  # [start, end] of the current/last span
        self._lumbar_warning: int | None = None
        self._lumbar_pending: float | None = None  # a stay confirmed while turning fast
        self._lumbar_pending_at = 0.0
        self.lumbar_exit_wait_s = lumbar_exit_wait_s
        self._lumbar_end = guidance.region_bounds_cm()[0][2]
        # provisional too_fast warnings (a bridge's fast-move detector): [index, start, end]
        # until the committed strokes make the same run (adopted) or show there was none
        self._provisional: list[list] = []

    def _fire(self, w: SessionWarning) -> SessionWarning:
        self.warnings.append(w)
        self.fired += 1
        return w

    def _update(self, index: int | None, w: SessionWarning) -> None:
        # indices stay valid: the list is only appended to (the session caps its own copy)
        if index is not None and 0 <= index < len(self.warnings):
            self.warnings[index] = w

    # --- strokes and holds -------------------------------------------------------------------------
    def stroke_ending(self, stroke: Stroke) -> SessionWarning | None:
        """A fast stroke is decelerating (not yet closed): fire too_fast now if it completes a run."""
        if self._run_warning is not None or not self._runs.fast(stroke):
            return None
        w = self._runs.warning(extra=stroke)
        if w is None:
            return None
        self._run_warning = len(self.warnings)
        return self._fire(w)

    def stroke_closed(self, stroke: Stroke, t_s: float, provisional_fired: bool = False) -> list[SessionWarning]:
        # (a warning fired on the stroke's way out stays: it was said; a slow stroke ends the run)
        w = self._runs.step(stroke)
        if not self._runs.strokes:
            self._run_warning = None
        if w is None:
            return []
        if self._run_warning is None:
            run = self._runs.strokes
            adopted = self._adopt(run[0].start_s, run[-1].end_s)
            if adopted is not None:
                # said already, provisionally: the committed run confirms it (span and message
                # from the committed strokes)
                self._run_warning = adopted
                self._update(adopted, w)
                return []
            self._run_warning = len(self.warnings)
            return [self._fire(w)]
        self._update(self._run_warning, w)
        return []

    # --- provisional too_fast (bridge) -------------------------------------------------------------
    def provisional_too_fast(self, run: list[Stroke]) -> SessionWarning | None:
        """A run of fast movements seen by a bridge's fast-move detector, ahead of the committed
        strokes: fire too_fast now (once per run; a longer run updates the span). It stays a
        provisional warning until `stroke_closed` adopts it or `withdraw_provisional` drops it."""
        if len(run) < self.guidance.too_fast_min_strokes:
            return None
        w = rules.too_fast_warning(run, self.guidance)
        a, b = run[0].start_s, run[-1].end_s
        for p in self._provisional:
            if p[1] <= b + 1.0 and p[2] >= a - 1.0:
                p[1], p[2] = min(p[1], a), max(p[2], b)
                self._update(p[0], replace(w, start_s=p[1], end_s=p[2]))
                return None
        if self._run_warning is not None and 0 <= self._run_warning < len(self.warnings):
            w = self.warnings[self._run_warning]
            if w.start_s <= b + 1.0 and w.end_s >= a - 1.0:
                return None  # the committed strokes have said it already
        self._provisional.append([len(self.warnings), a, b])
        return self._fire(w)

    def _adopt(self, a: float, b: float) -> int | None:
        for k, p in enumerate(self._provisional):
            if p[1] <= b + 1.0 and p[2] >= a - 1.0:
                del self._provisional[k]
                return p[0]
        return None

    def withdraw_provisional(self, before_s: float) -> int:
        """Provisional too_fast warnings that ended before `before_s` and that no committed run
        confirmed leave the list (the event was out; the session's result follows the committed
        strokes). Returns how many."""
        gone = sorted((p[0] for p in self._provisional if p[2] < before_s), reverse=True)
        self._provisional = [p for p in self._provisional if p[2] >= before_s]
        for index in gone:
            del self.warnings[index]
            # the indices kept past it move down by one
            self._run_warning = _shifted(self._run_warning, index)
            self._lumbar_warning = _shifted(self._lumbar_warning, index)
            self._hold_index = _shifted(self._hold_index, index)
            for p in self._provisional:
                p[0] = _shifted(p[0], index)
        return len(gone)

    def hold_started(self) -> None:
        """A confirmed hold breaks a too-fast run (the offline rule: a hold between strokes)."""
        self._runs.hold()
        self._run_warning = None

    def hold_due(self, t_s: float, hold_start_s: float) -> bool:
        """Whether `hold_tick` fires now (the hold's position is needed only then)."""
        return t_s - hold_start_s > self.guidance.hold_too_long_s and self._hold_warned != hold_start_s

    def hold_tick(self, t_s: float, hold_start_s: float, position_cm: float) -> SessionWarning | None:
        g = self.guidance
        if not self.hold_due(t_s, hold_start_s):
            return None
        self._hold_warned = hold_start_s
        region = g.region_at(position_cm) if np.isfinite(position_cm) else "unknown"
        h = Hold(hold_start_s, t_s, t_s - hold_start_s, position_cm, region)
        self._hold_index = len(self.warnings)
        return self._fire(rules.hold_too_long_warning(h, g))

    def hold_rebooked(self, start_s: float, within_s: float = 2.0) -> None:
        """The hold warned about was booked with start `start_s` (a bridge hold's start is
        trimmed when it is booked): the warning's span follows it."""
        if self._hold_warned is not None and abs(self._hold_warned - start_s) <= within_s:
            self._hold_warned = start_s

    def hold_closed(self, hold: Hold) -> None:
        if self._hold_warned == hold.start_s and hold.duration_s > self.guidance.hold_too_long_s:
            self._update(self._hold_index, rules.hold_too_long_warning(hold, self.guidance))

    # --- time on the roller ------------------------------------------------------------------------
    def tick(
        self,
        t_s: float,
        dt_s: float,
        position_cm: float,
        region: str,
        on_roller_s: float,
        region_time_s: dict[str, float],
        turning: bool = False,
    ) -> list[SessionWarning]:
        """One on-roller sample. `turning`: the torso turns as fast as when getting on or off the
        roller; offline calls such a stretch a transition (not on the roller) if a change of
        state follows it, so a lumbar stay confirmed while turning waits for the turning to end
        on the roller (`roller_left` drops it: sitting up sweeps the contact through the lumbar
        range)."""
        g = self.guidance
        out: list[SessionWarning] = []
        spent = region_time_s.get(region, 0.0)
        if spent > g.region_budget_s and region not in self._region_warned:
            self._region_warned.add(region)
            out.append(self._fire(rules.region_overuse_warning(region, spent, t_s, t_s, g)))
        if on_roller_s > g.session_too_long_s and not self._session_warned:
            self._session_warned = True
            out.append(self._fire(rules.session_too_long_warning(on_roller_s, t_s, t_s, g)))
        if g.warn_lumbar:
            w = self._lumbar(t_s, position_cm < self._lumbar_end, turning)
            if w is not None:
                out.append(w)
        return out

    def _lumbar(self, t_s: float, inside: bool, turning: bool = False) -> SessionWarning | None:
        merge_s = self.offline.lumbar_merge_s
        if self._lumbar_pending is not None and (not turning or t_s - self._lumbar_pending_at >= self.lumbar_exit_wait_s):
            # the turning ended on the roller (or went on far too long for sitting up): real
            since, self._lumbar_pending = self._lumbar_pending, None
            self._lumbar_span = [since, t_s]
            self._lumbar_warning = len(self.warnings)
            return self._fire(self._lumbar_message(self._lumbar_span))
        if not inside:
            self._lumbar_since = None
            return None
        if self._lumbar_since is None:
            self._lumbar_since = t_s
        span = self._lumbar_span
        if span is not None and self._lumbar_since - span[1] <= merge_s:
            # the same stay (the offline merge rule): extend it
            span[1] = t_s
            self._update(self._lumbar_warning, self._lumbar_message(span))
            return None
        if t_s - self._lumbar_since < self.lumbar_confirm_s or self._lumbar_pending is not None:
            return None
        if turning:
            self._lumbar_pending = self._lumbar_since
            self._lumbar_pending_at = t_s
            return None
        self._lumbar_span = [self._lumbar_since, t_s]
        self._lumbar_warning = len(self.warnings)
        return self._fire(self._lumbar_message(self._lumbar_span))

    def _lumbar_message(self, span: list[float]) -> SessionWarning:
        return rules.lumbar_warning(span[0], span[1], ongoing=True)

    def roller_left(self, t_s: float) -> None:
        self._lumbar_since = None
        self._lumbar_pending = None
        self._runs.clear()
        self._run_warning = None

    def finish(self, t_s: float) -> None:
        self.roller_left(t_s)
        # spans of region/session warnings run to the end of the session, like offline
        for i, w in enumerate(self.warnings):
            if w.kind in ("region_overuse", "session_too_long"):
                self.warnings[i] = replace(w, end_s=max(w.end_s, t_s))


def _shifted(i: int | None, removed: int) -> int | None:
    """A list index after the entry at `removed` was deleted."""
    return i - 1 if i is not None and i > removed else i

"""On or off the roller, causally: the offline `PostureSegmenter`'s still states on trailing means.

The torso's sagittal angle (0.5 s trailing mean) below `on_roller_max_deg` enters the roller
and above `on_roller_exit_deg` leaves it (hysteresis); entering waits until the turning of
lying back has slowed below `transition_rate_deg_s`, and leaving is back-dated to when the
turning that got off began. About 0.25 s behind offline's centred means.

Getting up: the angle rising faster than `getting_up_rate_deg_s` may be sitting up off the
roller, which sweeps the hips-down contact through the lumbar range in about a second; the
lumbar rule waits while it is unclear (`rising`).
"""

from __future__ import annotations

from tracker.analysis.posture import PostureSegmenter
from tracker.analysis.steps.windows import TrailingMean
from tracker.live.sample import BodySample


class RollerPhase:
    """See the module docstring. `step` returns "on" when the person has just got onto the
    roller, "off" when they have just left it (at `left_at_s`), else None.

    Parameters
    ----------
    segmenter
        The offline segmenter: its angles and rates.
    getting_up_rate_deg_s, getting_up_slow_ratio, getting_up_margin_deg
        Sitting up keeps rising until it crosses the exit angle, slowing only near sitting; so
        `rising` ends when the angle falls back by a degree (a stroke that turned back up the
        back) or slows to under `getting_up_slow_ratio` of its peak rate more than
        `getting_up_margin_deg` below the exit angle (a stroke arriving in a hold low on the
        back). Sitting up turns the torso by 30-60 °/s; a stroke into the lumbar region at
        2-7 cm/s by 5-30 °/s.
    """

    def __init__(
        self,
        segmenter: PostureSegmenter,
        rate_hz: float,
        *,
        getting_up_rate_deg_s: float = 20.0,
        getting_up_slow_ratio: float = 0.5,
        getting_up_margin_deg: float = 4.0,
    ) -> None:
        self.ps = segmenter
        self.rate_hz = rate_hz
        self.getting_up_rate_deg_s = getting_up_rate_deg_s
        self.getting_up_slow_ratio = getting_up_slow_ratio
        self.getting_up_margin_deg = getting_up_margin_deg
        n = max(1, int(round(segmenter.smooth_s * rate_hz)))
        self._sagittal = TrailingMean(n)
        self._turning = TrailingMean(n)
        self.on = False
        """On the roller (after the turning of lying back has settled)."""
        self.rising = False
        """The torso turns up as fast as when sitting up off the roller."""
        self.left_at_s = 0.0
        self._on_raw = False  # the angle's hysteresis state
        self._fast_since: float | None = None
        self._prev_sag: float | None = None
        self._gu_since: float | None = None
        self._gu_peak = 0.0
        self._gu_peak_rate = 0.0

    def step(self, s: BodySample) -> str | None:
        t = s.t_s
        ps = self.ps
        sag = self._sagittal.step(s.sagittal_deg)
        rate = self._turning.step(s.turn_rate_deg_s)
        self._getting_up(t, sag)
        self._prev_sag = sag
        fast = rate > ps.transition_rate_deg_s
        if not fast:
            self._fast_since = None
        elif self._fast_since is None:
            self._fast_since = t
        self._on_raw = sag < ps.on_roller_exit_deg if self._on_raw else sag < ps.on_roller_max_deg
        if self.on and not self._on_raw:
            # the turn that got off the roller started before the threshold: back-date
            self.on = False
            self.left_at_s = self._fast_since if self._fast_since is not None else t
            return "off"
        if not self.on and self._on_raw and not fast:
            self.on = True
            return "on"
        return None

    def _getting_up(self, t: float, sag: float) -> None:
        rate = 0.0 if self._prev_sag is None else (sag - self._prev_sag) * self.rate_hz
        if rate > self.getting_up_rate_deg_s and self._gu_since is None:
            self._gu_since, self._gu_peak, self._gu_peak_rate = t, sag, rate
        if self._gu_since is not None:
            self._gu_peak = max(self._gu_peak, sag)
            self._gu_peak_rate = max(self._gu_peak_rate, rate)
            below = sag < self.ps.on_roller_exit_deg - self.getting_up_margin_deg
            slowed = rate < self.getting_up_slow_ratio * self._gu_peak_rate
            if sag < self._gu_peak - 1.0 or (below and slowed):
                self._gu_since = None
        self.rising = self._gu_since is not None

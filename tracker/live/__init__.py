"""Live coaching: the analysis in causal form, and a full-screen terminal view.

    from tracker.live import LiveSession, LiveView
    live = LiveSession(guidance, sampling_rate_hz=100, calibration=cal)
    events = live.push(t_s, acc_m_s2, gyr_rad_s)     # or live.push_block(decoded_block)
    view.update(live.state, events)

`LiveSession` (tracker.live.streaming) imports numpy and vqf; `LiveState`/`LiveEvent`
(tracker.live.state) and the view import neither.
"""

from tracker.live.state import EVENT_KINDS, PACE_BANDS, HoldTimer, LiveEvent, LiveState

__all__ = ["EVENT_KINDS", "PACE_BANDS", "HoldTimer", "LiveEvent", "LiveSession", "LiveState", "LiveView"]


def __getattr__(name: str) -> object:  # lazy: the view must not pull in vqf, the session not rich
    if name == "LiveSession":
        from tracker.live.streaming import LiveSession

        return LiveSession
    if name == "LiveView":
        from tracker.live.view import LiveView

        return LiveView
    raise AttributeError(name)

"""A physical model of a person foam rolling their back, with exact ground truth.

    from tracker.simulate import random_script, simulate_session
    sim = simulate_session(random_script(3, posture="mixed", fast=True), seed=3)
    sim.recording   # tracker.imu.ImuRecording (sensor frame, noise, bias, quantisation)
    sim.counts      # (N, 6) int16 raw counts, recording == counts * scale
    sim.truth       # GroundTruth: strokes, holds, phases, position and pitch tracks, ...

The ground truth for every analysis test, the source the emulated sensor streams, and the
demo's data. Kinematics follow docs/kinematics.md (see `tracker.simulate.session`).
"""

from tracker.simulate.script import (
    SEGMENT_KINDS,
    Segment,
    SessionScript,
    compile_script,
    hips_down_pitch_deg,
    random_script,
)
from tracker.simulate.session import SensorModel, SimulatedSession, drop_packets, simulate_session
from tracker.simulate.truth import GroundTruth

__all__ = [
    "SEGMENT_KINDS",
    "GroundTruth",
    "Segment",
    "SensorModel",
    "SessionScript",
    "SimulatedSession",
    "compile_script",
    "drop_packets",
    "hips_down_pitch_deg",
    "random_script",
    "simulate_session",
]

"""Model 2: a planar multibody model of a person foam rolling, with a 3-D strapped IMU.

Written independently of `tracker.simulate` (issue 8) so the analysis can be measured on a model
nobody tuned it to. The primary input on the roller is the contact's path along the back; the
trunk's pose follows from constraints solved numerically (`body`), the sensor's kinematics from
differentiating sampled poses (`sensor`), and the truth from the plan (`truth`).

    from tracker.multibody import random_session
    sim = random_session(7000, posture="mixed", fast=True, duration_s=300)
    sim.recording        # tracker.imu.ImuRecording (sensor frame, SI units)
    sim.truth            # Truth: strokes, holds, too_fast_spans, region_time_s, ...

Recordings that are not foam rolling (walking, desk sitting, lying still, stretching, the sensor
carried about or left on a table): `tracker.multibody.activities`.
"""

from tracker.multibody.body import BRIDGE, FLOOR, FREE, HIPS_DOWN, BackProfile, Person, Rig, Roller
from tracker.multibody.motion import Motion, Nuisance
from tracker.multibody.plan import PIECE_KINDS, Piece, Plan, random_plan, with_pieces
from tracker.multibody.sensor import ImuSamples, SensorSpec, record_imu
from tracker.multibody.session import (
    RATES_HZ,
    MultibodySession,
    random_rotation,
    random_session,
    simulate_session,
)
from tracker.multibody.truth import Truth, fast_sets

__all__ = [
    "BRIDGE",
    "FLOOR",
    "FREE",
    "HIPS_DOWN",
    "PIECE_KINDS",
    "RATES_HZ",
    "BackProfile",
    "ImuSamples",
    "Motion",
    "MultibodySession",
    "Nuisance",
    "Person",
    "Piece",
    "Plan",
    "Rig",
    "Roller",
    "SensorSpec",
    "Truth",
    "fast_sets",
    "random_plan",
    "random_rotation",
    "random_session",
    "record_imu",
    "simulate_session",
    "with_pieces",
]

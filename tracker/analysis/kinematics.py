"""Rolling geometry: where the roller touches the back, from the torso's pitch.

Hips down (docs/kinematics.md): the hips rest on the floor, the back is a straight line through them,
tangent to a roller of radius r lying on the floor. The contact's distance from the hips along the
back is

    s = r * cot(theta / 2)            theta: torso pitch above horizontal (rad)

and its inverse theta = 2 * atan(r / s). Sensitivity ds/dtheta = -r / (2 sin^2(theta/2)): at
theta = 20 deg on a 15 cm roller one degree of pitch is 2.2 cm along the back, so pitch must be
the elevation of the long axis (roll-free) and accurate to a fraction of a degree.

Bridge: the body translates over the roller, which rolls without slipping on the floor and under
the back, so the contact moves along the back half as far as the body moves (and the other way).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

MIN_PITCH_RAD = np.radians(2.0)
"""Below this pitch the hips-down formula runs off to infinity: the person is lying flat."""


def hips_down_position_cm(pitch_rad: ArrayLike, roller_diameter_cm: float) -> np.ndarray:
    """Contact position along the back from the hips, cm: s = r cot(theta/2).

    `pitch_rad` (N,) is the elevation of the superior axis above horizontal; pitches below
    `MIN_PITCH_RAD` give NaN (not a hips-down contact).
    """
    theta = np.asarray(pitch_rad, dtype=float)
    r = 0.5 * roller_diameter_cm
    with np.errstate(divide="ignore", invalid="ignore"):
        s = r / np.tan(0.5 * theta)
    return np.where(theta >= MIN_PITCH_RAD, s, np.nan)


def hips_down_pitch_rad(position_cm: ArrayLike, roller_diameter_cm: float) -> np.ndarray:
    """Inverse of `hips_down_position_cm`: theta = 2 atan(r / s)."""
    r = 0.5 * roller_diameter_cm
    return 2.0 * np.arctan2(r, np.asarray(position_cm, dtype=float))


def bridge_contact_displacement_cm(body_displacement_cm: np.ndarray) -> np.ndarray:
    """Contact displacement along the back for a body displacement toward the head (cm).

    Rolling without slip on both sides: the roller's axis moves half as far as the body, so the
    contact moves along the back by half the body's displacement, toward the hips when the body
    moves toward the head.
    """
    return -0.5 * np.asarray(body_displacement_cm, dtype=float)

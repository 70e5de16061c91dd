"""Analysis: IMU samples to strokes, holds, pace, regions and warnings.

    from tracker.analysis import analyze, load_recording
    result = analyze(load_recording("session.csv"))      # tracker.results.SessionAnalysis
    result, details = analyze_with_details(recording)    # and the signals it worked on

In a notebook, `tracker.analyze(data)` (`tracker.analysis.api`) takes a DataFrame, a path or a
recording. Estimator classes (parameters in `__init__`, an action method returning `self`,
results with a trailing underscore): `OrientationEstimator`, `BodyAxesEstimator`,
`PostureSegmenter`, `ContactPositionEstimator`, `StrokeHoldDetector`, `WarningRules`; `analyze`
chains them. They are built from the primitives of `tracker.analysis.steps`, which the live
analysis (`tracker.live`) runs sample by sample. A recording without a gyroscope (Polar H10)
goes through the same chain with the gyro-free pieces of `tracker.analysis.accel_only`
(`TiltOrientationEstimator`, `GravityAxesEstimator`). Never imports the radio layers.
"""

from tracker.analysis.body_axes import BodyAxesEstimator, calibration_from_still_poses
from tracker.analysis.contact import ContactPositionEstimator
from tracker.analysis.io import load_csv, load_recording
from tracker.analysis.kinematics import hips_down_pitch_rad, hips_down_position_cm
from tracker.analysis.pipeline import (
    AnalysisDetails,
    AnalysisParameters,
    analyze,
    analyze_with_details,
)
from tracker.analysis.posture import PostureSegmenter
from tracker.analysis.signals import OrientationEstimator, Signals, prepare_signals
from tracker.analysis.strokes import StrokeHoldDetector
from tracker.analysis.warnings import WarningRules

__all__ = [
    "AnalysisDetails",
    "AnalysisParameters",
    "BodyAxesEstimator",
    "ContactPositionEstimator",
    "OrientationEstimator",
    "PostureSegmenter",
    "Signals",
    "StrokeHoldDetector",
    "WarningRules",
    "analyze",
    "analyze_with_details",
    "calibration_from_still_poses",
    "hips_down_pitch_rad",
    "hips_down_position_cm",
    "load_csv",
    "load_recording",
    "prepare_signals",
]

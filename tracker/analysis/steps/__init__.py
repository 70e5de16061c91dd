"""The analysis core: small, public, step-wise primitives shared by offline and live analysis.

Offline (`tracker.analysis.analyze`) calls them on whole arrays; the live session
(`tracker.live.LiveSession`) calls the same objects one sample or one block at a time. A
primitive with state has both forms and they agree: `run(x)` on a whole array gives what
`step` gives sample by sample, or `run` block after block (tests/analysis/test_steps_*.py check
it for any block size). Forms that look ahead (zero-phase filtering, centred windows) are
named as such and are for whole recordings only.

| module        | what                                                                         |
| ------------- | ---------------------------------------------------------------------------- |
| `runs`        | runs of a mask or of labels, gap-free pieces, nearest fill                   |
| `filters`     | `Butterworth`: causal `run`/`step` with state, and `zero_phase`               |
| `windows`     | `StillWindows` (stillness), `TrailingMean`, exact moving extremes, centred means |
| `pieces`      | `PieceCutter`: turning points (`TurningPoints`) and stops (`StopDetector`)     |
| `measure`     | `StrokeMeasure`: a stroke from its piece of track; the plausibility filter    |
| `rules`       | every warning's message; `TooFastRuns`                                        |
| `orientation` | the orientation stage (`VqfOrientation`, the `OrientationStage` seam)        |
| `tilt`        | the gyro-free orientation stage (`TiltOrientation`: up from the accelerometer) |
| `decimate`    | `BlockMean`: decimation by block means with carry-over                        |
"""

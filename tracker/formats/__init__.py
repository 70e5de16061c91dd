"""Reading recordings from files: the layer between files on disk and the IMU frame.

    from tracker.formats import load_recording
    recording = load_recording("Sensor Logger export.zip")   # tracker.imu.ImuRecording
    recording.source["format"]    # 'Sensor Logger export (Android, zip: TotalAcceleration.csv + Gyroscope.csv)'

A module per format, and the machinery they share:

| module          | what it holds                                                            |
| --------------- | ------------------------------------------------------------------------ |
| `detect`        | `load_recording`: which format a file is, from its bytes, and reading it  |
| `captures`      | tracker captures, through `tracker.capture`                              |
| `tracker_csv`   | `t,ax,ay,az,gx,gy,gz` CSV, and any CSV through a `--columns` map          |
| `sensor_logger` | Sensor Logger exports (zip or folder; iOS and Android conventions)       |
| `phyphox`       | phyphox exports (CSV or zip; any separator; pauses)                      |
| `columns`       | the `--columns` map                                                      |
| `units`         | stated units (`--time-unit` ...) and unit detection                       |
| `samples`       | the checks every text format goes through (order, gaps, missing values)  |
| `streams`       | one sensor on its own clock; two on one timeline                         |
| `table`         | numeric CSV columns in memory proportional to the numbers kept           |
| `sources`       | a file, folder or zip as members to read                                 |

Never imports the radio layers or the analysis; pandas only while reading a CSV.
"""

from tracker.formats.columns import ColumnMapping
from tracker.formats.detect import load_recording
from tracker.formats.samples import MAX_NAN_RUN_S, MIN_DURATION_S, MIN_SAMPLES, tidy_samples
from tracker.formats.sources import content_sha256
from tracker.formats.tracker_csv import FORMATS_READ
from tracker.formats.units import (
    AccelUnit,
    GyroUnit,
    TimeUnit,
    UnitOverrides,
    gyro_scale_estimate,
)

__all__ = [
    "FORMATS_READ",
    "MAX_NAN_RUN_S",
    "MIN_DURATION_S",
    "MIN_SAMPLES",
    "AccelUnit",
    "ColumnMapping",
    "GyroUnit",
    "TimeUnit",
    "UnitOverrides",
    "content_sha256",
    "gyro_scale_estimate",
    "load_recording",
    "tidy_samples",
]

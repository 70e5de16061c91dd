"""The sensors this user has paired, and which one is the default: `sensors.json` in the data dir.

One small JSON file, 0600, replaced atomically (`tracker.paths.write_private_atomic`), so a crash
never leaves half a file. Battery levels are stored with the time they were read, so a scan can
show "87% (2 h ago)" instead of pretending to know the level now. A file that cannot be read is
ignored (recording goes on without calibration) and, before anything overwrites it, moved aside to
`sensors.json.damaged-<UTC time>` so the calibrations in it can still be recovered by hand.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tracker.imu import MountingCalibration

logger = logging.getLogger(__name__)

REGISTRY_VERSION = 1
FILE_NAME = "sensors.json"


def utc_now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class SensorRecord:
    """One paired sensor."""

    address: str
    name: str
    driver: str
    device_info: dict[str, str] = field(default_factory=dict)
    protocol_version: int | None = None
    calibration: MountingCalibration | None = None
    last_battery_pct: int | None = None
    last_battery_utc: str | None = None
    paired_utc: str | None = None
    emulated: bool = False
    signal_check: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "name": self.name,
            "driver": self.driver,
            "device_info": dict(self.device_info),
            "protocol_version": self.protocol_version,
            "calibration": self.calibration.to_json() if self.calibration is not None else None,
            "last_battery_pct": self.last_battery_pct,
            "last_battery_utc": self.last_battery_utc,
            "paired_utc": self.paired_utc,
            "emulated": self.emulated,
            "signal_check": {k: float(v) for k, v in self.signal_check.items()},
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> SensorRecord:
        calibration = obj.get("calibration")
        return cls(
            address=str(obj["address"]),
            name=str(obj.get("name", "")),
            driver=str(obj.get("driver", "tracker-imu")),
            device_info={str(k): str(v) for k, v in (obj.get("device_info") or {}).items()},
            protocol_version=obj.get("protocol_version"),
            calibration=MountingCalibration.from_json(calibration) if calibration else None,
            last_battery_pct=obj.get("last_battery_pct"),
            last_battery_utc=obj.get("last_battery_utc"),
            paired_utc=obj.get("paired_utc"),
            emulated=bool(obj.get("emulated", False)),
            signal_check=dict(obj.get("signal_check") or {}),
        )

    def battery_text(self, now: datetime | None = None) -> str:
        """"87% (2 h ago)", or "unknown": a cached level is always marked with its age."""
        if self.last_battery_pct is None or self.last_battery_utc is None:
            return "unknown"
        try:
            then = datetime.fromisoformat(self.last_battery_utc)
        except ValueError:
            return "unknown"
        age_s = max(0.0, ((now or datetime.now(UTC)) - then).total_seconds())
        if age_s < 90:
            age = "just now"
        elif age_s < 5400:
            age = f"{age_s / 60:.0f} min ago"
        elif age_s < 2 * 86400:
            age = f"{age_s / 3600:.0f} h ago"
        else:
            age = f"{age_s / 86400:.0f} days ago"
        return f"{self.last_battery_pct}% ({age})"


class SensorRegistry:
    """Paired sensors by address, plus the default one."""

    def __init__(self, path: Path | None = None) -> None:
        from tracker import paths

        self.path = path or (paths.data_dir() / FILE_NAME)
        self.sensors: dict[str, SensorRecord] = {}
        self.default_address: str | None = None
        self.damaged = False
        """The file exists but could not be read: `save` moves it aside first."""
        self._load()

    def _load(self) -> None:
        if not self.path.exists():
            return
        try:
            obj = json.loads(self.path.read_text(encoding="utf-8"))
            for entry in obj.get("sensors", []):
                record = SensorRecord.from_json(entry)
                self.sensors[record.address.upper()] = record
            default = obj.get("default")
            self.default_address = default.upper() if isinstance(default, str) else None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            # An unreadable registry must not stop recording; `save` keeps a copy before rewriting.
            logger.warning(
                "the sensor registry %s cannot be read (%s); going on without the paired sensors' "
                "calibrations", self.path, exc,
            )
            self.sensors = {}
            self.default_address = None
            self.damaged = True

    def _move_damaged_aside(self) -> None:
        from tracker.paths import raise_storage_error

        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        target = self.path.with_name(f"{self.path.name}.damaged-{stamp}")
        n = 1
        while target.exists():
            n += 1
            target = self.path.with_name(f"{self.path.name}.damaged-{stamp}-{n}")
        try:
            self.path.rename(target)
        except FileNotFoundError:
            pass  # gone meanwhile: nothing to keep
        except OSError as exc:
            raise_storage_error(exc, target)
        else:
            logger.warning("the unreadable sensor registry was moved to %s before writing a new one", target)
        self.damaged = False

    def save(self) -> None:
        from tracker.paths import write_private_atomic

        if self.damaged:
            self._move_damaged_aside()
        obj = {
            "version": REGISTRY_VERSION,
            "default": self.default_address,
            "sensors": [record.to_json() for record in self.sensors.values()],
        }
        write_private_atomic(self.path, (json.dumps(obj, indent=1) + "\n").encode())

    def get(self, address: str) -> SensorRecord | None:
        return self.sensors.get(address.upper())

    def find(self, name_or_address: str) -> SensorRecord | None:
        """The record with this address, else the one with this name (`--sensor TRK-C0DE`)."""
        record = self.get(name_or_address)
        if record is not None:
            return record
        wanted = name_or_address.strip().lower()
        return next((r for r in self.sensors.values() if r.name.lower() == wanted), None)

    def default(self) -> SensorRecord | None:
        return self.sensors.get(self.default_address) if self.default_address else None

    def default_for(self, *, emulated: bool, kind: str | None = None) -> SensorRecord | None:
        """The sensor to use when none is named: the default one if it is on this kind of radio
        (real or emulated) and of this sensor `kind` (when given), else the most recently paired
        one that is."""

        def fits(record: SensorRecord) -> bool:
            return record.emulated == emulated and (kind is None or record.driver == kind)

        default = self.default()
        if default is not None and fits(default):
            return default
        candidates = [r for r in self.sensors.values() if fits(r)]
        return max(candidates, key=lambda r: r.paired_utc or "", default=None)

    def upsert(self, record: SensorRecord, *, make_default: bool = True) -> None:
        self.sensors[record.address.upper()] = record
        if make_default:
            self.default_address = record.address.upper()

    def note_battery(self, address: str, pct: int) -> None:
        """Remember a battery reading (in memory; call `save`)."""
        record = self.get(address)
        if record is not None:
            record.last_battery_pct = int(pct)
            record.last_battery_utc = utc_now_iso()

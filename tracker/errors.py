"""One exception tree for everything a user can cause or fix.

The CLI turns any `TrackerError` into one line on stderr (`message`, then `hint` when there is
one) and the exit status `exit_code`; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class TrackerError(Exception):
    """Root of every error the user can act on."""

    exit_code: int = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        """The message and what to do about it, on one line."""
        return f"{self.message}; {self.hint}" if self.hint else self.message


class UsageError(TrackerError):
    """A command was called with options that cannot work together or values out of range."""

    exit_code = 2


class MissingDependencyError(TrackerError):
    """An optional package a command needs is not installed (the hint is the line installing it)."""


# --- input files -----------------------------------------------------------------------------
class InputFileError(TrackerError):
    """A file given to tracker cannot be used."""

    def __init__(self, message: str, *, path: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.path = path


class CaptureFormatError(InputFileError):
    """A capture file is not a tracker capture, or its header is unreadable."""


class CsvFormatError(InputFileError):
    """A CSV file has missing columns, wrong units or unusable rows."""


class RecordingTooShortError(InputFileError):
    """The recording is too short (or too sparse) to analyse."""


# --- radio and sensors -----------------------------------------------------------------------
class SensorError(TrackerError):
    """Something went wrong talking to a sensor."""

    def __init__(self, message: str, *, address: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.address = address


class SensorNotFoundError(SensorError):
    """No matching sensor answered a scan."""


class PairingError(SensorError):
    """Bonding or the pairing checks failed."""


class ProtocolVersionError(SensorError):
    """The sensor speaks a protocol version this tracker does not understand."""

    def __init__(self, message: str, *, version: int, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.version = version


class ControlPointError(SensorError):
    """The sensor refused a control-point command; `result_code` says why."""

    def __init__(self, message: str, *, opcode: int, result_code: int, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.opcode = opcode
        self.result_code = result_code


class PmdControlPointError(ControlPointError):
    """A Polar sensor refused a PMD control-point request; `status_name` is the SDK's name
    (e.g. "ERROR_INVALID_SAMPLE_RATE"), `measurement` the measurement it was about ("ACC")."""

    def __init__(
        self,
        message: str,
        *,
        op_code: int,
        status: int,
        status_name: str,
        measurement: str,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, opcode=op_code, result_code=status, hint=hint)
        self.status = status
        self.status_name = status_name
        self.measurement = measurement


class LinkLostError(SensorError):
    """The link dropped and could not be re-established in time."""


class SensorSilentError(SensorError):
    """The sensor stays connected but has sent no data for too long."""


class ListenError(SensorError):
    """tracker cannot listen for a phone where it was asked (a port in use, an address that is
    not this computer's)."""


class NoBluetoothError(SensorError):
    """No Bluetooth adapter is available on this machine."""


# --- analysis --------------------------------------------------------------------------------
class AnalysisUnavailableError(TrackerError):
    """The recording is fine but tracker cannot analyse this kind of recording yet."""


# --- storage ---------------------------------------------------------------------------------
class StorageError(TrackerError):
    """The data directory or a file in it cannot be written or read."""


class DiskFullError(StorageError):
    """The disk filled up while writing."""


class DatabaseCorruptError(StorageError):
    """The session database is damaged; it is left untouched."""

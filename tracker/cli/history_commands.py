"""`tracker` commands of the history layer (registered on import)."""

from __future__ import annotations

from tracker.cli.app import app  # noqa: F401

"""The emulated sensor's bond store: the keys of the hosts it has paired with.

A real sensor keeps its bonds in flash, so a host that paired once reconnects and encrypts with
the stored keys, without pairing again. `BondStore` is a Bumble key store kept in memory and,
when given a path, also written to a private (0600) JSON file after every change.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from bumble.keys import KeyStore, PairingKeys

from tracker import paths

logger = logging.getLogger(__name__)


class BondStore(KeyStore):
    """Bonds by peer identity address, with each bonded host's CCCD settings.

    Keeps at most `max_bonds` (firmware_protocol.md §2: at least 4), replacing the oldest when
    full. Optionally persisted to `path` (0600 JSON: {"bonds": {...}, "cccds": {...}}).
    """

    def __init__(self, path: str | Path | None = None, *, max_bonds: int = 4) -> None:
        if max_bonds < 1:
            raise ValueError("max_bonds must be >= 1")
        self.path = Path(path) if path is not None else None
        self.max_bonds = max_bonds
        self._keys: dict[str, PairingKeys] = {}
        self._cccds: dict[str, dict[str, int]] = {}
        if self.path is not None and self.path.exists():
            try:
                raw = json.loads(self.path.read_text(encoding="utf-8"))
                self._keys = {n: PairingKeys.from_dict(v) for n, v in raw["bonds"].items()}
                self._cccds = {
                    n: {u: int(b) for u, b in v.items()} for n, v in raw["cccds"].items()
                }
            except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
                # A damaged bond file is like a sensor whose flash was wiped: hosts pair again.
                logger.warning("ignoring unreadable bond store %s: %s", self.path, exc)
                self._keys, self._cccds = {}, {}

    def _save(self) -> None:
        if self.path is None:
            return
        data = {
            "bonds": {name: keys.to_dict() for name, keys in self._keys.items()},
            "cccds": self._cccds,
        }
        paths.write_private_atomic(self.path, json.dumps(data, indent=1, sort_keys=True).encode())

    async def update(self, name: str, keys: PairingKeys) -> None:
        self._keys.pop(name, None)  # re-bonding makes it the newest
        while len(self._keys) >= self.max_bonds:
            oldest = next(iter(self._keys))
            logger.info("bond store full: forgetting the oldest bond %s", oldest)
            self._keys.pop(oldest)
            self._cccds.pop(oldest, None)
        self._keys[name] = keys
        self._save()

    async def delete(self, name: str) -> None:
        self._keys.pop(name, None)
        self._cccds.pop(name, None)
        self._save()

    async def delete_all(self) -> None:
        self._keys.clear()
        self._cccds.clear()
        self._save()

    def set_cccd(self, name: str, characteristic_uuid: str, value: int) -> None:
        """Remember a bonded host's CCCD value (restored when it reconnects)."""
        if name not in self._keys:
            return
        self._cccds.setdefault(name, {})[characteristic_uuid] = int(value)
        self._save()

    def cccds(self, name: str) -> dict[str, int]:
        """The CCCD values a bonded host left, by characteristic UUID."""
        return dict(self._cccds.get(name, {}))

    async def get(self, name: str) -> PairingKeys | None:
        return self._keys.get(name)

    async def get_all(self) -> list[tuple[str, PairingKeys]]:
        return list(self._keys.items())

    def peers(self) -> list[str]:
        """Addresses of the bonded hosts."""
        return sorted(self._keys)

    def has_le_sc_bond(self, address: str) -> bool:
        """True when `address` bonded with LE Secure Connections (one shared LTK, `keys.ltk`)."""
        keys = self._keys.get(address)
        return keys is not None and keys.ltk is not None
